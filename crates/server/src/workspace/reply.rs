//! The reply box's posts: `/desk/tickets/{id}/reply` builds the message
//! exactly as `POST /api/v1/tickets/{id}/messages` does, holds a reply
//! written over newer activity for review, holds an email, messaging or SMS
//! reply for the team's undo window (`workspace::undo`), or adds it at once,
//! then (for "send and solve") changes the status as `PATCH
//! /api/v1/tickets/{id}` does, and redirects back to the page
//! (post/redirect/get). `/desk/tickets/{id}/held/{held}/undo` takes a held
//! reply back into the box.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::event::TicketPatch;
use rapport_core::{Author, MessageId, MessageKind, Status, TicketId};
use rapport_store::StoreError;

use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::page::{PageError, message_page};
use crate::workspace::session::{Desk, DeskForm};
use crate::workspace::ticket::{Draft, Shown, ticket_page};
use crate::workspace::undo::hold;

/// `POST /desk/tickets/{id}/reply`: a reply or an internal note, then
/// perhaps a status.
pub async fn reply(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    DeskForm { desk, mut fields }: DeskForm,
) -> Result<Response, PageError> {
    let id = TicketId(id);
    let files = fields.take_files();
    let draft = Draft {
        body: fields.get("body").to_owned(),
        kind: fields.get("kind").to_owned(),
        channel: fields.get("channel").trim().to_owned(),
        status: fields.get("status").trim().to_owned(),
        error: None,
    };
    let refuse = |draft: Draft, field: &str, message: String| {
        let draft = Draft { error: Some((field.to_owned(), message)), ..draft };
        (draft, StatusCode::UNPROCESSABLE_ENTITY)
    };
    let public = match draft.kind.as_str() {
        "reply" | "" => true,
        "note" => false,
        _ => {
            let (draft, status) = refuse(draft, "kind", "choose a reply or an internal note".to_owned());
            return ticket_page(&state, &desk, &headers, id, draft, None, status, Shown::default()).await;
        }
    };
    let new_status = match draft.status.clone().as_str() {
        "" => None,
        word => match Status::ALL.into_iter().find(|status| status.as_str() == word) {
            Some(status) => Some(status),
            None => {
                let (draft, status) = refuse(draft, "status", format!("unknown status {word:?}"));
                return ticket_page(&state, &desk, &headers, id, draft, None, status, Shown::default()).await;
            }
        },
    };
    if draft.body.trim().is_empty() {
        let (draft, status) = refuse(draft, "body", "write a message before sending".to_owned());
        return ticket_page(&state, &desk, &headers, id, draft, None, status, Shown::default()).await;
    }
    let seen = match fields.get("seen") {
        "" => None,
        word => match word.parse::<i64>() {
            Ok(seen) => Some(MessageId(seen)),
            Err(_) => {
                let (draft, status) = refuse(draft, "form", "this form is damaged: reload the page".to_owned());
                return ticket_page(&state, &desk, &headers, id, draft, None, status, Shown::default()).await;
            }
        },
    };
    if public && let Some(seen) = seen {
        let newer = newer_activity(&state, &desk, id, seen).await?;
        if !newer.is_empty() {
            // Held: the page comes back with the new messages in the
            // conversation, the draft kept, and the form now seeing them,
            // so sending again after a look goes through.
            let held = format!(
                "New activity since you opened this ({}): review before sending. Your reply was not sent; press Send again to send it as it is.",
                newer.join(", ")
            );
            let draft = Draft { error: Some(("held".to_owned(), held)), ..draft };
            return ticket_page(&state, &desk, &headers, id, draft, None, StatusCode::CONFLICT, Shown::default()).await;
        }
    }
    let channel = (!draft.channel.is_empty() && public).then_some(draft.channel.as_str());
    let message =
        match crate::api::tickets::agent_message(&state, desk.agent.id, public, channel, draft.body.clone(), files) {
            Ok(message) => message,
            Err(error) => return refused_send(&state, &desk, &headers, id, draft, error).await,
        };
    if public {
        // Held for the team's undo window, with the status to set once it goes.
        match hold(&state, &desk, id, &message, new_status).await {
            Ok(Some(_)) => return Ok(Redirect::to(&format!("/desk/tickets/{}?done=held", id.0)).into_response()),
            Ok(None) => {}
            Err(error) => return refused_send(&state, &desk, &headers, id, draft, error).await,
        }
    }
    if let Err(error) = state.store.add_message(id, Some(desk.viewer.clone()), message).await {
        return refused_send(&state, &desk, &headers, id, draft, ApiError::from(error)).await;
    }
    if let Some(status) = new_status {
        let patch = TicketPatch { status: Some(status), ..TicketPatch::default() };
        if let Err(error) = state.store.patch_ticket(id, desk.viewer.clone(), patch, None, state.now()).await {
            // The message went; only the status change failed: say so on the page.
            let error = ApiError::from(error);
            let message = match error.for_page() {
                Some((_, _, message)) => format!("Your message was sent, but the status was not changed: {message}"),
                None => return Err(PageError(anyhow::anyhow!("changing the status after a reply: {error:?}"))),
            };
            let draft = Draft { error: Some(("status".to_owned(), message)), ..Draft::default() };
            return ticket_page(&state, &desk, &headers, id, draft, None, StatusCode::CONFLICT, Shown::default()).await;
        }
    }
    let done = match (public, new_status) {
        (false, _) => "note",
        (true, None) => "reply",
        (true, Some(_)) => "reply-status",
    };
    Ok(Redirect::to(&format!("/desk/tickets/{}?done={done}", id.0)).into_response())
}

/// What happened on the ticket after message `seen` that a reply should not
/// talk over: the customer wrote, or another agent replied. In words, oldest first.
async fn newer_activity(
    state: &AppState,
    desk: &Desk,
    id: TicketId,
    seen: MessageId,
) -> Result<Vec<String>, PageError> {
    let detail = match state.store.get_ticket_detail(id, Some(&desk.viewer)).await {
        Ok(detail) => detail,
        // The send that follows reports it in the API's words.
        Err(StoreError::NotFound(_)) => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    };
    let mut newer = Vec::new();
    for message in detail.messages.iter().filter(|message| message.id.0 > seen.0) {
        match (message.kind, message.author) {
            (MessageKind::Inbound, _) => newer.push("the customer wrote".to_owned()),
            (MessageKind::Reply, Author::Agent(agent)) if agent != desk.agent.id => {
                let name = state
                    .store
                    .get_agent(agent)
                    .await
                    .map(|agent| agent.name)
                    .unwrap_or_else(|_| "another agent".to_owned());
                newer.push(format!("{name} replied"));
            }
            _ => {}
        }
    }
    Ok(newer)
}

/// The page again, with the API's reason beside the field at fault.
async fn refused_send(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    id: TicketId,
    draft: Draft,
    error: ApiError,
) -> Result<Response, PageError> {
    let Some((status, field, message)) = error.for_page() else {
        return Err(PageError(anyhow::anyhow!("sending from the workspace: {error:?}")));
    };
    if status == StatusCode::NOT_FOUND {
        return Ok(message_page(StatusCode::NOT_FOUND, "No such ticket", &message));
    }
    let field = match field {
        Some("body") => "body",
        Some("channel") => "channel",
        _ => "form",
    };
    let draft = Draft { error: Some((field.to_owned(), message)), ..draft };
    ticket_page(state, desk, headers, id, draft, None, status, Shown::default()).await
}

/// `POST /desk/tickets/{id}/held/{held}/undo`: takes a held reply back into
/// the reply box, or says it is too late.
pub async fn take_back(
    State(state): State<AppState>,
    Path((id, held)): Path<(i64, i64)>,
    headers: HeaderMap,
    DeskForm { desk, .. }: DeskForm,
) -> Result<Response, PageError> {
    let Some((reply, files)) = state.store.take_back_reply(held, desk.agent.id).await? else {
        return Ok(Redirect::to(&format!("/desk/tickets/{id}?done=too-late")).into_response());
    };
    let draft = Draft {
        body: reply.body,
        kind: "reply".to_owned(),
        channel: reply.channel.map(|channel| channel.as_str().to_owned()).unwrap_or_default(),
        status: reply.status.map(|status| status.as_str().to_owned()).unwrap_or_default(),
        error: None,
    };
    let notice = if files.is_empty() {
        "Taken back: your reply was not sent. It is in the reply box to change or send again.".to_owned()
    } else {
        format!(
            "Taken back: your reply was not sent. It is in the reply box to change or send again; attach its files \
             again ({}).",
            reply.filenames.join(", ")
        )
    };
    ticket_page(&state, &desk, &headers, reply.ticket, draft, Some(notice), StatusCode::OK, Shown::default()).await
}
