//! API tokens: an agent lists, creates and revokes their own; an admin
//! every agent's. The secret is shown once, when the token is created; only
//! its hash is kept. A revoked token is refused at once by the instance that
//! revoked it (its token cache is emptied) and within [`crate::http::auth::CACHE_TTL`]
//! by the others; the agent's chat sockets on it close within a second.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use rapport_core::{Actor, AgentId};
use rapport_store::{StoreError, TokenInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::{CurrentAgent, TokenCache, new_token};
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::params::PathId;
use crate::http::wire::{self, rfc3339, rfc3339_opt};
use crate::state::AppState;

/// The most characters of a token's label.
const MAX_LABEL_CHARS: usize = 100;

/// The token routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_tokens, create_token)).routes(routes!(revoke_token))
}

/// An API token, never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    /// Id (to revoke it).
    pub id: i64,
    /// The agent it acts as.
    pub agent: i64,
    /// That agent's email.
    pub email: String,
    /// What it is for.
    pub label: String,
    /// When it was created.
    #[schema(schema_with = wire::timestamp)]
    pub created_at: String,
    /// When it was revoked; null while it works.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<String>,
}

impl From<&TokenInfo> for TokenDto {
    fn from(token: &TokenInfo) -> TokenDto {
        TokenDto {
            id: token.id,
            agent: token.agent.0,
            email: token.email.clone(),
            label: token.name.clone(),
            created_at: rfc3339(token.created_at),
            revoked_at: rfc3339_opt(token.revoked_at),
        }
    }
}

/// The tokens the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    /// Newest first.
    pub items: Vec<TokenDto>,
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What it is for (default "api"), at most 100 characters on one line.
    pub label: Option<String>,
    /// The agent it acts as (admins only; default: the caller).
    pub agent: Option<i64>,
}

/// A new token and its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token.
    pub token: TokenDto,
    /// The secret to send as `Authorization: Bearer <secret>`. Rapport keeps
    /// only its hash: it cannot be shown again.
    pub secret: String,
}

/// API tokens: the caller's own, or every agent's for an admin.
#[utoipa::path(
    get, path = "/tokens", tag = "agents",
    responses(
        (status = 200, description = "Tokens, newest first, without their secrets", body = TokenList),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
async fn list_tokens(State(state): State<AppState>, caller: CurrentAgent) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.store.list_tokens().await?;
    let items = tokens
        .iter()
        .filter(|token| may_manage(&caller.agent, &caller.viewer, token.agent))
        .map(TokenDto::from)
        .collect();
    Ok(Json(TokenList { items }))
}

/// Create a token for yourself (or, as an admin, for any agent).
#[utoipa::path(
    post, path = "/tokens", tag = "agents",
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "Created; the secret is shown only now", body = CreatedToken),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Only admins create tokens for other agents", body = ErrorBody),
        (status = 422, description = "Bad label, or no such agent", body = ErrorBody),
    )
)]
async fn create_token(
    State(state): State<AppState>,
    caller: CurrentAgent,
    JsonBody(request): JsonBody<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let agent = AgentId(request.agent.unwrap_or(caller.agent.id.0));
    if !may_manage(&caller.agent, &caller.viewer, agent) {
        return Err(ApiError::Forbidden {
            field: Some("agent".to_owned()),
            message: "only admins create tokens for other agents".to_owned(),
        });
    }
    let label = token_label(request.label.as_deref().unwrap_or("api"))?;
    let target = match state.store.get_agent(agent).await {
        Ok(target) if target.active => target,
        Ok(_) => return Err(ApiError::invalid("agent", format!("agent {} is deactivated", agent.0))),
        Err(StoreError::NotFound(_)) => return Err(ApiError::invalid("agent", format!("no agent {}", agent.0))),
        Err(error) => return Err(error.into()),
    };
    let (secret, hash) = new_token();
    let now = state.now();
    let id = state.store.insert_token(target.id, label.clone(), hash, Actor::Agent(caller.agent.id), now).await?;
    let token = TokenInfo { id, agent: target.id, email: target.email, name: label, created_at: now, revoked_at: None };
    Ok((StatusCode::CREATED, Json(CreatedToken { token: TokenDto::from(&token), secret })))
}

/// Revoke a token: your own, or any as an admin. Revoking twice is fine.
#[utoipa::path(
    delete, path = "/tokens/{id}", tag = "agents",
    params(("id" = i64, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked: refused from now on"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such token among yours", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(token_id = id))]
async fn revoke_token(
    State(state): State<AppState>,
    Extension(cache): Extension<TokenCache>,
    caller: CurrentAgent,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let tokens = state.store.list_tokens().await?;
    let token = tokens.iter().find(|token| token.id == id && may_manage(&caller.agent, &caller.viewer, token.agent));
    let token = token.ok_or_else(|| ApiError::NotFound(format!("no token {id} among yours")))?;
    state.store.revoke_token(token.id, Actor::Agent(caller.agent.id), state.now()).await?;
    cache.clear();
    Ok(StatusCode::NO_CONTENT)
}

/// An agent manages their own tokens; an admin everyone's.
pub(crate) fn may_manage(caller: &rapport_core::Agent, viewer: &rapport_core::Viewer, agent: AgentId) -> bool {
    caller.id == agent || viewer.is_admin()
}

/// A token's label: one line of 1 to [`MAX_LABEL_CHARS`] characters.
pub(crate) fn token_label(text: &str) -> Result<String, ApiError> {
    let label = rapport_core::text::one_line(text).trim().to_owned();
    if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
        return Err(ApiError::invalid("label", format!("a label is 1 to {MAX_LABEL_CHARS} characters")));
    }
    Ok(label)
}
