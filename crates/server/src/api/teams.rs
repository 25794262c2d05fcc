//! Teams: groups of agents that own a queue. Any agent may read them;
//! supervisors and admins manage them, including where a backed-up team's
//! new tickets overflow to (`overflow_team`, `overflow_after_minutes`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::event::OwnerOnReply;
use rapport_core::overflow::Overflow;
use rapport_core::{Team, TeamId};
use rapport_store::TeamChanges;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::{CurrentAgent, Forbidden, Manager};
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::merge_patch::PatchObject;
use crate::http::params::{IdPage, PathId, QueryParams};
use crate::http::wire::{self, rfc3339};
use crate::state::AppState;

/// The longest overflow wait accepted, in minutes (a week).
pub(crate) const MAX_OVERFLOW_MINUTES: i64 = 7 * 24 * 60;

/// The team routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_team, list_teams)).routes(routes!(get_team, update_team))
}

/// Teams are managed by supervisors and admins.
struct ManageTeams;

impl Forbidden for ManageTeams {
    const MESSAGE: &'static str = "only supervisors and admins manage teams";
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
    /// Who owns an ownerless ticket of the team once an agent sends it a
    /// public reply or takes its chat: `replier` (that agent, the default)
    /// or `none` (it stays unassigned until someone assigns it).
    #[schema(value_type = String)]
    pub owner_on_reply: OwnerOnReply,
    /// How long the team's agents may take back an email, messaging or SMS
    /// reply sent from the workspace before it is filed and goes out, in
    /// seconds (0 sends at once; live chat replies always go at once).
    pub reply_undo_seconds: i64,
    /// When it was created.
    #[schema(schema_with = wire::timestamp)]
    pub created_at: String,
    /// The team that also gets this team's new tickets while its queue is
    /// backed up; null when the team does not overflow.
    pub overflow_team: Option<i64>,
    /// The queue is backed up when its oldest waiting ticket (new or open,
    /// unassigned) has waited longer than this; null when the team does not overflow.
    pub overflow_after_minutes: Option<i64>,
}

impl TeamDto {
    /// The team with its overflow setting.
    fn new(team: &Team, overflow: Option<Overflow>) -> TeamDto {
        TeamDto {
            id: team.id.0,
            name: team.name.clone(),
            description: team.description.clone(),
            owner_on_reply: team.owner_on_reply,
            reply_undo_seconds: team.reply_undo_seconds,
            created_at: rfc3339(team.created_at),
            overflow_team: overflow.map(|overflow| overflow.team.0),
            overflow_after_minutes: overflow.map(|overflow| overflow.after_seconds / 60),
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
    /// `replier` or `none`: who owns an ownerless ticket once an agent answers it.
    owner_on_reply: Option<String>,
    /// 0-120 seconds: how long an email, messaging or SMS reply from the
    /// workspace may be taken back before it goes out.
    reply_undo_seconds: Option<i64>,
    /// The team that also gets new tickets while this team's queue is backed
    /// up (not this team); null stops overflowing.
    overflow_team: Option<i64>,
    /// How long the oldest waiting ticket may wait before the queue counts
    /// as backed up, 1-10080 minutes; needed with a first `overflow_team`.
    overflow_after_minutes: Option<i64>,
}

pub(crate) fn team_name(name: String) -> Result<String, ApiError> {
    let name = rapport_core::text::one_line(&name);
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "name must be 1-100 characters"));
    }
    Ok(name)
}

pub(crate) fn owner_on_reply(word: String) -> Result<OwnerOnReply, ApiError> {
    OwnerOnReply::parse(&word).ok_or_else(|| {
        ApiError::invalid("owner_on_reply", format!("owner_on_reply must be \"replier\" or \"none\", not {word:?}"))
    })
}

/// The undo window of a patch: a whole number of seconds within bounds.
pub(crate) fn undo_seconds(value: Option<Value>) -> Result<Option<i64>, ApiError> {
    const FIELD: &str = "reply_undo_seconds";
    let max = rapport_store::MAX_UNDO_SECONDS;
    value
        .map(|value| match value.as_i64() {
            Some(seconds) if (0..=max).contains(&seconds) => Ok(seconds),
            _ => Err(ApiError::invalid(FIELD, format!("{FIELD} must be a whole number of seconds from 0 to {max}"))),
        })
        .transpose()
}

pub(crate) fn description(text: String) -> Result<String, ApiError> {
    if text.chars().count() > 2000 {
        return Err(ApiError::invalid("description", "description must be at most 2000 characters"));
    }
    Ok(text.trim().to_owned())
}

/// `overflow_after_minutes`: a whole number of minutes, or null.
pub(crate) fn overflow_minutes(value: Option<Value>) -> Result<Option<Option<i64>>, ApiError> {
    const FIELD: &str = "overflow_after_minutes";
    value
        .map(|value| match value {
            Value::Null => Ok(None),
            value => match value.as_i64() {
                Some(minutes) if (1..=MAX_OVERFLOW_MINUTES).contains(&minutes) => Ok(Some(minutes)),
                _ => Err(ApiError::invalid(
                    FIELD,
                    format!("{FIELD} must be a whole number of minutes from 1 to {MAX_OVERFLOW_MINUTES}"),
                )),
            },
        })
        .transpose()
}

/// The overflow setting a patch asks for: `None` leaves it alone,
/// `Some(None)` clears it. A value missing from the patch is taken from
/// `current`; the team and the wait are set together.
pub(crate) fn overflow_change(
    team: Option<Option<i64>>,
    minutes: Option<Option<i64>>,
    current: Option<Overflow>,
) -> Result<Option<Option<Overflow>>, ApiError> {
    let seconds = |minutes: i64| minutes * 60;
    match (team, minutes) {
        (None, None) => Ok(None),
        (Some(None), None | Some(None)) | (None, Some(None)) => Ok(Some(None)),
        (Some(None), Some(Some(_))) => {
            Err(ApiError::invalid("overflow_after_minutes", "a team with no overflow_team has no overflow wait"))
        }
        (Some(Some(_)), Some(None)) => {
            Err(ApiError::invalid("overflow_after_minutes", "overflow_after_minutes is needed with an overflow_team"))
        }
        (Some(Some(team)), Some(Some(minutes))) => {
            Ok(Some(Some(Overflow { team: TeamId(team), after_seconds: seconds(minutes) })))
        }
        (Some(Some(team)), None) => match current {
            Some(current) => Ok(Some(Some(Overflow { team: TeamId(team), after_seconds: current.after_seconds }))),
            None => Err(ApiError::invalid(
                "overflow_after_minutes",
                "overflow_after_minutes is needed when the team starts to overflow",
            )),
        },
        (None, Some(Some(minutes))) => match current {
            Some(current) => Ok(Some(Some(Overflow { team: current.team, after_seconds: seconds(minutes) }))),
            None => Err(ApiError::invalid("overflow_team", "overflow_team is needed with overflow_after_minutes")),
        },
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
    caller: Manager<ManageTeams>,
    JsonBody(request): JsonBody<CreateTeamRequest>,
) -> Result<(StatusCode, Json<TeamDto>), ApiError> {
    let name = team_name(request.name)?;
    let description = description(request.description.unwrap_or_default())?;
    let by = rapport_core::Actor::Agent(caller.agent.id);
    let team = state.store.create_team(name, description, by, state.now()).await?;
    Ok((StatusCode::CREATED, Json(TeamDto::new(&team, None))))
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
    let overflow = state.store.find_overflow(team.id).await?;
    Ok(Json(TeamDto::new(&team, overflow)))
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
    let overflows: HashMap<TeamId, Overflow> = state.store.list_overflows().await?.into_iter().collect();
    let teams = teams.iter().map(|team| TeamDto::new(team, overflows.get(&team.id).copied())).collect();
    Ok(Json(TeamPageDto { teams, next_cursor }))
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
    caller: Manager<ManageTeams>,
    PathId(id): PathId,
    mut object: PatchObject,
) -> Result<Json<TeamDto>, ApiError> {
    object.only(&[
        "name",
        "description",
        "owner_on_reply",
        "reply_undo_seconds",
        "overflow_team",
        "overflow_after_minutes",
    ])?;
    let reply_undo_seconds = undo_seconds(object.take("reply_undo_seconds"))?;
    let name = object.string("name")?.map(team_name).transpose()?;
    let owner_on_reply = object.string("owner_on_reply")?.map(owner_on_reply).transpose()?;
    let description = object.string("description")?.map(description).transpose()?;
    let overflow_team = object.nullable_id("overflow_team")?;
    let overflow_minutes = overflow_minutes(object.take("overflow_after_minutes"))?;
    let id = TeamId(id);
    let current = state.store.find_overflow(id).await?;
    let change = overflow_change(overflow_team, overflow_minutes, current)?;
    // One transaction: a refused overflow or a taken name changes nothing.
    let (team, overflow) = state
        .store
        .update_team_and_overflow(
            id,
            TeamChanges { name, description, owner_on_reply, reply_undo_seconds },
            change,
            rapport_core::Actor::Agent(caller.agent.id),
            state.now(),
        )
        .await?;
    Ok(Json(TeamDto::new(&team, overflow)))
}
