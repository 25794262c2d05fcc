//! Business-hours calendars: when a team is open, in its own time zone.
//!
//! A [`Calendar`] has an IANA time zone, weekly hours (several local
//! wall-clock intervals per weekday), holidays on local dates and yearly
//! month-day holidays. It is read from TOML ([`Calendar::parse`], format in
//! docs/service-levels.md) or built from a [`Preset`] or the shipped default
//! ([`Calendar::default_in`]: Monday to Friday 09:00–17:00).
//!
//! The SLA clock ([`Calendar::due`], [`Calendar::elapsed`]) lives in
//! `calendar/clock.rs`. Instants are [`jiff::Timestamp`]s and the clock
//! counts whole seconds: fractions of a second in its inputs are dropped.
//! The time-zone database is compiled in (jiff's bundled tzdb), so nothing
//! here reads files or the system clock.

mod clock;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::Date;
use jiff::tz::{TimeZone, TimeZoneDatabase};

pub use clock::ClockError;

/// Minutes in a day: `24:00` as an interval end.
const DAY_MINUTES: u16 = 24 * 60;

/// The TOML keys of the weekdays, Monday first.
pub const WEEKDAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One open interval within a local day, `[start, end)` in minutes after
/// local midnight; `end` may be 1440 (`24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    start: u16,
    end: u16,
}

impl Interval {
    /// An interval from `start` to `end` minutes after local midnight, if
    /// `start < end <= 1440`.
    pub fn new(start: u16, end: u16) -> Option<Interval> {
        (start < end && end <= DAY_MINUTES).then_some(Interval { start, end })
    }

    /// The whole day, `00:00-24:00`.
    pub fn whole_day() -> Interval {
        Interval { start: 0, end: DAY_MINUTES }
    }

    /// Opening, in minutes after local midnight.
    pub fn start_minute(self) -> u16 {
        self.start
    }

    /// Closing, in minutes after local midnight (1440 for `24:00`).
    pub fn end_minute(self) -> u16 {
        self.end
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}-{:02}:{:02}", self.start / 60, self.start % 60, self.end / 60, self.end % 60)
    }
}

/// Ready-made weekly hours, written `preset = "24x7"` in place of `[hours]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Open every day, all day.
    AllWeek,
    /// Open Monday to Friday, whole days.
    Weekdays,
}

impl Preset {
    /// The preset named in a calendar file: `24x7` or `24x5`.
    pub fn parse(name: &str) -> Option<Preset> {
        match name {
            "24x7" => Some(Preset::AllWeek),
            "24x5" => Some(Preset::Weekdays),
            _ => None,
        }
    }
}

/// A business-hours calendar. Build it with [`Calendar::parse`],
/// [`Calendar::preset`] or [`Calendar::default_in`].
#[derive(Debug, Clone)]
pub struct Calendar {
    time_zone: TimeZone,
    /// Monday first; each day's intervals sorted and disjoint.
    week: [Vec<Interval>; 7],
    holidays: BTreeSet<Date>,
    /// (month, day) pairs.
    yearly_holidays: BTreeSet<(i8, i8)>,
}

impl Calendar {
    /// The shipped default: Monday to Friday 09:00–17:00 in `time_zone`
    /// (UTC until the team sets one).
    pub fn default_in(time_zone: TimeZone) -> Calendar {
        let office = vec![Interval { start: 9 * 60, end: 17 * 60 }];
        Calendar::with_week(time_zone, std::array::from_fn(|day| if day < 5 { office.clone() } else { Vec::new() }))
    }

    /// A preset's hours in `time_zone`, without holidays.
    pub fn preset(preset: Preset, time_zone: TimeZone) -> Calendar {
        let open_days = match preset {
            Preset::AllWeek => 7,
            Preset::Weekdays => 5,
        };
        Calendar::with_week(
            time_zone,
            std::array::from_fn(|day| if day < open_days { vec![Interval::whole_day()] } else { Vec::new() }),
        )
    }

    fn with_week(time_zone: TimeZone, week: [Vec<Interval>; 7]) -> Calendar {
        Calendar { time_zone, week, holidays: BTreeSet::new(), yearly_holidays: BTreeSet::new() }
    }

    /// The calendar's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// The open intervals of a weekday, earliest first.
    pub fn hours(&self, weekday: jiff::civil::Weekday) -> &[Interval] {
        &self.week[weekday_index(weekday)]
    }

    /// Whether a local date is a holiday (dated or yearly).
    pub fn is_holiday(&self, date: Date) -> bool {
        self.holidays.contains(&date) || self.yearly_holidays.contains(&(date.month(), date.day()))
    }

    /// Whether the calendar is open at an instant.
    pub fn is_open_at(&self, instant: jiff::Timestamp) -> bool {
        let local = self.time_zone.to_datetime(instant);
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        !self.is_holiday(local.date())
            && self.hours(local.weekday()).iter().any(|interval| interval.start <= minute && minute < interval.end)
    }

    /// The weekly hours and holidays as text (not the time zone): equal
    /// texts count time alike in the same zone.
    pub fn hours_text(&self) -> String {
        format!("{:?} {:?} {:?}", self.week, self.holidays, self.yearly_holidays)
    }

    /// Whether the calendar has any open time at all: some weekday has hours
    /// and some day of the year is not a yearly holiday.
    pub fn has_open_time(&self) -> bool {
        self.week.iter().any(|day| !day.is_empty()) && self.yearly_holidays.len() < 366
    }
}

impl Default for Calendar {
    /// The shipped default in UTC.
    fn default() -> Calendar {
        Calendar::default_in(TimeZone::UTC)
    }
}

/// The built-in `default` calendar as a calendar file, in `time_zone` (a
/// valid zone name): what policies count on until a calendar named
/// `default` is stored.
pub fn default_source(time_zone: &str) -> String {
    let mut text = String::from(
        "# The built-in default calendar (not stored): Monday to Friday 09:00-17:00\n\
         # in [sla] time_zone. Saving it (or `rapport sla calendar put default FILE`) replaces it.\n",
    );
    text.push_str(&format!("timezone = \"{time_zone}\"\n[hours]\n"));
    for day in ["mon", "tue", "wed", "thu", "fri"] {
        text.push_str(&format!("{day} = [\"09:00-17:00\"]\n"));
    }
    text
}

/// A time zone from the compiled-in IANA database, e.g. `Europe/Berlin`.
pub fn find_time_zone(name: &str) -> Option<TimeZone> {
    TimeZoneDatabase::bundled().get(name).ok()
}

fn weekday_index(weekday: jiff::civil::Weekday) -> usize {
    weekday.to_monday_zero_offset() as usize
}

/// What is wrong with a calendar file, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The file is not TOML, or a key or type is wrong.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What the TOML reader said.
        message: String,
    },
    /// A field has a value the calendar cannot use.
    #[error("line {line}: {field}: {problem}")]
    Field {
        /// 1-based line number.
        line: usize,
        /// The field's path, e.g. `hours.mon[1]` (indices start at 0).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}
