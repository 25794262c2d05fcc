//! People: the agents of the help desk (`/admin/people`). A supervisor or
//! admin invites an agent by email (a single-use link through the outbox,
//! created with the agent in one transaction), changes their name, role,
//! teams, languages, skills and live-chat capacity, sends a new invitation,
//! and deactivates them: every session ends at once (checked on every
//! request, on every instance) and their API tokens stop working (this
//! instance at once, the others within the token cache's few seconds).
//! The role rules are the API's (`api::agents::authorise_change`): a
//! supervisor may not make or change an admin, and the last active admin
//! stays.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::{Actor, Agent, AgentId, Identity, Role, TeamId};
use rapport_store::{AgentChanges, NewAgent, PasswordPurpose};

use crate::admin::form::FormErrors;
use crate::admin::{Manager, ManagerForm};
use crate::api::agents::{MAX_CHAT_CAPACITY, agent_name, authorise_change, chat_capacity, labels};
use crate::http::auth::TokenCache;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, message_page, render};
use crate::workspace::password::{link_email, new_link};
use crate::workspace::session::{Desk, Fields};

/// Agents listed on the page (a help desk with more pages them by id).
const MAX_AGENTS: i64 = 500;

/// An agent in the list.
pub struct AgentLine {
    id: i64,
    name: String,
    email: String,
    role: &'static str,
    teams: String,
    languages: String,
    capacity: String,
    status: &'static str,
    status_class: &'static str,
}

/// A team to tick.
pub struct TeamChoice {
    id: i64,
    name: String,
    checked: bool,
}

/// A role in the menu.
pub struct RoleChoice {
    value: &'static str,
    selected: bool,
}

/// What the person typed, shown again beside the errors.
#[derive(Default)]
pub struct Typed {
    email: String,
    name: String,
    role: String,
    languages: String,
    skills: String,
    capacity: String,
}

#[derive(Template)]
#[template(path = "admin/people.html")]
struct PeoplePage {
    frame: Frame,
    agents: Vec<AgentLine>,
    typed: Typed,
    teams: Vec<TeamChoice>,
    roles: Vec<RoleChoice>,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "admin/agent.html")]
struct AgentPage {
    frame: Frame,
    agent: AgentLine,
    typed: Typed,
    teams: Vec<TeamChoice>,
    roles: Vec<RoleChoice>,
    errors: FormErrors,
    notice: Option<String>,
    /// Whether this person may change this agent at all (an admin, by a supervisor: no).
    may_change: bool,
    is_self: bool,
    active: bool,
    invitation_pending: bool,
    default_capacity: usize,
    max_capacity: i64,
}

/// `GET /admin`: the first admin page.
pub async fn admin_home(_manager: Manager) -> Redirect {
    Redirect::to("/admin/people")
}

fn role_words(agent: &Agent) -> &'static str {
    match agent.role {
        Role::Agent => "Agent",
        Role::Supervisor => "Supervisor",
        Role::Admin => "Admin",
    }
}

fn line(agent: &Agent, team_names: &[(TeamId, String)], pending: bool, default_capacity: usize) -> AgentLine {
    let teams: Vec<&str> = agent
        .teams
        .iter()
        .filter_map(|id| team_names.iter().find(|(team, _)| team == id).map(|(_, name)| name.as_str()))
        .collect();
    let status = if !agent.active {
        ("Deactivated", "deactivated")
    } else if pending {
        ("No password yet", "no-password")
    } else {
        ("Active", "active")
    };
    AgentLine {
        id: agent.id.0,
        name: agent.name.clone(),
        email: agent.email.clone(),
        role: role_words(agent),
        teams: if teams.is_empty() { "none".to_owned() } else { teams.join(", ") },
        languages: agent.languages.join(", "),
        capacity: match agent.chat_capacity {
            Some(capacity) => capacity.to_string(),
            None => format!("{default_capacity} (default)"),
        },
        status: status.0,
        status_class: status.1,
    }
}

fn roles(desk: &Desk, selected: &str) -> Vec<RoleChoice> {
    [Role::Agent, Role::Supervisor, Role::Admin]
        .into_iter()
        .filter(|role| *role != Role::Admin || desk.viewer.is_admin() || selected == "admin")
        .map(|role| RoleChoice { value: role.as_str(), selected: role.as_str() == selected })
        .collect()
}

async fn team_names(state: &AppState) -> Result<Vec<(TeamId, String)>, PageError> {
    Ok(state.store.list_teams(None, MAX_AGENTS).await?.into_iter().map(|team| (team.id, team.name)).collect())
}

fn team_choices(names: &[(TeamId, String)], checked: &[TeamId]) -> Vec<TeamChoice> {
    names.iter().map(|(id, name)| TeamChoice { id: id.0, name: name.clone(), checked: checked.contains(id) }).collect()
}

/// `GET /admin/people`: the agents and the invitation form.
pub async fn people_page(
    State(state): State<AppState>,
    Manager(desk): Manager,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let typed = Typed { role: "agent".to_owned(), languages: "en".to_owned(), ..Typed::default() };
    people(&state, &desk, &headers, typed, Vec::new(), FormErrors::none(), StatusCode::OK).await
}

async fn people(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    typed: Typed,
    checked: Vec<TeamId>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, "People".to_owned(), Current::Admin("people")).await?;
    let names = team_names(state).await?;
    let pending = state.store.list_agents_without_password().await?;
    let default_capacity = state.config.chat.default_capacity;
    let agents = state
        .store
        .list_agents(None, MAX_AGENTS)
        .await?
        .iter()
        .map(|agent| line(agent, &names, pending.contains(&agent.id), default_capacity))
        .collect();
    let roles = roles(desk, &typed.role);
    let page = PeoplePage { frame, agents, teams: team_choices(&names, &checked), roles, typed, errors };
    Ok(render(status, &page))
}

/// Labels typed as "en, de" or "en de".
fn label_list(text: &str) -> Vec<String> {
    text.split([',', ' ', ';']).map(str::trim).filter(|word| !word.is_empty()).map(str::to_owned).collect()
}

/// The teams ticked, or the field's error.
fn checked_teams(fields: &Fields) -> Result<Vec<TeamId>, ApiError> {
    fields
        .all("team")
        .into_iter()
        .map(|id| id.parse::<i64>().map(TeamId).map_err(|_| ApiError::invalid("teams", "choose teams from the list")))
        .collect()
}

/// Keeps a value, or the field's error.
fn check<T>(errors: &mut FormErrors, result: Result<T, ApiError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            errors.add_api(&error);
            None
        }
    }
}

/// `POST /admin/people/invite`: creates the agent and sends the invitation.
pub async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let typed = Typed {
        email: fields.get("email").trim().to_owned(),
        name: fields.get("name").trim().to_owned(),
        role: fields.get("role").to_owned(),
        languages: fields.get("languages").to_owned(),
        ..Typed::default()
    };
    let mut errors = FormErrors::none();
    let email = check(
        &mut errors,
        Identity::email(&typed.email).map_err(|error| ApiError::invalid("email", error.to_string())),
    );
    let name = check(&mut errors, agent_name(typed.name.clone()));
    let role = check(
        &mut errors,
        typed.role.parse::<Role>().map_err(|_| ApiError::invalid("role", "choose a role from the menu")),
    );
    let languages = check(&mut errors, labels("languages", label_list(&typed.languages)));
    let teams = check(&mut errors, checked_teams(&fields));
    if role == Some(Role::Admin) && !desk.viewer.is_admin() {
        errors.add("role", "Only an admin may invite an admin.");
    }
    let checked = teams.clone().unwrap_or_default();
    let (Some(email), Some(name), Some(role), Some(languages), Some(teams), true) =
        (email, name, role, languages, teams, errors.is_empty())
    else {
        return people(&state, &desk, &headers, typed, checked, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let now = state.now();
    let agent = NewAgent {
        email: email.value.clone(),
        name,
        role,
        teams,
        skills: Vec::new(),
        languages,
        password_hash: None,
        now,
        by: Actor::Agent(desk.agent.id),
    };
    // The link and its email are made for the agent as they will be stored.
    let invited = Agent {
        id: AgentId(0),
        email: agent.email.clone(),
        name: agent.name.clone(),
        role,
        teams: agent.teams.clone(),
        skills: Vec::new(),
        languages: agent.languages.clone(),
        active: true,
        chat_capacity: None,
        created_at: now,
    };
    let (url, link) = new_link(&state.config, &invited, PasswordPurpose::Invite, now);
    let letter = link_email(&state.config, &invited, PasswordPurpose::Invite, &url).map_err(PageError)?;
    match state.store.invite_agent(agent, link, letter).await {
        Ok(created) => {
            tracing::info!(agent = created.id.0, by = desk.agent.id.0, "admin: agent invited");
            Ok(Redirect::to(&format!("/admin/people/{}?done=invited", created.id.0)).into_response())
        }
        Err(error) => {
            let error = match ApiError::from(error) {
                ApiError::Conflict(_) => ApiError::invalid("email", "an agent with this email address exists already"),
                other => other,
            };
            if errors.add_api(&error).is_none() {
                return Err(PageError::from(error));
            }
            people(&state, &desk, &headers, typed, checked, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// What a finished action says at the top of the agent's page.
fn notice(done: &str, agent: &Agent) -> Option<String> {
    Some(match done {
        "invited" => format!(
            "{} is invited: the invitation is on its way to {}. The link works once, for 7 days.",
            agent.name, agent.email
        ),
        "invitation" => format!("A new invitation is on its way to {}.", agent.email),
        "saved" => "Saved.".to_owned(),
        "deactivated" => format!(
            "{} is deactivated: signed out everywhere, their API tokens no longer work, and they cannot sign in.",
            agent.name
        ),
        "reactivated" => format!("{} can sign in again.", agent.name),
        _ => return None,
    })
}

/// `GET /admin/people/{id}`.
pub async fn agent_page(
    State(state): State<AppState>,
    Manager(desk): Manager,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(agent) = find(&state, id).await? else { return Ok(no_such_agent()) };
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let done = pairs.iter().find(|(key, _)| key == "done").map_or("", |(_, value)| value.as_str());
    let typed = Typed {
        name: agent.name.clone(),
        role: agent.role.as_str().to_owned(),
        languages: agent.languages.join(", "),
        skills: agent.skills.join(", "),
        capacity: agent.chat_capacity.map(|capacity| capacity.to_string()).unwrap_or_default(),
        ..Typed::default()
    };
    let checked = agent.teams.clone();
    let notice = notice(done, &agent);
    agent_view(&state, &desk, &headers, &agent, typed, checked, FormErrors::none(), notice, StatusCode::OK).await
}

fn no_such_agent() -> Response {
    message_page(StatusCode::NOT_FOUND, "No such agent", "This agent does not exist. Go back to People.")
}

async fn find(state: &AppState, id: i64) -> Result<Option<Agent>, PageError> {
    match state.store.get_agent(AgentId(id)).await {
        Ok(agent) => Ok(Some(agent)),
        Err(rapport_store::StoreError::NotFound(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn agent_view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    agent: &Agent,
    typed: Typed,
    checked: Vec<TeamId>,
    errors: FormErrors,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, agent.name.clone(), Current::Admin("people")).await?;
    let names = team_names(state).await?;
    let pending = state.store.list_agents_without_password().await?.contains(&agent.id);
    let default_capacity = state.config.chat.default_capacity;
    let may_change = desk.viewer.is_admin() || agent.role != Role::Admin;
    let page = AgentPage {
        frame,
        agent: line(agent, &names, pending, default_capacity),
        teams: team_choices(&names, &checked),
        roles: roles(desk, &typed.role),
        typed,
        errors,
        notice,
        may_change,
        is_self: desk.agent.id == agent.id,
        active: agent.active,
        invitation_pending: pending && agent.active,
        default_capacity,
        max_capacity: MAX_CHAT_CAPACITY,
    };
    Ok(render(status, &page))
}

/// `POST /admin/people/{id}`: saves the agent's settings, all or nothing.
pub(crate) async fn save_agent(
    State(state): State<AppState>,
    Extension(cache): Extension<TokenCache>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let Some(agent) = find(&state, id).await? else { return Ok(no_such_agent()) };
    let typed = Typed {
        name: fields.get("name").trim().to_owned(),
        role: fields.get("role").to_owned(),
        languages: fields.get("languages").to_owned(),
        skills: fields.get("skills").to_owned(),
        capacity: fields.get("chat_capacity").trim().to_owned(),
        ..Typed::default()
    };
    let mut errors = FormErrors::none();
    let name = check(&mut errors, agent_name(typed.name.clone()));
    let role = check(
        &mut errors,
        typed.role.parse::<Role>().map_err(|_| ApiError::invalid("role", "choose a role from the menu")),
    );
    let languages = check(&mut errors, labels("languages", label_list(&typed.languages)));
    let skills = check(&mut errors, labels("skills", label_list(&typed.skills)));
    let teams = check(&mut errors, checked_teams(&fields));
    let capacity = match typed.capacity.as_str() {
        "" => Some(None),
        text => check(
            &mut errors,
            text.parse::<i64>()
                .map_err(|_| ApiError::invalid("chat_capacity", "type a whole number of chats, or leave it empty"))
                .and_then(chat_capacity),
        )
        .map(Some),
    };
    let checked = teams.clone().unwrap_or_else(|| agent.teams.clone());
    let changes =
        AgentChanges { name, role, teams, skills, languages, chat_capacity: capacity, ..AgentChanges::default() };
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty()
        && let Err(error) = authorise_change(&desk.agent, &desk.viewer, &agent, &changes)
    {
        status = errors.add_api(&error).unwrap_or(StatusCode::FORBIDDEN);
    }
    if !errors.is_empty() {
        return agent_view(&state, &desk, &headers, &agent, typed, checked, errors, None, status).await;
    }
    match state.store.update_agent(agent.id, changes, Actor::Agent(desk.agent.id), state.now()).await {
        Ok(_) => {
            cache.clear();
            Ok(Redirect::to(&format!("/admin/people/{id}?done=saved")).into_response())
        }
        Err(error) => {
            let error = ApiError::from(error);
            let Some(status) = errors.add_api(&error) else { return Err(PageError::from(error)) };
            agent_view(&state, &desk, &headers, &agent, typed, checked, errors, None, status).await
        }
    }
}

/// `POST /admin/people/{id}/active` with `active=false` (deactivate) or `true`.
pub(crate) async fn set_active(
    State(state): State<AppState>,
    Extension(cache): Extension<TokenCache>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let Some(agent) = find(&state, id).await? else { return Ok(no_such_agent()) };
    let active = match fields.get("active") {
        "true" => true,
        "false" => false,
        _ => return Ok(message_page(StatusCode::UNPROCESSABLE_ENTITY, "Nothing changed", "Use the page's buttons.")),
    };
    let changes = AgentChanges { active: Some(active), ..AgentChanges::default() };
    if let Err(error) = authorise_change(&desk.agent, &desk.viewer, &agent, &changes) {
        return refused_on_page(&state, &desk, &headers, &agent, error).await;
    }
    match state.store.update_agent(agent.id, changes, Actor::Agent(desk.agent.id), state.now()).await {
        Ok(_) => {
            // Tokens cached by this instance stop at once.
            cache.clear();
            let done = if active { "reactivated" } else { "deactivated" };
            Ok(Redirect::to(&format!("/admin/people/{id}?done={done}")).into_response())
        }
        Err(error) => refused_on_page(&state, &desk, &headers, &agent, ApiError::from(error)).await,
    }
}

/// The agent's page again with the API's refusal at the top.
async fn refused_on_page(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    agent: &Agent,
    error: ApiError,
) -> Result<Response, PageError> {
    let Some((status, _, message)) = error.for_page() else { return Err(PageError::from(error)) };
    let mut page_errors = FormErrors::none();
    page_errors.add("form", crate::admin::form::capitalised(&message));
    let typed = Typed {
        name: agent.name.clone(),
        role: agent.role.as_str().to_owned(),
        languages: agent.languages.join(", "),
        skills: agent.skills.join(", "),
        capacity: agent.chat_capacity.map(|capacity| capacity.to_string()).unwrap_or_default(),
        ..Typed::default()
    };
    agent_view(state, desk, headers, agent, typed, agent.teams.clone(), page_errors, None, status).await
}

/// `POST /admin/people/{id}/invitation`: a new invitation for an agent who
/// has not chosen a password yet.
pub async fn resend_invitation(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, .. }: ManagerForm,
) -> Result<Response, PageError> {
    let Some(agent) = find(&state, id).await? else { return Ok(no_such_agent()) };
    let changes = AgentChanges::default();
    if let Err(error) = authorise_change(&desk.agent, &desk.viewer, &agent, &changes) {
        return refused_on_page(&state, &desk, &headers, &agent, error).await;
    }
    if !agent.active {
        let error = ApiError::invalid("form", "reactivate this agent before inviting them again");
        return refused_on_page(&state, &desk, &headers, &agent, error).await;
    }
    let now = state.now();
    let (url, link) = new_link(&state.config, &agent, PasswordPurpose::Invite, now);
    let letter = link_email(&state.config, &agent, PasswordPurpose::Invite, &url).map_err(PageError)?;
    state.store.reinvite_agent(link, letter, Actor::Agent(desk.agent.id)).await?;
    Ok(Redirect::to(&format!("/admin/people/{id}?done=invitation")).into_response())
}
