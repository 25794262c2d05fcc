//! Calendars and SLA policies: their storage, validation against what exists
//! (calendars, teams), the shipped defaults, and the [`PolicySet`] in force.
//!
//! Every change to a policy or a calendar bumps the `sla_generation` setting
//! in the same transaction. The projector sees the new generation and
//! recomputes the targets of every open ticket in the background
//! (`projector`), and the in-memory [`PolicySet`] is reloaded once per
//! generation.

use std::collections::HashMap;
use std::sync::Arc;

use rapport_core::calendar::{Calendar, find_time_zone};
use rapport_core::sla::defaults::default_policies;
use rapport_core::sla::projection::PolicySet;
use rapport_core::sla::{DEFAULT_CALENDAR, SlaPolicy};
use rapport_core::{Actor, TeamId, Timestamp};
use serde_json::json;

use crate::Store;
use crate::audit::{NewAuditEntry, insert_audit};
use crate::db::{Conn, IdRow, args};
use crate::error::{Rejection, StoreError};

/// A stored calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCalendar {
    /// Its name, which policies refer to.
    pub name: String,
    /// The TOML text.
    pub source: String,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A stored SLA policy with its place in the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    /// Id.
    pub id: i64,
    /// Its place: lower comes first.
    pub position: i64,
    /// The policy.
    pub policy: SlaPolicy,
    /// When it last changed.
    pub updated_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct CalendarRow {
    name: String,
    source: String,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: i64,
    position: i64,
    definition: String,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct ValueRow {
    value: String,
}

impl TryFrom<PolicyRow> for StoredPolicy {
    type Error = StoreError;
    fn try_from(row: PolicyRow) -> Result<StoredPolicy, StoreError> {
        Ok(StoredPolicy {
            id: row.id,
            position: row.position,
            policy: serde_json::from_str(&row.definition)?,
            updated_at: Timestamp(row.updated_at),
        })
    }
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> StoreError {
    Rejection::Invalid { field: field.into(), problem: problem.into() }.into()
}

/// The policy generation: bumped by every change to policies or calendars.
pub(crate) async fn generation(conn: &mut Conn<'_>) -> Result<i64, StoreError> {
    let row: ValueRow = conn.fetch_one("SELECT value FROM settings WHERE name = 'sla_generation'", args![]).await?;
    row.value.parse().map_err(|_| StoreError::Other(anyhow::anyhow!("settings.sla_generation is not a number")))
}

async fn bump_generation(conn: &mut Conn<'_>) -> Result<(), StoreError> {
    let next = generation(conn).await? + 1;
    conn.execute("UPDATE settings SET value = $1 WHERE name = 'sla_generation'", args![next.to_string()]).await?;
    Ok(())
}

async fn load_calendars(conn: &mut Conn<'_>) -> Result<Vec<StoredCalendar>, StoreError> {
    let rows: Vec<CalendarRow> =
        conn.fetch_all("SELECT name, source, updated_at FROM calendars ORDER BY name", args![]).await?;
    Ok(rows
        .into_iter()
        .map(|row| StoredCalendar { name: row.name, source: row.source, updated_at: Timestamp(row.updated_at) })
        .collect())
}

async fn load_policies(conn: &mut Conn<'_>) -> Result<Vec<StoredPolicy>, StoreError> {
    let rows: Vec<PolicyRow> = conn
        .fetch_all("SELECT id, position, definition, updated_at FROM sla_policies ORDER BY position, id", args![])
        .await?;
    rows.into_iter().map(StoredPolicy::try_from).collect()
}

/// Checks a policy against what exists: it is valid, its calendar exists (or
/// is the default one), and its teams exist.
async fn check_policy(conn: &mut Conn<'_>, policy: &SlaPolicy) -> Result<(), StoreError> {
    policy.validate().map_err(|error| invalid(error.field, error.problem))?;
    if policy.calendar != DEFAULT_CALENDAR {
        let known: Option<IdRow> = conn
            .fetch_optional(
                "SELECT CAST(1 AS BIGINT) AS id FROM calendars WHERE name = $1",
                args![policy.calendar.clone()],
            )
            .await?;
        if known.is_none() {
            return Err(invalid("calendar", format!("there is no calendar named {:?}", policy.calendar)));
        }
    }
    for (index, team) in policy.conditions.teams.iter().enumerate() {
        let known: Option<IdRow> = conn.fetch_optional("SELECT id FROM teams WHERE id = $1", args![team.0]).await?;
        if known.is_none() {
            return Err(invalid(format!("conditions.teams[{index}]"), format!("team {} does not exist", team.0)));
        }
    }
    Ok(())
}

async fn insert_policy_row(
    conn: &mut Conn<'_>,
    policy: &SlaPolicy,
    position: Option<i64>,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let position = match position {
        Some(position) => position,
        None => {
            let last: IdRow =
                conn.fetch_one("SELECT COALESCE(MAX(position), 0) AS id FROM sla_policies", args![]).await?;
            last.id + 10
        }
    };
    let row: IdRow = conn
        .fetch_one(
            "INSERT INTO sla_policies (name, position, definition, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
            args![policy.name.clone(), position, serde_json::to_string(policy)?, now.0],
        )
        .await
        .map_err(|error| match error {
            StoreError::Conflict { .. } => invalid("name", format!("a policy named {:?} exists already", policy.name)),
            other => other,
        })?;
    Ok(row.id)
}

impl Store {
    /// The time zone of the built-in `default` calendar (`[sla] time_zone`).
    pub fn sla_time_zone(&self) -> &str {
        &self.options.sla_time_zone
    }

    /// Every stored calendar (the default one is built in unless stored).
    pub async fn list_calendars(&self) -> Result<Vec<StoredCalendar>, StoreError> {
        self.db.read(|conn| Box::pin(load_calendars(conn))).await
    }

    /// Creates or replaces calendar `name` from its TOML text, recorded in
    /// the audit log as done by `by` (nothing when the text is the same). A
    /// text that does not parse is refused with the line and field it names.
    pub async fn put_calendar(
        &self,
        name: String,
        source: String,
        by: Actor,
        now: Timestamp,
    ) -> Result<StoredCalendar, StoreError> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid("name", "use 1-100 letters, digits, '-', '_' or '.'"));
        }
        Calendar::parse(&source).map_err(|error| invalid("source", error.to_string()))?;
        self.write(move |conn| {
            Box::pin(async move {
                let before = load_calendars(conn).await?.into_iter().find(|calendar| calendar.name == name);
                conn.execute(
                    "INSERT INTO calendars (name, source, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
                    args![name.clone(), source.clone(), now.0],
                )
                .await?;
                bump_generation(conn).await?;
                let old = before.map(|calendar| json!({"source": calendar.source}));
                if old.as_ref() != Some(&json!({"source": source})) {
                    let verb = if old.is_some() { "changed" } else { "created" };
                    let new = Some(json!({"source": source}));
                    insert_audit(conn, &NewAuditEntry::of(by, "calendar", &name, verb, old, new, now)).await?;
                }
                Ok(StoredCalendar { name, source, updated_at: now })
            })
        })
        .await
    }

    /// Deletes calendar `name`, recorded as done by `by`; refused while a
    /// policy counts on it.
    pub async fn delete_calendar(&self, name: String, by: Actor, now: Timestamp) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                if let Some(user) = load_policies(conn).await?.into_iter().find(|stored| stored.policy.calendar == name)
                {
                    return Err(invalid("name", format!("policy {:?} counts on calendar {name:?}", user.policy.name)));
                }
                let Some(before) = load_calendars(conn).await?.into_iter().find(|calendar| calendar.name == name)
                else {
                    return Err(StoreError::NotFound("calendar"));
                };
                conn.execute("DELETE FROM calendars WHERE name = $1", args![name.clone()]).await?;
                let old = Some(json!({"source": before.source}));
                insert_audit(conn, &NewAuditEntry::of(by, "calendar", &name, "deleted", old, None, now)).await?;
                bump_generation(conn).await
            })
        })
        .await
    }

    /// Every policy, first match first.
    pub async fn list_policies(&self) -> Result<Vec<StoredPolicy>, StoreError> {
        self.db.read(|conn| Box::pin(load_policies(conn))).await
    }

    /// Adds a policy at `position` (after the last one when `None`),
    /// recorded as done by `by`.
    pub async fn insert_policy(
        &self,
        policy: SlaPolicy,
        position: Option<i64>,
        by: Actor,
        now: Timestamp,
    ) -> Result<StoredPolicy, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                check_policy(conn, &policy).await?;
                let id = insert_policy_row(conn, &policy, position, now).await?;
                bump_generation(conn).await?;
                let stored = load_policies(conn).await?.into_iter().find(|stored| stored.id == id);
                let stored = stored.ok_or(StoreError::NotFound("policy"))?;
                insert_audit(
                    conn,
                    &NewAuditEntry::of(by, "policy", id, "created", None, Some(policy_record(&stored)?), now),
                )
                .await?;
                Ok(stored)
            })
        })
        .await
    }

    /// Replaces policy `id` (and its place, when given), recorded as done by `by`.
    pub async fn update_policy(
        &self,
        id: i64,
        policy: SlaPolicy,
        position: Option<i64>,
        by: Actor,
        now: Timestamp,
    ) -> Result<StoredPolicy, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                check_policy(conn, &policy).await?;
                let before = load_policies(conn).await?.into_iter().find(|stored| stored.id == id);
                let changed = conn
                    .execute(
                        "UPDATE sla_policies SET name = $1, definition = $2, position = COALESCE($3, position), \
                         updated_at = $4 WHERE id = $5",
                        args![policy.name.clone(), serde_json::to_string(&policy)?, position, now.0, id],
                    )
                    .await
                    .map_err(|error| match error {
                        StoreError::Conflict { .. } => {
                            invalid("name", format!("a policy named {:?} exists already", policy.name))
                        }
                        other => other,
                    })?;
                if changed == 0 {
                    return Err(StoreError::NotFound("policy"));
                }
                bump_generation(conn).await?;
                let stored = load_policies(conn).await?.into_iter().find(|stored| stored.id == id);
                let stored = stored.ok_or(StoreError::NotFound("policy"))?;
                let old = before.as_ref().map(policy_record).transpose()?;
                let new = Some(policy_record(&stored)?);
                if old != new {
                    insert_audit(conn, &NewAuditEntry::of(by, "policy", id, "changed", old, new, now)).await?;
                }
                Ok(stored)
            })
        })
        .await
    }

    /// Deletes policy `id`, recorded as done by `by`.
    pub async fn delete_policy(&self, id: i64, by: Actor, now: Timestamp) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let before = load_policies(conn).await?.into_iter().find(|stored| stored.id == id);
                if conn.execute("DELETE FROM sla_policies WHERE id = $1", args![id]).await? == 0 {
                    return Err(StoreError::NotFound("policy"));
                }
                if let Some(before) = before {
                    let old = Some(policy_record(&before)?);
                    insert_audit(conn, &NewAuditEntry::of(by, "policy", id, "deleted", old, None, now)).await?;
                }
                bump_generation(conn).await
            })
        })
        .await
    }

    /// Installs the shipped policies ([`default_policies`]) once, into a
    /// database that has never had any; returns how many were installed.
    pub async fn install_default_policies(&self, now: Timestamp) -> Result<usize, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                // Instances starting together on a new database install
                // them one at a time; the others then find them there.
                conn.lock_key("rapport:sla_defaults").await?;
                let done: Option<ValueRow> =
                    conn.fetch_optional("SELECT value FROM settings WHERE name = 'sla_defaults'", args![]).await?;
                if done.is_some() {
                    return Ok(0);
                }
                let policies = default_policies();
                let existing: IdRow = conn.fetch_one("SELECT COUNT(*) AS id FROM sla_policies", args![]).await?;
                if existing.id == 0 {
                    for (index, policy) in policies.iter().enumerate() {
                        insert_policy_row(conn, policy, Some((index as i64 + 1) * 10), now).await?;
                    }
                    bump_generation(conn).await?;
                }
                conn.execute(
                    "INSERT INTO settings (name, value) VALUES ('sla_defaults', 'installed') ON CONFLICT (name) DO NOTHING",
                    args![],
                )
                .await?;
                Ok(if existing.id == 0 { policies.len() } else { 0 })
            })
        })
        .await
    }

    /// The calendars in force with `policy` as the only policy: what a
    /// preview measures a ticket under before the policy is saved. The
    /// policy is checked as saving would check it.
    pub async fn preview_policy_set(&self, policy: SlaPolicy) -> Result<PolicySet, StoreError> {
        let time_zone = self.options.sla_time_zone.clone();
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    check_policy(conn, &policy).await?;
                    let calendars = load_calendar_map(conn).await?;
                    let zone = find_time_zone(&time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
                    Ok(PolicySet::new(vec![(0, policy)], calendars, zone))
                })
            })
            .await
    }

    /// The policies and calendars in force, loaded once per generation.
    pub async fn policy_set(&self) -> Result<(i64, Arc<PolicySet>), StoreError> {
        let time_zone = self.options.sla_time_zone.clone();
        let cache = self.sla_cache.clone();
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    let current = generation(conn).await?;
                    if let Some((cached, set)) = cache.lock().map_err(|_| poisoned())?.as_ref()
                        && *cached == current
                    {
                        return Ok((current, set.clone()));
                    }
                    let calendars = load_calendar_map(conn).await?;
                    let policies =
                        load_policies(conn).await?.into_iter().map(|stored| (stored.id, stored.policy)).collect();
                    let zone = find_time_zone(&time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
                    let set = Arc::new(PolicySet::new(policies, calendars, zone));
                    *cache.lock().map_err(|_| poisoned())? = Some((current, set.clone()));
                    Ok((current, set))
                })
            })
            .await
    }

    /// The teams that exist (for validating rules and policies).
    pub async fn team_ids(&self) -> Result<Vec<TeamId>, StoreError> {
        let rows: Vec<IdRow> = self.db.fetch_all("SELECT id FROM teams ORDER BY id", args![]).await?;
        Ok(rows.into_iter().map(|row| TeamId(row.id)).collect())
    }
}

async fn load_calendar_map(conn: &mut Conn<'_>) -> Result<HashMap<String, Calendar>, StoreError> {
    let mut calendars = HashMap::new();
    for stored in load_calendars(conn).await? {
        let calendar = Calendar::parse(&stored.source)
            .map_err(|error| StoreError::Other(anyhow::anyhow!("stored calendar {:?}: {error}", stored.name)))?;
        calendars.insert(stored.name, calendar);
    }
    Ok(calendars)
}

/// A policy as the audit log keeps it: its definition and its place.
fn policy_record(stored: &StoredPolicy) -> Result<serde_json::Value, StoreError> {
    let mut record = serde_json::to_value(&stored.policy)?;
    if let Some(object) = record.as_object_mut() {
        object.insert("position".to_owned(), json!(stored.position));
    }
    Ok(record)
}

fn poisoned() -> StoreError {
    StoreError::Other(anyhow::anyhow!("the policy cache lock was poisoned"))
}
