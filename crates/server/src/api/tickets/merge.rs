//! Merging a ticket into another, and splitting a message out into a new
//! ticket. The rules are core's (`rapport_core::merge`); the store does both
//! in one transaction and checks that the caller sees every ticket involved.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rapport_channels::email::outbound::new_message_id;
use rapport_core::{MessageId, TicketId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::dto::ticket::{TicketDetailDto, TicketDto, set_etag, ticket_response};
use crate::http::auth::CurrentAgent;
use crate::http::body::{JsonBody, OptionalJsonBody};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::params::{PathId, PathIds};
use crate::state::AppState;

/// `POST /api/v1/tickets/{id}/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeTicketRequest {
    /// The number of the ticket to merge into: the one that survives.
    pub into: i64,
}

/// `POST /api/v1/tickets/{id}/messages/{message_id}/split`; the body may be empty.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitMessageRequest {
    /// The new ticket's subject, 1-500 characters; the original's when absent.
    #[serde(default)]
    pub subject: Option<String>,
}

/// Merge this ticket into another of the same customer.
///
/// The merged ticket gains a `merged_into` event and closes; the survivor
/// gains a `merged_from` event (and reopens if it was solved while this one
/// still needed work), takes over this ticket's participants, and shows the
/// messages of both, oldest first. Neither event log is rewritten. The
/// customer is told on the channel of the merged request, by a public
/// system message on the survivor that goes out through the outbox. The
/// caller must see both tickets.
#[utoipa::path(
    post, path = "/tickets/{id}/merge", tag = "tickets",
    request_body = MergeTicketRequest,
    params(("id" = i64, Path, description = "The number of the ticket to merge (it closes)")),
    responses(
        (status = 200, description = "The surviving ticket with the messages of both", body = TicketDetailDto, headers(("ETag" = String, description = "The survivor's version"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Either ticket does not exist or is not visible to the caller", body = ErrorBody),
        (status = 409, description = "`merge_refused`: a ticket is closed or merged already, or the tickets belong to different customers", body = ErrorBody),
        (status = 422, description = "`into` is missing, not a number, or this ticket itself", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(ticket_id = id))]
pub(super) async fn merge_ticket(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
    JsonBody(request): JsonBody<MergeTicketRequest>,
) -> Result<Response, ApiError> {
    let notice_id = new_message_id(state.config.mail.domain());
    let detail =
        state.store.merge_tickets(TicketId(id), TicketId(request.into), caller.viewer, notice_id, state.now()).await?;
    let mut response = Json(TicketDetailDto::of(&detail, state.now())).into_response();
    set_etag(&mut response, detail.ticket.version);
    Ok(response)
}

/// Split a customer's message out into a new ticket.
///
/// The new ticket is for the same customer, in the same team, with the same
/// urgency and tags, linked to this one (`linked_to`), and starts with a copy
/// of the message; it records `split_from`, this ticket records `split_to`.
/// The message stays where it was. It may also be a message of a ticket
/// merged into this one.
#[utoipa::path(
    post, path = "/tickets/{id}/messages/{message_id}/split", tag = "tickets",
    request_body(content = SplitMessageRequest, description = "Optional; an empty body keeps the original subject"),
    params(
        ("id" = i64, Path, description = "The ticket's number"),
        ("message_id" = i64, Path, description = "The message to split out"),
    ),
    responses(
        (status = 201, description = "The new ticket", body = TicketDto, headers(("ETag" = String, description = "The new ticket's version"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such ticket or message, or not visible to the caller", body = ErrorBody),
        (status = 409, description = "`split_refused`: only the customer's messages can start a ticket", body = ErrorBody),
        (status = 422, description = "Invalid subject", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(ticket_id = id, message_id = message))]
pub(super) async fn split_message(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathIds(id, message): PathIds,
    OptionalJsonBody(request): OptionalJsonBody<SplitMessageRequest>,
) -> Result<Response, ApiError> {
    let ticket = state
        .store
        .split_message(TicketId(id), MessageId(message), request.subject, caller.viewer, state.now())
        .await?;
    Ok(ticket_response(StatusCode::CREATED, &ticket, false))
}
