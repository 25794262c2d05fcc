//! The audit log: every change of a setting, with who made it, when, and
//! the record before and after (JSON; none when created or deleted). An
//! entry is written in the transaction of the change it records
//! ([`insert_audit`]), so a change is never without its entry, nor an
//! entry without its change. Listed newest first, narrowed by subject or
//! by the agent who acted, a page at a time.

use rapport_core::{Actor, AgentId, CustomerId, Timestamp};
use serde_json::Value;
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Arg, Conn, IdRow, args};
use crate::error::StoreError;
use crate::rows::actor_columns;

/// A change to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// Who made it.
    pub actor: Actor,
    /// What kind of setting: `team`, `agent`, `calendar`, `policy`...
    pub subject: String,
    /// Which one (its id or name).
    pub subject_id: String,
    /// What happened: `created`, `changed`, `deleted`, or a word of the subject's own.
    pub verb: String,
    /// The record before the change; `None` when it was created.
    pub old: Option<Value>,
    /// The record after the change; `None` when it was deleted.
    pub new: Option<Value>,
    /// When.
    pub at: Timestamp,
}

impl NewAuditEntry {
    /// A change of `subject` `id` (its kind and id), by `actor` at `at`.
    pub fn of(
        actor: Actor,
        subject: &str,
        id: impl ToString,
        verb: &str,
        old: Option<Value>,
        new: Option<Value>,
        at: Timestamp,
    ) -> NewAuditEntry {
        NewAuditEntry {
            actor,
            subject: subject.to_owned(),
            subject_id: id.to_string(),
            verb: verb.to_owned(),
            old,
            new,
            at,
        }
    }
}

/// A recorded change.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Id (newer entries have larger ids).
    pub id: i64,
    /// The change.
    pub entry: NewAuditEntry,
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this kind of setting.
    pub subject: Option<String>,
    /// Only changes by this agent.
    pub agent: Option<AgentId>,
    /// Only entries older than this id (the previous page's last).
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor_type: String,
    actor_id: Option<i64>,
    subject: String,
    subject_id: String,
    verb: String,
    old_value: Option<String>,
    new_value: Option<String>,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<AuditEntry, StoreError> {
        let actor = match (row.actor_type.as_str(), row.actor_id) {
            ("agent", Some(id)) => Actor::Agent(AgentId(id)),
            ("customer", Some(id)) => Actor::Customer(CustomerId(id)),
            _ => Actor::System,
        };
        let json = |text: Option<String>| -> Result<Option<Value>, StoreError> {
            text.map(|text| serde_json::from_str(&text)).transpose().map_err(StoreError::from)
        };
        Ok(AuditEntry {
            id: row.id,
            entry: NewAuditEntry {
                actor,
                subject: row.subject,
                subject_id: row.subject_id,
                verb: row.verb,
                old: json(row.old_value)?,
                new: json(row.new_value)?,
                at: Timestamp(row.at),
            },
        })
    }
}

/// Writes `entry` in the caller's transaction; returns its id.
pub(crate) async fn insert_audit(conn: &mut Conn<'_>, entry: &NewAuditEntry) -> Result<i64, StoreError> {
    let (actor_type, actor_id) = actor_columns(entry.actor);
    let text = |value: &Option<Value>| value.as_ref().map(Value::to_string);
    let row: IdRow = conn
        .fetch_one(
            "INSERT INTO audit_log (at, actor_type, actor_id, subject, subject_id, verb, old_value, new_value) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![
                entry.at.0,
                actor_type,
                actor_id,
                entry.subject.clone(),
                entry.subject_id.clone(),
                entry.verb.clone(),
                text(&entry.old),
                text(&entry.new)
            ],
        )
        .await?;
    Ok(row.id)
}

impl Store {
    /// Records a change made outside a store transaction of its own (a
    /// setting kept in the configuration, a command-line action).
    pub async fn record_audit(&self, entry: NewAuditEntry) -> Result<i64, StoreError> {
        self.write(move |conn| Box::pin(async move { insert_audit(conn, &entry).await })).await
    }

    /// Entries newest first, narrowed by `filter`.
    pub async fn list_audit(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let mut values: Vec<Arg> = Vec::new();
        let mut sql = "SELECT id, at, actor_type, actor_id, subject, subject_id, verb, old_value, new_value \
                       FROM audit_log WHERE 1 = 1"
            .to_owned();
        if let Some(subject) = filter.subject {
            values.push(subject.into());
            sql.push_str(&format!(" AND subject = ${}", values.len()));
        }
        if let Some(agent) = filter.agent {
            values.push(agent.0.into());
            sql.push_str(&format!(" AND actor_type = 'agent' AND actor_id = ${}", values.len()));
        }
        if let Some(before) = filter.before {
            values.push(before.into());
            sql.push_str(&format!(" AND id < ${}", values.len()));
        }
        values.push(filter.limit.into());
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", values.len()));
        let rows: Vec<AuditRow> = self.db.fetch_all(AssertSqlSafe(sql), values).await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }
}
