//! The queue page (`/desk/{view}`): one view of tickets, 50 to a page in
//! keyset order, each row with its customer, channel, priority, owner and the
//! countdown of its most pressing service-level target. The same store list
//! and SLA summaries as `GET /api/v1/tickets`.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Redirect, Response};
use rapport_core::sla::summary::Summary;
use rapport_core::{Channel, Status, TeamId, Ticket, TicketId, Timestamp};
use rapport_store::{Cursor, SavedView, TicketFilter, TicketNames};

use crate::state::AppState;
use crate::workspace::frame::{Current, Filters, Frame, QueueView};
use crate::workspace::page::{PageError, message_page, render};
use crate::workspace::session::Desk;
use crate::workspace::view::{SlaBadge, When};

/// Rows on a page.
pub const PAGE_SIZE: i64 = 50;

/// One ticket in the queue.
#[derive(Debug, Clone)]
pub struct QueueRow {
    /// Its number.
    pub id: i64,
    /// Subject.
    pub subject: String,
    /// Status word.
    pub status: &'static str,
    /// Priority word.
    pub priority: &'static str,
    /// Channel word.
    pub channel: &'static str,
    /// The customer's name (or address when they gave none).
    pub customer: String,
    /// The customer's address on the ticket's channel.
    pub address: String,
    /// Owner's name, or "unassigned".
    pub owner: String,
    /// Team's name, if any.
    pub team: String,
    /// The most pressing target.
    pub sla: Option<SlaBadge>,
    /// When it last changed.
    pub updated: When,
}

/// A choice in a filter's menu.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The value sent.
    pub value: String,
    /// What the person reads.
    pub label: String,
    /// Chosen now.
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "workspace/queue.html")]
struct QueuePage {
    frame: Frame,
    heading: String,
    slug: &'static str,
    empty: &'static str,
    hint: &'static str,
    statuses: Vec<Choice>,
    teams: Vec<Choice>,
    channels: Vec<Choice>,
    tag: String,
    owners: Vec<Choice>,
    tier: String,
    tiers: Vec<String>,
    customer: String,
    rows: Vec<QueueRow>,
    next_page: Option<String>,
    back: String,
    assignees: Vec<Choice>,
    bulk_notice: Option<(&'static str, String)>,
    filters: String,
    saved_id: Option<i64>,
    may_share: bool,
}

/// `GET /desk`: the agent's own tickets, or when they have none the
/// tickets at risk (a signed-out person goes to sign in).
pub async fn desk_home(State(state): State<AppState>, desk: Desk) -> Result<Redirect, PageError> {
    let mine = state.store.count_tickets_capped(&QueueView::Mine.filter(&desk), &desk.viewer, 1).await?;
    let view = if mine > 0 { QueueView::Mine } else { QueueView::AtRisk };
    Ok(Redirect::to(&format!("/desk/{}", view.slug())))
}

/// `GET /desk/{view}`.
pub async fn show_queue(
    State(state): State<AppState>,
    desk: Desk,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(view) = QueueView::parse(&slug) else {
        return Ok(message_page(StatusCode::NOT_FOUND, "No such view", "Choose a view from the list on the left."));
    };
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    queue_page(&state, &desk, &headers, view, &pairs, None).await
}

/// `GET /desk/v/{id}`: a saved view.
pub async fn show_saved_view(
    State(state): State<AppState>,
    desk: Desk,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let found = state.store.find_saved_view(id, desk.agent.id).await?;
    let Some((saved, view)) = found.and_then(|saved| QueueView::parse(&saved.base).map(|view| (saved, view))) else {
        return Ok(message_page(
            StatusCode::NOT_FOUND,
            "No such view",
            "It was deleted, or it is another agent's own view.",
        ));
    };
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(saved.filters.as_bytes()).into_owned().collect();
    // The page's own query (a cursor, a bulk action's result) comes on top.
    pairs.extend(form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned());
    queue_page(&state, &desk, &headers, view, &pairs, Some(saved)).await
}

async fn queue_page(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    view: QueueView,
    pairs: &[(String, String)],
    saved: Option<SavedView>,
) -> Result<Response, PageError> {
    let get = |name: &str| pairs.iter().rev().find(|(key, _)| key == name).map_or("", |(_, value)| value.trim());
    let filters = Filters::read(pairs);
    let mut filter = view.filter(desk);
    if let Err((title, hint)) = filters.narrow(state, desk, &mut filter).await? {
        return Ok(message_page(StatusCode::UNPROCESSABLE_ENTITY, title, hint));
    }
    if !get("cursor").is_empty() {
        match Cursor::parse(get("cursor")) {
            Some(cursor) => filter.cursor = Some(cursor),
            None => {
                return Ok(message_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "This page link is broken",
                    "Go back to the first page of the view.",
                ));
            }
        }
    }
    filter.limit = PAGE_SIZE;
    let no_team = view == QueueView::Team && desk.agent.teams.is_empty() && filters.team.is_empty();
    let (rows, next_cursor) = if no_team { (Vec::new(), None) } else { rows(state, desk, filter.clone()).await? };
    let rows = if view == QueueView::AtRisk { at_risk_only(rows) } else { rows };
    let path = match &saved {
        Some(saved) => format!("/desk/v/{}", saved.id),
        None => format!("/desk/{}", view.slug()),
    };
    let link = |cursor: &str| match &saved {
        Some(_) if cursor.is_empty() => format!("{path}?"),
        Some(_) => {
            format!("{path}?{}", form_urlencoded::Serializer::new(String::new()).append_pair("cursor", cursor).finish())
        }
        None => format!("{path}?{}", filters.query(cursor)),
    };
    let next_page = next_cursor.map(|cursor| link(&cursor));
    let back = link("");
    let bulk_notice = bulk_notice(get("bulk_changed"), get("bulk_refused"), get("bulk_failed"), get("bulk_why"));
    let heading = saved.as_ref().map_or_else(|| view.label().to_owned(), |saved| saved.name.clone());
    let current = match &saved {
        Some(saved) => Current::Saved(saved.id),
        None => Current::View(view),
    };
    let frame = Frame::build(state, desk, headers, heading.clone(), current).await?;
    let page = QueuePage {
        frame,
        heading,
        slug: view.slug(),
        empty: view.empty(),
        hint: if saved.is_some() { "" } else { view.hint() },
        statuses: status_choices(view, &filters.status),
        teams: team_choices(state, desk, filter.team).await?,
        channels: channel_choices(filter.channel),
        tag: filters.tag.clone(),
        owners: owner_choices(state, &filters.owner).await?,
        tier: filters.tier.clone(),
        tiers: state.store.matrix().tiers().map(str::to_owned).collect(),
        customer: filters.customer.clone(),
        rows,
        next_page,
        back,
        assignees: assignees(state).await?,
        bulk_notice,
        filters: filters.query(""),
        saved_id: saved.as_ref().map(|saved| saved.id),
        may_share: desk.viewer.can_manage_people() || desk.viewer.can_direct_work(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// A page of rows, with the cursor of the next page.
pub async fn rows(
    state: &AppState,
    desk: &Desk,
    filter: TicketFilter,
) -> Result<(Vec<QueueRow>, Option<String>), PageError> {
    let mut page = state.store.list_tickets(filter, &desk.viewer).await?;
    let ids: Vec<TicketId> = page.tickets.iter().map(|ticket| ticket.id).collect();
    let mut summaries = crate::api::dto::sla::summaries_of(state, &ids).await?;
    let now = state.now();
    let rows = page
        .tickets
        .iter()
        .map(|ticket| {
            let names = page.names.remove(&ticket.id).unwrap_or_default();
            QueueRow::new(ticket, names, summaries.remove(&ticket.id), now)
        })
        .collect();
    Ok((rows, page.next_cursor))
}

impl QueueRow {
    /// A ticket as a queue (or search results) shows it.
    pub fn new(ticket: &Ticket, names: TicketNames, summary: Option<Summary>, now: Timestamp) -> QueueRow {
        let address = names.customer_address.unwrap_or_default();
        let customer = if names.customer_name.is_empty() { address.clone() } else { names.customer_name };
        QueueRow {
            id: ticket.id.0,
            subject: ticket.subject.clone(),
            status: ticket.status.as_str(),
            priority: ticket.priority.as_str(),
            channel: ticket.channel.as_str(),
            customer,
            address,
            owner: names.owner_name.unwrap_or_else(|| "unassigned".to_owned()),
            team: names.team_name.unwrap_or_default(),
            sla: summary.map(|summary| SlaBadge::of_summary(&summary, now)),
            updated: When::of(ticket.updated_at, now),
        }
    }
}

/// The at-risk view lists tickets whose nearest target still runs (or has
/// breached); tickets with no running target come last in its order, so
/// dropping them only shortens the tail.
fn at_risk_only(rows: Vec<QueueRow>) -> Vec<QueueRow> {
    rows.into_iter().filter(|row| row.sla.as_ref().is_some_and(|sla| sla.running)).collect()
}

fn status_choices(view: QueueView, chosen: &str) -> Vec<Choice> {
    let default = if view == QueueView::All { "any" } else { "unsolved" };
    let chosen = if chosen.is_empty() { default } else { chosen };
    let mut choices = vec![("unsolved", "unsolved".to_owned()), ("any", "any status".to_owned())];
    choices.extend(Status::ALL.into_iter().map(|status| (status.as_str(), status.as_str().replace('_', " "))));
    choices
        .into_iter()
        .map(|(value, label)| Choice { value: value.to_owned(), label, selected: value == chosen })
        .collect()
}

/// What the last bulk action did, from the redirect's query.
fn bulk_notice(changed: &str, refused: &str, failed: &str, why: &str) -> Option<(&'static str, String)> {
    if !refused.is_empty() {
        return Some(("error", format!("Nothing was changed: {refused}.")));
    }
    let changed: usize = changed.parse().ok()?;
    let done = match changed {
        1 => "1 ticket changed.".to_owned(),
        n => format!("{n} tickets changed."),
    };
    if failed.is_empty() {
        Some(("ok", done))
    } else {
        Some(("error", format!("{done} Not changed: {failed} ({why}).")))
    }
}

/// Whom the bulk bar can assign to.
/// The owner filter's menu: anyone, me, nobody, then every active agent.
async fn owner_choices(state: &AppState, chosen: &str) -> Result<Vec<Choice>, PageError> {
    let mut choices: Vec<Choice> = [("", "anyone"), ("me", "me"), ("none", "nobody (unassigned)")]
        .into_iter()
        .map(|(value, label)| Choice { value: value.to_owned(), label: label.to_owned(), selected: value == chosen })
        .collect();
    for agent in state.store.list_agents(None, 200).await?.into_iter().filter(|agent| agent.active) {
        let value = agent.id.0.to_string();
        let selected = value == chosen;
        choices.push(Choice { value, label: agent.name, selected });
    }
    Ok(choices)
}

async fn assignees(state: &AppState) -> Result<Vec<Choice>, PageError> {
    let agents = state.store.list_agents(None, 200).await?;
    Ok(agents
        .into_iter()
        .filter(|agent| agent.active)
        .map(|agent| Choice {
            value: format!("assign:{}", agent.id.0),
            label: format!("assign to {}", agent.name),
            selected: false,
        })
        .collect())
}

fn channel_choices(chosen: Option<Channel>) -> Vec<Choice> {
    let mut choices =
        vec![Choice { value: String::new(), label: "any channel".to_owned(), selected: chosen.is_none() }];
    choices.extend(Channel::ALL.into_iter().map(|channel| Choice {
        value: channel.as_str().to_owned(),
        label: channel.as_str().to_owned(),
        selected: chosen == Some(channel),
    }));
    choices
}

async fn team_choices(state: &AppState, desk: &Desk, chosen: Option<TeamId>) -> Result<Vec<Choice>, PageError> {
    let teams = state.store.list_teams(None, 200).await?;
    let mut choices = vec![Choice { value: String::new(), label: "any team".to_owned(), selected: chosen.is_none() }];
    choices.extend(
        teams
            .into_iter()
            .filter(|team| desk.viewer.sees_all() || desk.agent.teams.contains(&team.id))
            .map(|team| Choice { value: team.id.0.to_string(), label: team.name, selected: chosen == Some(team.id) }),
    );
    Ok(choices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_core::sla::TargetKind;
    use rapport_core::sla::TargetStatus;

    fn row(sla: Option<SlaBadge>) -> QueueRow {
        let now = Timestamp(0);
        QueueRow {
            id: 1,
            subject: String::new(),
            status: "new",
            priority: "normal",
            channel: "email",
            customer: String::new(),
            address: String::new(),
            owner: String::new(),
            team: String::new(),
            sla,
            updated: When::of(now, now),
        }
    }

    #[test]
    fn at_risk_keeps_running_and_breached_targets_only() {
        let now = Timestamp(0);
        let badge = |state| Some(SlaBadge::new(TargetKind::FirstResponse, state, Some(Timestamp(60_000)), now));
        let rows = vec![
            row(badge(TargetStatus::Active)),
            row(badge(TargetStatus::Breached)),
            row(badge(TargetStatus::Met)),
            row(badge(TargetStatus::Paused)),
            row(None),
        ];
        assert_eq!(at_risk_only(rows).len(), 2);
    }
}
