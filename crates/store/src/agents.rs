//! Agents: their roles, teams and passwords; never fewer than one active admin.

use rapport_core::{Agent, AgentId, Role, TeamId, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::agent_sessions::end_all_sessions;
use crate::db::{Conn, IdRow, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::tickets::reference_error;
use crate::rows::{AGENT_COLUMNS, AgentRow, MembershipRow};

impl Store {
    /// Creates an agent.
    pub async fn insert_agent(&self, agent: NewAgent) -> Result<Agent, StoreError> {
        let id = self
            .write(move |conn| {
                Box::pin(async move {
                    let row: IdRow = conn
                        .fetch_one(
                            "INSERT INTO agents (email, name, role, skills, languages, password_hash, active, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) RETURNING id",
                            args![
                                agent.email,
                                agent.name,
                                agent.role.as_str(),
                                serde_json::to_string(&agent.skills)?,
                                serde_json::to_string(&agent.languages)?,
                                agent.password_hash,
                                agent.now.0
                            ],
                        )
                        .await?;
                    let id = AgentId(row.id);
                    set_memberships(conn, id, &agent.teams).await?;
                    Ok(id)
                })
            })
            .await?;
        self.get_agent(id).await
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

    /// Updates an agent.
    pub async fn update_agent(&self, id: AgentId, changes: AgentChanges) -> Result<Agent, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let skills = changes.skills.map(|s| serde_json::to_string(&s)).transpose()?;
                let languages = changes.languages.map(|l| serde_json::to_string(&l)).transpose()?;
                // A new password or a deactivation signs the agent out everywhere.
                let signs_out = changes.password_hash.is_some() || changes.active == Some(false);
                let may_remove_admin =
                    changes.role.is_some_and(|role| role != Role::Admin) || changes.active == Some(false);
                if may_remove_admin {
                    let admins = active_admins(conn).await?;
                    if admins.len() == 1 && admins[0].id == id.0 {
                        return Err(Rejection::LastAdmin.into());
                    }
                }
                let changed = conn
                    .execute(
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
                if changed == 0 {
                    return Err(StoreError::NotFound("agent"));
                }
                if signs_out {
                    end_all_sessions(conn, id).await?;
                }
                if let Some(teams) = changes.teams {
                    conn.execute("DELETE FROM agent_teams WHERE agent_id = $1", args![id.0]).await?;
                    set_memberships(conn, id, &teams).await?;
                }
                Ok(())
            })
        })
        .await?;
        self.get_agent(id).await
    }
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
