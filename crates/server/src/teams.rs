//! Teams: groups of agents that own a queue. Any agent may read them;
//! supervisors and admins manage them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::{Team, TeamId};
use rapport_store::TeamChanges;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentAgent;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::merge_patch::PatchObject;
use crate::params::{IdPage, PathId, QueryParams};
use crate::wire::{self, rfc3339};
use crate::{AppState, now};

/// The team routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_team, list_teams)).routes(routes!(get_team, update_team))
}

/// A team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamDto {
    /// Id.
    pub id: i64,
    /// Name, unique.
    pub name: String,
    /// What the team handles.
    pub description: String,
    /// When it was created.
    #[schema(schema_with = wire::timestamp)]
    pub created_at: String,
}

impl From<&Team> for TeamDto {
    fn from(team: &Team) -> TeamDto {
        TeamDto {
            id: team.id.0,
            name: team.name.clone(),
            description: team.description.clone(),
            created_at: rfc3339(team.created_at),
        }
    }
}

/// One page of teams.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamPageDto {
    /// The teams, by id.
    pub teams: Vec<TeamDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/teams`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamRequest {
    /// Name, unique.
    pub name: String,
    /// What the team handles.
    #[serde(default)]
    pub description: Option<String>,
}

/// `PATCH /api/v1/teams/{id}`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct TeamPatchBody {
    /// New name.
    name: Option<String>,
    /// New description.
    description: Option<String>,
}

fn team_name(name: String) -> Result<String, ApiError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "name must be 1-100 characters"));
    }
    Ok(name)
}

fn description(text: String) -> Result<String, ApiError> {
    if text.chars().count() > 2000 {
        return Err(ApiError::invalid("description", "description must be at most 2000 characters"));
    }
    Ok(text.trim().to_owned())
}

fn require_manager(caller: &CurrentAgent) -> Result<(), ApiError> {
    if caller.viewer.can_manage_people() {
        Ok(())
    } else {
        Err(ApiError::forbidden("only supervisors and admins manage teams"))
    }
}

/// Create a team (supervisors and admins).
#[utoipa::path(
    post, path = "/teams", tag = "teams",
    request_body = CreateTeamRequest,
    responses(
        (status = 201, description = "Created", body = TeamDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage teams", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    )
)]
async fn create_team(
    State(state): State<AppState>,
    caller: CurrentAgent,
    JsonBody(request): JsonBody<CreateTeamRequest>,
) -> Result<(StatusCode, Json<TeamDto>), ApiError> {
    require_manager(&caller)?;
    let name = team_name(request.name)?;
    let description = description(request.description.unwrap_or_default())?;
    let team = state.store.insert_team(name, description, now()).await?;
    Ok((StatusCode::CREATED, Json(TeamDto::from(&team))))
}

/// A team.
#[utoipa::path(
    get, path = "/teams/{id}", tag = "teams",
    params(("id" = i64, Path, description = "The team's id")),
    responses(
        (status = 200, description = "The team", body = TeamDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such team", body = ErrorBody),
    )
)]
async fn get_team(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<Json<TeamDto>, ApiError> {
    let team = state.store.get_team(TeamId(id)).await?;
    Ok(Json(TeamDto::from(&team)))
}

/// Teams by id.
#[utoipa::path(
    get, path = "/teams", tag = "teams",
    params(
        ("limit" = Option<i64>, Query, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of teams", body = TeamPageDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Unknown parameter or bad value", body = ErrorBody),
    )
)]
async fn list_teams(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    query: QueryParams,
) -> Result<Json<TeamPageDto>, ApiError> {
    let page = IdPage::from_query(query, state.config.max_page_size)?;
    let teams = state.store.list_teams(page.after.map(TeamId), page.limit).await?;
    let next_cursor = page.next_cursor(teams.last().map(|team| team.id.0), teams.len());
    Ok(Json(TeamPageDto { teams: teams.iter().map(TeamDto::from).collect(), next_cursor }))
}

/// Change a team (supervisors and admins).
#[utoipa::path(
    patch, path = "/teams/{id}", tag = "teams",
    request_body(content = TeamPatchBody, content_type = "application/merge-patch+json"),
    params(("id" = i64, Path, description = "The team's id")),
    responses(
        (status = 200, description = "The changed team", body = TeamDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not manage teams", body = ErrorBody),
        (status = 404, description = "No such team", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "Unknown field or bad value", body = ErrorBody),
    )
)]
async fn update_team(
    State(state): State<AppState>,
    caller: CurrentAgent,
    PathId(id): PathId,
    mut object: PatchObject,
) -> Result<Json<TeamDto>, ApiError> {
    require_manager(&caller)?;
    object.only(&["name", "description"])?;
    let name = object.string("name")?.map(team_name).transpose()?;
    let description = object.string("description")?.map(description).transpose()?;
    let team = state.store.update_team(TeamId(id), TeamChanges { name, description }).await?;
    Ok(Json(TeamDto::from(&team)))
}
