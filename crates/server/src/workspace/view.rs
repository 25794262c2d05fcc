//! How the workspace words times and service levels: "0:42 left",
//! "breached 1:05 ago", "3 h ago", each with its exact instant for a
//! `<time datetime>` and its hover title. Pure functions: the templates
//! print what these return and decide nothing. `assets/workspace.js` words
//! a running countdown the same way as it ticks.

use rapport_core::Timestamp;
use rapport_core::sla::summary::Summary;
use rapport_core::sla::{TargetKind, TargetStatus};

use crate::http::wire::rfc3339;

/// The time left before a due instant: `"H:MM left"` (or `"N d left"` from
/// two days on), and `"breached H:MM ago"` once past.
pub fn countdown(due: Timestamp, now: Timestamp) -> String {
    let seconds = (due.0 - now.0).div_euclid(1000);
    if seconds < 0 { format!("breached {} ago", clock(-seconds)) } else { format!("{} left", clock(seconds)) }
}

fn clock(seconds: i64) -> String {
    let minutes = seconds / 60;
    if minutes >= 48 * 60 {
        format!("{} d", minutes / (24 * 60))
    } else {
        format!("{}:{:02}", minutes / 60, minutes % 60)
    }
}

/// How long ago: "just now", "5 min ago", "3 h ago", "2 d ago".
pub fn ago(at: Timestamp, now: Timestamp) -> String {
    let seconds = (now.0 - at.0).max(0) / 1000;
    match seconds {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..172_800 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

/// An instant as people read it on hover: "2026-12-07 09:12 UTC".
pub fn exact(at: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(at.0)
        .map(|instant| instant.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| at.0.to_string())
}

/// An instant for the page: the words, the machine-readable instant and the exact time.
#[derive(Debug, Clone)]
pub struct When {
    /// "3 h ago".
    pub words: String,
    /// RFC 3339, for `<time datetime>`.
    pub iso: String,
    /// "2026-12-07 09:12 UTC", for the title.
    pub exact: String,
}

impl When {
    /// `at`, seen from `now`.
    pub fn of(at: Timestamp, now: Timestamp) -> When {
        When { words: ago(at, now), iso: rfc3339(at), exact: exact(at) }
    }
}

/// A service-level target as a badge: words, a class for its colour, and
/// the due instant the script counts down to while the clock runs.
#[derive(Debug, Clone)]
pub struct SlaBadge {
    /// "first reply", "next reply", "resolution".
    pub target: &'static str,
    /// What the badge says: "0:42 left", "breached 0:05 ago", "met", "paused".
    pub words: String,
    /// `sla-breached`, `sla-soon` (under an hour), `sla-active`, `sla-paused`, `sla-met`.
    pub class: &'static str,
    /// The due instant (RFC 3339), when there is one.
    pub due_iso: Option<String>,
    /// The due instant for the hover title.
    pub due_exact: Option<String>,
    /// True while the clock runs, so the script keeps counting.
    pub running: bool,
}

/// The words of a target.
pub fn target_words(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::FirstResponse => "first reply",
        TargetKind::NextResponse => "next reply",
        TargetKind::Resolution => "resolution",
    }
}

impl SlaBadge {
    /// The badge of a target in `state`, due at `due`, seen at `now`.
    pub fn new(kind: TargetKind, state: TargetStatus, due: Option<Timestamp>, now: Timestamp) -> SlaBadge {
        let running = state == TargetStatus::Active || (state == TargetStatus::Breached && due.is_some());
        let (words, class) = match (state, due) {
            (TargetStatus::Met, _) => ("met".to_owned(), "sla-met"),
            (TargetStatus::Paused, _) => ("paused".to_owned(), "sla-paused"),
            (TargetStatus::Breached, Some(due)) => (countdown(due, now), "sla-breached"),
            (TargetStatus::Breached, None) => ("breached".to_owned(), "sla-breached"),
            (TargetStatus::Active, Some(due)) if due.0 <= now.0 => (countdown(due, now), "sla-breached"),
            (TargetStatus::Active, Some(due)) if due.0 - now.0 < 3_600_000 => (countdown(due, now), "sla-soon"),
            (TargetStatus::Active, Some(due)) => (countdown(due, now), "sla-active"),
            (TargetStatus::Active, None) => ("running".to_owned(), "sla-active"),
        };
        SlaBadge {
            target: target_words(kind),
            words,
            class,
            due_iso: due.map(rfc3339),
            due_exact: due.map(exact),
            running,
        }
    }

    /// The badge of a ticket's most pressing target.
    pub fn of_summary(summary: &Summary, now: Timestamp) -> SlaBadge {
        SlaBadge::new(summary.kind, summary.state, summary.due, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn countdowns_read_as_time_left_or_breached() {
        let now = Timestamp(1_000_000_000_000);
        let check = |offset: i64, expected: &str| assert_eq!(countdown(Timestamp(now.0 + offset), now), expected);
        check(42 * MINUTE, "0:42 left");
        check(42 * MINUTE + 59_999, "0:42 left");
        check(3 * 60 * MINUTE + 5 * MINUTE, "3:05 left");
        check(47 * 60 * MINUTE, "47:00 left");
        check(3 * 24 * 60 * MINUTE, "3 d left");
        check(0, "0:00 left");
        check(-1, "breached 0:00 ago");
        check(-65 * MINUTE, "breached 1:05 ago");
    }

    #[test]
    fn ages_read_in_the_largest_unit() {
        let now = Timestamp(1_000_000_000_000);
        let check = |back: i64, expected: &str| assert_eq!(ago(Timestamp(now.0 - back), now), expected);
        check(0, "just now");
        check(59_000, "just now");
        check(5 * MINUTE, "5 min ago");
        check(3 * 60 * MINUTE, "3 h ago");
        check(2 * 24 * 60 * MINUTE, "2 d ago");
        check(-5 * MINUTE, "just now");
        assert_eq!(exact(Timestamp(0)), "1970-01-01 00:00 UTC");
    }

    #[test]
    fn badges_say_their_state_in_words_as_well_as_colour() {
        let now = Timestamp(1_000_000_000_000);
        let soon =
            SlaBadge::new(TargetKind::FirstResponse, TargetStatus::Active, Some(Timestamp(now.0 + 10 * MINUTE)), now);
        assert_eq!((soon.words.as_str(), soon.class, soon.running), ("0:10 left", "sla-soon", true));
        assert_eq!(soon.target, "first reply");
        let late =
            SlaBadge::new(TargetKind::Resolution, TargetStatus::Breached, Some(Timestamp(now.0 - 5 * MINUTE)), now);
        assert_eq!((late.words.as_str(), late.class), ("breached 0:05 ago", "sla-breached"));
        let overdue =
            SlaBadge::new(TargetKind::NextResponse, TargetStatus::Active, Some(Timestamp(now.0 - MINUTE)), now);
        assert_eq!(overdue.class, "sla-breached", "past due reads as breached before the projector catches up");
        let met = SlaBadge::new(TargetKind::FirstResponse, TargetStatus::Met, None, now);
        assert_eq!((met.words.as_str(), met.class, met.running), ("met", "sla-met", false));
        let paused = SlaBadge::new(TargetKind::Resolution, TargetStatus::Paused, None, now);
        assert_eq!((paused.words.as_str(), paused.running), ("paused", false));
    }
}
