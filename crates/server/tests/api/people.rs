//! Customers, organizations, teams and agents: create, read, update, list.

use rapport_core::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{id, spawn_app, ticket_body};

#[tokio::test]
async fn customers_are_created_read_updated_and_matched_by_identity() {
    let app = spawn_app().await;
    let agent = app.agent(Role::Agent, &[]).await;
    let created = app
        .post(
            "/api/v1/customers",
            &agent,
            &json!({"name": "Ann", "email": "Ann@Example.com", "phone": "0044 7700 900123"}),
        )
        .await
        .expect(StatusCode::CREATED);
    // Identities an agent enters start unverified, recorded as theirs (issue 15).
    let identities = json!([
        {"kind": "email", "value": "ann@example.com", "verified": false, "added_by_agent": agent.id},
        {"kind": "phone", "value": "+447700900123", "verified": false, "added_by_agent": agent.id}
    ]);
    assert_eq!(created["identities"], identities);
    assert_eq!(created["tier"], Value::Null);
    let path = format!("/api/v1/customers/{}", id(&created));
    assert_eq!(app.get(&path, &agent).await.expect(StatusCode::OK)["name"], "Ann");

    let mut body = ticket_body("ann@example.com");
    body["customer"] = json!({"phone": "447700900123"});
    let ticket = app.create_ticket(&agent, &body).await;
    assert_eq!(ticket["customer"], created["id"], "a WhatsApp-style number matches the same customer");

    let duplicate = app.post("/api/v1/customers", &agent, &json!({"email": "ann@example.com"})).await;
    duplicate.assert_error(StatusCode::CONFLICT, "conflict", None);

    let organization = app.post("/api/v1/organizations", &app.admin, &json!({"name": "Acme", "tier": "premium"})).await;
    let organization = organization.expect(StatusCode::CREATED);
    assert_eq!(organization["tier"], "premium");
    let patch =
        json!({"name": "Ann Smith", "organization": id(&organization), "tier": "business", "chat": "visitor-7"});
    // A tier sets priority: an agent may not change it (issue 15), a supervisor may.
    app.patch(&path, &agent, &patch, None).await.assert_error(StatusCode::FORBIDDEN, "forbidden", Some("tier"));
    app.patch(&path, &agent, &json!({"tier": null}), None).await.assert_error(
        StatusCode::FORBIDDEN,
        "forbidden",
        Some("tier"),
    );
    let supervisor = app.agent(Role::Supervisor, &[]).await;
    let updated = app.patch(&path, &supervisor, &patch, None).await.expect(StatusCode::OK);
    assert_eq!(updated["name"], "Ann Smith");
    assert_eq!(updated["organization"], organization["id"]);
    assert_eq!(updated["tier"], "business");
    assert_eq!(updated["identities"].as_array().map(Vec::len), Some(3));
    let cleared =
        app.patch(&path, &supervisor, &json!({"organization": null, "tier": null}), None).await.expect(StatusCode::OK);
    assert_eq!((cleared["organization"].clone(), cleared["tier"].clone()), (Value::Null, Value::Null));

    app.patch(&path, &supervisor, &json!({"tier": "gold"}), None).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("tier"),
    );
    app.patch(&path, &agent, &json!({"email": "nope"}), None).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("email"),
    );
    app.patch(&path, &agent, &json!({"nickname": "x"}), None).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("nickname"),
    );
    app.patch("/api/v1/customers/999999", &agent, &json!({"name": "x"}), None).await.assert_error(
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    app.get("/api/v1/customers/999999", &agent).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
}

#[tokio::test]
async fn teams_and_organizations_are_managed_by_supervisors_and_read_by_all() {
    let app = spawn_app().await;
    let agent = app.agent(Role::Agent, &[]).await;
    let supervisor = app.agent(Role::Supervisor, &[]).await;
    let team = app.post("/api/v1/teams", &supervisor, &json!({"name": "Billing", "description": "Invoices"})).await;
    let team = team.expect(StatusCode::CREATED);
    let path = format!("/api/v1/teams/{}", id(&team));
    assert_eq!(app.get(&path, &agent).await.expect(StatusCode::OK)["description"], "Invoices");
    let duplicate = app.post("/api/v1/teams", &supervisor, &json!({"name": "Billing"})).await;
    duplicate.assert_error(StatusCode::CONFLICT, "conflict", None);
    let renamed = app.patch(&path, &supervisor, &json!({"name": "Payments"}), None).await.expect(StatusCode::OK);
    assert_eq!((renamed["name"].clone(), renamed["description"].clone()), (json!("Payments"), json!("Invoices")));
    app.patch(&path, &agent, &json!({"name": "Mine"}), None).await.assert_error(
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    app.post("/api/v1/teams", &supervisor, &json!({"name": " "})).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("name"),
    );

    let organization =
        app.post("/api/v1/organizations", &supervisor, &json!({"name": "Globex"})).await.expect(StatusCode::CREATED);
    assert_eq!(organization["tier"], "basic");
    let path = format!("/api/v1/organizations/{}", id(&organization));
    let changed = app.patch(&path, &supervisor, &json!({"tier": "premium"}), None).await.expect(StatusCode::OK);
    assert_eq!((changed["name"].clone(), changed["tier"].clone()), (json!("Globex"), json!("premium")));
    let listed = app.get("/api/v1/organizations", &agent).await.expect(StatusCode::OK);
    assert_eq!(listed["organizations"][0]["name"], "Globex");
    let reply = app.post("/api/v1/organizations", &supervisor, &json!({"name": "Initech", "tier": "gold"})).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("tier"));
}

#[tokio::test]
async fn agents_are_created_with_teams_and_changed_by_managers() {
    let app = spawn_app().await;
    let team = app.team("Support").await;
    let body = json!({"email": "sam@example.com", "name": "Sam", "role": "agent", "teams": [team], "skills": ["Billing"], "languages": ["en", "de"]});
    let created = app.post("/api/v1/agents", &app.admin, &body).await.expect(StatusCode::CREATED);
    assert_eq!(created["teams"], json!([team]));
    assert_eq!(created["skills"], json!(["billing"]));
    assert_eq!(created["active"], true);
    app.post("/api/v1/agents", &app.admin, &body).await.assert_error(StatusCode::CONFLICT, "conflict", None);
    let bad = json!({"email": "x", "name": "X", "role": "agent"});
    app.post("/api/v1/agents", &app.admin, &bad).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("email"),
    );
    let bad = json!({"email": "x@example.com", "name": "X", "role": "king"});
    app.post("/api/v1/agents", &app.admin, &bad).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("role"),
    );
    let bad = json!({"email": "y@example.com", "name": "Y", "role": "agent", "teams": [999999]});
    app.post("/api/v1/agents", &app.admin, &bad).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("teams"),
    );

    let path = format!("/api/v1/agents/{}", id(&created));
    let changed =
        app.patch(&path, &app.admin, &json!({"role": "supervisor", "teams": []}), None).await.expect(StatusCode::OK);
    assert_eq!((changed["role"].clone(), changed["teams"].clone()), (json!("supervisor"), json!([])));
    app.get("/api/v1/agents/999999", &app.admin).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
}

#[tokio::test]
async fn issue_15_the_last_admin_cannot_lock_everyone_out() {
    let app = spawn_app().await;
    let admin = &app.admin;
    let path = format!("/api/v1/agents/{}", admin.id);
    for change in [json!({"active": false}), json!({"role": "supervisor"})] {
        app.patch(&path, admin, &change, None).await.assert_error(StatusCode::CONFLICT, "conflict", None);
    }
    let kept = app.get(&path, admin).await.expect(StatusCode::OK);
    assert_eq!((kept["role"].as_str(), kept["active"].as_bool()), (Some("admin"), Some(true)));

    // Once a second admin exists, the first may step down, and the second is then the last.
    let second = app.agent(Role::Admin, &[]).await;
    app.patch(&path, admin, &json!({"role": "supervisor"}), None).await.expect(StatusCode::OK);
    let second_path = format!("/api/v1/agents/{}", second.id);
    let refused = app.patch(&second_path, &second, &json!({"active": false}), None).await;
    refused.assert_error(StatusCode::CONFLICT, "conflict", None);
}

#[tokio::test]
async fn issue_15_the_callback_line_hides_callbacks_on_tickets_an_agent_cannot_see() {
    let app = spawn_app().await;
    let billing = app.team("Billing").await;
    let sales = app.team("Sales").await;
    let seller = app.agent(Role::Agent, &[sales]).await;
    let mut hidden = ticket_body("payer@example.com");
    hidden["team"] = json!(billing);
    let hidden = id(&app.create_ticket(&app.admin, &hidden).await);
    // Owned by someone in another team (unassigned tickets are every agent's).
    let biller = app.agent(Role::Agent, &[billing]).await;
    app.set(hidden, json!({"owner": biller.id})).await;
    let mut shown = ticket_body("buyer@example.com");
    shown["team"] = json!(sales);
    let shown = id(&app.create_ticket(&app.admin, &shown).await);
    for (phone, ticket) in [("+14155550121", hidden), ("+14155550122", shown)] {
        let body = json!({"phone": phone, "ticket": ticket});
        app.post("/api/v1/callbacks", &app.admin, &body).await.expect(StatusCode::CREATED);
    }
    let line = |list: Value| -> Vec<(String, Value)> {
        list["callbacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| (entry["phone"].as_str().unwrap().to_owned(), entry["ticket"].clone()))
            .collect()
    };
    let all = line(app.get("/api/v1/callbacks", &app.admin).await.expect(StatusCode::OK));
    assert_eq!(all.len(), 2, "{all:?}");
    let seen = line(app.get("/api/v1/callbacks", &seller).await.expect(StatusCode::OK));
    assert_eq!(seen, vec![("+14155550122".to_owned(), json!(shown))]);
}
