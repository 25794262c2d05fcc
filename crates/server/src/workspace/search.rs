//! The search page (`/desk/search?q=`): tickets matching every word in a
//! subject, a message, or the customer's name and addresses, best first,
//! each as a queue row with a snippet of its best match, the matching words
//! marked. The same store search as `GET /api/v1/search`.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rapport_core::TicketId;
use rapport_store::{MatchSource, SearchCursor, SearchHit};

use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, render};
use crate::workspace::queue::QueueRow;
use crate::workspace::session::Desk;

/// Results on a page.
const PAGE_SIZE: usize = 25;
/// The longest query, as the API's.
const MAX_QUERY_CHARS: usize = 200;

/// One result: the row, where the best match is, and the snippet in parts.
pub struct SearchResult {
    /// The ticket as a queue shows it.
    pub row: QueueRow,
    /// "subject", "message" or "customer".
    pub source: &'static str,
    /// The message's anchor on the ticket page, when the match is in a message.
    pub anchor: String,
    /// The snippet: (text, matched) in order.
    pub parts: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "workspace/search.html")]
struct SearchPage {
    frame: Frame,
    query: String,
    error: Option<String>,
    results: Vec<SearchResult>,
    next_page: Option<String>,
}

/// `GET /desk/search`.
pub async fn search(
    State(state): State<AppState>,
    desk: Desk,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let get = |name: &str| pairs.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str());
    let words = get("q").trim().to_owned();
    let mut frame = Frame::build(&state, &desk, &headers, format!("Search: {words}"), Current::None).await?;
    frame.search = words.clone();
    let mut page = SearchPage { frame, query: words.clone(), error: None, results: Vec::new(), next_page: None };
    if words.is_empty() {
        page.error =
            Some("Type a word or more to find: a subject, a message, a customer's name or address.".to_owned());
        return Ok(render(StatusCode::OK, &page));
    }
    if words.chars().count() > MAX_QUERY_CHARS {
        page.error = Some(format!("Search for at most {MAX_QUERY_CHARS} characters."));
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let cursor = match get("cursor") {
        "" => None,
        text => match SearchCursor::parse(text) {
            Some(cursor) => Some(cursor),
            None => {
                page.error = Some("This page link is broken: search again.".to_owned());
                return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
            }
        },
    };
    let found = state.store.search_page(&words, &desk.viewer, PAGE_SIZE, cursor).await?;
    let ids: Vec<TicketId> = found.hits.iter().map(|hit| hit.ticket.id).collect();
    let mut summaries = crate::api::dto::sla::summaries_of(&state, &ids).await?;
    let now = state.now();
    page.results = found
        .hits
        .into_iter()
        .map(|hit| {
            let SearchHit { ticket, names, snippet, .. } = hit;
            let (source, anchor) = match snippet.source {
                MatchSource::Subject => ("subject", String::new()),
                MatchSource::Message(id) => ("message", format!("#m{}", id.0)),
                MatchSource::Customer => ("customer", String::new()),
            };
            SearchResult {
                row: QueueRow::new(&ticket, names, summaries.remove(&ticket.id), now),
                source,
                anchor,
                parts: snippet.parts.into_iter().map(|part| (part.text, part.matched)).collect(),
            }
        })
        .collect();
    page.next_page = found.next_cursor.map(|cursor| {
        let link = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &words)
            .append_pair("cursor", &cursor)
            .finish();
        format!("/desk/search?{link}")
    });
    if page.results.is_empty() {
        page.error = Some(format!("Nothing matches every word of “{words}”. Try fewer words, or another spelling."));
    }
    Ok(render(StatusCode::OK, &page))
}
