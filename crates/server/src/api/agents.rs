//! Agents: the people who answer tickets. Any agent may read them.
//! Supervisors and admins create and change agents; only an admin may create
//! an admin or change one. An agent may change their own name, skills,
//! languages and password. The JSON never carries a password hash.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use rapport_core::{Actor, Agent, AgentId, Identity, Role, TeamId, Viewer};
use rapport_store::{AgentChanges, NewAgent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::{CurrentAgent, TokenCache, hash_password};
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::merge_patch::PatchObject;
use crate::http::params::{IdPage, PathId, QueryParams};
use crate::http::wire::{self, rfc3339};
use crate::state::AppState;

/// The agent routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_agent, list_agents)).routes(routes!(get_agent, update_agent))
}

/// An agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentDto {
    /// Id.
    pub id: i64,
    /// Sign-in email, lower-cased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// What they may do.
    #[schema(schema_with = wire::role)]
    pub role: Role,
    /// Team ids.
    pub teams: Vec<i64>,
    /// Skills used by routing.
    pub skills: Vec<String>,
    /// Languages they answer in.
    pub languages: Vec<String>,
    /// False once deactivated.
    pub active: bool,
    /// How many live chats they take at once; null: the server's default.
    pub chat_capacity: Option<u32>,
    /// When the agent was created.
    #[schema(schema_with = wire::timestamp)]
    pub created_at: String,
}

impl From<&Agent> for AgentDto {
    fn from(agent: &Agent) -> AgentDto {
        AgentDto {
            id: agent.id.0,
            email: agent.email.clone(),
            name: agent.name.clone(),
            role: agent.role,
            teams: agent.teams.iter().map(|team| team.0).collect(),
            skills: agent.skills.clone(),
            languages: agent.languages.clone(),
            active: agent.active,
            chat_capacity: agent.chat_capacity,
            created_at: rfc3339(agent.created_at),
        }
    }
}

/// One page of agents.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentPageDto {
    /// The agents, by id.
    pub agents: Vec<AgentDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/agents`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgentRequest {
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    #[schema(schema_with = wire::role)]
    pub role: Role,
    /// Team ids.
    #[serde(default)]
    pub teams: Vec<i64>,
    /// Skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Languages (BCP 47, such as `en`).
    #[serde(default)]
    pub languages: Vec<String>,
    /// A password for the web sign-in (8-1024 characters).
    #[serde(default)]
    pub password: Option<String>,
}

/// `PATCH /api/v1/agents/{id}`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct AgentPatchBody {
    /// New name.
    name: Option<String>,
    /// New role (supervisors and admins; admin only by an admin).
    #[schema(schema_with = wire::role)]
    role: Option<Role>,
    /// The new team set.
    teams: Option<Vec<i64>>,
    /// The new skills.
    skills: Option<Vec<String>>,
    /// The new languages.
    languages: Option<Vec<String>>,
    /// Deactivate (false) or reactivate (true).
    active: Option<bool>,
    /// A new password.
    password: Option<String>,
    /// Live chats at once (0-20), or null for the server's default (supervisors and admins).
    chat_capacity: Option<u32>,
}

/// The most live chats one agent may take at once.
pub const MAX_CHAT_CAPACITY: i64 = 20;

/// A chat capacity as the API and the admin pages accept it: a whole number
/// of chats from 0 to [`MAX_CHAT_CAPACITY`].
pub(crate) fn chat_capacity(value: i64) -> Result<u32, ApiError> {
    u32::try_from(value).ok().filter(|_| value <= MAX_CHAT_CAPACITY).ok_or_else(|| {
        ApiError::invalid(
            "chat_capacity",
            format!("chat_capacity must be a whole number from 0 to {MAX_CHAT_CAPACITY}"),
        )
    })
}

fn nullable_capacity(value: Value) -> Result<Option<u32>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => match number.as_i64() {
            Some(value) => chat_capacity(value).map(Some),
            None => Err(ApiError::invalid("chat_capacity", "chat_capacity must be a whole number or null")),
        },
        _ => Err(ApiError::invalid("chat_capacity", "chat_capacity must be a whole number or null")),
    }
}

/// A display name as agents have them: one line, 1-200 characters.
pub(crate) fn agent_name(name: String) -> Result<String, ApiError> {
    let name = rapport_core::text::one_line(&name);
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid("name", "name must be 1-200 characters"));
    }
    Ok(name)
}

/// Skills or languages: at most 50 labels of 1-64 characters, lower-cased, sorted, once each.
pub(crate) fn labels(field: &str, labels: Vec<String>) -> Result<Vec<String>, ApiError> {
    let mut labels: Vec<String> = labels.into_iter().map(|label| label.trim().to_lowercase()).collect();
    if labels.len() > 50 || labels.iter().any(|label| label.is_empty() || label.chars().count() > 64) {
        return Err(ApiError::invalid(field, format!("{field} must be at most 50 labels of 1-64 characters")));
    }
    labels.sort();
    labels.dedup();
    Ok(labels)
}

/// Hashes a password off the async threads: argon2id is slow on purpose.
pub(crate) async fn password_hash(password: String) -> Result<String, ApiError> {
    let length = password.chars().count();
    if !(8..=1024).contains(&length) {
        return Err(ApiError::invalid("password", "password must be 8-1024 characters"));
    }
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| ApiError::Internal(anyhow::Error::new(error).context("hashing a password")))?
        .map_err(ApiError::Internal)
}

/// Create an agent (supervisors and admins; only an admin creates an admin).
#[utoipa::path(
    post, path = "/agents", tag = "agents",
    request_body = CreateAgentRequest,
    responses(
        (status = 201, description = "Created", body = AgentDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not create this agent", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    )
)]
async fn create_agent(
    State(state): State<AppState>,
    caller: CurrentAgent,
    JsonBody(request): JsonBody<CreateAgentRequest>,
) -> Result<(StatusCode, Json<AgentDto>), ApiError> {
    if !caller.viewer.can_manage_people() {
        return Err(ApiError::forbidden("only supervisors and admins create agents"));
    }
    if request.role == Role::Admin && !caller.viewer.is_admin() {
        return Err(ApiError::Forbidden {
            field: Some("role".into()),
            message: "only an admin may create an admin".into(),
        });
    }
    let email = Identity::email(&request.email).map_err(|error| ApiError::invalid("email", error.to_string()))?.value;
    let password_hash = match request.password {
        Some(password) => Some(password_hash(password).await?),
        None => None,
    };
    let agent = NewAgent {
        email,
        name: agent_name(request.name)?,
        role: request.role,
        teams: request.teams.into_iter().map(TeamId).collect(),
        skills: labels("skills", request.skills)?,
        languages: labels("languages", request.languages)?,
        password_hash,
        now: state.now(),
        by: Actor::Agent(caller.agent.id),
    };
    let agent = state.store.insert_agent(agent).await?;
    Ok((StatusCode::CREATED, Json(AgentDto::from(&agent))))
}

/// An agent.
#[utoipa::path(
    get, path = "/agents/{id}", tag = "agents",
    params(("id" = i64, Path, description = "The agent's id")),
    responses(
        (status = 200, description = "The agent", body = AgentDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such agent", body = ErrorBody),
    )
)]
async fn get_agent(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<Json<AgentDto>, ApiError> {
    let agent = state.store.get_agent(AgentId(id)).await?;
    Ok(Json(AgentDto::from(&agent)))
}

/// Agents by id.
#[utoipa::path(
    get, path = "/agents", tag = "agents",
    params(
        ("limit" = Option<i64>, Query, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of agents", body = AgentPageDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Unknown parameter or bad value", body = ErrorBody),
    )
)]
async fn list_agents(
    State(state): State<AppState>,
    _caller: CurrentAgent,
    query: QueryParams,
) -> Result<Json<AgentPageDto>, ApiError> {
    let page = IdPage::from_query(query, state.config.max_page_size)?;
    let agents = state.store.list_agents(page.after.map(AgentId), page.limit).await?;
    let next_cursor = page.next_cursor(agents.last().map(|agent| agent.id.0), agents.len());
    Ok(Json(AgentPageDto { agents: agents.iter().map(AgentDto::from).collect(), next_cursor }))
}

/// Change an agent with a JSON merge patch.
///
/// Agents may change their own name, skills, languages and password;
/// supervisors and admins may change anyone's role, teams and active flag,
/// and only an admin may grant the admin role or change an admin.
#[utoipa::path(
    patch, path = "/agents/{id}", tag = "agents",
    request_body(content = AgentPatchBody, content_type = "application/merge-patch+json"),
    params(("id" = i64, Path, description = "The agent's id")),
    responses(
        (status = 200, description = "The changed agent", body = AgentDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Role may not make this change", body = ErrorBody),
        (status = 404, description = "No such agent", body = ErrorBody),
        (status = 409, description = "The change would leave no active admin", body = ErrorBody),
        (status = 422, description = "Unknown field or bad value", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(agent_id = id))]
async fn update_agent(
    State(state): State<AppState>,
    Extension(cache): Extension<TokenCache>,
    caller: CurrentAgent,
    PathId(id): PathId,
    mut object: PatchObject,
) -> Result<Json<AgentDto>, ApiError> {
    object.only(&["name", "role", "teams", "skills", "languages", "active", "password", "chat_capacity"])?;
    let target = state.store.get_agent(AgentId(id)).await?;
    let changes = AgentChanges {
        name: object.string("name")?.map(agent_name).transpose()?,
        role: object.word::<Role>("role")?,
        teams: object.ids("teams")?.map(|teams| teams.into_iter().map(TeamId).collect()),
        skills: object.strings("skills")?.map(|skills| labels("skills", skills)).transpose()?,
        languages: object.strings("languages")?.map(|languages| labels("languages", languages)).transpose()?,
        active: object.boolean("active")?,
        password_hash: None,
        chat_capacity: object.take("chat_capacity").map(nullable_capacity).transpose()?,
    };
    authorise_change(&caller.agent, &caller.viewer, &target, &changes)?;
    let password_hash = match object.string("password")? {
        Some(password) => Some(password_hash(password).await?),
        None => None,
    };
    let changes = AgentChanges { password_hash, ..changes };
    let agent = state.store.update_agent(target.id, changes, Actor::Agent(caller.agent.id), state.now()).await?;
    cache.clear();
    Ok(Json(AgentDto::from(&agent)))
}

/// Whether `caller` may make `changes` to `target`, by the API's role rules
/// (the admin pages apply the same).
pub(crate) fn authorise_change(
    caller: &Agent,
    viewer: &Viewer,
    target: &Agent,
    changes: &AgentChanges,
) -> Result<(), ApiError> {
    let forbidden =
        |field: &str, message: &str| ApiError::Forbidden { field: Some(field.to_owned()), message: message.to_owned() };
    let is_self = caller.id == target.id;
    if !is_self && !viewer.can_manage_people() {
        return Err(ApiError::forbidden("only supervisors and admins change other agents"));
    }
    if !viewer.can_manage_people() {
        let managed = [
            ("role", changes.role.is_some()),
            ("teams", changes.teams.is_some()),
            ("active", changes.active.is_some()),
            ("chat_capacity", changes.chat_capacity.is_some()),
        ];
        if let Some((field, _)) = managed.into_iter().find(|(_, given)| *given) {
            return Err(forbidden(field, "only supervisors and admins change this"));
        }
    }
    if !viewer.is_admin() {
        if changes.role == Some(Role::Admin) {
            return Err(forbidden("role", "only an admin may grant the admin role"));
        }
        if target.role == Role::Admin && !is_self {
            return Err(ApiError::forbidden("only an admin may change an admin"));
        }
    }
    Ok(())
}
