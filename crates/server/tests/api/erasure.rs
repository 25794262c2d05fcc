//! Erasing a customer's personal data on request.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{id, spawn_app};

#[tokio::test]
async fn erasure_removes_name_identities_texts_and_copies_in_events() {
    let app = spawn_app().await;
    let email = "zoe.private@example.com";
    let body = json!({
        "subject": format!("Refund for {email}"),
        "body": "Hi, I am Zoe Private and my card ends 4242. Please refund me.",
        "channel": "email",
        "customer": { "email": email, "phone": "+44 7700 900123", "name": "Zoe Private" },
        "tags": ["refund"],
    });
    let ticket = app.create_ticket(&app.admin, &body).await;
    let number = id(&ticket);
    let customer = ticket["customer"].as_i64().expect("a customer id");
    let note = json!({"body": format!("Called Zoe Private back on {email}"), "public": false});
    app.post(&format!("/api/v1/tickets/{number}/messages"), &app.admin, &note).await.expect(StatusCode::CREATED);
    let other = app.create_ticket(&app.admin, &json!({
        "subject": "Unrelated", "body": "Someone else", "channel": "web", "customer": {"email": "other@example.com"}
    })).await;

    let erased = app.post(&format!("/api/v1/customers/{customer}/erase"), &app.admin, &json!({})).await;
    let erased = erased.expect(StatusCode::OK);
    assert_eq!(erased["name"], "[redacted]");
    assert_eq!(erased["identities"], json!([]));
    assert!(erased["erased_at"].is_string());

    let fetched = app.get(&format!("/api/v1/customers/{customer}"), &app.admin).await;
    assert!(
        !fetched.text.contains("Zoe") && !fetched.text.contains(email) && !fetched.text.contains("7700"),
        "{}",
        fetched.text
    );

    let reply = app.get(&format!("/api/v1/tickets/{number}"), &app.admin).await;
    let detail: &Value = &reply.body;
    assert_eq!(reply.status, StatusCode::OK);
    for forbidden in [email, "Zoe Private", "4242", "+447700900123"] {
        assert!(!reply.text.contains(forbidden), "{forbidden:?} left in {}", reply.text);
    }
    let events = detail["events"].as_array().expect("events");
    assert!(!serde_json::to_string(events).expect("json").contains(email), "no copy of the email in the events");
    assert!(events.iter().any(|event| event["type"] == "customer_erased" && event["customer"] == customer));
    let messages = detail["messages"].as_array().expect("messages");
    assert_eq!(messages[0]["text"], "[redacted]", "the customer's own message is redacted");
    assert!(
        messages[1]["text"].as_str().is_some_and(|text| text.contains("[redacted]")),
        "copies in notes are redacted"
    );

    let untouched = app.get(&format!("/api/v1/tickets/{}", id(&other)), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(untouched["messages"][0]["text"], "Someone else", "other customers are untouched");
    let found = app.get("/api/v1/search?q=refund", &app.admin).await.expect(StatusCode::OK);
    assert!(!found.to_string().contains(email), "search results carry no copy either");
}

#[tokio::test]
async fn erasing_an_unknown_customer_is_404() {
    let app = spawn_app().await;
    let reply = app.post("/api/v1/customers/999999/erase", &app.admin, &json!({})).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found", None);
}
