//! Problems (`/admin/problems`), the major incidents: tickets linked to one
//! problem ticket, updated and solved together. The list shows each problem
//! with its linked tickets; a new problem is a ticket with tickets linked to
//! it. On a problem's page: its linked tickets, link more, send every
//! affected customer an update on their own channel (once per customer), and
//! solve them all. The store's rules (`Store::link_to_problem`...).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::{Author, Ticket, TicketId};
use rapport_store::StoreError;

use crate::admin::form::FormErrors;
use crate::admin::{Manager, ManagerForm};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, message_page, render};
use crate::workspace::session::Desk;

/// Problems listed.
const LISTED: i64 = 100;

/// A problem in the list.
pub struct Listed {
    id: i64,
    subject: String,
    status: &'static str,
    linked: i64,
    unsolved: i64,
}

#[derive(Template)]
#[template(path = "admin/problems.html")]
struct ListPage {
    frame: Frame,
    problems: Vec<Listed>,
    problem: String,
    tickets: String,
    errors: FormErrors,
}

/// A linked ticket on a problem's page.
pub struct Linked {
    id: i64,
    subject: String,
    status: &'static str,
}

fn linked(ticket: &Ticket) -> Linked {
    Linked { id: ticket.id.0, subject: ticket.subject.clone(), status: ticket.status.as_str() }
}

#[derive(Template)]
#[template(path = "admin/problem.html")]
struct ProblemPage {
    frame: Frame,
    id: i64,
    subject: String,
    status: &'static str,
    tickets: Vec<Linked>,
    link: String,
    update: String,
    errors: FormErrors,
    notice: Option<String>,
}

/// Ticket numbers typed as `12, 13 #14`.
pub fn ticket_numbers(text: &str) -> Result<Vec<TicketId>, String> {
    let mut tickets = Vec::new();
    for word in text.split([',', ' ', '\n', '\t', ';']).map(str::trim).filter(|word| !word.is_empty()) {
        match word.trim_start_matches('#').parse::<i64>() {
            Ok(id) if id > 0 => tickets.push(TicketId(id)),
            _ => return Err(format!("“{word}” is not a ticket number: type numbers like 12, 13, 14.")),
        }
    }
    if tickets.is_empty() {
        return Err("Type the numbers of the tickets to link, like 12, 13, 14.".to_owned());
    }
    Ok(tickets)
}

/// A store refusal that names `tickets[i]` shown beside the tickets field.
fn link_error(errors: &mut FormErrors, error: StoreError, field: &str) -> Result<StatusCode, PageError> {
    let api = ApiError::from(error);
    match api.for_page() {
        Some((status, named, message)) => {
            let target = match named {
                Some("problem") => "problem",
                _ => field,
            };
            errors.add(target, crate::admin::form::capitalised(&message));
            Ok(status)
        }
        None => Err(PageError::from(api)),
    }
}

async fn list_view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    problem: String,
    tickets: String,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let frame = Frame::build(state, desk, headers, "Problems".to_owned(), Current::Admin("problems")).await?;
    let problems = state
        .store
        .list_problems(LISTED)
        .await?
        .into_iter()
        .map(|listed| Listed {
            id: listed.ticket.id.0,
            subject: listed.ticket.subject,
            status: listed.ticket.status.as_str(),
            linked: listed.linked,
            unsolved: listed.unsolved,
        })
        .collect();
    Ok(render(status, &ListPage { frame, problems, problem, tickets, errors }))
}

/// `GET /admin/problems`.
pub async fn list(
    State(state): State<AppState>,
    Manager(desk): Manager,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    list_view(&state, &desk, &headers, String::new(), String::new(), FormErrors::none(), StatusCode::OK).await
}

/// `POST /admin/problems`: makes ticket `problem` a problem by linking `tickets` to it.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let problem_typed = fields.get("problem").trim().to_owned();
    let tickets_typed = fields.get("tickets").trim().to_owned();
    let mut errors = FormErrors::none();
    let problem = match problem_typed.trim_start_matches('#').parse::<i64>() {
        Ok(id) if id > 0 => Some(TicketId(id)),
        _ => {
            errors.add("problem", "Type the number of the ticket that describes the problem, like 12.");
            None
        }
    };
    let tickets = ticket_numbers(&tickets_typed).map_err(|message| errors.add("tickets", message)).ok();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let (Some(problem), Some(tickets)) = (problem, tickets) else {
        return list_view(&state, &desk, &headers, problem_typed, tickets_typed, errors, unprocessable).await;
    };
    let author = Author::Agent(desk.agent.id);
    match state.store.link_to_problem(problem, tickets, author, state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/problems/{problem}?done=linked")).into_response()),
        Err(StoreError::NotFound(_)) => {
            errors.add("problem", format!("There is no ticket #{problem}."));
            list_view(&state, &desk, &headers, problem_typed, tickets_typed, errors, unprocessable).await
        }
        Err(error) => {
            let status = link_error(&mut errors, error, "tickets")?;
            list_view(&state, &desk, &headers, problem_typed, tickets_typed, errors, status).await
        }
    }
}

fn no_such_problem() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "No such problem",
        "There is no ticket with this number. Go back to the problems.",
    )
}

#[allow(clippy::too_many_arguments)]
async fn problem_view(
    state: &AppState,
    desk: &Desk,
    headers: &HeaderMap,
    id: i64,
    link: String,
    update: String,
    errors: FormErrors,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let problem = match state.store.get_ticket(TicketId(id), None).await {
        Ok(ticket) => ticket,
        Err(StoreError::NotFound(_)) => return Ok(no_such_problem()),
        Err(error) => return Err(error.into()),
    };
    let tickets = state.store.list_problem_tickets(problem.id).await?;
    let title = format!("Problem #{id}");
    let frame = Frame::build(state, desk, headers, title, Current::Admin("problems")).await?;
    let page = ProblemPage {
        frame,
        id,
        subject: problem.subject.clone(),
        status: problem.status.as_str(),
        tickets: tickets.iter().map(linked).collect(),
        link,
        update,
        errors,
        notice,
    };
    Ok(render(status, &page))
}

/// `GET /admin/problems/{id}[?done=...]`.
pub async fn show(
    State(state): State<AppState>,
    Manager(desk): Manager,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let notice = match query.as_deref() {
        Some("done=linked") => Some("Linked.".to_owned()),
        Some(done) if done.starts_with("done=unlinked-") => {
            let ticket = done.trim_start_matches("done=unlinked-");
            Some(format!("Unlinked ticket #{ticket}: it is no longer part of this problem."))
        }
        Some(done) if done.starts_with("done=update-") => {
            let customers = done.trim_start_matches("done=update-");
            Some(format!("Update queued for {customers} customer(s), each on their own channel."))
        }
        Some("done=solved") => Some("Solved, with every linked ticket.".to_owned()),
        _ => None,
    };
    problem_view(&state, &desk, &headers, id, String::new(), String::new(), FormErrors::none(), notice, StatusCode::OK)
        .await
}

/// `POST /admin/problems/{id}/tickets`: links more tickets.
pub async fn link(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let typed = fields.get("tickets").trim().to_owned();
    let mut errors = FormErrors::none();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let tickets = match ticket_numbers(&typed) {
        Ok(tickets) => tickets,
        Err(message) => {
            errors.add("link", message);
            return problem_view(&state, &desk, &headers, id, typed, String::new(), errors, None, unprocessable).await;
        }
    };
    match state.store.link_to_problem(TicketId(id), tickets, Author::Agent(desk.agent.id), state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/problems/{id}?done=linked")).into_response()),
        Err(StoreError::NotFound(_)) => Ok(no_such_problem()),
        Err(error) => {
            let status = link_error(&mut errors, error, "link")?;
            problem_view(&state, &desk, &headers, id, typed, String::new(), errors, None, status).await
        }
    }
}

/// `POST /admin/problems/{id}/tickets/{ticket}/unlink`: takes a ticket
/// linked by mistake out of the problem (recorded on the ticket).
pub async fn unlink(
    State(state): State<AppState>,
    Path((id, ticket)): Path<(i64, i64)>,
    headers: HeaderMap,
    ManagerForm { desk, .. }: ManagerForm,
) -> Result<Response, PageError> {
    let author = Author::Agent(desk.agent.id);
    match state.store.unlink_from_problem(TicketId(id), TicketId(ticket), author, state.now()).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/problems/{id}?done=unlinked-{ticket}")).into_response()),
        Err(StoreError::NotFound("problem")) => Ok(no_such_problem()),
        Err(StoreError::NotFound(_)) => {
            let mut errors = FormErrors::none();
            errors.add("problem", format!("Ticket #{ticket} is not linked to this problem: nothing was changed."));
            let status = StatusCode::NOT_FOUND;
            problem_view(&state, &desk, &headers, id, String::new(), String::new(), errors, None, status).await
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /admin/problems/{id}/update` (`action=update` or `action=solve`):
/// sends the text to every affected customer, and with `solve` solves them all.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ManagerForm { desk, fields }: ManagerForm,
) -> Result<Response, PageError> {
    let text = fields.get("text").replace("\r\n", "\n").trim().to_owned();
    let solve = fields.get("action") == "solve";
    let author = Author::Agent(desk.agent.id);
    let now = state.now();
    let mut errors = FormErrors::none();
    if !solve && text.is_empty() {
        errors.add("text", "Write the update the customers will read.");
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return problem_view(&state, &desk, &headers, id, String::new(), text, errors, None, status).await;
    }
    let outcome = if solve {
        let last = (!text.is_empty()).then(|| text.clone());
        state.store.solve_problem(TicketId(id), last, author, now).await.map(|_| "done=solved".to_owned())
    } else {
        let sent = state.store.update_problem(TicketId(id), text.clone(), None, author, now).await;
        sent.map(|update| format!("done=update-{}", update.customers))
    };
    match outcome {
        Ok(done) => Ok(Redirect::to(&format!("/admin/problems/{id}?{done}")).into_response()),
        Err(StoreError::NotFound(_)) => Ok(no_such_problem()),
        Err(error) => {
            let status = link_error(&mut errors, error, "text")?;
            problem_view(&state, &desk, &headers, id, String::new(), text, errors, None, status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers_are_read_with_their_mistakes_named() {
        assert_eq!(ticket_numbers("12, 13 #14"), Ok(vec![TicketId(12), TicketId(13), TicketId(14)]));
        assert!(ticket_numbers("12, twelve").unwrap_err().contains("“twelve”"));
        assert!(ticket_numbers("  ").is_err());
        assert!(ticket_numbers("-3").is_err());
    }
}
