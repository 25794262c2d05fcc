//! Twilio: the SMS webhook (signature, retries, follow-ups, MMS media),
//! replies through a local stand-in for api.twilio.com that checks each
//! request, delivery receipts, and the voice webhooks producing each call's
//! lifecycle, wait and talk time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode as AxumStatus, Uri, header};
use axum::response::IntoResponse;
use rapport_channels::webhook::twilio_signature;
use rapport_server::ServerConfig;
use rapport_server::settings::TwilioSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "twilio-auth-token";
const IMAGE: &[u8] = b"\xff\xd8\xff\xe0 not really a jpeg";

/// One request the stand-in received: method, path, Authorization header, form fields.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub authorization: Option<String>,
    pub form: Vec<(String, String)>,
}

pub type Requests = Arc<Mutex<Vec<Seen>>>;

/// A stand-in for api.twilio.com: sends messages (answering a new `SM…` sid)
/// and serves one media file, recording every request.
pub async fn twilio_api() -> (String, Requests) {
    let requests: Requests = Arc::default();
    let recorded = requests.clone();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let recorded = recorded.clone();
        async move {
            let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
            let authorization = headers.get(header::AUTHORIZATION).map(|value| value.to_str().unwrap().to_owned());
            let count = {
                let mut seen = recorded.lock().unwrap();
                seen.push(Seen { method: method.clone(), path: uri.path().to_owned(), authorization, form });
                seen.len()
            };
            if uri.path().starts_with("/media/") {
                return ([(header::CONTENT_TYPE, "image/jpeg")], IMAGE).into_response();
            }
            let sid = format!("SM{count:032}");
            (AxumStatus::CREATED, axum::Json(json!({"sid": sid, "status": "queued"}))).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, requests)
}

/// Twilio settings pointing at `api_base`, with the public URL `public_url`.
pub fn settings(api_base: &str, public_url: Option<String>) -> TwilioSettings {
    TwilioSettings {
        account_sid: ACCOUNT.into(),
        auth_token: TOKEN.into(),
        from_number: "+15557122661".into(),
        public_url,
        api_base: api_base.into(),
        ..TwilioSettings::default()
    }
}

/// A server whose public URL is its own address (as behind a proxy that keeps it).
pub async fn app_with_twilio(api_base: &str) -> TestApp {
    // The public URL may name any host: the signature only has to cover it.
    let config = ServerConfig { twilio: Some(settings(api_base, Some(PUBLIC.to_owned()))), ..ServerConfig::default() };
    spawn_app_with(config).await
}

/// The public address Twilio is told about (a proxy in front of the test server).
pub const PUBLIC: &str = "https://support.example.com";

pub fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

/// Posts `params` to `path` signed as Twilio would for the public URL.
pub async fn post_signed(app: &TestApp, path: &str, params: &[(String, String)]) -> reqwest::Response {
    let signature = twilio_signature(TOKEN, &format!("{PUBLIC}{path}"), params);
    post_with(app, path, params, Some(&signature)).await
}

pub async fn post_with(
    app: &TestApp,
    path: &str,
    params: &[(String, String)],
    signature: Option<&str>,
) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    let mut request = app
        .client
        .post(format!("{}{path}", app.address))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("X-Twilio-Signature", signature);
    }
    request.send().await.unwrap()
}

fn sms(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    form(&[
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", from),
        ("To", "+15557122661"),
        ("Body", body),
        ("NumMedia", "0"),
        ("ApiVersion", "2010-04-01"),
    ])
}

async fn only_ticket(app: &TestApp) -> Value {
    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    let tickets = page["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1, "{page}");
    let id = tickets[0]["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/tickets/{id}"), &app.admin).await.expect(StatusCode::OK)
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sms_is_verified_filed_once_threaded_answered_and_receipted() {
    let (api_base, requests) = twilio_api().await;
    let app = app_with_twilio(&api_base).await;
    let first = sms("SM1342fe1b2c904d1ab04f0fc7a58abca9", "+14155551234", "My order is late");

    // A bad or missing signature is 401 and stores nothing.
    let forged = twilio_signature("another-token", &format!("{PUBLIC}/hooks/twilio/sms"), &first);
    assert_eq!(post_with(&app, "/hooks/twilio/sms", &first, Some(&forged)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post_with(&app, "/hooks/twilio/sms", &first, None).await.status(), StatusCode::UNAUTHORIZED);
    let other_url = twilio_signature(TOKEN, &format!("{PUBLIC}/hooks/twilio/sms?x=1"), &first);
    assert_eq!(post_with(&app, "/hooks/twilio/sms", &first, Some(&other_url)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.store.count_tickets().await.unwrap(), 0);

    // Filed; Twilio's retry of the same MessageSid is filed once; a follow-up joins the ticket.
    let response = post_signed(&app, "/hooks/twilio/sms", &first).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("<Response/>"));
    assert_eq!(post_signed(&app, "/hooks/twilio/sms", &first).await.status(), StatusCode::OK);
    let follow_up = sms("SM2", "+1 (415) 555-1234", "Order 42");
    assert_eq!(post_signed(&app, "/hooks/twilio/sms", &follow_up).await.status(), StatusCode::OK);

    // An MMS: its media is fetched from Twilio with the account's credentials and kept.
    let media_url = format!("{api_base}/media/ME1");
    let mut mms = sms("MM3", "+14155551234", "A photo of the parcel");
    mms.retain(|(name, _)| name != "NumMedia");
    mms.extend(form(&[("NumMedia", "1"), ("MediaUrl0", &media_url), ("MediaContentType0", "image/jpeg")]));
    assert_eq!(post_signed(&app, "/hooks/twilio/sms", &mms).await.status(), StatusCode::OK);

    let detail = only_ticket(&app).await;
    assert_eq!(detail["channel"], "sms");
    let messages = detail["messages"].as_array().unwrap();
    let texts: Vec<&str> = messages.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, vec!["My order is late", "Order 42", "A photo of the parcel"]);
    assert_eq!(messages[0]["external_id"], "twilio:SM1342fe1b2c904d1ab04f0fc7a58abca9");
    let attachments = messages[2]["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{detail}");
    assert_eq!(attachments[0]["filename"], "MM3-0.jpg");
    assert_eq!(attachments[0]["content_type"], "image/jpeg");
    assert_eq!(attachments[0]["size"], IMAGE.len());
    let basic = format!("Basic {}", base64_of(&format!("{ACCOUNT}:{TOKEN}")));
    {
        let seen = requests.lock().unwrap();
        assert_eq!(seen.len(), 1, "only the media fetch so far, no acknowledgment: {seen:?}");
        assert_eq!((seen[0].method.clone(), seen[0].path.as_str()), (Method::GET, "/media/ME1"));
        assert_eq!(seen[0].authorization.as_deref(), Some(basic.as_str()));
    }

    // An agent's reply goes out through the Messages API.
    let ticket = detail["id"].as_i64().unwrap();
    let body = json!({"body": "It ships today.", "public": true});
    let reply = app.post(&format!("/api/v1/tickets/{ticket}/messages"), &app.admin, &body).await;
    let reply = reply.expect(StatusCode::CREATED);
    assert_eq!(reply["channel"], "sms");
    wait_for("the reply at the stand-in", async || requests.lock().unwrap().len() == 2).await;
    let sent = requests.lock().unwrap()[1].clone();
    assert_eq!(sent.method, Method::POST);
    assert_eq!(sent.path, format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json"));
    assert_eq!(sent.authorization.as_deref(), Some(basic.as_str()));
    let expected = form(&[
        ("To", "+14155551234"),
        ("From", "+15557122661"),
        ("Body", "It ships today."),
        ("StatusCallback", &format!("{PUBLIC}/hooks/twilio/sms/status")),
    ]);
    assert_eq!(sent.form, expected);
    let sid = format!("SM{:032}", 2);
    let reply_id = reply["id"].as_i64().unwrap();
    let delivery = async |app: &TestApp| {
        let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
        let message = detail["messages"].as_array().unwrap().iter().find(|m| m["id"] == reply_id).unwrap().clone();
        message["delivery"].as_str().unwrap().to_owned()
    };
    wait_for("the reply marked sent", async || delivery(&app).await == "sent").await;

    // Its status callbacks move the delivery forward, never back; a forged one is refused.
    let status = |state: &str| form(&[("MessageSid", &sid), ("MessageStatus", state), ("AccountSid", ACCOUNT)]);
    let forged = twilio_signature("x", &format!("{PUBLIC}/hooks/twilio/sms/status"), &status("failed"));
    let response = post_with(&app, "/hooks/twilio/sms/status", &status("failed"), Some(&forged)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post_signed(&app, "/hooks/twilio/sms/status", &status("delivered")).await.status(), StatusCode::OK);
    assert_eq!(delivery(&app).await, "delivered");
    assert_eq!(post_signed(&app, "/hooks/twilio/sms/status", &status("sent")).await.status(), StatusCode::OK);
    assert_eq!(post_signed(&app, "/hooks/twilio/sms/status", &status("delivered")).await.status(), StatusCode::OK);
    assert_eq!(delivery(&app).await, "delivered");

    // An unreadable message is kept, not lost.
    let garbage = form(&[("Body", "no sid")]);
    assert_eq!(post_signed(&app, "/hooks/twilio/sms", &garbage).await.status(), StatusCode::OK);
    assert_eq!(app.store.list_quarantine(Some("held"), 10).await.unwrap().len(), 1);
    assert_eq!(app.store.count_tickets().await.unwrap(), 1);
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn without_public_url_the_signature_covers_the_requests_own_url() {
    let (api_base, _) = twilio_api().await;
    let app = spawn_app_with(ServerConfig { twilio: Some(settings(&api_base, None)), ..ServerConfig::default() }).await;
    let params = sms("SM9", "+14155551234", "hello");
    let own = format!("{}/hooks/twilio/sms?channel=us", app.address);
    let signature = twilio_signature(TOKEN, &own, &params);
    assert_eq!(
        post_with(&app, "/hooks/twilio/sms?channel=us", &params, Some(&signature)).await.status(),
        StatusCode::OK
    );
    // Signed for the proxy's address, which this server does not know about.
    let proxied = twilio_signature(TOKEN, &format!("{PUBLIC}/hooks/twilio/sms"), &params);
    assert_eq!(post_with(&app, "/hooks/twilio/sms", &params, Some(&proxied)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.store.count_tickets().await.unwrap(), 1);
}

#[tokio::test]
async fn the_twilio_hooks_are_404_when_not_configured() {
    let app = spawn_app_with(ServerConfig::default()).await;
    for path in ["/hooks/twilio/sms", "/hooks/twilio/voice"] {
        let response = post_with(&app, path, &sms("SM1", "+14155551234", "x"), Some("sig")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

/// RFC 2822, as Twilio dates its status callbacks.
fn rfc2822(at: jiff::Timestamp) -> String {
    at.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

pub fn call(sid: &str, from: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut params = form(&[
        ("CallSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", from),
        ("To", "+15557122661"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]);
    params.extend(form(extra));
    params
}

async fn calls_of(app: &TestApp, ticket: i64) -> Vec<Value> {
    let list = app.get(&format!("/api/v1/calls?ticket={ticket}"), &app.admin).await.expect(StatusCode::OK);
    list["calls"].as_array().unwrap().clone()
}

fn notes(detail: &Value) -> Vec<String> {
    let messages = detail["messages"].as_array().unwrap();
    messages.iter().filter(|m| m["kind"] == "note").map(|m| m["text"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn call_events_in_any_order_give_wait_and_talk_time() {
    let (api_base, _) = twilio_api().await;
    let app = app_with_twilio(&api_base).await;
    let caller = "+14155550100";

    // The caller already has an open SMS conversation: the call joins it.
    assert_eq!(
        post_signed(&app, "/hooks/twilio/sms", &sms("SM1", caller, "Please call me")).await.status(),
        StatusCode::OK
    );

    // Status callbacks, out of order and repeated, each dated by Twilio.
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3600);
    let at = |secs: i64| rfc2822(start + jiff::SignedDuration::from_secs(secs));
    let status = |state: &str, secs: i64| call("CA100", caller, &[("CallStatus", state), ("Timestamp", &at(secs))]);
    for (state, secs) in [
        ("completed", 200),
        ("in-progress", 12),
        ("ringing", 5),
        ("in-progress", 12),
        ("queued", 0),
        ("completed", 200),
    ] {
        let response = post_signed(&app, "/hooks/twilio/voice/status", &status(state, secs)).await;
        assert_eq!(response.status(), StatusCode::OK, "{state}");
    }
    let forged = twilio_signature("x", &format!("{PUBLIC}/hooks/twilio/voice/status"), &status("completed", 1));
    assert_eq!(
        post_with(&app, "/hooks/twilio/voice/status", &status("completed", 1), Some(&forged)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let detail = only_ticket(&app).await;
    assert_eq!(detail["channel"], "sms", "the call joined the caller's open ticket");
    let ticket = detail["id"].as_i64().unwrap();
    let texts: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "inbound")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["Please call me", "Call from +14155550100"]);
    let calls = calls_of(&app, ticket).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["call_sid"], "CA100");
    assert_eq!(calls[0]["state"], "completed");
    assert_eq!(calls[0]["wait_seconds"], 12.0);
    assert_eq!(calls[0]["talk_seconds"], 188.0);
    // Each change is on the ticket once (the end came first, so the call
    // looked abandoned until its answer arrived); the repeats added nothing.
    assert_eq!(notes(&detail), vec!["Call abandoned".to_owned(), "Call completed; talked 3 min 8 s".to_owned()]);
}

#[tokio::test]
async fn incoming_calls_are_queued_and_end_answered_abandoned_or_in_a_voicemail() {
    let (api_base, _) = twilio_api().await;
    let app = app_with_twilio(&api_base).await;

    // An incoming call: filed on a new phone ticket, and put in the queue.
    let incoming = call("CA200", "+14155550111", &[("CallStatus", "ringing")]);
    let response = post_signed(&app, "/hooks/twilio/voice", &incoming).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/xml; charset=utf-8");
    let twiml = response.text().await.unwrap();
    assert!(
        twiml.contains(&format!(
            r#"<Enqueue action="{PUBLIC}/hooks/twilio/voice/queue" method="POST" waitUrl="{PUBLIC}/hooks/twilio/voice/gather" waitUrlMethod="POST">support</Enqueue>"#
        )),
        "{twiml}"
    );
    // While waiting: the place in line and the callback offer.
    let waiting = call("CA200", "+14155550111", &[("QueuePosition", "2"), ("QueueTime", "10")]);
    let prompt = post_signed(&app, "/hooks/twilio/voice/gather", &waiting).await.text().await.unwrap();
    assert!(prompt.contains("You are number 2 in line. Press 1 to be called back"), "{prompt}");
    // The caller gives up in the queue: abandoned.
    let hangup = call("CA200", "+14155550111", &[("QueueResult", "hangup"), ("QueueTime", "30")]);
    assert_eq!(post_signed(&app, "/hooks/twilio/voice/queue", &hangup).await.status(), StatusCode::OK);
    let detail = only_ticket(&app).await;
    assert_eq!(detail["channel"], "phone");
    let ticket = detail["id"].as_i64().unwrap();
    let calls = calls_of(&app, ticket).await;
    assert_eq!(calls[0]["state"], "abandoned");
    assert!(calls[0]["wait_seconds"].as_f64().unwrap() < 30.0);
    assert!(calls[0]["talk_seconds"].is_null());
    assert_eq!(notes(&detail).len(), 1, "{detail}");
    assert!(notes(&detail)[0].starts_with("Call abandoned after"), "{detail}");

    // A second caller waits past the voicemail limit and leaves a message.
    let caller = "+14155550122";
    assert_eq!(post_signed(&app, "/hooks/twilio/voice", &call("CA201", caller, &[])).await.status(), StatusCode::OK);
    let long = call("CA201", caller, &[("QueuePosition", "1"), ("QueueTime", "125")]);
    let leave = post_signed(&app, "/hooks/twilio/voice/gather", &long).await.text().await.unwrap();
    assert!(leave.contains("<Leave/>"), "{leave}");
    let left = call("CA201", caller, &[("QueueResult", "leave"), ("QueueTime", "125")]);
    let record = post_signed(&app, "/hooks/twilio/voice/queue", &left).await.text().await.unwrap();
    assert!(record.contains(&format!(r#"<Record action="{PUBLIC}/hooks/twilio/voice/voicemail""#)), "{record}");
    let recording = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1";
    let voicemail = call("CA201", caller, &[("RecordingUrl", recording), ("RecordingDuration", "14")]);
    let goodbye = post_signed(&app, "/hooks/twilio/voice/voicemail", &voicemail).await.text().await.unwrap();
    assert!(goodbye.contains("<Hangup/>"), "{goodbye}");
    // Twilio's final status callback changes nothing more.
    let completed = call("CA201", caller, &[("CallStatus", "completed"), ("CallDuration", "140")]);
    assert_eq!(post_signed(&app, "/hooks/twilio/voice/status", &completed).await.status(), StatusCode::OK);
    let recorded = app.store.find_call("CA201").await.unwrap().unwrap();
    let voicemail_calls = calls_of(&app, recorded.ticket.unwrap().0).await;
    assert_eq!(voicemail_calls[0]["state"], "voicemail");
    assert_eq!(voicemail_calls[0]["voicemail_url"], recording);
    let detail =
        app.get(&format!("/api/v1/tickets/{}", recorded.ticket.unwrap().0), &app.admin).await.expect(StatusCode::OK);
    assert!(notes(&detail).iter().any(|note| note.contains(recording)), "{detail}");

    // A third is answered by an agent after 20 s in the queue and talks.
    let caller = "+14155550133";
    assert_eq!(post_signed(&app, "/hooks/twilio/voice", &call("CA202", caller, &[])).await.status(), StatusCode::OK);
    let bridged = call("CA202", caller, &[("QueueResult", "bridged"), ("QueueTime", "20")]);
    assert_eq!(post_signed(&app, "/hooks/twilio/voice/queue", &bridged).await.status(), StatusCode::OK);
    let answered = app.store.find_call("CA202").await.unwrap().unwrap();
    assert_eq!(answered.state.as_str(), "answered");
    assert_eq!(answered.times.wait_ms(), Some(20_000));

    // The report: 3 calls, 1 answered within 60 s, 1 abandoned, 1 voicemail.
    let report = app.get("/api/v1/reports/calls?answered_within=60", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(report["calls"], 3, "{report}");
    assert_eq!(
        (report["answered"].as_i64(), report["abandoned"].as_i64(), report["voicemail"].as_i64()),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(report["answered_within_target"], 1);
    let share = report["share_answered_within_target"].as_f64().unwrap();
    assert!((share - 1.0 / 3.0).abs() < 1e-9, "{report}");
    assert!(report["median_wait_seconds"].as_f64().is_some());
    let bad = app.get("/api/v1/reports/calls?answered_within=soon", &app.admin).await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("answered_within"));
    let bad = app.get("/api/v1/reports/calls?from=yesterday", &app.admin).await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("from"));
}
