//! Escalation rules (`/admin/rules`): the rules in order, and a new rule
//! written in the API's JSON with a **dry run** before it is saved: "on the
//! open tickets now, this rule would fire on these", each with why, read from
//! the same timer cards and evaluated by the same core code as the timer
//! pass. Errors come back beside the text with the field the store names
//! (validation against the teams and agents that exist, loops with the other
//! rules).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::Actor;
use rapport_core::rules::{Rule, RuleId, RuleTrigger, TimerKey};
use rapport_store::{StoreError, StoredRule};

use crate::admin::form::{FormErrors, field_words};
use crate::admin::{Manager, ManagerForm};
use crate::api::rules::body;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, message_page, render};
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
    id: i64,
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
    /// The rule being changed on its own page; none on the list's new-rule form.
    editing: Option<Editing>,
}

/// The rule a page changes.
pub struct Editing {
    id: i64,
    name: String,
}

/// `GET /admin/rules`.
pub async fn list(
    State(state): State<AppState>,
    Manager(desk): Manager,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let notice = match query.as_deref() {
        Some("done=saved") => Some("Saved. It fires from now on."),
        Some("done=deleted") => Some("Deleted. Work it had already queued still runs."),
        _ => None,
    };
    let page = Form { source: STARTER.to_owned(), editing: None };
    view(&state, &desk, &headers, page, FormErrors::none(), None, notice, StatusCode::OK).await
}

/// What the editor shows: the typed rule, and which stored rule it changes.
struct Form {
    source: String,
    editing: Option<Editing>,
}

fn no_such_rule() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "No such rule",
        "There is no rule with this number: it may have been deleted. Go back to the rules.",
    )
}

async fn stored_rule(state: &AppState, id: i64) -> Result<Option<StoredRule>, PageError> {
    Ok(state.store.list_rules().await?.into_iter().find(|stored| stored.id.0 == id))
}

/// `GET /admin/rules/{id}[?done=saved]`: the rule in the editor, to change
/// (with a dry run first) or delete.
pub async fn show(
    State(state): State<AppState>,
    Manager(desk): Manager,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(stored) = stored_rule(&state, id).await? else { return Ok(no_such_rule()) };
    let notice = (query.as_deref() == Some("done=saved")).then_some("Saved. It fires from now on.");
    let source =
        serde_json::to_string_pretty(&stored.rule).map_err(|error| PageError::from(StoreError::from(error)))?;
    let page = Form { source, editing: Some(Editing { id, name: stored.rule.name }) };
    view(&state, &desk, &headers, page, FormErrors::none(), None, notice, StatusCode::OK).await
}

/// `POST /admin/rules/{id}/delete`: deletes the rule (audited).
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ManagerForm { desk, .. }: ManagerForm,
) -> Result<Response, PageError> {
    match state.store.delete_rule(RuleId(id), Actor::Agent(desk.agent.id), state.now()).await {
        Ok(()) => Ok(Redirect::to("/admin/rules?done=deleted").into_response()),
        Err(StoreError::NotFound(_)) => Ok(no_such_rule()),
        Err(error) => Err(error.into()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    Form { source, editing }: Form,
    errors: FormErrors,
    dry_run: Option<Outcome>,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let title = editing.as_ref().map_or_else(|| "Escalation rules".to_owned(), |rule| format!("Rule: {}", rule.name));
    let frame = Frame::build(state, desk, headers, title, Current::Admin("rules")).await?;
    let rules = state
        .store
        .list_rules()
        .await?
        .into_iter()
        .map(|stored| Listed {
            id: stored.id.0,
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
    let page = RulesPage { frame, rules, source, errors, dry_run, notice, editing };
    Ok(render(status, &page))
}

/// `POST /admin/rules`: `action=dry_run` lists the open tickets the typed
/// rule would fire on; `action=save` adds it last.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: ManagerForm,
) -> Result<Response, PageError> {
    submit_for(state, headers, form, None).await
}

/// `POST /admin/rules/{id}`: a dry run of the changed rule, or `action=save`
/// to replace it, keeping its place.
pub async fn change(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    form: ManagerForm,
) -> Result<Response, PageError> {
    let Some(stored) = stored_rule(&state, id).await? else { return Ok(no_such_rule()) };
    submit_for(state, headers, form, Some(Editing { id, name: stored.rule.name })).await
}

async fn submit_for(
    state: AppState,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
    editing: Option<Editing>,
) -> Result<Response, PageError> {
    let source = fields.get("source").replace("\r\n", "\n");
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut errors = FormErrors::none();
    let rule: Rule = match crate::http::body::parse::<body::Rule>(source.as_bytes()) {
        Ok(rule) => rule.into(),
        Err(error) => {
            errors.add("source", field_words(&error, "The rule could not be read."));
            let form = Form { source, editing };
            return view(&state, &desk, &headers, form, errors, None, None, unprocessable).await;
        }
    };
    let (by, now) = (Actor::Agent(desk.agent.id), state.now());
    let refused = if fields.get("action") == "dry_run" {
        match state.store.dry_run_rule(rule, now).await {
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
                let form = Form { source, editing };
                return view(&state, &desk, &headers, form, errors, Some(outcome), None, StatusCode::OK).await;
            }
            Err(error) => error,
        }
    } else {
        let saved = match &editing {
            Some(rule_page) => state.store.update_rule(RuleId(rule_page.id), rule, None, by, now).await,
            None => state.store.insert_rule(rule, None, by, now).await,
        };
        match (saved, &editing) {
            (Ok(stored), Some(_)) => {
                return Ok(Redirect::to(&format!("/admin/rules/{}?done=saved", stored.id.0)).into_response());
            }
            (Ok(_), None) => return Ok(Redirect::to("/admin/rules?done=saved").into_response()),
            (Err(StoreError::NotFound("rule")), Some(_)) => return Ok(no_such_rule()),
            (Err(error), _) => error,
        }
    };
    let error = ApiError::from(refused);
    if error.for_page().is_none() {
        return Err(PageError::from(error));
    }
    errors.add("source", field_words(&error, "The rule could not be read."));
    view(&state, &desk, &headers, Form { source, editing }, errors, None, None, unprocessable).await
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
