//! Issue 14: a public reply always has a delivery, shown with its reason, or
//! is refused with nothing stored; the first answer gives a ticket its owner.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn on(channel: &str, customer: Value) -> Value {
    json!({"subject": "Where is my parcel?", "body": "It was due on Monday.", "channel": channel, "customer": customer})
}

#[tokio::test]
async fn issue_14_a_whatsapp_ticket_of_an_email_only_customer_is_answered_by_email() {
    let app = spawn_app().await;
    let ticket = id(&app.create_ticket(&app.admin, &on("whatsapp", json!({"email": "ana@example.com"}))).await);
    let path = format!("/api/v1/tickets/{ticket}/messages");
    let reply = app.post(&path, &app.admin, &json!({"body": "It leaves today.", "public": true})).await;
    let reply = reply.expect(StatusCode::CREATED);
    assert_eq!(reply["channel"], "email");
    assert_eq!(reply["delivery"], "queued");
    assert_eq!(reply["route"]["reason"], "fallback");
    assert_eq!(reply["route"]["unreachable"], "whatsapp");
    let explanation = reply["route"]["explanation"].as_str().unwrap();
    assert!(explanation.contains("no address on WhatsApp"), "{explanation}");
    // Naming WhatsApp is refused: the customer has no phone number.
    let asked = json!({"body": "By WhatsApp?", "public": true, "channel": "whatsapp"});
    let refused = app.post(&path, &app.admin, &asked).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "customer_unreachable", Some("channel"));

    // A customer with a phone number is answered on the ticket's own channel.
    let ticket = id(&app.create_ticket(&app.admin, &on("whatsapp", json!({"phone": "+4915112345678"}))).await);
    let path = format!("/api/v1/tickets/{ticket}/messages");
    let reply = app.post(&path, &app.admin, &json!({"body": "It leaves today.", "public": true})).await;
    let reply = reply.expect(StatusCode::CREATED);
    assert_eq!(
        (reply["channel"].as_str(), reply["route"]["reason"].as_str()),
        (Some("whatsapp"), Some("ticket_channel"))
    );
}

#[tokio::test]
async fn issue_14_a_reply_to_a_customer_no_channel_reaches_is_refused_with_nothing_stored() {
    let app = spawn_app().await;
    let created = app.create_ticket(&app.admin, &on("phone", json!({"phone": "+4915112345678"}))).await;
    let ticket = id(&created);
    app.post(&format!("/api/v1/customers/{}/erase", created["customer"]), &app.admin, &json!({}))
        .await
        .expect(StatusCode::OK);
    let before = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let path = format!("/api/v1/tickets/{ticket}/messages");
    let refused = app.post(&path, &app.admin, &json!({"body": "Hello?", "public": true})).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "customer_unreachable", None);
    let after = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(before["messages"], after["messages"]);
    assert_eq!(before["version"], after["version"]);
}

#[tokio::test]
async fn issue_14_the_first_reply_makes_the_agent_owner_and_a_team_can_turn_it_off() {
    let app = spawn_app().await;
    let team = app.team("Triage").await;
    let agent = app.agent(rapport_core::Role::Agent, &[team]).await;
    let mut body = on("email", json!({"email": "ana@example.com"}));
    body["team"] = json!(team);
    let ticket = id(&app.create_ticket(&app.admin, &body).await);
    let reply = json!({"body": "Looking into it.", "public": true});
    app.post(&format!("/api/v1/tickets/{ticket}/messages"), &agent, &reply).await.expect(StatusCode::CREATED);
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &agent).await.expect(StatusCode::OK);
    assert_eq!(detail["owner"], agent.id);

    let patched =
        app.patch(&format!("/api/v1/teams/{team}"), &app.admin, &json!({"owner_on_reply": "none"}), None).await;
    assert_eq!(patched.expect(StatusCode::OK)["owner_on_reply"], "none");
    let bad =
        app.patch(&format!("/api/v1/teams/{team}"), &app.admin, &json!({"owner_on_reply": "whoever"}), None).await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("owner_on_reply"));
    // The change is in the audit log, by the admin, with before and after; the refused one is not.
    let filter = rapport_store::AuditFilter { subject: Some("team".into()), limit: 10, ..Default::default() };
    let audit = app.store.list_audit(filter).await.unwrap();
    assert_eq!(audit.len(), 2, "the team's creation, then the change: {audit:?}");
    assert_eq!((audit[0].entry.verb.as_str(), audit[1].entry.verb.as_str()), ("changed", "created"));
    assert_eq!(audit[0].entry.actor, rapport_core::Actor::Agent(rapport_core::AgentId(app.admin.id)));
    let (old, new) = (audit[0].entry.old.clone().unwrap(), audit[0].entry.new.clone().unwrap());
    assert_eq!((old["owner_on_reply"].as_str(), new["owner_on_reply"].as_str()), (Some("replier"), Some("none")));
    let ticket = id(&app.create_ticket(&app.admin, &body).await);
    app.post(&format!("/api/v1/tickets/{ticket}/messages"), &agent, &reply).await.expect(StatusCode::CREATED);
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &agent).await.expect(StatusCode::OK);
    assert_eq!(detail["owner"], Value::Null);
}
