//! The Telegram webhook: secret-token check, filing, retries filed once,
//! follow-ups joining the open ticket, and replies through a local stand-in
//! for the Bot API that records each request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::Uri;
use reqwest::StatusCode;
use serde_json::{Value, json};

use rapport_server::ServerConfig;
use rapport_server::settings::TelegramSettings;

use crate::helpers::spawn_app_with;

type Calls = Arc<Mutex<Vec<(String, Value)>>>;

/// A stand-in for api.telegram.org: answers `{"ok": true}` and records every call.
async fn bot_api() -> (String, Calls) {
    let calls: Calls = Arc::default();
    let recorded = calls.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
        let recorded = recorded.clone();
        async move {
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            recorded.lock().unwrap().push((uri.path().to_owned(), json));
            axum::Json(json!({"ok": true, "result": {}}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, calls)
}

fn update(update_id: i64, message_id: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": message_id, "date": 1441645532,
            "chat": {"id": 1111111, "type": "private", "first_name": "Test", "last_name": "Lastname"},
            "from": {"id": 1111111, "is_bot": false, "first_name": "Test", "last_name": "Lastname"},
            "text": text
        }
    })
}

#[tokio::test]
async fn telegram_updates_are_verified_filed_once_threaded_and_answered() {
    let (api_base, calls) = bot_api().await;
    let config = ServerConfig {
        telegram: Some(TelegramSettings { bot_token: "123:ABC".into(), secret_token: "s3cret-token".into(), api_base }),
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let hook = format!("{}/hooks/telegram", app.address);
    let post = |secret: Option<&'static str>, body: Value| {
        let mut request = app.client.post(&hook).json(&body);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send()
    };

    // A wrong or missing secret is 401 and stores nothing.
    assert_eq!(post(Some("wrong"), update(1, 10, "hi")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post(None, update(1, 10, "hi")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.store.count_tickets().await.unwrap(), 0);

    // A message opens a Telegram ticket; Telegram's retry of it is filed once.
    assert_eq!(post(Some("s3cret-token"), update(1, 10, "My order is late")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(post(Some("s3cret-token"), update(1, 10, "My order is late")).await.unwrap().status(), StatusCode::OK);
    // A follow-up joins the open ticket instead of opening a parallel one.
    assert_eq!(post(Some("s3cret-token"), update(2, 11, "Order 42")).await.unwrap().status(), StatusCode::OK);
    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    let tickets = page["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1, "{page}");
    assert_eq!(tickets[0]["channel"], "telegram");
    let ticket = tickets[0]["id"].as_i64().unwrap();
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let texts: Vec<&str> = detail["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, vec!["My order is late", "Order 42"]);
    assert!(calls.lock().unwrap().is_empty(), "no acknowledgment on a chat channel");

    // An agent's reply goes to the chat through the Bot API.
    let body = json!({"body": "It ships today.", "public": true});
    let reply = app.post(&format!("/api/v1/tickets/{ticket}/messages"), &app.admin, &body).await;
    let reply = reply.expect(StatusCode::CREATED);
    assert_eq!(reply["channel"], "telegram");
    assert_eq!(reply["delivery"], "queued");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while calls.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the reply never reached the Bot API");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (path, sent) = calls.lock().unwrap()[0].clone();
    assert_eq!(path, "/bot123:ABC/sendMessage");
    assert_eq!(sent, json!({"chat_id": 1111111, "text": "It ships today."}));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
        let last = detail["messages"].as_array().unwrap().last().unwrap().clone();
        if last["delivery"] == "sent" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the reply was never marked sent: {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Updates without a customer message are acknowledged and ignored; garbage is kept, not lost.
    let edit = json!({"update_id": 3, "edited_message": {"message_id": 10, "chat": {"id": 1111111}, "text": "x"}});
    assert_eq!(post(Some("s3cret-token"), edit).await.unwrap().status(), StatusCode::OK);
    let garbage = app.client.post(&hook).header("X-Telegram-Bot-Api-Secret-Token", "s3cret-token").body("{{{").send();
    assert_eq!(garbage.await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.store.list_quarantine(Some("held"), 10).await.unwrap().len(), 1);
    assert_eq!(app.store.count_tickets().await.unwrap(), 1);
}

#[tokio::test]
async fn the_telegram_hook_is_404_when_not_configured() {
    let app = spawn_app_with(ServerConfig::default()).await;
    let response = app.client.post(format!("{}/hooks/telegram", app.address)).json(&update(1, 1, "x")).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn issue_15_a_nul_in_a_telegram_message_is_filed_without_it() {
    let (api_base, _) = bot_api().await;
    let config = ServerConfig {
        telegram: Some(TelegramSettings { bot_token: "123:ABC".into(), secret_token: "s3cret-token".into(), api_base }),
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let hook = format!("{}/hooks/telegram", app.address);
    let send = |body: Value| {
        app.client.post(&hook).header("X-Telegram-Bot-Api-Secret-Token", "s3cret-token").json(&body).send()
    };
    // On PostgreSQL this was a 500 on every retry, never filed.
    assert_eq!(send(update(7, 70, "my\u{0}order")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(send(update(7, 70, "my\u{0}order")).await.unwrap().status(), StatusCode::OK, "the retry");
    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    let ticket = page["tickets"][0]["id"].as_i64().expect("one ticket");
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let texts: Vec<&str> = detail["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, vec!["myorder"], "{detail}");
}
