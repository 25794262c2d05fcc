//! Rules at work: the timer pass that fires time-triggered rules over every
//! open ticket, and the event rules the projector fires for new events.
//!
//! Both only decide and enqueue: a firing becomes a `rule` job whose dedupe
//! key is (rule, ticket, firing key), so however many passes or instances
//! see the same firing, one job exists and its actions run once (`jobs`).
//!
//! The timer pass reads each open ticket's kept SLA (`ticket_sla`, kept by
//! the projector) joined with its row in one query, brings every target
//! forward to `now` on its calendar, and asks the compiled rules which fire.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use rapport_core::rules::{CompiledRules, Firing, Rule, RuleId, TargetProgress, TicketSnapshot, TimerKey};
use rapport_core::sla::TargetStatus;
use rapport_core::sla::projection::{KeptTarget, PolicySet};
use rapport_core::sla::timeline::Timeline;
use rapport_core::{AgentId, Level, TeamId, Ticket, TicketId, Tier, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::args;
use crate::error::StoreError;
use crate::jobs::{NewJob, insert_jobs, rule_job};
use crate::projector::{SLA_COLUMNS, SlaRow, TicketSla};

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
/// other processes and restarts). Kept as 128-bit hashes of (rule, ticket,
/// key): a pass checks hundreds of thousands without allocating.
#[derive(Debug, Default)]
pub struct FiredMemory {
    seen: HashSet<u128>,
}

impl FiredMemory {
    /// Remembers a firing; true the first time.
    fn first_time(&mut self, rule: RuleId, ticket: TicketId, key: &TimerKey) -> bool {
        let half = |seed: u8| {
            let mut hasher = std::hash::DefaultHasher::new();
            (seed, rule.0, ticket.0, key).hash(&mut hasher);
            hasher.finish()
        };
        self.seen.insert((u128::from(half(0)) << 64) | u128::from(half(1)))
    }

    /// Forgets everything once it holds this many (tickets long gone would only grow it).
    const LIMIT: usize = 2_000_000;

    fn trim(&mut self) {
        if self.seen.len() > Self::LIMIT {
            self.seen.clear();
        }
    }
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
    let calendar =
        set.calendar(policy.and_then(|id| set.policy(id)).map_or("default", |policy| policy.calendar.as_str()));
    let target = target.at(kept_at, now, calendar);
    TargetProgress {
        kind: target.kind,
        cycle_start: target.start,
        target_seconds: target.seconds,
        elapsed_seconds: target.elapsed_seconds,
        breached: target.state == TargetStatus::Breached,
        running: target.state == TargetStatus::Active,
        met: target.met_at.is_some(),
    }
}

#[derive(sqlx::FromRow)]
struct OpenRow {
    #[sqlx(flatten)]
    sla: SlaRow,
    #[sqlx(flatten)]
    ticket: OpenTicketRow,
}

#[derive(sqlx::FromRow)]
struct OpenTicketRow {
    status: String,
    priority: i64,
    urgency: i64,
    channel: String,
    team_id: Option<i64>,
    owner_id: Option<i64>,
    tags: String,
    escalation_level: i64,
    created_at: i64,
}

fn corrupt(field: &str, value: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("unexpected value {value:?} in tickets.{field}"))
}

impl OpenTicketRow {
    fn snapshot(&self, sla: &TicketSla) -> Result<TicketSnapshot, StoreError> {
        Ok(TicketSnapshot {
            id: sla.ticket,
            status: self.status.parse().map_err(|_| corrupt("status", &self.status))?,
            priority: Level::from_rank(self.priority).ok_or_else(|| corrupt("priority", &self.priority.to_string()))?,
            urgency: Level::from_rank(self.urgency).ok_or_else(|| corrupt("urgency", &self.urgency.to_string()))?,
            channel: self.channel.parse().map_err(|_| corrupt("channel", &self.channel))?,
            team: self.team_id.map(TeamId),
            owner: self.owner_id.map(AgentId),
            tier: sla.tier.clone(),
            tags: if self.tags == "[]" { Vec::new() } else { serde_json::from_str(&self.tags)? },
            escalation_level: u8::try_from(self.escalation_level.clamp(0, 3)).unwrap_or(0),
            counters: sla.counters,
            created_at: Timestamp(self.created_at),
            unowned_since: sla.unowned_since,
            pending_since: sla.pending_since,
        })
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
        let columns = SLA_COLUMNS.split(", ").map(|column| format!("s.{column}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {columns}, t.status, t.priority, t.urgency, t.channel, t.team_id, t.owner_id, t.tags, \
             t.escalation_level, t.created_at FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id \
             WHERE s.open = 1 AND t.active = 1"
        );
        let rows: Vec<OpenRow> = self
            .db
            .read(move |conn| Box::pin(async move { conn.fetch_all(AssertSqlSafe(sql), args![]).await }))
            .await?;
        let mut pass = TimerPass { tickets: rows.len(), ..TimerPass::default() };
        let mut jobs = Vec::new();
        let mut targets = Vec::with_capacity(3);
        for row in rows {
            let sla = TicketSla::try_from(row.sla)?;
            let snapshot = row.ticket.snapshot(&sla)?;
            targets.clear();
            targets.extend(sla.targets.iter().map(|target| progress(target, sla.computed_at, now, &set, sla.policy)));
            let fresh = rules.compiled.on_timer_unseen(&snapshot, &targets, now, |rule, key| {
                pass.firings += 1;
                fired.first_time(rule, sla.ticket, key)
            });
            jobs.extend(rules.jobs(sla.ticket, &fresh, now)?);
        }
        // In slices, so that a pass that fires on many tickets at once never
        // holds the (SQLite) writer long enough to stall ticket creation.
        let mut jobs = jobs.into_iter().peekable();
        while jobs.peek().is_some() {
            let slice: Vec<NewJob> = jobs.by_ref().take(JOBS_PER_WRITE).collect();
            pass.enqueued +=
                self.write(move |conn| Box::pin(async move { insert_jobs(conn, &slice, now).await })).await?;
        }
        fired.trim();
        Ok(pass)
    }
}
