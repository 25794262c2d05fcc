//! Service levels over HTTP: calendars and policies with validation that
//! names the field, each ticket's targets through replies, pending, hold,
//! solve, reopen and a policy change on a clock the test moves, and the
//! attainment report.

use rapport_core::{Author, CustomerId, MessageKind, TicketId, Timestamp};
use rapport_server::ServerConfig;
use rapport_store::NewMessage;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn instant(text: &str) -> Timestamp {
    Timestamp(text.parse::<jiff::Timestamp>().unwrap().as_millisecond())
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn target<'a>(sla: &'a Value, kind: &str) -> &'a Value {
    sla["targets"].as_array().unwrap().iter().find(|target| target["kind"] == kind).unwrap_or(&Value::Null)
}

/// Asserts a target's state, due time (`None`: null), elapsed seconds and met time.
#[track_caller]
fn check(sla: &Value, kind: &str, state: &str, due: Option<&str>, elapsed: i64, met: Option<&str>) {
    let target = target(sla, kind);
    assert_eq!(target["state"], state, "{kind} state in {sla}");
    let due = due.map(|due| format!("{due}.000Z"));
    assert_eq!(target["due_at"].as_str(), due.as_deref(), "{kind} due in {sla}");
    assert_eq!(target["elapsed_seconds"], elapsed, "{kind} elapsed in {sla}");
    assert_eq!(target["remaining_seconds"], target["target_seconds"].as_i64().unwrap() - elapsed);
    let met = met.map(|met| format!("{met}.000Z"));
    assert_eq!(target["met_at"].as_str(), met.as_deref(), "{kind} met in {sla}");
}

#[tokio::test]
async fn calendars_and_policies_are_managed_and_bad_ones_named_by_field() {
    let app = spawn_app().await;
    let policies = app.get("/api/v1/sla/policies", &app.admin).await.expect(StatusCode::OK);
    let names: Vec<&str> =
        policies["policies"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 9, "the shipped policies: {names:?}");
    assert!(names.contains(&"Live chat") && names.contains(&"Email and web"));

    let calendar = |source: &str| json!({ "source": source });
    app.put("/api/v1/calendars/berlin", &app.admin, &calendar("timezone = \"Mars/Olympus\"\n")).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("source"),
    );
    let overlapping = "timezone = \"Europe/Berlin\"\n[hours]\nmon = [\"08:00-12:00\", \"11:00-13:00\"]\n";
    let reply = app.put("/api/v1/calendars/berlin", &app.admin, &calendar(overlapping)).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("source"));
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("line 3"), "{}", reply.text);
    let agent = app.agent(rapport_core::Role::Agent, &[]).await;
    let good = "timezone = \"Europe/Berlin\"\nholidays = [\"2026-12-24\"]\n[hours]\nmon = [\"08:00-12:00\", \"13:00-18:00\"]\n";
    app.put("/api/v1/calendars/berlin", &agent, &calendar(good)).await.assert_error(
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let stored = app.put("/api/v1/calendars/berlin", &app.admin, &calendar(good)).await.expect(StatusCode::OK);
    assert_eq!(stored["name"], "berlin");
    let listed = app.get("/api/v1/calendars", &agent).await.expect(StatusCode::OK);
    assert_eq!(listed["calendars"][0]["source"], good);

    let policy = |first_response: Value, extra: Value| {
        let mut body = json!({ "name": "Berlin email", "targets": { "first_response": first_response } });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let hour = json!({ "seconds": 3600, "business_hours": true });
    let cases = [
        (policy(json!({ "seconds": 0, "business_hours": true }), json!({})), "targets.first_response.seconds"),
        (policy(hour.clone(), json!({ "calendar": "paris" })), "calendar"),
        (policy(hour.clone(), json!({ "conditions": { "teams": [999] } })), "conditions.teams[0]"),
        (policy(hour.clone(), json!({ "conditions": { "channels": ["pigeon"] } })), "conditions.channels[0]"),
        (policy(hour.clone(), json!({ "colour": "red" })), "colour"),
        (policy(hour.clone(), json!({ "name": "Phone" })), "name"),
    ];
    for (body, field) in cases {
        app.post("/api/v1/sla/policies", &app.admin, &body).await.assert_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some(field),
        );
    }
    app.post("/api/v1/sla/policies", &agent, &policy(hour.clone(), json!({}))).await.assert_error(
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let created = app
        .post("/api/v1/sla/policies?position=1", &app.admin, &policy(hour.clone(), json!({ "calendar": "berlin" })))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!((created["position"].as_i64(), created["calendar"].as_str()), (Some(1), Some("berlin")));
    let first = app.get("/api/v1/sla/policies", &agent).await.expect(StatusCode::OK);
    assert_eq!(first["policies"][0]["id"], created["id"]);
    let path = format!("/api/v1/sla/policies/{}", id(&created));
    let renamed =
        app.put(&path, &app.admin, &policy(hour, json!({ "name": "Berlin mail", "calendar": "berlin" }))).await;
    assert_eq!(renamed.expect(StatusCode::OK)["name"], "Berlin mail");
    app.delete("/api/v1/calendars/berlin", &app.admin).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("name"),
    );
    assert_eq!(app.delete(&path, &app.admin).await.status, StatusCode::NO_CONTENT);
    app.delete(&path, &app.admin).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(app.delete("/api/v1/calendars/berlin", &app.admin).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn targets_follow_replies_pending_hold_solve_reopen_and_a_policy_change() {
    // Monday 23 November 2026, on the default calendar (Mon-Fri 09:00-17:00 UTC).
    let app = spawn_app_at(ServerConfig::default(), instant("2026-11-23T10:00:00Z")).await;
    let ticket = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    let path = format!("/api/v1/tickets/{}", id(&ticket));
    let sla = |body: Value| body["sla"].clone();
    let detail = app.get(&path, &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["sla"]["policy"]["name"], "Email and web");
    // Six business hours from 10:00 end at 16:00; 24 run Mon 7 h, Tue 8 h, Wed 8 h and Thu 09:00-10:00.
    check(&sla(detail.clone()), "first_response", "active", Some("2026-11-23T16:00:00"), 0, None);
    check(&sla(detail.clone()), "resolution", "active", Some("2026-11-26T10:00:00"), 0, None);
    assert!(target(&sla(detail), "next_response").is_null(), "no next response before a reply");

    app.clock.advance(HOUR);
    let now = |app: &TestApp| app.clock.now();
    let reply = json!({ "body": "We are on it.", "public": true });
    app.post(&format!("{path}/messages"), &app.admin, &reply).await.expect(StatusCode::CREATED);
    app.set(id(&ticket), json!({ "status": "pending" })).await;
    let at_11 = sla(app.get(&path, &app.admin).await.expect(StatusCode::OK));
    check(&at_11, "first_response", "met", Some("2026-11-23T16:00:00"), 3600, Some("2026-11-23T11:00:00"));
    check(&at_11, "resolution", "paused", None, 3600, None);

    // The customer answers at 12:00: the ticket opens, next response starts,
    // resolution runs again (23 h left: Mon 5, Tue 8, Wed 8, Thu 09:00-11:00).
    app.clock.advance(HOUR);
    let customer = CustomerId(ticket["customer"].as_i64().unwrap());
    let message = NewMessage {
        kind: MessageKind::Inbound,
        author: Author::Customer(customer),
        text: "Still burning".into(),
        html: None,
        attachments: vec![],
        origin: Default::default(),
        now: now(&app),
    };
    app.store.add_message(TicketId(id(&ticket)), None, message).await.unwrap();
    app.clock.advance(HOUR);
    let at_13 = sla(app.get(&path, &app.admin).await.expect(StatusCode::OK));
    check(&at_13, "next_response", "active", Some("2026-11-24T10:00:00"), 3600, None);
    check(&at_13, "resolution", "active", Some("2026-11-26T11:00:00"), 7200, None);

    app.post(&format!("{path}/messages"), &app.admin, &reply).await.expect(StatusCode::CREATED);
    app.set(id(&ticket), json!({ "status": "on_hold" })).await;
    app.clock.advance(HOUR);
    let at_14 = sla(app.get(&path, &app.admin).await.expect(StatusCode::OK));
    check(&at_14, "next_response", "met", Some("2026-11-24T10:00:00"), 3600, Some("2026-11-23T13:00:00"));
    check(&at_14, "resolution", "paused", None, 7200, None);

    app.set(id(&ticket), json!({ "status": "open" })).await;
    app.clock.advance(HOUR);
    app.set(id(&ticket), json!({ "status": "solved" })).await;
    app.clock.advance(HOUR);
    let at_16 = sla(app.get(&path, &app.admin).await.expect(StatusCode::OK));
    check(&at_16, "resolution", "met", Some("2026-11-26T12:00:00"), 10800, Some("2026-11-23T15:00:00"));

    // Reopened at 16:00, resolution carries on from 3 h: 21 h left end Thu 13:00.
    app.set(id(&ticket), json!({ "status": "open" })).await;
    let at_16 = sla(app.get(&path, &app.admin).await.expect(StatusCode::OK));
    check(&at_16, "resolution", "active", Some("2026-11-26T13:00:00"), 10800, None);
    check(&at_16, "first_response", "met", Some("2026-11-23T16:00:00"), 3600, Some("2026-11-23T11:00:00"));

    // A policy change: resolution within 2 hours of real time. The clock ran
    // 10-11, 12-13, 14-15 and from 16:00; it ran out at 14:00 but was paused
    // then (on hold), so it ran out when it resumed.
    let policies = app.get("/api/v1/sla/policies", &app.admin).await.expect(StatusCode::OK);
    let email = policies["policies"].as_array().unwrap().iter().find(|p| p["name"] == "Email and web").unwrap().clone();
    let mut changed = json!({
        "name": email["name"], "conditions": email["conditions"], "targets": email["targets"],
        "pause_when_pending": email["pause_when_pending"], "calendar": email["calendar"],
    });
    changed["targets"]["resolution"] = json!({ "seconds": 7200, "business_hours": false });
    app.put(&format!("/api/v1/sla/policies/{}", id(&email)), &app.admin, &changed).await.expect(StatusCode::OK);
    let after = sla(app.get(&format!("{path}/sla"), &app.admin).await.expect(StatusCode::OK).clone().pipe());
    check(&after, "resolution", "breached", Some("2026-11-23T14:00:00"), 10800, None);
    check(&after, "first_response", "met", Some("2026-11-23T16:00:00"), 3600, Some("2026-11-23T11:00:00"));

    // The kept targets catch up in the background and agree with the live
    // ones. The sweep may reach the ticket before the projector has kept its
    // latest events (it then measures the kept events under the new policy,
    // and the projector catches up after), so wait for both.
    for _ in 0..200 {
        let caught_up = app.store.count_sla_backlog().await.unwrap() == 0;
        let kept = app.store.find_ticket_sla(TicketId(id(&ticket))).await.unwrap();
        if let Some(kept) = kept
            && caught_up
            && kept.targets.iter().any(|target| target.seconds == 7200)
        {
            let (_, live) = app.store.measure_ticket(TicketId(id(&ticket)), kept.computed_at).await.unwrap().unwrap();
            assert_eq!(live, kept.targets);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = app.store.sla_status().await.unwrap();
    let kept = app.store.find_ticket_sla(TicketId(id(&ticket))).await.unwrap();
    panic!("the policy change was not applied to the kept targets: status {status:?}, kept {kept:?}");
}

/// The `/sla` answer is the `sla` of the ticket page; this lets both be read alike.
trait Pipe {
    fn pipe(self) -> Value;
}

impl Pipe for Value {
    fn pipe(self) -> Value {
        json!({ "sla": self })
    }
}

#[tokio::test]
async fn the_report_counts_met_and_breached_targets_by_channel_and_policy() {
    let app = spawn_app_at(ServerConfig::default(), instant("2026-11-23T10:00:00Z")).await;
    let fast = app.create_ticket(&app.admin, &ticket_body("fast@example.com")).await;
    let _slow = app.create_ticket(&app.admin, &ticket_body("slow@example.com")).await;
    app.clock.advance(30 * MINUTE);
    let reply = json!({ "body": "Here is the fix.", "public": true });
    app.post(&format!("/api/v1/tickets/{}/messages", id(&fast)), &app.admin, &reply).await.expect(StatusCode::CREATED);
    // The slow one's six business hours run out at 16:00.
    app.clock.set(instant("2026-11-23T18:00:00Z"));
    app.settle().await;
    let path = "/api/v1/reports/sla?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z";
    let report = app.get(&format!("{path}&group_by=channel"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(report["groups"].as_array().unwrap().len(), 1, "{report}");
    let email = &report["groups"][0];
    let kept = app.store.find_ticket_sla(TicketId(id(&fast))).await.unwrap();
    let status = app.store.sla_status().await.unwrap();
    assert_eq!(
        (email["group"].as_str(), email["targets"].as_i64(), email["met"].as_i64()),
        (Some("email"), Some(2), Some(1)),
        "{report}; the fast ticket as kept: {kept:?}; status {status:?}"
    );
    assert_eq!(email["breached"], 1);
    assert_eq!(email["share_met"], 0.5);
    assert_eq!(email["first_response"], json!({ "count": 1, "median_seconds": 1800, "p90_seconds": 1800 }));
    let by_policy = app.get(&format!("{path}&group_by=policy"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(by_policy["groups"][0]["group"], "Email and web");
    assert_eq!(by_policy["phone"]["calls"], 0);
    assert_eq!(by_policy["phone"]["goal_percent"], 80);
    app.get(&format!("{path}&group_by=colour"), &app.admin).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("group_by"),
    );
    app.get("/api/v1/reports/sla?from=yesterday", &app.admin).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("from"),
    );
}

#[tokio::test]
async fn ticket_lists_show_each_tickets_most_pressing_target() {
    let app = spawn_app_at(ServerConfig::default(), instant("2026-11-23T10:00:00Z")).await;
    let ticket = app.create_ticket(&app.admin, &ticket_body("queue@example.com")).await;
    app.settle().await;
    // Six business hours from 10:00 on a Monday.
    let due = json!({ "state": "active", "target": "first_response", "due_at": "2026-11-23T16:00:00.000Z" });
    assert_eq!(listed(&app).await, due);

    // Past due: breached at once, brought forward from the kept targets.
    app.clock.set(instant("2026-11-23T16:30:00Z"));
    let breached = json!({ "state": "breached", "target": "first_response", "due_at": "2026-11-23T16:00:00.000Z" });
    assert_eq!(listed(&app).await, breached);

    // Answered: the resolution target presses next.
    let reply = json!({ "body": "Here is the fix.", "public": true });
    app.post(&format!("/api/v1/tickets/{}/messages", id(&ticket)), &app.admin, &reply)
        .await
        .expect(StatusCode::CREATED);
    app.settle().await;
    let sla = listed(&app).await;
    assert_eq!((&sla["state"], &sla["target"]), (&json!("active"), &json!("resolution")), "{sla}");
}

/// The `sla` of the first ticket of the ticket list.
async fn listed(app: &TestApp) -> Value {
    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    page["tickets"][0]["sla"].clone()
}
