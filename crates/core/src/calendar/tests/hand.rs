//! Cases computed by hand, each with its reasoning. 2026-03-02 is a Monday;
//! Berlin springs forward on Sunday 2026-03-29 (02:00 CET → 03:00 CEST, at
//! 01:00Z) and falls back on Sunday 2026-10-25 (03:00 CEST → 02:00 CET, at
//! 01:00Z); New York springs forward on Sunday 2026-03-08 and falls back on
//! Sunday 2026-11-01 (02:00 EDT → 01:00 EST, at 06:00Z); Sydney falls back on
//! Sunday 2026-04-05 (03:00 AEDT → 02:00 AEST).

use super::super::Calendar;
use super::{at, calendar};

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;

fn check_due(calendar: &Calendar, start: &str, seconds: i64, expected: &str) {
    assert_eq!(calendar.due(at(start), seconds), Ok(at(expected)), "due({start}, {seconds} s)");
}

fn check_elapsed(calendar: &Calendar, from: &str, to: &str, expected: i64) {
    assert_eq!(calendar.elapsed(at(from), at(to)), expected, "elapsed({from}, {to})");
}

fn berlin_split() -> Calendar {
    calendar(
        "timezone = \"Europe/Berlin\"\nholidays = [\"2026-12-24\"]\nyearly_holidays = [\"12-25\", \"12-26\"]\n\
         [hours]\nmon = [\"08:00-12:00\", \"13:00-18:00\"]\ntue = [\"09:00-17:00\"]\nwed = [\"09:00-17:00\"]\n\
         thu = [\"09:00-17:00\"]\nfri = [\"09:00-17:00\"]\n",
    )
}

#[test]
fn the_default_calendar_in_utc() {
    let office = calendar("");
    // 1. Monday 10:00 is open: an hour later is 11:00.
    check_due(&office, "2026-03-02T10:00:00Z", HOUR, "2026-03-02T11:00:00Z");
    // 2. Monday 16:30 + 1 h: 30 min to closing at 17:00, 30 min from Tuesday 09:00.
    check_due(&office, "2026-03-02T16:30:00Z", HOUR, "2026-03-03T09:30:00Z");
    // 3. Friday 16:00 + 1 h runs out exactly at closing: due Friday 17:00, not Monday 09:00.
    check_due(&office, "2026-03-06T16:00:00Z", HOUR, "2026-03-06T17:00:00Z");
    // 4. Zero at exactly a closing time is the start itself.
    check_due(&office, "2026-03-06T17:00:00Z", 0, "2026-03-06T17:00:00Z");
    // 5. Zero on Saturday is the next opening, Monday 09:00.
    check_due(&office, "2026-03-07T12:00:00Z", 0, "2026-03-09T09:00:00Z");
    // 6. Zero at an opening is the start itself.
    check_due(&office, "2026-03-02T09:00:00Z", 0, "2026-03-02T09:00:00Z");
    // 7. One second from Saturday noon is the first second of Monday.
    check_due(&office, "2026-03-07T12:00:00Z", 1, "2026-03-09T09:00:01Z");
    // 8. Half-open: the first second of the day counts, the span after closing does not,
    //    and a reversed span is empty.
    check_elapsed(&office, "2026-03-02T09:00:00Z", "2026-03-02T09:00:01Z", 1);
    check_elapsed(&office, "2026-03-02T17:00:00Z", "2026-03-03T09:00:00Z", 0);
    check_elapsed(&office, "2026-03-03T12:00:00Z", "2026-03-02T12:00:00Z", 0);
    // 9. A whole week Monday 00:00 to Monday 00:00 holds 5 × 8 h.
    check_elapsed(&office, "2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z", 40 * HOUR);
}

#[test]
fn split_shifts_and_holidays_in_berlin() {
    let berlin = berlin_split();
    // 10. Monday 11:30 CET (10:30Z) + 1 h: 30 min to 12:00, lunch is closed,
    //     30 min from 13:00: 13:30 CET = 12:30Z.
    check_due(&berlin, "2026-03-02T10:30:00Z", HOUR, "2026-03-02T12:30:00Z");
    // 11. Zero during lunch (12:15 CET = 11:15Z) is the afternoon opening 13:00 CET = 12:00Z.
    check_due(&berlin, "2026-03-02T11:15:00Z", 0, "2026-03-02T12:00:00Z");
    // 12. Wednesday 2026-12-23 16:00 CET (15:00Z) + 2 h: 1 h to 17:00; Thursday 24 is a
    //     dated holiday, Friday 25 a yearly one, then the weekend; Monday 28 opens at
    //     08:00 CET, + 1 h = 09:00 CET = 08:00Z.
    check_due(&berlin, "2026-12-23T15:00:00Z", 2 * HOUR, "2026-12-28T08:00:00Z");
    // 13. The same Monday in summer (CEST, +2): 08:00-12:00 and 13:00-18:00 are
    //     06:00-10:00Z and 11:00-16:00Z, 9 h in all.
    check_elapsed(&berlin, "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", 9 * HOUR);
}

#[test]
fn daylight_saving_changes() {
    let berlin_all_week = calendar("timezone = \"Europe/Berlin\"\npreset = \"24x7\"\n");
    // 14. Spring forward: the local day 2026-03-29 runs from 00:00 CET (23:00Z the day
    //     before) to 24:00 CEST (22:00Z): 23 real hours; the skipped hour does not exist.
    check_elapsed(&berlin_all_week, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", 23 * HOUR);
    // 15. Fall back: 2026-10-25 runs from 00:00 CEST (22:00Z) to 24:00 CET (23:00Z): 25 h.
    check_elapsed(&berlin_all_week, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", 25 * HOUR);

    let night = calendar("timezone = \"Europe/Berlin\"\n[hours]\nsun = [\"02:00-03:00\"]\n");
    // 16. Sunday 02:00-03:00 does not exist on 2026-03-29 (nothing is open that day)
    //     and happens twice on 2026-10-25 (00:00-01:00Z as CEST, 01:00-02:00Z as CET).
    check_elapsed(&night, "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z", 0);
    check_elapsed(&night, "2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z", 2 * HOUR);

    let late = calendar("timezone = \"Europe/Berlin\"\n[hours]\nsun = [\"02:30-05:00\"]\n");
    // 17. On 2026-10-25, 02:30-05:00 is open from 02:30 CEST (00:30Z) to the change at
    //     01:00Z, closed while the repeated clock shows 02:00-02:30 CET (01:00-01:30Z),
    //     then open from 02:30 CET (01:30Z) to 05:00 CET (04:00Z). Starting at local
    //     midnight (22:00Z), 45 min are 30 min before the change and 15 min after 01:30Z.
    check_due(&late, "2026-10-24T22:00:00Z", 45 * MINUTE, "2026-10-25T01:45:00Z");
    check_elapsed(&late, "2026-10-24T22:00:00Z", "2026-10-25T22:00:00Z", 3 * HOUR);

    let new_york = calendar("timezone = \"America/New_York\"\n");
    // 18. Friday 2026-03-06 16:00 EST (21:00Z) + 2 h: 1 h to 17:00 EST; after the spring
    //     change Monday opens at 09:00 EDT = 13:00Z, + 1 h = 14:00Z.
    check_due(&new_york, "2026-03-06T21:00:00Z", 2 * HOUR, "2026-03-09T14:00:00Z");
    let new_york_all_week = calendar("timezone = \"America/New_York\"\npreset = \"24x7\"\n");
    // 19. Fall back: local 00:00 EDT (04:00Z) to 03:00 EST (08:00Z) on 2026-11-01 shows
    //     3 hours on the wall but 4 real hours passed, and 4 are counted.
    check_elapsed(&new_york_all_week, "2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z", 4 * HOUR);

    let sydney = calendar("timezone = \"Australia/Sydney\"\n[hours]\nsun = [\"00:00-24:00\"]\n");
    // 20. Sunday 2026-04-05 in Sydney runs from 00:00 AEDT (13:00Z on the 4th) to
    //     24:00 AEST (14:00Z on the 5th): 25 h, all inside the span asked for.
    check_elapsed(&sydney, "2026-04-04T00:00:00Z", "2026-04-06T00:00:00Z", 25 * HOUR);
}

#[test]
fn zones_without_daylight_saving() {
    let kolkata = calendar("timezone = \"Asia/Kolkata\"\n");
    // 21. 03:00Z is 08:30 IST, before opening: zero is the opening, 09:00 IST = 03:30Z.
    check_due(&kolkata, "2026-03-02T03:00:00Z", 0, "2026-03-02T03:30:00Z");
    // 22. Monday 00:00Z-Tuesday 00:00Z (05:30 IST Monday to 05:30 IST Tuesday) holds
    //     Monday's 09:00-17:00 IST whole: 8 h.
    check_elapsed(&kolkata, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z", 8 * HOUR);

    let johannesburg = calendar("timezone = \"Africa/Johannesburg\"\npreset = \"24x5\"\n");
    // 23. Friday 23:00 SAST (21:00Z) + 2 h: 1 h to Saturday 00:00 SAST (22:00Z), the
    //     weekend is closed, Monday 00:00 SAST is Sunday 22:00Z, + 1 h = 23:00Z.
    check_due(&johannesburg, "2026-03-06T21:00:00Z", 2 * HOUR, "2026-03-08T23:00:00Z");

    let sao_paulo =
        calendar("timezone = \"America/Sao_Paulo\"\n[hours]\nmon = [\"00:00-24:00\"]\ntue = [\"00:00-06:00\"]\n");
    // 24. A night shift written as two intervals: Monday 23:00 (-03, 02:00Z Tuesday)
    //     + 3 h: 1 h to midnight, 2 h on Tuesday: 02:00 local = 05:00Z.
    check_due(&sao_paulo, "2026-03-03T02:00:00Z", 3 * HOUR, "2026-03-03T05:00:00Z");

    let leap = calendar("preset = \"24x7\"\nyearly_holidays = [\"02-29\"]\n");
    // 25. A yearly 02-29 closes that day in leap years only: 2028-02-28 to 2028-03-01
    //     holds 24 h, 2026-02-28 to 2026-03-01 the whole 24 h too.
    check_elapsed(&leap, "2028-02-28T00:00:00Z", "2028-03-01T00:00:00Z", 24 * HOUR);
    check_elapsed(&leap, "2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z", 24 * HOUR);
}
