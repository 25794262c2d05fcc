//! Loops between rules.

use super::*;

fn raise_on_team_change() -> Rule {
    rule("raise on team change", on("team_changed"), vec![Action::RaisePriority])
}

fn move_on_priority_change() -> Rule {
    rule("move on priority change", on("priority_changed"), vec![notify(), Action::MoveToTeam { team: TeamId(2) }])
}

#[test]
fn a_two_rule_loop_is_named_in_order() {
    let (raise, mover) = (raise_on_team_change(), move_on_priority_change());
    let error = check_cycles(&[&raise, &mover]).unwrap_err();
    assert_eq!(error.rules, vec!["raise on team change", "move on priority change"]);
    assert_eq!(error.to_string(), "rules loop: raise on team change → move on priority change → raise on team change");
}

#[test]
fn a_rule_that_triggers_itself_is_a_loop() {
    let tagger = rule("tag on tag", on("tags_changed"), vec![Action::AddTag { tag: "x".to_owned() }]);
    assert_eq!(check_cycles(&[&tagger]).unwrap_err().rules, vec!["tag on tag"]);
    let escalator = rule("escalate on team", on("team_changed"), vec![Action::Escalate]);
    assert!(triggers(&escalator, &escalator));
    assert!(check_cycles(&[&escalator]).is_err());
}

#[test]
fn disabled_rules_timers_and_notifications_break_loops() {
    let mut raise = raise_on_team_change();
    let mover = move_on_priority_change();
    raise.enabled = false;
    assert_eq!(check_cycles(&[&raise, &mover]), Ok(()));
    let timer = rule(
        "raise when breached",
        RuleTrigger::TargetBreached { target: TargetKind::Resolution },
        vec![Action::RaisePriority],
    );
    let notifier = rule("tell on escalation", on("escalated"), vec![notify()]);
    let enabled_raise = raise_on_team_change();
    assert_eq!(check_cycles(&[&timer, &enabled_raise, &notifier]), Ok(()));
    assert_eq!(check_cycles(&[]), Ok(()));
}

#[test]
fn produced_events() {
    assert_eq!(Action::RaisePriority.produces(), ["priority_changed"]);
    assert_eq!(Action::SetPriority { priority: Level::High }.produces(), ["priority_changed"]);
    assert_eq!(Action::MoveToTeam { team: TeamId(1) }.produces(), ["team_changed"]);
    assert_eq!(Action::Escalate.produces(), ["escalated", "team_changed"]);
    assert_eq!(Action::SetEscalationLevel { level: 1 }.produces(), ["escalated", "team_changed"]);
    assert_eq!(Action::AddTag { tag: "x".to_owned() }.produces(), ["tags_changed"]);
    assert_eq!(Action::SendUpdate { template: "x".to_owned() }.produces(), ["update_sent"]);
    assert!(Action::CreateTask { title: "x".to_owned(), due_minutes: 1 }.produces().is_empty());
    assert!(notify().produces().is_empty());
    for action in [Action::RaisePriority, Action::Escalate, Action::AddTag { tag: "x".to_owned() }] {
        assert!(action.produces().iter().all(|word| EVENT_WORDS.contains(word)));
    }
}
