//! The SLA clock: business time, exactly, in whole seconds.
//!
//! Business time is real elapsed time inside open hours. Each local interval
//! of each open date is turned into the real instants whose local wall-clock
//! time lies inside it: between two offset transitions local time is real time
//! plus a constant offset, so the interval maps to one span per stretch of
//! constant offset. An hour repeated at a fall-back therefore counts twice and
//! a skipped hour does not exist. The clock walks these spans, a day at a
//! time, never minute by minute.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use jiff::Timestamp;
use jiff::civil::Date;

use super::Calendar;

/// Jiff's offsets lie within ±25:59:59, so the instants of a local date lie
/// within this many seconds of its UTC counterpart.
const MAX_OFFSET: i64 = 26 * 3600;
const DAY: i64 = 86_400;

/// Why the clock has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// The calendar has no open time at all.
    #[error("the calendar is never open")]
    NeverOpen,
    /// A negative amount of business time was asked for.
    #[error("a duration of {0} seconds is negative")]
    NegativeDuration(i64),
    /// The answer lies beyond the last instant jiff represents (year 9999).
    #[error("the due time lies beyond the year 9999")]
    OutOfRange,
}

impl Calendar {
    /// The instant that lies `seconds` of business time after `start`.
    ///
    /// A target that runs out exactly at closing time is due at closing time.
    /// With zero seconds the answer is `start` itself if it is open or exactly
    /// at a closing time, else the next opening.
    pub fn due(&self, start: Timestamp, seconds: i64) -> Result<Timestamp, ClockError> {
        if seconds < 0 {
            return Err(ClockError::NegativeDuration(seconds));
        }
        if !self.has_open_time() {
            return Err(ClockError::NeverOpen);
        }
        let start = start.as_second();
        // Business time never runs faster than real time.
        match start.checked_add(seconds) {
            Some(earliest) if earliest <= Timestamp::MAX.as_second() => {}
            _ => return Err(ClockError::OutOfRange),
        }
        let mut remaining = seconds;
        for (open, close) in OpenSpans::new(self, start, None) {
            if close < start {
                continue;
            }
            let open = open.max(start);
            let length = close - open;
            if remaining <= length {
                return Timestamp::from_second(open + remaining).map_err(|_| ClockError::OutOfRange);
            }
            remaining -= length;
        }
        Err(ClockError::OutOfRange)
    }

    /// The business time, in seconds, in the half-open span `[from, to)`;
    /// zero when `to` is not after `from`.
    pub fn elapsed(&self, from: Timestamp, to: Timestamp) -> i64 {
        let (from, to) = (from.as_second(), to.as_second());
        if to <= from || !self.has_open_time() {
            return 0;
        }
        let mut total = 0;
        for (open, close) in OpenSpans::new(self, from, Some(to)) {
            if open >= to {
                break;
            }
            let (open, close) = (open.max(from), close.min(to));
            if open < close {
                total += close - open;
            }
        }
        total
    }
}

/// The calendar's open spans `[open, close)` in epoch seconds, in order,
/// from those that may reach `from` on. Each local interval yields its own
/// span(s), so touching spans are not merged.
struct OpenSpans<'c> {
    calendar: &'c Calendar,
    /// The next local date to turn into spans (None past year 9999 or `until`).
    next_date: Option<Date>,
    until: Option<i64>,
    pending: BinaryHeap<Reverse<(i64, i64)>>,
}

impl<'c> OpenSpans<'c> {
    fn new(calendar: &'c Calendar, from: i64, until: Option<i64>) -> OpenSpans<'c> {
        // A date's instants end before its UTC midnight plus a day and the
        // largest offset, so earlier dates cannot reach `from`.
        let first = Timestamp::from_second(from.saturating_sub(MAX_OFFSET + DAY))
            .unwrap_or(Timestamp::MIN)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date();
        OpenSpans { calendar, next_date: Some(first), until, pending: BinaryHeap::new() }
    }

    /// Adds the spans of one local date.
    fn add_date(&mut self, date: Date) {
        let calendar = self.calendar;
        let intervals = calendar.hours(date.weekday());
        let (Some(first), Some(last)) = (intervals.first(), intervals.last()) else {
            return;
        };
        if calendar.is_holiday(date) {
            return;
        }
        let midnight = utc_midnight(date);
        let low = midnight + i64::from(first.start) * 60 - MAX_OFFSET;
        let high = midnight + i64::from(last.end) * 60 + MAX_OFFSET;
        // Stretches [from, to) of constant offset covering [low, high).
        let mut stretches: Vec<(i64, i64, i64)> = Vec::with_capacity(2);
        let Ok(low_instant) = Timestamp::from_second(low) else {
            return;
        };
        let time_zone = calendar.time_zone();
        let mut stretch_start = low;
        let mut offset = i64::from(time_zone.to_offset(low_instant).seconds());
        for transition in time_zone.following(low_instant) {
            let at = transition.timestamp().as_second();
            if at >= high {
                break;
            }
            stretches.push((stretch_start, at, offset));
            stretch_start = at;
            offset = i64::from(transition.offset().seconds());
        }
        stretches.push((stretch_start, high, offset));
        for interval in intervals {
            let local_open = midnight + i64::from(interval.start) * 60;
            let local_close = midnight + i64::from(interval.end) * 60;
            for &(from, to, offset) in &stretches {
                let open = (local_open - offset).max(from);
                let close = (local_close - offset).min(to);
                if open < close {
                    self.pending.push(Reverse((open, close)));
                }
            }
        }
    }
}

impl Iterator for OpenSpans<'_> {
    type Item = (i64, i64);

    fn next(&mut self) -> Option<(i64, i64)> {
        loop {
            let Some(date) = self.next_date else {
                return self.pending.pop().map(|Reverse(span)| span);
            };
            // Spans of `date` and later dates open at or after this bound.
            let bound = utc_midnight(date) - MAX_OFFSET;
            if let Some(Reverse((open, _))) = self.pending.peek()
                && *open < bound
            {
                return self.pending.pop().map(|Reverse(span)| span);
            }
            if let Some(until) = self.until
                && bound >= until
            {
                self.next_date = None;
                continue;
            }
            self.add_date(date);
            self.next_date = date.tomorrow().ok();
        }
    }
}

/// Seconds from the epoch to `date` 00:00 as if it were UTC.
fn utc_midnight(date: Date) -> i64 {
    // Days from civil (Howard Hinnant's algorithm).
    let (year, month, day) = (i64::from(date.year()), i64::from(date.month()), i64::from(date.day()));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era - 719_468) * DAY
}
