//! `validate` and `EscalationPlan::validate`: each error names its field.

use super::*;

fn field_of(rule: &Rule) -> String {
    validate(rule, &known()).unwrap_err().field
}

fn error_of(rule: &Rule) -> RuleError {
    validate(rule, &known()).unwrap_err()
}

#[test]
fn a_good_rule_passes() {
    let mut good = rule("Urgent on reply", on("customer_replied"), vec![Action::RaisePriority, notify()]);
    good.conditions = vec![
        condition(Field::Status, Op::In, words(&["open", "pending"])),
        condition(Field::Team, Op::Is, ConditionValue::Number(2)),
        condition(Field::Owner, Op::Is, word("none")),
        condition(Field::Priority, Op::AtLeast, word("high")),
        condition(Field::Tags, Op::NotContains, word("vip")),
        condition(Field::Reopens, Op::AtMost, ConditionValue::Number(3)),
    ];
    assert_eq!(validate(&good, &known()), Ok(()));
}

#[test]
fn names_must_be_present_and_short() {
    let blank = rule("  ", on("created"), vec![notify()]);
    assert_eq!(error_of(&blank), RuleError::new("name", "must not be blank"));
    let long = rule(&"x".repeat(201), on("created"), vec![notify()]);
    assert_eq!(field_of(&long), "name");
    assert!(error_of(&long).problem.contains("200"));
    assert_eq!(validate(&rule(&"é".repeat(200), on("created"), vec![notify()]), &known()), Ok(()));
}

#[test]
fn trigger_fields_are_checked() {
    let unknown = rule("r", on("exploded"), vec![notify()]);
    let error = error_of(&unknown);
    assert_eq!(error.field, "trigger.event");
    assert!(error.problem.contains("\"exploded\""), "{error}");
    // A later capability's word is fine once it is known.
    let events = [EVENT_WORDS, &["call_missed"]].concat();
    let later = rule("r", on("call_missed"), vec![notify()]);
    assert_eq!(validate(&later, &Known { events: &events, ..known() }), Ok(()));

    for percent in [0, 100, 250] {
        let trigger = RuleTrigger::TargetPercent { target: TargetKind::Resolution, percent };
        assert_eq!(field_of(&rule("r", trigger, vec![notify()])), "trigger.percent");
    }
    assert_eq!(field_of(&rule("r", RuleTrigger::NoOwner { minutes: 0 }, vec![notify()])), "trigger.minutes");
    assert_eq!(field_of(&rule("r", RuleTrigger::PendingFor { days: -1 }, vec![notify()])), "trigger.days");
}

#[test]
fn operators_must_fit_the_field() {
    let cases = [
        (Field::Status, Op::AtLeast, word("open")),
        (Field::Tags, Op::Is, word("vip")),
        (Field::Reopens, Op::Contains, ConditionValue::Number(1)),
        (Field::Channel, Op::AtMost, word("email")),
    ];
    for (field, op, value) in cases {
        let mut bad = rule("r", on("created"), vec![notify()]);
        bad.conditions = vec![condition(Field::Priority, Op::Is, word("high")), condition(field, op, value)];
        assert_eq!(field_of(&bad), "conditions[1].op", "{field:?} {op:?}");
    }
}

#[test]
fn condition_values_must_parse() {
    let cases = [
        (Field::Status, Op::Is, word("asleep")),
        (Field::Status, Op::In, words(&[])),
        (Field::Priority, Op::Is, word("critical")),
        (Field::Urgency, Op::AtLeast, ConditionValue::Number(2)),
        (Field::Channel, Op::In, words(&["email", "pigeon"])),
        (Field::Team, Op::Is, word("everyone")),
        (Field::Team, Op::In, ConditionValue::Numbers(vec![])),
        (Field::Owner, Op::In, words(&["bob"])),
        (Field::Tier, Op::Is, word(" ")),
        (Field::Tags, Op::Contains, word("Two Words")),
        (Field::Reopens, Op::AtLeast, ConditionValue::Number(-1)),
        (Field::Messages, Op::Is, word("many")),
        (Field::EscalationLevel, Op::Is, ConditionValue::Number(4)),
    ];
    for (field, op, value) in cases {
        let mut bad = rule("r", on("created"), vec![notify()]);
        bad.conditions = vec![condition(field, op, value.clone())];
        assert_eq!(field_of(&bad), "conditions[0].value", "{field:?} {op:?} {value:?}");
    }
}

#[test]
fn condition_ids_must_exist() {
    let mut bad = rule("r", on("created"), vec![notify()]);
    bad.conditions = vec![condition(Field::Team, Op::In, ConditionValue::Numbers(vec![1, 7]))];
    assert_eq!(error_of(&bad), RuleError::new("conditions[0].value", "team 7 does not exist"));
    bad.conditions = vec![condition(Field::Owner, Op::IsNot, ConditionValue::Number(12))];
    assert_eq!(error_of(&bad), RuleError::new("conditions[0].value", "agent 12 does not exist"));
}

#[test]
fn actions_are_required_and_checked() {
    assert_eq!(field_of(&rule("r", on("created"), vec![])), "actions");
    let move_to = |team| Action::MoveToTeam { team: TeamId(team) };
    let bad_team = rule("r", on("created"), vec![notify(), Action::RaisePriority, move_to(7)]);
    assert_eq!(error_of(&bad_team), RuleError::new("actions[2].team", "team 7 does not exist"));
    assert_eq!(error_of(&bad_team).to_string(), "actions[2].team: team 7 does not exist");

    let cases = [
        (Action::SetEscalationLevel { level: 4 }, "actions[0].level"),
        (Action::AddTag { tag: "VIP".to_owned() }, "actions[0].tag"),
        (Action::AddTag { tag: String::new() }, "actions[0].tag"),
        (Action::SendUpdate { template: "Hi {{customer.email}}".to_owned() }, "actions[0].template"),
        (Action::SendUpdate { template: "Hi {{customer.name".to_owned() }, "actions[0].template"),
        (Action::SendUpdate { template: " ".to_owned() }, "actions[0].template"),
        (Action::NotifySupervisor { message: "{{ticket.owner}}".to_owned() }, "actions[0].message"),
        (Action::CreateTask { title: " ".to_owned(), due_minutes: 30 }, "actions[0].title"),
        (Action::CreateTask { title: "Call back".to_owned(), due_minutes: 0 }, "actions[0].due_minutes"),
    ];
    for (action, field) in cases {
        assert_eq!(field_of(&rule("r", on("created"), vec![action.clone()])), field, "{action:?}");
    }
}

#[test]
fn escalation_plans_are_checked() {
    assert_eq!(plan().validate(TEAMS, AGENTS), Ok(()));
    let four = EscalationPlan { levels: vec![None; 4], on_call: None };
    let error = four.validate(TEAMS, AGENTS).unwrap_err();
    assert_eq!(error.field, "levels");
    assert!(error.problem.contains("at most 3 levels"), "{error}");
    let ghost_team = EscalationPlan { levels: vec![Some(TeamId(2)), Some(TeamId(8))], on_call: None };
    assert_eq!(ghost_team.validate(TEAMS, AGENTS), Err(RuleError::new("levels[1]", "team 8 does not exist")));
    let ghost_agent = EscalationPlan { levels: vec![], on_call: Some(AgentId(5)) };
    assert_eq!(ghost_agent.validate(TEAMS, AGENTS).unwrap_err().field, "on_call");
}

#[test]
fn rules_read_from_json() {
    let json = r#"{
        "name": "Breach → raise",
        "trigger": {"type": "target_breached", "target": "first_response"},
        "conditions": [
            {"field": "status", "op": "in", "value": ["open", "new"]},
            {"field": "team", "op": "in", "value": [1, 2]},
            {"field": "reopens", "op": "at_least", "value": 2}
        ],
        "actions": [{"type": "raise_priority"}, {"type": "move_to_team", "team": 3}]
    }"#;
    let parsed: Rule = serde_json::from_str(json).unwrap();
    assert!(parsed.enabled, "enabled defaults to true");
    assert_eq!(parsed.trigger, RuleTrigger::TargetBreached { target: TargetKind::FirstResponse });
    assert_eq!(parsed.conditions[1].value, ConditionValue::Numbers(vec![1, 2]));
    assert_eq!(validate(&parsed, &known()), Ok(()));
    let round_trip: Rule = serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
    assert_eq!(round_trip, parsed);

    let extra = r#"{"name": "r", "trigger": {"type": "event", "event": "created"}, "actions": [], "color": 1}"#;
    assert!(serde_json::from_str::<Rule>(extra).is_err());
    let extra_in_action = r#"{"name": "r", "trigger": {"type": "event", "event": "created"},
        "actions": [{"type": "add_tag", "tag": "x", "colour": 1}]}"#;
    assert!(serde_json::from_str::<Rule>(extra_in_action).is_err());
    let extra_in_trigger = r#"{"name": "r", "trigger": {"type": "no_owner", "minutes": 5, "hours": 1}, "actions": []}"#;
    assert!(serde_json::from_str::<Rule>(extra_in_trigger).is_err());
}
