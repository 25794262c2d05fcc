//! How domain values look on the wire: RFC 3339 times, and OpenAPI schemas
//! for core's word enums (status, level, channel, ...).
//!
//! Core must not depend on utoipa, so its enums cannot derive `ToSchema`.
//! Their schemas are built here from core's own `ALL` lists, which keeps the
//! documented words and the accepted words the same list.

use rapport_core::{Channel, IdentityKind, Level, MessageKind, Role, Status, Timestamp};
use utoipa::openapi::schema::{Array, ArrayBuilder, KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};

/// An instant as RFC 3339 in UTC with milliseconds: `2025-03-01T09:30:00.000Z`.
pub fn rfc3339(at: Timestamp) -> String {
    match jiff::Timestamp::from_millisecond(at.0) {
        Ok(instant) => format!("{instant:.3}"),
        // Out of jiff's range (year ±9999): not a time Rapport writes, but
        // never a reason to fail a response.
        Err(_) => at.0.to_string(),
    }
}

/// Same as [`rfc3339`] for optional instants.
pub fn rfc3339_opt(at: Option<Timestamp>) -> Option<String> {
    at.map(rfc3339)
}

/// A span of milliseconds in seconds, as the API writes call times.
pub fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn words<'a>(description: &str, words: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(words.into_iter().collect::<Vec<_>>()))
        .description(Some(description))
        .build()
}

/// Schema of a ticket status.
pub fn status() -> Object {
    words("Lifecycle status", Status::ALL.map(Status::as_str))
}

/// Schema of an urgency or priority.
pub fn level() -> Object {
    words("low < normal < high < urgent", Level::ALL.map(Level::as_str))
}

/// Schema of a channel.
pub fn channel() -> Object {
    words("Channel of origin", Channel::ALL.map(Channel::as_str))
}

/// Schema of a list of channels.
pub fn channels() -> Array {
    ArrayBuilder::new().items(channel()).build()
}

/// Schema of a list of urgencies or priorities.
pub fn levels() -> Array {
    ArrayBuilder::new().items(level()).build()
}

/// Schema of a role.
pub fn role() -> Object {
    words("What the agent may do", [Role::Agent, Role::Supervisor, Role::Admin].map(Role::as_str))
}

/// Schema of a message kind.
pub fn message_kind() -> Object {
    words(
        "inbound (from the customer), reply (public) or note (internal)",
        [MessageKind::Inbound, MessageKind::Reply, MessageKind::Note].map(MessageKind::as_str),
    )
}

/// Schema of an identity kind.
pub fn identity_kind() -> Object {
    words(
        "Kind of identity",
        [IdentityKind::Email, IdentityKind::Phone, IdentityKind::Chat, IdentityKind::Handle].map(IdentityKind::as_str),
    )
}

/// Schema of an instant.
pub fn timestamp() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some("RFC 3339, UTC"))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_with_milliseconds() {
        assert_eq!(rfc3339(Timestamp(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(Timestamp(1_740_821_400_123)), "2025-03-01T09:30:00.123Z");
    }
}
