//! What fires: each trigger, the keys, disabled and uncompilable rules.

use super::*;

fn rules(list: Vec<Rule>) -> Vec<(RuleId, Rule)> {
    list.into_iter().enumerate().map(|(index, rule)| (RuleId(index as i64 + 1), rule)).collect()
}

#[test]
fn events_fire_matching_rules_with_the_event_key() {
    let mut urgent_only = rule("urgent", on("customer_replied"), vec![notify()]);
    urgent_only.conditions = vec![condition(Field::Priority, Op::Is, word("urgent"))];
    let set = rules(vec![
        rule("reply", on("customer_replied"), vec![notify()]),
        rule("reopen", on("reopened"), vec![Action::RaisePriority]),
        urgent_only,
        rule("reply again", on("customer_replied"), vec![Action::Escalate]),
    ]);
    let firings = on_event(&set, &ticket(), "customer_replied", 77);
    assert_eq!(keys(&firings), vec![(1, "event:77"), (4, "event:77")]);
    assert_eq!(firings[1].actions, vec![Action::Escalate]);
    assert!(on_event(&set, &ticket(), "solved", 78).is_empty());
}

#[test]
fn disabled_rules_never_fire() {
    let mut off = rule("off", on("created"), vec![notify()]);
    off.enabled = false;
    let mut off_timer = rule("off timer", RuleTrigger::NoOwner { minutes: 1 }, vec![notify()]);
    off_timer.enabled = false;
    let set = rules(vec![off, off_timer]);
    let mut unowned = ticket();
    unowned.owner = None;
    assert!(on_event(&set, &unowned, "created", 1).is_empty());
    assert!(on_timer(&set, &unowned, &[], T0.plus_millis(DAY)).is_empty());
    assert!(CompiledRules::new(&set).is_empty());
}

#[test]
fn uncompilable_rules_are_set_aside() {
    let mut broken = rule("broken", on("created"), vec![notify()]);
    broken.conditions = vec![condition(Field::Status, Op::Is, word("asleep"))];
    let set = rules(vec![broken, rule("fine", on("created"), vec![notify()])]);
    let compiled = CompiledRules::new(&set);
    assert_eq!(compiled.len(), 1);
    assert_eq!(compiled.rejected().len(), 1);
    assert_eq!(compiled.rejected()[0].0, RuleId(1));
    assert_eq!(compiled.rejected()[0].1.field, "conditions[0].value");
    assert_eq!(keys(&compiled.on_event(&ticket(), "created", 5)), vec![(2, "event:5")]);
}

#[test]
fn target_percent_fires_once_reached_while_running_and_unbreached() {
    let trigger = RuleTrigger::TargetPercent { target: TargetKind::FirstResponse, percent: 75 };
    let set = CompiledRules::new(&rules(vec![rule("warn", trigger, vec![notify()])]));
    let fires = |progress: TargetProgress| keys(&set.on_timer(&ticket(), &[progress], T0)).len();
    assert_eq!(fires(progress(TargetKind::FirstResponse, 2699)), 0);
    assert_eq!(fires(progress(TargetKind::FirstResponse, 2700)), 1);
    assert_eq!(fires(progress(TargetKind::Resolution, 3000)), 0, "another target");
    assert_eq!(fires(TargetProgress { running: false, ..progress(TargetKind::FirstResponse, 3000) }), 0);
    assert_eq!(fires(TargetProgress { met: true, ..progress(TargetKind::FirstResponse, 3000) }), 0);
    assert_eq!(fires(progress(TargetKind::FirstResponse, 3601)), 0, "already breached: no warning");
    let firings = set.on_timer(&ticket(), &[progress(TargetKind::FirstResponse, 3000)], T0);
    assert_eq!(firings[0].key, format!("first_response:{}:75%", T0.millis()));
}

#[test]
fn target_breached_fires_while_unmet_and_keys_follow_the_cycle() {
    let trigger = RuleTrigger::TargetBreached { target: TargetKind::NextResponse };
    let set = CompiledRules::new(&rules(vec![rule("breach", trigger, vec![Action::Escalate])]));
    let late = progress(TargetKind::NextResponse, 4000);
    let firings = set.on_timer(&ticket(), &[late], T0.plus_millis(DAY));
    assert_eq!(keys(&firings), vec![(1, "next_response:1763283600000:breached")]);
    assert!(set.on_timer(&ticket(), &[TargetProgress { met: true, ..late }], T0).is_empty());
    assert!(set.on_timer(&ticket(), &[progress(TargetKind::NextResponse, 100)], T0).is_empty());
    // A new next-response cycle is a new key: the rule fires again.
    let next_cycle = TargetProgress { cycle_start: T0.plus_millis(DAY), ..late };
    let again = set.on_timer(&ticket(), &[next_cycle], T0.plus_millis(2 * DAY));
    assert_eq!(again[0].key, format!("next_response:{}:breached", T0.plus_millis(DAY).millis()));
}

#[test]
fn no_owner_fires_after_the_minutes_on_unsolved_tickets() {
    let set = CompiledRules::new(&rules(vec![rule("orphan", RuleTrigger::NoOwner { minutes: 30 }, vec![notify()])]));
    let mut unowned = ticket();
    unowned.owner = None;
    unowned.unowned_since = Some(T0.plus_millis(10 * MINUTE));
    assert!(set.on_timer(&unowned, &[], T0.plus_millis(39 * MINUTE)).is_empty());
    let firings = set.on_timer(&unowned, &[], T0.plus_millis(40 * MINUTE));
    assert_eq!(firings[0].key, format!("no_owner:{}", T0.plus_millis(10 * MINUTE).millis()));
    assert!(set.on_timer(&ticket(), &[], T0.plus_millis(DAY)).is_empty(), "owned");
    let solved = TicketSnapshot { status: Status::Solved, ..unowned.clone() };
    assert!(set.on_timer(&solved, &[], T0.plus_millis(DAY)).is_empty(), "solved");
    // Unowned without a recorded start counts from creation.
    let never_owned = TicketSnapshot { unowned_since: None, ..unowned };
    let firings = set.on_timer(&never_owned, &[], T0.plus_millis(30 * MINUTE));
    assert_eq!(firings[0].key, format!("no_owner:{}", T0.millis()));
}

#[test]
fn pending_for_fires_after_the_days() {
    let set = CompiledRules::new(&rules(vec![rule("nudge", RuleTrigger::PendingFor { days: 3 }, vec![notify()])]));
    let pending = TicketSnapshot { status: Status::Pending, pending_since: Some(T0), ..ticket() };
    assert!(set.on_timer(&pending, &[], T0.plus_millis(3 * DAY - 1)).is_empty());
    let firings = set.on_timer(&pending, &[], T0.plus_millis(3 * DAY));
    assert_eq!(keys(&firings), vec![(1, "pending:1763283600000")]);
    let open = TicketSnapshot { status: Status::Open, ..pending };
    assert!(set.on_timer(&open, &[], T0.plus_millis(9 * DAY)).is_empty());
}

#[test]
fn timer_rules_respect_conditions_and_ignore_events() {
    let mut premium_only = rule("premium", RuleTrigger::PendingFor { days: 1 }, vec![notify()]);
    premium_only.conditions = vec![condition(Field::Tier, Op::Is, word("premium"))];
    let set = CompiledRules::new(&rules(vec![premium_only, rule("event", on("created"), vec![notify()])]));
    assert!(set.has_timer_rules());
    let pending = TicketSnapshot { status: Status::Pending, pending_since: Some(T0), ..ticket() };
    assert!(set.on_timer(&pending, &[], T0.plus_millis(2 * DAY)).is_empty());
    let premium = TicketSnapshot { tier: Tier("premium".to_owned()), ..pending };
    assert_eq!(keys(&set.on_timer(&premium, &[], T0.plus_millis(2 * DAY))).len(), 1);
}

/// The timer pass at the scale the store runs it: 50 rules over 100,000
/// tickets. No timing assertion; it checks that the pass completes and that
/// the firings add up. Built with `--release`, the pass takes milliseconds.
#[test]
fn fifty_rules_over_a_hundred_thousand_tickets() {
    let mut list = Vec::new();
    for index in 0..50i64 {
        let trigger = match index % 5 {
            0 => RuleTrigger::TargetPercent { target: TargetKind::FirstResponse, percent: 50 },
            1 => RuleTrigger::TargetBreached { target: TargetKind::Resolution },
            2 => RuleTrigger::NoOwner { minutes: 60 },
            3 => RuleTrigger::PendingFor { days: 2 },
            _ => on("customer_replied"),
        };
        let mut scaled = rule(&format!("rule {index}"), trigger, vec![notify()]);
        scaled.conditions = vec![
            condition(Field::Status, Op::NotIn, words(&["solved", "closed"])),
            condition(Field::Priority, Op::AtLeast, word(if index % 2 == 0 { "low" } else { "urgent" })),
            condition(Field::Tags, Op::NotContains, word("spam")),
        ];
        list.push(scaled);
    }
    let set = CompiledRules::new(&rules(list));
    assert_eq!(set.len(), 50);
    let now = T0.plus_millis(DAY);
    let base = ticket();
    let mut fired = 0usize;
    for id in 0..100_000i64 {
        let mut snapshot = base.clone();
        snapshot.id = TicketId(id);
        snapshot.priority = Level::ALL[(id % 4) as usize];
        snapshot.owner = if id % 3 == 0 { None } else { Some(AgentId(10)) };
        let targets = [progress(TargetKind::FirstResponse, id % 3600), progress(TargetKind::Resolution, id % 7200)];
        fired += set.on_timer(&snapshot, &targets, now).len();
    }
    // Even rules hold for every priority, odd ones only for urgent (id % 4 == 3):
    // percent (10 rules): 5 even always + 5 odd when urgent, when 50 <= elapsed% < 100.
    let mut expected = 0usize;
    for id in 0..100_000i64 {
        let urgent = id % 4 == 3;
        let per_kind = |count_even: usize, count_odd: usize| count_even + if urgent { count_odd } else { 0 };
        let first = id % 3600;
        if first * 100 >= 3600 * 50 {
            expected += per_kind(5, 5);
        }
        if id % 7200 > 3600 {
            expected += per_kind(5, 5);
        }
        if id % 3 == 0 {
            expected += per_kind(5, 5);
        }
    }
    assert_eq!(fired, expected);
}

#[test]
fn only_unseen_firings_are_built() {
    let trigger = RuleTrigger::TargetBreached { target: TargetKind::NextResponse };
    let set = CompiledRules::new(&rules(vec![rule("breach", trigger, vec![Action::Escalate])]));
    let late = progress(TargetKind::NextResponse, 4000);
    let now = T0.plus_millis(DAY);
    let mut seen = std::collections::HashSet::new();
    let first = set.on_timer_unseen(&ticket(), &[late], now, |rule, key| seen.insert((rule, *key)));
    assert_eq!(first, set.on_timer(&ticket(), &[late], now));
    assert_eq!(seen.len(), 1);
    let again = set.on_timer_unseen(&ticket(), &[late], now, |rule, key| seen.insert((rule, *key)));
    assert!(again.is_empty(), "a firing already seen is not built again");
    let next_cycle = TargetProgress { cycle_start: T0.plus_millis(DAY), ..late };
    let fresh = set.on_timer_unseen(&ticket(), &[next_cycle], now, |rule, key| seen.insert((rule, *key)));
    assert_eq!(fresh.len(), 1, "a new cycle is a new key");
}
