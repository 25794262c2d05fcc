//! The quarantine (`/admin/quarantine`): what intake could not file (mail it
//! could not read, a sender over the storm limit, a bounce for mail we cannot
//! find, our own mail come back, a webhook body it could not read), each with
//! why it was held. An admin reads a message whole, as inert text (never
//! rendered as HTML), files it again (an email, through the same intake as
//! `rapport quarantine retry`) or discards it. Each decision is audited.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::{Actor, Channel};
use rapport_store::{QuarantineItem, QuarantineReason};

use crate::admin::{Manager, ManagerForm};
use crate::state::AppState;
use crate::workers::mail::{Refiled, refile_quarantined};
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, message_page, render};
use crate::workspace::view::When;

/// Messages listed.
const LISTED: i64 = 200;
/// The most of a message's source the page shows.
const SHOWN_BYTES: usize = 256 * 1024;

/// Why a message was held, for a person.
fn why(reason: QuarantineReason) -> &'static str {
    match reason {
        QuarantineReason::Unparseable => "Could not be read as a message",
        QuarantineReason::RateLimited => "The sender wrote too often (the storm limit)",
        QuarantineReason::UnmatchedBounce => "A bounce for mail we cannot find",
        QuarantineReason::Loop => "Our own mail came back (kept for the record)",
    }
}

fn state_words(state: &str) -> &'static str {
    match state {
        "held" => "Held",
        "resolved" => "Filed",
        _ => "Discarded",
    }
}

/// A message as the page shows it.
pub struct Card {
    id: i64,
    channel: &'static str,
    why: &'static str,
    detail: String,
    size: String,
    arrived: When,
    state: &'static str,
    held: bool,
    retryable: bool,
    ticket: Option<i64>,
}

fn card(item: &QuarantineItem, now: rapport_core::Timestamp) -> Card {
    Card {
        id: item.id,
        channel: item.channel.as_str(),
        why: why(item.reason),
        detail: item.detail.clone(),
        size: if item.size >= 10_240 { format!("{} KB", item.size / 1024) } else { format!("{} bytes", item.size) },
        arrived: When::of(item.created_at, now),
        state: state_words(&item.state),
        held: item.state == "held",
        retryable: item.state == "held" && item.channel == Channel::Email,
        ticket: item.ticket.map(|ticket| ticket.0),
    }
}

#[derive(Template)]
#[template(path = "admin/quarantine.html")]
struct ListPage {
    frame: Frame,
    cards: Vec<Card>,
    all: bool,
}

#[derive(Template)]
#[template(path = "admin/quarantined.html")]
struct MessagePage {
    frame: Frame,
    card: Card,
    source: String,
    cut: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// `GET /admin/quarantine[?all=1]`.
pub async fn list(
    State(state): State<AppState>,
    Manager(desk): Manager,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let all = query.as_deref().is_some_and(|query| query.split('&').any(|pair| pair == "all=1"));
    let frame = Frame::build(&state, &desk, &headers, "Quarantine".to_owned(), Current::Admin("quarantine")).await?;
    let items = state.store.list_quarantine(if all { None } else { Some("held") }, LISTED).await?;
    let now = state.now();
    let cards = items.iter().map(|item| card(item, now)).collect();
    Ok(render(StatusCode::OK, &ListPage { frame, cards, all }))
}

fn no_such_message() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "No such message",
        "This message is not in the quarantine. Go back to the list.",
    )
}

async fn message_view(
    state: &AppState,
    desk: &crate::workspace::session::Desk,
    headers: &HeaderMap,
    id: i64,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let item = match state.store.get_quarantined(id).await {
        Ok(item) => item,
        Err(rapport_store::StoreError::NotFound(_)) => return Ok(no_such_message()),
        Err(error) => return Err(error.into()),
    };
    let raw = state.store.get_quarantined_raw(id).await?;
    let cut = raw.len() > SHOWN_BYTES;
    let source = String::from_utf8_lossy(&raw[..raw.len().min(SHOWN_BYTES)]).into_owned();
    let title = format!("Quarantined message #{id}");
    let frame = Frame::build(state, desk, headers, title, Current::Admin("quarantine")).await?;
    let page = MessagePage { frame, card: card(&item, state.now()), source, cut, notice, error };
    Ok(render(status, &page))
}

/// `GET /admin/quarantine/{id}`: the message whole, as text.
pub async fn show(
    State(state): State<AppState>,
    Manager(desk): Manager,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let notice = match query.as_deref() {
        Some("done=filed") => Some("Filed: the message is on its ticket now.".to_owned()),
        Some("done=discarded") => Some("Discarded: it stays listed under “every message” for the record.".to_owned()),
        _ => None,
    };
    message_view(&state, &desk, &headers, id, notice, None, StatusCode::OK).await
}

/// `POST /admin/quarantine/{id}/file`: runs the email through intake again.
pub async fn file_again(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, .. }: ManagerForm,
) -> Result<Response, PageError> {
    let by = Actor::Agent(desk.agent.id);
    let outcome = match refile_quarantined(&state.store, &state.config.mail, id, by, state.now()).await {
        Ok(outcome) => outcome,
        Err(rapport_store::StoreError::NotFound(_)) => return Ok(no_such_message()),
        Err(error) => return Err(error.into()),
    };
    let error = match outcome {
        Refiled::Filed(_) => return Ok(Redirect::to(&format!("/admin/quarantine/{id}?done=filed")).into_response()),
        Refiled::StillQuarantined(reason) => format!(
            "It still cannot be filed ({}), so it stays held. Discard it, or fix the sender's side and wait for the next one.",
            why(reason).to_lowercase()
        ),
        Refiled::TooLarge => "It is over the largest message Rapport accepts (email.max_message_bytes).".to_owned(),
        Refiled::NotRetryable => {
            "Only a held email can be filed again: this one is another channel's, or was decided already.".to_owned()
        }
    };
    message_view(&state, &desk, &headers, id, None, Some(error), StatusCode::CONFLICT).await
}

/// `POST /admin/quarantine/{id}/discard`.
pub async fn discard(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, .. }: ManagerForm,
) -> Result<Response, PageError> {
    match state.store.discard_quarantined(id, Actor::Agent(desk.agent.id), state.now()).await {
        Ok(true) => Ok(Redirect::to(&format!("/admin/quarantine/{id}?done=discarded")).into_response()),
        Ok(false) => {
            let error = "This message was decided already: nothing changed.".to_owned();
            message_view(&state, &desk, &headers, id, None, Some(error), StatusCode::CONFLICT).await
        }
        Err(rapport_store::StoreError::NotFound(_)) => Ok(no_such_message()),
        Err(error) => Err(error.into()),
    }
}
