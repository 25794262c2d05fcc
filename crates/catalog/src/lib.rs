//! The words Rapport says to customers, in their language.
//!
//! Every customer-facing text (the help pages, the web form, the chat
//! widget, the system's own emails and chat notices) is a message in a
//! [Fluent](https://projectfluent.org) catalog, one file per language under
//! `locales/` (`en.ftl`, `fr.ftl`, ...). The files are embedded in the binary
//! when it is built, so adding a language is adding a file: the build finds
//! it, and a test checks that it has every message of the English catalog with
//! the same variables.
//!
//! [`Words::negotiate`] picks the language: the customer's own where it is
//! known, else the first of the browser's `Accept-Language` that we have,
//! else English. A message a catalog lacks falls back to English.

mod accept;

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

pub use accept::preferences;

include!(concat!(env!("OUT_DIR"), "/sources.rs"));

/// The language every other falls back to, and the one used when nothing
/// else matches.
pub const DEFAULT: &str = "en";

/// One language's catalog.
struct Catalog {
    tag: &'static str,
    bundle: FluentBundle<FluentResource>,
    /// Its message ids, in the file's order.
    ids: Vec<String>,
}

static CATALOGS: LazyLock<Vec<Catalog>> = LazyLock::new(|| {
    let mut catalogs: Vec<Catalog> = SOURCES.iter().map(|(tag, text)| load(tag, text)).collect();
    // English first: it is the fallback.
    catalogs.sort_by_key(|catalog| catalog.tag != DEFAULT);
    catalogs
});

fn load(tag: &'static str, text: &str) -> Catalog {
    // A catalog that does not parse keeps the messages that did; the tests
    // refuse such a file before it ships.
    let resource = FluentResource::try_new(text.to_owned()).unwrap_or_else(|(resource, _)| resource);
    let ids = resource
        .entries()
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(message) => Some(message.id.name.to_owned()),
            _ => None,
        })
        .collect();
    let language: LanguageIdentifier = tag.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![language]);
    // No Unicode isolation marks around values: the texts go into HTML,
    // plain-text email and chat, where the marks would show as stray bytes.
    bundle.set_use_isolating(false);
    let _ = bundle.add_resource(resource);
    Catalog { tag, bundle, ids }
}

/// A value for a message's variable.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    /// Text, put in as it is.
    Text(&'a str),
    /// A number, which also chooses plural forms.
    Number(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Arg<'a> {
        Arg::Text(text)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(text: &'a String) -> Arg<'a> {
        Arg::Text(text.as_str())
    }
}

impl From<i64> for Arg<'_> {
    fn from(number: i64) -> Self {
        Arg::Number(number)
    }
}

/// The words of one language: look messages up by id.
#[derive(Clone, Copy)]
pub struct Words {
    catalog: &'static Catalog,
}

impl std::fmt::Debug for Words {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_tuple("Words").field(&self.catalog.tag).finish()
    }
}

impl Default for Words {
    fn default() -> Words {
        Words::english()
    }
}

impl Words {
    /// English, the fallback.
    pub fn english() -> Words {
        Words { catalog: &CATALOGS[0] }
    }

    /// The words of the language `tag` (`fr`, `fr-CA`: a region falls back to
    /// its language), if there is a catalog for it.
    pub fn of(tag: &str) -> Option<Words> {
        let tag = tag.trim();
        let exact = CATALOGS.iter().find(|catalog| catalog.tag.eq_ignore_ascii_case(tag));
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        exact
            .or_else(|| CATALOGS.iter().find(|catalog| catalog.tag.eq_ignore_ascii_case(primary)))
            .map(|catalog| Words { catalog })
    }

    /// The language for a customer: `preferred` (the customer's own, where
    /// known) if we have it, else the first language of the browser's
    /// `Accept-Language` header that we have, else English.
    pub fn negotiate(preferred: Option<&str>, accept_language: Option<&str>) -> Words {
        preferred
            .and_then(Words::of)
            .or_else(|| preferences(accept_language.unwrap_or_default()).iter().find_map(|tag| Words::of(tag)))
            .unwrap_or_else(Words::english)
    }

    /// The language's tag, for `<html lang>` and for remembering a choice.
    pub fn tag(&self) -> &'static str {
        self.catalog.tag
    }

    /// The message `id` with no variables.
    pub fn get(&self, id: &str) -> String {
        self.with(id, &[])
    }

    /// The message `id` with its variables. A message this language lacks
    /// comes from English; one no catalog has is its id, so a gap shows
    /// rather than a blank.
    pub fn with(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut values = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Text(text) => values.set(*name, FluentValue::from(*text)),
                Arg::Number(number) => values.set(*name, FluentValue::from(*number)),
            }
        }
        for catalog in [self.catalog, &CATALOGS[0]] {
            if let Some(pattern) = catalog.bundle.get_message(id).and_then(|message| message.value()) {
                let mut errors = Vec::new();
                return catalog.bundle.format_pattern(pattern, Some(&values), &mut errors).into_owned();
            }
        }
        id.to_owned()
    }
}

impl Words {
    /// Every message whose id starts with `prefix`, keyed by the rest of its
    /// id, each variable named in `variables` left in as `{name}`: texts for
    /// a client that fills the variables in itself (the chat widget).
    pub fn templates(&self, prefix: &str, variables: &[&str]) -> Vec<(String, String)> {
        let marks: Vec<String> = variables.iter().map(|name| format!("{{{name}}}")).collect();
        let args: Vec<(&str, Arg<'_>)> =
            variables.iter().zip(&marks).map(|(name, mark)| (*name, Arg::Text(mark.as_str()))).collect();
        CATALOGS[0]
            .ids
            .iter()
            .filter_map(|id| id.strip_prefix(prefix).map(|key| (key.to_owned(), self.with(id, &args))))
            .collect()
    }
}

/// Every language there is a catalog for: its tag and its own name for
/// itself, English first.
pub fn languages() -> Vec<(&'static str, String)> {
    CATALOGS.iter().map(|catalog| (catalog.tag, Words { catalog }.get("language-name"))).collect()
}

#[cfg(test)]
mod tests;
