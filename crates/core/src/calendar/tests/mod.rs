//! Calendar and clock tests: parsing, hand-computed cases, a naive
//! minute-by-minute reference on generated cases, and properties.

mod generate;
mod hand;
mod parse;
mod reference;

use jiff::Timestamp;

use super::Calendar;

/// A calendar from TOML text (tests only).
fn calendar(text: &str) -> Calendar {
    match Calendar::parse(text) {
        Ok(calendar) => calendar,
        Err(error) => panic!("calendar does not parse: {error}\n{text}"),
    }
}

/// An instant from RFC 3339 text (tests only).
fn at(text: &str) -> Timestamp {
    match text.parse::<Timestamp>() {
        Ok(instant) => instant,
        Err(error) => panic!("bad instant {text}: {error}"),
    }
}
