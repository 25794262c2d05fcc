//! Escalation rules over HTTP: the rules themselves, the escalation plan,
//! and what firing rules leave behind: each agent's notifications and each
//! ticket's follow-up tasks. Every agent may read rules and the plan;
//! supervisors and admins change them.
//!
//! Rules are checked by the store in the transaction that saves them
//! (against the teams and agents that exist, and for loops against the other
//! rules), so every refusal arrives here as a 422 naming the field.

pub(crate) mod body;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::rules::{EscalationPlan, Rule, RuleId};
use rapport_core::{Actor, TicketId};
use rapport_store::{Notification, NotificationId, StoredRule, Task};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::{CurrentAgent, Forbidden, Manager};
use crate::http::body::RawJson;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::params::{PathId, QueryParams};
use crate::http::wire::{rfc3339, rfc3339_opt};
use crate::state::AppState;

/// How many notifications a list returns unless `?limit=` says otherwise.
const DEFAULT_NOTIFICATIONS: i64 = 50;

/// The rule routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(update_rule, delete_rule))
        .routes(routes!(get_escalation_plan, put_escalation_plan))
        .routes(routes!(list_notifications))
        .routes(routes!(read_notification))
        .routes(routes!(list_tasks))
}

/// Rules and the escalation plan are changed by supervisors and admins.
struct ChangeRules;

impl Forbidden for ChangeRules {
    const MESSAGE: &'static str = "only supervisors and admins change rules and the escalation plan";
}

/// A stored rule with its place in the order.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleDto {
    /// Id.
    pub id: i64,
    /// Its place: lower comes first.
    pub position: i64,
    /// The rule: `name`, `trigger` (`{"type": "event", "event": …}`,
    /// `target_percent`, `target_breached`, `no_owner`, `pending_for`),
    /// `conditions` (`{field, op, value}`), `actions` (`{"type": …}`) and `enabled`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub rule: Rule,
    /// When it last changed.
    pub updated_at: String,
}

impl From<StoredRule> for RuleDto {
    fn from(stored: StoredRule) -> RuleDto {
        RuleDto {
            id: stored.id.0,
            position: stored.position,
            rule: stored.rule,
            updated_at: rfc3339(stored.updated_at),
        }
    }
}

/// The rules in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleListDto {
    /// Lowest position first.
    pub rules: Vec<RuleDto>,
}

/// The escalation plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationPlanDto {
    /// At most three levels; level n takes the ticket to `levels[n - 1]`
    /// (a team id), or keeps its team when null.
    pub levels: Vec<Option<i64>>,
    /// The on-call supervisor's agent id, paged past the last level.
    pub on_call: Option<i64>,
}

impl From<EscalationPlan> for EscalationPlanDto {
    fn from(plan: EscalationPlan) -> EscalationPlanDto {
        EscalationPlanDto {
            levels: plan.levels.into_iter().map(|team| team.map(|team| team.0)).collect(),
            on_call: plan.on_call.map(|agent| agent.0),
        }
    }
}

/// Something a rule told the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    /// Id.
    pub id: i64,
    /// The ticket it is about.
    pub ticket: Option<i64>,
    /// The message.
    pub message: String,
    /// When it was made.
    pub created_at: String,
    /// When the caller read it; null while unread.
    pub read_at: Option<String>,
}

impl From<Notification> for NotificationDto {
    fn from(notification: Notification) -> NotificationDto {
        NotificationDto {
            id: notification.id.0,
            ticket: notification.ticket.map(|ticket| ticket.0),
            message: notification.message,
            created_at: rfc3339(notification.created_at),
            read_at: rfc3339_opt(notification.read_at),
        }
    }
}

/// The caller's notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationListDto {
    /// Newest first.
    pub notifications: Vec<NotificationDto>,
}

/// A follow-up task on a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDto {
    /// Id.
    pub id: i64,
    /// The ticket.
    pub ticket: i64,
    /// What to do.
    pub title: String,
    /// When it is due.
    pub due_at: Option<String>,
    /// When it was made.
    pub created_at: String,
    /// When it was done; null while open.
    pub done_at: Option<String>,
}

impl From<Task> for TaskDto {
    fn from(task: Task) -> TaskDto {
        TaskDto {
            id: task.id.0,
            ticket: task.ticket.0,
            title: task.title,
            due_at: rfc3339_opt(task.due_at),
            created_at: rfc3339(task.created_at),
            done_at: rfc3339_opt(task.done_at),
        }
    }
}

/// A ticket's tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskListDto {
    /// Oldest first.
    pub tasks: Vec<TaskDto>,
}

/// The escalation rules, in order.
#[utoipa::path(
    get, path = "/rules", tag = "rules",
    responses(
        (status = 200, description = "The rules", body = RuleListDto),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
async fn list_rules(State(state): State<AppState>, _caller: CurrentAgent) -> Result<Json<RuleListDto>, ApiError> {
    let rules = state.store.list_rules().await?;
    Ok(Json(RuleListDto { rules: rules.into_iter().map(RuleDto::from).collect() }))
}

/// Add a rule (supervisors and admins), after the last one or at `?position=`.
/// A rule that names a missing team or agent, an unknown event word or
/// placeholder, reuses a name, or would trigger other rules in a loop is a
/// 422 naming the field.
#[utoipa::path(
    post, path = "/rules", tag = "rules",
    params(("position" = Option<i64>, Query, description = "Its place; lower comes first (default: last)")),
    request_body(content = body::Rule, description = "The rule"),
    responses(
        (status = 201, description = "Created", body = RuleDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change rules", body = ErrorBody),
        (status = 422, description = "Invalid field (a missing team, a taken name, a loop between rules)", body = ErrorBody),
    )
)]
async fn create_rule(
    State(state): State<AppState>,
    caller: Manager<ChangeRules>,
    mut query: QueryParams,
    RawJson(bytes): RawJson,
) -> Result<(StatusCode, Json<RuleDto>), ApiError> {
    let position = query.take_position()?;
    query.finish()?;
    let rule: Rule = crate::http::body::parse::<body::Rule>(&bytes)?.into();
    let stored = state.store.insert_rule(rule, position, Actor::Agent(caller.agent.id), state.now()).await?;
    Ok((StatusCode::CREATED, Json(RuleDto::from(stored))))
}

/// Replace a rule (supervisors and admins), keeping its place unless
/// `?position=` is given. Checked like a new rule.
#[utoipa::path(
    put, path = "/rules/{id}", tag = "rules",
    params(("id" = i64, Path, description = "Rule id"), ("position" = Option<i64>, Query, description = "A new place")),
    request_body(content = body::Rule, description = "The rule"),
    responses(
        (status = 200, description = "Replaced", body = RuleDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change rules", body = ErrorBody),
        (status = 404, description = "No such rule", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(rule_id = id))]
async fn update_rule(
    State(state): State<AppState>,
    caller: Manager<ChangeRules>,
    PathId(id): PathId,
    mut query: QueryParams,
    RawJson(bytes): RawJson,
) -> Result<Json<RuleDto>, ApiError> {
    let position = query.take_position()?;
    query.finish()?;
    let rule: Rule = crate::http::body::parse::<body::Rule>(&bytes)?.into();
    let stored =
        state.store.update_rule(RuleId(id), rule, position, Actor::Agent(caller.agent.id), state.now()).await?;
    Ok(Json(RuleDto::from(stored)))
}

/// Delete a rule (supervisors and admins). Work it already queued still runs.
#[utoipa::path(
    delete, path = "/rules/{id}", tag = "rules",
    params(("id" = i64, Path, description = "Rule id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change rules", body = ErrorBody),
        (status = 404, description = "No such rule", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(rule_id = id))]
async fn delete_rule(
    State(state): State<AppState>,
    caller: Manager<ChangeRules>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    state.store.delete_rule(RuleId(id), Actor::Agent(caller.agent.id), state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The escalation plan; with none saved, no levels and nobody on call.
#[utoipa::path(
    get, path = "/escalation", tag = "rules",
    responses(
        (status = 200, description = "The plan", body = EscalationPlanDto),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
async fn get_escalation_plan(
    State(state): State<AppState>,
    _caller: CurrentAgent,
) -> Result<Json<EscalationPlanDto>, ApiError> {
    let plan = state.store.escalation_plan().await?;
    Ok(Json(EscalationPlanDto::from(plan)))
}

/// Replace the escalation plan (supervisors and admins). More than three
/// levels is a 422 naming `levels`; a missing team names `levels[i]`, a
/// missing agent `on_call`.
#[utoipa::path(
    put, path = "/escalation", tag = "rules",
    request_body = body::EscalationPlan,
    responses(
        (status = 200, description = "Stored", body = EscalationPlanDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not change the plan", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    )
)]
async fn put_escalation_plan(
    State(state): State<AppState>,
    caller: Manager<ChangeRules>,
    RawJson(bytes): RawJson,
) -> Result<Json<EscalationPlanDto>, ApiError> {
    let plan: EscalationPlan = crate::http::body::parse::<body::EscalationPlan>(&bytes)?.into();
    state.store.put_escalation_plan(plan.clone(), Actor::Agent(caller.agent.id), state.now()).await?;
    Ok(Json(EscalationPlanDto::from(plan)))
}

/// The caller's own notifications, newest first.
#[utoipa::path(
    get, path = "/notifications", tag = "rules",
    params(("limit" = Option<i64>, Query, description = "How many (default 50, at most the page size)")),
    responses(
        (status = 200, description = "The notifications", body = NotificationListDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    )
)]
async fn list_notifications(
    State(state): State<AppState>,
    caller: CurrentAgent,
    mut query: QueryParams,
) -> Result<Json<NotificationListDto>, ApiError> {
    let limit = query.take_limit(DEFAULT_NOTIFICATIONS, state.config.max_page_size)?;
    query.finish()?;
    let notifications = state.store.list_notifications(caller.agent.id, limit).await?;
    Ok(Json(NotificationListDto { notifications: notifications.into_iter().map(NotificationDto::from).collect() }))
}

/// Mark one of the caller's notifications read (reading it again keeps the
/// first time). Someone else's notification is a 404.
#[utoipa::path(
    post, path = "/notifications/{id}/read", tag = "rules",
    params(("id" = i64, Path, description = "Notification id")),
    responses(
        (status = 204, description = "Read"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such notification of the caller's", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(notification_id = id))]
async fn read_notification(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    state.store.mark_notification_read(caller.agent.id, NotificationId(id), state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A ticket's follow-up tasks, oldest first.
#[utoipa::path(
    get, path = "/tickets/{id}/tasks", tag = "rules",
    params(("id" = i64, Path, description = "Ticket id")),
    responses(
        (status = 200, description = "The tasks", body = TaskListDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such ticket (or not visible)", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(ticket_id = id))]
async fn list_tasks(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<Json<TaskListDto>, ApiError> {
    let ticket = state.store.get_ticket(TicketId(id), Some(&caller.viewer)).await?;
    let tasks = state.store.list_tasks(ticket.id).await?;
    Ok(Json(TaskListDto { tasks: tasks.into_iter().map(TaskDto::from).collect() }))
}
