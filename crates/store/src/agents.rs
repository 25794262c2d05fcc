//! Agents: their roles, teams and passwords; never fewer than one active
//! admin. Every creation and change is recorded in the audit log, in its
//! own transaction, with the agent's record before and after (never a
//! password or its hash).

use rapport_core::{Actor, Agent, AgentId, Role, TeamId, Timestamp};
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::agent_sessions::end_all_sessions;
use crate::audit::{NewAuditEntry, insert_audit};
use crate::db::{Conn, IdRow, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::tickets::reference_error;
use crate::rows::{AGENT_COLUMNS, AgentRow, MembershipRow};

impl Store {
    /// Creates an agent.
    pub async fn insert_agent(&self, agent: NewAgent) -> Result<Agent, StoreError> {
        self.write(move |conn| Box::pin(async move { insert_agent_in(conn, &agent).await })).await
    }

    /// An agent.
    pub async fn get_agent(&self, id: AgentId) -> Result<Agent, StoreError> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1");
        self.agents_where(sql, args![id.0]).await?.into_iter().next().ok_or(StoreError::NotFound("agent"))
    }

    /// The agent with this sign-in email (lower-cased by the caller), if any.
    pub async fn find_agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE email = $1");
        Ok(self.agents_where(sql, args![email]).await?.into_iter().next())
    }

    /// The agent's password hash, if they have one.
    pub async fn find_password_hash(&self, id: AgentId) -> Result<Option<String>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct HashRow {
            password_hash: Option<String>,
        }
        let row: Option<HashRow> =
            self.db.fetch_optional("SELECT password_hash FROM agents WHERE id = $1", args![id.0]).await?;
        Ok(row.and_then(|row| row.password_hash))
    }

    /// The agents who have not chosen a password yet (an invitation is out).
    pub async fn list_agents_without_password(&self) -> Result<Vec<AgentId>, StoreError> {
        let rows: Vec<IdRow> =
            self.db.fetch_all("SELECT id FROM agents WHERE password_hash IS NULL ORDER BY id", args![]).await?;
        Ok(rows.into_iter().map(|row| AgentId(row.id)).collect())
    }

    /// Agents by id, after `after`.
    pub async fn list_agents(&self, after: Option<AgentId>, limit: i64) -> Result<Vec<Agent>, StoreError> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id > $1 ORDER BY id LIMIT $2");
        self.agents_where(sql, args![after.map_or(0, |id| id.0), limit]).await
    }

    async fn agents_where(&self, sql: String, values: Vec<crate::db::Arg>) -> Result<Vec<Agent>, StoreError> {
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    let rows: Vec<AgentRow> = conn.fetch_all(AssertSqlSafe(sql), values).await?;
                    let mut agents = Vec::with_capacity(rows.len());
                    for row in rows {
                        let memberships: Vec<MembershipRow> = conn
                            .fetch_all(
                                "SELECT team_id FROM agent_teams WHERE agent_id = $1 ORDER BY team_id",
                                args![row.id],
                            )
                            .await?;
                        let teams = memberships.into_iter().map(|m| TeamId(m.team_id)).collect();
                        agents.push(row.into_agent(teams)?);
                    }
                    Ok(agents)
                })
            })
            .await
    }

    /// Updates an agent, recording the change (by `by`, at `now`) when
    /// anything changed; a new password or a deactivation ends every
    /// session of the agent in the same transaction.
    pub async fn update_agent(
        &self,
        id: AgentId,
        changes: AgentChanges,
        by: Actor,
        now: Timestamp,
    ) -> Result<Agent, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let before = load_agent(conn, id).await?;
                let skills = changes.skills.map(|s| serde_json::to_string(&s)).transpose()?;
                let languages = changes.languages.map(|l| serde_json::to_string(&l)).transpose()?;
                let new_password = changes.password_hash.is_some();
                let may_remove_admin =
                    changes.role.is_some_and(|role| role != Role::Admin) || changes.active == Some(false);
                if may_remove_admin {
                    let admins = active_admins(conn).await?;
                    if admins.len() == 1 && admins[0].id == id.0 {
                        return Err(Rejection::LastAdmin.into());
                    }
                }
                conn.execute(
                    "UPDATE agents SET name = COALESCE($1, name), role = COALESCE($2, role), \
                     skills = COALESCE($3, skills), languages = COALESCE($4, languages), \
                     active = COALESCE($5, active), password_hash = COALESCE($6, password_hash) WHERE id = $7",
                    args![
                        changes.name,
                        changes.role.map(|r| r.as_str().to_owned()),
                        skills,
                        languages,
                        changes.active.map(i64::from),
                        changes.password_hash,
                        id.0
                    ],
                )
                .await?;
                if let Some(capacity) = changes.chat_capacity {
                    conn.execute(
                        "UPDATE agents SET chat_capacity = $1 WHERE id = $2",
                        args![capacity.map(i64::from), id.0],
                    )
                    .await?;
                }
                if let Some(teams) = changes.teams {
                    conn.execute("DELETE FROM agent_teams WHERE agent_id = $1", args![id.0]).await?;
                    set_memberships(conn, id, &teams).await?;
                }
                let after = load_agent(conn, id).await?;
                // A new password or a deactivation signs the agent out everywhere.
                if new_password || (before.active && !after.active) {
                    end_all_sessions(conn, id).await?;
                }
                let verb = match (before.active, after.active) {
                    (true, false) => "deactivated",
                    (false, true) => "reactivated",
                    _ => "changed",
                };
                if before != after {
                    let entry = audit_entry(by, &after, verb, Some(record(&before)), Some(record(&after)), now);
                    insert_audit(conn, &entry).await?;
                } else if new_password {
                    let entry = audit_entry(by, &after, "password_changed", None, None, now);
                    insert_audit(conn, &entry).await?;
                }
                Ok(after)
            })
        })
        .await
    }
}

/// Creates an agent in the caller's transaction, recording it.
pub(crate) async fn insert_agent_in(conn: &mut Conn<'_>, agent: &NewAgent) -> Result<Agent, StoreError> {
    let row: IdRow = conn
        .fetch_one(
            "INSERT INTO agents (email, name, role, skills, languages, password_hash, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) RETURNING id",
            args![
                agent.email.clone(),
                agent.name.clone(),
                agent.role.as_str(),
                serde_json::to_string(&agent.skills)?,
                serde_json::to_string(&agent.languages)?,
                agent.password_hash.clone(),
                agent.now.0
            ],
        )
        .await?;
    let id = AgentId(row.id);
    set_memberships(conn, id, &agent.teams).await?;
    let created = load_agent(conn, id).await?;
    let entry = audit_entry(agent.by, &created, "created", None, Some(record(&created)), agent.now);
    insert_audit(conn, &entry).await?;
    Ok(created)
}

/// The agent as the audit log keeps it: every setting, no secret.
fn record(agent: &Agent) -> Value {
    json!({
        "email": agent.email,
        "name": agent.name,
        "role": agent.role.as_str(),
        "teams": agent.teams.iter().map(|team| team.0).collect::<Vec<_>>(),
        "skills": agent.skills,
        "languages": agent.languages,
        "chat_capacity": agent.chat_capacity,
        "active": agent.active,
    })
}

pub(crate) fn audit_entry(
    by: Actor,
    agent: &Agent,
    verb: &str,
    old: Option<Value>,
    new: Option<Value>,
    at: Timestamp,
) -> NewAuditEntry {
    NewAuditEntry::of(by, "agent", agent.id.0, verb, old, new, at)
}

/// The agent with this id, read in the caller's transaction.
pub(crate) async fn load_agent(conn: &mut Conn<'_>, id: AgentId) -> Result<Agent, StoreError> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1");
    let row: Option<AgentRow> = conn.fetch_optional(AssertSqlSafe(sql), args![id.0]).await?;
    let row = row.ok_or(StoreError::NotFound("agent"))?;
    let memberships: Vec<MembershipRow> =
        conn.fetch_all("SELECT team_id FROM agent_teams WHERE agent_id = $1 ORDER BY team_id", args![id.0]).await?;
    row.into_agent(memberships.into_iter().map(|m| TeamId(m.team_id)).collect())
}

/// An agent to create.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Sign-in email, normalised by the caller.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Teams.
    pub teams: Vec<TeamId>,
    /// Skills.
    pub skills: Vec<String>,
    /// Languages.
    pub languages: Vec<String>,
    /// An argon2id hash, if the agent signs in with a password.
    pub password_hash: Option<String>,
    /// Now.
    pub now: Timestamp,
    /// Who creates them, for the audit log.
    pub by: Actor,
}

/// Changes to an agent.
#[derive(Debug, Clone, Default)]
pub struct AgentChanges {
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New team set.
    pub teams: Option<Vec<TeamId>>,
    /// New skills.
    pub skills: Option<Vec<String>>,
    /// New languages.
    pub languages: Option<Vec<String>>,
    /// Active or deactivated.
    pub active: Option<bool>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// New chat capacity (`Some(None)`: back to the configured default).
    pub chat_capacity: Option<Option<u32>>,
}

/// The active admins, their rows held until the transaction ends, so that
/// two admins removed at once on PostgreSQL are counted one after the other
/// (and the second refused); SQLite's one writer already orders them.
async fn active_admins(conn: &mut Conn<'_>) -> Result<Vec<IdRow>, StoreError> {
    let lock = conn.lock_rows();
    let sql = format!("SELECT id FROM agents WHERE role = 'admin' AND active = 1{lock}");
    conn.fetch_all(AssertSqlSafe(sql), args![]).await
}

async fn set_memberships(conn: &mut Conn<'_>, agent: AgentId, teams: &[TeamId]) -> Result<(), StoreError> {
    for team in teams {
        conn.execute(
            "INSERT INTO agent_teams (agent_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            args![agent.0, team.0],
        )
        .await
        .map_err(|error| reference_error(error, "teams"))?;
    }
    Ok(())
}
