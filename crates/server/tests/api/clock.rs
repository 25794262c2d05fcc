//! Issue 16: every part reads time from the server's one clock. On a clock
//! moved by hand, a webhook message, a chat message and a help-page reply are
//! stamped with the moved time, not the system's.

use futures_util::{SinkExt, StreamExt};
use rapport_core::Timestamp;
use rapport_core::chat::VisitorId;
use rapport_core::time::{DAY, HOUR};
use rapport_server::ServerConfig;
use rapport_server::http::wire::rfc3339;
use rapport_server::settings::TelegramSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::help::{as_refs, link_secret, request_fields, session_cookie, ticket_number};
use crate::helpers::{TestApp, spawn_app_at};

/// Where the clock starts: well before the system's now, so that nothing
/// stamped on it could pass for a reading of the system clock.
const START: Timestamp = Timestamp(1_700_000_000_000);

/// The last message of a ticket, as the API shows it.
async fn last_message(app: &TestApp, ticket: i64) -> Value {
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    detail["messages"].as_array().unwrap().last().unwrap().clone()
}

#[tokio::test]
async fn issue_16_a_webhook_a_chat_and_a_help_page_reply_carry_the_moved_clock() {
    let telegram = TelegramSettings {
        bot_token: "123:ABC".into(),
        secret_token: "s3cret-token".into(),
        // Nothing is sent to Telegram in this test.
        api_base: "http://127.0.0.1:9".to_owned(),
    };
    let config = ServerConfig { telegram: Some(telegram), ..ServerConfig::default() };
    let app = spawn_app_at(config, START).await;

    // A Telegram message a day later.
    app.clock.set(START.plus_millis(DAY));
    let update = json!({
        "update_id": 1,
        "message": {
            "message_id": 10, "date": 1441645532,
            "chat": {"id": 1111111, "type": "private", "first_name": "Test"},
            "from": {"id": 1111111, "is_bot": false, "first_name": "Test"},
            "text": "My order is late"
        }
    });
    let hooked = app
        .client
        .post(format!("{}/hooks/telegram", app.address))
        .header("X-Telegram-Bot-Api-Secret-Token", "s3cret-token")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(hooked.status(), StatusCode::OK);
    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    let telegram_ticket = page["tickets"][0]["id"].as_i64().unwrap();
    let message = last_message(&app, telegram_ticket).await;
    assert_eq!(message["text"], "My order is late");
    assert_eq!(message["created_at"], rfc3339(START.plus_millis(DAY)), "{message}");

    // A chat message over the visitor's WebSocket two days later.
    app.clock.set(START.plus_millis(2 * DAY));
    let url = format!("{}/chat/ws", app.address.replacen("http://", "ws://", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("connecting a visitor");
    let visitor = "v-issue-16-clock";
    socket.send(Message::text(json!({"type": "hello", "visitor": visitor}).to_string())).await.unwrap();
    let hello = json!({"type": "message", "client_id": "c1", "text": "Is anyone there?"});
    socket.send(Message::text(hello.to_string())).await.unwrap();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("an acknowledgment in time")
            .expect("the socket is open")
            .expect("a readable frame");
        if let Message::Text(text) = frame {
            let frame: Value = serde_json::from_str(text.as_str()).unwrap();
            if frame["type"] == "ack" && frame["client_id"] == "c1" {
                break;
            }
        }
    }
    let chat = app.store.find_current_chat(&VisitorId::parse(visitor).unwrap()).await.unwrap().expect("a chat");
    let chat_ticket = chat.ticket.expect("the chat has a ticket").0;
    let message = last_message(&app, chat_ticket).await;
    assert_eq!(message["text"], "Is anyone there?");
    assert_eq!(message["created_at"], rfc3339(START.plus_millis(2 * DAY)), "{message}");

    // A reply from the help pages three days later, by a customer who
    // followed the emailed link.
    app.clock.set(START.plus_millis(3 * DAY));
    let number = ticket_number(&app.submit(&request_fields("ann@example.com")).await.text);
    let mail = app.take_mail().await;
    let followed = app.page(&format!("/help/t/{}", link_secret(&mail[0].text)), None).await;
    assert_eq!(followed.status, StatusCode::OK, "{}", followed.text);
    let cookie = session_cookie(&followed);
    app.clock.advance(HOUR);
    let fields = [("message", "Thanks, got it!".to_owned())];
    let replied = app.post_form(&format!("/help/tickets/{number}/reply"), &as_refs(&fields), &[], Some(&cookie)).await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.text);
    let message = last_message(&app, number).await;
    assert_eq!(message["text"], "Thanks, got it!");
    assert_eq!(message["created_at"], rfc3339(START.plus_millis(3 * DAY + HOUR)), "{message}");
}
