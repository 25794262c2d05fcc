//! Customers, organizations and teams.

use crate::identity::Identity;
use crate::ids::{AgentId, CustomerId, OrganizationId, TeamId};
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
    /// The identities among them that the customer proved (a magic link they
    /// followed) or a supervisor confirmed. Only these, and only when no agent
    /// vouches for them alone ([`Customer::added_by_agent`]), reach the
    /// customer's other tickets; see [`crate::intake::may_join`].
    pub verified: Vec<Identity>,
    /// The identities an agent entered and no supervisor or admin has
    /// confirmed yet, with that agent: each reaches only the tickets it is
    /// on, verified or not.
    pub added_by_agent: Vec<(Identity, AgentId)>,
    /// When their personal data was erased, if it was.
    pub erased_at: Option<Timestamp>,
    /// The customer this record was merged into; its identities and tickets are there now.
    pub merged_into: Option<CustomerId>,
    /// When the record was created.
    pub created_at: Timestamp,
}

/// The tier that applies to a customer: their own, else their organization's, else basic.
pub fn effective_tier(own: Option<Tier>, organization: Option<Tier>) -> Tier {
    own.or(organization).unwrap_or_else(Tier::basic)
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
    /// Who owns an ownerless ticket of this team once an agent answers it.
    pub owner_on_reply: crate::event::OwnerOnReply,
    /// How long its agents may take back an email, messaging or SMS reply
    /// sent from the workspace before it goes out, in seconds (0: at once).
    pub reply_undo_seconds: i64,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The text that replaces erased personal data.
pub const REDACTED: &str = "[redacted]";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_tier_wins_then_organization_then_basic() {
        let tier = |name: &str| Some(Tier(name.to_owned()));
        assert_eq!(effective_tier(tier("premium"), tier("business")), Tier("premium".into()));
        assert_eq!(effective_tier(None, tier("business")), Tier("business".into()));
        assert_eq!(effective_tier(None, None), Tier::basic());
    }
}
