//! Bulk actions on a queue's selection (`POST /desk/bulk`): assign, set a
//! status, add a tag, or merge into the oldest selected ticket. Each ticket
//! goes through the same store call and core decision as the API's
//! `PATCH /tickets/{id}` (or merge), one by one, so a ticket the agent may
//! not change is refused with the API's reason while the others change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::event::TicketPatch;
use rapport_core::ticket::normalise_tags;
use rapport_core::{AgentId, Status, TicketId};

use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::page::{PageError, message_page};
use crate::workspace::session::DeskForm;

/// The most tickets one bulk action changes.
pub const MAX_SELECTION: usize = 100;

/// What to do to each selected ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    /// Set (or clear) the owner.
    Assign(Option<AgentId>),
    /// Set the status.
    Status(Status),
    /// Add a tag.
    Tag(String),
    /// Merge every selected ticket into the oldest one.
    Merge,
}

/// Reads the action from the form's `action` and `value` fields.
pub fn parse_action(action: &str, value: &str, me: AgentId) -> Result<BulkAction, String> {
    match action {
        "assign" => match value {
            "me" => Ok(BulkAction::Assign(Some(me))),
            "none" => Ok(BulkAction::Assign(None)),
            id => id
                .parse::<i64>()
                .map(|id| BulkAction::Assign(Some(AgentId(id))))
                .map_err(|_| "choose whom to assign to".to_owned()),
        },
        "status" => Status::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .map(BulkAction::Status)
            .ok_or_else(|| "choose a status".to_owned()),
        "tag" => normalise_tags([value])
            .map_err(|error| format!("tag: {error}"))?
            .into_iter()
            .next()
            .map(BulkAction::Tag)
            .ok_or_else(|| "write the tag to add".to_owned()),
        "merge" => Ok(BulkAction::Merge),
        _ => Err("choose an action".to_owned()),
    }
}

/// `POST /desk/bulk`.
pub async fn bulk(State(state): State<AppState>, DeskForm { desk, fields }: DeskForm) -> Result<Response, PageError> {
    let back = fields.get("back");
    let back = if back.starts_with("/desk/") && !back.starts_with("//") { back.to_owned() } else { "/desk".to_owned() };
    let mut tickets: Vec<TicketId> = Vec::new();
    for word in fields.all("ticket") {
        match word.parse::<i64>() {
            Ok(id) if !tickets.contains(&TicketId(id)) => tickets.push(TicketId(id)),
            Ok(_) => {}
            Err(_) => {
                return Ok(message_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Bulk action refused",
                    "The selection is damaged: reload the page.",
                ));
            }
        }
    }
    if tickets.is_empty() {
        return Ok(redirect(&back, 0, &[], Some("select tickets first (the boxes at the start of each row)")));
    }
    if tickets.len() > MAX_SELECTION {
        return Ok(redirect(&back, 0, &[], Some(&format!("select at most {MAX_SELECTION} tickets at once"))));
    }
    let (action, value) = fields.get("action").split_once(':').unwrap_or((fields.get("action"), ""));
    let value = if action == "tag" { fields.get("tag").trim() } else { value };
    let action = match parse_action(action, value, desk.agent.id) {
        Ok(action) => action,
        Err(why) => return Ok(redirect(&back, 0, &[], Some(&why))),
    };
    let mut changed = 0;
    let mut failed: Vec<(TicketId, String)> = Vec::new();
    if action == BulkAction::Merge {
        tickets.sort();
        let (survivor, others) = match tickets.split_first() {
            Some((survivor, others)) if !others.is_empty() => (*survivor, others.to_vec()),
            _ => return Ok(redirect(&back, 0, &[], Some("select two tickets or more to merge"))),
        };
        for merged in others {
            let notice = rapport_channels::email::outbound::new_message_id(state.config.mail.domain());
            match state.store.merge_tickets(merged, survivor, desk.viewer.clone(), notice, state.now()).await {
                Ok(_) => changed += 1,
                Err(error) => failed.push((merged, reason(ApiError::from(error))?)),
            }
        }
        return Ok(redirect(&back, changed, &failed, None));
    }
    for ticket in tickets {
        let patch = match &action {
            BulkAction::Assign(owner) => TicketPatch { owner: Some(*owner), ..TicketPatch::default() },
            BulkAction::Status(status) => TicketPatch { status: Some(*status), ..TicketPatch::default() },
            BulkAction::Tag(tag) => match state.store.get_ticket(ticket, Some(&desk.viewer)).await {
                Ok(found) => {
                    let tags = normalise_tags(found.tags.iter().map(String::as_str).chain([tag.as_str()]))
                        .map_err(|error| PageError(anyhow::anyhow!("tags of ticket {}: {error}", ticket.0)))?;
                    TicketPatch { tags: Some(tags), ..TicketPatch::default() }
                }
                Err(error) => {
                    failed.push((ticket, reason(ApiError::from(error))?));
                    continue;
                }
            },
            // Merged above, before this loop.
            BulkAction::Merge => continue,
        };
        match state.store.patch_ticket(ticket, desk.viewer.clone(), patch, None, state.now()).await {
            Ok(_) => changed += 1,
            Err(error) => failed.push((ticket, reason(ApiError::from(error))?)),
        }
    }
    Ok(redirect(&back, changed, &failed, None))
}

/// The API's words for a refused change (an internal error stays opaque).
fn reason(error: ApiError) -> Result<String, PageError> {
    match error.for_page() {
        Some((_, _, message)) => Ok(message),
        None => Err(PageError(anyhow::anyhow!("bulk action: {error:?}"))),
    }
}

/// Back to the queue, saying what happened.
fn redirect(back: &str, changed: usize, failed: &[(TicketId, String)], refused: Option<&str>) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("bulk_changed", &changed.to_string());
    if let Some(why) = refused {
        query.append_pair("bulk_refused", why);
    }
    if let Some((ticket, why)) = failed.first() {
        let numbers: Vec<String> = failed.iter().map(|(ticket, _)| format!("#{}", ticket.0)).collect();
        query.append_pair("bulk_failed", &numbers.join(", "));
        query.append_pair("bulk_why", &format!("#{}: {why}", ticket.0));
    }
    let separator = match back.chars().last() {
        Some('?' | '&') => "",
        _ if back.contains('?') => "&",
        _ => "?",
    };
    Redirect::to(&format!("{back}{separator}{}", query.finish())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_from_the_form() {
        let me = AgentId(7);
        assert_eq!(parse_action("assign", "me", me), Ok(BulkAction::Assign(Some(me))));
        assert_eq!(parse_action("assign", "none", me), Ok(BulkAction::Assign(None)));
        assert_eq!(parse_action("assign", "12", me), Ok(BulkAction::Assign(Some(AgentId(12)))));
        assert_eq!(parse_action("status", "solved", me), Ok(BulkAction::Status(Status::Solved)));
        assert_eq!(parse_action("tag", "Refund", me), Ok(BulkAction::Tag("refund".into())));
        assert_eq!(parse_action("merge", "", me), Ok(BulkAction::Merge));
        assert!(parse_action("status", "done", me).is_err());
        assert!(parse_action("tag", "", me).is_err());
        assert!(parse_action("delete", "", me).is_err());
    }
}
