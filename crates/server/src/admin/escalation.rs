//! The escalation plan (`/admin/escalation`): up to three levels, each a
//! team (or the ticket's own team), and the on-call supervisor told when a
//! ticket is escalated past the last level. Escalation rules move tickets up
//! it (`escalate`); the store checks the teams and the agent exist.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::rules::{EscalationPlan, MAX_ESCALATION_LEVEL};
use rapport_core::{Actor, AgentId, Role, TeamId};

use crate::admin::form::FormErrors;
use crate::admin::{Manager, ManagerForm};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, render};
use crate::workspace::session::Desk;

/// The word a level's menu sends for "the ticket's own team".
const KEEP: &str = "keep";

/// A choice in a menu.
pub struct Choice {
    value: String,
    label: String,
}

/// One level's menu and what is chosen in it.
pub struct Level {
    number: usize,
    chosen: String,
}

#[derive(Template)]
#[template(path = "admin/escalation.html")]
struct PlanPage {
    frame: Frame,
    levels: Vec<Level>,
    teams: Vec<Choice>,
    on_call: String,
    supervisors: Vec<Choice>,
    errors: FormErrors,
    notice: Option<&'static str>,
}

/// The menu value of a level.
fn level_value(level: Option<TeamId>) -> String {
    level.map_or_else(|| KEEP.to_owned(), |team| team.0.to_string())
}

#[allow(clippy::too_many_arguments)]
async fn view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    chosen: Vec<String>,
    on_call: String,
    errors: FormErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, "Escalation plan".to_owned(), Current::Admin("escalation")).await?;
    let teams = state.store.list_teams(None, 1_000).await?;
    let agents = state.store.list_agents(None, 10_000).await?;
    let levels = (1..=usize::from(MAX_ESCALATION_LEVEL))
        .map(|number| Level { number, chosen: chosen.get(number - 1).cloned().unwrap_or_default() })
        .collect();
    let page = PlanPage {
        frame,
        levels,
        teams: teams.iter().map(|team| Choice { value: team.id.0.to_string(), label: team.name.clone() }).collect(),
        on_call,
        supervisors: agents
            .iter()
            .filter(|agent| agent.active && agent.role != Role::Agent)
            .map(|agent| Choice { value: agent.id.0.to_string(), label: agent.name.clone() })
            .collect(),
        errors,
        notice,
    };
    Ok(render(status, &page))
}

/// `GET /admin/escalation`.
pub async fn show(
    State(state): State<AppState>,
    Manager(desk): Manager,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let plan = state.store.escalation_plan().await?;
    let chosen = plan.levels.iter().map(|level| level_value(*level)).collect();
    let on_call = plan.on_call.map(|agent| agent.0.to_string()).unwrap_or_default();
    let notice = (query.as_deref() == Some("done=saved")).then_some("Saved. Rules escalate along it from now on.");
    view(&state, &desk, &headers, chosen, on_call, FormErrors::none(), notice, StatusCode::OK).await
}

/// Reads the levels' menus: filled in order from level 1, an empty one ends
/// the plan. `Err` names the level out of order or unreadable.
pub fn read_levels(chosen: &[String]) -> Result<Vec<Option<TeamId>>, (usize, &'static str)> {
    let mut levels = Vec::new();
    let mut ended = false;
    for (index, value) in chosen.iter().enumerate() {
        match value.as_str() {
            "" => ended = true,
            _ if ended => return Err((index, "Fill the levels in order: the level before this one is not used.")),
            KEEP => levels.push(None),
            id => match id.parse::<i64>() {
                Ok(id) => levels.push(Some(TeamId(id))),
                Err(_) => return Err((index, "Choose a team from the menu.")),
            },
        }
    }
    Ok(levels)
}

/// `POST /admin/escalation`: saves the plan, all or nothing.
pub async fn save(
    State(state): State<AppState>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let chosen: Vec<String> = (1..=usize::from(MAX_ESCALATION_LEVEL))
        .map(|number| fields.get(&format!("level_{number}")).trim().to_owned())
        .collect();
    let on_call = fields.get("on_call").trim().to_owned();
    let mut errors = FormErrors::none();
    let levels =
        read_levels(&chosen).map_err(|(index, message)| errors.add(&format!("level_{}", index + 1), message)).ok();
    let on_call_id = match on_call.as_str() {
        "" => Some(None),
        id => match id.parse::<i64>() {
            Ok(id) => Some(Some(AgentId(id))),
            Err(_) => {
                errors.add("on_call", "Choose a supervisor from the menu.");
                None
            }
        },
    };
    if let Some(levels) = &levels {
        let teams = state.store.list_teams(None, 1_000).await?;
        for (index, level) in levels.iter().enumerate() {
            if let Some(team) = level
                && !teams.iter().any(|known| known.id == *team)
            {
                errors.add(&format!("level_{}", index + 1), "That team does not exist any more: choose another.");
            }
        }
    }
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let (Some(levels), Some(on_call_id), true) = (levels, on_call_id, errors.is_empty()) else {
        return view(&state, &desk, &headers, chosen, on_call, errors, None, unprocessable).await;
    };
    match state
        .store
        .put_escalation_plan(EscalationPlan { levels, on_call: on_call_id }, Actor::Agent(desk.agent.id), state.now())
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/escalation?done=saved").into_response()),
        Err(error) => {
            let api = ApiError::from(error);
            match errors.add_api(&api) {
                Some(status) => view(&state, &desk, &headers, chosen, on_call, errors, None, status).await,
                None => Err(PageError::from(api)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn levels_are_read_in_order_until_the_first_empty_one() {
        assert_eq!(read_levels(&words(&["4", "keep", "7"])), Ok(vec![Some(TeamId(4)), None, Some(TeamId(7))]));
        assert_eq!(read_levels(&words(&["4", "", ""])), Ok(vec![Some(TeamId(4))]));
        assert_eq!(read_levels(&words(&["", "", ""])), Ok(vec![]));
        assert_eq!(read_levels(&words(&["4", "", "7"])).map_err(|(index, _)| index), Err(2));
        assert_eq!(read_levels(&words(&["x"])).map_err(|(index, _)| index), Err(0));
    }
}
