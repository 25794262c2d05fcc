//! The scope of a sweep: a ticket left out measures the same under the new
//! policies as under the old.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::sla::Happening;
use crate::sla::projection::project;
use crate::sla::timeline::{Counters, Timeline};
use crate::sla::{PolicyMatch, SlaPolicy, TargetSpec, Targets, TicketFacts};
use crate::{Channel, Level, Status, TeamId, Tier, Timestamp};

const LATE_HOURS: &str = "timezone = \"America/New_York\"\n[hours]\nmon = [\"12:00-20:00\"]\ntue = [\"12:00-20:00\"]\n";
const EARLY_HOURS: &str = "timezone = \"Asia/Tokyo\"\nholidays = [\"2026-11-23\"]\n[hours]\nmon = [\"06:00-10:00\", \"11:00-15:00\"]\nfri = [\"00:00-24:00\"]\n";

fn spec(seconds: i64, business_hours: bool) -> Option<TargetSpec> {
    Some(TargetSpec { seconds, business_hours })
}

/// One of a few policies, varied in conditions, targets, pause and calendar.
fn sample_policy(index: u8) -> SlaPolicy {
    let conditions = match index % 5 {
        0 => PolicyMatch { channels: vec![Channel::Email, Channel::Web], ..PolicyMatch::default() },
        1 => PolicyMatch { tiers: vec![Tier("premium".to_owned())], ..PolicyMatch::default() },
        2 => PolicyMatch { tags: vec!["vip".to_owned()], ..PolicyMatch::default() },
        3 => PolicyMatch { channels: vec![Channel::Chat], priorities: vec![Level::High], ..PolicyMatch::default() },
        _ => PolicyMatch::default(),
    };
    let targets = match index % 3 {
        0 => Targets { first_response: spec(4 * 3600, true), ..Targets::default() },
        1 => Targets { first_response: spec(600, false), resolution: spec(86_400, true), ..Targets::default() },
        _ => Targets { next_response: spec(1800, true), resolution: spec(3 * 86_400, false), ..Targets::default() },
    };
    SlaPolicy {
        name: format!("policy {index}"),
        conditions,
        targets,
        pause_when_pending: index.is_multiple_of(2),
        calendar: ["default", "late", "early"][usize::from(index % 3)].to_owned(),
    }
}

/// The calendars: `late` has one of two sets of hours.
fn calendars(late: &str) -> HashMap<String, Calendar> {
    HashMap::from([
        ("late".to_owned(), Calendar::parse(late).unwrap()),
        ("early".to_owned(), Calendar::parse(EARLY_HOURS).unwrap()),
    ])
}

/// One edit of a set of policies (ids 1..).
#[derive(Debug, Clone)]
enum Edit {
    Targets(usize, u8),
    Conditions(usize, u8),
    Pause(usize),
    Calendar(usize, u8),
    Rename(usize),
    Swap(usize),
    Remove(usize),
    Add(usize, u8),
    LateHours,
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..6, any::<u8>()).prop_map(|(at, to)| Edit::Targets(at, to)),
        (0usize..6, any::<u8>()).prop_map(|(at, to)| Edit::Conditions(at, to)),
        (0usize..6).prop_map(Edit::Pause),
        (0usize..6, any::<u8>()).prop_map(|(at, to)| Edit::Calendar(at, to)),
        (0usize..6).prop_map(Edit::Rename),
        (0usize..6).prop_map(Edit::Swap),
        (0usize..6).prop_map(Edit::Remove),
        (0usize..6, any::<u8>()).prop_map(|(at, to)| Edit::Add(at, to)),
        Just(Edit::LateHours),
    ]
}

/// `policies` with `edits` applied; new policies get ids from 100.
fn edited(policies: &[(i64, SlaPolicy)], edits: &[Edit]) -> (Vec<(i64, SlaPolicy)>, bool) {
    let mut policies = policies.to_vec();
    let mut late_moved = false;
    let mut next_id = 100;
    for edit in edits {
        let len = policies.len();
        match edit.clone() {
            Edit::LateHours => late_moved = !late_moved,
            Edit::Add(at, index) => {
                policies.insert(at.min(len), (next_id, sample_policy(index)));
                next_id += 1;
            }
            _ if len == 0 => {}
            Edit::Targets(at, index) => policies[at % len].1.targets = sample_policy(index).targets,
            Edit::Conditions(at, index) => policies[at % len].1.conditions = sample_policy(index).conditions,
            Edit::Pause(at) => policies[at % len].1.pause_when_pending ^= true,
            Edit::Calendar(at, index) => policies[at % len].1.calendar = sample_policy(index).calendar,
            Edit::Rename(at) => policies[at % len].1.name.push('!'),
            Edit::Swap(at) => policies.swap(at % len, (at + 1) % len),
            Edit::Remove(at) => {
                policies.remove(at % len);
            }
        }
    }
    (policies, late_moved)
}

fn facts_strategy() -> impl Strategy<Value = TicketFacts> {
    (0usize..4, any::<bool>(), 0usize..4, any::<bool>(), any::<bool>()).prop_map(
        |(channel, premium, priority, team, vip)| TicketFacts {
            channel: [Channel::Email, Channel::Web, Channel::Chat, Channel::Sms][channel],
            tier: if premium { Tier("premium".to_owned()) } else { Tier::basic() },
            priority: [Level::Low, Level::Normal, Level::High, Level::Urgent][priority],
            team: team.then_some(TeamId(7)),
            tags: if vip { vec!["vip".to_owned()] } else { Vec::new() },
        },
    )
}

/// A ticket created on Friday 2026-11-20 at `start` seconds past 00:00 UTC,
/// then the happenings `steps` apart.
fn timeline(start: i64, steps: &[(i64, u8)]) -> (Timeline, i64) {
    let base = "2026-11-20T00:00:00Z".parse::<jiff::Timestamp>().unwrap().as_second() + start;
    let second = |offset: i64| jiff::Timestamp::from_second(base + offset).unwrap();
    let mut happenings = vec![Happening::Created(second(0))];
    let mut offset = 0;
    for &(gap, kind) in steps {
        offset += gap;
        happenings.push(match kind % 8 {
            0 => Happening::CustomerMessage(second(offset)),
            1 => Happening::AgentReply(second(offset)),
            kind => Happening::Status(second(offset), Status::ALL[usize::from(kind - 2)]),
        });
    }
    let timeline = Timeline { happenings, counters: Counters::default(), unowned_since: None, pending_since: None };
    (timeline, base + offset)
}

fn set(policies: Vec<(i64, SlaPolicy)>, late: &str) -> PolicySet {
    PolicySet::new(policies, calendars(late), TimeZone::UTC)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]
    #[test]
    fn a_ticket_outside_the_scope_measures_the_same_under_the_new_policies(
        chosen in proptest::collection::vec(any::<u8>(), 0..5),
        edits in proptest::collection::vec(edit_strategy(), 0..3),
        facts in facts_strategy(),
        start in 0i64..86_400,
        steps in proptest::collection::vec((0i64..30_000, 0u8..8), 0..8),
        later in 0i64..400_000,
    ) {
        let before: Vec<(i64, SlaPolicy)> =
            chosen.iter().enumerate().map(|(at, index)| (at as i64 + 1, sample_policy(*index))).collect();
        let (after, late_moved) = edited(&before, &edits);
        let old = set(before, LATE_HOURS);
        let new = set(after, if late_moved { EARLY_HOURS } else { LATE_HOURS });
        let scope = SetPrint::of(&old).changed(&SetPrint::of(&new));
        let (timeline, last) = timeline(start, &steps);
        let now = Timestamp((last + later) * 1000);
        let kept = project(&old, &facts, &timeline, now).unwrap();
        let fresh = project(&new, &facts, &timeline, now).unwrap();
        if !scope.contains(kept.policy) {
            prop_assert_eq!(&kept, &fresh, "scope {:?}", scope);
        }
        // The same policies give an empty scope.
        prop_assert!(SetPrint::of(&old).changed(&SetPrint::of(&old)).is_empty());
    }
}

fn shipped() -> Vec<(i64, SlaPolicy)> {
    (0u8..4).map(|index| (i64::from(index) + 1, sample_policy(index))).collect()
}

#[test]
fn changing_one_policys_targets_puts_only_its_tickets_in() {
    let old = set(shipped(), LATE_HOURS);
    let mut policies = shipped();
    policies[1].1.targets.first_response = spec(300, false);
    let scope = SetPrint::of(&old).changed(&SetPrint::of(&set(policies, LATE_HOURS)));
    assert_eq!(scope, Scope { policies: BTreeSet::from([2]), unmatched: false });
}

#[test]
fn changing_a_policys_conditions_puts_it_every_later_one_and_the_unmatched_in() {
    let old = set(shipped(), LATE_HOURS);
    let mut policies = shipped();
    policies[1].1.conditions.tags = vec!["press".to_owned()];
    let scope = SetPrint::of(&old).changed(&SetPrint::of(&set(policies, LATE_HOURS)));
    assert_eq!(scope, Scope { policies: BTreeSet::from([2, 3, 4]), unmatched: true });
}

#[test]
fn changing_a_calendars_hours_puts_the_policies_counting_on_it_in() {
    let old = set(shipped(), LATE_HOURS);
    let scope = SetPrint::of(&old).changed(&SetPrint::of(&set(shipped(), EARLY_HOURS)));
    // Only policy 2 (index 1) counts on "late".
    assert_eq!(scope, Scope { policies: BTreeSet::from([2]), unmatched: false });
    let union = scope.union(&Scope { policies: BTreeSet::from([4]), unmatched: true });
    assert_eq!(union, Scope { policies: BTreeSet::from([2, 4]), unmatched: true });
    assert!(union.contains(None) && union.contains(Some(4)) && !union.contains(Some(3)));
}

#[test]
fn a_removed_policys_tickets_are_in_and_a_new_one_at_the_end_moves_only_the_unmatched() {
    let old = set(shipped(), LATE_HOURS);
    let mut removed = shipped();
    removed.remove(3);
    let scope = SetPrint::of(&old).changed(&SetPrint::of(&set(removed, LATE_HOURS)));
    assert_eq!(scope, Scope { policies: BTreeSet::from([4]), unmatched: true });
    let mut added = shipped();
    added.push((9, sample_policy(4)));
    let scope = SetPrint::of(&old).changed(&SetPrint::of(&set(added, LATE_HOURS)));
    assert_eq!(scope, Scope { policies: BTreeSet::new(), unmatched: true });
}

#[test]
fn a_print_survives_being_kept_as_json() {
    let print = SetPrint::of(&set(shipped(), LATE_HOURS));
    let text = serde_json::to_string(&print).unwrap();
    assert_eq!(serde_json::from_str::<SetPrint>(&text).unwrap(), print);
    assert_eq!(print.policies.len(), 4);
}

#[test]
fn no_policies_print_as_an_empty_set_does() {
    let empty = set(Vec::new(), LATE_HOURS);
    assert_eq!(SetPrint::of(&empty), SetPrint::of_no_policies());
    let scope = SetPrint::of_no_policies().changed(&SetPrint::of(&set(shipped(), LATE_HOURS)));
    assert_eq!(scope, Scope { policies: BTreeSet::new(), unmatched: true });
}
