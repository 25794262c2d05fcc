//! Organizations (`/admin/organizations`): the companies whose people are
//! customers, each with the tier its people get unless they have their own
//! (with the urgency, the tier sets a ticket's priority). The list with how
//! many customers each has, a new one, and an organization's page: its name
//! and tier, and its customers (a customer joins on their own page). The
//! API's validation (`api::organizations`); audited.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::{Actor, Organization, OrganizationId, Tier};
use rapport_store::{OrganizationChanges, StoreError};

use crate::admin::form::FormErrors;
use crate::admin::{Manager, ManagerForm};
use crate::api::dto::customer::known_tier;
use crate::api::organizations::name as organization_name;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, message_page, render};
use crate::workspace::session::Desk;

/// Organizations listed on the page, and customers on an organization's.
const LISTED: i64 = 500;

/// An organization in the list.
pub struct Listed {
    id: i64,
    name: String,
    tier: String,
    customers: i64,
}

/// One of its customers.
pub struct Member {
    id: i64,
    name: String,
    identities: String,
}

/// What the person typed, shown again beside the errors.
#[derive(Default)]
pub struct Typed {
    name: String,
    tier: String,
}

#[derive(Template)]
#[template(path = "admin/organizations.html")]
struct ListPage {
    frame: Frame,
    organizations: Vec<Listed>,
    tiers: Vec<String>,
    typed: Typed,
    errors: FormErrors,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin/organization.html")]
struct OrganizationPage {
    frame: Frame,
    id: i64,
    title: String,
    members: Vec<Member>,
    more: bool,
    tiers: Vec<String>,
    typed: Typed,
    errors: FormErrors,
    notice: Option<&'static str>,
}

fn tiers(state: &AppState) -> Vec<String> {
    state.store.matrix().tiers().map(str::to_owned).collect()
}

/// `GET /admin/organizations`.
pub async fn list(
    State(state): State<AppState>,
    Manager(desk): Manager,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let notice = (query.as_deref() == Some("done=created")).then_some("Made. Add its people from their pages.");
    let typed = Typed { tier: Tier::basic().0, ..Typed::default() };
    list_view(&state, &desk, &headers, typed, FormErrors::none(), notice, StatusCode::OK).await
}

async fn list_view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    typed: Typed,
    errors: FormErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, "Organizations".to_owned(), Current::Admin("organizations")).await?;
    let sizes = state.store.organization_sizes().await?;
    let organizations = state
        .store
        .list_organizations(None, LISTED)
        .await?
        .into_iter()
        .map(|organization| Listed {
            id: organization.id.0,
            customers: sizes.get(&organization.id).copied().unwrap_or(0),
            name: organization.name,
            tier: organization.tier.0,
        })
        .collect();
    let page = ListPage { frame, organizations, tiers: tiers(state), typed, errors, notice };
    Ok(render(status, &page))
}

/// The name and tier typed into a form, checked by the API's rules.
fn read(state: &AppState, typed: &Typed, errors: &mut FormErrors) -> Option<(String, Tier)> {
    let name = organization_name("name", typed.name.clone()).map_err(|error| errors.add_api(&error)).ok();
    let tier = known_tier(&state.store, typed.tier.clone()).map_err(|error| errors.add_api(&error)).ok();
    name.zip(tier)
}

/// A taken name, beside the name field.
fn taken(error: StoreError) -> ApiError {
    match ApiError::from(error) {
        ApiError::Conflict(_) => ApiError::invalid("name", "an organization with this name exists already"),
        other => other,
    }
}

/// `POST /admin/organizations`: a new organization (`name`, `tier`).
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let typed = Typed { name: fields.get("name").trim().to_owned(), tier: fields.get("tier").trim().to_owned() };
    let mut errors = FormErrors::none();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let Some((name, tier)) = read(&state, &typed, &mut errors) else {
        return list_view(&state, &desk, &headers, typed, errors, None, unprocessable).await;
    };
    match state.store.insert_organization(name, tier, Actor::Agent(desk.agent.id), state.now()).await {
        Ok(_) => Ok(Redirect::to("/admin/organizations?done=created").into_response()),
        Err(error) => {
            let error = taken(error);
            match errors.add_api(&error) {
                Some(status) => list_view(&state, &desk, &headers, typed, errors, None, status).await,
                None => Err(PageError::from(error)),
            }
        }
    }
}

fn no_such_organization() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "No such organization",
        "There is no organization with this number. Go back to the organizations.",
    )
}

async fn organization_or_none(state: &AppState, id: i64) -> Result<Option<Organization>, PageError> {
    match state.store.get_organization(OrganizationId(id)).await {
        Ok(organization) => Ok(Some(organization)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn organization_view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    organization: &Organization,
    typed: Option<Typed>,
    errors: FormErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let title = organization.name.clone();
    let frame = Frame::build(state, desk, headers, title.clone(), Current::Admin("organizations")).await?;
    let customers = state.store.list_organization_customers(organization.id, None, LISTED + 1).await?;
    let more = customers.len() as i64 > LISTED;
    let members = customers
        .iter()
        .take(LISTED as usize)
        .map(|customer| Member {
            id: customer.id.0,
            name: if customer.name.is_empty() { "(no name)".to_owned() } else { customer.name.clone() },
            identities: customer
                .identities
                .iter()
                .map(|identity| identity.value.clone())
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let typed = typed.unwrap_or_else(|| Typed { name: organization.name.clone(), tier: organization.tier.0.clone() });
    let page = OrganizationPage {
        frame,
        id: organization.id.0,
        title,
        members,
        more,
        tiers: tiers(state),
        typed,
        errors,
        notice,
    };
    Ok(render(status, &page))
}

/// `GET /admin/organizations/{id}[?done=saved]`.
pub async fn show(
    State(state): State<AppState>,
    Manager(desk): Manager,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(organization) = organization_or_none(&state, id).await? else { return Ok(no_such_organization()) };
    let notice = (query.as_deref() == Some("done=saved"))
        .then_some("Saved. Its customers' open tickets are measured again under the SLA policies in the background.");
    organization_view(&state, &desk, &headers, &organization, None, FormErrors::none(), notice, StatusCode::OK).await
}

/// `POST /admin/organizations/{id}`: name and tier.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let Some(organization) = organization_or_none(&state, id).await? else { return Ok(no_such_organization()) };
    let typed = Typed { name: fields.get("name").trim().to_owned(), tier: fields.get("tier").trim().to_owned() };
    let mut errors = FormErrors::none();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let Some((name, tier)) = read(&state, &typed, &mut errors) else {
        let view = organization_view(&state, &desk, &headers, &organization, Some(typed), errors, None, unprocessable);
        return view.await;
    };
    let changes = OrganizationChanges { name: Some(name), tier: Some(tier) };
    match state.store.update_organization(organization.id, changes, Actor::Agent(desk.agent.id), state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/organizations/{id}?done=saved")).into_response()),
        Err(error) => {
            let error = taken(error);
            match errors.add_api(&error) {
                Some(status) => {
                    organization_view(&state, &desk, &headers, &organization, Some(typed), errors, None, status).await
                }
                None => Err(PageError::from(error)),
            }
        }
    }
}
