//! Creating, reading, patching and answering tickets.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{id, spawn_app, ticket_body};

#[tokio::test]
async fn create_returns_201_with_the_number_version_and_etag() {
    let app = spawn_app().await;
    let team = app.team("Support").await;
    let mut body = ticket_body("Ann@Example.COM");
    body["urgency"] = json!("high");
    body["tags"] = json!(["Printer", "fire", "printer"]);
    body["team"] = json!(team);
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.headers.get("etag").and_then(|value| value.to_str().ok()), Some("\"1\""));
    let ticket = reply.body;
    assert!(id(&ticket) >= 1);
    assert_eq!(ticket["subject"], "Printer on fire");
    assert_eq!(ticket["status"], "new");
    assert_eq!(ticket["urgency"], "high");
    assert_eq!(ticket["priority"], "normal", "basic tier × high urgency");
    assert_eq!(ticket["channel"], "email");
    assert_eq!(ticket["team"], team);
    assert_eq!(ticket["owner"], Value::Null);
    assert_eq!(ticket["tags"], json!(["fire", "printer"]));
    assert_eq!(ticket["version"], 1);
    let created_at = ticket["created_at"].as_str().expect("a time");
    assert!(created_at.ends_with('Z') && created_at.len() == 24, "RFC 3339 UTC: {created_at}");

    let second = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    assert_eq!(id(&second), id(&ticket) + 1, "numbers come from a sequence");
    assert_eq!(second["customer"], ticket["customer"], "the customer is matched by normalised email");
}

#[tokio::test]
async fn get_returns_messages_and_events() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    let path = format!("/api/v1/tickets/{}", id(&ticket));
    let reply = app.get(&path, &app.admin).await;
    assert_eq!(reply.headers.get("etag").and_then(|value| value.to_str().ok()), Some("\"1\""));
    let detail = reply.expect(StatusCode::OK);
    assert_eq!(detail["id"], ticket["id"]);
    let messages = detail["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["kind"], "inbound");
    assert_eq!(messages[0]["author"], json!({"type": "customer", "id": ticket["customer"]}));
    assert_eq!(messages[0]["text"], "Hello, my printer is on fire. Please help.");
    let events = detail["events"].as_array().expect("events");
    assert_eq!(events[0]["type"], "created");
    assert_eq!(events[0]["version"], 1);
    assert_eq!(events[0]["actor"], json!({"type": "agent", "id": app.admin.id}));
    assert_eq!(events[0]["subject"], "Printer on fire");
    assert!(events[0]["at"].as_str().is_some_and(|at| at.ends_with('Z')));
    assert!(events.iter().any(|event| event["type"] == "message_added" && event["kind"] == "inbound"));
}

#[tokio::test]
async fn an_idempotent_retry_returns_the_first_ticket() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&ticket_body("ann@example.com")).expect("json");
    let send = |key: String, body: Vec<u8>| {
        let builder = app
            .request(reqwest::Method::POST, "/api/v1/tickets", Some(&app.admin))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body);
        app.send(builder)
    };
    let first = send("order-42".into(), body.clone()).await.expect(StatusCode::CREATED);
    let retry = send("order-42".into(), body.clone()).await;
    assert_eq!(retry.headers.get("idempotent-replayed").and_then(|value| value.to_str().ok()), Some("true"));
    let retry = retry.expect(StatusCode::CREATED);
    assert_eq!(retry["id"], first["id"], "the same key and body give the same ticket");
    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(page["tickets"].as_array().map(Vec::len), Some(1), "no duplicate was created");

    let mut other = ticket_body("ann@example.com");
    other["subject"] = json!("Another problem");
    let reply = send("order-42".into(), serde_json::to_vec(&other).expect("json")).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", None);

    let fresh = send("order-43".into(), body).await.expect(StatusCode::CREATED);
    assert_ne!(fresh["id"], first["id"], "another key creates another ticket");
    let reply = send("k".repeat(256), b"{}".to_vec()).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("Idempotency-Key"));
}

#[tokio::test]
async fn concurrent_idempotent_retries_create_one_ticket() {
    let app = spawn_app().await;
    let body = ticket_body("ann@example.com");
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = app
            .request(reqwest::Method::POST, "/api/v1/tickets", Some(&app.admin))
            .header("idempotency-key", "same-key")
            .json(&body);
        requests.spawn(async move {
            let response = request.send().await.expect("sending");
            let status = response.status();
            let ticket: Value = response.json().await.expect("reading");
            (status, ticket.get("id").cloned().unwrap_or(ticket))
        });
    }
    let answers = requests.join_all().await;
    assert!(answers.iter().all(|(status, _)| *status == StatusCode::CREATED), "{answers:?}");
    assert!(answers.windows(2).all(|pair| pair[0].1 == pair[1].1), "one ticket for one key: {answers:?}");
    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(page["tickets"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn patch_is_a_merge_patch_with_versions() {
    let app = spawn_app().await;
    let team = app.team("Support").await;
    let mut body = ticket_body("ann@example.com");
    body["tags"] = json!(["a", "b"]);
    body["team"] = json!(team);
    let ticket = app.create_ticket(&app.admin, &body).await;
    let path = format!("/api/v1/tickets/{}", id(&ticket));

    let reply = app
        .patch(&path, &app.admin, &json!({"status": "open", "owner": app.admin.id, "tags": ["c"]}), Some("\"1\""))
        .await;
    assert_eq!(reply.headers.get("etag").and_then(|value| value.to_str().ok()), Some("\"2\""));
    let patched = reply.expect(StatusCode::OK);
    assert_eq!(patched["status"], "open");
    assert_eq!(patched["owner"], app.admin.id);
    assert_eq!(patched["tags"], json!(["c"]), "tags replace the set");
    assert_eq!(patched["team"], team, "absent fields stay");
    assert_eq!(patched["version"], 2);

    let cleared =
        app.patch(&path, &app.admin, &json!({"owner": null, "team": null}), Some("2")).await.expect(StatusCode::OK);
    assert_eq!(cleared["owner"], Value::Null, "null unassigns");
    assert_eq!(cleared["team"], Value::Null, "null clears the team");
    assert_eq!(cleared["status"], "open");
    assert_eq!(cleared["version"], 3);

    let reply = app.patch(&path, &app.admin, &json!({"urgency": "urgent"}), Some("2")).await;
    reply.assert_error(StatusCode::CONFLICT, "stale_version", None);
    let unchanged = app.patch(&path, &app.admin, &json!({}), None).await.expect(StatusCode::OK);
    assert_eq!(unchanged["version"], 3, "an empty patch changes nothing");

    let reply = app.patch(&path, &app.admin, &json!({"owner": 999_999}), None).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("owner"));
    let reply = app.patch(&path, &app.admin, &json!({"team": 999_999}), None).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("team"));

    let detail = app.get(&path, &app.admin).await.expect(StatusCode::OK);
    let kinds: Vec<&str> =
        detail["events"].as_array().expect("events").iter().filter_map(|e| e["type"].as_str()).collect();
    for kind in ["status_changed", "owner_changed", "tags_changed", "team_changed"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let owner_events: Vec<&Value> =
        detail["events"].as_array().expect("events").iter().filter(|e| e["type"] == "owner_changed").collect();
    assert_eq!(owner_events[0]["from"], Value::Null);
    assert_eq!(owner_events[0]["to"], app.admin.id);
}

#[tokio::test]
async fn a_public_reply_opens_a_new_ticket_and_a_note_does_not() {
    let app = spawn_app().await;
    let first = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    let path = format!("/api/v1/tickets/{}/messages", id(&first));
    let note = app.post(&path, &app.admin, &json!({"body": "Checking the logs", "public": false})).await;
    let note = note.expect(StatusCode::CREATED);
    assert_eq!(note["kind"], "note");
    assert_eq!(note["author"], json!({"type": "agent", "id": app.admin.id}));
    let ticket = app.get(&format!("/api/v1/tickets/{}", id(&first)), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(ticket["status"], "new");

    let reply = app.post(&path, &app.admin, &json!({"body": "Unplug it, please", "public": true})).await;
    let reply = reply.expect(StatusCode::CREATED);
    assert_eq!(reply["kind"], "reply");
    assert_eq!(reply["text"], "Unplug it, please");
    assert_eq!(reply["channel"], "email");
    let ticket = app.get(&format!("/api/v1/tickets/{}", id(&first)), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["messages"].as_array().map(Vec::len), Some(3));

    let reply = app.post(&path, &app.admin, &json!({"body": "  ", "public": true})).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("body"));
    let reply = app.post(&path, &app.admin, &json!({"body": "Hi"})).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("public"));
}

#[tokio::test]
async fn list_filters_by_status_owner_team_tag_and_customer() {
    let app = spawn_app().await;
    let team = app.team("Billing").await;
    let mut billing = ticket_body("bob@example.com");
    billing["team"] = json!(team);
    billing["tags"] = json!(["invoice"]);
    let a = app.create_ticket(&app.admin, &billing).await;
    let b = app.create_ticket(&app.admin, &ticket_body("carol@example.com")).await;
    app.set(id(&b), json!({"status": "open", "owner": app.admin.id})).await;

    let ids = |page: Value| -> Vec<i64> { page["tickets"].as_array().expect("tickets").iter().map(id).collect() };
    let get = |query: &'static str| app.get(query, &app.admin);
    assert_eq!(ids(get("/api/v1/tickets?status=open").await.expect(StatusCode::OK)), vec![id(&b)]);
    assert_eq!(
        ids(get("/api/v1/tickets?status=new,open&sort=created").await.expect(StatusCode::OK)),
        vec![id(&a), id(&b)]
    );
    assert_eq!(ids(get("/api/v1/tickets?owner=none").await.expect(StatusCode::OK)), vec![id(&a)]);
    assert_eq!(ids(get("/api/v1/tickets?owner=me").await.expect(StatusCode::OK)), vec![id(&b)]);
    let by_team = app.get(&format!("/api/v1/tickets?team={team}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(ids(by_team), vec![id(&a)]);
    assert_eq!(ids(get("/api/v1/tickets?tag=Invoice").await.expect(StatusCode::OK)), vec![id(&a)]);
    let by_customer = app.get(&format!("/api/v1/tickets?customer={}", b["customer"]), &app.admin).await;
    assert_eq!(ids(by_customer.expect(StatusCode::OK)), vec![id(&b)]);
    assert_eq!(ids(get("/api/v1/tickets?sort=-created").await.expect(StatusCode::OK)), vec![id(&b), id(&a)]);
}

#[tokio::test]
async fn a_reply_goes_out_on_the_channel_the_agent_picks_or_is_refused() {
    let app = spawn_app().await;
    let ticket = id(&app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await);
    let path = format!("/api/v1/tickets/{ticket}/messages");

    // By default a reply follows the customer's channel: email here.
    let reply = app.post(&path, &app.admin, &json!({"body": "On its way.", "public": true})).await;
    let reply = reply.expect(StatusCode::CREATED);
    assert_eq!(reply["channel"], "email");
    assert_eq!(reply["delivery"], "queued");
    assert!(reply["external_id"].as_str().is_some_and(|id| id.contains('@')), "{reply}");

    // The agent may pick email explicitly.
    let body = json!({"body": "Also by email.", "public": true, "channel": "email"});
    let picked = app.post(&path, &app.admin, &body).await.expect(StatusCode::CREATED);
    assert_eq!(picked["delivery"], "queued");

    // A channel the customer cannot be reached on is refused, and nothing is written.
    let before = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let sms = json!({"body": "By SMS?", "public": true, "channel": "sms"});
    let refused = app.post(&path, &app.admin, &sms).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "customer_unreachable", Some("channel"));
    let after = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(before["messages"], after["messages"]);
    let bogus = json!({"body": "x", "public": true, "channel": "pigeon"});
    app.post(&path, &app.admin, &bogus).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("channel"),
    );
    let note = json!({"body": "x", "public": false, "channel": "email"});
    app.post(&path, &app.admin, &note).await.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("channel"));
}
