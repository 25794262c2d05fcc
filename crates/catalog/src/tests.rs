use std::collections::{BTreeMap, BTreeSet};

use fluent_syntax::ast;

use super::*;

/// Each message id of a catalog with the variables it uses.
fn shape(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let resource =
        fluent_syntax::parser::parse(text).unwrap_or_else(|(_, errors)| panic!("does not parse: {errors:?}"));
    let mut messages = BTreeMap::new();
    for entry in resource.body {
        if let ast::Entry::Message(message) = entry {
            let mut variables = BTreeSet::new();
            if let Some(pattern) = &message.value {
                pattern_variables(pattern, &mut variables);
            }
            messages.insert(message.id.name.to_owned(), variables);
        }
    }
    messages
}

fn pattern_variables(pattern: &ast::Pattern<&str>, into: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_variables(expression, into);
        }
    }
}

fn expression_variables(expression: &ast::Expression<&str>, into: &mut BTreeSet<String>) {
    match expression {
        ast::Expression::Select { selector, variants } => {
            inline_variables(selector, into);
            for variant in variants {
                pattern_variables(&variant.value, into);
            }
        }
        ast::Expression::Inline(inline) => inline_variables(inline, into),
    }
}

fn inline_variables(inline: &ast::InlineExpression<&str>, into: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            into.insert(id.name.to_owned());
        }
        ast::InlineExpression::Placeable { expression } => expression_variables(expression, into),
        _ => {}
    }
}

#[test]
fn every_catalog_parses_and_has_every_english_message_with_its_variables() {
    let english = SOURCES.iter().find(|(tag, _)| *tag == DEFAULT).map(|(_, text)| shape(text)).unwrap_or_default();
    assert!(english.len() > 20, "the English catalog is there: {} messages", english.len());
    assert!(SOURCES.len() >= 2, "English and at least one more language");
    for (tag, text) in SOURCES {
        let other = shape(text);
        assert_eq!(
            other.keys().collect::<Vec<_>>(),
            english.keys().collect::<Vec<_>>(),
            "{tag}.ftl has the same messages as en.ftl"
        );
        for (id, variables) in &english {
            assert_eq!(&other[id], variables, "{tag}.ftl: {id} uses the same variables as in English");
        }
    }
}

#[test]
fn languages_are_chosen_by_the_customer_then_the_browser_then_english() {
    assert_eq!(Words::negotiate(Some("fr"), Some("en-GB")).tag(), "fr");
    assert_eq!(Words::negotiate(Some("xx"), Some("de;q=0.9, fr-CA;q=0.8")).tag(), "fr", "a region falls back");
    assert_eq!(Words::negotiate(None, Some("en-US,en;q=0.9,fr;q=0.8")).tag(), "en");
    assert_eq!(Words::negotiate(None, Some("fr;q=0, *")).tag(), "en", "q=0 means not wanted");
    assert_eq!(Words::negotiate(None, None).tag(), "en");
    assert_eq!(Words::negotiate(None, Some("garbage;;;,,,")).tag(), "en");
}

#[test]
fn accept_language_is_ordered_by_quality_then_position() {
    assert_eq!(preferences("da, en-GB;q=0.8, en;q=0.7"), ["da", "en-gb", "en"]);
    assert_eq!(preferences("fr;q=0.5, de;q=0.9, it"), ["it", "de", "fr"]);
    assert_eq!(preferences("fr;q=2, de;q=0.1234, es;q=abc, *;q=0.5, nl"), ["nl"]);
    assert!(preferences("").is_empty());
}

#[test]
fn messages_take_variables_and_plurals_and_fall_back_to_english() {
    let english = Words::english();
    let french = Words::of("fr").unwrap_or_default();
    assert_eq!(french.tag(), "fr");
    assert_eq!(english.with("link-valid-days", &[("days", 1.into())]), "The link works once, within 1 day.");
    assert_eq!(english.with("link-valid-days", &[("days", 3.into())]), "The link works once, within 3 days.");
    assert_ne!(
        french.with("link-valid-days", &[("days", 3.into())]),
        english.with("link-valid-days", &[("days", 3.into())])
    );
    assert_eq!(english.get("no-such-message"), "no-such-message", "a gap shows as its id");
    let names = languages();
    assert_eq!(names[0], ("en", "English".to_owned()));
    assert!(names.contains(&("fr", "Français".to_owned())));
}

#[test]
fn templates_leave_variables_for_the_client() {
    let french = Words::of("fr").unwrap_or_default();
    let templates = french.templates("widget-", &["position", "minutes"]);
    let queued = templates.iter().find(|(key, _)| key == "queued-wait").map(|(_, text)| text.as_str());
    assert_eq!(queued, Some("Vous êtes n° {position} dans la file d'attente, environ {minutes} min."));
    assert!(templates.iter().any(|(key, text)| key == "send" && text == "Envoyer"));
    assert!(templates.iter().all(|(key, _)| !key.starts_with("widget-")));
}
