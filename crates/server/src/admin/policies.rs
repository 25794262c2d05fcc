//! SLA policies (`/admin/policies`): the policies in the order they are
//! tried (the first that matches a ticket gives its targets), and a new one
//! written in the API's JSON with a **preview** before it is saved: "for
//! ticket N, this policy would give these targets", measured on the ticket's
//! own history by the same projection as the projector, beside what the
//! ticket has now. Errors come back beside the text with the field the API
//! names; saving is audited.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::sla::SlaPolicy;
use rapport_core::sla::projection::KeptTarget;
use rapport_core::{Actor, TicketId};
use rapport_store::{StoreError, StoredPolicy};

use crate::admin::form::{FormErrors, field_words};
use crate::admin::{Manager, ManagerForm};
use crate::api::service_levels::body;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, message_page, render};
use crate::workspace::session::Desk;
use crate::workspace::view::{exact, target_words};

/// What a new policy starts from.
const STARTER: &str = r#"{
  "name": "Premium email",
  "conditions": { "channels": ["email"], "tiers": ["premium"] },
  "targets": {
    "first_response": { "seconds": 3600, "business_hours": true },
    "resolution": { "seconds": 86400, "business_hours": true }
  },
  "calendar": "default"
}"#;

/// A duration in words: "1 h", "1 h 30 min", "45 min", "2 d", "20 s".
fn duration(seconds: i64) -> String {
    if seconds < 60 {
        return format!("{seconds} s");
    }
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} d"));
    }
    if hours > 0 {
        parts.push(format!("{hours} h"));
    }
    if minutes > 0 || parts.is_empty() {
        parts.push(format!("{minutes} min"));
    }
    parts.join(" ")
}

/// A policy's targets in words.
fn targets_words(policy: &SlaPolicy) -> String {
    let words: Vec<String> = policy
        .targets
        .configured()
        .map(|(kind, spec)| {
            let clock = if spec.business_hours { "business hours" } else { "around the clock" };
            format!("{} {} ({clock})", target_words(kind), duration(spec.seconds))
        })
        .collect();
    words.join(", ")
}

/// A policy's conditions in words: "channels email, web · tiers premium";
/// "every ticket" when it has none.
fn conditions_words(policy: &SlaPolicy) -> String {
    let conditions = &policy.conditions;
    let mut parts = Vec::new();
    let mut add = |name: &str, values: Vec<String>| {
        if !values.is_empty() {
            parts.push(format!("{name} {}", values.join(", ")));
        }
    };
    add("channels", conditions.channels.iter().map(|channel| channel.as_str().to_owned()).collect());
    add("tiers", conditions.tiers.iter().map(|tier| tier.0.clone()).collect());
    add("priorities", conditions.priorities.iter().map(|level| level.as_str().to_owned()).collect());
    add("teams", conditions.teams.iter().map(|team| format!("#{}", team.0)).collect());
    add("tags", conditions.tags.clone());
    if parts.is_empty() { "every ticket".to_owned() } else { parts.join(" · ") }
}

/// A policy in the list.
pub struct Listed {
    id: i64,
    position: i64,
    name: String,
    conditions: String,
    targets: String,
    calendar: String,
}

/// A target of the preview.
pub struct PreviewTarget {
    kind: &'static str,
    due: String,
    state: &'static str,
}

fn preview_targets(targets: &[KeptTarget]) -> Vec<PreviewTarget> {
    targets
        .iter()
        .map(|target| PreviewTarget {
            kind: target_words(target.kind),
            due: target.due.map_or_else(|| "none".to_owned(), exact),
            state: target.state.as_str(),
        })
        .collect()
}

/// What the preview found for one ticket.
pub struct Preview {
    ticket: i64,
    subject: String,
    applies: bool,
    targets: Vec<PreviewTarget>,
    current_policy: String,
    current: Vec<PreviewTarget>,
}

#[derive(Template)]
#[template(path = "admin/policies.html")]
struct PoliciesPage {
    frame: Frame,
    policies: Vec<Listed>,
    source: String,
    position: String,
    ticket: String,
    errors: FormErrors,
    preview: Option<Preview>,
    notice: Option<&'static str>,
    /// The policy being changed on its own page; none on the list's new-policy form.
    editing: Option<Editing>,
}

/// The policy a page changes.
pub struct Editing {
    id: i64,
    name: String,
}

/// What the form shows: the typed policy, position and preview ticket, and
/// which stored policy it changes.
struct Form {
    source: String,
    position: String,
    ticket: String,
    editing: Option<Editing>,
}

fn no_such_policy() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "No such policy",
        "There is no policy with this number: it may have been deleted. Go back to the policies.",
    )
}

async fn stored_policy(state: &AppState, id: i64) -> Result<Option<StoredPolicy>, PageError> {
    Ok(state.store.list_policies().await?.into_iter().find(|stored| stored.id == id))
}

/// `GET /admin/policies/{id}[?done=saved]`: the policy in the editor, to
/// change (with a preview first) or delete.
pub async fn show(
    State(state): State<AppState>,
    Manager(desk): Manager,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(stored) = stored_policy(&state, id).await? else { return Ok(no_such_policy()) };
    let notice =
        (query.as_deref() == Some("done=saved")).then_some("Saved. Open tickets are measured again in the background.");
    let source =
        serde_json::to_string_pretty(&stored.policy).map_err(|error| PageError::from(StoreError::from(error)))?;
    let editing = Some(Editing { id, name: stored.policy.name });
    let form = Form { source, position: stored.position.to_string(), ticket: String::new(), editing };
    view(&state, &desk, &headers, form, FormErrors::none(), None, notice, StatusCode::OK).await
}

/// `POST /admin/policies/{id}/delete`: deletes the policy (audited).
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ManagerForm { desk, .. }: ManagerForm,
) -> Result<Response, PageError> {
    match state.store.delete_policy(id, Actor::Agent(desk.agent.id), state.now()).await {
        Ok(()) => Ok(Redirect::to("/admin/policies?done=deleted").into_response()),
        Err(StoreError::NotFound(_)) => Ok(no_such_policy()),
        Err(error) => Err(error.into()),
    }
}

/// `POST /admin/policies/{id}`: a preview of the changed policy, or
/// `action=save` to replace it (and move it, when the position changed).
pub async fn change(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    form: ManagerForm,
) -> Result<Response, PageError> {
    let Some(stored) = stored_policy(&state, id).await? else { return Ok(no_such_policy()) };
    submit_for(state, headers, form, Some(Editing { id, name: stored.policy.name })).await
}

/// `GET /admin/policies`.
pub async fn list(
    State(state): State<AppState>,
    Manager(desk): Manager,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let notice = match query.as_deref() {
        Some("done=saved") => Some("Saved. Open tickets are measured again in the background."),
        Some("done=deleted") => Some("Deleted. Open tickets are measured again in the background."),
        _ => None,
    };
    let form = Form { source: STARTER.to_owned(), position: String::new(), ticket: String::new(), editing: None };
    view(&state, &desk, &headers, form, FormErrors::none(), None, notice, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    Form { source, position, ticket, editing }: Form,
    errors: FormErrors,
    preview: Option<Preview>,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let title = editing.as_ref().map_or_else(|| "SLA policies".to_owned(), |policy| format!("Policy: {}", policy.name));
    let frame = Frame::build(state, desk, headers, title, Current::Admin("policies")).await?;
    let policies = state
        .store
        .list_policies()
        .await?
        .into_iter()
        .map(|stored| Listed {
            id: stored.id,
            position: stored.position,
            name: stored.policy.name.clone(),
            conditions: conditions_words(&stored.policy),
            targets: targets_words(&stored.policy),
            calendar: stored.policy.calendar.clone(),
        })
        .collect();
    let page = PoliciesPage { frame, policies, source, position, ticket, errors, preview, notice, editing };
    Ok(render(status, &page))
}

/// The policy in the text, or the error beside it (the API's words, with its field).
fn read_policy(source: &str) -> Result<SlaPolicy, String> {
    match crate::http::body::parse::<body::SlaPolicy>(source.as_bytes()) {
        Ok(policy) => Ok(policy.into()),
        Err(error) => Err(field_words(&error, "The policy could not be read.")),
    }
}

/// `POST /admin/policies`: `action=preview` measures ticket `ticket` under
/// the typed policy; `action=save` adds it at `position` (or last).
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: ManagerForm,
) -> Result<Response, PageError> {
    submit_for(state, headers, form, None).await
}

async fn submit_for(
    state: AppState,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
    editing: Option<Editing>,
) -> Result<Response, PageError> {
    let source = fields.get("source").replace("\r\n", "\n");
    let position_text = fields.get("position").trim().to_owned();
    let ticket_text = fields.get("ticket").trim().trim_start_matches('#').to_owned();
    let typed = |editing| Form {
        source: source.clone(),
        position: position_text.clone(),
        ticket: ticket_text.clone(),
        editing,
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut errors = FormErrors::none();
    let policy = match read_policy(&source) {
        Ok(policy) => Some(policy),
        Err(words) => {
            errors.add("source", words);
            None
        }
    };
    if fields.get("action") == "preview" {
        let ticket = match ticket_text.parse::<i64>() {
            Ok(ticket) if ticket > 0 => Some(TicketId(ticket)),
            _ => {
                errors.add("ticket", "Type a ticket number, such as 42.");
                None
            }
        };
        let (Some(policy), Some(ticket)) = (policy, ticket) else {
            return view(&state, &desk, &headers, typed(editing), errors, None, None, unprocessable).await;
        };
        return match preview(&state, &desk, policy, ticket).await? {
            Ok(preview) => {
                view(&state, &desk, &headers, typed(editing), errors, Some(preview), None, StatusCode::OK).await
            }
            Err((field, words)) => {
                errors.add(field, words);
                view(&state, &desk, &headers, typed(editing), errors, None, None, unprocessable).await
            }
        };
    }
    let position = match position_text.as_str() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(position) => Some(position),
            Err(_) => {
                errors.add("position", "Type a whole number (lower comes first), or leave it empty to add it last.");
                None
            }
        },
    };
    let Some(policy) = policy.filter(|_| errors.is_empty()) else {
        return view(&state, &desk, &headers, typed(editing), errors, None, None, unprocessable).await;
    };
    let (by, now) = (Actor::Agent(desk.agent.id), state.now());
    let saved = match &editing {
        Some(policy_page) => state.store.update_policy(policy_page.id, policy, position, by, now).await,
        None => state.store.insert_policy(policy, position, by, now).await,
    };
    match (saved, &editing) {
        (Ok(stored), Some(_)) => Ok(Redirect::to(&format!("/admin/policies/{}?done=saved", stored.id)).into_response()),
        (Ok(_), None) => Ok(Redirect::to("/admin/policies?done=saved").into_response()),
        (Err(StoreError::NotFound("policy")), Some(_)) => Ok(no_such_policy()),
        (Err(error), _) => {
            let error = ApiError::from(error);
            if error.for_page().is_none() {
                return Err(PageError::from(error));
            }
            errors.add("source", field_words(&error, "The policy could not be read."));
            view(&state, &desk, &headers, typed(editing), errors, None, None, unprocessable).await
        }
    }
}

/// Measures `ticket` under `policy` alone and as it stands; a refusal (an
/// unknown calendar or team, no such ticket) as (field, words).
async fn preview(
    state: &AppState,
    desk: &Desk,
    policy: SlaPolicy,
    ticket: TicketId,
) -> Result<Result<Preview, (&'static str, String)>, PageError> {
    let shown = match state.store.get_ticket(ticket, Some(&desk.viewer)).await {
        Ok(shown) => shown,
        Err(rapport_store::StoreError::NotFound(_)) => {
            return Ok(Err(("ticket", format!("There is no ticket #{} you can see.", ticket.0))));
        }
        Err(error) => return Err(error.into()),
    };
    let set = match state.store.preview_policy_set(policy).await {
        Ok(set) => set,
        Err(error) => {
            let error = ApiError::from(error);
            if error.for_page().is_none() {
                return Err(PageError::from(error));
            }
            return Ok(Err(("source", field_words(&error, "The policy could not be read."))));
        }
    };
    let now = state.now();
    let under = state.store.measure_ticket_under(ticket, &set, now).await?;
    let current = state.store.measure_ticket(ticket, now).await?;
    let policies = state.store.list_policies().await?;
    let (current_policy, current) = match current {
        Some((id, targets)) => {
            let name = policies.iter().find(|stored| stored.id == id).map(|stored| stored.policy.name.clone());
            (name.unwrap_or_else(|| format!("policy {id}")), preview_targets(&targets))
        }
        None => ("no policy".to_owned(), Vec::new()),
    };
    Ok(Ok(Preview {
        ticket: ticket.0,
        subject: shown.subject.clone(),
        applies: under.is_some(),
        targets: under.map(|(_, targets)| preview_targets(&targets)).unwrap_or_default(),
        current_policy,
        current,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_targets_read_in_words_and_the_starter_is_a_policy() {
        assert_eq!(
            (duration(3600), duration(5400), duration(2700), duration(172_800)),
            ("1 h".to_owned(), "1 h 30 min".to_owned(), "45 min".to_owned(), "2 d".to_owned())
        );
        let policy = read_policy(STARTER).unwrap();
        assert_eq!(targets_words(&policy), "first reply 1 h (business hours), resolution 1 d (business hours)");
        assert_eq!(conditions_words(&policy), "channels email · tiers premium");
        assert_eq!(duration(20), "20 s");
        let wrong = read_policy(r#"{"name": "x", "targets": {"first_response": {"seconds": "soon"}}}"#).unwrap_err();
        assert!(wrong.starts_with("targets.first_response.seconds:"), "{wrong}");
    }
}
