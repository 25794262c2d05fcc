//! Reading a calendar from its TOML file, with errors that name the line and
//! the field.

use std::collections::BTreeSet;
use std::ops::Range;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;
use toml::Spanned;

use super::{Calendar, CalendarError, DAY_MINUTES, Interval, Preset, WEEKDAY_KEYS, find_time_zone};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    timezone: Option<Spanned<String>>,
    preset: Option<Spanned<String>>,
    holidays: Option<Vec<Spanned<String>>>,
    yearly_holidays: Option<Vec<Spanned<String>>>,
    hours: Option<Spanned<RawHours>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    mon: Option<Vec<Spanned<String>>>,
    tue: Option<Vec<Spanned<String>>>,
    wed: Option<Vec<Spanned<String>>>,
    thu: Option<Vec<Spanned<String>>>,
    fri: Option<Vec<Spanned<String>>>,
    sat: Option<Vec<Spanned<String>>>,
    sun: Option<Vec<Spanned<String>>>,
}

impl Calendar {
    /// Reads a calendar file. Without `[hours]` or `preset` the hours are the
    /// shipped default (Monday to Friday 09:00–17:00); without `timezone` the
    /// zone is UTC.
    pub fn parse(text: &str) -> Result<Calendar, CalendarError> {
        let raw: RawCalendar = toml::from_str(text).map_err(|error| CalendarError::Syntax {
            line: error.span().map_or(1, |span| line_of(text, span.start)),
            message: error.message().trim().to_string(),
        })?;
        let fail = |span: Range<usize>, field: &str, problem: String| CalendarError::Field {
            line: line_of(text, span.start),
            field: field.to_string(),
            problem,
        };

        let time_zone = match &raw.timezone {
            None => TimeZone::UTC,
            Some(name) => find_time_zone(name.get_ref())
                .ok_or_else(|| fail(name.span(), "timezone", format!("unknown time zone {:?}", name.get_ref())))?,
        };

        let mut calendar = match (&raw.preset, raw.hours) {
            (Some(preset), Some(_)) => {
                return Err(fail(preset.span(), "preset", "use either preset or [hours], not both".to_string()));
            }
            (Some(preset), None) => {
                let chosen = Preset::parse(preset.get_ref()).ok_or_else(|| {
                    fail(
                        preset.span(),
                        "preset",
                        format!("unknown preset {:?} (expected \"24x7\" or \"24x5\")", preset.get_ref()),
                    )
                })?;
                Calendar::preset(chosen, time_zone)
            }
            (None, None) => Calendar::default_in(time_zone),
            (None, Some(hours)) => {
                let span = hours.span();
                let hours = hours.into_inner();
                let days = [hours.mon, hours.tue, hours.wed, hours.thu, hours.fri, hours.sat, hours.sun];
                let mut week: [Vec<Interval>; 7] = Default::default();
                for (index, day) in days.into_iter().enumerate() {
                    let key = WEEKDAY_KEYS[index];
                    for (position, text_interval) in day.unwrap_or_default().iter().enumerate() {
                        let field = format!("hours.{key}[{position}]");
                        let interval = parse_interval(text_interval.get_ref())
                            .map_err(|problem| fail(text_interval.span(), &field, problem))?;
                        if let Some(previous) = week[index].last() {
                            check_order(*previous, interval, text_interval.get_ref())
                                .map_err(|problem| fail(text_interval.span(), &field, problem))?;
                        }
                        week[index].push(interval);
                    }
                }
                if week.iter().all(Vec::is_empty) {
                    return Err(fail(span, "hours", "the calendar is never open: give some weekday hours".to_string()));
                }
                Calendar::with_week(time_zone, week)
            }
        };

        for (position, holiday) in raw.holidays.unwrap_or_default().iter().enumerate() {
            let date = parse_date(holiday.get_ref())
                .map_err(|problem| fail(holiday.span(), &format!("holidays[{position}]"), problem))?;
            calendar.holidays.insert(date);
        }
        let mut yearly = BTreeSet::new();
        let mut yearly_span = 0..0;
        for (position, holiday) in raw.yearly_holidays.unwrap_or_default().iter().enumerate() {
            let month_day = parse_month_day(holiday.get_ref())
                .map_err(|problem| fail(holiday.span(), &format!("yearly_holidays[{position}]"), problem))?;
            yearly.insert(month_day);
            yearly_span = holiday.span();
        }
        calendar.yearly_holidays = yearly;
        if !calendar.has_open_time() {
            return Err(fail(yearly_span, "yearly_holidays", "every day of the year is a holiday".to_string()));
        }
        Ok(calendar)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|byte| **byte == b'\n').count() + 1
}

/// `HH:MM-HH:MM` within one local day.
fn parse_interval(text: &str) -> Result<Interval, String> {
    let shape = || format!("{text:?} is not an interval HH:MM-HH:MM");
    let (start, end) = text.split_once('-').ok_or_else(shape)?;
    let start = parse_clock(start.trim()).ok_or_else(shape)?;
    let end = parse_clock(end.trim()).ok_or_else(shape)?;
    if start == DAY_MINUTES {
        return Err(format!("{text:?} starts at 24:00, which can only end an interval"));
    }
    if end < start {
        return Err(format!(
            "{text:?} ends before it starts; an interval cannot cross midnight: write two intervals \
             (e.g. \"22:00-24:00\" on one day and \"00:00-06:00\" on the next)"
        ));
    }
    Interval::new(start, end).ok_or_else(|| format!("{text:?} is empty"))
}

/// `HH:MM` as minutes after midnight, `24:00` included.
fn parse_clock(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    let total = hours * 60 + minutes;
    (minutes < 60 && total <= DAY_MINUTES).then_some(total)
}

fn check_order(previous: Interval, interval: Interval, text: &str) -> Result<(), String> {
    if interval.start >= previous.end {
        Ok(())
    } else if interval.end > previous.start {
        Err(format!("{text:?} overlaps \"{previous}\""))
    } else {
        Err(format!("{text:?} comes before \"{previous}\": list a day's intervals earliest first"))
    }
}

/// `YYYY-MM-DD`.
fn parse_date(text: &str) -> Result<Date, String> {
    let parts: Vec<&str> = text.split('-').collect();
    let shape = || format!("{text:?} is not a date YYYY-MM-DD");
    let [year, month, day] = parts.as_slice() else {
        return Err(shape());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(shape());
    }
    let (Ok(year), Ok(month), Ok(day)) = (year.parse::<i16>(), month.parse::<i8>(), day.parse::<i8>()) else {
        return Err(shape());
    };
    Date::new(year, month, day).map_err(|_| format!("{text:?} is not a valid date"))
}

/// `MM-DD`, any year (02-29 allowed: it counts in leap years).
fn parse_month_day(text: &str) -> Result<(i8, i8), String> {
    let shape = || format!("{text:?} is not a month-day MM-DD");
    let (month, day) = text.split_once('-').ok_or_else(shape)?;
    if month.len() != 2 || day.len() != 2 {
        return Err(shape());
    }
    let (Ok(month), Ok(day)) = (month.parse::<i8>(), day.parse::<i8>()) else {
        return Err(shape());
    };
    // 2000 is a leap year, so 02-29 is accepted.
    Date::new(2000, month, day).map_err(|_| format!("{text:?} is not a valid month-day"))?;
    Ok((month, day))
}
