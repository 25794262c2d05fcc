//! Teams (`/admin/teams`): the teams with their members and overflow, a new
//! team, and a team's settings: name, description, who owns a ticket once an
//! agent answers it, the reply box's undo window, and where its new tickets
//! overflow while its queue is backed up. The API's validation
//! (`api::teams`), one transaction, audited.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::overflow::Overflow;
use rapport_core::{Actor, Team, TeamId};
use rapport_store::TeamChanges;
use serde_json::Value;

use crate::admin::form::FormErrors;
use crate::admin::{Manager, ManagerForm};
use crate::api::teams::{
    MAX_OVERFLOW_MINUTES, description, overflow_change, overflow_minutes, owner_on_reply, team_name, undo_seconds,
};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, message_page, render};
use crate::workspace::session::Desk;

/// A team in the list.
pub struct Listed {
    id: i64,
    name: String,
    description: String,
    members: usize,
    overflow: String,
}

/// Another team, for the overflow menu.
pub struct Choice {
    id: i64,
    name: String,
    selected: bool,
}

/// What the person typed, shown again beside the errors.
#[derive(Default)]
pub struct Typed {
    name: String,
    description: String,
    owner_on_reply: String,
    undo: String,
    overflow_team: String,
    overflow_minutes: String,
}

#[derive(Template)]
#[template(path = "admin/teams.html")]
struct TeamsPage {
    frame: Frame,
    teams: Vec<Listed>,
    typed: Typed,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "admin/team.html")]
struct TeamPage {
    frame: Frame,
    id: i64,
    title: String,
    members: Vec<String>,
    others: Vec<Choice>,
    typed: Typed,
    errors: FormErrors,
    notice: Option<&'static str>,
    max_undo: i64,
    max_minutes: i64,
}

fn overflow_words(overflow: Option<Overflow>, teams: &[Team]) -> String {
    match overflow {
        Some(overflow) => {
            let name = teams.iter().find(|team| team.id == overflow.team).map_or("?", |team| team.name.as_str());
            format!("to {name} after {} min", overflow.after_seconds / 60)
        }
        None => "none".to_owned(),
    }
}

/// `GET /admin/teams`.
pub async fn list(
    State(state): State<AppState>,
    Manager(desk): Manager,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    list_view(&state, &desk, &headers, Typed::default(), FormErrors::none(), StatusCode::OK).await
}

async fn list_view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    typed: Typed,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, "Teams".to_owned(), Current::Admin("teams")).await?;
    let teams = state.store.list_teams(None, 500).await?;
    let agents = state.store.list_agents(None, 500).await?;
    let overflows = state.store.list_overflows().await?;
    let listed = teams
        .iter()
        .map(|team| Listed {
            id: team.id.0,
            name: team.name.clone(),
            description: team.description.clone(),
            members: agents.iter().filter(|agent| agent.active && agent.teams.contains(&team.id)).count(),
            overflow: overflow_words(
                overflows.iter().find(|(id, _)| *id == team.id).map(|(_, overflow)| *overflow),
                &teams,
            ),
        })
        .collect();
    Ok(render(status, &TeamsPage { frame, teams: listed, typed, errors }))
}

/// `POST /admin/teams`: a new team (`name`, `description`).
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let typed = Typed {
        name: fields.get("name").trim().to_owned(),
        description: fields.get("description").to_owned(),
        ..Typed::default()
    };
    let mut errors = FormErrors::none();
    let name = team_name(typed.name.clone()).map_err(|error| errors.add_api(&error)).ok();
    let text = description(typed.description.clone()).map_err(|error| errors.add_api(&error)).ok();
    let (Some(name), Some(text)) = (name, text) else {
        return list_view(&state, &desk, &headers, typed, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    match state.store.create_team(name, text, Actor::Agent(desk.agent.id), state.now()).await {
        Ok(team) => Ok(Redirect::to(&format!("/admin/teams/{}?done=created", team.id.0)).into_response()),
        Err(error) => {
            let error = match ApiError::from(error) {
                ApiError::Conflict(_) => ApiError::invalid("name", "a team with this name exists already"),
                other => other,
            };
            if errors.add_api(&error).is_none() {
                return Err(PageError::from(error));
            }
            list_view(&state, &desk, &headers, typed, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn find(state: &AppState, id: i64) -> Result<Option<Team>, PageError> {
    match state.store.get_team(TeamId(id)).await {
        Ok(team) => Ok(Some(team)),
        Err(rapport_store::StoreError::NotFound(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

fn no_such_team() -> Response {
    message_page(StatusCode::NOT_FOUND, "No such team", "This team does not exist. Go back to Teams.")
}

/// `GET /admin/teams/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Manager(desk): Manager,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(team) = find(&state, id).await? else { return Ok(no_such_team()) };
    let overflow = state.store.find_overflow(team.id).await?;
    let typed = Typed {
        name: team.name.clone(),
        description: team.description.clone(),
        owner_on_reply: team.owner_on_reply.as_str().to_owned(),
        undo: team.reply_undo_seconds.to_string(),
        overflow_team: overflow.map(|overflow| overflow.team.0.to_string()).unwrap_or_default(),
        overflow_minutes: overflow.map(|overflow| (overflow.after_seconds / 60).to_string()).unwrap_or_default(),
    };
    let notice = match query.as_deref() {
        Some("done=created") => Some("The team is made. Add agents to it from People; set its overflow here."),
        Some("done=saved") => Some("Saved."),
        _ => None,
    };
    team_view(&state, &desk, &headers, &team, typed, FormErrors::none(), notice, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn team_view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    team: &Team,
    typed: Typed,
    errors: FormErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, team.name.clone(), Current::Admin("teams")).await?;
    let members = state
        .store
        .list_agents(None, 500)
        .await?
        .into_iter()
        .filter(|agent| agent.active && agent.teams.contains(&team.id))
        .map(|agent| agent.name)
        .collect();
    let others = state
        .store
        .list_teams(None, 500)
        .await?
        .into_iter()
        .filter(|other| other.id != team.id)
        .map(|other| Choice {
            id: other.id.0,
            selected: typed.overflow_team == other.id.0.to_string(),
            name: other.name,
        })
        .collect();
    let page = TeamPage {
        frame,
        id: team.id.0,
        title: team.name.clone(),
        members,
        others,
        typed,
        errors,
        notice,
        max_undo: rapport_store::MAX_UNDO_SECONDS,
        max_minutes: MAX_OVERFLOW_MINUTES,
    };
    Ok(render(status, &page))
}

/// A whole number typed in a field, as the JSON value the API's validators take.
fn number(text: &str) -> Value {
    text.trim().parse::<i64>().map_or_else(|_| Value::String(text.to_owned()), Value::from)
}

/// `POST /admin/teams/{id}`: saves every setting, all or nothing.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let Some(team) = find(&state, id).await? else { return Ok(no_such_team()) };
    let typed = Typed {
        name: fields.get("name").trim().to_owned(),
        description: fields.get("description").to_owned(),
        owner_on_reply: fields.get("owner_on_reply").to_owned(),
        undo: fields.get("reply_undo_seconds").trim().to_owned(),
        overflow_team: fields.get("overflow_team").trim().to_owned(),
        overflow_minutes: fields.get("overflow_after_minutes").trim().to_owned(),
    };
    let mut errors = FormErrors::none();
    let name = team_name(typed.name.clone()).map_err(|error| errors.add_api(&error)).ok();
    let text = description(typed.description.clone()).map_err(|error| errors.add_api(&error)).ok();
    let owner = owner_on_reply(typed.owner_on_reply.clone()).map_err(|error| errors.add_api(&error)).ok();
    let undo = undo_seconds(Some(number(&typed.undo))).map_err(|error| errors.add_api(&error)).ok().flatten();
    let overflow_team = match typed.overflow_team.as_str() {
        "" => Some(None),
        word => match word.parse::<i64>() {
            Ok(team) => Some(Some(team)),
            Err(_) => {
                errors.add("overflow_team", "Choose a team from the menu.");
                None
            }
        },
    };
    let minutes = match typed.overflow_minutes.as_str() {
        "" => Ok(Some(None)),
        text => overflow_minutes(Some(number(text))),
    }
    .map_err(|error| errors.add_api(&error))
    .ok()
    .flatten();
    let current = state.store.find_overflow(team.id).await?;
    let change = match (overflow_team, minutes) {
        (Some(team), Some(minutes)) if errors.is_empty() => {
            overflow_change(Some(team), Some(minutes), current).map_err(|error| errors.add_api(&error)).ok()
        }
        _ => None,
    };
    let (Some(name), Some(text), Some(owner), Some(undo), Some(change), true) =
        (name, text, owner, undo, change, errors.is_empty())
    else {
        return team_view(&state, &desk, &headers, &team, typed, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let changes = TeamChanges {
        name: Some(name),
        description: Some(text),
        owner_on_reply: Some(owner),
        reply_undo_seconds: Some(undo),
    };
    let by = Actor::Agent(desk.agent.id);
    match state.store.update_team_and_overflow(team.id, changes, change, by, state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/teams/{id}?done=saved")).into_response()),
        Err(error) => {
            let error = match ApiError::from(error) {
                ApiError::Conflict(_) => ApiError::invalid("name", "a team with this name exists already"),
                other => other,
            };
            let Some(status) = errors.add_api(&error) else { return Err(PageError::from(error)) };
            team_view(&state, &desk, &headers, &team, typed, errors, None, status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_core::event::OwnerOnReply;

    #[test]
    fn typed_numbers_reach_the_apis_validators_as_numbers_and_words_as_words() {
        assert_eq!(number(" 30 "), Value::from(30));
        assert_eq!(number("soon"), Value::String("soon".into()));
        assert!(undo_seconds(Some(number("soon"))).is_err());
        assert_eq!(OwnerOnReply::parse("none"), Some(OwnerOnReply::None));
    }
}
