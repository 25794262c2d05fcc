//! Queuing jobs: what a job is (a rule's firing on a ticket, a problem's
//! update to one customer) and the insert that queues it once per key.
//! Claiming and running them is `crate::jobs`.

use rapport_core::rules::{Action, Firing, RuleId, TimerKey};
use rapport_core::{TicketId, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::db::{Conn, args};
use crate::error::StoreError;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Carry out a rule's actions on a ticket (payload: the firing, see [`rule_job`]).
    Rule,
    /// Send the ticket's customer a message (payload: `{"text": …}`).
    CustomerUpdate,
}

impl JobKind {
    /// The word stored in `jobs.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Rule => "rule",
            JobKind::CustomerUpdate => "customer_update",
        }
    }

    pub(crate) fn parse(word: &str) -> Option<JobKind> {
        match word {
            "rule" => Some(JobKind::Rule),
            "customer_update" => Some(JobKind::CustomerUpdate),
            _ => None,
        }
    }
}

/// A rule job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RulePayload {
    pub(crate) rule: RuleId,
    pub(crate) rule_name: String,
    pub(crate) key: String,
    pub(crate) actions: Vec<Action>,
}

/// A job to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// What it does.
    pub kind: JobKind,
    /// At most one job per key is ever queued; `None` never collides.
    pub dedupe_key: Option<String>,
    /// The ticket it works on.
    pub ticket: Option<TicketId>,
    /// Its input, as JSON.
    pub payload: String,
    /// Not before this.
    pub run_at: Timestamp,
}

/// The job that carries out `firing` on `ticket`, once per (rule, ticket, key).
pub fn rule_job(ticket: TicketId, firing: &Firing, rule_name: &str, run_at: Timestamp) -> Result<NewJob, StoreError> {
    let payload = RulePayload {
        rule: firing.rule,
        rule_name: rule_name.to_owned(),
        key: firing.key.clone(),
        actions: firing.actions.clone(),
    };
    Ok(NewJob {
        kind: JobKind::Rule,
        dedupe_key: Some(format!("rule:{}:{}:{}", firing.rule, ticket, firing.key)),
        ticket: Some(ticket),
        payload: serde_json::to_string(&payload)?,
        run_at,
    })
}

/// The rule and timer key of a rule job's dedupe key
/// (as [`rule_job`] writes it); `None` for an event rule's job.
pub(crate) fn timer_firing(dedupe_key: &str) -> Option<(RuleId, TimerKey)> {
    let mut parts = dedupe_key.splitn(4, ':');
    if parts.next()? != "rule" {
        return None;
    }
    let rule = RuleId(parts.next()?.parse().ok()?);
    parts.next()?;
    Some((rule, TimerKey::parse(parts.next()?)?))
}

/// Queues jobs in the caller's transaction; returns how many were new.
pub(crate) async fn insert_jobs(conn: &mut Conn<'_>, jobs: &[NewJob], now: Timestamp) -> Result<usize, StoreError> {
    let mut inserted = 0;
    for chunk in jobs.chunks(INSERT_ROWS) {
        let dialect = conn.dialect();
        let rows: Vec<String> = (0..chunk.len())
            .map(|row| {
                let first = row * 6 + 1;
                format!("({}, 'queued', {})", dialect.placeholders(first, 5), dialect.placeholders(first + 5, 1))
            })
            .collect();
        let sql = format!(
            "INSERT INTO jobs (kind, dedupe_key, ticket_id, payload, run_at, state, created_at) VALUES {} \
             ON CONFLICT (dedupe_key) DO NOTHING",
            rows.join(", ")
        );
        let mut values = Vec::with_capacity(chunk.len() * 6);
        for job in chunk {
            values.extend(args![
                job.kind.as_str(),
                job.dedupe_key.clone(),
                job.ticket.map(|ticket| ticket.0),
                job.payload.clone(),
                job.run_at.0,
                now.0
            ]);
        }
        inserted += conn.execute(AssertSqlSafe(sql), values).await?;
    }
    Ok(usize::try_from(inserted).unwrap_or(usize::MAX))
}

/// Jobs per INSERT statement when queueing many (a timer pass may queue
/// tens of thousands at once).
const INSERT_ROWS: usize = 64;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod key_tests {
    use rapport_core::rules::{Firing, RuleId, TimerKey};
    use rapport_core::sla::TargetKind;
    use rapport_core::{TicketId, Timestamp};

    use super::{rule_job, timer_firing};

    fn key_of(rule: i64, key: &str) -> String {
        let firing = Firing { rule: RuleId(rule), key: key.to_owned(), actions: vec![] };
        rule_job(TicketId(9), &firing, "a rule", Timestamp(0)).unwrap().dedupe_key.unwrap()
    }

    #[test]
    fn a_timer_rules_job_key_reads_back_as_its_firing() {
        let breached = TimerKey::Breached(TargetKind::FirstResponse, Timestamp(1000));
        assert_eq!(timer_firing(&key_of(3, "first_response:1000:breached")), Some((RuleId(3), breached)));
        assert_eq!(timer_firing(&key_of(3, "pending:7")), Some((RuleId(3), TimerKey::Pending(Timestamp(7)))));
        assert_eq!(timer_firing(&key_of(3, "event:12")), None, "an event rule's job");
        for other in ["problem:4:9", "rule:x:9:pending:7", "rule:3"] {
            assert_eq!(timer_firing(other), None, "{other}");
        }
    }
}
