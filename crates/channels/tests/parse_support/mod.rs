//! What the email parser suites share: the options a test mailbox uses and
//! the JSON rendering that golden files hold.

use rapport_channels::email::parse::{ParseOptions, parse};
use rapport_core::{TeamId, Timestamp};
use std::path::{Path, PathBuf};

/// When every fixture is "received".
pub const RECEIVED_AT: Timestamp = Timestamp(1_704_708_000_000);

/// The test mailbox: two addresses, a loop id, a 4 KiB attachment limit.
pub fn options() -> ParseOptions {
    ParseOptions {
        own_addresses: vec!["support@rapport.example".to_owned(), "help@rapport.example".to_owned()],
        loop_id: "rapport-test-7f3a".to_owned(),
        max_attachment_bytes: 4096,
        team: Some(TeamId(3)),
    }
}

/// The parse of `raw` as pretty JSON: the parsed email, or the error's code
/// and message.
pub fn render(raw: &[u8]) -> String {
    let value = match parse(raw, &options(), RECEIVED_AT) {
        Ok(parsed) => serde_json::to_value(&parsed).unwrap(),
        Err(error) => serde_json::json!({
            "kind": "error",
            "code": error.code(),
            "message": error.to_string(),
        }),
    };
    serde_json::to_string_pretty(&sorted(value)).unwrap() + "\n"
}

/// The value with every object's keys in order, so golden files do not
/// depend on whether serde_json's `preserve_order` feature is on.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(object) => {
            let mut entries: Vec<_> = object.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(key, value)| (key, sorted(value))).collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The workspace's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").canonicalize().unwrap()
}
