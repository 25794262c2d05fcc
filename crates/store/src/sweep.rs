//! The sweep after a change of policies or calendars: every open ticket
//! whose targets the change can alter is measured again, in ticket id
//! order, a slice at a time, from its kept text (no event log), with its
//! place kept in `settings` (so a restart carries on where it was).
//!
//! Which tickets: [`rapport_core::sla::scope`] compares how the old and the
//! new policies measure the tickets kept on each policy, so changing the
//! email policy's targets re-measures the email tickets only. A ticket that
//! still measures as kept is not written.

use rapport_core::rules::TimerCard;
use rapport_core::sla::TicketFacts;
use rapport_core::sla::kept::decode_happenings;
use rapport_core::sla::projection::{PolicySet, Projected};
use rapport_core::sla::scope::{Scope, SetPrint};
use rapport_core::sla::timeline::Timeline;
use rapport_core::{TicketId, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::args;
use crate::error::StoreError;
use crate::packed::{self, PackedRow};
use crate::projector::{Batch, Measured, ValueRow, load, measure_batch, measure_facts, row_args, write_batch};

/// Open tickets a sweep writes at a time. A slice's write holds the
/// writer that ticket creation shares (on SQLite), so its size sets how
/// long a create may wait behind it; each slice also costs a round trip
/// through the writer, about 4 ms under load. Measured on a million open
/// tickets after a calendar change (BENCHMARKS.md): 250 took 27.8 s, 500
/// took 19.7 s at creation p99 1.13 × idle, 1,000 took 17.5 s at 1.96 ×,
/// 2,000 took 13.7 s at 2.18 ×.
const SWEEP_SLICE: i64 = 500;

/// Where the sweep after a policy change stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// How the policies of `generation` measure (absent in progress kept
    /// by older versions: then the next sweep takes every open ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub print: Option<SetPrint>,
    /// The kept tickets this sweep measures again; `None`: every open one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// The generation the kept tickets were measured under when the sweep
    /// began: a row written under a later one (but not `generation`) was
    /// measured under policies in between, and is measured again too.
    #[serde(default)]
    pub since: i64,
}

impl SweepProgress {
    /// The sweep that brings every open ticket to `generation`, whose
    /// policies print as `print`, from where `before` left them.
    fn next(before: &SweepProgress, generation: i64, print: SetPrint, until: i64) -> SweepProgress {
        // Generation 1 is a database's first: no policy has ever existed,
        // so every row kept under it was measured under none.
        let first = before.generation == 1;
        let old = before.print.clone().or_else(|| first.then(SetPrint::of_no_policies));
        // Tickets the last sweep had not reached are still in its scope;
        // with no print of its policies, every ticket is in.
        let scope = old.and_then(|old| {
            let changed = old.changed(&print);
            if before.done || first { Some(changed) } else { before.scope.as_ref().map(|scope| changed.union(scope)) }
        });
        let done = scope.as_ref().is_some_and(Scope::is_empty) && before.generation == generation - 1;
        SweepProgress { generation, after: 0, until, done, print: Some(print), scope, since: before.generation }
    }

    /// The extra condition on `ticket_sla` rows this sweep's
    /// scope sets, if any.
    fn scope_sql(&self) -> Option<String> {
        let scope = self.scope.as_ref()?;
        let mut terms = Vec::new();
        if !scope.policies.is_empty() {
            let ids: Vec<String> = scope.policies.iter().map(i64::to_string).collect();
            terms.push(format!("policy_id IN ({})", ids.join(", ")));
        }
        if scope.unmatched {
            terms.push("policy_id IS NULL".to_owned());
        }
        terms.push(format!("(generation > {} AND generation <> {})", self.since, self.generation));
        Some(format!(" AND ({})", terms.join(" OR ")))
    }
}

/// A ticket as kept, for measuring it again without its event log.
struct KeptRow<'a> {
    ticket_id: i64,
    event_id: i64,
    card: &'a str,
    happenings: &'a str,
}

/// Measures a kept ticket again from its kept text (its tier too: a change
/// of tier marks the customer's tickets changed). `None` when the kept row
/// still holds: the same policy and targets, once its targets are brought
/// forward to `now` the way every reader brings them forward. On unreadable
/// text, why.
fn remeasure(set: &PolicySet, row: &KeptRow<'_>, now: Timestamp) -> Result<Option<Measured>, String> {
    let ticket = TicketId(row.ticket_id);
    let unreadable = |error: rapport_core::sla::kept::KeptFormatError| error.to_string();
    let kept = TimerCard::decode(ticket, row.card).map_err(unreadable)?;
    let snapshot = kept.snapshot.clone();
    let timeline = Timeline {
        happenings: decode_happenings(row.happenings).map_err(unreadable)?,
        counters: snapshot.counters,
        unowned_since: snapshot.unowned_since,
        pending_since: snapshot.pending_since,
    };
    let facts = TicketFacts {
        channel: snapshot.channel,
        tier: snapshot.tier.clone(),
        priority: snapshot.priority,
        team: snapshot.team,
        tags: snapshot.tags.clone(),
    };
    // Never before the kept measurement, which may be later than this
    // sweep's clock reading and hold what happened up to it.
    let now = now.max(kept.computed_at);
    let projected = measure_facts(set, ticket, &facts, &timeline, now).map_err(|error| error.to_string())?;
    if still_holds(set, &kept, &projected, now) {
        return Ok(None);
    }
    Ok(Some(Measured { event_id: row.event_id, snapshot, timeline, projected }))
}

/// Whether the kept card, brought forward to `now` on its policy's current
/// calendar (as the timer pass and the views do), says what measuring
/// afresh says. Then it says so at every later instant too: both count on
/// from the same elapsed time on the same calendar towards the same due.
fn still_holds(set: &PolicySet, kept: &TimerCard, fresh: &Projected, now: Timestamp) -> bool {
    if kept.policy != fresh.policy || kept.targets.len() != fresh.targets.len() {
        return false;
    }
    let calendar = set.calendar_of(kept.policy);
    kept.targets.iter().zip(&fresh.targets).all(|(old, new)| old.at(kept.computed_at, now, calendar) == *new)
}

impl Store {
    /// Measures the next `limit` open tickets not yet measured under the
    /// current policy generation. Returns where the sweep stands.
    pub async fn project_sweep(&self, limit: i64, now: Timestamp) -> Result<SweepProgress, StoreError> {
        let (generation, set) = self.policy_set().await?;
        let (before, raw) = self.sweep_progress().await?;
        let (start, raw) = if before.generation == generation {
            (before, raw)
        } else {
            let last: crate::db::IdRow =
                self.db.fetch_one("SELECT COALESCE(MAX(id), 0) AS id FROM tickets", args![]).await?;
            let start = SweepProgress::next(&before, generation, SetPrint::of(&set), last.id);
            if start.done {
                // Nothing the change touched is kept: only the progress moves.
                let empty = Batch { generation, rows: Vec::new(), jobs: Vec::new() };
                let moved = self.write_sweep(empty, serde_json::to_string(&start)?, raw, now).await?;
                return Ok(if moved { start } else { before });
            }
            (start, raw)
        };
        if start.done {
            return Ok(start);
        }
        // A slice at a time: the next slice is read and measured while the
        // last one is written, and each write is short, so that ticket
        // creation (which shares the SQLite writer) never waits long.
        let slice = limit.clamp(1, SWEEP_SLICE);
        let mut taken = 0;
        let (mut current, mut raw) = (start, raw);
        let (mut batch, mut next) = self.sweep_slice(&set, &current, slice, now).await?;
        loop {
            taken += slice;
            let text = serde_json::to_string(&next)?;
            let write = self.write_sweep(batch, text.clone(), raw, now);
            if next.done || taken >= limit {
                return Ok(if write.await? { next } else { current });
            }
            let (moved, following) = tokio::join!(write, self.sweep_slice(&set, &next, slice.min(limit - taken), now));
            if !moved? {
                return Ok(current);
            }
            (current, raw) = (next, text);
            (batch, next) = following?;
        }
    }

    /// Reads and measures the open tickets after `from.after` (up to `limit`
    /// of them); returns the rows to write and where the sweep stands then.
    async fn sweep_slice(
        &self,
        set: &PolicySet,
        from: &SweepProgress,
        limit: i64,
        now: Timestamp,
    ) -> Result<(Batch, SweepProgress), StoreError> {
        let SweepProgress { generation, after, until, .. } = *from;
        // The scope's condition holds only integers the sweep computed.
        let inner = format!(
            "SELECT ticket_id, event_id, card, happenings FROM ticket_sla \
             WHERE ticket_id > $1 AND ticket_id <= $2 AND open = 1{} ORDER BY ticket_id LIMIT $3",
            from.scope_sql().unwrap_or_default()
        );
        let sql = packed::select(self.dialect(), &["ticket_id", "event_id"], &["card", "happenings"], &inner);
        let slice: PackedRow = self.db.fetch_one(AssertSqlSafe(sql), args![after, until, limit]).await?;
        let progress = match slice.last {
            None => SweepProgress { done: true, ..from.clone() },
            Some(last) => SweepProgress { after: last, ..from.clone() },
        };
        let text = slice.packed.unwrap_or_default();
        let kept: Vec<KeptRow<'_>> = packed::unpack(&text)
            .map_err(|error| StoreError::Other(anyhow::anyhow!(error)))?
            .into_iter()
            .map(|([ticket_id, event_id], [card, happenings])| KeptRow { ticket_id, event_id, card, happenings })
            .collect();
        let mut rows = Vec::with_capacity(kept.len());
        let mut unreadable = Vec::new();
        for row in &kept {
            let ticket = row.ticket_id;
            match remeasure(set, row, now) {
                Ok(Some(measured)) => rows.push(row_args(measured, generation)),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(ticket, %error, "the kept SLA text is unreadable; measuring from the event log");
                    unreadable.push(ticket);
                }
            }
        }
        let mut batch = Batch { generation, rows, jobs: Vec::new() };
        if !unreadable.is_empty() {
            let loaded = self.db.read(move |conn| Box::pin(async move { load(conn, &unreadable).await })).await?;
            batch.rows.extend(measure_batch(set, generation, &loaded, None, now)?.rows);
        }
        Ok((batch, progress))
    }

    /// Writes a sweep's slice and moves its progress from `raw` to `text`;
    /// false when the policies changed or another instance moved it first.
    async fn write_sweep(&self, batch: Batch, text: String, raw: String, now: Timestamp) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                if !write_batch(conn, batch, now).await? {
                    return Ok(false);
                }
                let changed = conn
                    .execute("UPDATE settings SET value = $1 WHERE name = 'sla_sweep' AND value = $2", args![text, raw])
                    .await?;
                Ok(changed == 1)
            })
        })
        .await
    }

    /// Where the sweep stands (and the setting's raw text, for compare-and-set).
    async fn sweep_progress(&self) -> Result<(SweepProgress, String), StoreError> {
        let row: ValueRow = self.db.fetch_one("SELECT value FROM settings WHERE name = 'sla_sweep'", args![]).await?;
        let progress: SweepProgress = serde_json::from_str(&row.value)?;
        Ok((progress, row.value))
    }

    /// How many open tickets the sweep of `progress` takes (kept on a
    /// policy in its scope; every open ticket when it has none).
    pub async fn count_sweep_scope(&self, progress: &SweepProgress) -> Result<i64, StoreError> {
        let sql =
            format!("SELECT COUNT(*) AS id FROM ticket_sla WHERE open = 1{}", progress.scope_sql().unwrap_or_default());
        let row: crate::db::IdRow = self.db.fetch_one(AssertSqlSafe(sql), args![]).await?;
        Ok(row.id)
    }

    /// Where the background measurement stands: the policy generation, the
    /// sweep after the last policy change, and how many changed tickets wait.
    pub async fn sla_status(&self) -> Result<(i64, SweepProgress, i64), StoreError> {
        let (generation, _) = self.policy_set().await?;
        let (sweep, _) = self.sweep_progress().await?;
        let backlog = self.count_sla_backlog().await?;
        Ok((generation, sweep, backlog))
    }
}
