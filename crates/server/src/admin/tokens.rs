//! API tokens (`/admin/tokens`): by the API's rules, everyone manages their
//! own and an admin everyone's. A new token's secret is shown once, on the
//! page that answers the form (never stored, never shown again: only its
//! hash is kept); a revoked token is refused at once on this instance and
//! within the token cache's few seconds on the others. Both are audited.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::{Actor, AgentId};

use crate::admin::form::FormErrors;
use crate::admin::{Manager, ManagerForm};
use crate::api::tokens::{may_manage, token_label};
use crate::http::auth::{TokenCache, new_token};
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, message_page, render};
use crate::workspace::session::Desk;
use crate::workspace::view::When;

/// A token in the list.
pub struct Listed {
    id: i64,
    label: String,
    agent: String,
    created: When,
    revoked: Option<When>,
}

/// An agent a token may be made for.
pub struct Choice {
    id: i64,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    frame: Frame,
    tokens: Vec<Listed>,
    agents: Vec<Choice>,
    label: String,
    errors: FormErrors,
    /// The new token's secret, shown this once.
    secret: Option<String>,
    notice: Option<&'static str>,
}

/// `GET /admin/tokens`.
pub async fn list(
    State(state): State<AppState>,
    Manager(desk): Manager,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let notice = (query.as_deref() == Some("done=revoked"))
        .then_some("Revoked: the token is refused from now on (on other instances within 5 seconds).");
    view(&state, &desk, &headers, String::new(), desk.agent.id, FormErrors::none(), None, notice, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    label: String,
    chosen: AgentId,
    errors: FormErrors,
    secret: Option<String>,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, "API tokens".to_owned(), Current::Admin("tokens")).await?;
    let now = state.now();
    let tokens = state
        .store
        .list_tokens()
        .await?
        .into_iter()
        .filter(|token| may_manage(&desk.agent, &desk.viewer, token.agent))
        .map(|token| Listed {
            id: token.id,
            label: token.name,
            agent: token.email,
            created: When::of(token.created_at, now),
            revoked: token.revoked_at.map(|at| When::of(at, now)),
        })
        .collect();
    let agents = state
        .store
        .list_agents(None, 500)
        .await?
        .into_iter()
        .filter(|agent| agent.active && may_manage(&desk.agent, &desk.viewer, agent.id))
        .map(|agent| Choice {
            id: agent.id.0,
            label: format!("{} ({})", agent.name, agent.email),
            selected: agent.id == chosen,
        })
        .collect();
    let page = TokensPage { frame, tokens, agents, label, errors, secret, notice };
    Ok(render(status, &page))
}

/// `POST /admin/tokens`: makes a token (`label`, `agent`) and shows its secret once.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let label_text = fields.get("label").to_owned();
    let mut errors = FormErrors::none();
    let agent = match fields.get("agent").parse::<i64>() {
        Ok(id) => AgentId(id),
        Err(_) => desk.agent.id,
    };
    let target = match state.store.get_agent(agent).await {
        Ok(target) if target.active && may_manage(&desk.agent, &desk.viewer, target.id) => Some(target),
        Ok(_) | Err(rapport_store::StoreError::NotFound(_)) => {
            errors.add("agent", "Choose an agent from the menu: yourself, or (as an admin) any active agent.");
            None
        }
        Err(error) => return Err(error.into()),
    };
    let label = match token_label(&label_text) {
        Ok(label) => Some(label),
        Err(error) => {
            errors.add_api(&error);
            None
        }
    };
    let (Some(target), Some(label)) = (target, label) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return view(&state, &desk, &headers, label_text, agent, errors, None, None, status).await;
    };
    let (secret, hash) = new_token();
    state.store.insert_token(target.id, label, hash, Actor::Agent(desk.agent.id), state.now()).await?;
    tracing::info!(agent = target.id.0, by = desk.agent.id.0, "admin: API token created");
    view(&state, &desk, &headers, String::new(), target.id, errors, Some(secret), None, StatusCode::CREATED).await
}

/// `POST /admin/tokens/{id}/revoke`.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Extension(cache): Extension<TokenCache>,
    Path(id): Path<i64>,
    ManagerForm { desk, .. }: ManagerForm,
) -> Result<Response, PageError> {
    let tokens = state.store.list_tokens().await?;
    let Some(token) = tokens.iter().find(|token| token.id == id && may_manage(&desk.agent, &desk.viewer, token.agent))
    else {
        return Ok(message_page(
            StatusCode::NOT_FOUND,
            "No such token",
            "This token is not among the ones you manage.",
        ));
    };
    state.store.revoke_token(token.id, Actor::Agent(desk.agent.id), state.now()).await?;
    cache.clear();
    Ok(Redirect::to("/admin/tokens?done=revoked").into_response())
}
