//! The WhatsApp Cloud API webhook: the subscription handshake, signatures,
//! filing (retries once, follow-ups on the open ticket, media fetched and
//! kept, 503 while media cannot be fetched), replies through a local stand-in
//! for the Graph API that checks each request, receipts, and the 24-hour
//! window (a reply outside it goes out as the template).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode as AxumStatus, Uri};
use axum::response::IntoResponse;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use rapport_channels::webhook::meta_signature;
use rapport_core::intake::InboundMessage;
use rapport_core::{Channel, Identity, Timestamp};
use rapport_server::ServerConfig;
use rapport_server::settings::{TemplateSettings, WhatsappSettings};
use rapport_store::FileInbound;

use crate::helpers::{TestApp, now, spawn_app_with};

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

pub type Calls = Arc<Mutex<Vec<Call>>>;

/// The bytes the stand-in serves for a media file.
pub fn media_bytes(name: &str) -> Vec<u8> {
    format!("\u{ff}\u{d8} fake JPEG bytes of {name}").into_bytes()
}

/// A stand-in for graph.facebook.com. It records every request and refuses
/// any without `Authorization: Bearer <token>` (except the CDN, as Meta's is
/// public). Sends (`POST /<phone number id>/messages`, `POST /me/messages`)
/// get a fresh message id; a media lookup (`GET /<media id>`) gets a URL on the
/// stand-in itself, whose download serves [`media_bytes`]; the media id
/// `flaky` fails with 500 the first time.
pub async fn graph_api(token: &'static str) -> (String, Calls) {
    let calls: Calls = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let recorded = calls.clone();
    let own_base = base.clone();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let recorded = recorded.clone();
        let base = own_base.clone();
        async move {
            let authorization = headers.get("authorization").and_then(|value| value.to_str().ok()).map(str::to_owned);
            let path = uri.path().to_owned();
            let call = Call {
                method: method.to_string(),
                path: path.clone(),
                authorization: authorization.clone(),
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            };
            let (count, same_path) = {
                let mut calls = recorded.lock().unwrap();
                calls.push(call.clone());
                (calls.len(), calls.iter().filter(|earlier| earlier.path == path).count())
            };
            if let Some(name) = path.strip_prefix("/cdn/") {
                return ([("content-type", "image/jpeg")], media_bytes(name)).into_response();
            }
            if authorization.as_deref() != Some(&format!("Bearer {token}")) {
                let error =
                    json!({"error": {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}});
                return (AxumStatus::UNAUTHORIZED, axum::Json(error)).into_response();
            }
            if method == Method::POST && path == "/me/messages" {
                let recipient = call.body["recipient"]["id"].clone();
                return axum::Json(json!({"recipient_id": recipient, "message_id": format!("m_sent_{count}")}))
                    .into_response();
            }
            if method == Method::POST && path.ends_with("/messages") {
                let to = call.body["to"].clone();
                let answer = json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": format!("wamid.sent.{count}")}]
                });
                return axum::Json(answer).into_response();
            }
            if let Some(id) = path.strip_prefix("/download/") {
                return ([("content-type", "image/jpeg")], media_bytes(id)).into_response();
            }
            let id = path.trim_start_matches('/');
            if id == "flaky" && same_path == 1 {
                return (AxumStatus::INTERNAL_SERVER_ERROR, "try later").into_response();
            }
            axum::Json(json!({
                "messaging_product": "whatsapp",
                "url": format!("{base}/download/{id}"),
                "mime_type": "image/jpeg",
                "sha256": hex::encode(Sha256::digest(media_bytes(id))),
                "file_size": media_bytes(id).len(),
                "id": id
            }))
            .into_response()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, calls)
}

/// Waits until `calls` holds a request to a path ending in `suffix`, and returns the last such.
pub async fn sent_to(calls: &Calls, suffix: &str, count: usize) -> Call {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let matching: Vec<Call> =
            calls.lock().unwrap().iter().filter(|call| call.path.ends_with(suffix)).cloned().collect();
        if matching.len() >= count {
            return matching[count - 1].clone();
        }
        assert!(Instant::now() < deadline, "no request {count} to …{suffix}: {:?}", calls.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the ticket's last message has `delivery`, and returns the detail.
pub async fn wait_for_delivery(app: &TestApp, ticket: i64, delivery: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
        let last = detail["messages"].as_array().unwrap().last().unwrap().clone();
        if last["delivery"] == delivery {
            return detail;
        }
        assert!(Instant::now() < deadline, "the reply never became {delivery}: {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// POSTs `body` to `path` signed with `secret` (or with `signature` as given).
pub async fn post_signed(app: &TestApp, path: &str, secret: &str, body: &Value) -> StatusCode {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = meta_signature(secret, &bytes);
    post_with_signature(app, path, Some(&signature), bytes).await
}

pub async fn post_with_signature(app: &TestApp, path: &str, signature: Option<&str>, bytes: Vec<u8>) -> StatusCode {
    let mut request = app.client.post(format!("{}{path}", app.address)).header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("X-Hub-Signature-256", signature);
    }
    request.body(bytes).send().await.unwrap().status()
}

/// The handshake: the challenge for the right token, 403 for a wrong one.
pub async fn check_handshake(app: &TestApp, path: &str, verify_token: &str) {
    let url = |token: &str| {
        format!("{}{path}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444", app.address)
    };
    let right = app.client.get(url(verify_token)).send().await.unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert_eq!(right.text().await.unwrap(), "1158201444");
    assert_eq!(app.client.get(url("wrong-token")).send().await.unwrap().status(), StatusCode::FORBIDDEN);
}

const SECRET: &str = "wa-app-secret";
const PHONE_NUMBER_ID: &str = "106540352242922";

fn config(api_base: String, template: Option<TemplateSettings>) -> ServerConfig {
    ServerConfig {
        whatsapp: Some(WhatsappSettings {
            app_secret: SECRET.into(),
            verify_token: "wa-verify".into(),
            access_token: "wa-token".into(),
            phone_number_id: PHONE_NUMBER_ID.into(),
            api_base,
            template,
        }),
        ..ServerConfig::default()
    }
}

/// A notification in Meta's documented shape, from Sheena Nelson's number.
fn notification(messages: Value, statuses: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": messages,
        "statuses": statuses
    }}]}]})
}

fn text(wamid: &str, body: &str) -> Value {
    json!([{"from": "16505551234", "id": wamid, "timestamp": "1749416383", "type": "text", "text": {"body": body}}])
}

fn image(wamid: &str, media_id: &str) -> Value {
    json!([{"from": "16505551234", "id": wamid, "timestamp": "1749416390", "type": "image",
            "image": {"caption": "The scratch", "mime_type": "image/jpeg", "sha256": "abc", "id": media_id}}])
}

fn status(wamid: &str, state: &str) -> Value {
    json!([{"id": wamid, "status": state, "timestamp": "1750857384", "recipient_id": "16505551234"}])
}

#[tokio::test]
async fn whatsapp_messages_are_verified_filed_once_with_media_and_answered_with_receipts() {
    let (api_base, calls) = graph_api("wa-token").await;
    let app = spawn_app_with(config(api_base, None)).await;
    let hook = "/hooks/whatsapp";
    check_handshake(&app, hook, "wa-verify").await;

    // A bad or missing signature is 401 and stores nothing.
    let first = notification(text("wamid.A1", "Does it come in another color?"), json!([]));
    assert_eq!(post_signed(&app, hook, "not-the-secret", &first).await, StatusCode::UNAUTHORIZED);
    let bytes = serde_json::to_vec(&first).unwrap();
    assert_eq!(post_with_signature(&app, hook, None, bytes).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.store.count_tickets().await.unwrap(), 0);

    // A message opens a WhatsApp ticket; Meta's retry of it is filed once; a
    // follow-up joins the open ticket.
    assert_eq!(post_signed(&app, hook, SECRET, &first).await, StatusCode::OK);
    assert_eq!(post_signed(&app, hook, SECRET, &first).await, StatusCode::OK);
    let follow_up = notification(text("wamid.A2", "Blue would be great"), json!([]));
    assert_eq!(post_signed(&app, hook, SECRET, &follow_up).await, StatusCode::OK);
    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    let tickets = page["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1, "{page}");
    assert_eq!(tickets[0]["channel"], "whatsapp");
    let ticket = tickets[0]["id"].as_i64().unwrap();

    // Media is fetched through the Graph API (lookup, then download, both
    // with the token) and kept. While a fetch fails, the webhook answers 503
    // and files nothing, so Meta tries again.
    let flaky = notification(image("wamid.A3", "flaky"), json!([]));
    assert_eq!(post_signed(&app, hook, SECRET, &flaky).await, StatusCode::SERVICE_UNAVAILABLE);
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 2, "nothing half-written");
    assert_eq!(post_signed(&app, hook, SECRET, &flaky).await, StatusCode::OK);
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let messages = detail["messages"].as_array().unwrap();
    let texts: Vec<&str> = messages.iter().map(|message| message["text"].as_str().unwrap()).collect();
    assert_eq!(texts, vec!["Does it come in another color?", "Blue would be great", "The scratch\n[image]"]);
    let attachment = &messages[2]["attachments"][0];
    assert_eq!(attachment["filename"], "image-flaky.jpg");
    assert_eq!(attachment["content_type"], "image/jpeg");
    assert_eq!(attachment["size"], media_bytes("flaky").len());
    assert_eq!(attachment["sha256"], hex::encode(Sha256::digest(media_bytes("flaky"))));
    let media_calls: Vec<(String, String)> = calls
        .lock()
        .unwrap()
        .iter()
        .map(|call| (call.path.clone(), call.authorization.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        media_calls,
        vec![
            ("/flaky".to_owned(), "Bearer wa-token".to_owned()),
            ("/flaky".to_owned(), "Bearer wa-token".to_owned()),
            ("/download/flaky".to_owned(), "Bearer wa-token".to_owned()),
        ]
    );
    assert_eq!(detail["service_window"]["state"], "open", "{}", detail["service_window"]);
    assert_eq!(detail["service_window"]["channel"], "whatsapp");

    // The agent's reply goes out free-form (the window is open) and is
    // recorded under the wamid the Cloud API gave it.
    let body = json!({"body": "Yes, it comes in blue.", "public": true});
    let reply = app.post(&format!("/api/v1/tickets/{ticket}/messages"), &app.admin, &body).await;
    assert_eq!(reply.expect(StatusCode::CREATED)["channel"], "whatsapp");
    let sent = sent_to(&calls, &format!("/{PHONE_NUMBER_ID}/messages"), 1).await;
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.authorization.as_deref(), Some("Bearer wa-token"));
    assert_eq!(
        sent.body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
               "type": "text", "text": {"body": "Yes, it comes in blue."}})
    );
    wait_for_delivery(&app, ticket, "sent").await;
    let wamid = format!("wamid.sent.{}", calls.lock().unwrap().len());

    // Its statuses move it forward (and a late "delivered" does not undo "read").
    let delivered = notification(json!([]), status(&wamid, "delivered"));
    assert_eq!(post_signed(&app, hook, SECRET, &delivered).await, StatusCode::OK);
    wait_for_delivery(&app, ticket, "delivered").await;
    let read = notification(json!([]), status(&wamid, "read"));
    assert_eq!(post_signed(&app, hook, SECRET, &read).await, StatusCode::OK);
    assert_eq!(post_signed(&app, hook, SECRET, &delivered).await, StatusCode::OK);
    wait_for_delivery(&app, ticket, "read").await;

    // A body that is not a notification is kept, not lost.
    let garbage = b"{\"object\": 42".to_vec();
    let signature = meta_signature(SECRET, &garbage);
    assert_eq!(post_with_signature(&app, hook, Some(&signature), garbage).await, StatusCode::OK);
    assert_eq!(app.store.list_quarantine(Some("held"), 10).await.unwrap().len(), 1);
    assert_eq!(app.store.count_tickets().await.unwrap(), 1);
}

#[tokio::test]
async fn a_whatsapp_reply_outside_the_24_hour_window_is_sent_as_the_template() {
    let (api_base, calls) = graph_api("wa-token").await;
    let template = TemplateSettings { name: "support_reply".into(), language: "en_US".into(), text_parameter: true };
    let app = spawn_app_with(config(api_base, Some(template))).await;

    // The customer's message came 25 hours ago.
    let received_at = Timestamp(now().0 - 25 * 3_600_000);
    let message = InboundMessage {
        sender_name: Some("Sheena Nelson".into()),
        external_id: Some("whatsapp:wamid.OLD".into()),
        ..InboundMessage::new(
            Channel::Whatsapp,
            Identity::phone("+16505551234").unwrap(),
            "Where is my parcel?".into(),
            "Where is my parcel?".into(),
            received_at,
        )
    };
    let rate_limit = rapport_server::settings::MailSettings::default().rate_limit;
    let filed = app.store.file_inbound(FileInbound { message, raw: Vec::new(), acknowledgment: None, rate_limit });
    let ticket = filed.await.unwrap().ticket().unwrap().0;
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["service_window"]["state"], "closed", "{}", detail["service_window"]);

    let body = json!({"body": "We found your parcel.\nIt arrives on Monday.", "public": true});
    app.post(&format!("/api/v1/tickets/{ticket}/messages"), &app.admin, &body).await.expect(StatusCode::CREATED);
    let sent = sent_to(&calls, &format!("/{PHONE_NUMBER_ID}/messages"), 1).await;
    assert_eq!(sent.authorization.as_deref(), Some("Bearer wa-token"));
    assert_eq!(
        sent.body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
               "type": "template", "template": {"name": "support_reply", "language": {"code": "en_US"},
               "components": [{"type": "body", "parameters": [
                   {"type": "text", "text": "We found your parcel. It arrives on Monday."}]}]}})
    );
    wait_for_delivery(&app, ticket, "sent").await;

    // Once the customer writes again, the window is open again.
    let again = notification(text("wamid.NEW", "Thanks!"), json!([]));
    assert_eq!(post_signed(&app, "/hooks/whatsapp", SECRET, &again).await, StatusCode::OK);
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["service_window"]["state"], "open", "{}", detail["service_window"]);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 3, "the new message joined the ticket");
}

#[tokio::test]
async fn the_whatsapp_hook_is_404_when_not_configured() {
    let app = spawn_app_with(ServerConfig::default()).await;
    let body = notification(text("wamid.X", "hi"), json!([]));
    assert_eq!(post_signed(&app, "/hooks/whatsapp", SECRET, &body).await, StatusCode::NOT_FOUND);
}
