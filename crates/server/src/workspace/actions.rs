//! What an agent does to a ticket from its page besides writing: assign it
//! (`/desk/tickets/{id}/assign`), merge it into another ticket of the same
//! customer (`/merge`), split a customer's message out into a new ticket
//! (`/messages/{message}/split`), and download a message's files
//! (`/messages/{message}/attachments/{index}`). Each goes through the same
//! store call as its API endpoint (`PATCH /tickets/{id}`, `POST
//! /tickets/{id}/merge`, `POST /tickets/{id}/messages/{message}/split`,
//! the attachment download); a refusal comes back on the ticket page in the
//! API's words.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::event::TicketPatch;
use rapport_core::{AgentId, MessageId, TicketId};

use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::page::{PageError, message_page};
use crate::workspace::session::{Desk, DeskForm};
use crate::workspace::ticket::{Draft, Shown, ticket_page};

/// The page again, with the API's reason in the actions panel.
async fn refused(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    id: TicketId,
    error: ApiError,
) -> Result<Response, PageError> {
    let Some((status, _, message)) = error.for_page() else {
        return Err(PageError(anyhow::anyhow!("a ticket action: {error:?}")));
    };
    if status == axum::http::StatusCode::NOT_FOUND {
        return Ok(message_page(status, "No such ticket", &message));
    }
    let draft = Draft { error: Some(("action".to_owned(), message)), ..Draft::default() };
    ticket_page(state, desk, headers, id, draft, None, status, Shown::default()).await
}

/// `POST /desk/tickets/{id}/assign`: `owner` is `me`, `none` or an agent id.
pub async fn assign(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    DeskForm { desk, fields }: DeskForm,
) -> Result<Response, PageError> {
    let id = TicketId(id);
    let owner = match fields.get("owner").trim() {
        "me" => Some(desk.agent.id),
        "none" => None,
        word => match word.parse::<i64>() {
            Ok(agent) => Some(AgentId(agent)),
            Err(_) => {
                let error = ApiError::invalid("owner", "choose an owner from the menu");
                return refused(&state, &desk, &headers, id, error).await;
            }
        },
    };
    let patch = TicketPatch { owner: Some(owner), ..TicketPatch::default() };
    match state.store.patch_ticket(id, desk.viewer.clone(), patch, None, state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/desk/tickets/{}?done=assigned", id.0)).into_response()),
        Err(error) => refused(&state, &desk, &headers, id, error.into()).await,
    }
}

/// `POST /desk/tickets/{id}/merge`: this ticket closes into ticket `into`.
pub async fn merge(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    DeskForm { desk, fields }: DeskForm,
) -> Result<Response, PageError> {
    let id = TicketId(id);
    let Ok(into) = fields.get("into").trim().trim_start_matches('#').parse::<i64>() else {
        let error = ApiError::invalid("into", "choose the ticket to merge this one into");
        return refused(&state, &desk, &headers, id, error).await;
    };
    let notice = rapport_channels::email::outbound::new_message_id(state.config.mail.domain());
    match state.store.merge_tickets(id, TicketId(into), desk.viewer.clone(), notice, state.now()).await {
        Ok(survivor) => {
            let to = format!("/desk/tickets/{}?done=merged&from={}", survivor.ticket.id.0, id.0);
            Ok(Redirect::to(&to).into_response())
        }
        Err(error) => refused(&state, &desk, &headers, id, error.into()).await,
    }
}

/// `POST /desk/tickets/{id}/messages/{message}/split`: the message starts a
/// new ticket, which opens.
pub async fn split(
    State(state): State<AppState>,
    Path((id, message)): Path<(i64, i64)>,
    headers: HeaderMap,
    DeskForm { desk, .. }: DeskForm,
) -> Result<Response, PageError> {
    let id = TicketId(id);
    match state.store.split_message(id, MessageId(message), None, desk.viewer.clone(), state.now()).await {
        Ok(new) => Ok(Redirect::to(&format!("/desk/tickets/{}?done=split&from={}", new.id.0, id.0)).into_response()),
        Err(error) => refused(&state, &desk, &headers, id, error.into()).await,
    }
}

/// `GET /desk/tickets/{id}/messages/{message}/attachments/{index}`: a file,
/// served as the API serves it (never run as part of this site).
pub async fn attachment(
    State(state): State<AppState>,
    Path((id, message, index)): Path<(i64, i64, usize)>,
    desk: Desk,
) -> Result<Response, PageError> {
    match state.store.get_ticket_attachment(TicketId(id), MessageId(message), index, &desk.viewer).await {
        Ok(file) => Ok(crate::http::files::download(file)),
        Err(rapport_store::StoreError::NotFound(_)) => Ok(message_page(
            axum::http::StatusCode::NOT_FOUND,
            "No such file",
            "This file is not on this ticket, or the ticket belongs to a team you are not in.",
        )),
        Err(error) => Err(error.into()),
    }
}
