//! Escalation on a clock the test moves: rules fire once each, escalate
//! level by level (L1, L2, L3, then the on-call supervisor), and a restart
//! between the warning and the breach loses no timer.

use std::time::Duration;

use rapport_core::rules::{EscalationPlan, Rule};
use rapport_core::{AgentId, Author, CustomerId, MessageKind, Role, TeamId, TicketId, Timestamp};
use rapport_server::ServerConfig;
use rapport_server::settings::AutomationSettings;
use rapport_store::NewMessage;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn instant(text: &str) -> Timestamp {
    Timestamp(text.parse::<jiff::Timestamp>().unwrap().as_millisecond())
}

/// The background loop at a brisk pace, so the test waits milliseconds.
fn brisk() -> ServerConfig {
    let automation = AutomationSettings {
        tick: Duration::from_millis(20),
        timer_every: Duration::from_millis(40),
        ..AutomationSettings::default()
    };
    ServerConfig { automation, ..ServerConfig::default() }
}

fn rule(value: Value) -> Rule {
    serde_json::from_value(value).unwrap()
}

/// The ticket's escalation events as (from, to).
async fn escalations(app: &TestApp, ticket: i64) -> Vec<(i64, i64)> {
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["type"] == "escalation_changed")
        .map(|event| (event["from"].as_i64().unwrap(), event["to"].as_i64().unwrap()))
        .collect()
}

/// Waits (up to 10 s) until the ticket has `count` escalations.
async fn wait_for_escalations(app: &TestApp, ticket: i64, count: usize) -> Vec<(i64, i64)> {
    for _ in 0..500 {
        let seen = escalations(app, ticket).await;
        if seen.len() >= count {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("ticket {ticket} did not reach {count} escalations: {:?}", escalations(app, ticket).await);
}

/// Lets the background loop run several timer passes and job rounds.
async fn let_it_run() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

#[tokio::test]
async fn rules_fire_once_escalate_level_by_level_and_survive_a_restart() {
    // Monday 23 November 2026 10:00 UTC; email: first response within six
    // business hours (Mon-Fri 09-17), so 50% is at 13:00 and the breach at 16:00.
    let mut app = spawn_app_at(brisk(), instant("2026-11-23T10:00:00Z")).await;
    let (l1, l2, l3) = (app.team("L1").await, app.team("L2").await, app.team("L3").await);
    let supervisor = app.agent(Role::Supervisor, &[]).await;
    let plan = EscalationPlan {
        levels: vec![Some(TeamId(l1)), Some(TeamId(l2)), Some(TeamId(l3))],
        on_call: Some(AgentId(supervisor.id)),
    };
    app.store.put_escalation_plan(plan, rapport_core::Actor::System, now()).await.unwrap();
    let now = app.clock.now();
    let rules = [
        json!({ "name": "Unowned for two hours", "trigger": { "type": "no_owner", "minutes": 120 },
                "actions": [{ "type": "escalate" }, { "type": "create_task", "title": "Find an owner", "due_minutes": 30 }] }),
        json!({ "name": "Half the first-response time gone", "trigger": { "type": "target_percent", "target": "first_response", "percent": 50 },
                "actions": [{ "type": "notify_owner", "message": "Ticket {{ticket.id}} is half-way to its first-response target" }, { "type": "escalate" }] }),
        json!({ "name": "First response breached", "trigger": { "type": "target_breached", "target": "first_response" },
                "actions": [{ "type": "escalate" }, { "type": "raise_priority" },
                            { "type": "send_update", "template": "Sorry for the wait, {{customer.name}}: we are on ticket {{ticket.id}}." }] }),
        json!({ "name": "Customer chases", "trigger": { "type": "event", "event": "customer_replied" },
                "conditions": [{ "field": "escalation_level", "op": "at_least", "value": 3 }],
                "actions": [{ "type": "escalate" }, { "type": "add_tag", "tag": "chased" }] }),
    ];
    for value in rules {
        app.store.insert_rule(rule(value), None, rapport_core::Actor::System, now).await.unwrap();
    }
    let ticket = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    let id = id(&ticket);
    let_it_run().await;
    assert!(escalations(&app, id).await.is_empty(), "nothing is due at 10:00");

    // 12:00:01: unowned for two hours → L1, and a task.
    app.clock.set(instant("2026-11-23T12:00:01Z"));
    assert_eq!(wait_for_escalations(&app, id, 1).await, vec![(0, 1)]);
    let tasks = app.store.list_tasks(TicketId(id)).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].title, "Find an owner");

    // 13:00:01: half-way → the on-call supervisor hears (no owner) and L2.
    app.clock.set(instant("2026-11-23T13:00:01Z"));
    assert_eq!(wait_for_escalations(&app, id, 2).await, vec![(0, 1), (1, 2)]);
    let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["team"], l2);
    let notes = app.store.list_notifications(AgentId(supervisor.id), 10).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].message, format!("Ticket {id} is half-way to its first-response target"));

    // A restart between the warning and the breach.
    app.restart().await;
    let_it_run().await;
    assert_eq!(escalations(&app, id).await.len(), 2, "the restart fires nothing again");

    // 16:00:01: breached → L3, priority raised, the customer told.
    app.clock.set(instant("2026-11-23T16:00:01Z"));
    assert_eq!(wait_for_escalations(&app, id, 3).await, vec![(0, 1), (1, 2), (2, 3)]);
    let_it_run().await;
    let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["team"], l3);
    assert_eq!(detail["priority"], "normal", "basic × normal is low; raised one step: {detail}");
    let updates: Vec<&Value> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| message["kind"] == "reply" && message["author"]["type"] == "system")
        .collect();
    assert_eq!(updates.len(), 1, "{detail}");
    assert_eq!(updates[0]["text"], format!("Sorry for the wait, Ann Example: we are on ticket {id}."));
    assert_eq!(detail["sla"]["targets"][0]["state"], "breached", "an automatic update is not a response");

    // The customer chases at L3: beyond the last level, the on-call supervisor hears.
    let customer = CustomerId(ticket["customer"].as_i64().unwrap());
    let message = NewMessage {
        kind: MessageKind::Inbound,
        author: Author::Customer(customer),
        text: "Any news?".into(),
        html: None,
        attachments: vec![],
        origin: Default::default(),
        now: app.clock.now(),
    };
    app.store.add_message(TicketId(id), None, message).await.unwrap();
    for _ in 0..500 {
        if app.store.list_notifications(AgentId(supervisor.id), 10).await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let notes = app.store.list_notifications(AgentId(supervisor.id), 10).await.unwrap();
    assert_eq!(notes.len(), 2, "{notes:?}");
    let detail = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["tags"], json!(["chased"]));

    // Days later, every rule has fired exactly once.
    app.clock.set(instant("2026-11-26T12:00:00Z"));
    let_it_run().await;
    assert_eq!(escalations(&app, id).await.len(), 3);
    assert_eq!(app.store.list_notifications(AgentId(supervisor.id), 10).await.unwrap().len(), 2);
    assert_eq!(app.store.list_tasks(TicketId(id)).await.unwrap().len(), 1);
    let counts = app.store.job_counts().await.unwrap();
    assert_eq!((counts.done, counts.queued, counts.failed), (4, 0, 0), "{counts:?}");
}
