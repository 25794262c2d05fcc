//! Properties: loop detection against brute force, stable timer keys,
//! raising never lowers.

use super::*;
use proptest::prelude::*;

/// The event words that actions produce, plus one nothing produces.
const WORDS: &[&str] = &["priority_changed", "team_changed", "escalated", "tags_changed", "created"];

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::RaisePriority),
        Just(Action::MoveToTeam { team: TeamId(1) }),
        Just(Action::Escalate),
        Just(Action::AddTag { tag: "x".to_owned() }),
        Just(notify()),
    ]
}

fn trigger() -> impl Strategy<Value = RuleTrigger> {
    prop_oneof![
        4 => (0..WORDS.len()).prop_map(|index| on(WORDS[index])),
        1 => (1i64..100).prop_map(|minutes| RuleTrigger::NoOwner { minutes }),
    ]
}

fn graph() -> impl Strategy<Value = Vec<Rule>> {
    proptest::collection::vec(
        (trigger(), proptest::collection::vec(action(), 1..3), proptest::bool::weighted(0.85)),
        0..7,
    )
    .prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(index, (trigger, actions, enabled))| Rule {
                enabled,
                ..rule(&format!("r{index}"), trigger, actions)
            })
            .collect()
    })
}

/// Brute force: the transitive closure of the edge relation, computed from
/// the definition (enabled both ends, a produced word equals the trigger word).
fn has_loop(rules: &[Rule]) -> bool {
    let n = rules.len();
    let mut reach = vec![vec![false; n]; n];
    for (from, a) in rules.iter().enumerate() {
        for (to, b) in rules.iter().enumerate() {
            let word = match &b.trigger {
                RuleTrigger::Event { event } => Some(event.as_str()),
                _ => None,
            };
            reach[from][to] = a.enabled
                && b.enabled
                && word.is_some_and(|word| a.actions.iter().any(|action| action.produces().contains(&word)));
        }
    }
    for via in 0..n {
        for from in 0..n {
            for to in 0..n {
                reach[from][to] = reach[from][to] || (reach[from][via] && reach[via][to]);
            }
        }
    }
    (0..n).any(|node| reach[node][node])
}

fn timer_rule() -> impl Strategy<Value = Rule> {
    let kind =
        prop_oneof![Just(TargetKind::FirstResponse), Just(TargetKind::NextResponse), Just(TargetKind::Resolution)];
    let trigger = prop_oneof![
        (kind.clone(), 1u8..100).prop_map(|(target, percent)| RuleTrigger::TargetPercent { target, percent }),
        kind.prop_map(|target| RuleTrigger::TargetBreached { target }),
        (1i64..600).prop_map(|minutes| RuleTrigger::NoOwner { minutes }),
        (1i64..5).prop_map(|days| RuleTrigger::PendingFor { days }),
    ];
    (trigger, proptest::bool::weighted(0.9))
        .prop_map(|(trigger, enabled)| Rule { enabled, ..rule("t", trigger, vec![notify()]) })
}

proptest! {
    #[test]
    fn loop_detection_matches_brute_force(rules in graph()) {
        let refs: Vec<&Rule> = rules.iter().collect();
        let found = check_cycles(&refs);
        prop_assert_eq!(found.is_err(), has_loop(&rules));
        if let Err(error) = found {
            // The reported loop is real: each rule triggers the next, the last the first.
            let on_loop: Vec<&Rule> =
                error.rules.iter().map(|name| rules.iter().find(|rule| rule.name == *name).unwrap()).collect();
            for (index, from) in on_loop.iter().enumerate() {
                prop_assert!(triggers(from, on_loop[(index + 1) % on_loop.len()]));
            }
        }
    }

    /// Same input, same output; and as time passes (targets keep counting in
    /// the same cycle, the ticket is otherwise unchanged) a rule that fires
    /// again fires with the same key, so the store's unique key makes it fire
    /// once. Owner and pending timers keep firing with their key.
    #[test]
    fn timer_keys_are_stable_over_time(
        rules in proptest::collection::vec(timer_rule(), 1..8),
        elapsed in proptest::collection::vec(0i64..8000, 3),
        owned in any::<bool>(),
        pending in any::<bool>(),
        minutes in 0i64..10_000,
        later in 1i64..10_000,
    ) {
        let set: Vec<(RuleId, Rule)> = rules.into_iter().enumerate().map(|(i, r)| (RuleId(i as i64), r)).collect();
        let compiled = CompiledRules::new(&set);
        let mut snapshot = ticket();
        if !owned {
            snapshot.owner = None;
            snapshot.unowned_since = Some(T0.plus_millis(5 * MINUTE));
        }
        if pending {
            snapshot.status = Status::Pending;
            snapshot.pending_since = Some(T0.plus_millis(7 * MINUTE));
        }
        let kinds = [TargetKind::FirstResponse, TargetKind::NextResponse, TargetKind::Resolution];
        let at = |extra: i64| -> Vec<TargetProgress> {
            kinds.iter().zip(&elapsed).map(|(kind, seconds)| progress(*kind, seconds + extra)).collect()
        };
        let now = T0.plus_millis(minutes * MINUTE);
        let first = compiled.on_timer(&snapshot, &at(0), now);
        prop_assert_eq!(&first, &compiled.on_timer(&snapshot, &at(0), now));
        prop_assert_eq!(&first, &on_timer(&set, &snapshot, &at(0), now));
        let second = compiled.on_timer(&snapshot, &at(later * 60), now.plus_millis(later * MINUTE));
        for firing in &first {
            let again: Vec<&Firing> = second.iter().filter(|other| other.rule == firing.rule).collect();
            for other in &again {
                prop_assert_eq!(&other.key, &firing.key);
            }
            let rule = &set.iter().find(|(id, _)| *id == firing.rule).unwrap().1;
            if matches!(rule.trigger, RuleTrigger::NoOwner { .. } | RuleTrigger::PendingFor { .. }) {
                prop_assert_eq!(again.len(), 1, "a spell's timer keeps firing with its key");
            }
        }
    }

    #[test]
    fn raising_priority_never_lowers_it(rank in 0usize..4, raises in 1usize..6, set_to in proptest::option::of(0usize..4)) {
        let start = Level::ALL[rank];
        let snapshot = TicketSnapshot { priority: start, ..ticket() };
        let mut actions = vec![Action::RaisePriority; raises];
        if let Some(index) = set_to {
            actions.insert(0, Action::SetPriority { priority: Level::ALL[index] });
        }
        let firing = Firing { rule: RuleId(1), key: "k".to_owned(), actions };
        let out = effects(&firing, "r", &snapshot, &plan(), &TemplateData::default(), T0);
        let mut current = set_to.map_or(start, |index| Level::ALL[index]);
        let mut raised = out.iter().filter_map(|effect| match effect {
            Effect::SetPriority { to, .. } => Some(*to),
            _ => None,
        });
        if set_to.is_some_and(|index| Level::ALL[index] != start) {
            prop_assert_eq!(raised.next(), Some(current));
        }
        let raised: Vec<Level> = raised.collect();
        for to in &raised {
            prop_assert!(*to > current, "{:?} after {:?}", to, current);
            current = *to;
        }
        let expected_raises = (3 - set_to.map_or(rank, |index| index)).min(raises);
        prop_assert_eq!(raised.len(), expected_raises);
    }
}
