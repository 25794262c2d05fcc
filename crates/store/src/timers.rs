//! Rules at work: the timer pass that fires time-triggered rules over every
//! open ticket, and the event rules the projector fires for new events.
//!
//! Both only decide and enqueue: a firing becomes a `rule` job whose dedupe
//! key is (rule, ticket, firing key), so however many passes or instances
//! see the same firing, one job exists and its actions run once (`jobs`).
//!
//! The timer pass reads each open ticket's timer card (`ticket_sla.card`,
//! kept by the projector: the ticket as the conditions see it and its
//! targets as measured), brings every target forward to `now` on its
//! calendar, and asks the compiled rules which fire.

use std::collections::HashMap;

use rapport_core::rules::{CompiledRules, Firing, Rule, RuleId, TargetProgress, TicketSnapshot, TimerCard, TimerKey};
use rapport_core::sla::TargetStatus;
use rapport_core::sla::projection::{KeptTarget, PolicySet};
use rapport_core::sla::timeline::Timeline;
use rapport_core::{Ticket, TicketId, Tier, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::args;
use crate::error::StoreError;
use crate::kernel::jobs::{NewJob, insert_jobs, rule_job, timer_firing};
use crate::packed::{self, PackedRow};

/// Open tickets' timer cards read at a time.
const CARDS_PER_READ: i64 = 10_000;

/// The rules in force, compiled, with their names (for job payloads).
pub struct RuleSet {
    /// The enabled rules, compiled.
    pub compiled: CompiledRules,
    /// Every rule's name by id.
    pub names: HashMap<RuleId, String>,
}

impl RuleSet {
    /// Compiles `rules`.
    pub fn new(rules: Vec<(RuleId, Rule)>) -> RuleSet {
        let compiled = CompiledRules::new(&rules);
        for (id, error) in compiled.rejected() {
            tracing::warn!(rule = %id, %error, "a stored rule does not compile and never fires");
        }
        let names = rules.into_iter().map(|(id, rule)| (id, rule.name)).collect();
        RuleSet { compiled, names }
    }

    /// The jobs for `firings` on `ticket`.
    pub fn jobs(&self, ticket: TicketId, firings: &[Firing], now: Timestamp) -> Result<Vec<NewJob>, StoreError> {
        firings
            .iter()
            .map(|firing| {
                let name = self.names.get(&firing.rule).map_or("rule", String::as_str);
                rule_job(ticket, firing, name, now)
            })
            .collect()
    }
}

/// The firings this process has enqueued already, so that a firing that
/// stays true pass after pass is written once (the jobs' unique key covers
/// other processes and restarts). Kept per ticket as 64-bit fingerprints of
/// (rule, key): a pass checks hundreds of thousands of firings with one map
/// lookup per ticket and a short scan, without allocating.
#[derive(Debug, Default)]
pub struct FiredMemory {
    seen: HashMap<i64, Vec<u64>>,
}

impl FiredMemory {
    /// Remembers a firing; true the first time.
    fn first_time(&mut self, rule: RuleId, ticket: TicketId, key: &TimerKey) -> bool {
        let print = fingerprint(rule, key);
        let seen = self.seen.entry(ticket.0).or_default();
        if seen.contains(&print) {
            return false;
        }
        if seen.len() >= Self::PER_TICKET {
            // Old cycles' firings; forgetting them costs one duplicate insert each.
            seen.clear();
        }
        seen.push(print);
        true
    }

    /// Forgets everything once it holds this many tickets (tickets long gone would only grow it).
    const LIMIT: usize = 2_000_000;

    /// Fingerprints kept per ticket.
    const PER_TICKET: usize = 64;

    fn trim(&mut self) {
        if self.seen.len() > Self::LIMIT {
            self.seen.clear();
        }
    }
}

/// A well-mixed 64-bit fingerprint of a firing within one ticket
/// (splitmix64's finaliser over the fields): cheap, and with the few firings a
/// ticket has, a collision is out of reach.
fn fingerprint(rule: RuleId, key: &TimerKey) -> u64 {
    fn mix(state: u64, value: u64) -> u64 {
        let mut z = (state ^ value).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let kind = |kind: rapport_core::sla::TargetKind| kind as u64;
    // Reinterpreting the signed values' bits is the point here.
    #[allow(clippy::cast_sign_loss)]
    let (tag, a, b, c) = match *key {
        TimerKey::Percent(target, start, percent) => (1, kind(target), start.0 as u64, u64::from(percent)),
        TimerKey::Breached(target, start) => (2, kind(target), start.0 as u64, 0),
        TimerKey::NoOwner(since) => (3, 0, since.0 as u64, 0),
        TimerKey::Pending(since) => (4, 0, since.0 as u64, 0),
    };
    #[allow(clippy::cast_sign_loss)]
    let rule = rule.0 as u64;
    [rule, a, b, c].into_iter().fold(mix(0, tag), mix)
}

/// Jobs queued per write by a timer pass.
const JOBS_PER_WRITE: usize = 1_000;

/// What one timer pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerPass {
    /// Open tickets evaluated.
    pub tickets: usize,
    /// Firings seen (including ones already enqueued by earlier passes).
    pub firings: usize,
    /// Firings not remembered, sent to be enqueued (the jobs' unique key
    /// drops one enqueued before).
    pub sent: usize,
    /// New jobs enqueued.
    pub enqueued: usize,
}

/// A ticket's snapshot for the rules.
pub(crate) fn snapshot(ticket: &Ticket, escalation_level: i64, tier: Tier, timeline: &Timeline) -> TicketSnapshot {
    TicketSnapshot {
        id: ticket.id,
        status: ticket.status,
        priority: ticket.priority,
        urgency: ticket.urgency,
        channel: ticket.channel,
        team: ticket.team,
        owner: ticket.owner,
        tier,
        tags: ticket.tags.clone(),
        escalation_level: u8::try_from(escalation_level.clamp(0, 3)).unwrap_or(0),
        counters: timeline.counters,
        created_at: ticket.created_at,
        unowned_since: timeline.unowned_since,
        pending_since: timeline.pending_since,
    }
}

/// A kept target brought forward to `now`, as the rules see it.
pub(crate) fn progress(
    target: &KeptTarget,
    kept_at: Timestamp,
    now: Timestamp,
    set: &PolicySet,
    policy: Option<i64>,
) -> TargetProgress {
    let target = target.at(kept_at, now, set.calendar_of(policy));
    TargetProgress {
        kind: target.kind,
        cycle_start: target.start,
        target_seconds: target.seconds,
        elapsed_seconds: target.elapsed_seconds,
        breached: target.state == TargetStatus::Breached,
        running: target.running,
        met: target.met_at.is_some(),
    }
}

impl Store {
    /// The rules in force, compiled.
    pub async fn rule_set(&self) -> Result<RuleSet, StoreError> {
        let rules = self.list_rules().await?;
        Ok(RuleSet::new(rules.into_iter().map(|stored| (stored.id, stored.rule)).collect()))
    }

    /// One timer pass at `now`: evaluates the time-triggered rules over every
    /// open ticket and enqueues a job per new firing (`fired` remembers the
    /// ones this process enqueued already).
    pub async fn run_timers(&self, now: Timestamp, fired: &mut FiredMemory) -> Result<TimerPass, StoreError> {
        let rules = self.rule_set().await?;
        if !rules.compiled.has_timer_rules() {
            return Ok(TimerPass::default());
        }
        let (_, set) = self.policy_set().await?;
        // One short column per open ticket, many tickets packed in a row:
        // reading fields and rows one by one costs more than the rules do.
        let sql = packed::select(
            self.dialect(),
            &["ticket_id"],
            &["card"],
            "SELECT ticket_id, card FROM ticket_sla WHERE open = 1 AND ticket_id > $1 ORDER BY ticket_id LIMIT $2",
        );
        let mut pass = TimerPass::default();
        let mut jobs = Vec::new();
        let mut targets = Vec::with_capacity(3);
        let mut after = 0;
        loop {
            let sql = sql.clone();
            let chunk: PackedRow = self.db.fetch_one(AssertSqlSafe(sql), args![after, CARDS_PER_READ]).await?;
            let Some(last) = chunk.last else { break };
            after = last;
            let text = chunk.packed.unwrap_or_default();
            let rows = packed::unpack(&text).map_err(|error| StoreError::Other(anyhow::anyhow!(error)))?;
            pass.tickets += rows.len();
            for ([ticket_id], [card]) in rows {
                let ticket = TicketId(ticket_id);
                let card = match TimerCard::decode(ticket, card) {
                    Ok(card) => card,
                    Err(error) => {
                        // One bad row must not stop every other ticket's timers;
                        // the ticket's next event keeps a fresh card.
                        tracing::warn!(ticket = ticket.0, %error, "skipping an unreadable timer card");
                        continue;
                    }
                };
                targets.clear();
                targets.extend(
                    card.targets.iter().map(|target| progress(target, card.computed_at, now, &set, card.policy)),
                );
                let fresh = rules.compiled.on_timer_unseen(&card.snapshot, &targets, now, |rule, key| {
                    pass.firings += 1;
                    fired.first_time(rule, ticket, key)
                });
                jobs.extend(rules.jobs(ticket, &fresh, now)?);
            }
        }
        // In slices, so that a pass that fires on many tickets at once never
        // holds the (SQLite) writer long enough to stall ticket creation.
        let mut jobs = jobs.into_iter().peekable();
        while jobs.peek().is_some() {
            let slice: Vec<NewJob> = jobs.by_ref().take(JOBS_PER_WRITE).collect();
            pass.sent += slice.len();
            pass.enqueued +=
                self.write(move |conn| Box::pin(async move { insert_jobs(conn, &slice, now).await })).await?;
        }
        fired.trim();
        Ok(pass)
    }

    /// Remembers in `fired` the timer firings that earlier passes (before a
    /// restart, or on another instance) enqueued for the open tickets, so
    /// that the next pass does not send each again only for the jobs'
    /// unique key to drop it. Returns how many it remembered.
    pub async fn remember_firings(&self, fired: &mut FiredMemory) -> Result<usize, StoreError> {
        let last: crate::db::IdRow = self
            .db
            .fetch_one("SELECT COALESCE(MAX(ticket_id), 0) AS id FROM ticket_sla WHERE open = 1", args![])
            .await?;
        let sql = packed::select(
            self.dialect(),
            &["ticket_id"],
            &["dedupe_key"],
            "SELECT s.ticket_id AS ticket_id, j.dedupe_key AS dedupe_key FROM ticket_sla s \
             JOIN jobs j ON j.ticket_id = s.ticket_id \
             WHERE s.open = 1 AND s.ticket_id > $1 AND s.ticket_id <= $2 AND j.dedupe_key LIKE 'rule:%'",
        );
        let mut remembered = 0;
        let mut after = 0;
        while after < last.id {
            let until = after + TICKETS_PER_MEMORY_READ;
            let sql = sql.clone();
            let chunk: PackedRow = self.db.fetch_one(AssertSqlSafe(sql), args![after, until]).await?;
            let text = chunk.packed.unwrap_or_default();
            let rows = packed::unpack(&text).map_err(|error| StoreError::Other(anyhow::anyhow!(error)))?;
            for ([ticket], [dedupe_key]) in rows {
                if let Some((rule, key)) = timer_firing(dedupe_key)
                    && fired.first_time(rule, TicketId(ticket), &key)
                {
                    remembered += 1;
                }
            }
            after = until;
        }
        Ok(remembered)
    }
}

/// Open tickets whose enqueued firings [`Store::remember_firings`] reads at a time.
const TICKETS_PER_MEMORY_READ: i64 = 20_000;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use rapport_core::sla::TargetKind;

    use super::*;

    #[test]
    fn a_firing_is_new_once_per_ticket() {
        let mut memory = FiredMemory::default();
        let key = TimerKey::Breached(TargetKind::FirstResponse, Timestamp(1_000));
        assert!(memory.first_time(RuleId(1), TicketId(7), &key));
        assert!(!memory.first_time(RuleId(1), TicketId(7), &key));
        assert!(memory.first_time(RuleId(2), TicketId(7), &key), "another rule");
        assert!(memory.first_time(RuleId(1), TicketId(8), &key), "another ticket");
        let next_cycle = TimerKey::Breached(TargetKind::FirstResponse, Timestamp(2_000));
        assert!(memory.first_time(RuleId(1), TicketId(7), &next_cycle), "another cycle");
    }

    #[test]
    fn fingerprints_of_distinct_firings_differ() {
        let mut prints = HashSet::new();
        let kinds = [TargetKind::FirstResponse, TargetKind::NextResponse, TargetKind::Resolution];
        for rule in 0..50 {
            for start in 0..200i64 {
                let at = Timestamp(1_790_000_000_000 + start * 1000);
                for kind in kinds {
                    for percent in [50u8, 75, 90] {
                        assert!(prints.insert(fingerprint(RuleId(rule), &TimerKey::Percent(kind, at, percent))));
                    }
                    assert!(prints.insert(fingerprint(RuleId(rule), &TimerKey::Breached(kind, at))));
                }
                assert!(prints.insert(fingerprint(RuleId(rule), &TimerKey::NoOwner(at))));
                assert!(prints.insert(fingerprint(RuleId(rule), &TimerKey::Pending(at))));
            }
        }
        assert_eq!(prints.len(), 50 * 200 * 14);
    }
}
