//! Business-hours calendars (`/admin/calendars`): the TOML a calendar is
//! written in (the same text `rapport sla calendar put` takes), edited in
//! the browser; an error names its line and field beside the text, with the
//! line quoted, and the text stays as typed; a saved calendar shows its open
//! hours as a week. Saving or deleting is audited; the store refuses to
//! delete a calendar a policy counts on.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Weekday;
use rapport_core::Actor;
use rapport_core::calendar::{Calendar, CalendarError, default_source};
use rapport_core::sla::DEFAULT_CALENDAR;

use crate::admin::form::{FormErrors, capitalised};
use crate::admin::{Manager, ManagerForm};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, render};
use crate::workspace::session::Desk;
use crate::workspace::view::When;

/// What a new calendar starts from.
const STARTER: &str = "# Open hours, in local wall-clock time; a missing weekday is closed.\n\
timezone = \"Europe/Berlin\"\n\
holidays = [\"2026-12-24\"]                  # dates, closed all day\n\
yearly_holidays = [\"12-25\", \"12-26\"]     # month-days, closed every year\n\
[hours]\n\
mon = [\"08:00-12:00\", \"13:00-18:00\"]\n\
tue = [\"08:00-18:00\"]\n\
wed = [\"08:00-18:00\"]\n\
thu = [\"08:00-18:00\"]\n\
fri = [\"08:00-16:00\"]\n";

/// One weekday of the week view: its name, its hours in words, and its open
/// intervals as (start, length) in minutes of the day, for the bar.
pub struct Day {
    name: &'static str,
    words: String,
    bars: Vec<(u16, u16)>,
}

/// The week of a calendar, Monday first.
fn week(calendar: &Calendar) -> Vec<Day> {
    let days = [
        (Weekday::Monday, "Monday"),
        (Weekday::Tuesday, "Tuesday"),
        (Weekday::Wednesday, "Wednesday"),
        (Weekday::Thursday, "Thursday"),
        (Weekday::Friday, "Friday"),
        (Weekday::Saturday, "Saturday"),
        (Weekday::Sunday, "Sunday"),
    ];
    let clock = |minute: u16| format!("{:02}:{:02}", minute / 60, minute % 60);
    days.into_iter()
        .map(|(weekday, name)| {
            let hours = calendar.hours(weekday);
            let words = if hours.is_empty() {
                "closed".to_owned()
            } else {
                let spans: Vec<String> = hours
                    .iter()
                    .map(|interval| format!("{}–{}", clock(interval.start_minute()), clock(interval.end_minute())))
                    .collect();
                spans.join(", ")
            };
            let bars = hours
                .iter()
                .map(|interval| (interval.start_minute(), interval.end_minute() - interval.start_minute()))
                .collect();
            Day { name, words, bars }
        })
        .collect()
}

/// A calendar's error in words, and the line it is on (quoted from the text).
fn explain(error: &CalendarError, source: &str) -> (String, Option<String>) {
    let (line, words) = match error {
        CalendarError::Syntax { line, message } => (*line, message.clone()),
        CalendarError::Field { line, field, problem } => (*line, format!("{field}: {problem}")),
    };
    let quoted = source.lines().nth(line.saturating_sub(1)).map(str::to_owned);
    (format!("Line {line}: {}", words.trim()), quoted)
}

/// A calendar in the list.
pub struct Listed {
    name: String,
    updated: Option<When>,
    used_by: String,
}

#[derive(Template)]
#[template(path = "admin/calendars.html")]
struct ListPage {
    frame: Frame,
    calendars: Vec<Listed>,
    new_name: String,
    new_source: String,
    errors: FormErrors,
    error_line: Option<String>,
}

impl ListPage {
    fn source_text(&self) -> &str {
        &self.new_source
    }
}

#[derive(Template)]
#[template(path = "admin/calendar.html")]
struct EditPage {
    frame: Frame,
    name: String,
    source: String,
    stored: bool,
    time_zone: String,
    days: Vec<Day>,
    used_by: Vec<String>,
    errors: FormErrors,
    error_line: Option<String>,
    notice: Option<&'static str>,
}

impl EditPage {
    fn source_text(&self) -> &str {
        &self.source
    }
}

async fn policies_using(state: &AppState) -> Result<Vec<(String, String)>, PageError> {
    Ok(state
        .store
        .list_policies()
        .await?
        .into_iter()
        .map(|stored| (stored.policy.calendar.clone(), stored.policy.name.clone()))
        .collect())
}

/// `GET /admin/calendars`.
pub async fn list(
    State(state): State<AppState>,
    Manager(desk): Manager,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    list_view(&state, &desk, &headers, String::new(), STARTER.to_owned(), FormErrors::none(), None, StatusCode::OK)
        .await
}

#[allow(clippy::too_many_arguments)]
async fn list_view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    new_name: String,
    new_source: String,
    errors: FormErrors,
    error_line: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, "Calendars".to_owned(), Current::Admin("calendars")).await?;
    let using = policies_using(state).await?;
    let used_by = |name: &str| {
        let names: Vec<&str> =
            using.iter().filter(|(calendar, _)| calendar == name).map(|(_, policy)| policy.as_str()).collect();
        if names.is_empty() { "no policy".to_owned() } else { names.join(", ") }
    };
    let now = state.now();
    let stored = state.store.list_calendars().await?;
    let mut calendars: Vec<Listed> = stored
        .iter()
        .map(|calendar| Listed {
            name: calendar.name.clone(),
            updated: Some(When::of(calendar.updated_at, now)),
            used_by: used_by(&calendar.name),
        })
        .collect();
    if !stored.iter().any(|calendar| calendar.name == DEFAULT_CALENDAR) {
        calendars
            .insert(0, Listed { name: DEFAULT_CALENDAR.to_owned(), updated: None, used_by: used_by(DEFAULT_CALENDAR) });
    }
    let page = ListPage { frame, calendars, new_name, new_source, errors, error_line };
    Ok(render(status, &page))
}

/// `POST /admin/calendars`: a new calendar (`name`, `source`).
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let name = fields.get("name").trim().to_owned();
    let source = fields.get("source").replace("\r\n", "\n");
    let exists = state.store.list_calendars().await?.iter().any(|calendar| calendar.name == name);
    let mut errors = FormErrors::none();
    if exists {
        errors.add("name", format!("A calendar named “{name}” exists already: open it from the list to change it."));
    }
    match save(&state, &desk, name.clone(), source.clone(), &mut errors).await? {
        None => Ok(Redirect::to(&format!("/admin/calendars/{}?done=saved", encode(&name))).into_response()),
        Some(line) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            list_view(&state, &desk, &headers, name, source, errors, line, status).await
        }
    }
}

/// The name as one URL path segment.
fn encode(name: &str) -> String {
    form_urlencoded::byte_serialize(name.as_bytes()).collect()
}

/// Checks and stores a calendar unless `errors` already holds one. `None`
/// when stored; `Some(quoted line)` when refused, the errors filled in.
async fn save(
    state: &AppState,
    desk: &Desk,
    name: String,
    source: String,
    errors: &mut FormErrors,
) -> Result<Option<Option<String>>, PageError> {
    if let Err(error) = Calendar::parse(&source) {
        let (words, line) = explain(&error, &source);
        errors.add("source", words);
        return Ok(Some(line));
    }
    if !errors.is_empty() {
        return Ok(Some(None));
    }
    match state.store.put_calendar(name, source, Actor::Agent(desk.agent.id), state.now()).await {
        Ok(_) => Ok(None),
        Err(error) => {
            let error = ApiError::from(error);
            if errors.add_api(&error).is_none() {
                return Err(PageError::from(error));
            }
            Ok(Some(None))
        }
    }
}

/// `GET /admin/calendars/{name}`.
pub async fn show(
    State(state): State<AppState>,
    Manager(desk): Manager,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let stored = state.store.list_calendars().await?.into_iter().find(|calendar| calendar.name == name);
    let (source, is_stored) = match stored {
        Some(calendar) => (calendar.source, true),
        None if name == DEFAULT_CALENDAR => (default_source(state.store.sla_time_zone()), false),
        None => {
            return Ok(crate::workspace::page::message_page(
                StatusCode::NOT_FOUND,
                "No such calendar",
                "There is no calendar by this name. Create it from the list of calendars.",
            ));
        }
    };
    let notice = match query.as_deref() {
        Some("done=saved") => Some("Saved. Open tickets are measured again on it in the background."),
        _ => None,
    };
    edit_view(&state, &desk, &headers, name, source, is_stored, FormErrors::none(), None, notice, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn edit_view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    name: String,
    source: String,
    stored: bool,
    errors: FormErrors,
    error_line: Option<String>,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, format!("Calendar {name}"), Current::Admin("calendars")).await?;
    let used_by =
        policies_using(state).await?.into_iter().filter(|(calendar, _)| *calendar == name).map(|(_, p)| p).collect();
    // The week shows the saved calendar (the typed text when it is wrong is not a calendar).
    let saved = match state.store.list_calendars().await?.into_iter().find(|calendar| calendar.name == name) {
        Some(calendar) => calendar.source,
        None => default_source(state.store.sla_time_zone()),
    };
    let (time_zone, days) = match Calendar::parse(if errors.is_empty() { &source } else { &saved }) {
        Ok(calendar) => (calendar.time_zone().iana_name().unwrap_or("UTC").to_owned(), week(&calendar)),
        Err(_) => (String::new(), Vec::new()),
    };
    let page = EditPage { frame, name, source, stored, time_zone, days, used_by, errors, error_line, notice };
    Ok(render(status, &page))
}

/// `POST /admin/calendars/{name}`: saves the text.
pub async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let source = fields.get("source").replace("\r\n", "\n");
    let mut errors = FormErrors::none();
    match save(&state, &desk, name.clone(), source.clone(), &mut errors).await? {
        None => Ok(Redirect::to(&format!("/admin/calendars/{}?done=saved", encode(&name))).into_response()),
        Some(line) => {
            let stored = state.store.list_calendars().await?.iter().any(|calendar| calendar.name == name);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            edit_view(&state, &desk, &headers, name, source, stored, errors, line, None, status).await
        }
    }
}

/// `POST /admin/calendars/{name}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    ManagerForm { desk, .. }: ManagerForm,
) -> Result<Response, PageError> {
    match state.store.delete_calendar(name.clone(), Actor::Agent(desk.agent.id), state.now()).await {
        Ok(()) => Ok(Redirect::to("/admin/calendars").into_response()),
        Err(error) => {
            let error = ApiError::from(error);
            let Some((status, _, message)) = error.for_page() else { return Err(PageError::from(error)) };
            let mut errors = FormErrors::none();
            errors.add("form", capitalised(&message));
            let stored = state.store.list_calendars().await?.into_iter().find(|calendar| calendar.name == name);
            let source = stored.map(|calendar| calendar.source).unwrap_or_default();
            edit_view(&state, &desk, &headers, name, source, true, errors, None, None, status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_reads_in_words_and_bars_and_errors_quote_their_line() {
        let calendar = Calendar::parse(STARTER).unwrap();
        let days = week(&calendar);
        assert_eq!((days[0].name, days[0].words.as_str()), ("Monday", "08:00–12:00, 13:00–18:00"));
        assert_eq!(days[0].bars, [(480, 240), (780, 300)]);
        assert_eq!(days[6].words, "closed");
        let wrong = "timezone = \"Europe/Berlin\"\n[hours]\nmon = [\"13:00-12:00\"]\n";
        let error = Calendar::parse(wrong).unwrap_err();
        let (words, line) = explain(&error, wrong);
        assert!(words.starts_with("Line 3: hours.mon[0]:"), "{words}");
        assert_eq!(line.as_deref(), Some("mon = [\"13:00-12:00\"]"));
    }
}
