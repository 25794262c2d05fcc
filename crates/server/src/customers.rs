//! Customers: create, read, update, list, erase on request, and merge two
//! records of one person (`merge`).
//!
//! Any agent may manage customers (answering them is the job); erasing one's
//! personal data is irreversible, so it takes a supervisor or an admin.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::{Actor, Customer, CustomerId, Identity, IdentityKind, OrganizationId, Tier};
use rapport_store::{CustomerChanges, NewCustomer, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentAgent;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::merge_patch::PatchObject;
use crate::params::{IdPage, PathId, QueryParams};
use crate::wire::{self, rfc3339, rfc3339_opt};
use crate::{AppState, now};

mod merge;

/// The customer routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_customer, list_customers))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(erase_customer))
        .routes(routes!(merge::merge_customer))
        .routes(routes!(merge::list_customer_merges))
        .routes(routes!(verify_identity))
}

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

/// One page of customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPageDto {
    /// The customers, by id.
    pub customers: Vec<CustomerDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/customers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomerRequest {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number in international form.
    #[serde(default)]
    pub phone: Option<String>,
    /// Live-chat visitor id.
    #[serde(default)]
    pub chat: Option<String>,
    /// Messaging handle, `network:id`.
    #[serde(default)]
    pub handle: Option<String>,
    /// Organization id.
    #[serde(default)]
    pub organization: Option<i64>,
    /// Own service tier.
    #[serde(default)]
    pub tier: Option<String>,
}

/// `PATCH /api/v1/customers/{id}`: a merge patch. Identity fields add an identity.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct CustomerPatchBody {
    /// New name.
    name: Option<String>,
    /// New organization id; null removes it.
    organization: Option<i64>,
    /// New own tier; null falls back to the organization's.
    tier: Option<String>,
    /// An email address to add.
    email: Option<String>,
    /// A phone number to add.
    phone: Option<String>,
    /// A chat visitor id to add.
    chat: Option<String>,
    /// A messaging handle to add.
    handle: Option<String>,
}

/// Normalises the identity fields of a request; `prefix` locates them
/// (`customer.` inside a ticket) so an error names the right field.
pub(crate) fn identities(
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

/// A tier the priority matrix knows.
/// A tier sets the priority of the customer's tickets, which only a
/// supervisor may override: agents may not set one.
fn tier_forbidden() -> ApiError {
    ApiError::Forbidden {
        field: Some("tier".to_owned()),
        message: "only supervisors and admins set a customer's tier".to_owned(),
    }
}

pub(crate) fn known_tier(store: &Store, tier: String) -> Result<Tier, ApiError> {
    let tier = Tier(tier.trim().to_owned());
    if store.matrix().has_tier(&tier) {
        Ok(tier)
    } else {
        let known: Vec<&str> = store.matrix().tiers().collect();
        Err(ApiError::invalid("tier", format!("unknown tier {:?}; expected one of: {}", tier.0, known.join(", "))))
    }
}

/// Create a customer. An identity already registered to someone is a 409.
/// The identities start unverified, entered by the caller (see
/// `IdentityDto.added_by_agent`); only supervisors and admins set a tier.
#[utoipa::path(
    post, path = "/customers", tag = "customers",
    request_body = CreateCustomerRequest,
    responses(
        (status = 201, description = "Created", body = CustomerDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "An agent may not set the tier", body = ErrorBody),
        (status = 409, description = "An identity is already registered", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    )
)]
async fn create_customer(
    State(state): State<AppState>,
    caller: CurrentAgent,
    JsonBody(request): JsonBody<CreateCustomerRequest>,
) -> Result<(StatusCode, Json<CustomerDto>), ApiError> {
    let found = identities("", &request.email, &request.phone, &request.chat, &request.handle)?;
    if request.tier.is_some() && !caller.viewer.can_manage_people() {
        return Err(tier_forbidden());
    }
    let tier = request.tier.map(|tier| known_tier(&state.store, tier)).transpose()?;
    let customer = NewCustomer {
        name: rapport_core::text::one_line(&request.name.unwrap_or_default()),
        organization: request.organization.map(OrganizationId),
        tier,
        identities: found,
        added_by: Some(caller.agent.id),
        now: now(),
    };
    let customer = state.store.insert_customer(customer).await?;
    Ok((StatusCode::CREATED, Json(CustomerDto::from(&customer))))
}

/// A customer.
#[utoipa::path(
    get, path = "/customers/{id}", tag = "customers",
    params(("id" = i64, Path, description = "The customer's id")),
    responses(
        (status = 200, description = "The customer", body = CustomerDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
    )
)]
async fn get_customer(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<Json<CustomerDto>, ApiError> {
    let customer = state.store.get_customer(CustomerId(id)).await?;
    Ok(Json(CustomerDto::from(&customer)))
}

/// Customers by id.
#[utoipa::path(
    get, path = "/customers", tag = "customers",
    params(
        ("limit" = Option<i64>, Query, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of customers", body = CustomerPageDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Unknown parameter or bad value", body = ErrorBody),
    )
)]
async fn list_customers(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    query: QueryParams,
) -> Result<Json<CustomerPageDto>, ApiError> {
    let page = IdPage::from_query(query, state.config.max_page_size)?;
    let customers = state.store.list_customers(page.after.map(CustomerId), page.limit).await?;
    let next_cursor = page.next_cursor(customers.last().map(|customer| customer.id.0), customers.len());
    Ok(Json(CustomerPageDto { customers: customers.iter().map(CustomerDto::from).collect(), next_cursor }))
}

/// Change a customer with a JSON merge patch.
#[utoipa::path(
    patch, path = "/customers/{id}", tag = "customers",
    request_body(content = CustomerPatchBody, content_type = "application/merge-patch+json"),
    params(("id" = i64, Path, description = "The customer's id")),
    responses(
        (status = 200, description = "The changed customer", body = CustomerDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "An agent may not change the tier", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 409, description = "An identity is already registered", body = ErrorBody),
        (status = 422, description = "Unknown field or bad value", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(customer_id = id))]
async fn update_customer(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
    mut object: PatchObject,
) -> Result<Json<CustomerDto>, ApiError> {
    object.only(&["name", "organization", "tier", "email", "phone", "chat", "handle"])?;
    if object.has("tier") && !caller.viewer.can_manage_people() {
        return Err(tier_forbidden());
    }
    let name = object.string("name")?.map(|name| rapport_core::text::one_line(&name));
    let organization = object.nullable_id("organization")?.map(|organization| organization.map(OrganizationId));
    let tier = match object.nullable_string("tier")? {
        Some(Some(tier)) => Some(Some(known_tier(&state.store, tier)?)),
        Some(None) => Some(None),
        None => None,
    };
    let (email, phone) = (object.string("email")?, object.string("phone")?);
    let (chat, handle) = (object.string("chat")?, object.string("handle")?);
    let add_identities = identities("", &email, &phone, &chat, &handle)?;
    // An address an agent adds reaches only the tickets it is on until a
    // supervisor confirms it.
    let changes = CustomerChanges { name, organization, tier, add_identities, added_by: Some(caller.agent.id) };
    let customer = state.store.update_customer(CustomerId(id), changes).await?;
    Ok(Json(CustomerDto::from(&customer)))
}

/// Erase a customer's personal data (supervisors and admins).
///
/// Their name and identities go; the texts of their messages are redacted,
/// and so is any copy of their name or addresses in subjects, other messages
/// and event payloads. Each of their tickets records the erasure as an event.
#[utoipa::path(
    post, path = "/customers/{id}/erase", tag = "customers",
    params(("id" = i64, Path, description = "The customer's id")),
    responses(
        (status = 200, description = "The erased customer", body = CustomerDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Only supervisors and admins erase", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(customer_id = id))]
async fn erase_customer(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<Json<CustomerDto>, ApiError> {
    if !caller.viewer.can_manage_people() {
        return Err(ApiError::forbidden("only supervisors and admins may erase a customer"));
    }
    let customer = state.store.erase_customer(CustomerId(id), Actor::Agent(caller.agent.id), now()).await?;
    Ok(Json(CustomerDto::from(&customer)))
}

/// `POST /api/v1/customers/{id}/identities/verify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyIdentityRequest {
    /// email, phone, chat or handle.
    #[schema(schema_with = wire::identity_kind)]
    pub kind: IdentityKind,
    /// The address or handle, as typed; it is normalised before matching.
    pub value: String,
}

/// Confirm one of a customer's identities (supervisors and admins).
///
/// A verified identity may add to any of the customer's tickets, for example
/// by quoting a ticket number in an email subject, and its holder sees all of
/// them in the help pages; an unverified one, or one an agent entered, may
/// only reach tickets it is already on. Customers verify their own addresses
/// by following a link we email them; this is for a supervisor who has
/// checked otherwise (a phone call, a signed contract), and it also confirms
/// an address an agent entered. Agents may not: an agent could otherwise add
/// an address of their own to a customer and reach their tickets.
#[utoipa::path(
    post, path = "/customers/{id}/identities/verify", tag = "customers",
    request_body = VerifyIdentityRequest,
    params(("id" = i64, Path, description = "The customer's id")),
    responses(
        (status = 200, description = "The customer, the identity now verified", body = CustomerDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "An agent, not a supervisor or admin", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "Not a valid identity, or not one of this customer's", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(customer_id = id))]
async fn verify_identity(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
    JsonBody(request): JsonBody<VerifyIdentityRequest>,
) -> Result<Json<CustomerDto>, ApiError> {
    if !caller.viewer.can_manage_people() {
        return Err(ApiError::forbidden("only supervisors and admins confirm a customer's identity"));
    }
    let identity =
        Identity::parse(request.kind, &request.value).map_err(|error| ApiError::invalid("value", error.to_string()))?;
    let customer = state.store.get_customer(CustomerId(id)).await?;
    if !customer.identities.contains(&identity) {
        return Err(ApiError::invalid(
            "value",
            format!("{identity} is not an identity of customer {id}; add it to the customer first"),
        ));
    }
    let customer = state.store.verify_identity(customer.id, identity, now()).await?;
    Ok(Json(CustomerDto::from(&customer)))
}
