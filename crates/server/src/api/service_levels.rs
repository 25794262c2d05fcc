//! Service levels over HTTP: business-hours calendars, SLA policies, each
//! ticket's targets, and the attainment report. Supervisors and admins
//! change calendars and policies; every agent may read them.
//!
//! A change to a policy or calendar takes effect at once for new
//! measurements (a ticket's own page measures live from its event log) and
//! is applied to the kept targets of every open ticket in the background.

pub(crate) mod body;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rapport_core::TicketId;
use rapport_core::Timestamp;
use rapport_core::sla::SlaPolicy;
use rapport_core::sla::attainment::attainment;
use rapport_store::{ReportGroup, Store, StoreError, StoredCalendar, StoredPolicy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::dto::report::{PHONE_GOAL_SECONDS, SlaReportDto};
use crate::api::dto::sla::{TicketSlaDto, ticket_sla};
use crate::http::auth::{CurrentAgent, Forbidden, Manager};
use crate::http::body::RawJson;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::params::{PathId, QueryParams};
use crate::http::wire::rfc3339;
use crate::state::AppState;

/// The service-level routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_calendars))
        .routes(routes!(put_calendar, delete_calendar))
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(update_policy, delete_policy))
        .routes(routes!(get_ticket_sla))
        .routes(routes!(sla_report))
}

/// Calendars and policies are changed by supervisors and admins.
struct ChangeServiceLevels;

impl Forbidden for ChangeServiceLevels {
    const MESSAGE: &'static str = "only supervisors and admins change calendars and policies";
}

/// A business-hours calendar.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarDto {
    /// Its name, which policies refer to.
    pub name: String,
    /// The TOML text (docs/service-levels.md).
    pub source: String,
    /// When it last changed.
    pub updated_at: String,
}

impl From<StoredCalendar> for CalendarDto {
    fn from(calendar: StoredCalendar) -> CalendarDto {
        CalendarDto { name: calendar.name, source: calendar.source, updated_at: rfc3339(calendar.updated_at) }
    }
}

/// The calendars.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarListDto {
    /// Stored calendars by name. `default` (Monday to Friday 09:00-17:00 in
    /// the team's time zone) is built in unless stored under that name.
    pub calendars: Vec<CalendarDto>,
}

/// `PUT /api/v1/calendars/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutCalendarRequest {
    /// The calendar as TOML: `timezone`, `[hours]` or `preset`, `holidays`, `yearly_holidays`.
    pub source: String,
}

/// An SLA policy with its place in the order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyDto {
    /// Id.
    pub id: i64,
    /// Its place: lower comes first; the first matching policy applies.
    pub position: i64,
    /// The policy: `name`, `conditions` (`channels`, `tiers`, `priorities`,
    /// `teams`, `tags`), `targets` (`first_response`, `next_response`,
    /// `resolution`, each `{seconds, business_hours}`), `pause_when_pending`, `calendar`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub policy: SlaPolicy,
    /// When it last changed.
    pub updated_at: String,
}

impl From<StoredPolicy> for PolicyDto {
    fn from(stored: StoredPolicy) -> PolicyDto {
        PolicyDto {
            id: stored.id,
            position: stored.position,
            policy: stored.policy,
            updated_at: rfc3339(stored.updated_at),
        }
    }
}

/// The policies in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyListDto {
    /// First match first.
    pub policies: Vec<PolicyDto>,
}

/// The business-hours calendars.
#[utoipa::path(
    get, path = "/calendars", tag = "service levels",
    responses(
        (status = 200, description = "The calendars", body = CalendarListDto),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
async fn list_calendars(
    State(state): State<AppState>,
    _caller: CurrentAgent,
) -> Result<Json<CalendarListDto>, ApiError> {
    let calendars = state.store.list_calendars().await?;
    Ok(Json(CalendarListDto { calendars: calendars.into_iter().map(CalendarDto::from).collect() }))
}

/// Create or replace a calendar (supervisors and admins). A calendar that
/// does not parse is a 422 naming `source`, with the line and field in the message.
#[utoipa::path(
    put, path = "/calendars/{name}", tag = "service levels",
    params(("name" = String, Path, description = "Letters, digits, '-', '_' or '.'")),
    request_body = PutCalendarRequest,
    responses(
        (status = 200, description = "Stored", body = CalendarDto),
        (status = 400, description = "Malformed JSON, or no JSON content type", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change calendars", body = ErrorBody),
        (status = 422, description = "Invalid name or calendar", body = ErrorBody),
    )
)]
async fn put_calendar(
    State(state): State<AppState>,
    caller: Manager<ChangeServiceLevels>,
    Path(name): Path<String>,
    RawJson(bytes): RawJson,
) -> Result<Json<CalendarDto>, ApiError> {
    let request: PutCalendarRequest = crate::http::body::parse(&bytes)?;
    let stored = state
        .store
        .put_calendar(name, request.source, rapport_core::Actor::Agent(caller.agent.id), state.now())
        .await?;
    Ok(Json(CalendarDto::from(stored)))
}

/// Delete a calendar (supervisors and admins); refused while a policy counts on it.
#[utoipa::path(
    delete, path = "/calendars/{name}", tag = "service levels",
    params(("name" = String, Path, description = "The calendar")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change calendars", body = ErrorBody),
        (status = 404, description = "No such calendar", body = ErrorBody),
        (status = 422, description = "A policy counts on it", body = ErrorBody),
    )
)]
async fn delete_calendar(
    State(state): State<AppState>,
    caller: Manager<ChangeServiceLevels>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_calendar(name, rapport_core::Actor::Agent(caller.agent.id), state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The SLA policies, first match first.
#[utoipa::path(
    get, path = "/sla/policies", tag = "service levels",
    responses(
        (status = 200, description = "The policies", body = PolicyListDto),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
async fn list_policies(State(state): State<AppState>, _caller: CurrentAgent) -> Result<Json<PolicyListDto>, ApiError> {
    let policies = state.store.list_policies().await?;
    Ok(Json(PolicyListDto { policies: policies.into_iter().map(PolicyDto::from).collect() }))
}

/// Add an SLA policy (supervisors and admins), after the last one or at `?position=`.
#[utoipa::path(
    post, path = "/sla/policies", tag = "service levels",
    params(("position" = Option<i64>, Query, description = "Its place; lower comes first (default: last)")),
    request_body(content = body::SlaPolicy, description = "The policy"),
    responses(
        (status = 201, description = "Created", body = PolicyDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change policies", body = ErrorBody),
        (status = 422, description = "Invalid field (a target of zero, an unknown calendar or team, a taken name)", body = ErrorBody),
    )
)]
async fn create_policy(
    State(state): State<AppState>,
    caller: Manager<ChangeServiceLevels>,
    mut query: QueryParams,
    RawJson(bytes): RawJson,
) -> Result<(StatusCode, Json<PolicyDto>), ApiError> {
    let position = query.take_position()?;
    query.finish()?;
    let policy: SlaPolicy = crate::http::body::parse::<body::SlaPolicy>(&bytes)?.into();
    let stored =
        state.store.insert_policy(policy, position, rapport_core::Actor::Agent(caller.agent.id), state.now()).await?;
    Ok((StatusCode::CREATED, Json(PolicyDto::from(stored))))
}

/// Replace an SLA policy (supervisors and admins); the open tickets it
/// touches are measured again in the background.
#[utoipa::path(
    put, path = "/sla/policies/{id}", tag = "service levels",
    params(("id" = i64, Path, description = "Policy id"), ("position" = Option<i64>, Query, description = "A new place")),
    request_body(content = body::SlaPolicy, description = "The policy"),
    responses(
        (status = 200, description = "Replaced", body = PolicyDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change policies", body = ErrorBody),
        (status = 404, description = "No such policy", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    )
)]
async fn update_policy(
    State(state): State<AppState>,
    caller: Manager<ChangeServiceLevels>,
    PathId(id): PathId,
    mut query: QueryParams,
    RawJson(bytes): RawJson,
) -> Result<Json<PolicyDto>, ApiError> {
    let position = query.take_position()?;
    query.finish()?;
    let policy: SlaPolicy = crate::http::body::parse::<body::SlaPolicy>(&bytes)?.into();
    let stored = state
        .store
        .update_policy(id, policy, position, rapport_core::Actor::Agent(caller.agent.id), state.now())
        .await?;
    Ok(Json(PolicyDto::from(stored)))
}

/// Delete an SLA policy (supervisors and admins).
#[utoipa::path(
    delete, path = "/sla/policies/{id}", tag = "service levels",
    params(("id" = i64, Path, description = "Policy id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change policies", body = ErrorBody),
        (status = 404, description = "No such policy", body = ErrorBody),
    )
)]
async fn delete_policy(
    State(state): State<AppState>,
    caller: Manager<ChangeServiceLevels>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    state.store.delete_policy(id, rapport_core::Actor::Agent(caller.agent.id), state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A ticket's service level now: the policy and every target's due time,
/// elapsed and remaining time, and state.
#[utoipa::path(
    get, path = "/tickets/{id}/sla", tag = "service levels",
    params(("id" = i64, Path, description = "Ticket id")),
    responses(
        (status = 200, description = "The targets", body = TicketSlaDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such ticket (or not visible)", body = ErrorBody),
    )
)]
async fn get_ticket_sla(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<Json<TicketSlaDto>, ApiError> {
    let ticket = state.store.get_ticket(TicketId(id), Some(&caller.viewer)).await?;
    Ok(Json(ticket_sla(&state, ticket.id).await?))
}

/// Attainment over `[from, to)` (default: the last 7 days): per group, the
/// share of targets met and the median and p90 of first response and
/// resolution; for the phone, the share of calls answered within 60 s
/// against the 80% goal.
#[utoipa::path(
    get, path = "/reports/sla", tag = "service levels",
    params(
        ("from" = Option<String>, Query, description = "Start, RFC 3339 (default: 7 days before `to`)"),
        ("to" = Option<String>, Query, description = "End, RFC 3339 (default: now)"),
        ("group_by" = Option<String>, Query, description = "channel (default), tier, team or policy"),
    ),
    responses(
        (status = 200, description = "The report", body = SlaReportDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    )
)]
async fn sla_report(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    mut query: QueryParams,
) -> Result<Json<SlaReportDto>, ApiError> {
    let now = state.now();
    let to = query.take_instant("to")?.unwrap_or(now);
    let from = query.take_instant("from")?.unwrap_or(to.plus_millis(-7 * rapport_core::time::DAY));
    let group_word = query.take("group_by").unwrap_or_else(|| "channel".to_owned());
    let group = ReportGroup::parse(&group_word)
        .ok_or_else(|| ApiError::invalid("group_by", "group_by must be channel, tier, team or policy"))?;
    query.finish()?;
    if from > to {
        return Err(ApiError::invalid("from", "from must not be after to"));
    }
    Ok(Json(compose_sla_report(&state.store, from, to, group, now).await?))
}

/// The attainment report over `[from, to)` grouped by `group`, as of `now`:
/// the store's decided targets summed by core, and the period's calls
/// against the phone's goal. `GET /reports/sla` and `rapport report sla`
/// both answer with this.
pub async fn compose_sla_report(
    store: &Store,
    from: Timestamp,
    to: Timestamp,
    group: ReportGroup,
    now: Timestamp,
) -> Result<SlaReportDto, StoreError> {
    let outcomes = store.sla_outcomes(from, to, group, now).await?;
    let calls = store.list_calls(None, from, to, 1_000_000).await?;
    let times: Vec<_> = calls.into_iter().map(|call| call.times).collect();
    let calls = rapport_core::call::report(&times, PHONE_GOAL_SECONDS);
    Ok(SlaReportDto::new(from, to, group.word().to_owned(), attainment(&outcomes), &calls))
}
