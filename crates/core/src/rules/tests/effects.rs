//! What actions do: escalation, notification fallbacks, priority, tags, tasks.

use super::*;

fn firing(actions: Vec<Action>) -> Firing {
    Firing { rule: RuleId(1), key: "event:1".to_owned(), actions }
}

fn data() -> TemplateData {
    TemplateData { subject: "Printer on fire".to_owned(), customer_name: "Ada".to_owned() }
}

fn run(actions: Vec<Action>, ticket: &TicketSnapshot, plan: &EscalationPlan) -> Vec<Effect> {
    effects(&firing(actions), "Hot ticket", ticket, plan, &data(), T0)
}

#[test]
fn escalation_climbs_the_levels_then_pages_on_call() {
    let mut ticket = ticket();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let out = run(vec![Action::Escalate], &ticket, &plan());
        if let [Effect::SetEscalationLevel { level, .. }] = out.as_slice() {
            ticket.escalation_level = *level;
        }
        seen.push(out);
    }
    assert_eq!(seen[0], vec![Effect::SetEscalationLevel { level: 1, team: Some(TeamId(2)) }]);
    assert_eq!(seen[1], vec![Effect::SetEscalationLevel { level: 2, team: Some(TeamId(3)) }]);
    assert_eq!(seen[2], vec![Effect::SetEscalationLevel { level: 3, team: None }]);
    let [Effect::Notify { agent, message }] = seen[3].as_slice() else { panic!("{:?}", seen[3]) };
    assert_eq!(*agent, AgentId(99));
    assert!(message.contains("#1234") && message.contains("Hot ticket"), "{message}");
    // Without anyone on call, escalating past the end does nothing.
    let nobody = EscalationPlan { on_call: None, ..plan() };
    assert!(run(vec![Action::Escalate], &ticket, &nobody).is_empty());
}

#[test]
fn actions_apply_in_sequence() {
    let out =
        run(vec![Action::Escalate, Action::Escalate, Action::RaisePriority, Action::RaisePriority], &ticket(), &plan());
    assert_eq!(
        out,
        vec![
            Effect::SetEscalationLevel { level: 1, team: Some(TeamId(2)) },
            Effect::SetEscalationLevel { level: 2, team: Some(TeamId(3)) },
            Effect::SetPriority { to: Level::High, reason: "rule “Hot ticket”".to_owned() },
            Effect::SetPriority { to: Level::Urgent, reason: "rule “Hot ticket”".to_owned() },
        ]
    );
}

#[test]
fn set_escalation_level_uses_the_plan_team() {
    let out = run(vec![Action::SetEscalationLevel { level: 2 }], &ticket(), &plan());
    assert_eq!(out, vec![Effect::SetEscalationLevel { level: 2, team: Some(TeamId(3)) }]);
    let reset = TicketSnapshot { escalation_level: 2, ..ticket() };
    assert_eq!(
        run(vec![Action::SetEscalationLevel { level: 0 }], &reset, &plan()),
        vec![Effect::SetEscalationLevel { level: 0, team: None }]
    );
    assert!(run(vec![Action::SetEscalationLevel { level: 2 }], &reset, &plan()).is_empty());
}

#[test]
fn notify_owner_falls_back_to_on_call() {
    let action = || vec![Action::NotifyOwner { message: "#{{ticket.id}} is {{ticket.priority}}".to_owned() }];
    let owned = run(action(), &ticket(), &plan());
    assert_eq!(owned, vec![Effect::Notify { agent: AgentId(10), message: "#1234 is normal".to_owned() }]);
    let unowned = TicketSnapshot { owner: None, ..ticket() };
    let fallback = run(action(), &unowned, &plan());
    assert_eq!(fallback, vec![Effect::Notify { agent: AgentId(99), message: "#1234 is normal".to_owned() }]);
    assert!(run(action(), &unowned, &EscalationPlan::default()).is_empty());
    let supervisor = run(vec![Action::NotifySupervisor { message: "look".to_owned() }], &ticket(), &plan());
    assert_eq!(supervisor, vec![Effect::Notify { agent: AgentId(99), message: "look".to_owned() }]);
}

#[test]
fn raise_priority_is_capped_and_set_priority_skips_no_ops() {
    let urgent = TicketSnapshot { priority: Level::Urgent, ..ticket() };
    assert!(run(vec![Action::RaisePriority], &urgent, &plan()).is_empty());
    let low = TicketSnapshot { priority: Level::Low, ..ticket() };
    assert_eq!(
        run(vec![Action::RaisePriority], &low, &plan()),
        vec![Effect::SetPriority { to: Level::Normal, reason: "rule “Hot ticket”".to_owned() }]
    );
    assert!(run(vec![Action::SetPriority { priority: Level::Normal }], &ticket(), &plan()).is_empty());
    assert_eq!(run(vec![Action::SetPriority { priority: Level::Low }], &ticket(), &plan()).len(), 1);
}

#[test]
fn team_tag_update_and_task() {
    let actions = vec![
        Action::MoveToTeam { team: TeamId(1) },
        Action::MoveToTeam { team: TeamId(2) },
        Action::AddTag { tag: "billing".to_owned() },
        Action::AddTag { tag: "escalated".to_owned() },
        Action::AddTag { tag: "escalated".to_owned() },
        Action::SendUpdate { template: "Hello {{customer.name}}, about “{{ticket.subject}}”".to_owned() },
        Action::CreateTask { title: "Call the customer".to_owned(), due_minutes: 90 },
    ];
    assert_eq!(
        run(actions, &ticket(), &plan()),
        vec![
            Effect::SetTeam(TeamId(2)),
            Effect::AddTag("escalated".to_owned()),
            Effect::SendUpdate { text: "Hello Ada, about “Printer on fire”".to_owned() },
            Effect::CreateTask { title: "Call the customer".to_owned(), due_at: T0.plus_millis(90 * MINUTE) },
        ]
    );
}
