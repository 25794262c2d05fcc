//! The Messenger/Instagram webhook: handshake, signatures, filing (retries
//! once, follow-ups on the open ticket, attachments fetched from Meta's CDN,
//! echoes ignored), replies through the Graph API stand-in, delivery receipts
//! by `mid` and read receipts by watermark, Instagram on the same endpoint,
//! and a reply outside the 24-hour window sent with the message tag.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use rapport_core::intake::InboundMessage;
use rapport_core::{Channel, Identity, Timestamp};
use rapport_server::ServerConfig;
use rapport_server::settings::MessengerSettings;
use rapport_store::FileInbound;

use crate::helpers::{TestApp, now, spawn_app_with};
use crate::whatsapp::{check_handshake, graph_api, media_bytes, post_signed, sent_to, wait_for_delivery};

const SECRET: &str = "page-app-secret";
const HOOK: &str = "/hooks/messenger";

fn config(api_base: String) -> ServerConfig {
    ServerConfig {
        messenger: Some(MessengerSettings {
            app_secret: SECRET.into(),
            verify_token: "page-verify".into(),
            page_access_token: "page-token".into(),
            api_base,
            message_tag: Some("HUMAN_AGENT".into()),
        }),
        ..ServerConfig::default()
    }
}

/// A notification in the Messenger Platform's documented shape.
fn notification(object: &str, events: Value) -> Value {
    json!({"object": object, "entry": [{"id": "PAGE_ID", "time": 1458692752478_i64, "messaging": events}]})
}

fn message(psid: &str, mid: &str, text: &str) -> Value {
    json!([{"sender": {"id": psid}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458692752478_i64,
            "message": {"mid": mid, "text": text}}])
}

async fn ticket_of(app: &TestApp, channel: &str) -> i64 {
    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    let tickets: Vec<&Value> = page["tickets"].as_array().unwrap().iter().filter(|t| t["channel"] == channel).collect();
    assert_eq!(tickets.len(), 1, "{page}");
    tickets[0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn messenger_messages_are_verified_filed_once_with_attachments_and_answered_with_receipts() {
    let (api_base, calls) = graph_api("page-token").await;
    let app = spawn_app_with(config(api_base.clone())).await;
    check_handshake(&app, HOOK, "page-verify").await;

    let first =
        notification("page", message("1254459154682919", "mid.1457764197618:41d102a3e1ae206a38", "hello, world!"));
    assert_eq!(post_signed(&app, HOOK, "wrong-secret", &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.store.count_tickets().await.unwrap(), 0);
    assert_eq!(post_signed(&app, HOOK, SECRET, &first).await, StatusCode::OK);
    assert_eq!(post_signed(&app, HOOK, SECRET, &first).await, StatusCode::OK, "Meta's retry");

    // A follow-up with a photo (fetched from the CDN URL and kept) and our own echo (ignored).
    let photo_url = format!("{api_base}/cdn/123_456_n.jpg?_nc_cat=1");
    let follow_up = notification(
        "page",
        json!([
            {"sender": {"id": "1254459154682919"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458692752480_i64,
             "message": {"mid": "mid.2", "text": "This one", "attachments": [{"type": "image", "payload": {"url": photo_url}}]}},
            {"sender": {"id": "PAGE_ID"}, "recipient": {"id": "1254459154682919"}, "timestamp": 1458692752481_i64,
             "message": {"mid": "mid.echo", "is_echo": true, "text": "an answer sent from the Page inbox"}}
        ]),
    );
    assert_eq!(post_signed(&app, HOOK, SECRET, &follow_up).await, StatusCode::OK);
    let ticket = ticket_of(&app, "messenger").await;
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let messages = detail["messages"].as_array().unwrap();
    let texts: Vec<&str> = messages.iter().map(|message| message["text"].as_str().unwrap()).collect();
    assert_eq!(texts, vec!["hello, world!", "This one\n[image]"]);
    let attachment = &messages[1]["attachments"][0];
    assert_eq!(attachment["filename"], "123_456_n.jpg");
    assert_eq!(attachment["content_type"], "image/jpeg");
    assert_eq!(attachment["sha256"], hex::encode(Sha256::digest(media_bytes("123_456_n.jpg"))));
    assert_eq!(detail["service_window"]["state"], "open");

    // The reply goes through the Send API with the Page token, as a standard response.
    let body = json!({"body": "Thanks, we are on it.", "public": true});
    app.post(&format!("/api/v1/tickets/{ticket}/messages"), &app.admin, &body).await.expect(StatusCode::CREATED);
    let sent = sent_to(&calls, "/me/messages", 1).await;
    assert_eq!(sent.authorization.as_deref(), Some("Bearer page-token"));
    assert_eq!(
        sent.body,
        json!({"recipient": {"id": "1254459154682919"}, "messaging_type": "RESPONSE",
               "message": {"text": "Thanks, we are on it."}})
    );
    wait_for_delivery(&app, ticket, "sent").await;
    let mid = format!("m_sent_{}", calls.lock().unwrap().len());

    // Delivery names the mid; the read receipt is a watermark covering it.
    let delivery = notification(
        "page",
        json!([{"sender": {"id": "1254459154682919"}, "recipient": {"id": "PAGE_ID"},
        "delivery": {"mids": [mid], "watermark": now().0}}]),
    );
    assert_eq!(post_signed(&app, HOOK, SECRET, &delivery).await, StatusCode::OK);
    wait_for_delivery(&app, ticket, "delivered").await;
    let read = notification(
        "page",
        json!([{"sender": {"id": "1254459154682919"}, "recipient": {"id": "PAGE_ID"},
        "timestamp": now().0, "read": {"watermark": now().0}}]),
    );
    assert_eq!(post_signed(&app, HOOK, SECRET, &read).await, StatusCode::OK);
    wait_for_delivery(&app, ticket, "read").await;

    // Another person's watermark moves nothing of this customer's.
    let body = json!({"body": "One more thing.", "public": true});
    app.post(&format!("/api/v1/tickets/{ticket}/messages"), &app.admin, &body).await.expect(StatusCode::CREATED);
    wait_for_delivery(&app, ticket, "sent").await;
    let stranger = notification(
        "page",
        json!([{"sender": {"id": "999"}, "recipient": {"id": "PAGE_ID"},
        "timestamp": now().0, "read": {"watermark": now().0}}]),
    );
    assert_eq!(post_signed(&app, HOOK, SECRET, &stranger).await, StatusCode::OK);
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["messages"].as_array().unwrap().last().unwrap()["delivery"], "sent");
    assert_eq!(app.store.count_tickets().await.unwrap(), 1);
}

#[tokio::test]
async fn instagram_shares_the_endpoint_and_late_replies_are_tagged() {
    let (api_base, calls) = graph_api("page-token").await;
    let app = spawn_app_with(config(api_base)).await;

    // Instagram direct messages come on the same endpoint, as their own channel.
    let dm = notification("instagram", message("IGSID-1", "aWdfZAG1", "Is this in stock?"));
    assert_eq!(post_signed(&app, HOOK, SECRET, &dm).await, StatusCode::OK);
    let ticket = ticket_of(&app, "instagram").await;
    let body = json!({"body": "Yes, in all sizes.", "public": true});
    app.post(&format!("/api/v1/tickets/{ticket}/messages"), &app.admin, &body).await.expect(StatusCode::CREATED);
    let sent = sent_to(&calls, "/me/messages", 1).await;
    assert_eq!(sent.body["recipient"], json!({"id": "IGSID-1"}));
    assert_eq!(sent.body["messaging_type"], "RESPONSE");
    wait_for_delivery(&app, ticket, "sent").await;

    // A Messenger customer who wrote 30 hours ago gets a HUMAN_AGENT-tagged reply.
    let message = InboundMessage {
        external_id: Some("messenger:mid.old".into()),
        ..InboundMessage::new(
            Channel::Messenger,
            Identity::handle("messenger:PSID-OLD").unwrap(),
            "Refund?".into(),
            "Can I get a refund?".into(),
            Timestamp(now().0 - 30 * 3_600_000),
        )
    };
    let rate_limit = rapport_server::settings::MailSettings::default().rate_limit;
    let filed = app.store.file_inbound(FileInbound { message, raw: Vec::new(), acknowledgment: None, rate_limit });
    let late = filed.await.unwrap().ticket().unwrap().0;
    let detail = app.get(&format!("/api/v1/tickets/{late}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["service_window"]["state"], "closed");
    let body = json!({"body": "Yes, refunded today.", "public": true});
    app.post(&format!("/api/v1/tickets/{late}/messages"), &app.admin, &body).await.expect(StatusCode::CREATED);
    let sent = sent_to(&calls, "/me/messages", 2).await;
    assert_eq!(
        sent.body,
        json!({"recipient": {"id": "PSID-OLD"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
               "message": {"text": "Yes, refunded today."}})
    );
    wait_for_delivery(&app, late, "sent").await;
}
