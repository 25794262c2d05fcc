//! Problems (major incidents): tickets linked to one problem ticket, updated
//! and solved together.
//!
//! The link is `tickets.problem_id`, and every change of it is an event
//! (`problem_linked`) on the linked ticket. An update goes to each affected
//! customer once, on their most recent linked ticket, as a customer-update
//! job (`jobs`): its dedupe key `problem:{id}:update:{n}:{customer}` names
//! the update's number `n`, so sending update `n` again queues nothing. The
//! problem's update count is kept in `settings` under `problem_updates:{id}`.
//! Every write locks the problem ticket first, so concurrent updates of one
//! problem take distinct numbers.

use rapport_core::event::{self, Actor};
use rapport_core::problem::{self, LinkError, LinkFacts};
use rapport_core::{Author, MessageKind, Ticket, TicketId, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Conn, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::jobs::{JobKind, NewJob, insert_jobs};
use crate::kernel::messages::{MessageOrigin, NewMessage};
use crate::kernel::tickets::{add_message_to, load_ticket, save_decision};
use crate::rows::{TICKET_COLUMNS, TicketRow};

/// The longest update text accepted, in characters.
pub const MAX_UPDATE_CHARS: usize = 10_000;

/// What sending a problem's update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemUpdate {
    /// The update's number (1 for the problem's first update).
    pub number: i64,
    /// The customers it addresses: one per customer with a live linked ticket.
    pub customers: usize,
    /// The customer-update jobs newly queued: `customers` the first time,
    /// none when update `number` was sent before.
    pub queued: usize,
}

/// A problem in the list: its ticket and the tickets linked to it.
#[derive(Debug, Clone)]
pub struct ListedProblem {
    /// The problem ticket.
    pub ticket: Ticket,
    /// Tickets linked to it.
    pub linked: i64,
    /// Of those, the ones not solved yet.
    pub unsolved: i64,
}

/// What solving a problem did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SolvedProblem {
    /// Tickets that became solved, the problem itself included.
    pub solved: usize,
    /// The final update, when one was sent.
    pub update: Option<ProblemUpdate>,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    problem_id: Option<i64>,
    linked: i64,
}

#[derive(sqlx::FromRow)]
struct ValueRow {
    value: String,
}

fn invalid(field: impl Into<String>, problem: impl std::fmt::Display) -> StoreError {
    Rejection::Invalid { field: field.into(), problem: problem.to_string() }.into()
}

impl Store {
    /// Links `tickets` to the problem ticket `problem` as `author`, one
    /// `problem_linked` event per ticket whose link changes (a ticket linked
    /// to another problem moves). All or nothing: refuses a problem that is
    /// closed, merged or linked to another problem (`problem`), and a ticket
    /// that does not exist, is the problem, is closed or merged, or has
    /// tickets linked to it (`tickets[i]`). Returns the problem's linked tickets.
    pub async fn link_to_problem(
        &self,
        problem: TicketId,
        tickets: Vec<TicketId>,
        author: Author,
        now: Timestamp,
    ) -> Result<Vec<Ticket>, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let problem_ticket = load_problem(conn, problem).await?;
                for (index, id) in tickets.into_iter().enumerate() {
                    let field = format!("tickets[{index}]");
                    let ticket = match load_ticket(conn, id, true).await {
                        Ok(ticket) => ticket,
                        Err(StoreError::NotFound(_)) => {
                            return Err(invalid(field, format!("ticket {id} does not exist")));
                        }
                        Err(error) => return Err(error),
                    };
                    let link = link_row(conn, id).await?;
                    let current = link.problem_id.map(TicketId);
                    let facts = LinkFacts { ticket: &ticket, problem: current, has_linked: link.linked > 0 };
                    problem::check_link(&problem_ticket, facts).map_err(|error| invalid(field, error))?;
                    let decision = event::link_problem(&ticket, current, Some(problem), Actor::from(author), now);
                    save_decision(conn, &ticket, &decision).await?;
                    conn.execute("UPDATE tickets SET problem_id = $1 WHERE id = $2", args![problem.0, id.0]).await?;
                }
                linked_tickets(conn, problem).await
            })
        })
        .await
    }

    /// Unlinks `ticket` from `problem` as `author` (a `problem_linked` event
    /// with no problem). `NotFound` when the ticket is not linked to it.
    pub async fn unlink_from_problem(
        &self,
        problem: TicketId,
        ticket: TicketId,
        author: Author,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                load_ticket(conn, problem, true).await.map_err(|error| not_found(error, "problem"))?;
                let linked = load_ticket(conn, ticket, true).await.map_err(|error| not_found(error, "problem link"))?;
                let current = link_row(conn, ticket).await?.problem_id.map(TicketId);
                if current != Some(problem) {
                    return Err(StoreError::NotFound("problem link"));
                }
                let decision = event::link_problem(&linked, current, None, Actor::from(author), now);
                save_decision(conn, &linked, &decision).await?;
                conn.execute("UPDATE tickets SET problem_id = NULL WHERE id = $1", args![ticket.0]).await?;
                Ok(())
            })
        })
        .await
    }

    /// Every problem: each ticket that has tickets linked to it, newest first,
    /// with how many are linked and how many of those are still unsolved.
    pub async fn list_problems(&self, limit: i64) -> Result<Vec<ListedProblem>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct CountRow {
            problem_id: i64,
            linked: i64,
            unsolved: i64,
        }
        let counts: Vec<CountRow> = self
            .db
            .fetch_all(
                "SELECT problem_id, COUNT(*) AS linked, \
                 CAST(SUM(CASE WHEN status IN ('new', 'open', 'pending', 'on_hold') THEN 1 ELSE 0 END) AS BIGINT) \
                 AS unsolved FROM tickets WHERE problem_id IS NOT NULL AND merged_into IS NULL \
                 GROUP BY problem_id ORDER BY problem_id DESC LIMIT $1",
                args![limit],
            )
            .await?;
        let mut problems = Vec::with_capacity(counts.len());
        for count in counts {
            let ticket = self.get_ticket(TicketId(count.problem_id), None).await?;
            problems.push(ListedProblem { ticket, linked: count.linked, unsolved: count.unsolved });
        }
        Ok(problems)
    }

    /// The tickets linked to `problem`, by id; `NotFound` when it does not exist.
    pub async fn list_problem_tickets(&self, problem: TicketId) -> Result<Vec<Ticket>, StoreError> {
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    load_ticket(conn, problem, false).await.map_err(|error| not_found(error, "problem"))?;
                    linked_tickets(conn, problem).await
                })
            })
            .await
    }

    /// Sends an update about `problem` to every affected customer, once per
    /// customer on their most recent live linked ticket, and notes it on the
    /// problem ticket. `number` names the update (the next one when `None`);
    /// sending a number again queues nothing, so a retried request never
    /// reaches a customer twice. Refuses a blank or overlong text (`body`)
    /// and a number past the next one (`update`).
    pub async fn update_problem(
        &self,
        problem: TicketId,
        text: String,
        number: Option<i64>,
        author: Author,
        now: Timestamp,
    ) -> Result<ProblemUpdate, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let problem_ticket = load_problem(conn, problem).await?;
                let (update, _) = send_update(conn, &problem_ticket, &text, number, author, now).await?;
                Ok(update)
            })
        })
        .await
    }

    /// Solves every unsolved ticket linked to `problem` and the problem
    /// itself (as Rapport), after sending `text`, when given, as a last
    /// update (like [`Store::update_problem`]).
    pub async fn solve_problem(
        &self,
        problem: TicketId,
        text: Option<String>,
        author: Author,
        now: Timestamp,
    ) -> Result<SolvedProblem, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let mut problem_ticket = load_problem(conn, problem).await?;
                let mut update = None;
                if let Some(text) = text {
                    let (sent, after) = send_update(conn, &problem_ticket, &text, None, author, now).await?;
                    update = Some(sent);
                    problem_ticket = after;
                }
                let mut solved = 0;
                for linked in linked_tickets(conn, problem).await? {
                    let linked = load_ticket(conn, linked.id, true).await?;
                    if !linked.status.is_unsolved() || linked.merged_into.is_some() {
                        continue;
                    }
                    let decision = event::solve(&linked, Actor::System, now).map_err(Rejection::from)?;
                    save_decision(conn, &linked, &decision).await?;
                    solved += usize::from(!decision.events.is_empty());
                }
                if problem_ticket.status.is_unsolved() {
                    let decision = event::solve(&problem_ticket, Actor::System, now).map_err(Rejection::from)?;
                    save_decision(conn, &problem_ticket, &decision).await?;
                    solved += usize::from(!decision.events.is_empty());
                }
                Ok(SolvedProblem { solved, update })
            })
        })
        .await
    }
}

/// A `NotFound` for the ticket as `what`; other errors pass.
fn not_found(error: StoreError, what: &'static str) -> StoreError {
    match error {
        StoreError::NotFound(_) => StoreError::NotFound(what),
        other => other,
    }
}

/// The problem ticket, locked: `NotFound` when it does not exist, `Invalid`
/// (`problem`) when it is closed, merged or itself linked to a problem.
async fn load_problem(conn: &mut Conn<'_>, problem: TicketId) -> Result<Ticket, StoreError> {
    let ticket = load_ticket(conn, problem, true).await.map_err(|error| not_found(error, "problem"))?;
    let link = link_row(conn, problem).await?;
    let facts = LinkFacts { ticket: &ticket, problem: link.problem_id.map(TicketId), has_linked: link.linked > 0 };
    problem::check_problem(facts).map_err(|error: LinkError| invalid("problem", error))?;
    Ok(ticket)
}

/// The problem the ticket is linked to, and how many tickets are linked to it.
async fn link_row(conn: &mut Conn<'_>, ticket: TicketId) -> Result<LinkRow, StoreError> {
    conn.fetch_one(
        "SELECT problem_id, (SELECT COUNT(*) FROM tickets l WHERE l.problem_id = t.id) AS linked \
         FROM tickets t WHERE t.id = $1",
        args![ticket.0],
    )
    .await
}

async fn linked_tickets(conn: &mut Conn<'_>, problem: TicketId) -> Result<Vec<Ticket>, StoreError> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.problem_id = $1 ORDER BY t.id");
    let rows: Vec<TicketRow> = conn.fetch_all(AssertSqlSafe(sql), args![problem.0]).await?;
    rows.into_iter().map(Ticket::try_from).collect()
}

/// Queues update `number` (the next when `None`) to each affected customer
/// and, the first time, notes it on the problem. Returns what it did and the
/// problem ticket after the note.
async fn send_update(
    conn: &mut Conn<'_>,
    problem: &Ticket,
    text: &str,
    number: Option<i64>,
    author: Author,
    now: Timestamp,
) -> Result<(ProblemUpdate, Ticket), StoreError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_UPDATE_CHARS {
        return Err(invalid("body", format!("the update must be 1-{MAX_UPDATE_CHARS} characters")));
    }
    let setting = format!("problem_updates:{}", problem.id);
    let row: Option<ValueRow> =
        conn.fetch_optional("SELECT value FROM settings WHERE name = $1", args![setting.clone()]).await?;
    let sent: i64 = match row {
        Some(row) => row.value.parse().map_err(|_| {
            StoreError::Other(anyhow::anyhow!("settings.{setting} holds {:?}, not a number", row.value))
        })?,
        None => 0,
    };
    let number = number.unwrap_or(sent + 1);
    if number < 1 || number > sent + 1 {
        return Err(invalid("update", format!("the next update of problem {} is number {}", problem.id, sent + 1)));
    }
    if number > sent {
        conn.execute(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = $2",
            args![setting, number.to_string()],
        )
        .await?;
    }
    let linked = linked_tickets(conn, problem.id).await?;
    let recipients = problem::recipients(&linked);
    let payload = serde_json::to_string(&serde_json::json!({ "text": text }))?;
    let jobs: Vec<NewJob> = recipients
        .iter()
        .map(|ticket| NewJob {
            kind: JobKind::CustomerUpdate,
            dedupe_key: Some(format!("problem:{}:update:{number}:{}", problem.id, ticket.customer)),
            ticket: Some(ticket.id),
            payload: payload.clone(),
            run_at: now,
        })
        .collect();
    let queued = insert_jobs(conn, &jobs, now).await?;
    let update = ProblemUpdate { number, customers: recipients.len(), queued };
    if number <= sent {
        return Ok((update, problem.clone()));
    }
    let note = NewMessage {
        kind: MessageKind::Note,
        author,
        text: format!("Update {number} sent to {} affected customers:\n\n{text}", recipients.len()),
        html: None,
        attachments: Vec::new(),
        origin: MessageOrigin::default(),
        now,
    };
    let (problem, _) = add_message_to(conn, problem, note).await?;
    Ok((update, problem))
}
