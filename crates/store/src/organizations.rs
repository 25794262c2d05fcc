//! Organizations: the customers' companies and their tiers. A tier is a
//! setting (it sets the priority of every ticket of their people), so each
//! change is in the audit log (subject `organization`).

use std::collections::HashMap;

use rapport_core::{Actor, Organization, OrganizationId, Tier, Timestamp};

use crate::Store;
use crate::audit::{NewAuditEntry, insert_audit};
use crate::db::{Conn, IdRow, args};
use crate::error::StoreError;
use crate::projector::mark_customers_tickets;
use crate::rows::OrganizationRow;

impl Store {
    /// Creates an organization, recorded as done by `by`.
    pub async fn insert_organization(
        &self,
        name: String,
        tier: Tier,
        by: Actor,
        now: Timestamp,
    ) -> Result<Organization, StoreError> {
        let id = self
            .write(move |conn| {
                Box::pin(async move {
                    let row: IdRow = conn
                        .fetch_one(
                            "INSERT INTO organizations (name, tier, created_at) VALUES ($1, $2, $3) RETURNING id",
                            args![name.clone(), tier.0.clone(), now.0],
                        )
                        .await?;
                    let record = Some(serde_json::json!({ "name": name, "tier": tier.0 }));
                    insert_audit(conn, &NewAuditEntry::of(by, "organization", row.id, "created", None, record, now))
                        .await?;
                    Ok(OrganizationId(row.id))
                })
            })
            .await?;
        self.get_organization(id).await
    }

    /// An organization.
    pub async fn get_organization(&self, id: OrganizationId) -> Result<Organization, StoreError> {
        let row: Option<OrganizationRow> = self
            .db
            .fetch_optional("SELECT id, name, tier, created_at FROM organizations WHERE id = $1", args![id.0])
            .await?;
        row.map(Organization::from).ok_or(StoreError::NotFound("organization"))
    }

    /// Organizations by id, after `after`.
    pub async fn list_organizations(
        &self,
        after: Option<OrganizationId>,
        limit: i64,
    ) -> Result<Vec<Organization>, StoreError> {
        let rows: Vec<OrganizationRow> = self
            .db
            .fetch_all(
                "SELECT id, name, tier, created_at FROM organizations WHERE id > $1 ORDER BY id LIMIT $2",
                args![after.map_or(0, |id| id.0), limit],
            )
            .await?;
        Ok(rows.into_iter().map(Organization::from).collect())
    }

    /// How many customers each organization has (those with none are left out).
    pub async fn organization_sizes(&self) -> Result<HashMap<OrganizationId, i64>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct SizeRow {
            organization_id: i64,
            customers: i64,
        }
        let rows: Vec<SizeRow> = self
            .db
            .fetch_all(
                "SELECT organization_id, COUNT(*) AS customers FROM customers \
                 WHERE organization_id IS NOT NULL GROUP BY organization_id",
                args![],
            )
            .await?;
        Ok(rows.into_iter().map(|row| (OrganizationId(row.organization_id), row.customers)).collect())
    }

    /// Updates an organization, recorded as done by `by` with the record
    /// before and after (nothing recorded when nothing changed).
    pub async fn update_organization(
        &self,
        id: OrganizationId,
        changes: OrganizationChanges,
        by: Actor,
        now: Timestamp,
    ) -> Result<Organization, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let old = organization_record(conn, id).await?;
                let changed = conn
                    .execute(
                        "UPDATE organizations SET name = COALESCE($1, name), tier = COALESCE($2, tier) WHERE id = $3",
                        args![changes.name, changes.tier.clone().map(|t| t.0), id.0],
                    )
                    .await?;
                if changed == 0 {
                    return Err(StoreError::NotFound("organization"));
                }
                if changes.tier.is_some() {
                    mark_customers_tickets(conn, "SELECT id FROM customers WHERE organization_id = $1", id.0).await?;
                }
                let new = organization_record(conn, id).await?;
                if old != new {
                    let entry = NewAuditEntry::of(by, "organization", id.0, "changed", old, new, now);
                    insert_audit(conn, &entry).await?;
                }
                Ok(())
            })
        })
        .await?;
        self.get_organization(id).await
    }
}

/// An organization as the audit log records it; none when there is no such one.
async fn organization_record(conn: &mut Conn<'_>, id: OrganizationId) -> Result<Option<serde_json::Value>, StoreError> {
    let row: Option<OrganizationRow> =
        conn.fetch_optional("SELECT id, name, tier, created_at FROM organizations WHERE id = $1", args![id.0]).await?;
    Ok(row
        .map(Organization::from)
        .map(|organization| serde_json::json!({ "name": organization.name, "tier": organization.tier.0 })))
}

/// Changes to an organization.
#[derive(Debug, Clone, Default)]
pub struct OrganizationChanges {
    /// New name.
    pub name: Option<String>,
    /// New tier.
    pub tier: Option<Tier>,
}
