//! API tokens. Only a SHA-256 of each secret is stored: a stolen database
//! does not hand out working tokens, and a fast hash is enough for a
//! 256-bit random secret (unlike passwords, which use argon2id).

use rapport_core::{Actor, Agent, AgentId, Timestamp};
use serde_json::json;

use crate::Store;
use crate::audit::{NewAuditEntry, insert_audit};
use crate::db::{IdRow, args};
use crate::error::StoreError;

/// A token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Id, used to revoke it.
    pub id: i64,
    /// The agent it acts as.
    pub agent: AgentId,
    /// The agent's email.
    pub email: String,
    /// A label.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    agent_id: i64,
    email: String,
    name: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl Store {
    /// Stores a token by the hash of its secret, recorded as made by `by`
    /// (never the secret or its hash); returns its id.
    pub async fn insert_token(
        &self,
        agent: AgentId,
        name: String,
        secret_hash: String,
        by: Actor,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let row: IdRow = conn
                    .fetch_one(
                        "INSERT INTO api_tokens (agent_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                        args![agent.0, name.clone(), secret_hash, now.0],
                    )
                    .await?;
                let new = Some(json!({"agent": agent.0, "label": name, "revoked": false}));
                insert_audit(conn, &NewAuditEntry::of(by, "token", row.id, "created", None, new, now)).await?;
                Ok(row.id)
            })
        })
        .await
    }

    /// The active agent whose unrevoked token has this hash, if any.
    pub async fn find_agent_by_token(&self, secret_hash: &str) -> Result<Option<Agent>, StoreError> {
        let hash = secret_hash.to_owned();
        let row: Option<IdRow> = self
            .db
            .fetch_optional(
                "SELECT a.id FROM api_tokens t JOIN agents a ON a.id = t.agent_id \
                 WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND a.active = 1",
                args![hash],
            )
            .await?;
        match row {
            Some(row) => Ok(Some(self.get_agent(AgentId(row.id)).await?)),
            None => Ok(None),
        }
    }

    /// Every token, newest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let rows: Vec<TokenRow> = self
            .db
            .fetch_all(
                "SELECT t.id, t.agent_id, a.email, t.name, t.created_at, t.revoked_at FROM api_tokens t \
                 JOIN agents a ON a.id = t.agent_id ORDER BY t.id DESC",
                vec![],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| TokenInfo {
                id: row.id,
                agent: AgentId(row.agent_id),
                email: row.email,
                name: row.name,
                created_at: Timestamp(row.created_at),
                revoked_at: row.revoked_at.map(Timestamp),
            })
            .collect())
    }

    /// Revokes a token, recorded as done by `by`; revoking twice is not an
    /// error (and records nothing the second time).
    pub async fn revoke_token(&self, id: i64, by: Actor, now: Timestamp) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let found: Option<IdRow> =
                    conn.fetch_optional("SELECT id FROM api_tokens WHERE id = $1", args![id]).await?;
                found.ok_or(StoreError::NotFound("token"))?;
                let changed = conn
                    .execute(
                        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                        args![now.0, id],
                    )
                    .await?;
                if changed > 0 {
                    let (old, new) = (Some(json!({"revoked": false})), Some(json!({"revoked": true})));
                    insert_audit(conn, &NewAuditEntry::of(by, "token", id, "revoked", old, new, now)).await?;
                }
                Ok(())
            })
        })
        .await
    }
}
