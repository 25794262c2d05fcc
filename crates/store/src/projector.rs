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
//! - **Policy changes.** [`Store::project_sweep`] walks every open ticket in
//!   id order under the current policy generation, a batch at a time, with
//!   its place kept in `settings` (so a restart carries on where it was).
//!
//! Reading happens outside the write (on SQLite, off the single writer), so
//! a batch holds the writer only for its upserts. Two guards keep the row
//! right: a write commits only if the policy generation is still the one it
//! was measured under, and a row never replaces one measured from a later
//! event (`event_id`).

use std::collections::HashMap;

use rapport_core::event::Event;
use rapport_core::rules::event_words;
use rapport_core::sla::TicketFacts;
use rapport_core::sla::projection::{KeptTarget, PolicySet, Projected, project};
use rapport_core::sla::timeline::{Counters, Timeline, timeline};
use rapport_core::sla::{TargetKind, TargetStatus};
use rapport_core::{Channel, Ticket, TicketId, Tier, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Arg, Conn, Dialect, Insert, Statement, args};
use crate::error::StoreError;
use crate::jobs::{NewJob, insert_jobs};
use crate::rows::{EventRow, TICKET_COLUMNS, TicketRow};
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

/// Where the sweep after a policy change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SweepProgress {
    /// The policy generation being applied.
    pub generation: i64,
    /// The last ticket id done.
    pub after: i64,
    /// The highest ticket id when the sweep began: later tickets were
    /// measured under this generation when they were created.
    #[serde(default)]
    pub until: i64,
    /// Whether every open ticket has been measured under `generation`.
    #[serde(default)]
    pub done: bool,
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
struct ValueRow {
    value: String,
}

/// The event kinds the clocks and counters read; others are skipped unparsed.
const TIMELINE_KINDS: [&str; 5] = ["created", "status_changed", "message_added", "team_changed", "owner_changed"];

/// One ticket ready to be measured.
struct Loaded {
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

/// A placeholder list `$1, $2, ...` of `count` starting at `first`.
/// SQLite gets positional `?`: with `$N`, sqlx looks up every parameter's
/// name, which costs quadratic time in a list of hundreds.
fn placeholders(dialect: Dialect, first: usize, count: usize) -> String {
    match dialect {
        Dialect::Sqlite => vec!["?"; count].join(", "),
        Dialect::Postgres => (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", "),
    }
}

/// Loads tickets (by id list or by id range) with their events and answered calls.
async fn load(conn: &mut Conn<'_>, ids: Option<&[i64]>, range: (i64, i64)) -> Result<Vec<Loaded>, StoreError> {
    let (filter, filter_args): (String, Vec<Arg>) = match ids {
        Some(ids) => (
            format!("IN ({})", placeholders(conn.dialect(), 1, ids.len())),
            ids.iter().map(|id| Arg::from(*id)).collect(),
        ),
        None => ("> $1 AND {col} <= $2".to_owned(), args![range.0, range.1]),
    };
    let ticket_filter = format!("t.id {}", filter.replace("{col}", "t.id"));
    let active = if ids.is_none() { " AND t.active = 1" } else { "" };
    let facts: Vec<FactsRow> = conn
        .fetch_all(
            AssertSqlSafe(format!(
                "SELECT {TICKET_COLUMNS}, c.tier AS own_tier, o.tier AS org_tier, t.escalation_level, \
                 s.event_id AS kept_event FROM tickets t \
                 JOIN customers c ON c.id = t.customer_id LEFT JOIN organizations o ON o.id = c.organization_id \
                 LEFT JOIN ticket_sla s ON s.ticket_id = t.id WHERE {ticket_filter}{active} ORDER BY t.id"
            )),
            filter_args.clone(),
        )
        .await?;
    if facts.is_empty() {
        return Ok(Vec::new());
    }
    let event_filter = format!("ticket_id {}", filter.replace("{col}", "ticket_id"));
    let log: Vec<LogRow> = conn
        .fetch_all(
            AssertSqlSafe(format!(
                "SELECT id, kind, ticket_id, version, actor_type, actor_id, at, payload FROM events \
                 WHERE {event_filter} ORDER BY ticket_id, id"
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
        let call_filter = format!("ticket_id {}", filter.replace("{col}", "ticket_id"));
        let answered: Vec<AnsweredRow> = conn
            .fetch_all(
                AssertSqlSafe(format!(
                    "SELECT ticket_id, answered_at FROM calls WHERE {call_filter} AND answered_at IS NOT NULL"
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
    let ticket = &loaded.ticket;
    let facts = TicketFacts {
        channel: ticket.channel,
        tier: loaded.tier.clone(),
        priority: ticket.priority,
        team: ticket.team,
        tags: ticket.tags.clone(),
    };
    let projected = project(set, &facts, &timeline, now)
        .map_err(|error| StoreError::Other(anyhow::anyhow!("measuring ticket {}: {error}", ticket.id.0)))?;
    Ok(Some((timeline, projected)))
}

static TICKET_SLA_UPSERT: Insert = Insert {
    head: "INSERT INTO ticket_sla (ticket_id, policy_id, generation, computed_at, event_id, open, tier, next_due, \
           reopens, transfers, messages, customer_messages, unowned_since, pending_since, \
           fr_start, fr_seconds, fr_elapsed, fr_due, fr_met, fr_state, \
           nr_start, nr_seconds, nr_elapsed, nr_due, nr_met, nr_state, \
           res_start, res_seconds, res_elapsed, res_due, res_met, res_state) VALUES",
    tail: " ON CONFLICT (ticket_id) DO UPDATE SET policy_id = excluded.policy_id, generation = excluded.generation, \
           computed_at = excluded.computed_at, event_id = excluded.event_id, open = excluded.open, tier = excluded.tier, \
           next_due = excluded.next_due, reopens = excluded.reopens, transfers = excluded.transfers, \
           messages = excluded.messages, customer_messages = excluded.customer_messages, \
           unowned_since = excluded.unowned_since, pending_since = excluded.pending_since, \
           fr_start = excluded.fr_start, fr_seconds = excluded.fr_seconds, fr_elapsed = excluded.fr_elapsed, \
           fr_due = excluded.fr_due, fr_met = excluded.fr_met, fr_state = excluded.fr_state, \
           nr_start = excluded.nr_start, nr_seconds = excluded.nr_seconds, nr_elapsed = excluded.nr_elapsed, \
           nr_due = excluded.nr_due, nr_met = excluded.nr_met, nr_state = excluded.nr_state, \
           res_start = excluded.res_start, res_seconds = excluded.res_seconds, res_elapsed = excluded.res_elapsed, \
           res_due = excluded.res_due, res_met = excluded.res_met, res_state = excluded.res_state \
           WHERE ticket_sla.event_id <= excluded.event_id",
    width: 32,
    order: 1,
};

fn row_args(loaded: &Loaded, timeline: &Timeline, projected: &Projected, generation: i64) -> Statement {
    let ticket = &loaded.ticket;
    let mut values = args![
        ticket.id.0,
        projected.policy,
        generation,
        projected.computed_at.0,
        loaded.last_event,
        i64::from(ticket.status.is_unsolved()),
        loaded.tier.0.clone(),
        projected.next_due().map(|at| at.0),
        timeline.counters.reopens,
        timeline.counters.transfers,
        timeline.counters.messages,
        timeline.counters.customer_messages,
        timeline.unowned_since.map(|at| at.0),
        timeline.pending_since.map(|at| at.0),
    ];
    for kind in [TargetKind::FirstResponse, TargetKind::NextResponse, TargetKind::Resolution] {
        match projected.targets.iter().find(|target| target.kind == kind) {
            Some(target) => values.extend(args![
                target.start.0,
                if target.business_hours { target.seconds } else { -target.seconds },
                target.elapsed_seconds,
                target.due.map(|at| at.0),
                target.met_at.map(|at| at.0),
                target.state.as_str(),
            ]),
            None => {
                values.extend(args![None::<i64>, None::<i64>, None::<i64>, None::<i64>, None::<i64>, None::<String>])
            }
        }
    }
    (&TICKET_SLA_UPSERT, values)
}

/// A batch measured, ready to write: the rows and the jobs of the event rules that fired.
struct Batch {
    generation: i64,
    rows: Vec<Statement>,
    jobs: Vec<NewJob>,
}

/// Measures a batch; with `rules`, also fires the event rules on the new events.
fn measure_batch(
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
            rows.push(row_args(entry, &timeline, &projected, generation));
            if let Some(rules) = rules.filter(|rules| !rules.compiled.is_empty() && !entry.fresh.is_empty()) {
                let snapshot = snapshot(&entry.ticket, entry.escalation_level, entry.tier.clone(), &timeline);
                for (event_id, words) in &entry.fresh {
                    for word in words {
                        let firings = rules.compiled.on_event(&snapshot, word, *event_id);
                        jobs.extend(rules.jobs(entry.ticket.id, &firings, now)?);
                    }
                }
            }
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
                    .read(move |conn| {
                        Box::pin(async move {
                            conn.fetch_all(
                                "SELECT ticket_id, event_id FROM sla_dirty ORDER BY ticket_id LIMIT $1",
                                args![limit],
                            )
                            .await
                        })
                    })
                    .await?
            }
            Dialect::Postgres => {
                self.db
                    .transaction(move |conn| {
                        Box::pin(async move {
                            conn.fetch_all(
                                "UPDATE sla_dirty SET claimed_until = $1 WHERE ticket_id IN (SELECT ticket_id FROM sla_dirty \
                                 WHERE claimed_until < $2 ORDER BY ticket_id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                                 RETURNING ticket_id, event_id",
                                args![now.0 + CLAIM_MS, now.0, limit],
                            )
                            .await
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
        let loaded = self.db.read(move |conn| Box::pin(async move { load(conn, Some(&ids), (0, 0)).await })).await?;
        let batch = measure_batch(&set, generation, &loaded, Some(&rules), now)?;
        let marks: Vec<(i64, i64)> = dirty.iter().map(|row| (row.ticket_id, row.event_id)).collect();
        let taken = marks.len();
        self.write(move |conn| {
            Box::pin(async move {
                if !write_batch(conn, batch, now).await? {
                    return Ok(());
                }
                for (ticket, event) in marks {
                    conn.execute("DELETE FROM sla_dirty WHERE ticket_id = $1 AND event_id = $2", args![ticket, event])
                        .await?;
                }
                Ok(())
            })
        })
        .await?;
        Ok(taken)
    }

    /// Measures the next `limit` open tickets not yet measured under the
    /// current policy generation. Returns where the sweep stands.
    pub async fn project_sweep(&self, limit: i64, now: Timestamp) -> Result<SweepProgress, StoreError> {
        let (generation, set) = self.policy_set().await?;
        let (before, raw) = self.sweep_progress().await?;
        let start = if before.generation == generation {
            before
        } else {
            let last: crate::db::IdRow = self
                .db
                .read(|conn| {
                    Box::pin(
                        async move { conn.fetch_one("SELECT COALESCE(MAX(id), 0) AS id FROM tickets", args![]).await },
                    )
                })
                .await?;
            SweepProgress { generation, after: 0, until: last.id, done: false }
        };
        if start.done {
            return Ok(start);
        }
        let (after, until) = (start.after, start.until);
        let ids: Vec<crate::db::IdRow> = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    conn.fetch_all(
                        "SELECT id FROM tickets WHERE id > $1 AND id <= $2 AND active = 1 ORDER BY id LIMIT $3",
                        args![after, until, limit],
                    )
                    .await
                })
            })
            .await?;
        let progress = match ids.last() {
            None => SweepProgress { generation, after, until, done: true },
            Some(last) => SweepProgress { generation, after: last.id, until, done: false },
        };
        let batch = match ids.last() {
            None => Batch { generation, rows: Vec::new(), jobs: Vec::new() },
            Some(last) => {
                let range = (after, last.id);
                let loaded = self.db.read(move |conn| Box::pin(async move { load(conn, None, range).await })).await?;
                measure_batch(&set, generation, &loaded, None, now)?
            }
        };
        let text = serde_json::to_string(&progress)?;
        let moved = self
            .write(move |conn| {
                Box::pin(async move {
                    if !write_batch(conn, batch, now).await? {
                        return Ok(false);
                    }
                    let changed = conn
                        .execute(
                            "UPDATE settings SET value = $1 WHERE name = 'sla_sweep' AND value = $2",
                            args![text, raw],
                        )
                        .await?;
                    Ok(changed == 1)
                })
            })
            .await?;
        Ok(if moved { progress } else { before })
    }

    /// Where the sweep stands (and the setting's raw text, for compare-and-set).
    async fn sweep_progress(&self) -> Result<(SweepProgress, String), StoreError> {
        self.db
            .read(|conn| {
                Box::pin(async move {
                    let row: ValueRow =
                        conn.fetch_one("SELECT value FROM settings WHERE name = 'sla_sweep'", args![]).await?;
                    let progress: SweepProgress = serde_json::from_str(&row.value)?;
                    Ok((progress, row.value))
                })
            })
            .await
    }

    /// Measures one ticket now, from its event log (for the ticket's own
    /// page, so it never lags the projector). `None` when no policy applies.
    pub async fn measure_ticket(
        &self,
        id: TicketId,
        now: Timestamp,
    ) -> Result<Option<(i64, Vec<KeptTarget>)>, StoreError> {
        let (_, set) = self.policy_set().await?;
        let loaded = self.db.read(move |conn| Box::pin(async move { load(conn, Some(&[id.0]), (0, 0)).await })).await?;
        let Some(entry) = loaded.first() else { return Err(StoreError::NotFound("ticket")) };
        Ok(measure_loaded(&set, entry, now)?
            .and_then(|(_, projected)| projected.policy.map(|id| (id, projected.targets))))
    }

    /// The kept SLA of one ticket, as last projected.
    pub async fn find_ticket_sla(&self, id: TicketId) -> Result<Option<TicketSla>, StoreError> {
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    let row: Option<SlaRow> = conn
                        .fetch_optional(
                            AssertSqlSafe(format!("SELECT {SLA_COLUMNS} FROM ticket_sla WHERE ticket_id = $1")),
                            args![id.0],
                        )
                        .await?;
                    row.map(TicketSla::try_from).transpose()
                })
            })
            .await
    }

    /// Where the background measurement stands: the policy generation, the
    /// sweep after the last policy change, and how many changed tickets wait.
    pub async fn sla_status(&self) -> Result<(i64, SweepProgress, i64), StoreError> {
        let (generation, _) = self.policy_set().await?;
        let (sweep, _) = self.sweep_progress().await?;
        let backlog = self.count_sla_backlog().await?;
        Ok((generation, sweep, backlog))
    }

    /// How many tickets wait to be measured (changed, not yet projected).
    pub async fn count_sla_backlog(&self) -> Result<i64, StoreError> {
        self.db
            .read(|conn| {
                Box::pin(async move {
                    let row: crate::db::IdRow = conn.fetch_one("SELECT COUNT(*) AS id FROM sla_dirty", args![]).await?;
                    Ok(row.id)
                })
            })
            .await
    }
}

/// Writes a measured batch if the policy generation is still the one it was
/// measured under; returns whether it did.
async fn write_batch(conn: &mut Conn<'_>, batch: Batch, now: Timestamp) -> Result<bool, StoreError> {
    if generation(conn).await? != batch.generation {
        return Ok(false);
    }
    conn.execute_all(batch.rows).await?;
    insert_jobs(conn, &batch.jobs, now).await?;
    Ok(true)
}

/// The columns of `ticket_sla`, in [`SlaRow`]'s order.
pub(crate) const SLA_COLUMNS: &str = "ticket_id, policy_id, computed_at, tier, reopens, transfers, messages, \
    customer_messages, unowned_since, pending_since, fr_start, fr_seconds, fr_elapsed, fr_due, fr_met, fr_state, \
    nr_start, nr_seconds, nr_elapsed, nr_due, nr_met, nr_state, res_start, res_seconds, res_elapsed, res_due, res_met, res_state";

#[derive(sqlx::FromRow)]
pub(crate) struct SlaRow {
    ticket_id: i64,
    policy_id: Option<i64>,
    computed_at: i64,
    tier: String,
    reopens: i64,
    transfers: i64,
    messages: i64,
    customer_messages: i64,
    unowned_since: Option<i64>,
    pending_since: Option<i64>,
    fr_start: Option<i64>,
    fr_seconds: Option<i64>,
    fr_elapsed: Option<i64>,
    fr_due: Option<i64>,
    fr_met: Option<i64>,
    fr_state: Option<String>,
    nr_start: Option<i64>,
    nr_seconds: Option<i64>,
    nr_elapsed: Option<i64>,
    nr_due: Option<i64>,
    nr_met: Option<i64>,
    nr_state: Option<String>,
    res_start: Option<i64>,
    res_seconds: Option<i64>,
    res_elapsed: Option<i64>,
    res_due: Option<i64>,
    res_met: Option<i64>,
    res_state: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn kept(
    kind: TargetKind,
    start: Option<i64>,
    seconds: Option<i64>,
    elapsed: Option<i64>,
    due: Option<i64>,
    met: Option<i64>,
    state: Option<String>,
) -> Result<Option<KeptTarget>, StoreError> {
    let (Some(start), Some(seconds), Some(elapsed), Some(state)) = (start, seconds, elapsed, state) else {
        return Ok(None);
    };
    let state = TargetStatus::parse(&state)
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unexpected target state {state:?} in ticket_sla")))?;
    Ok(Some(KeptTarget {
        kind,
        start: Timestamp(start),
        seconds: seconds.abs(),
        business_hours: seconds > 0,
        elapsed_seconds: elapsed,
        due: due.map(Timestamp),
        met_at: met.map(Timestamp),
        state,
    }))
}

impl TryFrom<SlaRow> for TicketSla {
    type Error = StoreError;
    fn try_from(row: SlaRow) -> Result<TicketSla, StoreError> {
        let targets = [
            kept(
                TargetKind::FirstResponse,
                row.fr_start,
                row.fr_seconds,
                row.fr_elapsed,
                row.fr_due,
                row.fr_met,
                row.fr_state,
            )?,
            kept(
                TargetKind::NextResponse,
                row.nr_start,
                row.nr_seconds,
                row.nr_elapsed,
                row.nr_due,
                row.nr_met,
                row.nr_state,
            )?,
            kept(
                TargetKind::Resolution,
                row.res_start,
                row.res_seconds,
                row.res_elapsed,
                row.res_due,
                row.res_met,
                row.res_state,
            )?,
        ];
        Ok(TicketSla {
            ticket: TicketId(row.ticket_id),
            policy: row.policy_id,
            computed_at: Timestamp(row.computed_at),
            targets: targets.into_iter().flatten().collect(),
            tier: Tier(row.tier),
            counters: Counters {
                reopens: row.reopens,
                transfers: row.transfers,
                messages: row.messages,
                customer_messages: row.customer_messages,
            },
            unowned_since: row.unowned_since.map(Timestamp),
            pending_since: row.pending_since.map(Timestamp),
        })
    }
}
