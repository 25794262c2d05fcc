//! The clock against a deliberately naive reference that steps minute by
//! minute through real time, converting each minute to local wall-clock time;
//! then the properties, and a due date a year away.

use jiff::Timestamp;

use super::generate::{Rng, Spec, ZONES, add_holidays, spec, start};
use super::{at, calendar};

/// Steps forward a minute at a time, counting open minutes.
fn naive_due(spec: &Spec, start: i64, minutes: u64) -> i64 {
    if minutes == 0 {
        // Open, or exactly at a closing time: the start itself.
        if spec.is_open(start) || spec.is_open(start - 60) {
            return start;
        }
    }
    let mut counted = 0;
    let mut minute = start;
    for _ in 0..10_000_000 {
        if spec.is_open(minute) {
            if minutes == 0 {
                return minute;
            }
            counted += 1;
            if counted == minutes {
                return minute + 60;
            }
        }
        minute += 60;
    }
    panic!("the naive reference found no due time");
}

fn naive_elapsed(spec: &Spec, from: i64, to: i64) -> i64 {
    (0..(to - from) / 60).filter(|step| spec.is_open(from + step * 60)).count() as i64 * 60
}

fn instant(second: i64) -> Timestamp {
    match Timestamp::from_second(second) {
        Ok(instant) => instant,
        Err(error) => panic!("{second}: {error}"),
    }
}

#[test]
fn agrees_with_the_naive_reference_on_generated_cases() {
    let mut rng = Rng::new(0x5EED_CA1E);
    let mut zones_with_dst_cases = std::collections::BTreeSet::new();
    for case in 0..600 {
        let zone = ZONES[case % ZONES.len()];
        let mut spec = spec(&mut rng, zone);
        let start = start(&mut rng, &spec);
        add_holidays(&mut rng, &mut spec, start);
        let calendar = calendar(&spec.toml());
        let limit = (spec.weekly_minutes() * 3 / 2).min(1500);
        let minutes = if rng.chance(10) { 0 } else { rng.below(limit + 1) };
        let expected = naive_due(&spec, start, minutes);
        let due = calendar.due(instant(start), minutes as i64 * 60);
        assert_eq!(
            due.map(|t| t.as_second()),
            Ok(expected),
            "case {case}: due({}, {minutes} min) in\n{}",
            instant(start),
            spec.toml()
        );
        let to = start + 60 * rng.below(14 * 24 * 60) as i64;
        let elapsed = calendar.elapsed(instant(start), instant(to));
        assert_eq!(
            elapsed,
            naive_elapsed(&spec, start, to),
            "case {case}: elapsed({}, {}) in\n{}",
            instant(start),
            instant(to),
            spec.toml()
        );
        if spec.time_zone.to_offset(instant(start)) != spec.time_zone.to_offset(instant(to)) {
            zones_with_dst_cases.insert(zone);
        }
    }
    // The generator really did cross DST changes on several continents.
    assert!(zones_with_dst_cases.len() >= 5, "{zones_with_dst_cases:?}");
}

#[test]
fn properties_hold_on_generated_cases() {
    let mut rng = Rng::new(42);
    for case in 0..400 {
        let zone = ZONES[case % ZONES.len()];
        let mut spec = spec(&mut rng, zone);
        // Any second, not only whole minutes.
        let start = start(&mut rng, &spec) + rng.below(60) as i64;
        add_holidays(&mut rng, &mut spec, start);
        let calendar = calendar(&spec.toml());
        let start = instant(start);
        let a = rng.below(5 * 86_400) as i64;
        let b = if rng.chance(10) { 0 } else { rng.below(5 * 86_400) as i64 };
        let (Ok(whole), Ok(first)) = (calendar.due(start, a + b), calendar.due(start, a)) else {
            panic!("case {case}: no due time");
        };
        assert_eq!(calendar.due(first, b), Ok(whole), "case {case}: due(s, a+b) = due(due(s, a), b)");
        assert_eq!(calendar.elapsed(start, whole), a + b, "case {case}: elapsed(s, due(s, n)) = n");
        // Never strictly inside closed hours: open, or just after an open second.
        let second = whole.as_second();
        assert!(spec.is_open(second) || spec.is_open(second - 1), "case {case}: {whole} is inside closed hours");
    }
}

#[test]
fn a_year_of_business_time_is_walked_in_whole_days() {
    // The default calendar in UTC is open 40 hours a week. 52 such weeks from
    // Monday 2026-01-05 09:00 run out at closing time on the Friday of the
    // 52nd week: 2026-01-09 plus 51 weeks (357 days) is 2027-01-01.
    let office = calendar("");
    let due = office.due(at("2026-01-05T09:00:00Z"), 52 * 40 * 3600);
    assert_eq!(due, Ok(at("2027-01-01T17:00:00Z")));

    // A year of business time (365 × 24 h) on weekday office hours in Berlin
    // with holidays lies about 4.4 years away; the clock still agrees with
    // itself and with its elapsed count.
    let berlin = calendar(
        "timezone = \"Europe/Berlin\"\nyearly_holidays = [\"12-25\", \"12-26\", \"01-01\"]\n\
         [hours]\nmon = [\"08:00-12:00\", \"13:00-18:00\"]\ntue = [\"09:00-17:00\"]\n\
         wed = [\"09:00-17:00\"]\nthu = [\"09:00-17:00\"]\nfri = [\"09:00-17:00\"]\n",
    );
    let start = at("2026-03-02T10:00:00Z");
    let year = 365 * 86_400;
    let Ok(due) = berlin.due(start, year) else {
        panic!("no due time a year away");
    };
    assert!(due > at("2030-01-01T00:00:00Z") && due < at("2031-06-01T00:00:00Z"), "{due}");
    assert_eq!(berlin.elapsed(start, due), year);
    assert!(berlin.is_open_at(due) || berlin.is_open_at(due - jiff::SignedDuration::from_secs(1)));
}

#[test]
fn the_clock_refuses_what_has_no_answer() {
    use super::super::{Calendar, ClockError};
    // A calendar with no hours at all cannot be parsed, but the clock still
    // refuses it rather than walking forever.
    let never = Calendar::with_week(jiff::tz::TimeZone::UTC, Default::default());
    assert_eq!(never.due(at("2026-03-02T09:00:00Z"), 60), Err(ClockError::NeverOpen));
    assert_eq!(never.elapsed(at("2026-03-02T09:00:00Z"), at("2027-03-02T09:00:00Z")), 0);
    let office = calendar("");
    assert_eq!(office.due(at("2026-03-02T09:00:00Z"), -1), Err(ClockError::NegativeDuration(-1)));
    // Business time never runs faster than real time: past year 9999 at once.
    assert_eq!(office.due(at("9999-12-01T09:00:00Z"), 365 * 86_400), Err(ClockError::OutOfRange));
    assert_eq!(office.due(at("2026-03-02T09:00:00Z"), i64::MAX), Err(ClockError::OutOfRange));
    // The last week of the supported range still has answers.
    assert_eq!(office.due(at("9999-12-27T09:00:00Z"), 3600), Ok(at("9999-12-27T10:00:00Z")));
}
