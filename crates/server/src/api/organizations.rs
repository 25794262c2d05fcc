//! Organizations: companies whose people are customers, with the service
//! tier they get. Any agent may read them; supervisors and admins manage them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::{Actor, Organization, OrganizationId, Tier};
use rapport_store::OrganizationChanges;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::dto::customer::known_tier;
use crate::http::auth::{CurrentAgent, Forbidden, Manager};
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::merge_patch::PatchObject;
use crate::http::params::{IdPage, PathId, QueryParams};
use crate::http::wire::{self, rfc3339};
use crate::state::AppState;

/// The organization routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_organization, list_organizations))
        .routes(routes!(get_organization, update_organization))
}

/// Organizations are managed by supervisors and admins.
struct ManageOrganizations;

impl Forbidden for ManageOrganizations {
    const MESSAGE: &'static str = "only supervisors and admins manage organizations";
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationDto {
    /// Id.
    pub id: i64,
    /// Name, unique.
    pub name: String,
    /// The tier its customers get.
    pub tier: String,
    /// When it was created.
    #[schema(schema_with = wire::timestamp)]
    pub created_at: String,
}

impl From<&Organization> for OrganizationDto {
    fn from(organization: &Organization) -> OrganizationDto {
        OrganizationDto {
            id: organization.id.0,
            name: organization.name.clone(),
            tier: organization.tier.0.clone(),
            created_at: rfc3339(organization.created_at),
        }
    }
}

/// One page of organizations.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationPageDto {
    /// The organizations, by id.
    pub organizations: Vec<OrganizationDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/organizations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganizationRequest {
    /// Name, unique.
    pub name: String,
    /// Service tier (default basic).
    #[serde(default)]
    pub tier: Option<String>,
}

/// `PATCH /api/v1/organizations/{id}`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct OrganizationPatchBody {
    /// New name.
    name: Option<String>,
    /// New tier.
    tier: Option<String>,
}

/// A name as the API takes it: trimmed, 1-200 characters.
pub(crate) fn name(field: &str, name: String) -> Result<String, ApiError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(field, format!("{field} must be 1-200 characters")));
    }
    Ok(name)
}

/// Create an organization (supervisors and admins).
#[utoipa::path(
    post, path = "/organizations", tag = "organizations",
    request_body = CreateOrganizationRequest,
    responses(
        (status = 201, description = "Created", body = OrganizationDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage organizations", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    )
)]
async fn create_organization(
    State(state): State<AppState>,
    caller: Manager<ManageOrganizations>,
    JsonBody(request): JsonBody<CreateOrganizationRequest>,
) -> Result<(StatusCode, Json<OrganizationDto>), ApiError> {
    let organization_name = name("name", request.name)?;
    let tier = match request.tier {
        Some(tier) => known_tier(&state.store, tier)?,
        None => Tier::basic(),
    };
    let organization =
        state.store.insert_organization(organization_name, tier, Actor::Agent(caller.agent.id), state.now()).await?;
    Ok((StatusCode::CREATED, Json(OrganizationDto::from(&organization))))
}

/// An organization.
#[utoipa::path(
    get, path = "/organizations/{id}", tag = "organizations",
    params(("id" = i64, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "The organization", body = OrganizationDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such organization", body = ErrorBody),
    )
)]
async fn get_organization(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<Json<OrganizationDto>, ApiError> {
    let organization = state.store.get_organization(OrganizationId(id)).await?;
    Ok(Json(OrganizationDto::from(&organization)))
}

/// Organizations by id.
#[utoipa::path(
    get, path = "/organizations", tag = "organizations",
    params(
        ("limit" = Option<i64>, Query, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of organizations", body = OrganizationPageDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Unknown parameter or bad value", body = ErrorBody),
    )
)]
async fn list_organizations(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    query: QueryParams,
) -> Result<Json<OrganizationPageDto>, ApiError> {
    let page = IdPage::from_query(query, state.config.max_page_size)?;
    let organizations = state.store.list_organizations(page.after.map(OrganizationId), page.limit).await?;
    let next_cursor = page.next_cursor(organizations.last().map(|organization| organization.id.0), organizations.len());
    let organizations = organizations.iter().map(OrganizationDto::from).collect();
    Ok(Json(OrganizationPageDto { organizations, next_cursor }))
}

/// Change an organization (supervisors and admins).
#[utoipa::path(
    patch, path = "/organizations/{id}", tag = "organizations",
    request_body(content = OrganizationPatchBody, content_type = "application/merge-patch+json"),
    params(("id" = i64, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "The changed organization", body = OrganizationDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage organizations", body = ErrorBody),
        (status = 404, description = "No such organization", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "Unknown field or bad value", body = ErrorBody),
    )
)]
async fn update_organization(
    State(state): State<AppState>,
    caller: Manager<ManageOrganizations>,
    PathId(id): PathId,
    mut object: PatchObject,
) -> Result<Json<OrganizationDto>, ApiError> {
    object.only(&["name", "tier"])?;
    let new_name = object.string("name")?.map(|text| name("name", text)).transpose()?;
    let tier = object.string("tier")?.map(|tier| known_tier(&state.store, tier)).transpose()?;
    let changes = OrganizationChanges { name: new_name, tier };
    let organization = state
        .store
        .update_organization(OrganizationId(id), changes, Actor::Agent(caller.agent.id), state.now())
        .await?;
    Ok(Json(OrganizationDto::from(&organization)))
}
