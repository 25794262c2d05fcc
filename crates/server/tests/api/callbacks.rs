//! The callback queue: requests from a caller waiting on the phone (the
//! voice gather) and through the API keep their place in line while others
//! join and while an unanswered attempt returns them; the oldest is offered
//! to the next agent, never to two at once, and tracked until done.

use std::collections::HashSet;

use rapport_core::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestAgent, TestApp};
use crate::twilio::{app_with_twilio, call, post_signed, twilio_api};

async fn queue(app: &TestApp) -> Vec<(String, Value, String)> {
    let list = app.get("/api/v1/callbacks", &app.admin).await.expect(StatusCode::OK);
    list["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["phone"].as_str().unwrap().to_owned(),
                entry["position"].clone(),
                entry["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn waiting(phone: &str, position: i64) -> (String, Value, String) {
    (phone.to_owned(), json!(position), "waiting".to_owned())
}

fn offered(phone: &str) -> (String, Value, String) {
    (phone.to_owned(), Value::Null, "offered".to_owned())
}

async fn next(app: &TestApp, agent: &TestAgent) -> Value {
    app.post("/api/v1/callbacks/next", agent, &json!({})).await.expect(StatusCode::OK)
}

async fn complete(app: &TestApp, agent: &TestAgent, id: i64, outcome: &str) -> Value {
    let path = format!("/api/v1/callbacks/{id}/complete");
    app.post(&path, agent, &json!({"outcome": outcome})).await.expect(StatusCode::OK)
}

#[tokio::test]
async fn callbacks_keep_their_place_and_are_offered_to_one_agent_at_a_time() {
    let (api_base, _) = twilio_api().await;
    let app = app_with_twilio(&api_base).await;
    let (first, second, third, fourth) = ("+14155550101", "+14155550102", "+14155550103", "+14155550104");

    // A caller waiting in the phone queue presses 1.
    assert_eq!(post_signed(&app, "/hooks/twilio/voice", &call("CA1", first, &[])).await.status(), StatusCode::OK);
    let pressed = call("CA1", first, &[("Digits", "1"), ("QueuePosition", "1")]);
    let answer = post_signed(&app, "/hooks/twilio/voice/gather", &pressed).await.text().await.unwrap();
    assert!(answer.contains("keep your place") && answer.contains("<Leave/>"), "{answer}");
    // Twilio's retry of the same request is the same callback.
    assert_eq!(post_signed(&app, "/hooks/twilio/voice/gather", &pressed).await.status(), StatusCode::OK);
    // Leaving the queue for a callback ends in a goodbye, not a voicemail.
    let left = call("CA1", first, &[("QueueResult", "leave"), ("QueueTime", "8")]);
    let goodbye = post_signed(&app, "/hooks/twilio/voice/queue", &left).await.text().await.unwrap();
    assert!(goodbye.contains("Goodbye") && !goodbye.contains("<Record"), "{goodbye}");

    // Two more through the API (as the live chat does); a number already in line keeps its place.
    let created =
        app.post("/api/v1/callbacks", &app.admin, &json!({"phone": second})).await.expect(StatusCode::CREATED);
    assert_eq!(created["position"], 2);
    assert_eq!(created["source"], "api");
    app.post("/api/v1/callbacks", &app.admin, &json!({"phone": third})).await.expect(StatusCode::CREATED);
    let again = app.post("/api/v1/callbacks", &app.admin, &json!({"phone": "+1 415 555 0101"})).await;
    assert_eq!(again.expect(StatusCode::CREATED)["position"], 1);
    assert_eq!(queue(&app).await, vec![waiting(first, 1), waiting(second, 2), waiting(third, 3)]);

    // The first is on the caller's ticket, which notes the request.
    let call_record = app.store.find_call("CA1").await.unwrap().unwrap();
    let ticket = call_record.ticket.unwrap().0;
    let list = app.get("/api/v1/callbacks", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(list["callbacks"][0]["ticket"], ticket);
    assert_eq!(list["callbacks"][0]["source"], "phone");
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    assert!(
        detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "note" && m["text"].as_str().unwrap().starts_with("Callback requested"))
    );

    // Errors name the field.
    let bad = app.post("/api/v1/callbacks", &app.admin, &json!({"phone": "call me"})).await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("phone"));
    let bad = app.post("/api/v1/callbacks", &app.admin, &json!({"phone": second, "ticket": 9999})).await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("ticket"));

    // The oldest goes to the next agent; the next one to another agent.
    let alice = app.agent(Role::Agent, &[]).await;
    let bob = app.agent(Role::Agent, &[]).await;
    let offer = next(&app, &alice).await;
    assert_eq!((offer["phone"].as_str(), offer["state"].as_str()), (Some(first), Some("offered")));
    assert_eq!(offer["offered_to"], alice.id);
    let first_id = offer["id"].as_i64().unwrap();
    assert_eq!(next(&app, &alice).await["id"], first_id, "one callback at a time");
    let bob_offer = next(&app, &bob).await;
    assert_eq!(bob_offer["phone"], second);
    assert_eq!(queue(&app).await, vec![waiting(third, 1), offered(first), offered(second)]);

    // Only the agent it is offered to completes it; the outcome is checked.
    let path = format!("/api/v1/callbacks/{first_id}/complete");
    app.post(&path, &bob, &json!({"outcome": "done"})).await.assert_error(StatusCode::CONFLICT, "conflict", None);
    let bad = app.post(&path, &alice, &json!({"outcome": "maybe"})).await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("outcome"));
    let missing = app.post("/api/v1/callbacks/4242/complete", &alice, &json!({"outcome": "done"})).await;
    missing.assert_error(StatusCode::NOT_FOUND, "not_found", None);

    // No answer: back in line at its original place, ahead of the later ones; a new one joins behind.
    let returned = complete(&app, &alice, first_id, "no_answer").await;
    assert_eq!((returned["state"].as_str(), returned["attempts"].as_i64()), (Some("waiting"), Some(1)));
    assert_eq!(returned["position"], 1);
    app.post("/api/v1/callbacks", &app.admin, &json!({"phone": fourth})).await.expect(StatusCode::CREATED);
    assert_eq!(queue(&app).await, vec![waiting(first, 1), waiting(third, 2), waiting(fourth, 3), offered(second)]);

    // Offered again first, and done.
    assert_eq!(next(&app, &alice).await["id"], first_id);
    let done = complete(&app, &alice, first_id, "done").await;
    assert_eq!((done["state"].as_str(), done["attempts"].as_i64()), (Some("done"), Some(2)));
    assert!(done["done_at"].is_string());
    complete(&app, &bob, bob_offer["id"].as_i64().unwrap(), "done").await;

    // Two agents asking at the same moment never get the same callback.
    let (carol, dave) = (app.agent(Role::Agent, &[]).await, app.agent(Role::Agent, &[]).await);
    let (one, two) = tokio::join!(next(&app, &carol), next(&app, &dave));
    let phones: HashSet<&str> = [one["phone"].as_str().unwrap(), two["phone"].as_str().unwrap()].into();
    assert_eq!(phones, HashSet::from([third, fourth]));
    assert_eq!(app.post("/api/v1/callbacks/next", &alice, &json!({})).await.status, StatusCode::NO_CONTENT);

    // Three unanswered attempts give it up.
    let (holder, held) = if one["phone"] == third { (&carol, one) } else { (&dave, two) };
    let id = held["id"].as_i64().unwrap();
    assert_eq!(complete(&app, holder, id, "no_answer").await["state"], "waiting");
    assert_eq!(next(&app, holder).await["id"], id);
    assert_eq!(complete(&app, holder, id, "no_answer").await["state"], "waiting");
    assert_eq!(next(&app, holder).await["id"], id);
    let cancelled = complete(&app, holder, id, "no_answer").await;
    assert_eq!((cancelled["state"].as_str(), cancelled["attempts"].as_i64()), (Some("cancelled"), Some(3)));
    assert!(queue(&app).await.iter().all(|(phone, _, _)| phone != third));
}
