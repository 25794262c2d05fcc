//! What a first user tripped on in lists (issue 14): names beside the ids,
//! the `sla_due` order, and `"owner": "me"` in a patch.

use rapport_core::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{id, spawn_app, ticket_body};

#[tokio::test]
async fn issue_14_patch_owner_me_assigns_the_caller_as_the_filter_reads_it() {
    let app = spawn_app().await;
    let agent = app.agent(Role::Agent, &[]).await;
    let ticket = id(&app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await);
    let path = format!("/api/v1/tickets/{ticket}");

    let patched = app.patch(&path, &agent, &json!({"owner": "me"}), None).await.expect(StatusCode::OK);
    assert_eq!(patched["owner"], agent.id);
    let mine = app.get("/api/v1/tickets?owner=me", &agent).await.expect(StatusCode::OK);
    assert_eq!(crate::helpers::ids(&mine, "tickets"), vec![ticket]);

    let reply = app.patch(&path, &agent, &json!({"owner": "you"}), None).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("owner"));
    let cleared = app.patch(&path, &agent, &json!({"owner": null}), None).await.expect(StatusCode::OK);
    assert_eq!(cleared["owner"], Value::Null);
}

#[tokio::test]
async fn issue_14_lists_and_search_results_carry_names_beside_the_ids() {
    let app = spawn_app().await;
    let team = app.team("Billing").await;
    let mut body = ticket_body("ann@example.com");
    body["team"] = json!(team);
    body["subject"] = json!("Zephyrine invoice");
    let ticket = id(&app.create_ticket(&app.admin, &body).await);
    app.set(ticket, json!({"owner": "me"})).await;

    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    let listed = &page["tickets"][0];
    assert_eq!(listed["customer_name"], "Ann Example", "{listed}");
    assert_eq!(listed["customer_address"], "ann@example.com");
    assert_eq!(listed["owner"], app.admin.id);
    assert_eq!(listed["owner_name"], "Test admin");
    assert_eq!(listed["team"], team);
    assert_eq!(listed["team_name"], "Billing");

    let found = app.get("/api/v1/search?q=zephyrine", &app.admin).await.expect(StatusCode::OK);
    let hit = &found["results"][0]["ticket"];
    for key in ["id", "customer_name", "customer_address", "owner_name", "team_name"] {
        assert_eq!(hit[key], listed[key], "{key}: {found}");
    }
}

#[tokio::test]
async fn issue_14_lists_sort_by_the_next_sla_due_time() {
    let app = spawn_app().await;
    let mut email = ticket_body("ann@example.com");
    email["channel"] = json!("email");
    let email = id(&app.create_ticket(&app.admin, &email).await);
    let mut chat = ticket_body("bob@example.com");
    chat["channel"] = json!("chat");
    let chat = id(&app.create_ticket(&app.admin, &chat).await);
    let solved = id(&app.create_ticket(&app.admin, &ticket_body("carol@example.com")).await);
    app.set(solved, json!({"status": "solved"})).await;
    app.settle().await;

    let page = app.get("/api/v1/tickets?sort=sla_due", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(crate::helpers::ids(&page, "tickets"), vec![chat, email, solved], "{page}");
    let first = app.get("/api/v1/tickets?sort=sla_due&limit=1", &app.admin).await.expect(StatusCode::OK);
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_owned();
    let rest = app.get(&format!("/api/v1/tickets?sort=sla_due&limit=5&cursor={cursor}"), &app.admin).await;
    assert_eq!(crate::helpers::ids(&rest.expect(StatusCode::OK), "tickets"), vec![email, solved]);
    let reply = app.get("/api/v1/tickets?sort=due", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("sort"));
    assert!(reply.text.contains("sla_due"), "{}", reply.text);

    // Issue 17: the queues filter by channel.
    let chats = app.get("/api/v1/tickets?sort=sla_due&channel=chat", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(crate::helpers::ids(&chats, "tickets"), vec![chat]);
    let bad = app.get("/api/v1/tickets?channel=pigeon", &app.admin).await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("channel"));
}
