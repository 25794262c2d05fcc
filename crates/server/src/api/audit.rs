//! The audit log over the API: every recorded change of a setting, newest
//! first, for supervisors and admins (`GET /api/v1/audit`).

use axum::Json;
use axum::extract::State;
use rapport_core::{Actor, AgentId};
use rapport_store::{AuditEntry, AuditFilter};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::{Forbidden, Manager};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::params::QueryParams;
use crate::http::wire::{self, rfc3339};
use crate::state::AppState;

/// The audit routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// The audit log is read by supervisors and admins.
struct ReadAudit;

impl Forbidden for ReadAudit {
    const MESSAGE: &'static str = "only supervisors and admins read the audit log";
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryDto {
    /// Id; newer entries have larger ids.
    pub id: i64,
    /// When.
    #[schema(schema_with = wire::timestamp)]
    pub at: String,
    /// Who: `agent`, `customer` or `system`.
    pub actor_type: String,
    /// The agent's (or customer's) id; null for the system.
    pub actor_id: Option<i64>,
    /// What kind of setting: `team`, `agent`, `calendar`...
    pub subject: String,
    /// Which one.
    pub subject_id: String,
    /// What happened: `created`, `changed`, `deleted`...
    pub verb: String,
    /// The record before; null when it was created.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The record after; null when it was deleted.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(entry: AuditEntry) -> AuditEntryDto {
        let (actor_type, actor_id) = match entry.entry.actor {
            Actor::Agent(id) => ("agent", Some(id.0)),
            Actor::Customer(id) => ("customer", Some(id.0)),
            Actor::System => ("system", None),
        };
        AuditEntryDto {
            id: entry.id,
            at: rfc3339(entry.entry.at),
            actor_type: actor_type.to_owned(),
            actor_id,
            subject: entry.entry.subject,
            subject_id: entry.entry.subject_id,
            verb: entry.entry.verb,
            before: entry.entry.old,
            after: entry.entry.new,
        }
    }
}

/// One page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageDto {
    /// The entries, newest first.
    pub entries: Vec<AuditEntryDto>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The audit log: each change of a setting with who made it, when, and the
/// record before and after, newest first (supervisors and admins).
#[utoipa::path(
    get, path = "/audit", tag = "audit",
    params(
        ("subject" = Option<String>, Query, description = "Only this kind of setting, e.g. team"),
        ("agent" = Option<i64>, Query, description = "Only changes made by this agent"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to the configured maximum (default 50)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of entries, newest first", body = AuditPageDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not read the audit log", body = ErrorBody),
        (status = 422, description = "Unknown parameter or bad value", body = ErrorBody),
    )
)]
async fn list_audit(
    State(state): State<AppState>,
    _caller: Manager<ReadAudit>,
    mut query: QueryParams,
) -> Result<Json<AuditPageDto>, ApiError> {
    let subject = query.take("subject").map(|subject| subject.trim().to_owned());
    if subject.as_ref().is_some_and(|subject| subject.is_empty() || subject.chars().count() > 64) {
        return Err(ApiError::invalid("subject", "subject must be 1-64 characters"));
    }
    let agent = query.take_id("agent")?.map(AgentId);
    let before = query
        .take("cursor")
        .map(|cursor| match cursor.parse::<i64>() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(ApiError::invalid("cursor", "cursor must be a next_cursor from a previous page")),
        })
        .transpose()?;
    let limit = query.take_limit(50, state.config.max_page_size)?;
    query.finish()?;
    let entries = state.store.list_audit(AuditFilter { subject, agent, before, limit }).await?;
    let full = i64::try_from(entries.len()).is_ok_and(|count| count == limit);
    let next_cursor = if full { entries.last().map(|entry| entry.id.to_string()) } else { None };
    Ok(Json(AuditPageDto { entries: entries.into_iter().map(AuditEntryDto::from).collect(), next_cursor }))
}
