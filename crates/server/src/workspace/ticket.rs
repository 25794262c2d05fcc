//! The ticket page (`/desk/tickets/{id}`) and its reply box. The page shows
//! the whole conversation, the history on demand, the customer and the
//! service-level targets, the agent's replies still in their undo window,
//! and the reply box, which posts to `workspace::reply`.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rapport_core::{Actor, AgentId, Author, TicketId};
use rapport_store::{StoreError, TicketFilter, TicketSort};

use crate::api::dto::sla::measured_targets;
use crate::state::AppState;
use crate::workspace::conversation::{
    EventView, IdentityView, MessageView, Names, history, identities, messages, reply_channels,
};
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, message_page, render};
use crate::workspace::queue::Choice;
use crate::workspace::session::Desk;
use crate::workspace::undo::{HeldView, held_views};
use crate::workspace::view::{SlaBadge, When};

/// How many of the customer's other tickets the panel lists.
const EARLIER_TICKETS: i64 = 10;

/// One of the customer's other tickets.
#[derive(Debug, Clone)]
pub struct EarlierTicket {
    /// Its number.
    pub id: i64,
    /// Subject.
    pub subject: String,
    /// Status word.
    pub status: &'static str,
    /// Channel word.
    pub channel: &'static str,
    /// When it was opened.
    pub opened: When,
}

/// What the reply box holds after a refused send: the text, the choices,
/// and the error beside its field.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// The text as typed.
    pub body: String,
    /// `reply` or `note`.
    pub kind: String,
    /// The channel chosen ("" for automatic).
    pub channel: String,
    /// The status to set after sending ("" to keep).
    pub status: String,
    /// The field at fault and what is wrong.
    pub error: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "workspace/ticket.html")]
struct TicketPage {
    frame: Frame,
    id: i64,
    subject: String,
    status: &'static str,
    priority: &'static str,
    channel: &'static str,
    owner: String,
    team: String,
    tags: String,
    messages: Vec<MessageView>,
    folded: usize,
    newest: Vec<MessageView>,
    history: Vec<EventView>,
    history_shown: bool,
    events: usize,
    customer_name: String,
    tier: String,
    organization: Option<String>,
    identities: Vec<IdentityView>,
    earlier: Vec<EarlierTicket>,
    policy: Option<String>,
    targets: Vec<SlaBadge>,
    channels: Vec<Choice>,
    channel_hint: String,
    statuses: Vec<Choice>,
    note_chosen: bool,
    seen: i64,
    draft: String,
    body_error: Option<String>,
    channel_error: Option<String>,
    form_error: Option<String>,
    held: Option<String>,
    held_replies: Vec<HeldView>,
    notice: Option<String>,
    owners: Vec<Choice>,
    merge_targets: Vec<EarlierTicket>,
    action_error: Option<String>,
}

/// `GET /desk/tickets/{id}`.
pub async fn show_ticket(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let has = |name: &str, value: &str| pairs.iter().any(|(key, given)| key == name && given == value);
    let from = pairs.iter().find(|(key, _)| key == "from").and_then(|(_, value)| value.parse::<i64>().ok());
    let notice = if has("done", "reply") {
        Some("Your reply is queued to go out.".to_owned())
    } else if has("done", "note") {
        Some("Your note is added.".to_owned())
    } else if has("done", "reply-status") {
        Some("Your reply is queued and the status is changed.".to_owned())
    } else if has("done", "held") {
        Some(HELD_NOTICE.to_owned())
    } else if has("done", "too-late") {
        Some("Too late to take it back: that reply has gone out.".to_owned())
    } else if has("done", "assigned") {
        Some("The owner is changed.".to_owned())
    } else if let (true, Some(from)) = (has("done", "merged"), from) {
        Some(format!("Ticket #{from} is merged into this one; its messages are here and it is closed."))
    } else if let (true, Some(from)) = (has("done", "split"), from) {
        Some(format!("This ticket was split from #{from}; it starts with the customer's message."))
    } else {
        None
    };
    let shown = Shown { whole_thread: has("all", "1"), history: has("history", "1") };
    ticket_page(&state, &desk, &headers, TicketId(id), Draft::default(), notice, StatusCode::OK, shown).await
}

/// What the page says after a reply was held for its undo window (while it waits).
const HELD_NOTICE: &str = "Your reply goes out when the countdown ends; until then you can take it back.";

/// How much of a long ticket the page shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shown {
    /// Every message, not only the first and the newest.
    pub whole_thread: bool,
    /// The event history.
    pub history: bool,
}

/// A thread longer than this shows its first message and the newest
/// [`NEWEST_SHOWN`], with a link to the rest: a long thread stays quick to
/// load and to read.
const FOLD_AFTER: usize = 25;
/// The newest messages a folded thread shows.
const NEWEST_SHOWN: usize = 20;

/// Folds a long thread: the first message, then how many are folded, then the newest.
fn fold(mut messages: Vec<MessageView>, whole: bool) -> (Vec<MessageView>, usize, Vec<MessageView>) {
    if whole || messages.len() <= FOLD_AFTER {
        return (messages, 0, Vec::new());
    }
    let newest = messages.split_off(messages.len() - NEWEST_SHOWN);
    let folded = messages.len() - 1;
    messages.truncate(1);
    (messages, folded, newest)
}

/// Renders the ticket page with `draft` in the reply box.
#[allow(clippy::too_many_arguments)]
pub(super) async fn ticket_page(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    id: TicketId,
    draft: Draft,
    notice: Option<String>,
    status: StatusCode,
    shown: Shown,
) -> Result<Response, PageError> {
    let detail = match state.store.get_ticket_detail(id, Some(&desk.viewer)).await {
        Ok(detail) => detail,
        Err(StoreError::NotFound(_)) => {
            return Ok(message_page(
                StatusCode::NOT_FOUND,
                "No such ticket",
                "There is no ticket with this number, or it belongs to a team you are not in.",
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let ticket = &detail.ticket;
    let now = state.now();
    let customer = state.store.get_customer(ticket.customer).await?;
    let names = names(state, &detail, &customer.name).await?;
    let earlier = earlier_tickets(state, desk, ticket.customer, ticket.id).await?;
    let (policy, targets) = match measured_targets(state, ticket.id).await? {
        Some((policy, targets)) => (
            Some(policy.name),
            targets.iter().map(|target| SlaBadge::new(target.kind, target.state, target.due, now)).collect(),
        ),
        None => (None, Vec::new()),
    };
    let (channels, channel_hint) =
        reply_channels(ticket.channel, &customer.identities, &detail.messages, &draft.channel, now);
    let organization = match customer.organization {
        Some(id) => Some(state.store.get_organization(id).await?),
        None => None,
    };
    let tier = rapport_core::customer::effective_tier(
        customer.tier.clone(),
        organization.as_ref().map(|organization| organization.tier.clone()),
    )
    .0;
    let held = draft.error.as_ref().filter(|(field, _)| field == "held").map(|(_, text)| text.clone());
    let field_error = |field: &str| draft.error.as_ref().filter(|(at, _)| at == field).map(|(_, text)| text.clone());
    let body_error = field_error("body");
    let channel_error = field_error("channel");
    let action_error = field_error("action");
    let form_error = draft
        .error
        .as_ref()
        .filter(|(field, _)| !["body", "channel", "action"].contains(&field.as_str()))
        .map(|(_, text)| text.clone());
    let (first, folded, newest) = fold(messages(&detail.messages, &names, now), shown.whole_thread);
    let frame =
        Frame::build(state, desk, headers, format!("#{} {}", ticket.id.0, ticket.subject), Current::None).await?;
    let held_replies = held_views(state, desk, ticket.id).await?;
    let page = TicketPage {
        frame,
        id: ticket.id.0,
        subject: ticket.subject.clone(),
        status: ticket.status.as_str(),
        priority: ticket.priority.as_str(),
        channel: ticket.channel.as_str(),
        owner: ticket.owner.map_or_else(|| "unassigned".to_owned(), |owner| name_of(&names, owner)),
        team: ticket.team.and_then(|team| names.teams.get(&team).cloned()).unwrap_or_else(|| "no team".to_owned()),
        tags: ticket.tags.join(", "),
        messages: first,
        folded,
        newest,
        history: if shown.history { history(&detail.events, &names) } else { Vec::new() },
        history_shown: shown.history,
        events: detail.events.len(),
        customer_name: names.customer.clone(),
        tier,
        organization: organization.map(|organization| organization.name),
        identities: identities(&customer),
        earlier: earlier.clone(),
        policy,
        targets,
        channels,
        channel_hint,
        statuses: after_send(&draft.status),
        note_chosen: draft.kind == "note",
        seen: detail.messages.iter().map(|message| message.id.0).max().unwrap_or(0),
        draft: draft.body.clone(),
        body_error,
        channel_error,
        form_error,
        held,
        held_replies: held_replies.clone(),
        // Once the held reply has gone, the page (fetched again live) says so.
        notice: match notice {
            Some(text) if text == HELD_NOTICE && held_replies.is_empty() => {
                Some("Your reply is queued to go out.".to_owned())
            }
            other => other,
        },
        owners: owner_choices(state, ticket.owner).await?,
        merge_targets: earlier.iter().filter(|other| other.status != "closed").cloned().collect(),
        action_error,
    };
    Ok(render(status, &page))
}

fn name_of(names: &Names, agent: AgentId) -> String {
    names.agents.get(&agent).cloned().unwrap_or_else(|| format!("agent {}", agent.0))
}

/// The names of every agent and team the page mentions.
async fn names(state: &AppState, detail: &rapport_store::TicketDetail, customer: &str) -> Result<Names, PageError> {
    let mut agents: HashSet<AgentId> = HashSet::new();
    agents.extend(detail.ticket.owner);
    for message in &detail.messages {
        if let Author::Agent(id) = message.author {
            agents.insert(id);
        }
    }
    for event in &detail.events {
        if let Actor::Agent(id) = event.actor {
            agents.insert(id);
        }
        if let rapport_core::Change::OwnerChanged { from, to } = &event.change {
            agents.extend(*from);
            agents.extend(*to);
        }
    }
    let mut names = Names {
        customer: if customer.is_empty() { "the customer".to_owned() } else { customer.to_owned() },
        ..Names::default()
    };
    for id in agents {
        match state.store.get_agent(id).await {
            Ok(agent) => {
                names.agents.insert(id, agent.name);
            }
            Err(StoreError::NotFound(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    for team in state.store.list_teams(None, 200).await? {
        names.teams.insert(team.id, team.name);
    }
    Ok(names)
}

async fn earlier_tickets(
    state: &AppState,
    desk: &Desk,
    customer: rapport_core::CustomerId,
    this: TicketId,
) -> Result<Vec<EarlierTicket>, PageError> {
    let filter = TicketFilter {
        customer: Some(customer),
        sort: TicketSort::CreatedDesc,
        limit: EARLIER_TICKETS + 1,
        ..TicketFilter::default()
    };
    let page = state.store.list_tickets(filter, &desk.viewer).await?;
    let now = state.now();
    Ok(page
        .tickets
        .iter()
        .filter(|ticket| ticket.id != this)
        .take(usize::try_from(EARLIER_TICKETS).unwrap_or(10))
        .map(|ticket| EarlierTicket {
            id: ticket.id.0,
            subject: ticket.subject.clone(),
            status: ticket.status.as_str(),
            channel: ticket.channel.as_str(),
            opened: When::of(ticket.created_at, now),
        })
        .collect())
}

/// The assign form's menu: the owner now first, then me, nobody, everyone active.
async fn owner_choices(state: &AppState, owner: Option<AgentId>) -> Result<Vec<Choice>, PageError> {
    let mut choices = vec![
        Choice { value: "me".to_owned(), label: "me".to_owned(), selected: false },
        Choice { value: "none".to_owned(), label: "nobody (unassigned)".to_owned(), selected: owner.is_none() },
    ];
    for agent in state.store.list_agents(None, 200).await?.into_iter().filter(|agent| agent.active) {
        let selected = owner == Some(agent.id);
        choices.push(Choice { value: agent.id.0.to_string(), label: agent.name, selected });
    }
    Ok(choices)
}

fn after_send(chosen: &str) -> Vec<Choice> {
    [
        ("", "keep as it is"),
        ("pending", "pending (waiting on the customer)"),
        ("on_hold", "on hold"),
        ("solved", "solved"),
    ]
    .into_iter()
    .map(|(value, label)| Choice { value: value.to_owned(), label: label.to_owned(), selected: value == chosen })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::view::When;
    use rapport_core::Timestamp;

    fn thread(count: usize) -> Vec<MessageView> {
        (0..count)
            .map(|n| MessageView {
                id: i64::try_from(n).unwrap(),
                class: "from-customer",
                kind: "Customer",
                author: String::new(),
                channel: "email",
                delivery: None,
                text: String::new(),
                when: When::of(Timestamp(0), Timestamp(0)),
                attachments: Vec::new(),
                splittable: false,
            })
            .collect()
    }

    #[test]
    fn a_long_thread_shows_its_first_and_newest_messages() {
        let (first, folded, newest) = fold(thread(200), false);
        assert_eq!((first.len(), folded, newest.len()), (1, 179, 20));
        assert_eq!((first[0].id, newest[0].id, newest[19].id), (0, 180, 199));
        let (all, folded, newest) = fold(thread(200), true);
        assert_eq!((all.len(), folded, newest.len()), (200, 0, 0));
        let (short, folded, _) = fold(thread(25), false);
        assert_eq!((short.len(), folded), (25, 0));
    }
}
