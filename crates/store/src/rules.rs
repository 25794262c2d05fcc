//! Escalation rules, the escalation plan, and what rules leave behind for
//! agents: notifications and follow-up tasks.
//!
//! A rule is stored as its JSON in `rules.definition`, and it is checked in
//! the same transaction that saves it: against the teams and agents that
//! exist then ([`rapport_core::rules::validate`]), and for loops against every
//! other stored rule ([`rapport_core::rules::check_cycles`]). So the stored set
//! always compiles and never loops, whatever saves race with it. The plan is
//! one JSON value in `settings` under `escalation_plan`.

use crate::Store;
use crate::audit::{NewAuditEntry, insert_audit};
use crate::db::{Conn, IdRow, args};
use crate::error::{Rejection, StoreError};
use rapport_core::rules::{CycleError, EVENT_WORDS, EscalationPlan, Known, Rule, RuleError, RuleId, check_cycles};
use rapport_core::{Actor, AgentId, TeamId, TicketId, Timestamp};

/// The `settings` entry holding the escalation plan.
const PLAN_SETTING: &str = "escalation_plan";

/// A rule as stored: its id and place in the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    /// Its id.
    pub id: RuleId,
    /// Where it comes in the order (lower first).
    pub position: i64,
    /// The rule.
    pub rule: Rule,
    /// When it was last saved.
    pub updated_at: Timestamp,
}

/// A notification's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NotificationId(pub i64);

/// Something a rule told an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id.
    pub id: NotificationId,
    /// Who it is for.
    pub agent: AgentId,
    /// The ticket it is about.
    pub ticket: Option<TicketId>,
    /// The rendered message.
    pub message: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When the agent read it; `None` while unread.
    pub read_at: Option<Timestamp>,
}

/// A task's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub i64);

/// A follow-up task on a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// The ticket.
    pub ticket: TicketId,
    /// What to do.
    pub title: String,
    /// When it is due.
    pub due_at: Option<Timestamp>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was done; `None` while open.
    pub done_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    name: String,
    position: i64,
    definition: String,
    updated_at: i64,
}

impl TryFrom<RuleRow> for StoredRule {
    type Error = StoreError;
    fn try_from(row: RuleRow) -> Result<StoredRule, StoreError> {
        let rule: Rule = serde_json::from_str(&row.definition).map_err(|error| {
            StoreError::Other(anyhow::Error::new(error).context(format!("decoding rule {} ({:?})", row.id, row.name)))
        })?;
        Ok(StoredRule { id: RuleId(row.id), position: row.position, rule, updated_at: Timestamp(row.updated_at) })
    }
}

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: i64,
    agent_id: i64,
    ticket_id: Option<i64>,
    message: String,
    created_at: i64,
    read_at: Option<i64>,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Notification {
        Notification {
            id: NotificationId(row.id),
            agent: AgentId(row.agent_id),
            ticket: row.ticket_id.map(TicketId),
            message: row.message,
            created_at: Timestamp(row.created_at),
            read_at: row.read_at.map(Timestamp),
        }
    }
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    ticket_id: i64,
    title: String,
    due_at: Option<i64>,
    created_at: i64,
    done_at: Option<i64>,
}

impl From<TaskRow> for Task {
    fn from(row: TaskRow) -> Task {
        Task {
            id: TaskId(row.id),
            ticket: TicketId(row.ticket_id),
            title: row.title,
            due_at: row.due_at.map(Timestamp),
            created_at: Timestamp(row.created_at),
            done_at: row.done_at.map(Timestamp),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ValueRow {
    value: String,
}

/// A rule as the audit log records it: its name, place and definition.
fn rule_record(stored: &StoredRule) -> Result<serde_json::Value, StoreError> {
    Ok(serde_json::json!({
        "name": stored.rule.name,
        "position": stored.position,
        "definition": serde_json::to_value(&stored.rule)?,
    }))
}

impl Store {
    /// Every rule, in order (position, then id).
    pub async fn list_rules(&self) -> Result<Vec<StoredRule>, StoreError> {
        self.db.read(|conn| Box::pin(load_rules(conn))).await
    }

    /// Saves a new rule, last in the order unless `position` is given.
    /// Refused with [`Rejection::Invalid`] naming the field when the rule is
    /// not valid, would make a loop, or reuses another rule's name.
    pub async fn insert_rule(
        &self,
        rule: Rule,
        position: Option<i64>,
        by: Actor,
        now: Timestamp,
    ) -> Result<StoredRule, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                lock_rules(conn).await?;
                let stored = load_rules(conn).await?;
                check_rule(conn, &rule, None, &stored).await?;
                let position = match position {
                    Some(position) => position,
                    None => stored.iter().map(|stored| stored.position).max().map_or(0, |last| last + 1),
                };
                let row: IdRow = conn
                    .fetch_one(
                        "INSERT INTO rules (name, position, definition, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $4) RETURNING id",
                        args![rule.name.clone(), position, serde_json::to_string(&rule)?, now.0],
                    )
                    .await
                    .map_err(duplicate_name)?;
                let stored = StoredRule { id: RuleId(row.id), position, rule, updated_at: now };
                let record = Some(rule_record(&stored)?);
                insert_audit(conn, &NewAuditEntry::of(by, "rule", row.id, "created", None, record, now)).await?;
                Ok(stored)
            })
        })
        .await
    }

    /// Replaces rule `id`, keeping its place unless `position` is given.
    /// Checked like [`Store::insert_rule`].
    pub async fn update_rule(
        &self,
        id: RuleId,
        rule: Rule,
        position: Option<i64>,
        by: Actor,
        now: Timestamp,
    ) -> Result<StoredRule, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                lock_rules(conn).await?;
                let stored = load_rules(conn).await?;
                let current = stored.iter().find(|stored| stored.id == id).ok_or(StoreError::NotFound("rule"))?;
                let position = position.unwrap_or(current.position);
                check_rule(conn, &rule, Some(current), &stored).await?;
                conn.execute(
                    "UPDATE rules SET name = $1, position = $2, definition = $3, updated_at = $4 WHERE id = $5",
                    args![rule.name.clone(), position, serde_json::to_string(&rule)?, now.0, id.0],
                )
                .await
                .map_err(duplicate_name)?;
                let old = Some(rule_record(current)?);
                let stored = StoredRule { id, position, rule, updated_at: now };
                let new = Some(rule_record(&stored)?);
                insert_audit(conn, &NewAuditEntry::of(by, "rule", id.0, "changed", old, new, now)).await?;
                Ok(stored)
            })
        })
        .await
    }

    /// Deletes rule `id`, recorded as done by `by`. Jobs it already queued still run.
    pub async fn delete_rule(&self, id: RuleId, by: Actor, now: Timestamp) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                lock_rules(conn).await?;
                let stored = load_rules(conn).await?;
                let current = stored.iter().find(|stored| stored.id == id).ok_or(StoreError::NotFound("rule"))?;
                let old = Some(rule_record(current)?);
                conn.execute("DELETE FROM rules WHERE id = $1", args![id.0]).await?;
                insert_audit(conn, &NewAuditEntry::of(by, "rule", id.0, "deleted", old, None, now)).await?;
                Ok(())
            })
        })
        .await
    }

    /// The escalation plan; with none saved, no levels and nobody on call.
    pub async fn escalation_plan(&self) -> Result<EscalationPlan, StoreError> {
        self.db.read(|conn| Box::pin(load_plan(conn))).await
    }

    /// Saves the escalation plan after checking its teams and on-call agent
    /// exist ([`Rejection::Invalid`] naming `levels`, `levels[i]` or `on_call`).
    /// Recorded in the audit log as done by `by`, with the plan before and after.
    pub async fn put_escalation_plan(&self, plan: EscalationPlan, by: Actor, now: Timestamp) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let (teams, agents) = known_people(conn).await?;
                plan.validate(&teams, &agents).map_err(invalid)?;
                let old = serde_json::to_value(load_plan(conn).await?)?;
                let new = serde_json::to_value(&plan)?;
                let entry = NewAuditEntry::of(by, "escalation_plan", "plan", "changed", Some(old), Some(new), now);
                insert_audit(conn, &entry).await?;
                conn.execute(
                    "INSERT INTO settings (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    args![PLAN_SETTING, serde_json::to_string(&plan)?],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// The agent's latest `limit` notifications, newest first.
    pub async fn list_notifications(&self, agent: AgentId, limit: i64) -> Result<Vec<Notification>, StoreError> {
        let rows: Vec<NotificationRow> = self
            .db
            .fetch_all(
                "SELECT id, agent_id, ticket_id, message, created_at, read_at FROM notifications \
                 WHERE agent_id = $1 ORDER BY id DESC LIMIT $2",
                args![agent.0, limit],
            )
            .await?;
        Ok(rows.into_iter().map(Notification::from).collect())
    }

    /// Marks one of the agent's notifications read (at `now`; reading it
    /// again keeps the first time). `NotFound` when it is not theirs.
    pub async fn mark_notification_read(
        &self,
        agent: AgentId,
        id: NotificationId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let changed = conn
                    .execute(
                        "UPDATE notifications SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND agent_id = $3",
                        args![now.0, id.0, agent.0],
                    )
                    .await?;
                if changed == 0 {
                    return Err(StoreError::NotFound("notification"));
                }
                Ok(())
            })
        })
        .await
    }

    /// The ticket's tasks, oldest first.
    pub async fn list_tasks(&self, ticket: TicketId) -> Result<Vec<Task>, StoreError> {
        let rows: Vec<TaskRow> = self
            .db
            .fetch_all(
                "SELECT id, ticket_id, title, due_at, created_at, done_at FROM tasks \
                 WHERE ticket_id = $1 ORDER BY id",
                args![ticket.0],
            )
            .await?;
        Ok(rows.into_iter().map(Task::from).collect())
    }
}

/// Makes rule saves take turns, so that two saves can never each pass the
/// loop check without seeing the other and form a loop together. (A delete
/// needs no turn: fewer rules cannot close a loop.)
async fn lock_rules(conn: &mut Conn<'_>) -> Result<(), StoreError> {
    conn.lock_key("rapport:rules").await
}

pub(crate) async fn load_rules(conn: &mut Conn<'_>) -> Result<Vec<StoredRule>, StoreError> {
    let rows: Vec<RuleRow> = conn
        .fetch_all("SELECT id, name, position, definition, updated_at FROM rules ORDER BY position, id", vec![])
        .await?;
    rows.into_iter().map(StoredRule::try_from).collect()
}

/// The escalation plan, inside a transaction or a read.
pub(crate) async fn load_plan(conn: &mut Conn<'_>) -> Result<EscalationPlan, StoreError> {
    let row: Option<ValueRow> =
        conn.fetch_optional("SELECT value FROM settings WHERE name = $1", args![PLAN_SETTING]).await?;
    match row {
        Some(row) => Ok(serde_json::from_str(&row.value)?),
        None => Ok(EscalationPlan::default()),
    }
}

/// Every team id and agent id.
async fn known_people(conn: &mut Conn<'_>) -> Result<(Vec<TeamId>, Vec<AgentId>), StoreError> {
    let teams: Vec<IdRow> = conn.fetch_all("SELECT id FROM teams", vec![]).await?;
    let agents: Vec<IdRow> = conn.fetch_all("SELECT id FROM agents", vec![]).await?;
    Ok((teams.into_iter().map(|row| TeamId(row.id)).collect(), agents.into_iter().map(|row| AgentId(row.id)).collect()))
}

/// Checks a rule about to be saved (`replacing` the stored one on an
/// update): valid against what exists, its name unused, and no loop in the
/// stored set with it in.
pub(crate) async fn check_rule(
    conn: &mut Conn<'_>,
    rule: &Rule,
    replacing: Option<&StoredRule>,
    stored: &[StoredRule],
) -> Result<(), StoreError> {
    let (teams, agents) = known_people(conn).await?;
    rapport_core::rules::validate(rule, &Known { teams: &teams, agents: &agents, events: EVENT_WORDS })
        .map_err(invalid)?;
    let replaced = replacing.map(|stored| stored.id);
    let others: Vec<&StoredRule> = stored.iter().filter(|stored| Some(stored.id) != replaced).collect();
    if others.iter().any(|other| other.rule.name == rule.name) {
        return Err(Rejection::Invalid {
            field: "name".into(),
            problem: format!("another rule is already called {:?}", rule.name),
        }
        .into());
    }
    // The stored set has no loop, so any loop goes through this rule; it
    // comes first so that the loop is reported starting from it.
    let set: Vec<&Rule> = std::iter::once(rule).chain(others.iter().map(|other| &other.rule)).collect();
    check_cycles(&set).map_err(|error| loop_error(error, rule, replacing))
}

/// A loop is blamed on the trigger when an update changed only the trigger,
/// otherwise on the actions (what the rule sets off).
fn loop_error(error: CycleError, rule: &Rule, replacing: Option<&StoredRule>) -> StoreError {
    let field = match replacing {
        Some(stored) if stored.rule.trigger != rule.trigger && stored.rule.actions == rule.actions => "trigger",
        _ => "actions",
    };
    Rejection::Invalid { field: field.into(), problem: error.to_string() }.into()
}

fn invalid(error: RuleError) -> StoreError {
    Rejection::Invalid { field: error.field, problem: error.problem }.into()
}

/// A concurrent save took the name between the check and the write.
fn duplicate_name(error: StoreError) -> StoreError {
    match error {
        StoreError::Conflict { .. } => {
            Rejection::Invalid { field: "name".into(), problem: "another rule already has this name".into() }.into()
        }
        other => other,
    }
}
