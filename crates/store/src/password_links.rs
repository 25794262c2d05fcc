//! Single-use links that let an agent choose a password: an invitation to a
//! new agent, or a reset for one who forgot theirs. Only the SHA-256 of a
//! link's secret is stored. A link is created with its email in one
//! transaction (the email goes through the outbox like every other), works
//! once, and expires; using it sets the password and ends every session of
//! the agent in one transaction.

use rapport_core::outbox::OutboundPayload;
use rapport_core::{Actor, Agent, AgentId, Channel, Timestamp};

use crate::Store;
use crate::agent_sessions::end_all_sessions;
use crate::agents::{NewAgent, audit_entry, insert_agent_in};
use crate::audit::insert_audit;
use crate::db::Conn;
use crate::db::{IdRow, args};
use crate::error::StoreError;
use crate::kernel::outbox::enqueue_with_secret;

/// Why a link was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordPurpose {
    /// A new agent chooses their first password.
    Invite,
    /// An agent who forgot their password chooses a new one.
    Reset,
}

impl PasswordPurpose {
    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordPurpose::Invite => "invite",
            PasswordPurpose::Reset => "reset",
        }
    }

    fn parse(word: &str) -> Result<PasswordPurpose, StoreError> {
        match word {
            "invite" => Ok(PasswordPurpose::Invite),
            "reset" => Ok(PasswordPurpose::Reset),
            other => Err(StoreError::Other(anyhow::anyhow!("unknown password link purpose {other:?}"))),
        }
    }
}

/// A link to create.
#[derive(Debug, Clone)]
pub struct NewPasswordLink {
    /// For whom.
    pub agent: AgentId,
    /// Lower-case hex SHA-256 of the link's secret.
    pub token_hash: String,
    /// Invitation or reset.
    pub purpose: PasswordPurpose,
    /// Now.
    pub now: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// The email that carries a link: queued in the same transaction.
#[derive(Debug, Clone)]
pub struct LinkEmail {
    /// Its Message-ID.
    pub external_id: String,
    /// The message.
    pub payload: OutboundPayload,
    /// The link's URL, kept in the outbox only until the email is sent.
    pub url: String,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    agent_id: i64,
    purpose: String,
}

async fn insert_link(conn: &mut Conn<'_>, link: &NewPasswordLink, email: Option<&LinkEmail>) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO password_links (token_hash, agent_id, purpose, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        args![link.token_hash.clone(), link.agent.0, link.purpose.as_str(), link.now.0, link.expires_at.0],
    )
    .await?;
    if let Some(email) = email {
        let secret = Some(email.url.as_str());
        enqueue_with_secret(conn, None, None, Channel::Email, &email.external_id, &email.payload, secret, link.now)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Creates a link, and queues its email when one is given, in one transaction.
    pub async fn create_password_link(
        &self,
        link: NewPasswordLink,
        email: Option<LinkEmail>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| Box::pin(async move { insert_link(conn, &link, email.as_ref()).await })).await
    }

    /// Sends `agent` a new invitation (a link and its email), recorded in
    /// the audit log as sent by `by`, in one transaction.
    pub async fn reinvite_agent(&self, link: NewPasswordLink, email: LinkEmail, by: Actor) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let agent = crate::agents::load_agent(conn, link.agent).await?;
                insert_link(conn, &link, Some(&email)).await?;
                insert_audit(conn, &audit_entry(by, &agent, "invited", None, None, link.now)).await?;
                Ok(())
            })
        })
        .await
    }

    /// Creates an agent without a password and invites them (a link that
    /// works until `expires_at`, its email queued), in one transaction:
    /// there is never an agent whose invitation was lost, nor an invitation
    /// for nobody. The link's `agent` is the new agent's id, whatever `link` says.
    pub async fn invite_agent(
        &self,
        agent: NewAgent,
        link: NewPasswordLink,
        email: LinkEmail,
    ) -> Result<Agent, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let created = insert_agent_in(conn, &agent).await?;
                let link = NewPasswordLink { agent: created.id, ..link };
                insert_link(conn, &link, Some(&email)).await?;
                insert_audit(conn, &audit_entry(agent.by, &created, "invited", None, None, link.now)).await?;
                Ok(created)
            })
        })
        .await
    }

    /// The active agent a working link (unused, unexpired) is for, and why it was made.
    pub async fn find_password_link(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(Agent, PasswordPurpose)>, StoreError> {
        let row: Option<LinkRow> = self
            .db
            .fetch_optional(
                "SELECT l.agent_id, l.purpose FROM password_links l JOIN agents a ON a.id = l.agent_id \
                 WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 AND a.active = 1",
                args![token_hash.to_owned(), now.0],
            )
            .await?;
        match row {
            Some(row) => {
                let purpose = PasswordPurpose::parse(&row.purpose)?;
                Ok(Some((self.get_agent(AgentId(row.agent_id)).await?, purpose)))
            }
            None => Ok(None),
        }
    }

    /// Uses a working link: sets the agent's password hash, uses the link up
    /// (and every other link of theirs), and ends their sessions, in one
    /// transaction. `None`, changing nothing, when the link does not work.
    pub async fn use_password_link(
        &self,
        token_hash: String,
        password_hash: String,
        now: Timestamp,
    ) -> Result<Option<Agent>, StoreError> {
        let agent = self
            .write(move |conn| {
                Box::pin(async move {
                    let lock = conn.lock_rows();
                    let sql = format!(
                        "SELECT l.agent_id AS id FROM password_links l JOIN agents a ON a.id = l.agent_id \
                         WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 AND a.active = 1{lock}"
                    );
                    let row: Option<IdRow> =
                        conn.fetch_optional(sqlx::AssertSqlSafe(sql), args![token_hash, now.0]).await?;
                    let Some(row) = row else { return Ok(None) };
                    conn.execute(
                        "UPDATE password_links SET used_at = $1 WHERE agent_id = $2 AND used_at IS NULL",
                        args![now.0, row.id],
                    )
                    .await?;
                    conn.execute("UPDATE agents SET password_hash = $1 WHERE id = $2", args![password_hash, row.id])
                        .await?;
                    end_all_sessions(conn, AgentId(row.id)).await?;
                    Ok(Some(AgentId(row.id)))
                })
            })
            .await?;
        match agent {
            Some(id) => Ok(Some(self.get_agent(id).await?)),
            None => Ok(None),
        }
    }
}
