//! Attachments that can be opened and sent (issue 14): downloads by agents
//! who may see the ticket and by customers in the help pages, served so no
//! browser renders them as our site; uploads with replies and notes as
//! `multipart/form-data`, held to their limits while they stream; and the
//! files going out as MIME parts by email and through each messaging
//! provider's media upload, against local stand-ins.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::Method;
use axum::response::IntoResponse;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use rapport_core::intake::InboundMessage;
use rapport_core::outbox::OutboundPayload;
use rapport_core::{Channel, Identity, InboundAttachment, Role};
use rapport_server::ServerConfig;
use rapport_server::settings::{MessengerSettings, TelegramSettings, TwilioSettings, WhatsappSettings};
use rapport_store::{FileInbound, Filed, MagicLink};

use crate::helpers::{Reply, TestAgent, TestApp, now, spawn_app, spawn_app_at, spawn_app_with};

const BOUNDARY: &str = "rapport-attach-boundary-3c9e";

/// A text field or a file of a multipart body.
pub(crate) enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        match part {
            Part::Text(name, value) => body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            ),
            Part::File(filename, content_type, content) => {
                body.extend_from_slice(
                    format!(
                        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{filename}\"\r\n\
                         Content-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(content);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

impl TestApp {
    pub(crate) async fn post_multipart(&self, path: &str, agent: &TestAgent, parts: &[Part<'_>]) -> Reply {
        let builder = self
            .request(reqwest::Method::POST, path, Some(agent))
            .header(CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(multipart(parts));
        self.send(builder).await
    }

    /// Files an inbound message from `sender` on `channel` carrying `files`; returns the ticket.
    pub(crate) async fn inbound_with_files(
        &self,
        channel: Channel,
        sender: Identity,
        files: Vec<InboundAttachment>,
    ) -> i64 {
        let at = self.clock.now();
        let mut message = InboundMessage::new(channel, sender, "Broken screen".into(), "Photos attached".into(), at);
        message.external_id = Some(format!("in-{}", rand_id()));
        message.attachments = files;
        let filing = FileInbound {
            message,
            raw: Vec::new(),
            acknowledgment: None,
            rate_limit: rapport_core::intake::RateLimit::default(),
        };
        match self.store.file_inbound(filing).await.unwrap() {
            Filed::Opened { ticket, .. } => ticket.0,
            other => panic!("expected a new ticket, got {other:?}"),
        }
    }

    /// `GET path` without a token, with a cookie when given.
    async fn get_as_visitor(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut builder = self.request(reqwest::Method::GET, path, None);
        if let Some(cookie) = cookie {
            builder = builder.header(COOKIE, cookie);
        }
        self.send(builder).await
    }
}

fn rand_id() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

fn file(name: &str, content_type: &str, content: &[u8]) -> InboundAttachment {
    InboundAttachment {
        filename: name.to_owned(),
        content_type: content_type.to_owned(),
        content: content.to_vec(),
        content_id: None,
    }
}

/// Asserts the headers every download carries.
#[track_caller]
fn assert_served_as_download(reply: &Reply, disposition: &str) {
    let header = |name: &str| reply.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default();
    assert_eq!(header("content-disposition"), disposition);
    assert_eq!(header("x-content-type-options"), "nosniff");
    let csp = header("content-security-policy");
    assert!(csp.contains("sandbox") && csp.contains("default-src 'none'"), "{csp}");
}

#[tokio::test]
async fn issue_14_agents_download_files_of_tickets_they_may_see() {
    let app = spawn_app().await;
    let page = b"<html><script>alert(document.cookie)</script></html>";
    let ticket = app
        .inbound_with_files(
            Channel::Email,
            Identity::email("ann@example.com").unwrap(),
            vec![file("../../r\u{e9}sum\u{e9} \"final\".html", "text/html", page), file("a.txt", "text/plain", b"A")],
        )
        .await;
    let billing = app.team("Billing").await;
    let sales = app.team("Sales").await;

    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let message = &detail["messages"][0];
    let url = message["attachments"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/api/v1/tickets/{ticket}/messages/{}/attachments/0", message["id"]));

    let biller = app.agent(Role::Agent, &[billing]).await;
    app.set(ticket, json!({"team": billing, "owner": biller.id})).await;
    let download = app.get(&url, &biller).await;
    assert_eq!(download.status, StatusCode::OK, "{}", download.text);
    assert_eq!(download.text.as_bytes(), page);
    assert_served_as_download(
        &download,
        "attachment; filename=\"r_sum_ _final_.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.html",
    );
    let second = app.get(&url.replace("/attachments/0", "/attachments/1"), &biller).await;
    assert_eq!((second.status, second.text.as_str()), (StatusCode::OK, "A"));

    // An agent who may not see the ticket hears of no such file, as of no such ticket.
    let seller = app.agent(Role::Agent, &[sales]).await;
    let hidden = app.get(&url, &seller).await;
    hidden.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    let ticket_hidden = app.get(&format!("/api/v1/tickets/{ticket}"), &seller).await;
    assert_eq!(ticket_hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(hidden.body, ticket_hidden.body, "the same answer as for the ticket");
    app.get(&url.replace("/attachments/0", "/attachments/2"), &biller).await.assert_error(
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    app.get(&url.replace("/attachments/0", "/attachments/x"), &biller).await.assert_error(
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    let anonymous = app.send(app.request(reqwest::Method::GET, &url, None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn issue_14_customers_download_their_own_files_in_the_help_pages() {
    let app = spawn_app().await;
    let ticket = app
        .inbound_with_files(
            Channel::Email,
            Identity::email("ann@example.com").unwrap(),
            vec![file("photo.png", "image/png", b"PNG of ann")],
        )
        .await;
    let other = app
        .inbound_with_files(
            Channel::Email,
            Identity::email("bob@example.com").unwrap(),
            vec![file("bob.pdf", "application/pdf", b"%PDF bob")],
        )
        .await;
    // An internal note with a file: agents only.
    let note = app
        .post_multipart(
            &format!("/api/v1/tickets/{ticket}/messages"),
            &app.admin,
            &[
                Part::Text("body", "Our records"),
                Part::Text("public", "false"),
                Part::File("ledger.csv", "text/csv", b"1,2"),
            ],
        )
        .await
        .expect(StatusCode::CREATED);

    // Ann signs in through a magic link.
    let secret = "s".repeat(43);
    let link = MagicLink {
        token_hash: hex::encode(Sha256::digest(secret.as_bytes())),
        url: format!("http://127.0.0.1:8080/help/t/{secret}"),
        valid_days: 7,
    };
    let payload = OutboundPayload {
        ticket: None,
        to: vec![],
        cc: vec![],
        subject: "link".into(),
        in_reply_to: None,
        references: vec![],
        author_name: None,
        text: "link".into(),
        html: None,
        automatic: None,
    };
    let identity = Identity::email("ann@example.com").unwrap();
    assert!(app.store.send_magic_link(identity, link, "link@test".into(), payload, now()).await.unwrap());
    let followed = app.get_as_visitor(&format!("/help/t/{secret}"), None).await;
    assert_eq!(followed.status, StatusCode::OK);
    let cookie = followed.headers.get(SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();

    let page = app.get_as_visitor(&format!("/help/tickets/{ticket}"), Some(&cookie)).await;
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let first = detail["messages"][0]["id"].as_i64().unwrap();
    let path = format!("/help/tickets/{ticket}/messages/{first}/attachments/0");
    assert!(page.text.contains(&format!("href=\"{path}\"")), "the page links the file: {}", page.text);
    assert!(!page.text.contains("ledger.csv"), "no internal note on the page");

    let download = app.get_as_visitor(&path, Some(&cookie)).await;
    assert_eq!(download.status, StatusCode::OK, "{}", download.text);
    assert_eq!(download.text.as_bytes(), b"PNG of ann");
    assert_served_as_download(&download, "attachment; filename=\"photo.png\"; filename*=UTF-8''photo.png");

    // Not signed in, someone else's ticket, an internal note: no file.
    assert_eq!(app.get_as_visitor(&path, None).await.status, StatusCode::NOT_FOUND);
    let detail = app.get(&format!("/api/v1/tickets/{other}"), &app.admin).await.expect(StatusCode::OK);
    let bobs = format!("/help/tickets/{other}/messages/{}/attachments/0", detail["messages"][0]["id"]);
    let refused = app.get_as_visitor(&bobs, Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(!refused.text.contains("%PDF bob"));
    let internal = format!("/help/tickets/{ticket}/messages/{}/attachments/0", note["id"]);
    assert_eq!(app.get_as_visitor(&internal, Some(&cookie)).await.status, StatusCode::NOT_FOUND);
}

fn limited_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.mail.max_attachment_bytes = 1000;
    config.mail.max_message_bytes = 1500;
    config
}

#[tokio::test]
async fn issue_14_agents_attach_files_to_notes_and_replies_within_the_limits() {
    let app = spawn_app_with(limited_config()).await;
    let ticket = app.inbound_with_files(Channel::Email, Identity::email("ann@example.com").unwrap(), vec![]).await;
    let path = format!("/api/v1/tickets/{ticket}/messages");

    let note = app
        .post_multipart(
            &path,
            &app.admin,
            &[
                Part::Text("body", "Logs from the device"),
                Part::Text("public", "false"),
                Part::File("C:\\logs\\device.log", "text/plain; charset=utf-8", &[b'x'; 1000]),
                Part::File("screen.png", "image/png", b"PNG!"),
            ],
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(note["kind"], "note");
    let files: Vec<(&str, &str, i64)> = note["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| {
            (file["filename"].as_str().unwrap(), file["content_type"].as_str().unwrap(), file["size"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(files, [("device.log", "text/plain", 1000), ("screen.png", "image/png", 4)]);
    let download = app.get(note["attachments"][1]["url"].as_str().unwrap(), &app.admin).await;
    assert_eq!(download.text.as_bytes(), b"PNG!");

    // A file over the per-file limit: 413 naming the file and the limit; nothing stored.
    let before = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    let too_big = app
        .post_multipart(
            &path,
            &app.admin,
            &[
                Part::Text("body", "Here you go"),
                Part::Text("public", "true"),
                Part::File("huge.bin", "application/octet-stream", &[0; 1001]),
            ],
        )
        .await;
    too_big.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", Some("files"));
    let message = too_big.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("huge.bin") && message.contains("1000 bytes per file"), "{message}");
    // Files under the per-file limit but over the per-message limit together.
    let together = app
        .post_multipart(
            &path,
            &app.admin,
            &[
                Part::Text("body", "Here you go"),
                Part::Text("public", "true"),
                Part::File("one.bin", "application/octet-stream", &[1; 800]),
                Part::File("two.bin", "application/octet-stream", &[2; 800]),
            ],
        )
        .await;
    together.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", Some("files"));
    let message = together.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("two.bin") && message.contains("1500 bytes per message"), "{message}");
    let after = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(before["messages"], after["messages"], "nothing stored");
    assert_eq!(before["version"], after["version"]);

    // Fields are checked like the JSON body's.
    let unknown = app.post_multipart(&path, &app.admin, &[Part::Text("body", "x"), Part::Text("publik", "true")]).await;
    unknown.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("publik"));
    let missing = app.post_multipart(&path, &app.admin, &[Part::Text("body", "x")]).await;
    missing.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("public"));
    // JSON still works.
    app.post(&path, &app.admin, &json!({"body": "Plain note", "public": false})).await.expect(StatusCode::CREATED);
}

#[tokio::test]
async fn issue_14_a_reply_with_files_goes_out_as_mime_parts() {
    let sink = rapport_testkit::smtp::SmtpSink::start().unwrap();
    let mut config = limited_config();
    config.mail.smtp_url = Some(sink.url().into());
    let app = spawn_app_with(config).await;
    let ticket = app.inbound_with_files(Channel::Email, Identity::email("ann@example.com").unwrap(), vec![]).await;
    let pdf: Vec<u8> = (0..=255u8).collect();
    let reply = app
        .post_multipart(
            &format!("/api/v1/tickets/{ticket}/messages"),
            &app.admin,
            &[
                Part::Text("body", "The invoice is attached."),
                Part::Text("public", "true"),
                Part::File("invoice.pdf", "application/pdf", &pdf),
            ],
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(reply["delivery"], "queued");
    let mail = sink.wait_for(1, Duration::from_secs(10)).await.unwrap();
    let options = rapport_channels::email::parse::ParseOptions {
        own_addresses: vec![],
        loop_id: String::new(),
        max_attachment_bytes: 1 << 20,
        team: None,
    };
    let parsed = rapport_channels::email::parse::parse(&mail[0].data, &options, now()).unwrap();
    let rapport_channels::email::parse::ParsedEmail::Message(parsed) = parsed else { panic!("not a message") };
    let parsed = parsed.message;
    assert!(parsed.text.contains("The invoice is attached."), "{}", parsed.text);
    let attached: Vec<(&str, &str, &[u8])> = parsed
        .attachments
        .iter()
        .map(|file| (file.filename.as_str(), file.content_type.as_str(), file.content.as_slice()))
        .collect();
    assert_eq!(attached, [("invoice.pdf", "application/pdf", pdf.as_slice())]);
}

/// One request a provider stand-in received: its path, and its JSON body,
/// form fields or multipart parts (name, file name, type, bytes).
#[derive(Debug, Clone)]
struct Call {
    path: String,
    json: Value,
    form: Vec<(String, String)>,
    parts: Vec<FormPart>,
}

/// A multipart part as received: field name, file name, type, bytes.
type FormPart = (String, Option<String>, Option<String>, Vec<u8>);

type Calls = Arc<Mutex<Vec<Call>>>;

/// One stand-in for the Bot API, the Graph API (WhatsApp, Messenger) and
/// Twilio's Messages API, answering each documented call as its provider does.
async fn providers() -> (String, Calls) {
    let calls: Calls = Arc::default();
    let recorded = calls.clone();
    let app = axum::Router::new().fallback(move |method: Method, request: Request| {
        let recorded = recorded.clone();
        async move {
            let path = request.uri().path().to_owned();
            let content_type = request
                .headers()
                .get("content-type")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let mut call = Call { path: path.clone(), json: Value::Null, form: vec![], parts: vec![] };
            if content_type.starts_with("multipart/form-data") {
                let mut multipart = Multipart::from_request(request, &()).await.unwrap();
                while let Some(field) = multipart.next_field().await.unwrap() {
                    let name = field.name().unwrap_or_default().to_owned();
                    let filename = field.file_name().map(str::to_owned);
                    let content_type = field.content_type().map(str::to_owned);
                    let bytes = field.bytes().await.unwrap().to_vec();
                    call.parts.push((name, filename, content_type, bytes));
                }
            } else {
                let body = axum::body::to_bytes(request.into_body(), usize::MAX).await.unwrap();
                call.json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                call.form = form_urlencoded::parse(&body).into_owned().collect();
            }
            let count = {
                let mut calls = recorded.lock().unwrap();
                calls.push(call);
                calls.len()
            };
            let answer = if path.starts_with("/bot") {
                json!({"ok": true, "result": {}})
            } else if path.ends_with("/media") {
                json!({"id": format!("media-{count}")})
            } else if path == "/me/message_attachments" {
                json!({"attachment_id": format!("att-{count}")})
            } else if path == "/me/messages" {
                json!({"recipient_id": "x", "message_id": format!("m_{count}")})
            } else if path.ends_with("/messages") {
                json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.{count}")}]})
            } else if path.ends_with("/Messages.json") && method == Method::POST {
                json!({"sid": format!("SM{count:032}"), "status": "queued"})
            } else {
                return (axum::http::StatusCode::NOT_FOUND, "no such call").into_response();
            };
            axum::Json(answer).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, calls)
}

/// Waits until `calls` holds `count` requests, and returns them.
async fn wait_for_calls(calls: &Calls, count: usize) -> Vec<Call> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = calls.lock().unwrap().clone();
        if seen.len() >= count {
            return seen;
        }
        assert!(Instant::now() < deadline, "expected {count} provider calls, got {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts a public reply with one PDF to `ticket`.
async fn reply_with_pdf(app: &TestApp, ticket: i64, pdf: &[u8]) -> Value {
    app.post_multipart(
        &format!("/api/v1/tickets/{ticket}/messages"),
        &app.admin,
        &[
            Part::Text("body", "Your label"),
            Part::Text("public", "true"),
            Part::File("label.pdf", "application/pdf", pdf),
        ],
    )
    .await
    .expect(StatusCode::CREATED)
}

#[tokio::test]
async fn issue_14_telegram_whatsapp_and_messenger_replies_upload_their_files() {
    let (api_base, calls) = providers().await;
    let config = ServerConfig {
        telegram: Some(TelegramSettings {
            bot_token: "123:ABC".into(),
            secret_token: "secret".into(),
            api_base: api_base.clone(),
        }),
        whatsapp: Some(WhatsappSettings {
            app_secret: "wa-secret".into(),
            verify_token: "wa-verify".into(),
            access_token: "wa-token".into(),
            phone_number_id: "106540352242922".into(),
            api_base: api_base.clone(),
            template: None,
        }),
        messenger: Some(MessengerSettings {
            app_secret: "fb-secret".into(),
            verify_token: "fb-verify".into(),
            page_access_token: "fb-token".into(),
            api_base,
            message_tag: None,
        }),
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let pdf = b"%PDF-1.7 label".to_vec();

    // Telegram: the text, then the file through sendDocument.
    let telegram =
        app.inbound_with_files(Channel::Telegram, Identity::handle("telegram:1111111").unwrap(), vec![]).await;
    reply_with_pdf(&app, telegram, &pdf).await;
    let seen = wait_for_calls(&calls, 2).await;
    assert_eq!(seen[0].path, "/bot123:ABC/sendMessage");
    assert_eq!(seen[0].json, json!({"chat_id": 1111111, "text": "Your label"}));
    assert_eq!(seen[1].path, "/bot123:ABC/sendDocument");
    let parts: Vec<_> =
        seen[1].parts.iter().map(|(name, file, kind, _)| (name.as_str(), file.clone(), kind.clone())).collect();
    assert_eq!(
        parts,
        [("chat_id", None, None), ("document", Some("label.pdf".to_owned()), Some("application/pdf".to_owned())),]
    );
    assert_eq!(seen[1].parts[0].3, b"1111111");
    assert_eq!(seen[1].parts[1].3, pdf);

    // WhatsApp: the upload to /PHONE_ID/media, the text, then a document message naming the media id.
    let whatsapp = app.inbound_with_files(Channel::Whatsapp, Identity::phone("+16505551234").unwrap(), vec![]).await;
    reply_with_pdf(&app, whatsapp, &pdf).await;
    let seen = wait_for_calls(&calls, 5).await;
    assert_eq!(seen[2].path, "/106540352242922/media");
    let fields: Vec<(&str, Option<&str>)> =
        seen[2].parts.iter().map(|(name, file, _, _)| (name.as_str(), file.as_deref())).collect();
    assert_eq!(fields, [("messaging_product", None), ("type", None), ("file", Some("label.pdf"))]);
    assert_eq!(seen[2].parts[1].3, b"application/pdf");
    assert_eq!(seen[2].parts[2].3, pdf);
    assert_eq!(seen[3].path, "/106540352242922/messages");
    assert_eq!(seen[3].json["text"]["body"], "Your label");
    assert_eq!(seen[4].path, "/106540352242922/messages");
    assert_eq!(seen[4].json["type"], "document");
    assert_eq!(seen[4].json["document"], json!({"id": "media-3", "filename": "label.pdf"}));
    assert_eq!(seen[4].json["to"], "16505551234");

    // Messenger: the Attachment Upload API, the text, then the attachment by its id.
    let messenger = app
        .inbound_with_files(Channel::Messenger, Identity::handle("messenger:1254459154682919").unwrap(), vec![])
        .await;
    reply_with_pdf(&app, messenger, &pdf).await;
    let seen = wait_for_calls(&calls, 8).await;
    assert_eq!(seen[5].path, "/me/message_attachments");
    let message: Value = serde_json::from_slice(&seen[5].parts[0].3).unwrap();
    assert_eq!(message, json!({"attachment": {"type": "file", "payload": {"is_reusable": false}}}));
    assert_eq!((seen[5].parts[1].0.as_str(), seen[5].parts[1].1.as_deref()), ("filedata", Some("label.pdf")));
    assert_eq!(seen[5].parts[1].3, pdf);
    assert_eq!(seen[6].path, "/me/messages");
    assert_eq!(seen[6].json["message"], json!({"text": "Your label"}));
    assert_eq!(seen[7].json["message"], json!({"attachment": {"type": "file", "payload": {"attachment_id": "att-6"}}}));
    assert_eq!(seen[7].json["recipient"]["id"], "1254459154682919");
    for ticket in [telegram, whatsapp, messenger] {
        wait_for_sent(&app, ticket).await;
    }
}

/// Waits until the ticket's last message is marked sent.
async fn wait_for_sent(app: &TestApp, ticket: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
        let last = detail["messages"].as_array().unwrap().last().unwrap().clone();
        if last["delivery"] == "sent" {
            return;
        }
        assert!(Instant::now() < deadline, "the reply was never marked sent: {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn issue_14_an_sms_reply_with_files_sends_signed_expiring_media_urls() {
    let (api_base, calls) = providers().await;
    let config = ServerConfig {
        twilio: Some(TwilioSettings {
            account_sid: "AC123".into(),
            auth_token: "twilio-token".into(),
            from_number: "+15557654321".into(),
            public_url: Some("https://support.example.com".into()),
            api_base,
            ..TwilioSettings::default()
        }),
        ..ServerConfig::default()
    };
    // A hand-moved clock, so the link can be seen to expire.
    let app = spawn_app_at(config, now()).await;
    let ticket = app.inbound_with_files(Channel::Sms, Identity::phone("+14155551234").unwrap(), vec![]).await;
    let pdf = b"%PDF-1.7 label".to_vec();
    reply_with_pdf(&app, ticket, &pdf).await;
    let seen = wait_for_calls(&calls, 1).await;
    assert_eq!(seen[0].path, "/2010-04-01/Accounts/AC123/Messages.json");
    let field = |name: &str| {
        seen[0].form.iter().filter(|(key, _)| key == name).map(|(_, value)| value.clone()).collect::<Vec<_>>()
    };
    assert_eq!(field("Body"), ["Your label"]);
    let media = field("MediaUrl");
    assert_eq!(media.len(), 1, "{:?}", seen[0].form);
    let path = media[0].strip_prefix("https://support.example.com").expect("an absolute URL at public_url");
    assert!(path.starts_with("/hooks/twilio/media/"), "{path}");

    // Twilio fetches it without credentials: the URL is the credential.
    let fetched = app.get_as_visitor(path, None).await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.text);
    assert_eq!(fetched.text.as_bytes(), pdf.as_slice());
    assert_served_as_download(&fetched, "attachment; filename=\"label.pdf\"; filename*=UTF-8''label.pdf");
    // A changed signature, file or expiry is refused.
    let (head, signature) = path.rsplit_once('/').unwrap();
    let forged = format!("{head}/{}", "0".repeat(signature.len()));
    assert_eq!(app.get_as_visitor(&forged, None).await.status, StatusCode::NOT_FOUND);
    let segments: Vec<&str> = path.split('/').collect();
    let (message, expires) = (segments[4], segments[6]);
    let other_file = format!("/hooks/twilio/media/{message}/1/{expires}/{signature}");
    assert_eq!(app.get_as_visitor(&other_file, None).await.status, StatusCode::NOT_FOUND);
    let later: i64 = expires.parse::<i64>().unwrap() + 1;
    let extended = format!("/hooks/twilio/media/{message}/0/{later}/{signature}");
    assert_eq!(app.get_as_visitor(&extended, None).await.status, StatusCode::NOT_FOUND);
    wait_for_sent(&app, ticket).await;
    // Once expired, even the genuine URL is refused.
    app.clock.set(rapport_core::Timestamp(expires.parse::<i64>().unwrap() + 1));
    assert_eq!(app.get_as_visitor(path, None).await.status, StatusCode::NOT_FOUND);
}
