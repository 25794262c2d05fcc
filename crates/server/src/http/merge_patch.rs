//! Reading JSON merge-patch bodies (RFC 7396) by hand.
//!
//! A merge patch must tell "absent" (leave alone) from `null` (clear), which a
//! derived `Deserialize` blurs, and must refuse unknown keys by name. So a
//! PATCH handler reads its body as a [`PatchObject`], takes the keys it knows
//! with typed readers, and [`PatchObject::only`] refuses any other key.

use std::str::FromStr;

use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

use crate::http::body::RawJson;
use crate::http::error::ApiError;
use crate::state::AppState;

/// A PATCH body: a JSON object whose keys are taken one by one.
#[derive(Debug)]
pub struct PatchObject {
    fields: Map<String, Value>,
}

impl FromRequest<AppState> for PatchObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let RawJson(bytes) = RawJson::from_request(request, state).await?;
        let value: Value = crate::http::body::parse(&bytes)?;
        match value {
            Value::Object(fields) => Ok(PatchObject { fields }),
            _ => Err(ApiError::Invalid { field: None, message: "the body must be a JSON object".to_owned() }),
        }
    }
}

impl PatchObject {
    /// The raw value of `key`: `None` when absent, `Some(Value::Null)` for `null`.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.fields.remove(key)
    }

    /// A string that may not be null.
    pub fn string(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        self.take(key).map(|value| string(key, value)).transpose()
    }

    /// A string, or `null` to clear it.
    pub fn nullable_string(&mut self, key: &str) -> Result<Option<Option<String>>, ApiError> {
        self.take(key).map(|value| nullable(value, |value| string(key, value))).transpose()
    }

    /// A word such as a status or a level, parsed with `FromStr`.
    pub fn word<T>(&mut self, key: &str) -> Result<Option<T>, ApiError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.take(key).map(|value| word(key, value)).transpose()
    }

    /// An id, or `null` to clear it.
    pub fn nullable_id(&mut self, key: &str) -> Result<Option<Option<i64>>, ApiError> {
        self.take(key).map(|value| nullable(value, |value| id(key, value))).transpose()
    }

    /// An id, `"me"` for `me` (the caller), or `null` to clear it.
    pub fn nullable_id_or_me(&mut self, key: &str, me: i64) -> Result<Option<Option<i64>>, ApiError> {
        match self.take(key) {
            Some(Value::String(word)) if word == "me" => Ok(Some(Some(me))),
            Some(Value::String(_)) => Err(ApiError::invalid(key, format!("{key} must be an id, \"me\" or null"))),
            Some(value) => nullable(value, |value| id(key, value)).map(Some),
            None => Ok(None),
        }
    }

    /// A boolean.
    pub fn boolean(&mut self, key: &str) -> Result<Option<bool>, ApiError> {
        self.take(key)
            .map(|value| value.as_bool().ok_or_else(|| ApiError::invalid(key, format!("{key} must be true or false"))))
            .transpose()
    }

    /// An array of strings (replacing the whole set).
    pub fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>, ApiError> {
        self.take(key).map(|value| strings(key, value)).transpose()
    }

    /// An array of ids (replacing the whole set).
    pub fn ids(&mut self, key: &str) -> Result<Option<Vec<i64>>, ApiError> {
        self.take(key)
            .map(|value| match value {
                Value::Array(items) => {
                    items.into_iter().enumerate().map(|(index, item)| id(&format!("{key}[{index}]"), item)).collect()
                }
                _ => Err(ApiError::invalid(key, format!("{key} must be an array of ids"))),
            })
            .transpose()
    }

    /// Whether the patch names `key` (with any value, null included).
    pub fn has(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// Refuses the first key that is not in `allowed`. Call it before taking
    /// values, so an unknown key is reported even when another value is wrong.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.fields.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(key) => Err(ApiError::invalid(
                key.clone(),
                format!("unknown field {key:?}; expected one of: {}", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

fn nullable<T>(value: Value, read: impl FnOnce(Value) -> Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match value {
        Value::Null => Ok(None),
        value => read(value).map(Some),
    }
}

fn string(key: &str, value: Value) -> Result<String, ApiError> {
    match value {
        Value::String(text) => Ok(text),
        _ => Err(ApiError::invalid(key, format!("{key} must be a string"))),
    }
}

fn word<T>(key: &str, value: Value) -> Result<T, ApiError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text = string(key, value)?;
    text.parse().map_err(|error: T::Err| ApiError::invalid(key, error.to_string()))
}

fn id(key: &str, value: Value) -> Result<i64, ApiError> {
    value.as_i64().ok_or_else(|| ApiError::invalid(key, format!("{key} must be an integer id")))
}

fn strings(key: &str, value: Value) -> Result<Vec<String>, ApiError> {
    match value {
        Value::Array(items) => {
            items.into_iter().enumerate().map(|(index, item)| string(&format!("{key}[{index}]"), item)).collect()
        }
        _ => Err(ApiError::invalid(key, format!("{key} must be an array of strings"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(value: Value) -> PatchObject {
        match value {
            Value::Object(fields) => PatchObject { fields },
            _ => PatchObject { fields: Map::new() },
        }
    }

    #[test]
    fn absent_null_and_value_differ() {
        let mut object = patch(json!({"owner": null, "team": 3}));
        assert_eq!(object.nullable_id("owner").ok(), Some(Some(None)));
        assert_eq!(object.nullable_id("team").ok(), Some(Some(Some(3))));
        assert_eq!(object.nullable_id("absent").ok(), Some(None));
    }

    #[test]
    fn issue_14_me_stands_for_the_caller() {
        let mut object = patch(json!({"owner": "me", "a": null, "b": 4, "c": "you"}));
        assert_eq!(object.nullable_id_or_me("owner", 7).ok(), Some(Some(Some(7))));
        assert_eq!(object.nullable_id_or_me("a", 7).ok(), Some(Some(None)));
        assert_eq!(object.nullable_id_or_me("b", 7).ok(), Some(Some(Some(4))));
        assert_eq!(object.nullable_id_or_me("absent", 7).ok(), Some(None));
        assert!(
            matches!(object.nullable_id_or_me("c", 7), Err(ApiError::Invalid { field: Some(field), .. }) if field == "c")
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_field() {
        let object = patch(json!({"colour": "red", "name": "x"}));
        assert!(
            matches!(object.only(&["name"]), Err(ApiError::Invalid { field: Some(field), .. }) if field == "colour")
        );
        let mut object = patch(json!({"tags": ["a", 1]}));
        assert!(
            matches!(object.strings("tags"), Err(ApiError::Invalid { field: Some(field), .. }) if field == "tags[1]")
        );
    }
}
