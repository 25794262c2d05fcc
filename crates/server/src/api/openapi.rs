//! The OpenAPI 3.1 document. It is assembled from the handlers' own
//! `#[utoipa::path]` attributes by the same routers that serve them, so a
//! route cannot exist without being documented, nor the other way round.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::api::{
    agents, attachments, audit, callbacks, customers, health, organizations, problems, rules, search, service_levels,
    teams, tickets, tokens,
};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rapport API",
        description = "Rapport is a self-hosted customer-support platform. Every `/api/v1` call needs an API \
                       token (`rapport token create`) sent as `Authorization: Bearer <token>`. Errors are \
                       `{\"error\": {\"code\", \"message\", \"field\"?}}` with a stable machine `code`."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "tickets", description = "Tickets, their messages and their event log"),
        (name = "search", description = "Full-text search"),
        (name = "customers", description = "Customers and their identities; erasure"),
        (name = "organizations", description = "Organizations and their service tiers"),
        (name = "teams", description = "Teams of agents"),
        (name = "agents", description = "Agents, their roles and their API tokens"),
        (name = "phone", description = "Calls, the callback queue and the call report"),
        (name = "service levels", description = "Calendars, SLA policies, each ticket's targets and attainment"),
        (name = "rules", description = "Escalation rules, the escalation plan, notifications and tasks"),
        (name = "problems", description = "Major incidents: tickets linked to a problem, updated and solved together"),
        (name = "audit", description = "The audit log: each change of a setting, who, when, before and after"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
struct ApiDoc;

/// Declares the bearer-token scheme that `security(("bearer" = []))` refers to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("rap_…")
            .description(Some("An API token from `rapport token create`"))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Every documented route: health at the root, the resources under `/api/v1`.
pub(crate) fn api_router() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(tickets::router())
        .merge(attachments::router())
        .merge(search::router())
        .merge(customers::router())
        .merge(organizations::router())
        .merge(teams::router())
        .merge(agents::router())
        .merge(tokens::router())
        .merge(callbacks::router())
        .merge(service_levels::router())
        .merge(rules::router())
        .merge(problems::router())
        .merge(audit::router());
    OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(health::router()).nest("/api/v1", api)
}
