//! Escalation rules (`/admin/rules`): the rules in order, and a new rule
//! written in the API's JSON with a **dry run** before it is saved: "on the
//! open tickets now, this rule would fire on these", each with why, read from
//! the same timer cards and evaluated by the same core code as the timer
//! pass. Errors come back beside the text with the field the store names
//! (validation against the teams and agents that exist, loops with the other
//! rules).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::rules::{Rule, RuleTrigger, TimerKey};

use crate::admin::form::{FormErrors, field_words};
use crate::admin::{Manager, ManagerForm};
use crate::api::rules::body;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, render};
use crate::workspace::session::Desk;
use crate::workspace::view::{exact, target_words};

/// What a new rule starts from.
const STARTER: &str = r#"{
  "name": "Warn at 75% of first response",
  "trigger": { "type": "target_percent", "target": "first_response", "percent": 75 },
  "conditions": [{ "field": "status", "op": "in", "value": ["new", "open"] }],
  "actions": [{ "type": "notify_owner", "message": "Ticket {{ticket.id}} has used 75% of its first-response time" }]
}"#;

/// Tickets a dry run lists (it counts them all).
const LISTED: usize = 50;

/// A rule's trigger in words.
fn trigger_words(trigger: &RuleTrigger) -> String {
    serde_json::to_value(trigger)
        .ok()
        .and_then(|value| {
            let object = value.as_object()?;
            let kind = object.get("type")?.as_str()?.replace('_', " ");
            let rest: Vec<String> = object
                .iter()
                .filter(|(key, _)| key.as_str() != "type")
                .map(|(key, value)| {
                    format!("{key} {}", value.as_str().map_or_else(|| value.to_string(), str::to_owned))
                })
                .collect();
            Some(if rest.is_empty() { kind } else { format!("{kind}: {}", rest.join(", ")) })
        })
        .unwrap_or_default()
}

/// Why a dry run would fire, in words: a timer rule's key read back, an
/// event rule's reason as it is.
fn why_words(why: &str) -> String {
    match TimerKey::parse(why) {
        Some(TimerKey::Percent(kind, start, percent)) => {
            format!("{} has used {percent}% of its time (clock from {})", target_words(kind), exact(start))
        }
        Some(TimerKey::Breached(kind, start)) => {
            format!("{} is breached (clock from {})", target_words(kind), exact(start))
        }
        Some(TimerKey::NoOwner(since)) => format!("no owner since {}", exact(since)),
        Some(TimerKey::Pending(since)) => format!("pending since {}", exact(since)),
        None => why.to_owned(),
    }
}

/// A rule in the list.
pub struct Listed {
    position: i64,
    name: String,
    trigger: String,
    conditions: usize,
    actions: String,
    enabled: bool,
}

/// What a dry run found, for the page.
pub struct Outcome {
    count: usize,
    checked: usize,
    cut: bool,
    tickets: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "admin/rules.html")]
struct RulesPage {
    frame: Frame,
    rules: Vec<Listed>,
    source: String,
    errors: FormErrors,
    dry_run: Option<Outcome>,
    notice: Option<&'static str>,
}

/// `GET /admin/rules`.
pub async fn list(
    State(state): State<AppState>,
    Manager(desk): Manager,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let notice = (query.as_deref() == Some("done=saved")).then_some("Saved. It fires from now on.");
    view(&state, &desk, &headers, STARTER.to_owned(), FormErrors::none(), None, notice, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    source: String,
    errors: FormErrors,
    dry_run: Option<Outcome>,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, "Escalation rules".to_owned(), Current::Admin("rules")).await?;
    let rules = state
        .store
        .list_rules()
        .await?
        .into_iter()
        .map(|stored| Listed {
            position: stored.position,
            name: stored.rule.name.clone(),
            trigger: trigger_words(&stored.rule.trigger),
            conditions: stored.rule.conditions.len(),
            actions: stored
                .rule
                .actions
                .iter()
                .filter_map(|action| serde_json::to_value(action).ok())
                .filter_map(|value| value.get("type").and_then(|kind| kind.as_str()).map(|kind| kind.replace('_', " ")))
                .collect::<Vec<_>>()
                .join(", "),
            enabled: stored.rule.enabled,
        })
        .collect();
    let page = RulesPage { frame, rules, source, errors, dry_run, notice };
    Ok(render(status, &page))
}

/// `POST /admin/rules`: `action=dry_run` lists the open tickets the typed
/// rule would fire on; `action=save` adds it last.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let source = fields.get("source").replace("\r\n", "\n");
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut errors = FormErrors::none();
    let rule: Rule = match crate::http::body::parse::<body::Rule>(source.as_bytes()) {
        Ok(rule) => rule.into(),
        Err(error) => {
            errors.add("source", field_words(&error, "The rule could not be read."));
            return view(&state, &desk, &headers, source, errors, None, None, unprocessable).await;
        }
    };
    let result = if fields.get("action") == "dry_run" {
        match state.store.dry_run_rule(rule, state.now()).await {
            Ok(found) => {
                let outcome = Outcome {
                    count: found.tickets.len(),
                    checked: found.checked,
                    cut: found.cut,
                    tickets: found
                        .tickets
                        .into_iter()
                        .take(LISTED)
                        .map(|(ticket, why)| (ticket.0, why_words(&why)))
                        .collect(),
                };
                return view(&state, &desk, &headers, source, errors, Some(outcome), None, StatusCode::OK).await;
            }
            Err(error) => error,
        }
    } else {
        match state.store.insert_rule(rule, None, rapport_core::Actor::Agent(desk.agent.id), state.now()).await {
            Ok(_) => return Ok(Redirect::to("/admin/rules?done=saved").into_response()),
            Err(error) => error,
        }
    };
    let error = ApiError::from(result);
    if error.for_page().is_none() {
        return Err(PageError::from(error));
    }
    errors.add("source", field_words(&error, "The rule could not be read."));
    view(&state, &desk, &headers, source, errors, None, None, unprocessable).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_read_in_words_and_the_starter_is_a_rule() {
        let rule: Rule = crate::http::body::parse::<body::Rule>(STARTER.as_bytes()).unwrap().into();
        assert_eq!(trigger_words(&rule.trigger), "target percent: percent 75, target first_response");
        let event = RuleTrigger::Event { event: "ticket.created".into() };
        assert_eq!(trigger_words(&event), "event: event ticket.created");
        assert_eq!(why_words("no_owner:0"), "no owner since 1970-01-01 00:00 UTC");
        assert_eq!(why_words("first_response:0:breached"), "first reply is breached (clock from 1970-01-01 00:00 UTC)");
        assert_eq!(why_words("its conditions hold now"), "its conditions hold now");
    }
}
