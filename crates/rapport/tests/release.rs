//! What ships with the binary says what is there (issue 14): the release
//! profile carries no debug information while a profiling profile keeps
//! the symbols, and the docs that list the channels name every one the
//! outbox sends on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

fn workspace_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// `text` with every run of white space (line breaks included) made one space.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn issue_14_the_release_binary_ships_without_debug_information() {
    let manifest: toml::Table = workspace_file("Cargo.toml").parse().unwrap();
    let profiles = manifest["profile"].as_table().expect("[profile.*] sections");
    let release = profiles["release"].as_table().expect("[profile.release]");
    let debug = release.get("debug");
    assert!(
        matches!(debug, None | Some(toml::Value::Boolean(false)))
            || debug.is_some_and(|value| value.as_integer() == Some(0) || value.as_str() == Some("none")),
        "release builds carry no debug information: debug = {debug:?}"
    );
    assert_eq!(release.get("strip").and_then(toml::Value::as_str), Some("symbols"), "nor a symbol table");

    let profiling = profiles["profiling"].as_table().expect("[profile.profiling] for perf");
    assert_eq!(profiling.get("inherits").and_then(toml::Value::as_str), Some("release"));
    assert_eq!(profiling.get("debug").and_then(toml::Value::as_str), Some("line-tables-only"));
    assert_eq!(profiling.get("strip").and_then(toml::Value::as_str), Some("none"));
    assert!(workspace_file("BENCHMARKS.md").contains("--profile profiling"), "BENCHMARKS.md names the profile");
}

#[test]
fn issue_14_the_docs_name_every_channel_the_outbox_sends_on() {
    let architecture = flat(&workspace_file("ARCHITECTURE.md"));
    let start =
        architecture.find("The outbox worker (`rapport_server::workers::outbox`)").expect("the outbox paragraph");
    let outbox: String = architecture[start..].chars().take(500).collect();
    for way in ["SMTP", "Telegram", "WhatsApp", "Messenger", "Instagram", "SMS", "phone", "live chat"] {
        assert!(outbox.contains(way), "ARCHITECTURE.md's outbox sentence names {way}: {outbox}");
    }

    let channels = workspace_file("docs/channels.md");
    let opening = flat(&channels[..channels.find("## Email").expect("an email section")]);
    for channel in
        ["email", "the web form", "Telegram", "WhatsApp", "Messenger", "Instagram", "SMS", "phone", "live chat"]
    {
        assert!(opening.contains(channel), "docs/channels.md opens with {channel}: {opening}");
    }
    assert!(!opening.contains("will be added here"), "{opening}");
}
