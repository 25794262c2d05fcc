//! The audit log page (`/admin/audit`): every change of a setting, newest
//! first, with who made it, when, and each field before and after;
//! narrowed to one kind of setting or one agent, a page at a time. The same
//! entries as `GET /api/v1/audit`.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rapport_core::{Actor, AgentId};
use rapport_store::{AuditEntry, AuditFilter};
use serde_json::Value;

use crate::admin::Manager;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, render};
use crate::workspace::view::When;

/// Entries on a page.
const PAGE_SIZE: i64 = 50;

/// The kinds of setting the log records, as the filter offers them.
pub const SUBJECTS: [(&str, &str); 9] = [
    ("agent", "Agents"),
    ("calendar", "Calendars"),
    ("escalation_plan", "Escalation plan"),
    ("organization", "Organizations"),
    ("policy", "SLA policies"),
    ("quarantine", "Quarantine"),
    ("rule", "Escalation rules"),
    ("team", "Teams"),
    ("token", "API tokens"),
];

/// One field that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field's name.
    pub field: String,
    /// Its value before, as words ("" when it had none).
    pub before: String,
    /// Its value after.
    pub after: String,
}

/// An entry as the page shows it.
pub struct Line {
    when: When,
    actor: String,
    subject: String,
    link: Option<String>,
    verb: String,
    changes: Vec<FieldChange>,
}

/// An option of a filter menu.
pub struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    frame: Frame,
    lines: Vec<Line>,
    subjects: Vec<Choice>,
    agents: Vec<Choice>,
    error: Option<&'static str>,
    next_page: Option<String>,
}

/// A JSON value in words: strings bare, lists joined, nothing as "".
fn words(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items.iter().map(|item| words(Some(item))).collect::<Vec<_>>().join(", "),
        Some(other) => other.to_string(),
    }
}

/// The fields that differ between two records (every field of a record
/// created or deleted), by name.
pub fn field_changes(old: Option<&Value>, new: Option<&Value>) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let old = old.and_then(Value::as_object).unwrap_or(&empty);
    let new = new.and_then(Value::as_object).unwrap_or(&empty);
    let mut keys: Vec<&String> = new.keys().collect();
    keys.extend(old.keys().filter(|key| !new.contains_key(*key)));
    keys.into_iter()
        .map(|key| FieldChange {
            field: key.replace('_', " "),
            before: words(old.get(key)),
            after: words(new.get(key)),
        })
        .filter(|change| change.before != change.after)
        .collect()
}

/// `GET /admin/audit?subject=&agent=&before=`.
pub async fn audit_page(
    State(state): State<AppState>,
    Manager(desk): Manager,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let get = |name: &str| pairs.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.trim());
    let (subject, agent, before) = (get("subject"), get("agent"), get("before"));
    let frame = Frame::build(&state, &desk, &headers, "Audit log".to_owned(), Current::Admin("audit")).await?;
    let people = state.store.list_agents(None, 500).await?;
    let teams: Vec<(i64, String)> =
        state.store.list_teams(None, 500).await?.into_iter().map(|team| (team.id.0, team.name)).collect();
    let subjects = SUBJECTS
        .iter()
        .map(|(value, label)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: subject == *value,
        })
        .collect();
    let agents = people
        .iter()
        .map(|person| Choice {
            value: person.id.0.to_string(),
            label: person.name.clone(),
            selected: agent == person.id.0.to_string(),
        })
        .collect();
    let mut page = AuditPage { frame, lines: Vec::new(), subjects, agents, error: None, next_page: None };
    let mut filter = AuditFilter { limit: PAGE_SIZE, ..AuditFilter::default() };
    if !subject.is_empty() {
        if !SUBJECTS.iter().any(|(value, _)| *value == subject) {
            page.error = Some("Choose a kind of setting from the menu.");
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        filter.subject = Some(subject.to_owned());
    }
    if !agent.is_empty() {
        match agent.parse::<i64>() {
            Ok(id) => filter.agent = Some(AgentId(id)),
            Err(_) => {
                page.error = Some("Choose an agent from the menu.");
                return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
            }
        }
    }
    if !before.is_empty() {
        match before.parse::<i64>() {
            Ok(id) => filter.before = Some(id),
            Err(_) => {
                page.error = Some("This page link is broken: start again from the first page.");
                return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
            }
        }
    }
    let entries = state.store.list_audit(filter).await?;
    let now = state.now();
    let name_of = |id: AgentId| {
        people.iter().find(|person| person.id == id).map_or_else(|| format!("agent #{}", id.0), |p| p.name.clone())
    };
    if entries.len() as i64 == PAGE_SIZE
        && let Some(last) = entries.last()
    {
        let mut link = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("subject", subject), ("agent", agent)] {
            if !value.is_empty() {
                link.append_pair(key, value);
            }
        }
        link.append_pair("before", &last.id.to_string());
        page.next_page = Some(format!("/admin/audit?{}", link.finish()));
    }
    page.lines = entries.iter().map(|entry| line(entry, now, &name_of, &teams)).collect();
    Ok(render(StatusCode::OK, &page))
}

/// An agent's record with its teams' names instead of their ids.
fn with_team_names(record: Option<&Value>, teams: &[(i64, String)]) -> Option<Value> {
    let mut record = record?.clone();
    if let Some(Value::Array(ids)) = record.get_mut("teams") {
        for id in ids.iter_mut() {
            if let Some(name) = id.as_i64().and_then(|id| teams.iter().find(|(team, _)| *team == id)) {
                *id = Value::String(name.1.clone());
            }
        }
    }
    Some(record)
}

fn line(
    entry: &AuditEntry,
    now: rapport_core::Timestamp,
    name_of: &dyn Fn(AgentId) -> String,
    teams: &[(i64, String)],
) -> Line {
    let change = &entry.entry;
    let actor = match change.actor {
        Actor::Agent(id) => name_of(id),
        Actor::Customer(id) => format!("customer #{}", id.0),
        Actor::System => "Rapport (the system or the command line)".to_owned(),
    };
    // The record's name, as it was last.
    let name = || {
        let record = change.new.as_ref().or(change.old.as_ref());
        record.and_then(|record| record.get("name")).map(|name| words(Some(name))).unwrap_or_default()
    };
    // Its own page while it exists; the list once it was deleted.
    let own_page = |list: &str| match change.verb.as_str() {
        "deleted" => Some(format!("/admin/{list}")),
        _ => Some(format!("/admin/{list}/{}", change.subject_id)),
    };
    let (subject, link) = match change.subject.as_str() {
        "agent" => {
            let name = change.subject_id.parse::<i64>().map(|id| name_of(AgentId(id))).unwrap_or_default();
            (format!("Agent {name}"), Some(format!("/admin/people/{}", change.subject_id)))
        }
        "team" => {
            (format!("Team {} (#{})", name(), change.subject_id), Some(format!("/admin/teams/{}", change.subject_id)))
        }
        "calendar" => {
            (format!("calendar {}", change.subject_id), Some(format!("/admin/calendars/{}", change.subject_id)))
        }
        "policy" => (format!("SLA policy {} (#{})", name(), change.subject_id), own_page("policies")),
        "rule" => (format!("escalation rule {} (#{})", name(), change.subject_id), own_page("rules")),
        "organization" => (format!("organization {} (#{})", name(), change.subject_id), own_page("organizations")),
        "escalation_plan" => ("the escalation plan".to_owned(), Some("/admin/escalation".to_owned())),
        "token" => (format!("API token #{}", change.subject_id), Some("/admin/tokens".to_owned())),
        "quarantine" => (
            format!("quarantined message #{}", change.subject_id),
            Some(format!("/admin/quarantine/{}", change.subject_id)),
        ),
        other => (format!("{other} {}", change.subject_id), None),
    };
    Line {
        when: When::of(change.at, now),
        actor,
        subject,
        link,
        verb: change.verb.replace('_', " "),
        changes: if change.subject == "agent" {
            let old = with_team_names(change.old.as_ref(), teams);
            let new = with_team_names(change.new.as_ref(), teams);
            field_changes(old.as_ref(), new.as_ref())
        } else {
            field_changes(change.old.as_ref(), change.new.as_ref())
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_fields_that_differ_are_listed_in_words() {
        let old = json!({"name": "Ben", "role": "agent", "teams": [1], "chat_capacity": null, "active": true});
        let new = json!({"name": "Ben", "role": "supervisor", "teams": [1, 2], "chat_capacity": 2, "active": true});
        let changes = field_changes(Some(&old), Some(&new));
        let fields: Vec<(&str, &str, &str)> =
            changes.iter().map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str())).collect();
        assert_eq!(fields, [("chat capacity", "", "2"), ("role", "agent", "supervisor"), ("teams", "1", "1, 2")]);
        let created = field_changes(None, Some(&json!({"name": "Care", "overflow_team": null})));
        assert_eq!(created, [FieldChange { field: "name".into(), before: String::new(), after: "Care".into() }]);
        assert!(field_changes(None, None).is_empty());
    }

    #[test]
    fn an_agents_teams_read_as_names_and_unknown_ids_stay_numbers() {
        let teams = [(1, "Billing".to_owned()), (2, "Care".to_owned())];
        let record = json!({"teams": [1, 9], "name": "Ben"});
        let named = with_team_names(Some(&record), &teams).unwrap();
        assert_eq!(named, json!({"teams": ["Billing", 9], "name": "Ben"}));
        assert_eq!(with_team_names(None, &teams), None);
    }
}
