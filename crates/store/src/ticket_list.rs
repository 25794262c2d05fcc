//! Ticket lists: filters, the allow-listed orders, keyset pages, and the
//! names a list shows beside the ids (one batched read per page, so a queue
//! needs one request and no read per ticket).
//!
//! The `sla_due` order reads the kept projection `ticket_sla` through its
//! `(COALESCE(next_due, MAX), ticket_id)` index; tickets the projector has
//! not measured yet (they wait in `sla_dirty`) come last with those that have
//! no running target, so a new ticket is never missing from the list.

use std::collections::HashMap;

use rapport_core::{AgentId, Channel, CustomerId, Status, TeamId, Ticket, TicketId, Viewer};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Arg, Conn};
use crate::error::StoreError;
use crate::rows::{TICKET_COLUMNS, TicketRow};

/// The `sla_due` key of a ticket with no running target: after every due time.
const NO_DUE: i64 = i64::MAX;

/// The `sla_due` sort key; the text must match the index `ticket_sla_due`.
const DUE_KEY: &str = "COALESCE(s.next_due, 9223372036854775807)";

/// Orderings of ticket lists (allow-listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketSort {
    /// Highest priority first, then oldest first: the queue.
    #[default]
    Priority,
    /// Oldest first.
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
    /// Least recently updated first.
    UpdatedAsc,
    /// Most recently updated first.
    UpdatedDesc,
    /// The next service-level due time first (breached targets are due in
    /// the past, so they lead); tickets with no running target last, by number.
    SlaDue,
}

impl TicketSort {
    /// Parses the `sort` query word.
    pub fn parse(word: &str) -> Option<TicketSort> {
        Some(match word {
            "priority" => TicketSort::Priority,
            "created" => TicketSort::CreatedAsc,
            "-created" => TicketSort::CreatedDesc,
            "updated" => TicketSort::UpdatedAsc,
            "-updated" => TicketSort::UpdatedDesc,
            "sla_due" => TicketSort::SlaDue,
            _ => return None,
        })
    }

    /// The accepted words.
    pub const WORDS: &'static str = "priority, created, -created, updated, -updated, sla_due";
}

/// Filters for a ticket list.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Any of these statuses (empty: any).
    pub statuses: Vec<Status>,
    /// Owned by this agent.
    pub owner: Option<AgentId>,
    /// Only tickets without an owner.
    pub unassigned: bool,
    /// Of this team.
    pub team: Option<TeamId>,
    /// From this channel.
    pub channel: Option<Channel>,
    /// Carrying this tag.
    pub tag: Option<String>,
    /// Of this customer.
    pub customer: Option<CustomerId>,
    /// Of customers with this effective tier (their own, else their
    /// organization's, else `basic`).
    pub tier: Option<String>,
    /// Order.
    pub sort: TicketSort,
    /// Page size (the caller bounds it).
    pub limit: i64,
    /// Where the previous page ended.
    pub cursor: Option<Cursor>,
}

/// A keyset position: the sort key and id of the last ticket of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    priority: i64,
    instant: i64,
    id: i64,
}

impl Cursor {
    /// Parses a cursor returned as `next_cursor`.
    pub fn parse(text: &str) -> Option<Cursor> {
        let mut parts = text.split('.');
        let priority = parts.next()?.parse().ok()?;
        let instant = parts.next()?.parse().ok()?;
        let id = parts.next()?.parse().ok()?;
        if parts.next().is_some() || !(0..=3).contains(&priority) {
            return None;
        }
        Some(Cursor { priority, instant, id })
    }

    /// The cursor after `ticket`; `due_key` is its place in the `sla_due` order.
    fn after(ticket: &Ticket, due_key: Option<i64>, sort: TicketSort) -> String {
        let instant = match sort {
            TicketSort::Priority | TicketSort::CreatedAsc | TicketSort::CreatedDesc => ticket.created_at.0,
            TicketSort::UpdatedAsc | TicketSort::UpdatedDesc => ticket.updated_at.0,
            TicketSort::SlaDue => due_key.unwrap_or(NO_DUE),
        };
        format!("{}.{}.{}", ticket.priority.rank(), instant, ticket.id.0)
    }
}

/// What a list shows beside a ticket's ids, so one request is enough to
/// show a queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketNames {
    /// The customer's name (empty when they gave none).
    pub customer_name: String,
    /// The customer's address on the ticket's channel, else their email
    /// address, else any; `None` when they have none left (erased).
    pub customer_address: Option<String>,
    /// The owner's name.
    pub owner_name: Option<String>,
    /// The team's name.
    pub team_name: Option<String>,
}

/// One page of tickets.
#[derive(Debug, Clone)]
pub struct Page {
    /// The tickets.
    pub tickets: Vec<Ticket>,
    /// The names beside each ticket's ids.
    pub names: HashMap<TicketId, TicketNames>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl Store {
    /// A page of tickets that `viewer` may see, filtered and sorted.
    pub async fn list_tickets(&self, filter: TicketFilter, viewer: &Viewer) -> Result<Page, StoreError> {
        let (sql, args) = list_query(&filter, viewer);
        let (tickets, last_key, names) = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    let rows: Vec<ListRow> = conn.fetch_all(AssertSqlSafe(sql), args).await?;
                    let last_key = rows.last().and_then(|row| row.due_key);
                    let tickets =
                        rows.into_iter().map(|row| Ticket::try_from(row.ticket)).collect::<Result<Vec<_>, _>>()?;
                    let ids: Vec<TicketId> = tickets.iter().map(|ticket| ticket.id).collect();
                    let names = load_names(conn, &ids).await?;
                    Ok((tickets, last_key, names))
                })
            })
            .await?;
        let limit = usize::try_from(filter.limit).unwrap_or(0);
        let next_cursor = if tickets.len() == limit && limit > 0 {
            tickets.last().map(|ticket| Cursor::after(ticket, last_key, filter.sort))
        } else {
            None
        };
        Ok(Page { tickets, names, next_cursor })
    }

    /// How many tickets `viewer` may see match `filter` (its sort, page size
    /// and cursor aside), counting no further than `cap`: a queue's count
    /// reads at most `cap` index entries, whatever the size of the help desk.
    pub async fn count_tickets_capped(
        &self,
        filter: &TicketFilter,
        viewer: &Viewer,
        cap: i64,
    ) -> Result<i64, StoreError> {
        #[derive(sqlx::FromRow)]
        struct CountRow {
            count: i64,
        }
        let mut values: Vec<Arg> = Vec::new();
        let conditions = conditions(filter, viewer, &mut values);
        let limit = bind(&mut values, cap.into());
        let sql = format!(
            "SELECT COUNT(*) AS count FROM (SELECT 1 AS one FROM tickets t WHERE 1 = 1{conditions} LIMIT {limit}) capped"
        );
        let row: CountRow = self.db.fetch_one(AssertSqlSafe(sql), values).await?;
        Ok(row.count)
    }

    /// How many unsolved tickets `viewer` may see have a running target due
    /// before `before` (breached ones included), counting no further than
    /// `cap`. Reads the kept projection through its due index.
    pub async fn count_at_risk(
        &self,
        viewer: &Viewer,
        before: rapport_core::Timestamp,
        cap: i64,
    ) -> Result<i64, StoreError> {
        #[derive(sqlx::FromRow)]
        struct CountRow {
            count: i64,
        }
        let unsolved = TicketFilter {
            statuses: Status::ALL.into_iter().filter(|status| status.is_unsolved()).collect(),
            ..TicketFilter::default()
        };
        let mut values: Vec<Arg> = Vec::new();
        let due = bind(&mut values, before.0.into());
        let conditions = conditions(&unsolved, viewer, &mut values);
        let limit = bind(&mut values, cap.into());
        let sql = format!(
            "SELECT COUNT(*) AS count FROM (SELECT 1 AS one FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id \
             WHERE {DUE_KEY} < {due}{conditions} LIMIT {limit}) capped"
        );
        let row: CountRow = self.db.fetch_one(AssertSqlSafe(sql), values).await?;
        Ok(row.count)
    }
}

#[derive(sqlx::FromRow)]
struct ListRow {
    #[sqlx(flatten)]
    ticket: TicketRow,
    /// Only the `sla_due` query selects it.
    #[sqlx(default)]
    due_key: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct NamesRow {
    ticket_id: i64,
    customer_name: String,
    customer_address: Option<String>,
    owner_name: Option<String>,
    team_name: Option<String>,
}

/// The names beside the ids of `ids`, in one read.
pub(crate) async fn load_names(
    conn: &mut Conn<'_>,
    ids: &[TicketId],
) -> Result<HashMap<TicketId, TicketNames>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    // The address: the customer's identity on the ticket's channel (a handle
    // of that network first), else their email address, else any. (`kind ||
    // ''` keeps SQLite on the customer's identities rather than on every
    // identity of that kind.)
    let sql = format!(
        "SELECT t.id AS ticket_id, c.name AS customer_name, COALESCE( \
           (SELECT MIN(i.value) FROM identities i WHERE i.customer_id = t.customer_id AND i.value LIKE t.channel || ':%'), \
           (SELECT MIN(i.value) FROM identities i WHERE i.customer_id = t.customer_id AND i.kind || '' = CASE t.channel \
              WHEN 'chat' THEN 'chat' WHEN 'whatsapp' THEN 'phone' WHEN 'sms' THEN 'phone' WHEN 'phone' THEN 'phone' \
              WHEN 'telegram' THEN 'handle' WHEN 'messenger' THEN 'handle' WHEN 'instagram' THEN 'handle' \
              ELSE 'email' END), \
           (SELECT MIN(i.value) FROM identities i WHERE i.customer_id = t.customer_id AND i.kind || '' = 'email'), \
           (SELECT MIN(i.value) FROM identities i WHERE i.customer_id = t.customer_id)) AS customer_address, \
           a.name AS owner_name, tm.name AS team_name \
         FROM tickets t JOIN customers c ON c.id = t.customer_id \
         LEFT JOIN agents a ON a.id = t.owner_id LEFT JOIN teams tm ON tm.id = t.team_id \
         WHERE t.id IN ({})",
        placeholders.join(", ")
    );
    let rows: Vec<NamesRow> =
        conn.fetch_all(AssertSqlSafe(sql), ids.iter().map(|id| Arg::from(id.0)).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let names = TicketNames {
                customer_name: row.customer_name,
                customer_address: row.customer_address,
                owner_name: row.owner_name,
                team_name: row.team_name,
            };
            (TicketId(row.ticket_id), names)
        })
        .collect())
}

/// Builds the list query. Every piece of SQL here is fixed text; values are bound.
fn list_query(filter: &TicketFilter, viewer: &Viewer) -> (String, Vec<Arg>) {
    let mut values: Vec<Arg> = Vec::new();
    let conditions = conditions(filter, viewer, &mut values);
    if filter.sort == TicketSort::SlaDue {
        return (due_query(filter, &conditions, &mut values), values);
    }
    let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE 1 = 1{conditions}");
    let (column, ascending) = match filter.sort {
        TicketSort::Priority | TicketSort::CreatedAsc | TicketSort::SlaDue => ("t.created_at", true),
        TicketSort::CreatedDesc => ("t.created_at", false),
        TicketSort::UpdatedAsc => ("t.updated_at", true),
        TicketSort::UpdatedDesc => ("t.updated_at", false),
    };
    let (later, order) = if ascending { (">", "ASC") } else { ("<", "DESC") };
    if let Some(cursor) = filter.cursor {
        let instant = bind(&mut values, cursor.instant.into());
        let id = bind(&mut values, cursor.id.into());
        let after = format!("({column} {later} {instant} OR ({column} = {instant} AND t.id {later} {id}))");
        if filter.sort == TicketSort::Priority {
            let priority = bind(&mut values, cursor.priority.into());
            sql.push_str(&format!(" AND (t.priority < {priority} OR (t.priority = {priority} AND {after}))"));
        } else {
            sql.push_str(&format!(" AND {after}"));
        }
    }
    if filter.sort == TicketSort::Priority {
        sql.push_str(" ORDER BY t.priority DESC, t.created_at ASC, t.id ASC");
    } else {
        sql.push_str(&format!(" ORDER BY {column} {order}, t.id {order}"));
    }
    let limit = bind(&mut values, filter.limit.into());
    sql.push_str(&format!(" LIMIT {limit}"));
    (sql, values)
}

/// Binds `value` and returns its placeholder.
fn bind(values: &mut Vec<Arg>, value: Arg) -> String {
    values.push(value);
    format!("${}", values.len())
}

/// The filters and the viewer's visibility as `AND …` clauses on `t`.
pub(crate) fn conditions(filter: &TicketFilter, viewer: &Viewer, values: &mut Vec<Arg>) -> String {
    let mut sql = String::new();
    if !filter.statuses.is_empty() {
        if filter.statuses.iter().all(|status| status.is_unsolved()) {
            // Lets the queue indexes (team/owner, active, priority, age) serve the query.
            sql.push_str(" AND t.active = 1");
        }
        let placeholders: Vec<String> =
            filter.statuses.iter().map(|status| bind(values, status.as_str().into())).collect();
        sql.push_str(&format!(" AND t.status IN ({})", placeholders.join(", ")));
    }
    if let Some(owner) = filter.owner {
        let p = bind(values, owner.0.into());
        sql.push_str(&format!(" AND t.owner_id = {p}"));
    }
    if filter.unassigned {
        sql.push_str(" AND t.owner_id IS NULL");
    }
    if let Some(team) = filter.team {
        let p = bind(values, team.0.into());
        sql.push_str(&format!(" AND t.team_id = {p}"));
    }
    if let Some(channel) = filter.channel {
        let p = bind(values, channel.as_str().into());
        sql.push_str(&format!(" AND t.channel = {p}"));
    }
    if let Some(customer) = filter.customer {
        let p = bind(values, customer.0.into());
        sql.push_str(&format!(" AND t.customer_id = {p}"));
    }
    if let Some(tag) = &filter.tag {
        let p = bind(values, tag.as_str().into());
        sql.push_str(&format!(" AND t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = {p})"));
    }
    if let Some(tier) = &filter.tier {
        // The effective tier, as core's `customer::effective_tier` decides it.
        let p = bind(values, tier.as_str().into());
        sql.push_str(&format!(
            " AND t.customer_id IN (SELECT c.id FROM customers c LEFT JOIN organizations o ON o.id = c.organization_id \
             WHERE COALESCE(c.tier, o.tier, 'basic') = {p})"
        ));
    }
    if !viewer.sees_all() {
        let me = bind(values, viewer.agent.0.into());
        let mut clause = format!(" AND (t.owner_id IS NULL OR t.owner_id = {me}");
        if !viewer.teams.is_empty() {
            let teams: Vec<String> = viewer.teams.iter().map(|team| bind(values, team.0.into())).collect();
            clause.push_str(&format!(" OR t.team_id IN ({})", teams.join(", ")));
        }
        clause.push(')');
        sql.push_str(&clause);
    }
    sql
}

/// The `sla_due` page: measured tickets in the order of the index (walked
/// first, so the page stops after `limit` matches), then those not measured
/// yet, which only `sla_dirty` lists, as if they had no running target.
fn due_query(filter: &TicketFilter, conditions: &str, values: &mut Vec<Arg>) -> String {
    let (measured_after, waiting_after) = match filter.cursor {
        Some(cursor) => {
            let key = bind(values, cursor.instant.into());
            let id = bind(values, cursor.id.into());
            (
                format!(" AND ({DUE_KEY} > {key} OR ({DUE_KEY} = {key} AND s.ticket_id > {id}))"),
                format!(" AND ({key} < {NO_DUE} OR t.id > {id})"),
            )
        }
        None => (String::new(), String::new()),
    };
    let limit = bind(values, filter.limit.into());
    // A filter on one customer or tag matches few tickets: let the planner
    // start from them. Otherwise walk the due index (SQLite keeps the order
    // of a CROSS JOIN; PostgreSQL plans it as any join). The tickets waiting
    // to be measured are read from the short `sla_dirty`, never by a scan.
    let join = if filter.customer.is_some() || filter.tag.is_some() {
        "JOIN tickets t ON t.id = s.ticket_id"
    } else {
        "CROSS JOIN tickets t"
    };
    format!(
        "SELECT * FROM ( \
           SELECT * FROM (SELECT {TICKET_COLUMNS}, {DUE_KEY} AS due_key FROM ticket_sla s {join} \
             WHERE t.id = s.ticket_id{conditions}{measured_after} ORDER BY {DUE_KEY}, s.ticket_id LIMIT {limit}) measured \
           UNION ALL \
           SELECT * FROM (SELECT {TICKET_COLUMNS}, {NO_DUE} AS due_key FROM sla_dirty d CROSS JOIN tickets t \
             WHERE t.id = d.ticket_id AND NOT EXISTS (SELECT 1 FROM ticket_sla s WHERE s.ticket_id = d.ticket_id)\
             {conditions}{waiting_after} ORDER BY d.ticket_id LIMIT {limit}) waiting \
         ) listed ORDER BY due_key, id LIMIT {limit}"
    )
}
