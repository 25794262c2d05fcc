//! What every desk page shows around its content ([`Frame`]): the agent, the
//! theme, the views with their counts, the search box, the CSRF token the
//! page's forms carry. Also the views themselves ([`QueueView`]): which
//! tickets each one lists, as a store filter.

use axum::http::{HeaderMap, header};
use rapport_core::{Status, TeamId, Timestamp};
use rapport_store::{TicketFilter, TicketSort};

use crate::state::AppState;
use crate::workspace::assets::{SCRIPT, STYLE};
use crate::workspace::page::PageError;
use crate::workspace::session::Desk;

/// A count stops here and shows as "999+": a count costs at most this many
/// index entries, whatever the size of the help desk.
const COUNT_CAP: i64 = 1000;
/// "At risk" counts targets breached or due within this many milliseconds.
pub const AT_RISK_WITHIN_MS: i64 = 60 * 60 * 1000;
/// The theme cookie's name.
const THEME_COOKIE: &str = "rapport_theme";

/// The queues on the left of every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueView {
    /// Unsolved tickets the agent owns.
    Mine,
    /// Unsolved tickets of the agent's teams.
    Team,
    /// Unsolved tickets nobody owns.
    Unassigned,
    /// Unsolved tickets by time left on their nearest target, breached first.
    AtRisk,
    /// Every ticket the agent may see.
    All,
}

impl QueueView {
    /// Every view, in the order of the list.
    pub const ALL: [QueueView; 5] =
        [QueueView::Mine, QueueView::Team, QueueView::Unassigned, QueueView::AtRisk, QueueView::All];

    /// The word in the URL.
    pub fn slug(self) -> &'static str {
        match self {
            QueueView::Mine => "mine",
            QueueView::Team => "team",
            QueueView::Unassigned => "unassigned",
            QueueView::AtRisk => "at-risk",
            QueueView::All => "all",
        }
    }

    /// The view with this URL word.
    pub fn parse(slug: &str) -> Option<QueueView> {
        QueueView::ALL.into_iter().find(|view| view.slug() == slug)
    }

    /// Its name in the list.
    pub fn label(self) -> &'static str {
        match self {
            QueueView::Mine => "My tickets",
            QueueView::Team => "My teams",
            QueueView::Unassigned => "Unassigned",
            QueueView::AtRisk => "At risk",
            QueueView::All => "All tickets",
        }
    }

    /// What an empty view says.
    pub fn empty(self) -> &'static str {
        match self {
            QueueView::Mine => "No unsolved tickets are yours. Take one from Unassigned, or ask your lead for one.",
            QueueView::Team => "Your teams have no unsolved tickets (or you are in no team yet).",
            QueueView::Unassigned => "Every unsolved ticket has an owner.",
            QueueView::AtRisk => "No unsolved ticket has a service-level target running.",
            QueueView::All => "No tickets match these filters.",
        }
    }

    /// What the view lists, when its name does not say it all.
    pub fn hint(self) -> &'static str {
        match self {
            QueueView::AtRisk => {
                "Unsolved tickets by time left on their nearest service-level target, breached first. \
                 The count beside the view is how many are breached or due within the hour."
            }
            QueueView::Team => "Unsolved tickets of your first team; choose another team in the filters.",
            _ => "",
        }
    }

    /// The store filter of this view for `desk`, before the page's own filters.
    pub fn filter(self, desk: &Desk) -> TicketFilter {
        let unsolved: Vec<Status> = Status::ALL.into_iter().filter(|status| status.is_unsolved()).collect();
        let mut filter = TicketFilter { statuses: unsolved, ..TicketFilter::default() };
        match self {
            QueueView::Mine => filter.owner = Some(desk.agent.id),
            QueueView::Team => filter.team = Some(desk.agent.teams.first().copied().unwrap_or(TeamId(0))),
            QueueView::Unassigned => filter.unassigned = true,
            QueueView::AtRisk => filter.sort = TicketSort::SlaDue,
            QueueView::All => filter.statuses = Vec::new(),
        }
        filter
    }
}

/// One view in the list.
#[derive(Debug, Clone)]
pub struct ViewLink {
    /// Its URL word.
    pub slug: &'static str,
    /// Its name.
    pub label: &'static str,
    /// How many tickets it holds ("999+" past the cap; at risk: breached or due within the hour).
    pub count: String,
    /// True on its own page.
    pub current: bool,
}

/// What surrounds every desk page.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The page's title.
    pub title: String,
    /// The signed-in agent's name.
    pub agent_name: String,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
    /// The stylesheet's hashed path.
    pub style: String,
    /// The script's hashed path.
    pub script: String,
    /// `system`, `light` or `dark`.
    pub theme: &'static str,
    /// The theme the switch moves to.
    pub next_theme: &'static str,
    /// The views with their counts.
    pub views: Vec<ViewLink>,
    /// What the search box holds.
    pub search: String,
}

impl Frame {
    /// The frame of a page titled `title`, with `current` highlighted.
    pub async fn build(
        state: &AppState,
        desk: &Desk,
        headers: &HeaderMap,
        title: String,
        current: Option<QueueView>,
    ) -> Result<Frame, PageError> {
        let theme = theme(headers);
        let mut views = Vec::with_capacity(QueueView::ALL.len());
        for view in QueueView::ALL {
            let count = count(state, desk, view).await?;
            views.push(ViewLink { slug: view.slug(), label: view.label(), count, current: current == Some(view) });
        }
        Ok(Frame {
            title,
            agent_name: desk.agent.name.clone(),
            csrf: desk.csrf.clone(),
            style: STYLE.href(),
            script: SCRIPT.href(),
            theme,
            next_theme: next_theme(theme),
            views,
            search: String::new(),
        })
    }
}

async fn count(state: &AppState, desk: &Desk, view: QueueView) -> Result<String, PageError> {
    let counted = match view {
        QueueView::AtRisk => {
            let before = Timestamp(state.now().0.saturating_add(AT_RISK_WITHIN_MS));
            state.store.count_at_risk(&desk.viewer, before, COUNT_CAP).await?
        }
        QueueView::Team if desk.agent.teams.is_empty() => 0,
        _ => state.store.count_tickets_capped(&view.filter(desk), &desk.viewer, COUNT_CAP).await?,
    };
    Ok(if counted >= COUNT_CAP { format!("{}+", COUNT_CAP - 1) } else { counted.to_string() })
}

/// The theme the agent chose on this browser: `light`, `dark`, or `system`.
pub fn theme(headers: &HeaderMap) -> &'static str {
    let chosen = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == THEME_COOKIE)
        .map(|(_, value)| value.trim());
    match chosen {
        Some("light") => "light",
        Some("dark") => "dark",
        _ => "system",
    }
}

/// The switch's order: system, dark, light, system.
fn next_theme(theme: &str) -> &'static str {
    match theme {
        "system" => "dark",
        "dark" => "light",
        _ => "system",
    }
}

/// The `Set-Cookie` value that remembers a theme on this browser for a year.
pub fn theme_cookie(theme: &str) -> String {
    let theme = match theme {
        "light" => "light",
        "dark" => "dark",
        _ => "system",
    };
    format!("{THEME_COOKIE}={theme}; Path=/; Max-Age=31536000; SameSite=Lax")
}
