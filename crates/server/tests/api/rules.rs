//! Escalation rules over HTTP: the rules' round trip and their refusals
//! naming the field (loops between rules included), who may change them,
//! the escalation plan, notifications private to their agent, and the tasks
//! a rule leaves on a ticket.
//!
//! Rule jobs are queued, claimed and run through the store by hand, on a
//! server whose background automation is off, so nothing else claims them.

use rapport_core::rules::{Action, Firing, RuleId};
use rapport_core::{Role, TicketId, Timestamp};
use rapport_server::ServerConfig;
use rapport_server::settings::AutomationSettings;
use rapport_store::{JobOutcome, rule_job};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Monday 23 November 2026, 10:00 UTC.
const T0: Timestamp = Timestamp(1_795_428_000_000);

/// A server on a clock standing at [`T0`], with the background automation off.
async fn spawn_quiet_app() -> TestApp {
    let automation = AutomationSettings { enabled: false, ..AutomationSettings::default() };
    spawn_app_at(ServerConfig { automation, ..ServerConfig::default() }, T0).await
}

/// A rule body on an event word.
fn rule(name: &str, event: &str, actions: Value) -> Value {
    json!({ "name": name, "trigger": { "type": "event", "event": event }, "actions": actions })
}

/// Queues one job per firing of rule `rule` on `ticket`, claims them all
/// and runs them, asserting each is done.
async fn run_firings(app: &TestApp, ticket: i64, rule: i64, firings: &[(&str, Vec<Action>)]) {
    let now = app.clock.now();
    let jobs = firings
        .iter()
        .map(|(key, actions)| {
            let firing = Firing { rule: RuleId(rule), key: (*key).to_owned(), actions: actions.clone() };
            rule_job(TicketId(ticket), &firing, "Test rule", now).unwrap()
        })
        .collect();
    assert_eq!(app.store.enqueue_jobs(jobs, now).await.unwrap(), firings.len());
    let claimed = app.store.claim_jobs("test-worker", 10, 60_000, now).await.unwrap();
    assert_eq!(claimed.len(), firings.len(), "only the queued jobs are due");
    for job in claimed {
        assert_eq!(app.store.run_job("test-worker", job, now).await.unwrap(), JobOutcome::Done);
    }
}

#[tokio::test]
async fn rules_are_created_listed_moved_replaced_and_deleted() {
    let app = spawn_app().await;
    let tier2 = app.team("Tier 2").await;
    let agent = app.agent(Role::Agent, &[]).await;
    let supervisor = app.agent(Role::Supervisor, &[]).await;
    assert_eq!(app.get("/api/v1/rules", &agent).await.expect(StatusCode::OK), json!({ "rules": [] }));

    let breach = json!({
        "name": "Breached first response",
        "trigger": { "type": "target_breached", "target": "first_response" },
        "conditions": [{ "field": "priority", "op": "at_least", "value": "high" }],
        "actions": [{ "type": "move_to_team", "team": tier2 }, { "type": "notify_supervisor", "message": "{{ticket.id}} is late" }],
    });
    let first = app.post("/api/v1/rules", &supervisor, &breach).await.expect(StatusCode::CREATED);
    assert_eq!(first["position"], 0);
    assert_eq!(first["enabled"], true, "rules are enabled unless told otherwise");
    for key in ["name", "trigger", "conditions", "actions"] {
        assert_eq!(first[key], breach[key], "{key} as sent");
    }
    assert!(first["updated_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{first}");
    let second = app
        .post(
            "/api/v1/rules",
            &app.admin,
            &rule("Tag replies", "customer_replied", json!([{ "type": "add_tag", "tag": "replied" }])),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(second["position"], 1, "last in the order by default");
    let early = rule("Raise on reopen", "reopened", json!([{ "type": "raise_priority" }]));
    let early = app.post("/api/v1/rules?position=-1", &app.admin, &early).await.expect(StatusCode::CREATED);
    assert_eq!(early["position"], -1);

    let listed = app.get("/api/v1/rules", &agent).await.expect(StatusCode::OK);
    assert_eq!(ids(&listed, "rules"), vec![id(&early), id(&first), id(&second)], "in position order");
    assert_eq!(listed["rules"][1], first, "the list shows what the create answered");

    let path = format!("/api/v1/rules/{}", id(&second));
    let mut replaced = rule("Tag replies", "customer_replied", json!([{ "type": "add_tag", "tag": "answered" }]));
    replaced["enabled"] = json!(false);
    let updated = app.put(&path, &supervisor, &replaced).await.expect(StatusCode::OK);
    assert_eq!(
        (updated["id"].clone(), updated["position"].clone()),
        (second["id"].clone(), json!(1)),
        "keeps its place"
    );
    assert_eq!((updated["enabled"].clone(), updated["actions"][0]["tag"].clone()), (json!(false), json!("answered")));
    let moved = app.put(&format!("{path}?position=-5"), &supervisor, &replaced).await.expect(StatusCode::OK);
    assert_eq!(moved["position"], -5);
    let listed = app.get("/api/v1/rules", &agent).await.expect(StatusCode::OK);
    assert_eq!(ids(&listed, "rules"), vec![id(&second), id(&early), id(&first)]);
    app.put(&format!("{path}?position=first"), &supervisor, &replaced).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("position"),
    );
    app.put("/api/v1/rules/999999", &supervisor, &replaced).await.assert_error(
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    assert_eq!(app.delete(&path, &supervisor).await.status, StatusCode::NO_CONTENT);
    app.delete(&path, &supervisor).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    let listed = app.get("/api/v1/rules", &agent).await.expect(StatusCode::OK);
    assert_eq!(ids(&listed, "rules"), vec![id(&early), id(&first)]);
}

#[tokio::test]
async fn agents_read_rules_and_the_plan_but_only_supervisors_and_admins_change_them() {
    let app = spawn_app().await;
    let agent = app.agent(Role::Agent, &[]).await;
    let body = rule("Hurry", "customer_replied", json!([{ "type": "raise_priority" }]));
    let stored = app.post("/api/v1/rules", &app.admin, &body).await.expect(StatusCode::CREATED);
    let path = format!("/api/v1/rules/{}", id(&stored));
    let plan = json!({ "levels": [], "on_call": agent.id });

    let refusals = [
        app.post("/api/v1/rules", &agent, &rule("Other", "created", json!([{ "type": "raise_priority" }]))).await,
        app.put(&path, &agent, &body).await,
        app.delete(&path, &agent).await,
        app.put("/api/v1/escalation", &agent, &plan).await,
    ];
    for reply in refusals {
        reply.assert_error(StatusCode::FORBIDDEN, "forbidden", None);
    }
    let listed = app.get("/api/v1/rules", &agent).await.expect(StatusCode::OK);
    assert_eq!(listed["rules"], json!([stored]), "nothing changed, and an agent may read");
    let read = app.get("/api/v1/escalation", &agent).await.expect(StatusCode::OK);
    assert_eq!(read, json!({ "levels": [], "on_call": null }), "the plan is unchanged and readable");
    let anonymous = app.send(app.request(reqwest::Method::GET, "/api/v1/rules", None)).await;
    anonymous.assert_error(StatusCode::UNAUTHORIZED, "unauthorized", None);
}

#[tokio::test]
async fn bad_rules_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let raise = json!([{ "type": "raise_priority" }]);
    let percent = |percent: i64| {
        json!({
            "name": "Nearly late",
            "trigger": { "type": "target_percent", "target": "resolution", "percent": percent },
            "actions": [{ "type": "raise_priority" }],
        })
    };
    let mut unknown_field = rule("Colourful", "created", raise.clone());
    unknown_field["colour"] = json!("red");
    let cases = [
        (rule("Missing team", "created", json!([{ "type": "move_to_team", "team": 999 }])), "actions[0].team"),
        (percent(0), "trigger.percent"),
        (percent(100), "trigger.percent"),
        (rule("Unheard of", "customer_sang", raise.clone()), "trigger.event"),
        (rule("Does nothing", "created", json!([])), "actions"),
        (
            rule("Bad update", "created", json!([{ "type": "send_update", "template": "Hi {{customer.shoe_size}}" }])),
            "actions[0].template",
        ),
        (
            rule("Bad note", "created", json!([{ "type": "notify_owner", "message": "See {{ticket.id" }])),
            "actions[0].message",
        ),
        (unknown_field, "colour"),
    ];
    for (body, field) in cases {
        let reply = app.post("/api/v1/rules", &app.admin, &body).await;
        reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some(field));
    }
    let listed = app.get("/api/v1/rules", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(listed["rules"], json!([]), "no refused rule was stored");

    let taken = app.post("/api/v1/rules", &app.admin, &rule("Hurry", "created", raise.clone())).await;
    let taken = taken.expect(StatusCode::CREATED);
    let again = app.post("/api/v1/rules", &app.admin, &rule("Hurry", "reopened", raise.clone())).await;
    again.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("name"));
    let other = app.post("/api/v1/rules", &app.admin, &rule("Other", "reopened", raise.clone())).await;
    let other_path = format!("/api/v1/rules/{}", id(&other.expect(StatusCode::CREATED)));
    let renamed = app.put(&other_path, &app.admin, &rule("Hurry", "reopened", raise.clone())).await;
    renamed.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("name"));
    // A rule keeps its own name when it is replaced.
    let path = format!("/api/v1/rules/{}", id(&taken));
    app.put(&path, &app.admin, &rule("Hurry", "solved", raise)).await.expect(StatusCode::OK);
}

#[tokio::test]
async fn rules_that_would_trigger_each_other_forever_are_refused_naming_both() {
    let app = spawn_app().await;
    let tier2 = app.team("Tier 2").await;
    // A: a team change raises the priority; B: a priority change moves the
    // ticket to Tier 2, which is a team change again.
    let a = rule("Urgent on transfer", "team_changed", json!([{ "type": "set_priority", "priority": "urgent" }]));
    app.post("/api/v1/rules", &app.admin, &a).await.expect(StatusCode::CREATED);
    let b = rule("Urgent to tier 2", "priority_changed", json!([{ "type": "move_to_team", "team": tier2 }]));
    let reply = app.post("/api/v1/rules", &app.admin, &b).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("actions"));
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("Urgent on transfer") && message.contains("Urgent to tier 2"), "{message}");

    // Saved disabled, B makes no loop; enabling it later is refused the same way.
    let mut disabled = b.clone();
    disabled["enabled"] = json!(false);
    let stored = app.post("/api/v1/rules", &app.admin, &disabled).await.expect(StatusCode::CREATED);
    let reply = app.put(&format!("/api/v1/rules/{}", id(&stored)), &app.admin, &b).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("actions"));
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("Urgent on transfer"), "{}", reply.text);
    let listed = app.get("/api/v1/rules", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(listed["rules"][1]["enabled"], false, "the refused update left the rule as it was");
}

#[tokio::test]
async fn the_escalation_plan_round_trips_and_bad_plans_name_the_field() {
    let app = spawn_app().await;
    let tier2 = app.team("Tier 2").await;
    let tier3 = app.team("Tier 3").await;
    let supervisor = app.agent(Role::Supervisor, &[]).await;
    let empty = app.get("/api/v1/escalation", &supervisor).await.expect(StatusCode::OK);
    assert_eq!(empty, json!({ "levels": [], "on_call": null }), "no plan saved yet");

    let plan = json!({ "levels": [tier2, null, tier3], "on_call": supervisor.id });
    assert_eq!(app.put("/api/v1/escalation", &supervisor, &plan).await.expect(StatusCode::OK), plan);
    assert_eq!(app.get("/api/v1/escalation", &app.admin).await.expect(StatusCode::OK), plan);

    let cases = [
        (json!({ "levels": [tier2, 999], "on_call": null }), "levels[1]"),
        (json!({ "levels": [], "on_call": 999_999 }), "on_call"),
        (json!({ "levels": [tier2, tier3, null, tier2], "on_call": null }), "levels"),
        (json!({ "levels": [], "on_call": null, "pager": "yes" }), "pager"),
        (json!({ "levels": ["tier2"], "on_call": null }), "levels[0]"),
    ];
    for (body, field) in cases {
        let reply = app.put("/api/v1/escalation", &app.admin, &body).await;
        reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some(field));
    }
    assert_eq!(app.get("/api/v1/escalation", &app.admin).await.expect(StatusCode::OK), plan, "refusals change nothing");
    let cleared = json!({ "levels": [], "on_call": null });
    assert_eq!(app.put("/api/v1/escalation", &app.admin, &cleared).await.expect(StatusCode::OK), cleared);
    assert_eq!(app.get("/api/v1/escalation", &app.admin).await.expect(StatusCode::OK), cleared);
}

#[tokio::test]
async fn notifications_are_private_to_their_agent() {
    let app = spawn_quiet_app().await;
    let supervisor = app.agent(Role::Supervisor, &[]).await;
    let other = app.agent(Role::Supervisor, &[]).await;
    let plan = json!({ "levels": [], "on_call": supervisor.id });
    app.put("/api/v1/escalation", &app.admin, &plan).await.expect(StatusCode::OK);
    let body = json!({
        "name": "Nobody took it",
        "trigger": { "type": "no_owner", "minutes": 600 },
        "actions": [{ "type": "notify_supervisor", "message": "Ticket {{ticket.id}} has no owner" }],
    });
    let stored = app.post("/api/v1/rules", &app.admin, &body).await.expect(StatusCode::CREATED);
    let ticket = id(&app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await);
    let notify = |message: &str| vec![Action::NotifySupervisor { message: message.to_owned() }];
    run_firings(
        &app,
        ticket,
        id(&stored),
        &[("first", notify("Ticket {{ticket.id}} has no owner")), ("second", notify("Still nobody on {{ticket.id}}"))],
    )
    .await;

    let listed = app.get("/api/v1/notifications", &supervisor).await.expect(StatusCode::OK);
    let notifications = listed["notifications"].as_array().unwrap();
    let messages: Vec<&str> = notifications.iter().map(|n| n["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages,
        vec![format!("Still nobody on {ticket}"), format!("Ticket {ticket} has no owner")],
        "rendered, newest first"
    );
    assert!(notifications[0]["id"].as_i64() > notifications[1]["id"].as_i64());
    assert_eq!(notifications[0]["ticket"], ticket);
    assert_eq!(notifications[0]["created_at"], "2026-11-23T10:00:00.000Z");
    assert_eq!(notifications[0]["read_at"], Value::Null);
    let newest = app.get("/api/v1/notifications?limit=1", &supervisor).await.expect(StatusCode::OK);
    assert_eq!(newest["notifications"], json!([notifications[0]]));
    app.get("/api/v1/notifications?limit=0", &supervisor).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("limit"),
    );

    let empty = app.get("/api/v1/notifications", &other).await.expect(StatusCode::OK);
    assert_eq!(empty, json!({ "notifications": [] }), "another agent sees none of them");
    let read_path = format!("/api/v1/notifications/{}/read", id(&notifications[1]));
    app.post(&read_path, &other, &json!({})).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    app.post("/api/v1/notifications/999999/read", &supervisor, &json!({})).await.assert_error(
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    let unread = app.get("/api/v1/notifications", &supervisor).await.expect(StatusCode::OK);
    assert_eq!(unread["notifications"][1]["read_at"], Value::Null, "another agent cannot mark it read");

    assert_eq!(app.post(&read_path, &supervisor, &json!({})).await.status, StatusCode::NO_CONTENT);
    app.clock.advance(60_000);
    assert_eq!(app.post(&read_path, &supervisor, &json!({})).await.status, StatusCode::NO_CONTENT);
    let read = app.get("/api/v1/notifications", &supervisor).await.expect(StatusCode::OK);
    assert_eq!(read["notifications"][1]["read_at"], "2026-11-23T10:00:00.000Z", "the first reading counts");
    assert_eq!(read["notifications"][0]["read_at"], Value::Null, "the other one is still unread");
}

#[tokio::test]
async fn tasks_a_rule_creates_are_listed_on_the_ticket_for_those_who_see_it() {
    let app = spawn_quiet_app().await;
    let billing = app.team("Billing").await;
    let shipping = app.team("Shipping").await;
    let billing_agent = app.agent(Role::Agent, &[billing]).await;
    let shipping_agent = app.agent(Role::Agent, &[shipping]).await;
    let body = json!({
        "name": "Follow up",
        "trigger": { "type": "pending_for", "days": 3 },
        "actions": [{ "type": "create_task", "title": "Call the customer", "due_minutes": 30 }],
    });
    let stored = app.post("/api/v1/rules", &app.admin, &body).await.expect(StatusCode::CREATED);
    let mut ticket_json = ticket_body("ann@example.com");
    ticket_json["team"] = json!(billing);
    let ticket = id(&app.create_ticket(&app.admin, &ticket_json).await);
    app.set(ticket, json!({ "owner": billing_agent.id })).await;
    let path = format!("/api/v1/tickets/{ticket}/tasks");
    assert_eq!(app.get(&path, &billing_agent).await.expect(StatusCode::OK), json!({ "tasks": [] }));

    let task = |title: &str, due_minutes: i64| vec![Action::CreateTask { title: title.to_owned(), due_minutes }];
    run_firings(&app, ticket, id(&stored), &[("pending", task("Call the customer", 30))]).await;
    app.clock.advance(60_000);
    run_firings(&app, ticket, id(&stored), &[("pending-again", task("Write to the customer", 60))]).await;

    let listed = app.get(&path, &billing_agent).await.expect(StatusCode::OK);
    let tasks = listed["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{listed}");
    assert!(tasks[0]["id"].as_i64() < tasks[1]["id"].as_i64(), "oldest first");
    assert_eq!(
        (&tasks[0]["ticket"], &tasks[0]["title"], &tasks[0]["due_at"], &tasks[0]["created_at"], &tasks[0]["done_at"]),
        (
            &json!(ticket),
            &json!("Call the customer"),
            &json!("2026-11-23T10:30:00.000Z"),
            &json!("2026-11-23T10:00:00.000Z"),
            &Value::Null
        ),
    );
    assert_eq!(
        (&tasks[1]["title"], &tasks[1]["due_at"]),
        (&json!("Write to the customer"), &json!("2026-11-23T11:01:00.000Z"))
    );
    assert_eq!(app.get(&path, &app.admin).await.expect(StatusCode::OK), listed, "a supervisor or admin sees them too");
    app.get(&path, &shipping_agent).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    app.get("/api/v1/tickets/999999/tasks", &app.admin).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
}

#[tokio::test]
async fn the_rule_routes_are_documented_under_their_tag() {
    let app = spawn_app().await;
    let document = app.send(app.request(reqwest::Method::GET, "/api/v1/openapi.json", None)).await;
    let document = document.expect(StatusCode::OK);
    let routes = [
        ("/api/v1/rules", "get"),
        ("/api/v1/rules", "post"),
        ("/api/v1/rules/{id}", "put"),
        ("/api/v1/rules/{id}", "delete"),
        ("/api/v1/escalation", "get"),
        ("/api/v1/escalation", "put"),
        ("/api/v1/notifications", "get"),
        ("/api/v1/notifications/{id}/read", "post"),
        ("/api/v1/tickets/{id}/tasks", "get"),
    ];
    for (path, method) in routes {
        assert_eq!(document["paths"][path][method]["tags"], json!(["rules"]), "{method} {path}");
    }
    let tags = document["tags"].as_array().unwrap();
    assert!(tags.iter().any(|tag| tag["name"] == "rules"), "{tags:?}");
}
