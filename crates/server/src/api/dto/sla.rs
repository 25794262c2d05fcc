//! A ticket's service level as JSON: every target measured now (a ticket's
//! own page and `GET /tickets/{id}/sla`), and the one most pressing target of
//! each ticket in a list or search result.

use std::collections::HashMap;

use rapport_core::TicketId;
use rapport_core::sla::projection::KeptTarget;
use rapport_core::sla::summary::Summary;
use rapport_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::http::wire::{rfc3339, rfc3339_opt};
use crate::state::AppState;

/// One target of a ticket, measured now.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetDto {
    /// `first_response`, `next_response` or `resolution`.
    pub kind: String,
    /// `active`, `paused`, `met` or `breached`.
    pub state: String,
    /// The time allowed, in seconds.
    pub target_seconds: i64,
    /// Whether it counts business time on the policy's calendar.
    pub business_hours: bool,
    /// When its (latest) cycle started.
    pub started_at: String,
    /// When it runs (or ran) out; null while paused with time left.
    pub due_at: Option<String>,
    /// Time counted so far (until met), in seconds.
    pub elapsed_seconds: i64,
    /// Time left; negative once overrun.
    pub remaining_seconds: i64,
    /// When it was met.
    pub met_at: Option<String>,
}

impl From<&KeptTarget> for TargetDto {
    fn from(target: &KeptTarget) -> TargetDto {
        TargetDto {
            kind: target.kind.as_str().to_owned(),
            state: target.state.as_str().to_owned(),
            target_seconds: target.seconds,
            business_hours: target.business_hours,
            started_at: rfc3339(target.start),
            due_at: rfc3339_opt(target.due),
            elapsed_seconds: target.elapsed_seconds,
            remaining_seconds: target.remaining_seconds(),
            met_at: rfc3339_opt(target.met_at),
        }
    }
}

/// The policy a ticket is under, by id and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyRefDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A ticket's service level, measured now from its event log.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSlaDto {
    /// The policy that applies; null when none does.
    pub policy: Option<PolicyRefDto>,
    /// Its targets, in the order first response, next response, resolution.
    pub targets: Vec<TargetDto>,
}

/// Measures a ticket now.
pub async fn ticket_sla(state: &AppState, id: TicketId) -> Result<TicketSlaDto, ApiError> {
    Ok(match measured_targets(state, id).await? {
        Some((policy, targets)) => {
            TicketSlaDto { policy: Some(policy), targets: targets.iter().map(TargetDto::from).collect() }
        }
        None => TicketSlaDto { policy: None, targets: Vec::new() },
    })
}

/// A ticket's policy and its targets measured now, as core's values (the
/// API's ticket page and the workspace's); `None` when no policy applies.
pub async fn measured_targets(
    state: &AppState,
    id: TicketId,
) -> Result<Option<(PolicyRefDto, Vec<KeptTarget>)>, StoreError> {
    let measured = state.store.measure_ticket(id, state.now()).await?;
    let Some((policy_id, targets)) = measured else {
        return Ok(None);
    };
    let (_, set) = state.store.policy_set().await?;
    let name = set.policy(policy_id).map_or_else(|| format!("policy {policy_id}"), |policy| policy.name.clone());
    Ok(Some((PolicyRefDto { id: policy_id, name }, targets)))
}

/// The most pressing target of each of `ids` that has kept targets, brought
/// forward to now on its policy's calendar (as the timer pass sees them).
pub async fn summaries(state: &AppState, ids: &[TicketId]) -> Result<HashMap<TicketId, SlaSummaryDto>, ApiError> {
    let summaries = summaries_of(state, ids).await?;
    Ok(summaries.into_iter().map(|(id, summary)| (id, summary.into())).collect())
}

/// [`summaries`] as core's values, for the workspace's pages.
pub async fn summaries_of(state: &AppState, ids: &[TicketId]) -> Result<HashMap<TicketId, Summary>, StoreError> {
    let kept = state.store.find_ticket_slas(ids).await?;
    if kept.is_empty() {
        return Ok(HashMap::new());
    }
    let (_, set) = state.store.policy_set().await?;
    let now = state.now();
    let mut summaries = HashMap::with_capacity(kept.len());
    for sla in kept {
        let calendar = set.calendar_of(sla.policy);
        let targets: Vec<KeptTarget> =
            sla.targets.iter().map(|target| target.at(sla.computed_at, now, calendar)).collect();
        if let Some(summary) = rapport_core::sla::summary::summary(&targets) {
            summaries.insert(sla.ticket, summary);
        }
    }
    Ok(summaries)
}

/// A ticket's service level in one line (the ticket page has every target).
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaSummaryDto {
    /// `breached` (unmet and past due), `active` (running towards `due_at`),
    /// `paused`, or `met` (nothing pending; the ticket page tells whether on time).
    pub state: String,
    /// Which target: `first_response`, `next_response` or `resolution`.
    pub target: String,
    /// When it runs (or ran) out; null while paused with time left.
    pub due_at: Option<String>,
}

impl From<Summary> for SlaSummaryDto {
    fn from(summary: Summary) -> SlaSummaryDto {
        SlaSummaryDto {
            state: summary.state.as_str().to_owned(),
            target: summary.kind.as_str().to_owned(),
            due_at: rfc3339_opt(summary.due),
        }
    }
}
