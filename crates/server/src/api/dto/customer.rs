//! The JSON shape of a customer, and the parsing of the customer fields
//! that several requests share (identities, a tier), so that tickets,
//! customers and organizations read them alike.

use rapport_core::{Customer, Identity, IdentityKind, Tier};
use rapport_store::Store;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::http::wire::{self, rfc3339, rfc3339_opt};

/// A customer with every identity they use.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    /// Id.
    pub id: i64,
    /// Name (`[redacted]` after erasure).
    pub name: String,
    /// Organization id.
    pub organization: Option<i64>,
    /// Own service tier; null means the organization's, or basic.
    pub tier: Option<String>,
    /// Normalised identities.
    pub identities: Vec<IdentityDto>,
    /// When their personal data was erased.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub erased_at: Option<String>,
    /// The customer this record was merged into (its identities and tickets
    /// are there now); null unless merged.
    pub merged_into: Option<i64>,
    /// When the record was created.
    #[schema(schema_with = wire::timestamp)]
    pub created_at: String,
}

/// One normalised identity.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityDto {
    /// email, phone, chat or handle.
    #[schema(schema_with = wire::identity_kind)]
    pub kind: IdentityKind,
    /// The normalised value (lower-cased email, E.164 phone, ...).
    pub value: String,
    /// True once its holder proved it (followed a magic link sent to it) or
    /// a supervisor or admin confirmed it.
    pub verified: bool,
    /// The agent who entered it, until a supervisor or admin confirms it;
    /// null for identities that arrived on their own or were confirmed. Only
    /// verified identities with no such agent reach the customer's other
    /// tickets (by quoting their numbers, or in the help pages); the others
    /// reach only the tickets they are on.
    pub added_by_agent: Option<i64>,
}

impl From<&Customer> for CustomerDto {
    fn from(customer: &Customer) -> CustomerDto {
        CustomerDto {
            id: customer.id.0,
            name: customer.name.clone(),
            organization: customer.organization.map(|organization| organization.0),
            tier: customer.tier.as_ref().map(|tier| tier.0.clone()),
            identities: customer
                .identities
                .iter()
                .map(|identity| IdentityDto {
                    kind: identity.kind,
                    value: identity.value.clone(),
                    verified: customer.verified.contains(identity),
                    added_by_agent: customer
                        .added_by_agent
                        .iter()
                        .find(|(entered, _)| entered == identity)
                        .map(|(_, agent)| agent.0),
                })
                .collect(),
            erased_at: rfc3339_opt(customer.erased_at),
            merged_into: customer.merged_into.map(|into| into.0),
            created_at: rfc3339(customer.created_at),
        }
    }
}

/// Normalises the identity fields of a request; `prefix` locates them
/// (`customer.` inside a ticket) so an error names the right field.
pub fn identities(
    prefix: &str,
    email: &Option<String>,
    phone: &Option<String>,
    chat: &Option<String>,
    handle: &Option<String>,
) -> Result<Vec<Identity>, ApiError> {
    let given = [
        (IdentityKind::Email, email),
        (IdentityKind::Phone, phone),
        (IdentityKind::Chat, chat),
        (IdentityKind::Handle, handle),
    ];
    given
        .into_iter()
        .filter_map(|(kind, raw)| raw.as_deref().map(|raw| (kind, raw)))
        .map(|(kind, raw)| {
            Identity::parse(kind, raw).map_err(|error| ApiError::invalid(format!("{prefix}{kind}"), error.to_string()))
        })
        .collect()
}

pub fn known_tier(store: &Store, tier: String) -> Result<Tier, ApiError> {
    let tier = Tier(tier.trim().to_owned());
    if store.matrix().has_tier(&tier) {
        Ok(tier)
    } else {
        let known: Vec<&str> = store.matrix().tiers().collect();
        Err(ApiError::invalid("tier", format!("unknown tier {:?}; expected one of: {}", tier.0, known.join(", "))))
    }
}
