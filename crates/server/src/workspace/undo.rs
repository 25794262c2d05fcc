//! The reply box's undo window. An email, messaging or SMS reply waits for
//! its team's window (`reply_undo_seconds`, 10 by default) before it is
//! filed and goes out; until then its agent sees it above the reply box with
//! a countdown and may take it back, which puts the text back in the box.
//! Live chat replies and internal notes go at once. Taking back is
//! `workspace::reply`'s; the release is the `workers::release` worker's.

use rapport_core::{Channel, Status, TicketId};
use rapport_store::{HeldReply, NewHeldReply, NewMessage};

use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::page::PageError;
use crate::workspace::session::Desk;

/// A held reply as the ticket page shows it to its author.
#[derive(Debug, Clone)]
pub struct HeldView {
    /// Its id (the undo form's path).
    pub id: i64,
    /// The start of its text.
    pub preview: String,
    /// When it goes out, RFC 3339 (the live countdown's target).
    pub due: String,
    /// Whole seconds left, for the page without its script.
    pub seconds_left: i64,
    /// Why it was not sent, once the ticket refused it.
    pub failure: Option<String>,
    /// Its files' names.
    pub files: String,
}

/// How much of a held reply's text the page repeats.
const PREVIEW_CHARS: usize = 140;

impl HeldView {
    fn new(held: &HeldReply, now: rapport_core::Timestamp) -> HeldView {
        let text = rapport_core::text::one_line(&held.body);
        let preview = match text.char_indices().nth(PREVIEW_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        };
        HeldView {
            id: held.id,
            preview,
            due: crate::http::wire::rfc3339(held.due_at),
            seconds_left: ((held.due_at.0 - now.0).max(0) + 999) / 1000,
            failure: held.failure.clone(),
            files: held.filenames.join(", "),
        }
    }
}

/// The desk agent's held replies on `ticket`.
pub async fn held_views(state: &AppState, desk: &Desk, ticket: TicketId) -> Result<Vec<HeldView>, PageError> {
    let now = state.now();
    Ok(state.store.held_replies_of(ticket, desk.agent.id).await?.iter().map(|held| HeldView::new(held, now)).collect())
}

/// Holds `message` (a public reply built by `api::tickets::agent_message`)
/// for the ticket team's undo window, with the status to set once it is
/// filed. `None` when it should go at once: it goes by live chat, or the
/// team's window is 0.
pub async fn hold(
    state: &AppState,
    desk: &Desk,
    id: TicketId,
    message: &NewMessage,
    status: Option<Status>,
) -> Result<Option<HeldReply>, ApiError> {
    let ticket = state.store.get_ticket(id, Some(&desk.viewer)).await?;
    let channel = message.origin.channel.unwrap_or(ticket.channel);
    if channel == Channel::Chat {
        return Ok(None);
    }
    let seconds = state.store.undo_seconds(ticket.team).await?;
    if seconds <= 0 {
        return Ok(None);
    }
    let reply = NewHeldReply {
        ticket: id,
        agent: desk.agent.id,
        body: message.text.clone(),
        channel: message.origin.channel,
        status,
        attachments: message.attachments.clone(),
        now: state.now(),
        window_ms: seconds.saturating_mul(1000),
    };
    Ok(Some(state.store.hold_reply(desk.viewer.clone(), reply).await?))
}
