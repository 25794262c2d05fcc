//! Reading JSON request bodies, defensively.
//!
//! axum's `Json` answers errors in its own plain-text format and cannot tell
//! a client which field was wrong, so Rapport reads bodies itself: the content
//! type must be JSON, the body is read up to `max_body_bytes` (over → 413),
//! nesting deeper than [`MAX_DEPTH`] is refused before parsing (→ 400), and
//! parsing goes through `serde_path_to_error`, so a value of the wrong type or
//! an unknown field is a 422 that names the field (`customer.email`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;
use crate::state::AppState;

/// The deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 32;

/// A JSON body parsed into `T`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let RawJson(bytes) = RawJson::from_request(request, state).await?;
        Ok(JsonBody(parse(&bytes)?))
    }
}

/// A JSON body whose fields are all optional: an empty body without a
/// content type reads as `T::default()`, so `curl -X POST` needs no `-d '{}'`.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        if request.headers().get(header::CONTENT_TYPE).is_some() {
            let JsonBody(value) = JsonBody::from_request(request, state).await?;
            return Ok(OptionalJsonBody(value));
        }
        let limit = state.config.max_body_bytes;
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| ApiError::MalformedJson("the request body could not be read".to_owned()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            Ok(OptionalJsonBody(T::default()))
        } else {
            Err(ApiError::MalformedJson("expected Content-Type: application/json".to_owned()))
        }
    }
}

/// A JSON body, checked (content type, size, depth) but not yet parsed: for
/// handlers that also need the exact bytes, such as idempotent creates.
pub struct RawJson(pub Bytes);

impl FromRequest<AppState> for RawJson {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::MalformedJson("expected Content-Type: application/json".to_owned()));
        }
        let bytes = read_limited(request, state.config.max_body_bytes).await?;
        if too_deep(&bytes, MAX_DEPTH) {
            return Err(ApiError::MalformedJson(format!("JSON is nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(RawJson(without_nul(bytes)?))
    }
}

/// The body with every NUL character (`\u0000`) taken out of its strings:
/// PostgreSQL cannot store it in text, and both databases must keep the same
/// thing for the same request. Bodies without one are returned as they came.
fn without_nul(bytes: Bytes) -> Result<Bytes, ApiError> {
    const ESCAPED_NUL: &[u8] = b"\\u0000";
    if !bytes.windows(ESCAPED_NUL.len()).any(|window| window == ESCAPED_NUL) {
        return Ok(bytes);
    }
    let mut value: serde_json::Value = parse(&bytes)?;
    strip_nul(&mut value);
    serde_json::to_vec(&value).map(Bytes::from).map_err(|error| ApiError::MalformedJson(error.to_string()))
}

fn strip_nul(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => text.retain(|c| c != '\0'),
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nul),
        serde_json::Value::Object(fields) => {
            if fields.keys().any(|key| key.contains('\0')) {
                let taken = std::mem::take(fields);
                fields.extend(taken.into_iter().map(|(key, value)| (key.replace('\0', ""), value)));
            }
            fields.values_mut().for_each(strip_nul);
        }
        _ => {}
    }
}

/// A provider's webhook body, whatever its content type, read up to
/// `max_body_bytes`: over it, the API's own 413 error (axum's `Bytes` would
/// answer in plain text).
pub struct HookBody(pub Bytes);

impl FromRequest<AppState> for HookBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        Ok(HookBody(read_limited(request, state.config.max_body_bytes).await?))
    }
}

/// The whole body, at most `limit` bytes (413 `payload_too_large` above).
async fn read_limited(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(request.into_body(), limit).await.map_err(|error| {
        let over_limit = error.into_inner().downcast_ref::<http_body_util::LengthLimitError>().is_some();
        if over_limit {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::MalformedJson("the request body could not be read".to_owned())
        }
    })
}

/// `application/json`, or any `application/…+json` such as `application/merge-patch+json`.
fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// True when arrays and objects nest deeper than `max`. Brackets inside
/// strings (including escaped quotes) do not count.
pub fn too_deep(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parses a whole body as `T`: syntax errors are 400, data errors are 422 naming the field.
///
/// The syntax is checked on its own first: serde_json reports some type
/// errors (a number where an enum word belongs) as syntax errors, and a body
/// with a type error early and broken syntax later must still be a 400.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|error| ApiError::MalformedJson(format!("the body is not valid JSON: {error}")))?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(path_error)
}

fn path_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let message = without_location(&error.into_inner().to_string());
    let parent = if path == "." { None } else { Some(path) };
    // serde_path_to_error puts an unknown field in the path, but reports a
    // missing one at its parent object; the client wants the field itself.
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    let field = match (parent, missing) {
        (Some(parent), Some(name)) => Some(format!("{parent}.{name}")),
        (None, Some(name)) => Some(name.to_owned()),
        (parent, None) => parent,
    };
    // serde_json says "expected value" for a number or array where a word belongs.
    let message = if message == "expected value" { "has the wrong type".to_owned() } else { message };
    let message = match &field {
        Some(field) if !message.contains('`') => format!("{field}: {message}"),
        _ => message,
    };
    ApiError::Invalid { field, message }
}

/// serde_json appends " at line L column C"; the field name says more.
fn without_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert!(!too_deep(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(too_deep(br#"{"a":[1,{"b":[2]}]}"#, 3));
        assert!(!too_deep(br#"{"a":"[[[[[[\"[[[["}"#, 1));
        let deep = "[".repeat(33) + &"]".repeat(33);
        assert!(too_deep(deep.as_bytes(), MAX_DEPTH));
        let ok = "[".repeat(32) + &"]".repeat(32);
        assert!(!too_deep(ok.as_bytes(), MAX_DEPTH));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: i64,
    }

    fn field_of(json: &str) -> Option<String> {
        match parse::<Outer>(json.as_bytes()) {
            Err(ApiError::Invalid { field, .. }) => field,
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn data_errors_name_the_field() {
        assert_eq!(field_of(r#"{"inner":{"count":"x"}}"#).as_deref(), Some("inner.count"));
        assert_eq!(field_of(r#"{"inner":{"count":1,"extra":2}}"#).as_deref(), Some("inner.extra"));
        assert_eq!(field_of(r#"{"inner":{}}"#).as_deref(), Some("inner.count"));
        assert_eq!(field_of(r#"{"other":1}"#).as_deref(), Some("other"));
        assert!(matches!(parse::<Outer>(b"{"), Err(ApiError::MalformedJson(_))));
        assert!(matches!(parse::<Outer>(br#"{"inner":{"count":1}} x"#), Err(ApiError::MalformedJson(_))));
    }
}
