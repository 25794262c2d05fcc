//! Merging two customer records that turn out to be one person, and the
//! records that explain each merge. Like the rest of customer management,
//! any agent may merge: it is how an agent joins a person's identities.

use axum::Json;
use axum::extract::State;
use rapport_core::{Actor, CustomerId, IdentityKind};
use rapport_store::CustomerMerge;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::dto::customer::CustomerDto;
use crate::api::dto::ticket::ActorDto;
use crate::http::auth::CurrentAgent;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::params::PathId;
use crate::http::wire::{self, rfc3339};
use crate::state::AppState;

/// `POST /api/v1/customers/{id}/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeCustomerRequest {
    /// The id of the customer to merge into: the record that survives.
    pub into: i64,
}

/// One customer merge: what moved from `source` to `target`, who did it, when.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerMergeDto {
    /// The record's id.
    pub id: i64,
    /// The customer merged away (it now has `merged_into: target`).
    pub source: i64,
    /// The customer that received the identities and tickets.
    pub target: i64,
    /// Who merged them.
    pub actor: ActorDto,
    /// The identities that moved (values `[redacted]` after an erasure).
    pub identities: Vec<MovedIdentityDto>,
    /// The tickets that moved; each has a `customer_changed` event.
    pub tickets: Vec<i64>,
    /// When.
    #[schema(schema_with = wire::timestamp)]
    pub at: String,
}

impl From<&CustomerMerge> for CustomerMergeDto {
    fn from(merge: &CustomerMerge) -> CustomerMergeDto {
        CustomerMergeDto {
            id: merge.id,
            source: merge.source.0,
            target: merge.target.0,
            actor: merge.actor.into(),
            identities: merge
                .identities
                .iter()
                .map(|identity| MovedIdentityDto { kind: identity.kind, value: identity.value.clone() })
                .collect(),
            tickets: merge.tickets.iter().map(|ticket| ticket.0).collect(),
            at: rfc3339(merge.at),
        }
    }
}

/// An identity that moved in a merge.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovedIdentityDto {
    /// email, phone, chat or handle.
    #[schema(schema_with = wire::identity_kind)]
    pub kind: IdentityKind,
    /// The normalised value.
    pub value: String,
}

/// The merges a customer took part in.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerMergesDto {
    /// Oldest first, as source or as target.
    pub merges: Vec<CustomerMergeDto>,
}

/// Merge this customer into another: they are the same person.
///
/// Every identity and every ticket of this customer moves to the other
/// (each ticket records a `customer_changed` event, and its priority follows
/// the new customer's tier unless overridden), and so does the authorship of
/// their messages. This record stays, with `merged_into` pointing at the
/// other and no identities; `GET /customers/{id}/merges` explains the merge.
#[utoipa::path(
    post, path = "/customers/{id}/merge", tag = "customers",
    request_body = MergeCustomerRequest,
    params(("id" = i64, Path, description = "The id of the customer to merge away")),
    responses(
        (status = 200, description = "The customer merged into, with every identity", body = CustomerDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "Either customer does not exist", body = ErrorBody),
        (status = 409, description = "`merge_refused`: a customer was merged before or erased", body = ErrorBody),
        (status = 422, description = "`into` is missing, not a number, or this customer itself", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(customer_id = id))]
pub(super) async fn merge_customer(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
    JsonBody(request): JsonBody<MergeCustomerRequest>,
) -> Result<Json<CustomerDto>, ApiError> {
    let actor = Actor::Agent(caller.agent.id);
    let customer = state.store.merge_customers(CustomerId(id), CustomerId(request.into), actor, state.now()).await?;
    Ok(Json(CustomerDto::from(&customer)))
}

/// The merges a customer took part in, as source or target: what moved, who merged, when.
#[utoipa::path(
    get, path = "/customers/{id}/merges", tag = "customers",
    params(("id" = i64, Path, description = "The customer's id")),
    responses(
        (status = 200, description = "The merge records, oldest first", body = CustomerMergesDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
    )
)]
pub(super) async fn list_customer_merges(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<Json<CustomerMergesDto>, ApiError> {
    let merges = state.store.list_customer_merges(CustomerId(id)).await?;
    Ok(Json(CustomerMergesDto { merges: merges.iter().map(CustomerMergeDto::from).collect() }))
}
