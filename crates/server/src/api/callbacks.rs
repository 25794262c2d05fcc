//! The phone's API: the callback queue (request, list in line order, offer
//! the next to the calling agent, complete), the calls filed on a ticket with
//! their wait and talk time, and the call report ("80% answered within 60 s").
//!
//! The queue's rules (place in line, returning after no answer, giving up)
//! are core's (`rapport_core::call`); the atomic claim is the store's.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rapport_core::call::{CallbackOutcome, report};
use rapport_core::{Identity, TicketId, Timestamp};
use rapport_store::{Call, Callback, CallbackError, CallbackSource, NewCallback, QueuedCallback, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::dto::report::CallReportDto;
use crate::http::auth::CurrentAgent;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::params::{PathId, QueryParams};
use crate::http::wire::{self, rfc3339, rfc3339_opt, seconds};
use crate::state::AppState;

/// The default service target of the call report: answered within 60 seconds.
const DEFAULT_TARGET_SECS: i64 = 60;
/// The most calls a report or a list reads.
const MAX_CALLS: i64 = 100_000;

/// The phone routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_callback, list_callbacks))
        .routes(routes!(offer_next_callback))
        .routes(routes!(complete_callback))
        .routes(routes!(list_calls))
        .routes(routes!(call_report))
}

/// A callback request.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackDto {
    /// Id.
    pub id: i64,
    /// The number to call, E.164.
    pub phone: String,
    /// The ticket it is about.
    pub ticket: Option<i64>,
    /// `phone`, `chat` or `api`.
    pub source: String,
    /// `waiting`, `offered`, `done` or `cancelled`.
    pub state: String,
    /// When it was asked for: its place in line.
    #[schema(schema_with = wire::timestamp)]
    pub requested_at: String,
    /// 1 for the next to be offered; null unless waiting.
    pub position: Option<i64>,
    /// The agent it is offered to.
    pub offered_to: Option<i64>,
    /// When it was offered.
    pub offered_at: Option<String>,
    /// Attempts so far.
    pub attempts: i64,
    /// When it was done or given up.
    pub done_at: Option<String>,
}

impl CallbackDto {
    fn new(callback: &Callback, position: Option<i64>) -> CallbackDto {
        CallbackDto {
            id: callback.id,
            phone: callback.phone.value.clone(),
            ticket: callback.ticket.map(|ticket| ticket.0),
            source: callback.source.as_str().to_owned(),
            state: callback.state.as_str().to_owned(),
            requested_at: rfc3339(callback.requested_at),
            position,
            offered_to: callback.offered_to.map(|agent| agent.0),
            offered_at: rfc3339_opt(callback.offered_at),
            attempts: callback.attempts,
            done_at: rfc3339_opt(callback.done_at),
        }
    }
}

/// The callback queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackQueueDto {
    /// Waiting callbacks in line order, then those offered to agents.
    pub callbacks: Vec<CallbackDto>,
}

/// `POST /api/v1/callbacks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestCallbackRequest {
    /// The number to call back.
    pub phone: String,
    /// The ticket it is about.
    #[serde(default)]
    pub ticket: Option<i64>,
}

/// `POST /api/v1/callbacks/{id}/complete`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteCallbackRequest {
    /// `done` (reached) or `no_answer` (back in line at its place; given up after 3 attempts).
    pub outcome: String,
}

/// Put a number in line to be called back. A number already in line keeps its entry and place.
#[utoipa::path(
    post, path = "/callbacks", tag = "phone",
    request_body = RequestCallbackRequest,
    responses(
        (status = 201, description = "In line", body = CallbackDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "A bad phone number or an unknown ticket", body = ErrorBody),
    )
)]
async fn request_callback(
    State(state): State<AppState>,
    caller: CurrentAgent,
    JsonBody(request): JsonBody<RequestCallbackRequest>,
) -> Result<(StatusCode, Json<CallbackDto>), ApiError> {
    let phone = Identity::phone(&request.phone)
        .map_err(|_| ApiError::invalid("phone", "phone must be a phone number in E.164, such as +14155550100"))?;
    let ticket = match request.ticket {
        Some(id) => match state.store.get_ticket(TicketId(id), Some(&caller.viewer)).await {
            Ok(ticket) => Some(ticket.id),
            Err(StoreError::NotFound(_)) => {
                return Err(ApiError::invalid("ticket", format!("ticket {id} does not exist")));
            }
            Err(error) => return Err(error.into()),
        },
        None => None,
    };
    let request = NewCallback { phone, ticket, source: CallbackSource::Api, call_sid: None, now: state.now() };
    let callback = state.store.request_callback(request).await?;
    let position = position_of(&state, callback.id).await?;
    Ok((StatusCode::CREATED, Json(CallbackDto::new(&callback, position))))
}

async fn position_of(state: &AppState, id: i64) -> Result<Option<i64>, ApiError> {
    Ok(state.store.callback_position(id).await?)
}

/// The callback queue in line order, with each waiting entry's position.
#[utoipa::path(
    get, path = "/callbacks", tag = "phone",
    params(("limit" = Option<i64>, Query, description = "How many entries (default 100)")),
    responses(
        (status = 200, description = "The queue", body = CallbackQueueDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    )
)]
async fn list_callbacks(
    State(state): State<AppState>,
    caller: CurrentAgent,
    mut query: QueryParams,
) -> Result<Json<CallbackQueueDto>, ApiError> {
    let limit = query.take_limit(100, 1000)?;
    query.finish()?;
    let queue: Vec<QueuedCallback> = state.store.list_callbacks(&caller.viewer, limit).await?;
    let callbacks = queue.iter().map(|entry| CallbackDto::new(&entry.callback, entry.position)).collect();
    Ok(Json(CallbackQueueDto { callbacks }))
}

/// Offer the oldest waiting callback to the calling agent (one at a time: an
/// agent holding one gets it again). 204 when the line is empty.
#[utoipa::path(
    post, path = "/callbacks/next", tag = "phone",
    responses(
        (status = 200, description = "The callback to make", body = CallbackDto),
        (status = 204, description = "Nobody is waiting"),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
async fn offer_next_callback(State(state): State<AppState>, caller: CurrentAgent) -> Result<Response, ApiError> {
    match state.store.offer_next_callback(caller.agent.id, state.now()).await? {
        Some(callback) => Ok(Json(CallbackDto::new(&callback, None)).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Record how a callback went: `done`, or `no_answer` (back in line at its
/// original place; given up after 3 attempts).
#[utoipa::path(
    post, path = "/callbacks/{id}/complete", tag = "phone",
    params(("id" = i64, Path, description = "The callback's id")),
    request_body = CompleteCallbackRequest,
    responses(
        (status = 200, description = "The callback afterwards", body = CallbackDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such callback", body = ErrorBody),
        (status = 409, description = "Not offered to the caller", body = ErrorBody),
        (status = 422, description = "A bad outcome", body = ErrorBody),
    )
)]
async fn complete_callback(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
    JsonBody(request): JsonBody<CompleteCallbackRequest>,
) -> Result<Json<CallbackDto>, ApiError> {
    let outcome = match request.outcome.as_str() {
        "done" => CallbackOutcome::Done,
        "no_answer" => CallbackOutcome::NoAnswer,
        other => {
            return Err(ApiError::invalid("outcome", format!("outcome must be done or no_answer, not {other:?}")));
        }
    };
    match state.store.complete_callback(id, caller.agent.id, outcome, state.now()).await? {
        Ok(callback) => {
            let position = position_of(&state, callback.id).await?;
            Ok(Json(CallbackDto::new(&callback, position)))
        }
        Err(error @ CallbackError::NotOffered(_)) => Err(ApiError::Conflict(error.to_string())),
    }
}

/// A phone call.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallDto {
    /// Id.
    pub id: i64,
    /// Twilio's `CallSid`.
    pub call_sid: String,
    /// The ticket it was filed on.
    pub ticket: Option<i64>,
    /// The customer's number.
    pub caller: String,
    /// `queued`, `ringing`, `answered`, `completed`, `abandoned` or `voicemail`.
    pub state: String,
    /// When the caller entered the queue.
    pub queued_at: Option<String>,
    /// When an agent's phone rang.
    pub ringing_at: Option<String>,
    /// When someone answered.
    pub answered_at: Option<String>,
    /// When the call ended.
    pub ended_at: Option<String>,
    /// The voicemail's recording.
    pub voicemail_url: Option<String>,
    /// Seconds waited (until answered, or until the end when nobody answered).
    pub wait_seconds: Option<f64>,
    /// Seconds talked (answered to end).
    pub talk_seconds: Option<f64>,
}

impl From<&Call> for CallDto {
    fn from(call: &Call) -> CallDto {
        CallDto {
            id: call.id,
            call_sid: call.sid.clone(),
            ticket: call.ticket.map(|ticket| ticket.0),
            caller: call.caller.value.clone(),
            state: call.state.as_str().to_owned(),
            queued_at: rfc3339_opt(call.times.queued_at),
            ringing_at: rfc3339_opt(call.times.ringing_at),
            answered_at: rfc3339_opt(call.times.answered_at),
            ended_at: rfc3339_opt(call.times.ended_at),
            voicemail_url: call.times.voicemail_url.clone(),
            wait_seconds: call.times.wait_ms().map(seconds),
            talk_seconds: call.times.talk_ms().map(seconds),
        }
    }
}

/// Calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallListDto {
    /// Oldest first.
    pub calls: Vec<CallDto>,
}

/// The calls filed on a ticket, with their wait and talk time.
#[utoipa::path(
    get, path = "/calls", tag = "phone",
    params(("ticket" = i64, Query, description = "The ticket")),
    responses(
        (status = 200, description = "Its calls", body = CallListDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such ticket", body = ErrorBody),
        (status = 422, description = "A missing or bad parameter", body = ErrorBody),
    )
)]
async fn list_calls(
    State(state): State<AppState>,
    caller: CurrentAgent,
    mut query: QueryParams,
) -> Result<Json<CallListDto>, ApiError> {
    let ticket = query.take_id("ticket")?.ok_or_else(|| ApiError::invalid("ticket", "ticket is required"))?;
    query.finish()?;
    let ticket = state.store.get_ticket(TicketId(ticket), Some(&caller.viewer)).await?;
    let calls = state.store.list_calls(Some(ticket.id), Timestamp(0), Timestamp(0), 1000).await?;
    Ok(Json(CallListDto { calls: calls.iter().map(CallDto::from).collect() }))
}

/// The call report: calls that arrived in `[from, to)` (default: the last 24 hours).
#[utoipa::path(
    get, path = "/reports/calls", tag = "phone",
    params(
        ("from" = Option<String>, Query, description = "Start, RFC 3339 (default: 24 hours before `to`)"),
        ("to" = Option<String>, Query, description = "End, RFC 3339 (default: now)"),
        ("answered_within" = Option<i64>, Query, description = "The target in seconds (default 60)"),
    ),
    responses(
        (status = 200, description = "The report", body = CallReportDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    )
)]
async fn call_report(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    mut query: QueryParams,
) -> Result<Json<CallReportDto>, ApiError> {
    let to = query.take_instant("to")?.unwrap_or_else(|| state.now());
    let from = query.take_instant("from")?.unwrap_or(to.plus_millis(-rapport_core::time::DAY));
    let target = match query.take("answered_within") {
        Some(value) => match value.parse::<i64>() {
            Ok(secs) if (0..=86_400).contains(&secs) => secs,
            _ => return Err(ApiError::invalid("answered_within", "answered_within must be 0-86400 seconds")),
        },
        None => DEFAULT_TARGET_SECS,
    };
    query.finish()?;
    if from > to {
        return Err(ApiError::invalid("from", "from must not be after to"));
    }
    let calls = state.store.list_calls(None, from, to, MAX_CALLS).await?;
    let times: Vec<_> = calls.into_iter().map(|call| call.times).collect();
    Ok(Json(CallReportDto::new(from, to, target, &report(&times, target))))
}
