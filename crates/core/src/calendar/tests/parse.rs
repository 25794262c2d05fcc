//! Reading calendar files: the format, and errors that name line and field.

use jiff::civil::{Weekday, date};

use super::super::{Calendar, CalendarError, Interval};
use super::calendar;

fn error(text: &str) -> String {
    match Calendar::parse(text) {
        Ok(_) => panic!("parsed but should not:\n{text}"),
        Err(error) => error.to_string(),
    }
}

fn interval(start: u16, end: u16) -> Interval {
    match Interval::new(start, end) {
        Some(interval) => interval,
        None => panic!("bad interval"),
    }
}

#[test]
fn the_issue_example_parses() {
    let berlin = calendar(
        r#"timezone = "Europe/Berlin"
holidays = ["2026-12-24", "2026-12-31"]  # local dates
yearly_holidays = ["12-25", "12-26"]     # month-day, every year
[hours]                                  # a missing weekday is closed
mon = ["08:00-12:00", "13:00-18:00"]
tue = ["09:00-17:00"]
wed = ["00:00-24:00"]                    # a whole day
"#,
    );
    assert_eq!(berlin.time_zone().iana_name(), Some("Europe/Berlin"));
    assert_eq!(berlin.hours(Weekday::Monday), &[interval(480, 720), interval(780, 1080)]);
    assert_eq!(berlin.hours(Weekday::Wednesday), &[interval(0, 1440)]);
    assert!(berlin.hours(Weekday::Thursday).is_empty());
    assert!(berlin.is_holiday(date(2026, 12, 24)));
    assert!(berlin.is_holiday(date(2031, 12, 25)));
    assert!(!berlin.is_holiday(date(2027, 12, 24)));
    assert_eq!(berlin.hours(Weekday::Monday)[1].to_string(), "13:00-18:00");
}

#[test]
fn presets_and_the_default() {
    let empty = calendar("");
    assert_eq!(empty.time_zone().iana_name(), Some("UTC"));
    assert_eq!(empty.hours(Weekday::Friday), &[interval(540, 1020)]);
    assert!(empty.hours(Weekday::Saturday).is_empty());
    let weekdays = calendar("preset = \"24x5\"\ntimezone = \"Asia/Kolkata\"");
    assert_eq!(weekdays.hours(Weekday::Monday), &[Interval::whole_day()]);
    assert!(weekdays.hours(Weekday::Sunday).is_empty());
    let all_week = calendar("preset = \"24x7\"");
    assert_eq!(all_week.hours(Weekday::Sunday), &[Interval::whole_day()]);
}

#[test]
fn errors_name_the_line_and_the_field() {
    let cases = [
        (
            "timezone = \"UTC\"\n[hours]\nmon = [\"08:00-12:00\"]\ntue = [\"09:00-10:00\", \"13:00-12:00\"]\n",
            "line 4: hours.tue[1]: \"13:00-12:00\" ends before it starts",
        ),
        ("[hours]\nfri = [\"22:00-06:00\"]", "line 2: hours.fri[0]: \"22:00-06:00\" ends before it starts"),
        ("\ntimezone = \"Europe/Berln\"", "line 2: timezone: unknown time zone \"Europe/Berln\""),
        ("holidays = [\"2026-12-24\",\n  \"2026-02-30\"]", "line 2: holidays[1]: \"2026-02-30\" is not a valid date"),
        ("holidays = [\"24.12.2026\"]", "line 1: holidays[0]: \"24.12.2026\" is not a date YYYY-MM-DD"),
        ("yearly_holidays = [\"13-01\"]", "line 1: yearly_holidays[0]: \"13-01\" is not a valid month-day"),
        (
            "[hours]\nmon = [\"08:00-12:00\", \"11:00-14:00\"]",
            "line 2: hours.mon[1]: \"11:00-14:00\" overlaps \"08:00-12:00\"",
        ),
        (
            "[hours]\nmon = [\"12:00-18:00\", \"08:00-12:00\"]",
            "line 2: hours.mon[1]: \"08:00-12:00\" comes before \"12:00-18:00\"",
        ),
        ("[hours]\nmon = [\"9-17\"]", "line 2: hours.mon[0]: \"9-17\" is not an interval HH:MM-HH:MM"),
        ("[hours]\nmon = [\"09:00-24:30\"]", "line 2: hours.mon[0]: \"09:00-24:30\" is not an interval"),
        ("[hours]\nmon = [\"24:00-24:00\"]", "line 2: hours.mon[0]: \"24:00-24:00\" starts at 24:00"),
        ("[hours]\nmon = [\"09:00-09:00\"]", "line 2: hours.mon[0]: \"09:00-09:00\" is empty"),
        ("preset = \"24x6\"", "line 1: preset: unknown preset \"24x6\""),
        ("preset = \"24x7\"\n[hours]\nmon = [\"09:00-17:00\"]", "line 1: preset: use either preset or [hours]"),
        ("timezone = \"UTC\"\n[hours]\n", "line 2: hours: the calendar is never open"),
        ("timezone = \"UTC\"\n\n[hours]\nmondey = [\"09:00-17:00\"]", "line 4: unknown field `mondey`"),
        ("timezone = \"UTC\"\nzone = \"UTC\"", "line 2: unknown field `zone`"),
        ("timezone = \"UTC\"\n[hours]\nmon = \"09:00-17:00\"", "line 3: invalid type"),
        ("timezone = \"UTC\n", "line 1: "),
    ];
    for (text, expected) in cases {
        let message = error(text);
        assert!(message.starts_with(expected), "{text:?}\n  gave: {message}\n  want: {expected}");
    }
}

#[test]
fn a_year_of_yearly_holidays_is_refused() {
    let mut days = Vec::new();
    let mut day = date(2028, 1, 1);
    while day.year() == 2028 {
        days.push(format!("\"{:02}-{:02}\"", day.month(), day.day()));
        day = match day.tomorrow() {
            Ok(next) => next,
            Err(error) => panic!("{error}"),
        };
    }
    let text = format!("preset = \"24x7\"\nyearly_holidays = [\n{}\n]", days.join(",\n"));
    assert!(matches!(Calendar::parse(&text), Err(CalendarError::Field { field, .. }) if field == "yearly_holidays"));
}
