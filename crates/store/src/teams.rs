//! Teams: their names, and who owns an ownerless ticket once an agent answers.

use rapport_core::{Actor, Team, TeamId, Timestamp};

use crate::Store;
use crate::audit::{NewAuditEntry, insert_audit};
use crate::db::{Conn, IdRow, args};
use crate::error::StoreError;
use crate::rows::TeamRow;

impl Store {
    /// Creates a team as the system (seeding, the command line): see [`Store::create_team`].
    pub async fn insert_team(&self, name: String, description: String, now: Timestamp) -> Result<Team, StoreError> {
        self.create_team(name, description, Actor::System, now).await
    }

    /// Creates a team, recorded in the audit log as made by `by`.
    pub async fn create_team(
        &self,
        name: String,
        description: String,
        by: Actor,
        now: Timestamp,
    ) -> Result<Team, StoreError> {
        let id = self
            .write(move |conn| {
                Box::pin(async move {
                    let row: IdRow = conn
                        .fetch_one(
                            "INSERT INTO teams (name, description, created_at) VALUES ($1, $2, $3) RETURNING id",
                            args![name, description, now.0],
                        )
                        .await?;
                    let id = TeamId(row.id);
                    let record = team_record(conn, id).await?;
                    let entry = NewAuditEntry::of(by, "team", id.0, "created", None, Some(record), now);
                    insert_audit(conn, &entry).await?;
                    Ok(id)
                })
            })
            .await?;
        self.get_team(id).await
    }

    /// A team.
    pub async fn get_team(&self, id: TeamId) -> Result<Team, StoreError> {
        let row: Option<TeamRow> = self
            .db
            .fetch_optional(
                "SELECT id, name, description, owner_on_reply, reply_undo_seconds, created_at FROM teams WHERE id = $1",
                args![id.0],
            )
            .await?;
        row.map(Team::from).ok_or(StoreError::NotFound("team"))
    }

    /// All teams by id, after `after`.
    pub async fn list_teams(&self, after: Option<TeamId>, limit: i64) -> Result<Vec<Team>, StoreError> {
        let rows: Vec<TeamRow> = self
            .db
            .fetch_all(
                "SELECT id, name, description, owner_on_reply, reply_undo_seconds, created_at FROM teams WHERE id > $1 ORDER BY id LIMIT $2",
                args![after.map_or(0, |id| id.0), limit],
            )
            .await?;
        Ok(rows.into_iter().map(Team::from).collect())
    }

    /// Updates a team.
    pub async fn update_team(&self, id: TeamId, changes: TeamChanges) -> Result<Team, StoreError> {
        self.write(move |conn| Box::pin(update_team_row(conn, id, changes))).await?;
        self.get_team(id).await
    }
}

/// Changes to a team.
#[derive(Debug, Clone, Default)]
pub struct TeamChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Who owns an ownerless ticket once an agent answers it.
    pub owner_on_reply: Option<rapport_core::event::OwnerOnReply>,
    /// How long its agents may take back an email, messaging or SMS reply, in seconds.
    pub reply_undo_seconds: Option<i64>,
}

/// Changes a team's name and description; `NotFound` when it does not exist.
pub(crate) async fn update_team_row(conn: &mut Conn<'_>, id: TeamId, changes: TeamChanges) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            "UPDATE teams SET name = COALESCE($1, name), description = COALESCE($2, description), \
             owner_on_reply = COALESCE($3, owner_on_reply), reply_undo_seconds = COALESCE($4, reply_undo_seconds) WHERE id = $5",
            args![
                changes.name,
                changes.description,
                changes.owner_on_reply.map(|rule| rule.as_str().to_owned()),
                changes.reply_undo_seconds,
                id.0
            ],
        )
        .await?;
    if changed == 0 { Err(StoreError::NotFound("team")) } else { Ok(()) }
}

/// A team's settings as the audit log keeps them.
pub(crate) async fn team_record(conn: &mut Conn<'_>, team: TeamId) -> Result<serde_json::Value, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        name: String,
        description: String,
        owner_on_reply: String,
        reply_undo_seconds: i64,
        overflow_team_id: Option<i64>,
        overflow_after_seconds: Option<i64>,
    }
    let row: Option<Row> = conn
        .fetch_optional(
            "SELECT name, description, owner_on_reply, reply_undo_seconds, overflow_team_id, overflow_after_seconds \
             FROM teams WHERE id = $1",
            args![team.0],
        )
        .await?;
    let row = row.ok_or(StoreError::NotFound("team"))?;
    Ok(serde_json::json!({
        "name": row.name,
        "description": row.description,
        "owner_on_reply": row.owner_on_reply,
        "reply_undo_seconds": row.reply_undo_seconds,
        "overflow_team": row.overflow_team_id,
        "overflow_after_minutes": row.overflow_after_seconds.map(|seconds| seconds / 60),
    }))
}
