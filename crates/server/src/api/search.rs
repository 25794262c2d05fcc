//! Full-text search over ticket subjects, message texts and customers' names
//! and addresses, ranked by the database's own engine, filtered to what the
//! caller may see, paged with a cursor. Each result is a queue row (names and
//! service level included) with a snippet of its best match.

use axum::Json;
use axum::extract::State;
use rapport_core::TicketId;
use rapport_store::{MatchSource, SearchCursor, SearchHit, Snippet};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::dto::ticket::{TicketDto, TicketListItemDto};
use crate::http::auth::CurrentAgent;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::params::QueryParams;
use crate::state::AppState;

/// The longest query accepted, in characters.
const MAX_QUERY_CHARS: usize = 200;

/// How many results when `limit` is not given.
const DEFAULT_LIMIT: i64 = 20;

/// The search route, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search_tickets))
}

/// A page of search results, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResultsDto {
    /// The matches.
    pub results: Vec<SearchResultDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One search match.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResultDto {
    /// The ticket, as a ticket list shows it.
    pub ticket: TicketListItemDto,
    /// Relevance; higher is better.
    pub rank: f64,
    /// Where the best match is, with a short text around it.
    pub snippet: SnippetDto,
}

/// A short plain text around the best match, in parts. Show each part as
/// text (never as HTML), marking the parts with `match: true`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnippetDto {
    /// `subject`, `message` or `customer` (the customer's name and addresses).
    pub source: String,
    /// The message's id when `source` is `message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<i64>,
    /// The text in order.
    pub parts: Vec<SnippetPartDto>,
}

/// A piece of a snippet.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnippetPartDto {
    /// Plain text.
    pub text: String,
    /// True for a matching word.
    #[serde(rename = "match")]
    pub matched: bool,
}

impl From<Snippet> for SnippetDto {
    fn from(snippet: Snippet) -> SnippetDto {
        let (source, message) = match snippet.source {
            MatchSource::Subject => ("subject", None),
            MatchSource::Message(id) => ("message", Some(id.0)),
            MatchSource::Customer => ("customer", None),
        };
        SnippetDto {
            source: source.to_owned(),
            message,
            parts: snippet
                .parts
                .into_iter()
                .map(|part| SnippetPartDto { text: part.text, matched: part.matched })
                .collect(),
        }
    }
}

/// Tickets matching every word of `q` in a subject, a message, or the
/// customer's name and addresses, best first.
#[utoipa::path(
    get, path = "/search", tag = "search",
    params(
        ("q" = String, Query, description = "Words to find (1-200 characters)"),
        ("limit" = Option<i64>, Query, description = "How many results (default 20)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "Results, best first", body = SearchResultsDto),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Missing or too long q, or a bad parameter", body = ErrorBody),
    )
)]
async fn search_tickets(
    State(state): State<AppState>,
    caller: CurrentAgent,
    mut query: QueryParams,
) -> Result<Json<SearchResultsDto>, ApiError> {
    let words = query.take("q").unwrap_or_default();
    let length = words.chars().count();
    if words.trim().is_empty() || length > MAX_QUERY_CHARS {
        return Err(ApiError::invalid("q", format!("q must be 1-{MAX_QUERY_CHARS} characters")));
    }
    let limit = query.take_limit(DEFAULT_LIMIT, state.config.max_page_size)?;
    let cursor = match query.take("cursor") {
        Some(text) => Some(
            SearchCursor::parse(&text)
                .ok_or_else(|| ApiError::invalid("cursor", "cursor must be a next_cursor from a previous search"))?,
        ),
        None => None,
    };
    query.finish()?;
    let limit = usize::try_from(limit).unwrap_or(1);
    let page = state.store.search_page(&words, &caller.viewer, limit, cursor).await?;
    let ids: Vec<TicketId> = page.hits.iter().map(|hit| hit.ticket.id).collect();
    let mut summaries = crate::api::dto::sla::summaries(&state, &ids).await?;
    let results = page
        .hits
        .into_iter()
        .map(|hit| {
            let SearchHit { ticket, rank, names, snippet } = hit;
            let sla = summaries.remove(&ticket.id);
            let ticket = TicketListItemDto { ticket: TicketDto::from(&ticket), names: names.into(), sla };
            SearchResultDto { ticket, rank, snippet: snippet.into() }
        })
        .collect();
    Ok(Json(SearchResultsDto { results, next_cursor: page.next_cursor }))
}
