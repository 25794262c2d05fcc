//! Agents' signed-in sessions in the workspace. The cookie carries a random
//! secret; only its SHA-256 is stored (as for API tokens and help-page
//! sessions), so a copy of the database signs nobody in. Sessions live in
//! the database so that every instance on one PostgreSQL honours the same
//! sign-in and the same sign-out.
//!
//! A session ends when it expires, when the agent signs out, and for every
//! session of an agent at once when their password changes or they are
//! deactivated (in the same transaction as that change: see `agents.rs`).

use rapport_core::{Agent, AgentId, Timestamp};

use crate::Store;
use crate::db::{Conn, IdRow, args};
use crate::error::StoreError;

/// A session to begin at sign-in.
#[derive(Debug, Clone)]
pub struct NewAgentSession {
    /// The agent who signed in.
    pub agent: AgentId,
    /// Lower-case hex SHA-256 of the cookie's secret.
    pub token_hash: String,
    /// The session the browser held before, if any: it ends now, so the
    /// session id changes at every sign-in.
    pub replaces: Option<String>,
    /// Now.
    pub now: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
}

impl Store {
    /// Begins a session (and ends the one it replaces) in one transaction.
    pub async fn begin_agent_session(&self, session: NewAgentSession) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                if let Some(old) = session.replaces {
                    conn.execute("DELETE FROM agent_sessions WHERE token_hash = $1", args![old]).await?;
                }
                conn.execute(
                    "INSERT INTO agent_sessions (token_hash, agent_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                    args![session.token_hash, session.agent.0, session.now.0, session.expires_at.0],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// The active agent whose unexpired session has this hash, if any.
    pub async fn find_agent_by_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Agent>, StoreError> {
        let row: Option<IdRow> = self
            .db
            .fetch_optional(
                "SELECT a.id FROM agent_sessions s JOIN agents a ON a.id = s.agent_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.active = 1",
                args![token_hash.to_owned(), now.0],
            )
            .await?;
        match row {
            Some(row) => Ok(Some(self.get_agent(AgentId(row.id)).await?)),
            None => Ok(None),
        }
    }

    /// Ends one session (signing out); ending one that is gone is not an error.
    pub async fn end_agent_session(&self, token_hash: String) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                conn.execute("DELETE FROM agent_sessions WHERE token_hash = $1", args![token_hash]).await?;
                Ok(())
            })
        })
        .await
    }

    /// How many unexpired sessions the agent has (for the admin pages and tests).
    pub async fn count_agent_sessions(&self, agent: AgentId, now: Timestamp) -> Result<i64, StoreError> {
        #[derive(sqlx::FromRow)]
        struct CountRow {
            count: i64,
        }
        let row: CountRow = self
            .db
            .fetch_one(
                "SELECT COUNT(*) AS count FROM agent_sessions WHERE agent_id = $1 AND expires_at > $2",
                args![agent.0, now.0],
            )
            .await?;
        Ok(row.count)
    }

    /// Forgets a rate counter (a successful sign-in clears its account's
    /// failures); forgetting one that is gone is not an error.
    pub async fn reset_attempts(&self, key: String) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                conn.execute("DELETE FROM rate_counters WHERE key = $1", args![key]).await?;
                Ok(())
            })
        })
        .await
    }

    /// Deletes expired sessions; returns how many went.
    pub async fn purge_agent_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.write(move |conn| {
            Box::pin(
                async move { conn.execute("DELETE FROM agent_sessions WHERE expires_at <= $1", args![now.0]).await },
            )
        })
        .await
    }
}

/// Ends every session of `agent`, inside the caller's transaction.
pub(crate) async fn end_all_sessions(conn: &mut Conn<'_>, agent: AgentId) -> Result<u64, StoreError> {
    conn.execute("DELETE FROM agent_sessions WHERE agent_id = $1", args![agent.0]).await
}
