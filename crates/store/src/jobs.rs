//! The jobs table: work to do once, at or after a time. A rule firing on a
//! ticket becomes a job; so does a problem's update to one customer.
//!
//! Exactly once comes from two things. A job's `dedupe_key` is unique, so a
//! firing seen by many passes is queued once (`rule:{rule}:{ticket}:{key}`).
//! And a job's effects commit in the same transaction that marks it done,
//! guarded by the claim: `UPDATE … SET state = 'done' WHERE claimed_by = me
//! AND state = 'queued'` changes no row for a worker whose lease ran out and
//! whose job someone else claimed, so that worker does nothing. A worker
//! that dies mid-job rolls back with its transaction, and the job is claimed
//! again once its lease runs out.
//!
//! Claiming is one of the named dialect differences: PostgreSQL picks the
//! due rows with `FOR UPDATE SKIP LOCKED`, so instances never wait on each
//! other's claims; SQLite has one writer, so the same statement runs there
//! without the lock clause.

use rapport_core::event::{self, Automation};
use rapport_core::outbox::DeliveryState;
use rapport_core::rules::{Counters, Effect, Firing, MAX_ESCALATION_LEVEL, TemplateData, TicketSnapshot, effects};
use rapport_core::{AgentId, Author, MessageKind, Status, Ticket, TicketId, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Conn, args};
use crate::error::StoreError;
use crate::kernel::jobs::{JobKind, NewJob, RulePayload, insert_jobs};
use crate::kernel::messages::{MessageOrigin, NewMessage};
use crate::kernel::tickets::{add_message_to, customer_tier, load_ticket, save_decision};

/// How many attempts a job gets before it is marked failed.
pub const MAX_JOB_ATTEMPTS: i64 = 5;

/// The wait after a failed attempt, per attempt made so far.
const BACKOFF_MS: i64 = 30_000;

/// The longest error text kept on a job.
const MAX_ERROR_CHARS: usize = 2_000;

/// A job's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub i64);

/// A job a worker holds until its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Its id.
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// The ticket it works on.
    pub ticket: Option<TicketId>,
    /// Its input, as JSON.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// How running a job went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Its effects are written and it is done.
    Done,
    /// It is no longer ours: the lease ran out and another worker claimed it
    /// (or finished it). Nothing was done.
    Lost,
    /// There was nothing to do (the ticket is gone, closed or merged); it is
    /// marked done without effects. Says why.
    Skipped(String),
}

/// How many jobs are in each state, for health checks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Waiting (including those claimed or backing off after a failure).
    pub queued: i64,
    /// Done (or skipped).
    pub done: i64,
    /// Gave up after [`MAX_JOB_ATTEMPTS`] attempts.
    pub failed: i64,
}

/// A customer update's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct UpdatePayload {
    text: String,
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: i64,
    kind: String,
    ticket_id: Option<i64>,
    payload: String,
    attempts: i64,
}

impl TryFrom<ClaimedRow> for ClaimedJob {
    type Error = StoreError;
    fn try_from(row: ClaimedRow) -> Result<ClaimedJob, StoreError> {
        let kind = JobKind::parse(&row.kind)
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unexpected value {:?} in jobs.kind", row.kind)))?;
        Ok(ClaimedJob {
            id: JobId(row.id),
            kind,
            ticket: row.ticket_id.map(TicketId),
            payload: row.payload,
            attempts: row.attempts,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CountRow {
    state: String,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct FactsRow {
    escalation_level: i64,
    customer_name: String,
}

#[derive(sqlx::FromRow)]
struct ExternalRow {
    external_id: String,
}

impl Store {
    /// Queues jobs; a job whose `dedupe_key` was queued before is dropped.
    /// Returns how many were new.
    pub async fn enqueue_jobs(&self, jobs: Vec<NewJob>, now: Timestamp) -> Result<usize, StoreError> {
        self.write(move |conn| Box::pin(async move { insert_jobs(conn, &jobs, now).await })).await
    }

    /// Claims up to `limit` due jobs, oldest first, for `lease_ms`; each
    /// claim counts as an attempt.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        limit: i64,
        lease_ms: i64,
        now: Timestamp,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let worker = worker.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let lock = conn.skip_locked();
                let sql = format!(
                    "UPDATE jobs SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 WHERE id IN (\
                     SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $3 AND claimed_until < $3 \
                     ORDER BY run_at, id LIMIT $4{lock}) \
                     RETURNING id, kind, ticket_id, payload, attempts"
                );
                let rows: Vec<ClaimedRow> = conn
                    .fetch_all(AssertSqlSafe(sql), args![worker, now.0.saturating_add(lease_ms), now.0, limit])
                    .await?;
                let mut jobs: Vec<ClaimedJob> = rows.into_iter().map(ClaimedJob::try_from).collect::<Result<_, _>>()?;
                jobs.sort_by_key(|job| job.id);
                Ok(jobs)
            })
        })
        .await
    }

    /// Runs a claimed job: marks it done and carries out its effects in one
    /// transaction, so both commit or neither. When the effects fail, nothing
    /// of them is kept and the failure is recorded ([`Store::record_job_failure`])
    /// before the error is returned.
    pub async fn run_job(&self, worker: &str, job: ClaimedJob, now: Timestamp) -> Result<JobOutcome, StoreError> {
        let worker = worker.to_owned();
        let id = job.id;
        let result = self
            .write(move |conn| {
                Box::pin(async move {
                    let ours = conn
                        .execute(
                            "UPDATE jobs SET state = 'done', done_at = $1 \
                             WHERE id = $2 AND claimed_by = $3 AND state = 'queued'",
                            args![now.0, job.id.0, worker],
                        )
                        .await?;
                    if ours == 0 {
                        return Ok(JobOutcome::Lost);
                    }
                    match job.kind {
                        JobKind::Rule => run_rule(conn, &job, now).await,
                        JobKind::CustomerUpdate => run_customer_update(conn, &job, now).await,
                    }
                })
            })
            .await;
        match result {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                if let Err(recording) = self.record_job_failure(id, &error.to_string(), now).await {
                    tracing::error!(job = id.0, error = %recording, "recording a job's failure failed");
                }
                Err(error)
            }
        }
    }

    /// Records a failed attempt (already counted by the claim): keeps the
    /// error, holds the job back 30 s per attempt made, and gives up (state
    /// `failed`) after [`MAX_JOB_ATTEMPTS`].
    pub async fn record_job_failure(&self, job: JobId, error: &str, now: Timestamp) -> Result<(), StoreError> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        self.write(move |conn| {
            Box::pin(async move {
                conn.execute(
                    "UPDATE jobs SET last_error = $1, claimed_until = $2 + $3 * attempts, \
                     state = CASE WHEN attempts >= $4 THEN 'failed' ELSE state END \
                     WHERE id = $5 AND state = 'queued'",
                    args![error, now.0, BACKOFF_MS, MAX_JOB_ATTEMPTS, job.0],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// How many jobs are queued, done and failed.
    pub async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        let rows: Vec<CountRow> =
            self.db.fetch_all("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state", vec![]).await?;
        let mut counts = JobCounts::default();
        for row in rows {
            match row.state.as_str() {
                "queued" => counts.queued = row.n,
                "done" => counts.done = row.n,
                "failed" => counts.failed = row.n,
                other => {
                    return Err(StoreError::Other(anyhow::anyhow!("unexpected value {other:?} in jobs.state")));
                }
            }
        }
        Ok(counts)
    }
}

/// The job's ticket, locked, or why there is nothing to do on it.
async fn live_ticket(conn: &mut Conn<'_>, job: &ClaimedJob) -> Result<Result<Ticket, String>, StoreError> {
    let Some(id) = job.ticket else { return Ok(Err("the job names no ticket".to_owned())) };
    let ticket = match load_ticket(conn, id, true).await {
        Ok(ticket) => ticket,
        Err(StoreError::NotFound(_)) => return Ok(Err(format!("ticket {id} no longer exists"))),
        Err(error) => return Err(error),
    };
    if let Some(into) = ticket.merged_into {
        return Ok(Err(format!("ticket {id} was merged into ticket {into}")));
    }
    if ticket.status == Status::Closed {
        return Ok(Err(format!("ticket {id} is closed")));
    }
    Ok(Ok(ticket))
}

/// Carries out a rule's firing on the ticket as it is now.
async fn run_rule(conn: &mut Conn<'_>, job: &ClaimedJob, now: Timestamp) -> Result<JobOutcome, StoreError> {
    let payload: RulePayload = serde_json::from_str(&job.payload)?;
    let ticket = match live_ticket(conn, job).await? {
        Ok(ticket) => ticket,
        Err(reason) => return Ok(JobOutcome::Skipped(reason)),
    };
    let facts: FactsRow = conn
        .fetch_one(
            "SELECT t.escalation_level AS escalation_level, c.name AS customer_name \
             FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = $1",
            args![ticket.id.0],
        )
        .await?;
    let tier = customer_tier(conn, ticket.customer).await?;
    let kept: Option<crate::rows::CardRow> =
        conn.fetch_optional("SELECT ticket_id, card FROM ticket_sla WHERE ticket_id = $1", args![ticket.id.0]).await?;
    let kept = kept.map(|row| row.decode()).transpose()?.map(|card| card.snapshot);
    let plan = crate::rules::load_plan(conn).await?;
    let level = u8::try_from(facts.escalation_level.clamp(0, i64::from(MAX_ESCALATION_LEVEL))).unwrap_or(0);
    let snapshot = TicketSnapshot {
        id: ticket.id,
        status: ticket.status,
        priority: ticket.priority,
        urgency: ticket.urgency,
        channel: ticket.channel,
        team: ticket.team,
        owner: ticket.owner,
        tier,
        tags: ticket.tags.clone(),
        escalation_level: level,
        counters: kept.as_ref().map_or_else(Counters::default, |kept| kept.counters),
        created_at: ticket.created_at,
        unowned_since: kept.as_ref().and_then(|kept| kept.unowned_since),
        pending_since: kept.as_ref().and_then(|kept| kept.pending_since),
    };
    let firing = Firing { rule: payload.rule, key: payload.key, actions: payload.actions };
    let template = TemplateData { subject: ticket.subject.clone(), customer_name: facts.customer_name };
    let mut automation = Automation::default();
    let mut new_level = level;
    let mut notifications: Vec<(AgentId, String)> = Vec::new();
    let mut updates: Vec<String> = Vec::new();
    let mut tasks: Vec<(String, Timestamp)> = Vec::new();
    // Effects are computed in order; the ticket fields keep the last value set.
    for effect in effects(&firing, &payload.rule_name, &snapshot, &plan, &template, now) {
        match effect {
            Effect::SetPriority { to, reason } => automation.priority = Some((to, reason)),
            Effect::SetTeam(team) => automation.team = Some(team),
            Effect::SetEscalationLevel { level: to, team } => {
                new_level = to;
                if team.is_some() {
                    automation.team = team;
                }
            }
            Effect::AddTag(tag) => automation.add_tags.push(tag),
            Effect::Notify { agent, message } => notifications.push((agent, message)),
            Effect::SendUpdate { text } => updates.push(text),
            Effect::CreateTask { title, due_at } => tasks.push((title, due_at)),
        }
    }
    if new_level != level {
        automation.escalation = Some((level, new_level));
    }
    let decision = event::automate(&ticket, automation, now);
    save_decision(conn, &ticket, &decision).await?;
    if new_level != level {
        conn.execute(
            "UPDATE tickets SET escalation_level = $1 WHERE id = $2",
            args![i64::from(new_level), ticket.id.0],
        )
        .await?;
    }
    let mut ticket = decision.ticket;
    for (index, text) in updates.into_iter().enumerate() {
        ticket = send_update(conn, job, index, &ticket, text, now).await?;
    }
    for (title, due_at) in tasks {
        conn.execute(
            "INSERT INTO tasks (ticket_id, title, due_at, job_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![ticket.id.0, title, due_at.0, job.id.0, now.0],
        )
        .await?;
    }
    for (agent, message) in notifications {
        conn.execute(
            "INSERT INTO notifications (agent_id, ticket_id, job_id, message, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![agent.0, ticket.id.0, job.id.0, message, now.0],
        )
        .await?;
    }
    Ok(JobOutcome::Done)
}

/// Sends a problem's update to the ticket's customer.
async fn run_customer_update(conn: &mut Conn<'_>, job: &ClaimedJob, now: Timestamp) -> Result<JobOutcome, StoreError> {
    let payload: UpdatePayload = serde_json::from_str(&job.payload)?;
    let ticket = match live_ticket(conn, job).await? {
        Ok(ticket) => ticket,
        Err(reason) => return Ok(JobOutcome::Skipped(reason)),
    };
    send_update(conn, job, 0, &ticket, payload.text, now).await?;
    Ok(JobOutcome::Done)
}

/// A public reply by Rapport on the customer's channel, queued in the outbox
/// like an agent's reply. Its Message-ID is fixed by the job, so a retried
/// job would send the same id. When no channel can reach the customer the
/// reply is kept undelivered, and an internal note says so.
async fn send_update(
    conn: &mut Conn<'_>,
    job: &ClaimedJob,
    index: usize,
    ticket: &Ticket,
    text: String,
    now: Timestamp,
) -> Result<Ticket, StoreError> {
    let domain = own_domain(conn, ticket.id).await?;
    let message = NewMessage {
        kind: MessageKind::Reply,
        author: Author::System,
        text,
        html: None,
        attachments: Vec::new(),
        origin: MessageOrigin {
            external_id: Some(format!("rapport.job.{}.{index}@{domain}", job.id.0)),
            delivery: Some(DeliveryState::Queued),
            ..MessageOrigin::default()
        },
        now,
    };
    let (ticket, message) = add_message_to(conn, ticket, message).await?;
    if message.delivery.is_some() {
        return Ok(ticket);
    }
    let note = NewMessage {
        kind: MessageKind::Note,
        author: Author::System,
        text: "The update above, from an escalation rule, was not sent: the customer cannot be reached on any \
               channel Rapport sends on."
            .to_owned(),
        html: None,
        attachments: Vec::new(),
        origin: MessageOrigin::default(),
        now,
    };
    let (ticket, _) = add_message_to(conn, &ticket, note).await?;
    Ok(ticket)
}

/// The domain of Rapport's own Message-IDs on this ticket (its earlier
/// replies and acknowledgments), so a job's reply threads with them; a
/// reserved domain when Rapport has not written on the ticket yet.
async fn own_domain(conn: &mut Conn<'_>, ticket: TicketId) -> Result<String, StoreError> {
    let row: Option<ExternalRow> = conn
        .fetch_optional(
            "SELECT external_id FROM messages WHERE ticket_id = $1 AND kind = 'reply' AND external_id IS NOT NULL \
             ORDER BY id DESC LIMIT 1",
            args![ticket.0],
        )
        .await?;
    let domain = row.and_then(|row| {
        row.external_id.trim_matches(|c| c == '<' || c == '>').rsplit_once('@').map(|(_, domain)| domain.to_owned())
    });
    Ok(domain.filter(|domain| !domain.is_empty()).unwrap_or_else(|| "rapport.invalid".to_owned()))
}
