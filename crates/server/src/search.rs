//! Full-text search over ticket subjects and message texts, ranked by the
//! database's own engine, filtered to what the caller may see.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentAgent;
use crate::error::{ApiError, ErrorBody};
use crate::params::QueryParams;
use crate::tickets::{SearchResultDto, SearchResultsDto};

/// The longest query accepted, in characters.
const MAX_QUERY_CHARS: usize = 200;

/// How many results when `limit` is not given.
const DEFAULT_LIMIT: i64 = 20;

/// The search route, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search_tickets))
}

/// Tickets matching every word of `q`, best first.
#[utoipa::path(
    get, path = "/search", tag = "search",
    params(
        ("q" = String, Query, description = "Words to find (1-200 characters)"),
        ("limit" = Option<i64>, Query, description = "How many results (default 20)"),
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
    query.finish()?;
    let limit = usize::try_from(limit).unwrap_or(1);
    let hits = state.store.search(&words, &caller.viewer, limit).await?;
    Ok(Json(SearchResultsDto { results: hits.iter().map(SearchResultDto::from).collect() }))
}
