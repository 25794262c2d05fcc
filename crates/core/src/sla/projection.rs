//! One ticket's targets as the store keeps them: the policy that applies, and
//! each target measured at an instant. Readers later derive the state at
//! their own `now` from what is kept ([`Projected::at`]): a running target
//! whose due instant has passed is breached, and its elapsed time grows.

use std::collections::HashMap;

use jiff::tz::TimeZone;

use super::timeline::{Timeline, instant, timestamp};
use super::{Calendar, DEFAULT_CALENDAR, MeasureError, SlaPolicy, TargetKind, TargetStatus, TicketFacts, measure};
use crate::time::Timestamp;

/// The policies in force, in order, with the calendars they count on.
#[derive(Debug, Clone)]
pub struct PolicySet {
    /// Policy ids and policies, first match first.
    pub policies: Vec<(i64, SlaPolicy)>,
    /// Calendars by name; [`DEFAULT_CALENDAR`] is always there.
    pub calendars: HashMap<String, Calendar>,
}

impl PolicySet {
    /// A set with the default calendar (Mon–Fri 09:00–17:00 in `time_zone`)
    /// and the given calendars and policies.
    pub fn new(policies: Vec<(i64, SlaPolicy)>, mut calendars: HashMap<String, Calendar>, time_zone: TimeZone) -> Self {
        calendars.entry(DEFAULT_CALENDAR.to_owned()).or_insert_with(|| Calendar::default_in(time_zone));
        PolicySet { policies, calendars }
    }

    /// The calendar `name`, or the default one.
    pub fn calendar(&self, name: &str) -> &Calendar {
        self.calendars.get(name).or_else(|| self.calendars.get(DEFAULT_CALENDAR)).unwrap_or(&FALLBACK)
    }

    /// The calendar the policy `policy` counts on (the default one when
    /// there is no policy, or it is gone): what kept targets on it are
    /// brought forward on.
    pub fn calendar_of(&self, policy: Option<i64>) -> &Calendar {
        self.calendar(policy.and_then(|id| self.policy(id)).map_or(DEFAULT_CALENDAR, |policy| policy.calendar.as_str()))
    }

    /// The first policy that applies to the ticket.
    pub fn policy_for(&self, facts: &TicketFacts) -> Option<(i64, &SlaPolicy)> {
        self.policies.iter().find(|(_, policy)| policy.matches(facts)).map(|(id, policy)| (*id, policy))
    }

    /// The policy with this id.
    pub fn policy(&self, id: i64) -> Option<&SlaPolicy> {
        self.policies.iter().find(|(known, _)| *known == id).map(|(_, policy)| policy)
    }
}

static FALLBACK: std::sync::LazyLock<Calendar> = std::sync::LazyLock::new(|| Calendar::default_in(TimeZone::UTC));

/// One target as kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptTarget {
    /// Which.
    pub kind: TargetKind,
    /// Its cycle's start.
    pub start: Timestamp,
    /// Its length, in seconds.
    pub seconds: i64,
    /// Whether it counts business time.
    pub business_hours: bool,
    /// Time counted at `computed_at` (or until met).
    pub elapsed_seconds: i64,
    /// Due instant, if known.
    pub due: Option<Timestamp>,
    /// When it was met.
    pub met_at: Option<Timestamp>,
    /// Its state at `computed_at`.
    pub state: TargetStatus,
    /// Whether its clock ran at `computed_at` (unmet, not paused).
    pub running: bool,
}

/// A ticket's projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projected {
    /// The policy applied, if any.
    pub policy: Option<i64>,
    /// When measured.
    pub computed_at: Timestamp,
    /// The targets.
    pub targets: Vec<KeptTarget>,
}

impl Projected {
    /// The earliest due instant of a target whose clock runs, breached ones
    /// included: the order of a queue sorted by SLA due time (`None` last).
    pub fn next_due(&self) -> Option<Timestamp> {
        self.targets.iter().filter(|target| target.running).filter_map(|target| target.due).min()
    }
}

/// Measures a ticket's targets at `now` under the first policy that applies.
pub fn project(
    set: &PolicySet,
    facts: &TicketFacts,
    timeline: &Timeline,
    now: Timestamp,
) -> Result<Projected, MeasureError> {
    let Some((id, policy)) = set.policy_for(facts) else {
        return Ok(Projected { policy: None, computed_at: now, targets: Vec::new() });
    };
    let calendar = set.calendar(&policy.calendar);
    let states = measure(policy, calendar, &timeline.happenings, instant(now))?;
    let targets = states
        .into_iter()
        .filter_map(|state| {
            let spec = policy.targets.configured().find(|(kind, _)| *kind == state.kind)?.1;
            Some(KeptTarget {
                kind: state.kind,
                start: timestamp(state.start),
                seconds: spec.seconds,
                business_hours: spec.business_hours,
                elapsed_seconds: state.elapsed_seconds,
                due: state.due.map(timestamp),
                met_at: state.met_at.map(timestamp),
                state: state.state,
                running: state.running,
            })
        })
        .collect();
    Ok(Projected { policy: Some(id), computed_at: now, targets })
}

impl KeptTarget {
    /// The target as seen at `now` (at or after it was kept): a running
    /// target past its due instant is breached, and a running target's
    /// elapsed time (breached or not) includes the time since it was kept.
    pub fn at(&self, kept_at: Timestamp, now: Timestamp, calendar: &Calendar) -> KeptTarget {
        let mut target = *self;
        if target.running && now > kept_at {
            let more = if target.business_hours {
                calendar.elapsed(instant(kept_at), instant(now))
            } else {
                (now.0 - kept_at.0) / 1000
            };
            target.elapsed_seconds += more;
            if target.state == TargetStatus::Active && target.due.is_some_and(|due| due <= now) {
                target.state = TargetStatus::Breached;
            }
        }
        target
    }

    /// Seconds left (negative once overrun).
    pub fn remaining_seconds(&self) -> i64 {
        self.seconds - self.elapsed_seconds
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::priority::{Level, Tier};
    use crate::sla::defaults::default_policies;
    use crate::sla::timeline::Counters;
    use crate::sla::{Happening, TargetSpec};
    use crate::ticket::Channel;

    fn set() -> PolicySet {
        let policies = default_policies().into_iter().enumerate().map(|(n, p)| (n as i64 + 1, p)).collect();
        PolicySet::new(policies, HashMap::new(), TimeZone::UTC)
    }

    fn timeline(happenings: Vec<Happening>) -> Timeline {
        Timeline { happenings, counters: Counters::default(), unowned_since: None, pending_since: None }
    }

    fn at(text: &str) -> Timestamp {
        timestamp(text.parse().unwrap())
    }

    #[test]
    fn kept_targets_count_on_their_policys_calendar_or_the_default() {
        let mut policies = default_policies();
        policies[0].calendar = "weekend".to_owned();
        let weekend = Calendar::preset(crate::calendar::Preset::AllWeek, TimeZone::UTC);
        let calendars = HashMap::from([("weekend".to_owned(), weekend.clone())]);
        let set = PolicySet::new(vec![(1, policies[0].clone()), (2, policies[1].clone())], calendars, TimeZone::UTC);
        let default = Calendar::default_in(TimeZone::UTC);
        assert_eq!(set.calendar_of(Some(1)).hours_text(), weekend.hours_text());
        for other in [Some(2), Some(99), None] {
            assert_eq!(set.calendar_of(other).hours_text(), default.hours_text(), "{other:?}");
        }
    }

    #[test]
    fn a_chat_kept_active_is_breached_later_and_counts_on() {
        let facts = TicketFacts {
            channel: Channel::Chat,
            tier: Tier::basic(),
            priority: Level::Normal,
            team: None,
            tags: vec![],
        };
        let created = at("2026-11-23T10:00:00Z");
        let projected =
            project(&set(), &facts, &timeline(vec![Happening::Created(instant(created))]), created).unwrap();
        let policy = set().policy(projected.policy.unwrap()).unwrap().clone();
        assert_eq!(policy.name, "Live chat");
        let target = projected.targets[0];
        assert_eq!(target.state, TargetStatus::Active);
        assert_eq!(target.due, Some(at("2026-11-23T10:01:00Z")));
        assert_eq!(projected.next_due(), target.due);
        let later = target.at(created, at("2026-11-23T10:00:45Z"), set().calendar("default"));
        assert_eq!((later.state, later.elapsed_seconds, later.remaining_seconds()), (TargetStatus::Active, 45, 15));
        let late = target.at(created, at("2026-11-23T10:02:00Z"), set().calendar("default"));
        assert_eq!((late.state, late.elapsed_seconds), (TargetStatus::Breached, 120));
        // Breached and still unanswered, its clock runs on; paused, it does not.
        let later = late.at(at("2026-11-23T10:02:00Z"), at("2026-11-23T10:05:00Z"), set().calendar("default"));
        assert_eq!(
            (later.state, later.elapsed_seconds, later.remaining_seconds()),
            (TargetStatus::Breached, 300, -240)
        );
        let paused = KeptTarget { running: false, ..late };
        assert_eq!(
            paused.at(at("2026-11-23T10:02:00Z"), at("2026-11-23T10:05:00Z"), set().calendar("default")),
            paused
        );
    }

    #[test]
    fn issue_14_next_due_counts_breached_running_targets_and_not_paused_or_met_ones() {
        let base = KeptTarget {
            kind: TargetKind::FirstResponse,
            start: Timestamp(0),
            seconds: 60,
            business_hours: false,
            elapsed_seconds: 0,
            due: Some(Timestamp(60_000)),
            met_at: None,
            state: TargetStatus::Active,
            running: true,
        };
        let breached = KeptTarget { state: TargetStatus::Breached, due: Some(Timestamp(30_000)), ..base };
        let paused = KeptTarget { state: TargetStatus::Breached, due: Some(Timestamp(10_000)), running: false, ..base };
        let met = KeptTarget { state: TargetStatus::Met, met_at: Some(Timestamp(5)), running: false, ..base };
        let projected = |targets: Vec<KeptTarget>| Projected { policy: Some(1), computed_at: Timestamp(0), targets };
        assert_eq!(projected(vec![base, breached, paused, met]).next_due(), Some(Timestamp(30_000)));
        assert_eq!(projected(vec![base, met]).next_due(), Some(Timestamp(60_000)));
        assert_eq!(projected(vec![paused, met]).next_due(), None, "no running target: sorted last");
    }

    #[test]
    fn no_policy_no_targets_and_business_time_counts_only_open_hours() {
        let mut set = set();
        let none = TicketFacts {
            channel: Channel::Api,
            tier: Tier::basic(),
            priority: Level::Normal,
            team: None,
            tags: vec![],
        };
        set.policies.clear();
        let created = at("2026-11-20T16:00:00Z");
        let projected = project(&set, &none, &timeline(vec![Happening::Created(instant(created))]), created).unwrap();
        assert_eq!(projected, Projected { policy: None, computed_at: created, targets: vec![] });
        let target = KeptTarget {
            kind: TargetKind::FirstResponse,
            start: created,
            seconds: 6 * 3600,
            business_hours: true,
            elapsed_seconds: 0,
            due: Some(at("2026-11-23T14:00:00Z")),
            met_at: None,
            state: TargetStatus::Active,
            running: true,
        };
        // Friday 16:00 to Monday 10:00: one hour on Friday, one on Monday.
        let monday = target.at(created, at("2026-11-23T10:00:00Z"), set.calendar("default"));
        assert_eq!(monday.elapsed_seconds, 7200);
        let _ = TargetSpec { seconds: 1, business_hours: false };
    }
}
