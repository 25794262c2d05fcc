//! Who sees which ticket: agents see their teams' tickets, unassigned ones
//! and their own; supervisors and admins see all. Invisible is 404, not 403.

use rapport_core::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{self, id, spawn_app, ticket_body};

fn ids(page: &Value) -> Vec<i64> {
    helpers::ids(page, "tickets")
}

#[tokio::test]
async fn roles_see_what_they_may_in_get_list_and_search() {
    let app = spawn_app().await;
    let billing = app.team("Billing").await;
    let shipping = app.team("Shipping").await;
    let billing_agent = app.agent(Role::Agent, &[billing]).await;
    let shipping_agent = app.agent(Role::Agent, &[shipping]).await;
    let supervisor = app.agent(Role::Supervisor, &[]).await;

    // Owned by the billing agent, in the billing team: invisible to shipping.
    let mut body = ticket_body("ann@example.com");
    body["team"] = json!(billing);
    body["subject"] = json!("Invoice zebra question");
    let owned = app.create_ticket(&app.admin, &body).await;
    app.set(id(&owned), json!({"owner": billing_agent.id})).await;
    // Unassigned, in the billing team: visible to every agent.
    let mut body = ticket_body("bob@example.com");
    body["team"] = json!(billing);
    let unassigned = app.create_ticket(&app.admin, &body).await;
    // Owned by the shipping agent, no team: visible to them, not to billing.
    let theirs = app.create_ticket(&app.admin, &ticket_body("carol@example.com")).await;
    app.set(id(&theirs), json!({"owner": shipping_agent.id})).await;

    let owned_path = format!("/api/v1/tickets/{}", id(&owned));
    let reply = app.get(&owned_path, &shipping_agent).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    let reply = app.patch(&owned_path, &shipping_agent, &json!({"status": "open"}), None).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    let reply =
        app.post(&format!("{owned_path}/messages"), &shipping_agent, &json!({"body": "hi", "public": false})).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    app.get(&owned_path, &billing_agent).await.expect(StatusCode::OK);
    app.get(&owned_path, &supervisor).await.expect(StatusCode::OK);

    let mut seen = ids(&app.get("/api/v1/tickets?sort=created", &shipping_agent).await.expect(StatusCode::OK));
    seen.sort();
    assert_eq!(seen, vec![id(&unassigned), id(&theirs)], "shipping sees unassigned and its own");
    let seen = ids(&app.get("/api/v1/tickets?sort=created", &billing_agent).await.expect(StatusCode::OK));
    assert_eq!(seen, vec![id(&owned), id(&unassigned)], "billing sees its team's tickets, not shipping's owned one");
    let seen = ids(&app.get("/api/v1/tickets?sort=created", &supervisor).await.expect(StatusCode::OK));
    assert_eq!(seen, vec![id(&owned), id(&unassigned), id(&theirs)], "a supervisor sees everything");

    let found = app.get("/api/v1/search?q=zebra", &shipping_agent).await.expect(StatusCode::OK);
    assert_eq!(found["results"].as_array().map(Vec::len), Some(0), "search hides invisible tickets");
    let found = app.get("/api/v1/search?q=zebra", &billing_agent).await.expect(StatusCode::OK);
    assert_eq!(found["results"][0]["ticket"]["id"], owned["id"]);
}
