//! The SLA projector: keeps `ticket_sla` (each ticket's targets, counters and
//! policy) in step with the event log, in the background.
//!
//! Two sources of work:
//!
//! - **Changed tickets.** Every event marks its ticket in `sla_dirty` (a
//!   trigger, in the event's own transaction, so no write path can forget).
//!   [`Store::project_changed`] takes a batch, measures it and unmarks each
//!   ticket only if no newer event marked it meanwhile. On PostgreSQL the
//!   batch is claimed with `SKIP LOCKED` and a lease, so several instances
//!   share the work and a dead instance's claim runs out.
//! - **Policy changes.** [`Store::project_sweep`] (in `sweep.rs`) walks the
//!   open tickets a change can alter, in id order, from their kept text.
//!
//! Reading happens outside the write (on SQLite, off the single writer), so
//! a batch holds the writer only for its upserts. Two guards keep the row
//! right: a write commits only if the policy generation is still the one it
//! was measured under, and a row never replaces one measured from a later
//! event (`event_id`).

use std::collections::HashMap;

use rapport_core::event::Event;
use rapport_core::rules::{TicketSnapshot, TimerCard, event_words};
use rapport_core::sla::kept::encode_happenings;
use rapport_core::sla::projection::{KeptTarget, PolicySet, Projected, project};
use rapport_core::sla::timeline::{Counters, Timeline, timeline};
use rapport_core::sla::{TargetKind, TicketFacts};
use rapport_core::{Channel, Ticket, TicketId, Tier, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Arg, Conn, Dialect, Insert, Statement, args};
use crate::error::StoreError;
use crate::kernel::jobs::{NewJob, insert_jobs};
use crate::rows::{CardRow, EventRow, TICKET_COLUMNS, TicketRow};
use crate::service_levels::generation;
use crate::timers::{RuleSet, snapshot};

/// How long a PostgreSQL instance holds a claimed batch before others may take it.
const CLAIM_MS: i64 = 60_000;

/// One ticket's SLA as kept, with what the rules need.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSla {
    /// The ticket.
    pub ticket: TicketId,
    /// The policy applied, if any.
    pub policy: Option<i64>,
    /// When it was measured.
    pub computed_at: Timestamp,
    /// The targets as measured then.
    pub targets: Vec<KeptTarget>,
    /// The customer's tier.
    pub tier: Tier,
    /// Counters.
    pub counters: Counters,
    /// Since when unowned.
    pub unowned_since: Option<Timestamp>,
    /// Since when pending.
    pub pending_since: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct DirtyRow {
    ticket_id: i64,
    event_id: i64,
}

#[derive(sqlx::FromRow)]
struct FactsRow {
    #[sqlx(flatten)]
    ticket: TicketRow,
    own_tier: Option<String>,
    org_tier: Option<String>,
    escalation_level: i64,
    kept_event: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct LogRow {
    id: i64,
    kind: String,
    #[sqlx(flatten)]
    event: EventRow,
}

#[derive(sqlx::FromRow)]
struct AnsweredRow {
    ticket_id: i64,
    answered_at: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ValueRow {
    pub(crate) value: String,
}

/// The event kinds the clocks and counters read; others are skipped unparsed.
const TIMELINE_KINDS: [&str; 5] = ["created", "status_changed", "message_added", "team_changed", "owner_changed"];

/// One ticket ready to be measured.
pub(crate) struct Loaded {
    ticket: Ticket,
    tier: Tier,
    escalation_level: i64,
    events: Vec<Event>,
    last_event: i64,
    /// The last event already projected; later ones are new to the rules.
    kept_event: i64,
    /// New events: their ids and the event words they stand for.
    fresh: Vec<(i64, Vec<&'static str>)>,
    answered: Vec<Timestamp>,
}

/// Loads tickets with their events and answered calls.
pub(crate) async fn load(conn: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<Loaded>, StoreError> {
    let filter = format!("IN ({})", conn.dialect().placeholders(1, ids.len()));
    let filter_args: Vec<Arg> = ids.iter().map(|id| Arg::from(*id)).collect();
    let facts: Vec<FactsRow> = conn
        .fetch_all(
            AssertSqlSafe(format!(
                "SELECT {TICKET_COLUMNS}, c.tier AS own_tier, o.tier AS org_tier, t.escalation_level, \
                 s.event_id AS kept_event FROM tickets t \
                 JOIN customers c ON c.id = t.customer_id LEFT JOIN organizations o ON o.id = c.organization_id \
                 LEFT JOIN ticket_sla s ON s.ticket_id = t.id WHERE t.id {filter} ORDER BY t.id"
            )),
            filter_args.clone(),
        )
        .await?;
    if facts.is_empty() {
        return Ok(Vec::new());
    }
    let log: Vec<LogRow> = conn
        .fetch_all(
            AssertSqlSafe(format!(
                "SELECT id, kind, ticket_id, version, actor_type, actor_id, at, payload FROM events \
                 WHERE ticket_id {filter} ORDER BY ticket_id, id"
            )),
            filter_args.clone(),
        )
        .await?;
    let mut loaded: Vec<Loaded> = Vec::with_capacity(facts.len());
    let mut index: HashMap<i64, usize> = HashMap::with_capacity(facts.len());
    let mut phone = false;
    for row in facts {
        let ticket = Ticket::try_from(row.ticket)?;
        phone |= ticket.channel == Channel::Phone;
        let tier = rapport_core::customer::effective_tier(row.own_tier.map(Tier), row.org_tier.map(Tier));
        index.insert(ticket.id.0, loaded.len());
        loaded.push(Loaded {
            ticket,
            tier,
            escalation_level: row.escalation_level,
            events: Vec::new(),
            last_event: 0,
            kept_event: row.kept_event.unwrap_or(0),
            fresh: Vec::new(),
            answered: Vec::new(),
        });
    }
    for row in log {
        let Some(entry) = index.get(&row.event.ticket_id).map(|at| &mut loaded[*at]) else { continue };
        entry.last_event = entry.last_event.max(row.id);
        let fresh = row.id > entry.kept_event;
        let wanted = TIMELINE_KINDS.contains(&row.kind.as_str());
        if fresh || wanted {
            let event = Event::try_from(row.event)?;
            if fresh {
                entry.fresh.push((row.id, event_words(&event.change, event.actor)));
            }
            if wanted {
                entry.events.push(event);
            }
        }
    }
    if phone {
        let answered: Vec<AnsweredRow> = conn
            .fetch_all(
                AssertSqlSafe(format!(
                    "SELECT ticket_id, answered_at FROM calls WHERE ticket_id {filter} AND answered_at IS NOT NULL"
                )),
                filter_args,
            )
            .await?;
        for row in answered {
            if let Some(entry) = index.get(&row.ticket_id).map(|at| &mut loaded[*at]) {
                entry.answered.push(Timestamp(row.answered_at));
            }
        }
    }
    Ok(loaded)
}

/// Measures one loaded ticket. `None` when its log has no creation (nothing to measure).
fn measure_loaded(
    set: &PolicySet,
    loaded: &Loaded,
    now: Timestamp,
) -> Result<Option<(Timeline, Projected)>, StoreError> {
    let Some(timeline) = timeline(&loaded.events, &loaded.answered) else { return Ok(None) };
    // The log was read after `now` was: an event committed in between is
    // stamped after it, and a measurement ignores what comes after its
    // `now`. Measured at its last event at the earliest, nothing read is lost.
    let last = loaded.events.iter().map(|event| event.at).chain(loaded.answered.iter().copied()).max();
    let now = last.map_or(now, |last| now.max(last));
    let ticket = &loaded.ticket;
    let facts = TicketFacts {
        channel: ticket.channel,
        tier: loaded.tier.clone(),
        priority: ticket.priority,
        team: ticket.team,
        tags: ticket.tags.clone(),
    };
    let projected = measure_facts(set, ticket.id, &facts, &timeline, now)?;
    Ok(Some((timeline, projected)))
}

pub(crate) fn measure_facts(
    set: &PolicySet,
    ticket: TicketId,
    facts: &TicketFacts,
    timeline: &Timeline,
    now: Timestamp,
) -> Result<Projected, StoreError> {
    project(set, facts, timeline, now)
        .map_err(|error| StoreError::Other(anyhow::anyhow!("measuring ticket {}: {error}", ticket.0)))
}

static TICKET_SLA_UPSERT: Insert = Insert {
    head: "INSERT INTO ticket_sla (ticket_id, policy_id, generation, computed_at, event_id, open, next_due, \
           fr_due, fr_met, nr_due, nr_met, res_due, res_met, card, happenings) VALUES",
    tail: " ON CONFLICT (ticket_id) DO UPDATE SET policy_id = excluded.policy_id, generation = excluded.generation, \
           computed_at = excluded.computed_at, event_id = excluded.event_id, open = excluded.open, \
           next_due = excluded.next_due, fr_due = excluded.fr_due, fr_met = excluded.fr_met, \
           nr_due = excluded.nr_due, nr_met = excluded.nr_met, res_due = excluded.res_due, res_met = excluded.res_met, \
           card = excluded.card, happenings = excluded.happenings \
           WHERE ticket_sla.event_id <= excluded.event_id",
    width: 15,
    order: 1,
};

/// One ticket measured, ready to keep.
pub(crate) struct Measured {
    /// The last event it was measured from.
    pub(crate) event_id: i64,
    pub(crate) snapshot: TicketSnapshot,
    pub(crate) timeline: Timeline,
    pub(crate) projected: Projected,
}

pub(crate) fn row_args(measured: Measured, generation: i64) -> Statement {
    let Measured { event_id, snapshot, timeline, projected } = measured;
    let mut values = args![
        snapshot.id.0,
        projected.policy,
        generation,
        projected.computed_at.0,
        event_id,
        i64::from(snapshot.status.is_unsolved()),
        projected.next_due().map(|at| at.0),
    ];
    for kind in [TargetKind::FirstResponse, TargetKind::NextResponse, TargetKind::Resolution] {
        let target = projected.targets.iter().find(|target| target.kind == kind);
        values.extend(args![
            target.and_then(|target| target.due).map(|at| at.0),
            target.and_then(|target| target.met_at).map(|at| at.0),
        ]);
    }
    let happenings = encode_happenings(&timeline.happenings);
    let card = TimerCard {
        snapshot,
        policy: projected.policy,
        computed_at: projected.computed_at,
        targets: projected.targets,
    };
    values.extend(args![card.encode(), happenings]);
    (&TICKET_SLA_UPSERT, values)
}

/// A batch measured, ready to write: the rows and the jobs of the event rules that fired.
pub(crate) struct Batch {
    pub(crate) generation: i64,
    pub(crate) rows: Vec<Statement>,
    pub(crate) jobs: Vec<NewJob>,
}

/// Measures a batch; with `rules`, also fires the event rules on the new events.
pub(crate) fn measure_batch(
    set: &PolicySet,
    generation: i64,
    loaded: &[Loaded],
    rules: Option<&RuleSet>,
    now: Timestamp,
) -> Result<Batch, StoreError> {
    let mut rows = Vec::with_capacity(loaded.len());
    let mut jobs = Vec::new();
    for entry in loaded {
        if let Some((timeline, projected)) = measure_loaded(set, entry, now)? {
            let snapshot = snapshot(&entry.ticket, entry.escalation_level, entry.tier.clone(), &timeline);
            if let Some(rules) = rules.filter(|rules| !rules.compiled.is_empty() && !entry.fresh.is_empty()) {
                for (event_id, words) in &entry.fresh {
                    for word in words {
                        let firings = rules.compiled.on_event(&snapshot, word, *event_id);
                        jobs.extend(rules.jobs(entry.ticket.id, &firings, now)?);
                    }
                }
            }
            rows.push(row_args(Measured { event_id: entry.last_event, snapshot, timeline, projected }, generation));
        }
    }
    Ok(Batch { generation, rows, jobs })
}

impl Store {
    /// Measures up to `limit` tickets changed since they were last measured;
    /// returns how many were taken.
    pub async fn project_changed(&self, limit: i64, now: Timestamp) -> Result<usize, StoreError> {
        let dirty: Vec<DirtyRow> = match self.dialect() {
            Dialect::Sqlite => {
                self.db
                    .fetch_all("SELECT ticket_id, event_id FROM sla_dirty ORDER BY ticket_id LIMIT $1", args![limit])
                    .await?
            }
            Dialect::Postgres => {
                self.db
                    .transaction(move |conn| {
                        Box::pin(async move {
                            let sql = format!(
                                "UPDATE sla_dirty SET claimed_until = $1 WHERE ticket_id IN (SELECT ticket_id FROM sla_dirty \
                                 WHERE claimed_until < $2 ORDER BY ticket_id LIMIT $3{}) RETURNING ticket_id, event_id",
                                conn.skip_locked()
                            );
                            conn.fetch_all(AssertSqlSafe(sql), args![now.0 + CLAIM_MS, now.0, limit]).await
                        })
                    })
                    .await?
            }
        };
        if dirty.is_empty() {
            return Ok(0);
        }
        let (generation, set) = self.policy_set().await?;
        let rules = self.rule_set().await?;
        let ids: Vec<i64> = dirty.iter().map(|row| row.ticket_id).collect();
        let loaded = self.db.read(move |conn| Box::pin(async move { load(conn, &ids).await })).await?;
        let batch = measure_batch(&set, generation, &loaded, Some(&rules), now)?;
        let marks: Vec<(i64, i64)> = dirty.iter().map(|row| (row.ticket_id, row.event_id)).collect();
        let taken = marks.len();
        self.write(move |conn| {
            Box::pin(async move {
                if !write_batch(conn, batch, now).await? {
                    // The policies changed while the batch was measured: give
                    // the claims back, so the next round (here or on another
                    // instance) measures these tickets again at once rather
                    // than when the lease runs out.
                    for (ticket, event) in marks {
                        conn.execute(
                            "UPDATE sla_dirty SET claimed_until = 0 WHERE ticket_id = $1 AND event_id = $2",
                            args![ticket, event],
                        )
                        .await?;
                    }
                    return Ok(());
                }
                delete_marks(conn, &marks).await
            })
        })
        .await?;
        Ok(taken)
    }

    /// Measures one ticket now, from its event log (for the ticket's own
    /// page, so it never lags the projector). `None` when no policy applies.
    pub async fn measure_ticket(
        &self,
        id: TicketId,
        now: Timestamp,
    ) -> Result<Option<(i64, Vec<KeptTarget>)>, StoreError> {
        let (_, set) = self.policy_set().await?;
        self.measure_ticket_under(id, &set, now).await
    }

    /// Measures one ticket now under `set` rather than the policies in
    /// force (a policy's preview). `None` when no policy of `set` applies.
    pub async fn measure_ticket_under(
        &self,
        id: TicketId,
        set: &PolicySet,
        now: Timestamp,
    ) -> Result<Option<(i64, Vec<KeptTarget>)>, StoreError> {
        let loaded = self.db.read(move |conn| Box::pin(async move { load(conn, &[id.0]).await })).await?;
        let Some(entry) = loaded.first() else { return Err(StoreError::NotFound("ticket")) };
        Ok(measure_loaded(set, entry, now)?
            .and_then(|(_, projected)| projected.policy.map(|id| (id, projected.targets))))
    }

    /// The kept SLA of one ticket, as last projected.
    pub async fn find_ticket_sla(&self, id: TicketId) -> Result<Option<TicketSla>, StoreError> {
        let row: Option<CardRow> =
            self.db.fetch_optional("SELECT ticket_id, card FROM ticket_sla WHERE ticket_id = $1", args![id.0]).await?;
        row.map(TicketSla::try_from).transpose()
    }

    /// The kept SLA of each of `ids` that has one (for a page of tickets).
    pub async fn find_ticket_slas(&self, ids: &[TicketId]) -> Result<Vec<TicketSla>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT ticket_id, card FROM ticket_sla WHERE ticket_id IN ({})",
            self.dialect().placeholders(1, ids.len())
        );
        let values: Vec<Arg> = ids.iter().map(|id| Arg::from(id.0)).collect();
        let rows: Vec<CardRow> = self.db.fetch_all(AssertSqlSafe(sql), values).await?;
        rows.into_iter().map(TicketSla::try_from).collect()
    }

    /// How many tickets wait to be measured (changed, not yet projected).
    pub async fn count_sla_backlog(&self) -> Result<i64, StoreError> {
        let row: crate::db::IdRow = self.db.fetch_one("SELECT COUNT(*) AS id FROM sla_dirty", args![]).await?;
        Ok(row.id)
    }
}

/// Marks the open tickets of the customers `customers_sql` selects (a
/// `SELECT id FROM customers …` with `$1`) for measuring again: their tier,
/// which policies match on, comes from the customer and its organization,
/// whose changes are not ticket events. The mark's event id is negative, so
/// a projection already under way (which read the old tier) does not unmark it.
pub(crate) async fn mark_customers_tickets(
    conn: &mut Conn<'_>,
    customers_sql: &'static str,
    id: i64,
) -> Result<(), StoreError> {
    conn.execute(
        AssertSqlSafe(format!(
            "INSERT INTO sla_dirty (ticket_id, event_id, claimed_until) \
             SELECT s.ticket_id, -1 - s.event_id, 0 FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id \
             WHERE s.open = 1 AND t.customer_id IN ({customers_sql}) \
             ON CONFLICT (ticket_id) DO UPDATE SET event_id = excluded.event_id, claimed_until = 0"
        )),
        args![id],
    )
    .await?;
    Ok(())
}

/// How many measured marks one statement clears.
const MARKS_PER_DELETE: usize = 100;

/// Clears the marks of measured tickets, a chunk per statement (one
/// statement per ticket held the writer, which ticket creation shares, for
/// a round trip to the database thread each), and only where no newer
/// event marked the ticket again meanwhile.
async fn delete_marks(conn: &mut Conn<'_>, marks: &[(i64, i64)]) -> Result<(), StoreError> {
    for chunk in marks.chunks(MARKS_PER_DELETE) {
        let condition: Vec<String> = (0..chunk.len())
            .map(|index| format!("(ticket_id = ${} AND event_id = ${})", 2 * index + 1, 2 * index + 2))
            .collect();
        let sql = format!("DELETE FROM sla_dirty WHERE {}", condition.join(" OR "));
        let values = chunk.iter().flat_map(|(ticket, event)| args![*ticket, *event]).collect();
        conn.execute(AssertSqlSafe(sql), values).await?;
    }
    Ok(())
}

/// Writes a measured batch if the policy generation is still the one it was
/// measured under; returns whether it did.
pub(crate) async fn write_batch(conn: &mut Conn<'_>, batch: Batch, now: Timestamp) -> Result<bool, StoreError> {
    if generation(conn).await? != batch.generation {
        return Ok(false);
    }
    conn.execute_all(batch.rows).await?;
    insert_jobs(conn, &batch.jobs, now).await?;
    Ok(true)
}

impl TryFrom<CardRow> for TicketSla {
    type Error = StoreError;
    fn try_from(row: CardRow) -> Result<TicketSla, StoreError> {
        let card = row.decode()?;
        Ok(TicketSla {
            ticket: card.snapshot.id,
            policy: card.policy,
            computed_at: card.computed_at,
            targets: card.targets,
            tier: card.snapshot.tier,
            counters: card.snapshot.counters,
            unowned_since: card.snapshot.unowned_since,
            pending_since: card.snapshot.pending_since,
        })
    }
}
