//! What every desk page shows around its content ([`Frame`]): the agent, the
//! theme, the views with their counts, the search box, the CSRF token the
//! page's forms carry. Also the views themselves ([`QueueView`]): which
//! tickets each one lists, as a store filter.

use axum::http::{HeaderMap, header};
use rapport_core::{AgentId, Channel, CustomerId, Identity, Status, TeamId, Timestamp};
use rapport_store::{SavedView, TicketFilter, TicketSort};

use crate::state::AppState;
use crate::workspace::assets::{SCRIPT, STYLE};
use crate::workspace::page::PageError;
use crate::workspace::session::Desk;

/// A count stops here and shows as "999+": a count costs at most this many
/// index entries, whatever the size of the help desk.
const COUNT_CAP: i64 = 1000;
/// "At risk" counts targets breached or due within this many milliseconds.
pub const AT_RISK_WITHIN_MS: i64 = 60 * 60 * 1000;
/// Saved views listed (and counted) on every page.
const MAX_SAVED_SHOWN: usize = 12;
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

/// The filters a queue page narrows its view with, as read from its query.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// `unsolved`, `any`, a status word, or "" for the view's own.
    pub status: String,
    /// A team id, or "".
    pub team: String,
    /// A channel word, or "".
    pub channel: String,
    /// A tag, or "".
    pub tag: String,
    /// `me`, `none`, an agent id, or "".
    pub owner: String,
    /// A customer tier, or "".
    pub tier: String,
    /// A customer: an email address, a phone number, `#id`, or "".
    pub customer: String,
}

impl Filters {
    /// The filters in `pairs` (other keys are ignored).
    pub fn read(pairs: &[(String, String)]) -> Filters {
        let get =
            |name: &str| pairs.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.trim()).to_owned();
        Filters {
            status: get("status"),
            team: get("team"),
            channel: get("channel"),
            tag: get("tag"),
            owner: get("owner"),
            tier: get("tier"),
            customer: get("customer"),
        }
    }

    /// Narrows `filter` for the agent `me` (the customer filter, which needs
    /// a lookup, is the caller's: see `customer_filter`); what is wrong (a
    /// title and a hint) for a value no menu offers.
    pub fn apply(&self, filter: &mut TicketFilter, me: AgentId) -> Result<(), (&'static str, &'static str)> {
        match self.status.as_str() {
            "" => {}
            "any" => filter.statuses = Vec::new(),
            "unsolved" => filter.statuses = Status::ALL.into_iter().filter(|s| s.is_unsolved()).collect(),
            word => match Status::ALL.into_iter().find(|status| status.as_str() == word) {
                Some(status) => filter.statuses = vec![status],
                None => return Err(("Unknown status", "Choose a status from the menu.")),
            },
        }
        if !self.team.is_empty() {
            let team = self.team.parse::<i64>().map_err(|_| ("Unknown team", "Choose a team from the menu."))?;
            filter.team = Some(TeamId(team));
        }
        if !self.channel.is_empty() {
            let channel =
                self.channel.parse::<Channel>().map_err(|_| ("Unknown channel", "Choose a channel from the menu."))?;
            filter.channel = Some(channel);
        }
        if !self.tag.is_empty() {
            filter.tag = Some(self.tag.clone());
        }
        match self.owner.as_str() {
            "" => {}
            "me" => filter.owner = Some(me),
            "none" => filter.unassigned = true,
            word => {
                let agent = word.parse::<i64>().map_err(|_| ("Unknown owner", "Choose an owner from the menu."))?;
                filter.owner = Some(AgentId(agent));
            }
        }
        if !self.tier.is_empty() {
            filter.tier = Some(self.tier.clone());
        }
        Ok(())
    }

    /// Narrows `filter` with every filter, the customer's looked up by
    /// address; the inner `Err` says what is wrong, for the page.
    pub async fn narrow(
        &self,
        state: &AppState,
        desk: &Desk,
        filter: &mut TicketFilter,
    ) -> Result<Result<(), (&'static str, &'static str)>, PageError> {
        if let Err(wrong) = self.apply(filter, desk.agent.id) {
            return Ok(Err(wrong));
        }
        let text = self.customer.as_str();
        if text.is_empty() {
            return Ok(Ok(()));
        }
        const NONE: (&str, &str) = (
            "No such customer",
            "No customer has this address. Type an email address, a phone number such as +4915112345678, or #id.",
        );
        let customer = if let Some(id) = text.strip_prefix('#') {
            match id.parse::<i64>() {
                Ok(id) => Some(CustomerId(id)),
                Err(_) => return Ok(Err(NONE)),
            }
        } else {
            let identity = if text.contains('@') { Identity::email(text) } else { Identity::phone(text) };
            let Ok(identity) = identity else { return Ok(Err(NONE)) };
            match state.store.find_customer_by_identity(&identity).await? {
                Some(customer) => Some(customer.id),
                None => return Ok(Err(NONE)),
            }
        };
        filter.customer = customer;
        Ok(Ok(()))
    }

    /// The filters (and a cursor) as a query string.
    pub fn query(&self, cursor: &str) -> String {
        let mut link = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("status", self.status.as_str()),
            ("team", self.team.as_str()),
            ("channel", self.channel.as_str()),
            ("tag", self.tag.as_str()),
            ("owner", self.owner.as_str()),
            ("tier", self.tier.as_str()),
            ("customer", self.customer.as_str()),
            ("cursor", cursor),
        ] {
            if !value.is_empty() {
                link.append_pair(key, value);
            }
        }
        link.finish()
    }
}

/// Which entry of the list a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Current {
    /// None (a ticket, search).
    None,
    /// One of the built-in views.
    View(QueueView),
    /// A saved view.
    Saved(i64),
    /// The live chat console.
    Chat,
    /// An admin page, by its URL word (see [`ADMIN_PAGES`]).
    Admin(&'static str),
}

/// The admin pages, for supervisors and admins: URL word under `/admin/` and name.
pub const ADMIN_PAGES: [(&str, &str); 14] = [
    ("people", "People"),
    ("teams", "Teams"),
    ("tokens", "API tokens"),
    ("customers", "Customers"),
    ("organizations", "Organizations"),
    ("channels", "Channels"),
    ("calendars", "Calendars"),
    ("policies", "SLA policies"),
    ("priorities", "Priority matrix"),
    ("rules", "Escalation rules"),
    ("escalation", "Escalation plan"),
    ("problems", "Problems"),
    ("quarantine", "Quarantine"),
    ("audit", "Audit log"),
];

/// An admin page in the list.
#[derive(Debug, Clone)]
pub struct AdminLink {
    /// Its URL word.
    pub slug: &'static str,
    /// Its name.
    pub label: &'static str,
    /// True on its own page.
    pub current: bool,
}

/// A saved view in the list.
#[derive(Debug, Clone)]
pub struct SavedLink {
    /// Its id (`/desk/v/{id}`).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// How many tickets it holds.
    pub count: String,
    /// True on its own page.
    pub current: bool,
    /// True when shared with everyone.
    pub shared: bool,
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
    /// The saved views (the agent's own, then the shared ones) with their counts.
    pub saved: Vec<SavedLink>,
    /// What the search box holds.
    pub search: String,
    /// True on the live chat console.
    pub chat_current: bool,
    /// The admin pages, for supervisors and admins (empty for agents).
    pub admin: Vec<AdminLink>,
}

impl Frame {
    /// The frame of a page titled `title`, with `current` highlighted.
    pub async fn build(
        state: &AppState,
        desk: &Desk,
        headers: &HeaderMap,
        title: String,
        current: Current,
    ) -> Result<Frame, PageError> {
        let theme = theme(headers);
        let mut views = Vec::with_capacity(QueueView::ALL.len());
        for view in QueueView::ALL {
            let count = count(state, desk, view).await?;
            views.push(ViewLink {
                slug: view.slug(),
                label: view.label(),
                count,
                current: current == Current::View(view),
            });
        }
        let mut saved = Vec::new();
        for view in state.store.list_saved_views(desk.agent.id).await?.into_iter().take(MAX_SAVED_SHOWN) {
            let count = saved_count(state, desk, &view).await?;
            let current = current == Current::Saved(view.id);
            saved.push(SavedLink { id: view.id, name: view.name, count, current, shared: view.agent.is_none() });
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
            saved,
            search: String::new(),
            chat_current: current == Current::Chat,
            admin: if desk.viewer.can_manage_people() {
                ADMIN_PAGES
                    .into_iter()
                    .map(|(slug, label)| AdminLink { slug, label, current: current == Current::Admin(slug) })
                    .collect()
            } else {
                Vec::new()
            },
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

/// A saved view's count (a view whose base or filters no longer read counts nothing).
async fn saved_count(state: &AppState, desk: &Desk, view: &SavedView) -> Result<String, PageError> {
    let Some(base) = QueueView::parse(&view.base) else { return Ok("0".to_owned()) };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(view.filters.as_bytes()).into_owned().collect();
    let mut filter = base.filter(desk);
    if Filters::read(&pairs).narrow(state, desk, &mut filter).await?.is_err() {
        return Ok("0".to_owned());
    }
    let counted = state.store.count_tickets_capped(&filter, &desk.viewer, COUNT_CAP).await?;
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
