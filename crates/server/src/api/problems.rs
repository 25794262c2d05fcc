//! Problems (major incidents) over HTTP: link customers' tickets to one
//! problem ticket, send every affected customer an update on their own
//! channel, and solve them all together. Supervisors and admins make the
//! changes; any agent may list a problem's tickets they can see.
//!
//! An update is queued (202): each customer's message goes out through the
//! job queue and the outbox. Sending `update` (the update's number) makes a
//! retried request safe: the same number never reaches a customer twice.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::{Author, TicketId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::dto::ticket::TicketDto;
use crate::http::auth::{CurrentAgent, Director, Forbidden};
use crate::http::body::{JsonBody, OptionalJsonBody};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::params::{PathId, PathIds};
use crate::state::AppState;

/// The most tickets one request links.
const MAX_LINKS: usize = 1_000;

/// The problem routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(link_tickets, list_problem_tickets))
        .routes(routes!(unlink_ticket))
        .routes(routes!(send_problem_update))
        .routes(routes!(solve_problem))
}

/// Problems are managed by those who direct work: supervisors and admins.
struct ManageProblems;

impl Forbidden for ManageProblems {
    const MESSAGE: &'static str = "only supervisors and admins manage problems";
}

/// `POST /api/v1/problems/{id}/tickets`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkTicketsRequest {
    /// The tickets to link (1-1000 ids). A ticket linked to another problem moves to this one.
    pub tickets: Vec<i64>,
}

/// `POST /api/v1/problems/{id}/updates`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemUpdateRequest {
    /// The update's text, sent to each affected customer (1-10000 characters).
    pub body: String,
    /// The update's number (1 for the first); the next one when absent. A
    /// number sent before queues nothing, so a retry is safe.
    #[serde(default)]
    pub update: Option<i64>,
}

/// `POST /api/v1/problems/{id}/solve`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SolveProblemRequest {
    /// A last update for every affected customer; none when absent.
    #[serde(default)]
    pub body: Option<String>,
}

/// The tickets linked to a problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemTicketsDto {
    /// By id.
    pub tickets: Vec<TicketDto>,
}

/// A queued update.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemUpdateDto {
    /// The customers it addresses: one message each, on their most recent linked ticket.
    pub customers: usize,
    /// The update's number.
    pub update: i64,
    /// Messages newly queued: `customers`, or 0 when this number was sent before.
    pub queued: usize,
}

/// A solved problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct SolvedProblemDto {
    /// Tickets that became solved, the problem itself included.
    pub solved: usize,
    /// Customers the last update addresses (0 without one).
    pub customers: usize,
    /// The last update's number; null without one.
    pub update: Option<i64>,
}

fn author(caller: &CurrentAgent) -> Author {
    Author::Agent(caller.viewer.agent)
}

/// Link tickets to a problem ticket (supervisors and admins).
#[utoipa::path(
    post, path = "/problems/{id}/tickets", tag = "problems",
    params(("id" = i64, Path, description = "The problem ticket's number")),
    request_body = LinkTicketsRequest,
    responses(
        (status = 200, description = "The problem's linked tickets", body = ProblemTicketsDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage problems", body = ErrorBody),
        (status = 404, description = "No such problem ticket", body = ErrorBody),
        (status = 422, description = "A ticket (`tickets[i]`) or the problem cannot be linked", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(problem_id = %id))]
async fn link_tickets(
    State(state): State<AppState>,
    caller: Director<ManageProblems>,
    PathId(id): PathId,
    JsonBody(request): JsonBody<LinkTicketsRequest>,
) -> Result<Json<ProblemTicketsDto>, ApiError> {
    if request.tickets.is_empty() || request.tickets.len() > MAX_LINKS {
        return Err(ApiError::invalid("tickets", format!("tickets must list 1-{MAX_LINKS} ticket ids")));
    }
    let tickets = request.tickets.into_iter().map(TicketId).collect();
    let linked = state.store.link_to_problem(TicketId(id), tickets, author(&caller), state.now()).await?;
    Ok(Json(ProblemTicketsDto { tickets: linked.iter().map(TicketDto::from).collect() }))
}

/// The tickets linked to a problem ticket (those the caller may see).
#[utoipa::path(
    get, path = "/problems/{id}/tickets", tag = "problems",
    params(("id" = i64, Path, description = "The problem ticket's number")),
    responses(
        (status = 200, description = "The linked tickets", body = ProblemTicketsDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such problem ticket", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(problem_id = %id))]
async fn list_problem_tickets(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<Json<ProblemTicketsDto>, ApiError> {
    state.store.get_ticket(TicketId(id), Some(&caller.viewer)).await?;
    let linked = state.store.list_problem_tickets(TicketId(id)).await?;
    let tickets = linked.iter().filter(|ticket| caller.viewer.can_see(ticket)).map(TicketDto::from).collect();
    Ok(Json(ProblemTicketsDto { tickets }))
}

/// Unlink a ticket from a problem (supervisors and admins).
#[utoipa::path(
    delete, path = "/problems/{id}/tickets/{ticket}", tag = "problems",
    params(
        ("id" = i64, Path, description = "The problem ticket's number"),
        ("ticket" = i64, Path, description = "The linked ticket's number"),
    ),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage problems", body = ErrorBody),
        (status = 404, description = "No such problem, or the ticket is not linked to it", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(problem_id = %id, ticket_id = %ticket))]
async fn unlink_ticket(
    State(state): State<AppState>,
    caller: Director<ManageProblems>,
    PathIds(id, ticket): PathIds,
) -> Result<StatusCode, ApiError> {
    state.store.unlink_from_problem(TicketId(id), TicketId(ticket), author(&caller), state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send every affected customer an update (supervisors and admins): one
/// message per customer on their own channel, queued.
#[utoipa::path(
    post, path = "/problems/{id}/updates", tag = "problems",
    params(("id" = i64, Path, description = "The problem ticket's number")),
    request_body = ProblemUpdateRequest,
    responses(
        (status = 202, description = "Queued", body = ProblemUpdateDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage problems", body = ErrorBody),
        (status = 404, description = "No such problem ticket", body = ErrorBody),
        (status = 422, description = "Blank `body`, an `update` number past the next, or not a problem", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(problem_id = %id))]
async fn send_problem_update(
    State(state): State<AppState>,
    caller: Director<ManageProblems>,
    PathId(id): PathId,
    JsonBody(request): JsonBody<ProblemUpdateRequest>,
) -> Result<(StatusCode, Json<ProblemUpdateDto>), ApiError> {
    let sent =
        state.store.update_problem(TicketId(id), request.body, request.update, author(&caller), state.now()).await?;
    let dto = ProblemUpdateDto { customers: sent.customers, update: sent.number, queued: sent.queued };
    Ok((StatusCode::ACCEPTED, Json(dto)))
}

/// Solve a problem with all its linked tickets (supervisors and admins),
/// optionally with a last update to every affected customer.
#[utoipa::path(
    post, path = "/problems/{id}/solve", tag = "problems",
    params(("id" = i64, Path, description = "The problem ticket's number")),
    request_body = SolveProblemRequest,
    responses(
        (status = 200, description = "Solved", body = SolvedProblemDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage problems", body = ErrorBody),
        (status = 404, description = "No such problem ticket", body = ErrorBody),
        (status = 422, description = "Blank `body`, or not a problem", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(problem_id = %id))]
async fn solve_problem(
    State(state): State<AppState>,
    caller: Director<ManageProblems>,
    PathId(id): PathId,
    OptionalJsonBody(request): OptionalJsonBody<SolveProblemRequest>,
) -> Result<Json<SolvedProblemDto>, ApiError> {
    let solved = state.store.solve_problem(TicketId(id), request.body, author(&caller), state.now()).await?;
    Ok(Json(SolvedProblemDto {
        solved: solved.solved,
        customers: solved.update.map_or(0, |update| update.customers),
        update: solved.update.map(|update| update.number),
    }))
}
