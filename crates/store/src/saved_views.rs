//! Saved queue views: a base view (mine, unassigned, at risk...) with the
//! filters an agent chose, kept under a name. An agent's own views are theirs
//! alone; a shared view (no owner) is seen by everyone and is made and removed
//! by supervisors and admins (the caller checks the role).

use rapport_core::{AgentId, Timestamp};

use crate::Store;
use crate::db::{IdRow, args};
use crate::error::StoreError;

/// A saved view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    /// Id.
    pub id: i64,
    /// The agent it belongs to; `None` when shared with everyone.
    pub agent: Option<AgentId>,
    /// Its name in the list.
    pub name: String,
    /// The view it narrows (`mine`, `team`, `unassigned`, `at-risk`, `all`).
    pub base: String,
    /// The filters, as the queue page's query string (`status=open&tag=vip`).
    pub filters: String,
}

/// A view to save.
#[derive(Debug, Clone)]
pub struct NewSavedView {
    /// The agent it belongs to; `None` to share it with everyone.
    pub agent: Option<AgentId>,
    /// Its name.
    pub name: String,
    /// The view it narrows.
    pub base: String,
    /// The filters as a query string.
    pub filters: String,
    /// Who saved it.
    pub created_by: AgentId,
    /// Now.
    pub now: Timestamp,
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: i64,
    agent_id: Option<i64>,
    name: String,
    base: String,
    filters: String,
}

impl From<ViewRow> for SavedView {
    fn from(row: ViewRow) -> SavedView {
        SavedView { id: row.id, agent: row.agent_id.map(AgentId), name: row.name, base: row.base, filters: row.filters }
    }
}

impl Store {
    /// Saves a view; returns it.
    pub async fn insert_saved_view(&self, view: NewSavedView) -> Result<SavedView, StoreError> {
        let saved = view.clone();
        let id = self
            .write(move |conn| {
                Box::pin(async move {
                    let row: IdRow = conn
                        .fetch_one(
                            "INSERT INTO saved_views (agent_id, name, base, filters, created_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                            args![
                                view.agent.map(|agent| agent.0),
                                view.name,
                                view.base,
                                view.filters,
                                view.created_by.0,
                                view.now.0
                            ],
                        )
                        .await?;
                    Ok(row.id)
                })
            })
            .await?;
        Ok(SavedView { id, agent: saved.agent, name: saved.name, base: saved.base, filters: saved.filters })
    }

    /// The views `agent` sees: their own, then the shared ones, each by name.
    pub async fn list_saved_views(&self, agent: AgentId) -> Result<Vec<SavedView>, StoreError> {
        let rows: Vec<ViewRow> = self
            .db
            .fetch_all(
                "SELECT id, agent_id, name, base, filters FROM saved_views WHERE agent_id = $1 OR agent_id IS NULL \
                 ORDER BY CASE WHEN agent_id IS NULL THEN 1 ELSE 0 END, name, id",
                args![agent.0],
            )
            .await?;
        Ok(rows.into_iter().map(SavedView::from).collect())
    }

    /// The view with this id, if `agent` sees it.
    pub async fn find_saved_view(&self, id: i64, agent: AgentId) -> Result<Option<SavedView>, StoreError> {
        let row: Option<ViewRow> = self
            .db
            .fetch_optional(
                "SELECT id, agent_id, name, base, filters FROM saved_views \
                 WHERE id = $1 AND (agent_id = $2 OR agent_id IS NULL)",
                args![id, agent.0],
            )
            .await?;
        Ok(row.map(SavedView::from))
    }

    /// Removes a view `agent` sees (a shared one only when `shared_too`);
    /// `NotFound` for any other.
    pub async fn delete_saved_view(&self, id: i64, agent: AgentId, shared_too: SharedViews) -> Result<(), StoreError> {
        let shared = i64::from(shared_too == SharedViews::MayRemove);
        self.write(move |conn| {
            Box::pin(async move {
                let removed = conn
                    .execute(
                        "DELETE FROM saved_views WHERE id = $1 AND (agent_id = $2 OR (agent_id IS NULL AND $3 = 1))",
                        args![id, agent.0, shared],
                    )
                    .await?;
                if removed == 0 { Err(StoreError::NotFound("saved view")) } else { Ok(()) }
            })
        })
        .await
    }
}

/// Whether the caller may remove shared views (supervisors and admins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedViews {
    /// Shared views too.
    MayRemove,
    /// Only their own.
    OwnOnly,
}
