//! Customers: create, read, update, list, erase on request, and merge two
//! records of one person (`merge`).
//!
//! Any agent may manage customers (answering them is the job); erasing one's
//! personal data is irreversible, so it takes a supervisor or an admin.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::{Actor, CustomerId, Identity, IdentityKind, OrganizationId};
use rapport_store::{CustomerChanges, NewCustomer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::dto::customer::{CustomerDto, identities, known_tier};
use crate::http::auth::CurrentAgent;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::merge_patch::PatchObject;
use crate::http::params::{IdPage, PathId, QueryParams};
use crate::http::wire;
use crate::state::AppState;

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

/// A tier the priority matrix knows.
/// A tier sets the priority of the customer's tickets, which only a
/// supervisor may override: agents may not set one.
fn tier_forbidden() -> ApiError {
    ApiError::Forbidden {
        field: Some("tier".to_owned()),
        message: "only supervisors and admins set a customer's tier".to_owned(),
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
        now: state.now(),
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
    let customer = state.store.erase_customer(CustomerId(id), Actor::Agent(caller.agent.id), state.now()).await?;
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
    let customer = state.store.verify_identity(customer.id, identity, state.now()).await?;
    Ok(Json(CustomerDto::from(&customer)))
}
