//! Overflow settings on teams and problems (major incidents) over HTTP: the
//! team fields round-trip and refuse bad values by name; tickets link to a
//! problem, an update reaches each affected customer once on their own
//! channel (however many linked tickets they have, and however often the
//! request is retried), and solving the problem solves its tickets.
//!
//! Customer updates are claimed and run through the store by hand, on a
//! server whose background automation and chat (hence outbox worker) are off,
//! so nothing else claims the jobs or the outbox entries.

use rapport_core::time::DAY;
use rapport_core::{Role, Timestamp};
use rapport_server::ServerConfig;
use rapport_server::settings::AutomationSettings;
use rapport_server::settings::ChatSettings;
use rapport_store::JobOutcome;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Monday 23 November 2026, 10:00 UTC.
const T0: Timestamp = Timestamp(1_795_428_000_000);

/// A server on a clock standing at [`T0`], with no background worker.
async fn spawn_quiet_app() -> TestApp {
    let automation = AutomationSettings { enabled: false, ..AutomationSettings::default() };
    let chat = ChatSettings { enabled: false, ..ChatSettings::default() };
    spawn_app_at(ServerConfig { automation, chat, ..ServerConfig::default() }, T0).await
}

async fn ticket(app: &TestApp, email: &str) -> i64 {
    id(&app.create_ticket(&app.admin, &ticket_body(email)).await)
}

#[tokio::test]
async fn team_overflow_fields_round_trip_and_refuse_clearly() {
    let app = spawn_app().await;
    let sales = app.team("Sales").await;
    let support = app.team("Support").await;
    let path = format!("/api/v1/teams/{sales}");
    let team = app.get(&path, &app.admin).await.expect(StatusCode::OK);
    assert_eq!((&team["overflow_team"], &team["overflow_after_minutes"]), (&Value::Null, &Value::Null));

    let patch = json!({"overflow_team": support, "overflow_after_minutes": 15});
    let team = app.patch(&path, &app.admin, &patch, None).await.expect(StatusCode::OK);
    assert_eq!((&team["overflow_team"], &team["overflow_after_minutes"]), (&json!(support), &json!(15)));
    let team = app.patch(&path, &app.admin, &json!({"overflow_after_minutes": 30}), None).await.expect(StatusCode::OK);
    assert_eq!((&team["overflow_team"], &team["overflow_after_minutes"]), (&json!(support), &json!(30)));
    assert_eq!(team["name"], "Sales");
    let page = app.get("/api/v1/teams", &app.admin).await.expect(StatusCode::OK);
    let listed = page["teams"].as_array().unwrap();
    assert_eq!(listed[0]["overflow_team"], support);
    assert_eq!(listed[1]["overflow_team"], Value::Null);
    assert_eq!(app.get(&path, &app.admin).await.expect(StatusCode::OK)["overflow_after_minutes"], 30);

    let refused = |body: Value, team: i64, field: &'static str| {
        let app = &app;
        async move {
            let reply = app.patch(&format!("/api/v1/teams/{team}"), &app.admin, &body, None).await;
            reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some(field));
        }
    };
    refused(json!({"overflow_team": sales}), sales, "overflow_team").await;
    refused(json!({"overflow_team": 999, "name": "Renamed"}), sales, "overflow_team").await;
    refused(json!({"overflow_after_minutes": 0}), sales, "overflow_after_minutes").await;
    refused(json!({"overflow_after_minutes": "soon"}), sales, "overflow_after_minutes").await;
    refused(json!({"overflow_team": "support"}), sales, "overflow_team").await;
    refused(json!({"overflow_team": support, "overflow_after_minutes": 5}), support, "overflow_team").await;
    refused(json!({"overflow_team": null, "overflow_after_minutes": 5}), sales, "overflow_after_minutes").await;
    let fresh = app.team("Fresh").await;
    refused(json!({"overflow_team": sales}), fresh, "overflow_after_minutes").await;
    refused(json!({"overflow_after_minutes": 5}), fresh, "overflow_team").await;
    // A refused patch changes nothing, the name included.
    let team = app.get(&path, &app.admin).await.expect(StatusCode::OK);
    assert_eq!((&team["name"], &team["overflow_after_minutes"]), (&json!("Sales"), &json!(30)));
    // Nor does a good overflow with a name another team has.
    let taken = json!({"name": "Fresh", "overflow_after_minutes": 45});
    app.patch(&path, &app.admin, &taken, None).await.assert_error(StatusCode::CONFLICT, "conflict", None);
    let team = app.get(&path, &app.admin).await.expect(StatusCode::OK);
    assert_eq!((&team["name"], &team["overflow_after_minutes"]), (&json!("Sales"), &json!(30)));

    let agent = app.agent(Role::Agent, &[]).await;
    let reply = app.patch(&path, &agent, &json!({"overflow_team": null}), None).await;
    reply.assert_error(StatusCode::FORBIDDEN, "forbidden", None);
    let missing = app.patch("/api/v1/teams/999", &app.admin, &json!({"overflow_team": null}), None).await;
    missing.assert_error(StatusCode::NOT_FOUND, "not_found", None);

    let team = app.patch(&path, &app.admin, &json!({"overflow_team": null}), None).await.expect(StatusCode::OK);
    assert_eq!((&team["overflow_team"], &team["overflow_after_minutes"]), (&Value::Null, &Value::Null));
}

#[tokio::test]
async fn a_problem_links_updates_each_customer_once_and_solves_its_tickets() {
    let app = spawn_quiet_app().await;
    let problem = ticket(&app, "carol@example.com").await;
    let ann_old = ticket(&app, "ann@example.com").await;
    let bob = ticket(&app, "bob@example.com").await;
    let ann_new = ticket(&app, "ann@example.com").await;
    let supervisor = app.agent(Role::Supervisor, &[]).await;
    let agent = app.agent(Role::Agent, &[]).await;
    let links = format!("/api/v1/problems/{problem}/tickets");

    let body = json!({"tickets": [ann_old, bob, ann_new]});
    app.post(&links, &agent, &body).await.assert_error(StatusCode::FORBIDDEN, "forbidden", None);
    let linked = app.post(&links, &supervisor, &body).await.expect(StatusCode::OK);
    assert_eq!(ids(&linked, "tickets"), vec![ann_old, bob, ann_new]);
    assert_eq!(ids(&app.get(&links, &agent).await.expect(StatusCode::OK), "tickets"), vec![ann_old, bob, ann_new]);
    let detail = app.get(&format!("/api/v1/tickets/{bob}"), &app.admin).await.expect(StatusCode::OK);
    let event = detail["events"].as_array().unwrap().iter().find(|event| event["type"] == "problem_linked").unwrap();
    assert_eq!(event["problem"], problem);

    let refused = |path: String, body: Value, field: &'static str| {
        let app = &app;
        let supervisor = &supervisor;
        async move {
            let reply = app.post(&path, supervisor, &body).await;
            reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some(field));
        }
    };
    refused(links.clone(), json!({"tickets": [problem]}), "tickets[0]").await;
    refused(links.clone(), json!({"tickets": [ann_old, 99_999]}), "tickets[1]").await;
    refused(links.clone(), json!({"tickets": []}), "tickets").await;
    refused(links.clone(), json!({"tickets": ["one"]}), "tickets[0]").await;
    refused(format!("/api/v1/problems/{bob}/tickets"), json!({"tickets": [ann_old]}), "problem").await;
    let unknown = app.post("/api/v1/problems/99999/tickets", &supervisor, &json!({"tickets": [bob]})).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "not_found", None);

    let updates = format!("/api/v1/problems/{problem}/updates");
    let text = "We are restoring service.";
    let sent = app.post(&updates, &supervisor, &json!({"body": text})).await.expect(StatusCode::ACCEPTED);
    assert_eq!(sent, json!({"customers": 2, "update": 1, "queued": 2}));
    let retried = app.post(&updates, &supervisor, &json!({"body": text, "update": 1})).await;
    assert_eq!(retried.expect(StatusCode::ACCEPTED), json!({"customers": 2, "update": 1, "queued": 0}));
    refused(updates.clone(), json!({"body": "  "}), "body").await;
    refused(updates.clone(), json!({"body": text, "update": 9}), "update").await;
    app.post(&updates, &agent, &json!({"body": text})).await.assert_error(StatusCode::FORBIDDEN, "forbidden", None);

    // The jobs: one per customer; each email customer gets exactly one reply in the outbox.
    let now = app.clock.now();
    let jobs = app.store.claim_jobs("test", 100, 60_000, now).await.unwrap();
    assert_eq!(jobs.len(), 2);
    for job in jobs {
        assert_eq!(app.store.run_job("test", job, now).await.unwrap(), JobOutcome::Done);
    }
    let outbox = app.store.claim_outbox(now.plus_millis(DAY), 60_000, 100).await.unwrap();
    let mut recipients: Vec<(String, Option<i64>)> = outbox
        .iter()
        .filter(|item| item.payload.text == text)
        .flat_map(|item| item.payload.to.iter().map(|to| (to.identity.value.clone(), item.ticket.map(|id| id.0))))
        .collect();
    recipients.sort();
    assert_eq!(
        recipients,
        vec![("ann@example.com".to_owned(), Some(ann_new)), ("bob@example.com".to_owned(), Some(bob))],
        "ann hears once, on her most recent ticket"
    );

    let unlink = format!("/api/v1/problems/{problem}/tickets/{bob}");
    app.delete(&unlink, &agent).await.assert_error(StatusCode::FORBIDDEN, "forbidden", None);
    assert_eq!(app.delete(&unlink, &supervisor).await.status, StatusCode::NO_CONTENT);
    app.delete(&unlink, &supervisor).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(ids(&app.get(&links, &supervisor).await.expect(StatusCode::OK), "tickets"), vec![ann_old, ann_new]);

    let solve = format!("/api/v1/problems/{problem}/solve");
    app.post(&solve, &agent, &json!({})).await.assert_error(StatusCode::FORBIDDEN, "forbidden", None);
    let solved = app.post(&solve, &supervisor, &json!({"body": "Fixed, sorry."})).await.expect(StatusCode::OK);
    assert_eq!(solved, json!({"solved": 3, "customers": 1, "update": 2}));
    for (id, status) in [(problem, "solved"), (ann_old, "solved"), (ann_new, "solved"), (bob, "new")] {
        let ticket = app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK);
        assert_eq!(ticket["status"], status, "ticket {id}");
    }
    let again = app.post(&solve, &supervisor, &json!({})).await.expect(StatusCode::OK);
    assert_eq!(again, json!({"solved": 0, "customers": 0, "update": null}));
}
