//! Organizations: the customers' companies and their tiers.

use rapport_core::{Organization, OrganizationId, Tier, Timestamp};

use crate::Store;
use crate::db::{IdRow, args};
use crate::error::StoreError;
use crate::projector::mark_customers_tickets;
use crate::rows::OrganizationRow;

impl Store {
    /// Creates an organization.
    pub async fn insert_organization(
        &self,
        name: String,
        tier: Tier,
        now: Timestamp,
    ) -> Result<Organization, StoreError> {
        let id = self
            .write(move |conn| {
                Box::pin(async move {
                    let row: IdRow = conn
                        .fetch_one(
                            "INSERT INTO organizations (name, tier, created_at) VALUES ($1, $2, $3) RETURNING id",
                            args![name, tier.0, now.0],
                        )
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

    /// Updates an organization.
    pub async fn update_organization(
        &self,
        id: OrganizationId,
        changes: OrganizationChanges,
    ) -> Result<Organization, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
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
                Ok(())
            })
        })
        .await?;
        self.get_organization(id).await
    }
}

/// Changes to an organization.
#[derive(Debug, Clone, Default)]
pub struct OrganizationChanges {
    /// New name.
    pub name: Option<String>,
    /// New tier.
    pub tier: Option<Tier>,
}
