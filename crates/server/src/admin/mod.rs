//! The admin pages: a support lead sets up the help desk in the browser, on
//! the workspace's foundation (its sign-in, sessions, CSRF checks, frame and
//! security headers). Every page is for supervisors and admins; an agent
//! gets 403 on each page and each action ([`Manager`], [`ManagerForm`]).
//! Each change goes through the same validation and store call as its API
//! endpoint, so the rules are the API's, the change is all or nothing, and
//! the audit log records it.
//!
//! - [`people`]: agents (invite by email, role, teams, languages, chat
//!   capacity, deactivate).
//! - [`teams`]: teams, their settings and overflow.
//! - [`tokens`]: API tokens (a new one's secret shown once; revoke).
//! - [`customers`]: customers (name, organization, tier, confirm an
//!   address, merge, erase) and [`organizations`] (name, tier, members).
//! - [`channels`]: each mailbox and provider with its connection state.
//! - [`calendars`]: business-hours calendars, edited as TOML, shown as a week.
//! - [`policies`]: SLA policies in order, a new one with its preview on a
//!   ticket; each opens on its own page to change (with a preview) or delete.
//! - [`rules`]: escalation rules in order, a new one with its dry run on the
//!   open tickets; each opens on its own page to change or delete.
//! - [`priorities`]: the tier × urgency matrix; [`escalation`]: the plan;
//!   [`problems`]: major incidents, their linked tickets, updates.
//! - [`quarantine`]: held mail, read whole as text, filed again or discarded.
//! - [`audit`]: the audit log, filterable by subject and agent.
//! - [`form`]: errors beside their fields, as forms show them.

pub mod audit;
pub mod calendars;
pub mod channels;
pub mod customers;
pub mod escalation;
pub mod form;
pub mod organizations;
pub mod people;
pub mod policies;
pub mod priorities;
pub mod problems;
pub mod quarantine;
pub mod rules;
pub mod teams;
pub mod tokens;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::state::AppState;
use crate::workspace::page::{message_page, security_headers};
use crate::workspace::session::{Desk, DeskForm, Fields};

/// The admin routes, every response with the workspace's security headers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(people::admin_home))
        .route("/admin/people", get(people::people_page))
        .route("/admin/people/invite", post(people::invite))
        .route("/admin/people/{id}", get(people::agent_page).post(people::save_agent))
        .route("/admin/people/{id}/active", post(people::set_active))
        .route("/admin/people/{id}/invitation", post(people::resend_invitation))
        .route("/admin/teams", get(teams::list).post(teams::create))
        .route("/admin/teams/{id}", get(teams::show).post(teams::save))
        .route("/admin/tokens", get(tokens::list).post(tokens::create))
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke))
        .route("/admin/calendars", get(calendars::list).post(calendars::create))
        .route("/admin/calendars/{name}", get(calendars::show).post(calendars::update))
        .route("/admin/calendars/{name}/delete", post(calendars::delete))
        .route("/admin/policies", get(policies::list).post(policies::submit))
        .route("/admin/policies/{id}", get(policies::show).post(policies::change))
        .route("/admin/policies/{id}/delete", post(policies::delete))
        .route("/admin/rules", get(rules::list).post(rules::submit))
        .route("/admin/rules/{id}", get(rules::show).post(rules::change))
        .route("/admin/rules/{id}/delete", post(rules::delete))
        .route("/admin/escalation", get(escalation::show).post(escalation::save))
        .route("/admin/priorities", get(priorities::show))
        .route("/admin/problems", get(problems::list).post(problems::create))
        .route("/admin/problems/{id}", get(problems::show))
        .route("/admin/problems/{id}/tickets", post(problems::link))
        .route("/admin/problems/{id}/tickets/{ticket}/unlink", post(problems::unlink))
        .route("/admin/problems/{id}/update", post(problems::update))
        .route("/admin/channels", get(channels::channels_page))
        .route("/admin/organizations", get(organizations::list).post(organizations::create))
        .route("/admin/organizations/{id}", get(organizations::show).post(organizations::save))
        .route("/admin/customers", get(customers::list))
        .route("/admin/customers/{id}", get(customers::show).post(customers::save))
        .route("/admin/customers/{id}/verify", post(customers::verify))
        .route("/admin/customers/{id}/merge", post(customers::merge))
        .route("/admin/customers/{id}/erase", post(customers::erase))
        .route("/admin/quarantine", get(quarantine::list))
        .route("/admin/quarantine/{id}", get(quarantine::show))
        .route("/admin/quarantine/{id}/file", post(quarantine::file_again))
        .route("/admin/quarantine/{id}/discard", post(quarantine::discard))
        .route("/admin/audit", get(audit::audit_page))
        .layer(axum::middleware::from_fn(security_headers))
}

/// What an agent is told on an admin page or action.
fn not_for_agents() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "For supervisors and admins",
        "The admin pages are for supervisors and admins. Ask one of them to make this change.",
    )
}

/// A supervisor or admin at the desk; anyone else gets 403.
pub struct Manager(pub Desk);

impl FromRequestParts<AppState> for Manager {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Manager, Response> {
        let desk = Desk::from_request_parts(parts, state).await?;
        if desk.viewer.can_manage_people() { Ok(Manager(desk)) } else { Err(not_for_agents()) }
    }
}

/// A form posted by a supervisor or admin, past the workspace's origin and
/// CSRF checks; anyone else gets 403 and nothing changes.
pub struct ManagerForm {
    /// Who sent it.
    pub desk: Desk,
    /// Its fields.
    pub fields: Fields,
}

impl FromRequest<AppState> for ManagerForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<ManagerForm, Response> {
        let DeskForm { desk, fields } = DeskForm::from_request(request, state).await?;
        if desk.viewer.can_manage_people() {
            Ok(ManagerForm { desk, fields })
        } else {
            Err(not_for_agents().into_response())
        }
    }
}
