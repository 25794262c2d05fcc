//! A seeded generator of calendars and instants, and a naive model of a
//! calendar that answers "is this instant open?" one instant at a time.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Disambiguation, TimeZone};

/// Zones on six continents, with and without DST, with 30- and 45-minute
/// offsets and Lord Howe's 30-minute DST.
pub const ZONES: [&str; 10] = [
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Africa/Johannesburg",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "UTC",
];

/// SplitMix64: small, seeded, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A calendar written as plain data: the naive model and the TOML source.
#[derive(Debug, Clone)]
pub struct Spec {
    pub zone: &'static str,
    pub time_zone: TimeZone,
    /// Monday first, (start, end) minutes.
    pub week: [Vec<(u16, u16)>; 7],
    pub preset: Option<&'static str>,
    pub holidays: Vec<Date>,
    pub yearly: Vec<(i8, i8)>,
}

impl Spec {
    /// The calendar file for this spec.
    pub fn toml(&self) -> String {
        let mut text = format!("timezone = \"{}\"\n", self.zone);
        let dates: Vec<String> = self.holidays.iter().map(|date| format!("\"{date}\"")).collect();
        text += &format!("holidays = [{}]\n", dates.join(", "));
        let yearly: Vec<String> = self.yearly.iter().map(|(m, d)| format!("\"{m:02}-{d:02}\"")).collect();
        text += &format!("yearly_holidays = [{}]\n", yearly.join(", "));
        if let Some(preset) = self.preset {
            text += &format!("preset = \"{preset}\"\n");
            return text;
        }
        text += "[hours]\n";
        for (day, intervals) in self.week.iter().enumerate() {
            if intervals.is_empty() {
                continue;
            }
            let written: Vec<String> = intervals
                .iter()
                .map(|(s, e)| format!("\"{:02}:{:02}-{:02}:{:02}\"", s / 60, s % 60, e / 60, e % 60))
                .collect();
            text += &format!("{} = [{}]\n", super::super::WEEKDAY_KEYS[day], written.join(", "));
        }
        text
    }

    /// The naive model: converts the instant to local wall-clock time and
    /// looks it up.
    pub fn is_open(&self, second: i64) -> bool {
        let Ok(instant) = Timestamp::from_second(second) else {
            return false;
        };
        let local = self.time_zone.to_datetime(instant);
        let date = local.date();
        if self.holidays.contains(&date) || self.yearly.contains(&(date.month(), date.day())) {
            return false;
        }
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        let day = local.weekday().to_monday_zero_offset() as usize;
        self.week[day].iter().any(|&(start, end)| start <= minute && minute < end)
    }

    /// Open minutes in a week (for sizing durations).
    pub fn weekly_minutes(&self) -> u64 {
        self.week.iter().flatten().map(|&(s, e)| u64::from(e - s)).sum()
    }
}

/// A random calendar: split shifts, presets, whole days, no holidays yet.
pub fn spec(rng: &mut Rng, zone: &'static str) -> Spec {
    let time_zone = match super::super::find_time_zone(zone) {
        Some(time_zone) => time_zone,
        None => panic!("zone {zone} missing"),
    };
    let mut week: [Vec<(u16, u16)>; 7] = Default::default();
    let mut preset = None;
    match rng.below(10) {
        0 => {
            preset = Some("24x7");
            week = std::array::from_fn(|_| vec![(0, 1440)]);
        }
        1 => {
            preset = Some("24x5");
            week = std::array::from_fn(|day| if day < 5 { vec![(0, 1440)] } else { vec![] });
        }
        _ => {
            for day in &mut week {
                if !rng.chance(75) {
                    continue;
                }
                // Cut points on quarter hours, some on the DST hours 02:00-03:00.
                let count = 2 * (1 + rng.below(3)) as usize;
                let mut cuts: Vec<u16> = (0..count)
                    .map(|_| if rng.chance(20) { 60 + 15 * rng.below(13) as u16 } else { 15 * rng.below(97) as u16 })
                    .collect();
                cuts.sort_unstable();
                cuts.dedup();
                for pair in cuts.chunks(2) {
                    if let [start, end] = pair {
                        day.push((*start, *end));
                    }
                }
            }
            if week.iter().all(Vec::is_empty) {
                week[0].push((540, 1020));
            }
        }
    }
    Spec { zone, time_zone, week, preset, holidays: Vec::new(), yearly: Vec::new() }
}

/// Adds up to three dated and two yearly holidays within a week before and
/// two weeks after the local date of `second`.
pub fn add_holidays(rng: &mut Rng, spec: &mut Spec, second: i64) {
    let around = local_date(spec, second);
    let near = |rng: &mut Rng| around.checked_add(jiff::Span::new().days(rng.below(21) as i64 - 7)).ok();
    for _ in 0..rng.below(4) {
        if let Some(date) = near(rng) {
            spec.holidays.push(date);
        }
    }
    for _ in 0..rng.below(3) {
        if let Some(date) = near(rng) {
            spec.yearly.push((date.month(), date.day()));
        }
    }
}

/// A random start on a whole minute: near a DST change, at local midnight,
/// on an interval boundary, or anywhere in 2018 or 2026.
pub fn start(rng: &mut Rng, spec: &Spec) -> i64 {
    let year: i16 = if rng.chance(50) { 2018 } else { 2026 };
    let year_start = civil_to_second(&spec.time_zone, jiff::civil::date(year, 1, 1));
    let mut second = year_start + 60 * rng.below(365 * 24 * 60) as i64;
    if rng.chance(50)
        && let Ok(from) = Timestamp::from_second(year_start)
    {
        let transitions: Vec<i64> = spec.time_zone.following(from).take(2).map(|t| t.timestamp().as_second()).collect();
        if !transitions.is_empty() {
            let pick = transitions[rng.below(transitions.len() as u64) as usize];
            second = pick + 60 * (rng.below(6 * 24 * 60) as i64 - 3 * 24 * 60);
        }
    }
    match rng.below(4) {
        0 => local_snap(spec, second, 0),
        1 => {
            let local = local_date(spec, second);
            let day = &spec.week[local.weekday().to_monday_zero_offset() as usize];
            match day.get(rng.below(day.len().max(1) as u64) as usize) {
                Some(&(open, close)) => local_snap(spec, second, if rng.chance(50) { open } else { close }),
                None => second,
            }
        }
        _ => second,
    }
}

fn local_date(spec: &Spec, second: i64) -> Date {
    Timestamp::from_second(second).map(|t| spec.time_zone.to_datetime(t).date()).unwrap_or(Date::ZERO)
}

/// The instant of `minute` on the local date of `second`.
fn local_snap(spec: &Spec, second: i64, minute: u16) -> i64 {
    let date = local_date(spec, second);
    let datetime = if minute == 1440 {
        date.tomorrow().map(|d| d.to_datetime(Time::midnight())).unwrap_or(DateTime::ZERO)
    } else {
        date.to_datetime(Time::constant((minute / 60) as i8, (minute % 60) as i8, 0, 0))
    };
    spec.time_zone
        .to_ambiguous_timestamp(datetime)
        .disambiguate(Disambiguation::Compatible)
        .map(|t| t.as_second())
        .unwrap_or(second)
}

fn civil_to_second(time_zone: &TimeZone, date: Date) -> i64 {
    time_zone
        .to_ambiguous_timestamp(date.to_datetime(Time::midnight()))
        .disambiguate(Disambiguation::Compatible)
        .map(|t| t.as_second())
        .unwrap_or(0)
}
