//! Customers, organizations and teams.

use crate::identity::Identity;
use crate::ids::{CustomerId, OrganizationId, TeamId};
use crate::priority::Tier;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A person who contacts support, with every identity they use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Id.
    pub id: CustomerId,
    /// Display name; may be empty when only an address is known.
    pub name: String,
    /// The organization they belong to, if any.
    pub organization: Option<OrganizationId>,
    /// Their own tier; `None` means the organization's, or basic.
    pub tier: Option<Tier>,
    /// Their addresses and handles, normalised.
    pub identities: Vec<Identity>,
    /// When their personal data was erased, if it was.
    pub erased_at: Option<Timestamp>,
    /// When the record was created.
    pub created_at: Timestamp,
}

impl Customer {
    /// The tier that applies: the customer's own, else the organization's, else basic.
    pub fn effective_tier(&self, organization: Option<&Organization>) -> Tier {
        self.tier
            .clone()
            .or_else(|| organization.map(|organization| organization.tier.clone()))
            .unwrap_or_else(Tier::basic)
    }
}

/// A company whose people are customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Id.
    pub id: OrganizationId,
    /// Name, unique.
    pub name: String,
    /// The tier its customers get.
    pub tier: Tier,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A group of agents that owns a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// Id.
    pub id: TeamId,
    /// Name, unique.
    pub name: String,
    /// What the team handles.
    pub description: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The text that replaces erased personal data.
pub const REDACTED: &str = "[redacted]";
