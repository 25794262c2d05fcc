//! Request parameters outside the body: the `{id}` of a path, and query
//! strings, parsed by hand into a map so that every key is allow-listed: a
//! handler takes the keys it knows and [`QueryParams::finish`] refuses the
//! rest, so a typo (`?stauts=open`) is a 422, not a silently ignored filter.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::http::error::ApiError;

/// The integer `{id}` of a path. Anything else names no record: 404.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<i64>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(PathId(id)),
            Err(_) => Err(ApiError::NotFound("no record has this id".to_owned())),
        }
    }
}

/// The two integer ids of a nested path (`/tickets/{id}/messages/{message_id}`).
/// Anything else names no record: 404.
#[derive(Debug, Clone, Copy)]
pub struct PathIds(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<(i64, i64)>::from_request_parts(parts, state).await {
            Ok(Path((first, second))) => Ok(PathIds(first, second)),
            Err(_) => Err(ApiError::NotFound("no record has this id".to_owned())),
        }
    }
}

/// The query string of a request, as decoded key/value pairs.
#[derive(Debug, Default)]
pub struct QueryParams {
    values: HashMap<String, String>,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        QueryParams::parse(parts.uri.query().unwrap_or_default())
    }
}

impl QueryParams {
    /// Decodes `query`; a key given twice is refused. Empty values count as absent.
    pub fn parse(query: &str) -> Result<QueryParams, ApiError> {
        let mut values = HashMap::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if value.is_empty() {
                continue;
            }
            if values.insert(key.clone().into_owned(), value.into_owned()).is_some() {
                return Err(ApiError::invalid(key, "this query parameter is given more than once"));
            }
        }
        Ok(QueryParams { values })
    }

    /// Takes a parameter's value.
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.values.remove(key)
    }

    /// Takes a parameter that must be an integer.
    pub fn take_id(&mut self, key: &str) -> Result<Option<i64>, ApiError> {
        self.take(key)
            .map(|value| {
                value.parse::<i64>().map_err(|_| ApiError::invalid(key, format!("{key} must be an integer id")))
            })
            .transpose()
    }

    /// Takes `position` (a place in an ordered list such as SLA policies or rules).
    pub fn take_position(&mut self) -> Result<Option<i64>, ApiError> {
        self.take("position")
            .map(|value| value.parse::<i64>().map_err(|_| ApiError::invalid("position", "position must be an integer")))
            .transpose()
    }

    /// Takes a parameter that must be an RFC 3339 instant.
    pub fn take_instant(&mut self, key: &str) -> Result<Option<rapport_core::Timestamp>, ApiError> {
        self.take(key)
            .map(|value| {
                value.parse::<jiff::Timestamp>().map(|at| rapport_core::Timestamp(at.as_millisecond())).map_err(|_| {
                    ApiError::invalid(key, format!("{key} must be an RFC 3339 instant such as 2026-11-01T00:00:00Z"))
                })
            })
            .transpose()
    }

    /// Takes `limit`: 1..=`max`, `default` when absent.
    pub fn take_limit(&mut self, default: i64, max: i64) -> Result<i64, ApiError> {
        let Some(value) = self.take("limit") else {
            return Ok(default.min(max));
        };
        match value.parse::<i64>() {
            Ok(limit) if (1..=max).contains(&limit) => Ok(limit),
            _ => Err(ApiError::invalid("limit", format!("limit must be an integer from 1 to {max}"))),
        }
    }

    /// Refuses any parameter nobody took.
    pub fn finish(self) -> Result<(), ApiError> {
        let mut unknown: Vec<String> = self.values.into_keys().collect();
        unknown.sort();
        match unknown.into_iter().next() {
            Some(key) => {
                let message = format!("unknown query parameter {key:?}");
                Err(ApiError::invalid(key, message))
            }
            None => Ok(()),
        }
    }
}

/// A page of a list keyed by id: `cursor` is the last id of the previous page.
#[derive(Debug, Clone, Copy)]
pub struct IdPage {
    /// Start after this id.
    pub after: Option<i64>,
    /// Page size.
    pub limit: i64,
}

impl IdPage {
    /// Reads `cursor` and `limit`, and refuses any other parameter.
    pub fn from_query(mut query: QueryParams, max: i64) -> Result<IdPage, ApiError> {
        let after = query
            .take("cursor")
            .map(|cursor| match cursor.parse::<i64>() {
                Ok(id) if id >= 0 => Ok(id),
                _ => Err(ApiError::invalid("cursor", "cursor must be a next_cursor from a previous page")),
            })
            .transpose()?;
        let limit = query.take_limit(50, max)?;
        query.finish()?;
        Ok(IdPage { after, limit })
    }

    /// The cursor for the page after `ids`: the last id when the page is full.
    pub fn next_cursor(&self, last_id: Option<i64>, count: usize) -> Option<String> {
        let full = i64::try_from(count).is_ok_and(|count| count == self.limit);
        if full { last_id.map(|id| id.to_string()) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_keys_are_refused() {
        let mut query = QueryParams::parse("status=open&stauts=new&owner=").unwrap_or_default();
        assert_eq!(query.take("status").as_deref(), Some("open"));
        assert_eq!(query.take("owner"), None);
        assert!(matches!(query.finish(), Err(ApiError::Invalid { field: Some(field), .. }) if field == "stauts"));
        assert!(QueryParams::parse("a=1&a=2").is_err());
    }

    #[test]
    fn limit_is_bounded() {
        let take = |query: &str| QueryParams::parse(query).unwrap_or_default().take_limit(50, 100).ok();
        assert_eq!(take(""), Some(50));
        assert_eq!(take("limit=100"), Some(100));
        assert_eq!(take("limit=101"), None);
        assert_eq!(take("limit=0"), None);
        assert_eq!(take("limit=x"), None);
    }
}
