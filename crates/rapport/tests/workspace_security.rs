//! Hostile customer text in a real browser: subjects, names, bodies and an
//! HTML email written to run script (`<script>`, `<svg onload>`,
//! `javascript:` links, zero-padded entities, CSS tricks, `srcdoc` frames)
//! arrive through every channel of a running `rapport serve --demo` (email
//! through `rapport mailgate`, the web form, live chat, Telegram, WhatsApp,
//! Messenger and SMS webhooks, signed as each provider signs), and headless
//! Chromium opens the workspace's pages that show them. A listener installed
//! before any script of the page records what the payloads would do if they
//! ran and every Content-Security-Policy violation: both stay empty, and the
//! text shows as text. Needs Chromium and chromedriver (`.ci/install-browser`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::time::Duration;

use futures_util::SinkExt;
use rapport_channels::webhook::{meta_signature, twilio_signature};
use rapport_testkit::browser::Browser;
use rapport_testkit::browser::fantoccini::{Client, Locator};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Frame;

mod support;
use support::desk::{DemoDesk, eventually, sign_in, text_if};

/// The word every hostile message carries, to find them all by search.
const WORD: &str = "zanzibarhostile";
const TELEGRAM_SECRET: &str = "hostile-telegram-secret";
const META_SECRET: &str = "hostile-meta-app-secret";
const TWILIO_TOKEN: &str = "hostile-twilio-token";

/// Installed before every page's own scripts: what a payload would do if it
/// ran lands in `__ran`, and every CSP violation in `__violations`.
const LISTENER: &str = "window.__ran = []; window.__violations = [];\
    window.alert = (what) => window.__ran.push('alert ' + what);\
    document.addEventListener('securitypolicyviolation', (event) => \
      window.__violations.push(event.violatedDirective + ' ' + event.blockedURI + ' ' + (event.sample || '')));";

/// A message written to run script wherever it is not escaped.
fn hostile(tag: &str) -> String {
    format!(
        "{WORD} {tag}: <script>window.__ran.push('{tag} script')</script> \
         <img src=x onerror=\"window.__ran.push('{tag} img')\"> \
         <svg onload=\"window.__ran.push('{tag} svg')\"></svg> \
         <a href=\"javascript:window.__ran.push('{tag} link')\">click me</a> \
         &#0000060;script&#0000062;window.__ran.push('{tag} entity')&#0000060;/script&#0000062; \
         <style>body {{ display: none }}</style> \
         <div style=\"background: url(javascript:window.__ran.push('{tag} css'))\">css</div> \
         <iframe srcdoc=\"<script>parent.__ran.push('{tag} frame')</script>\"></iframe>"
    )
}

/// A short hostile line, for subjects and names.
fn hostile_line(tag: &str) -> String {
    format!("{tag} <img src=x onerror=\"window.__ran.push('{tag} name')\"><script>window.__ran.push('{tag}')</script>")
}

fn channels(base: &str) -> String {
    format!(
        "[telegram]\nbot_token = \"1:hostile\"\nsecret_token = {TELEGRAM_SECRET:?}\napi_base = \"http://127.0.0.1:9\"\n\
         [whatsapp]\napp_secret = {META_SECRET:?}\nverify_token = \"verify\"\naccess_token = \"access\"\n\
         phone_number_id = \"100200300\"\napi_base = \"http://127.0.0.1:9\"\n\
         [messenger]\napp_secret = {META_SECRET:?}\nverify_token = \"verify\"\npage_access_token = \"page\"\n\
         api_base = \"http://127.0.0.1:9\"\n\
         [twilio]\naccount_sid = \"AC0000000000000000000000000000hostile\"\nauth_token = {TWILIO_TOKEN:?}\n\
         from_number = \"+15550001111\"\npublic_url = {base:?}\napi_base = \"http://127.0.0.1:9\"\n"
    )
}

/// The chat visitor's socket, kept open so that their chat waits for an agent.
type Visitor = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sends the hostile messages through every channel; returns the tags sent
/// and the chat visitor, still connected.
async fn send_through_every_channel(desk: &DemoDesk) -> (Vec<&'static str>, Visitor) {
    rapport_channels::http::install_crypto_provider();
    let http = reqwest::Client::new();
    let base = &desk.base;

    // Email: a display name, a subject and an HTML body, through mailgate.
    let raw = format!(
        "From: \"{name}\" <mallory@hostile.example>\r\nTo: help@desk.example\r\nSubject: {subject}\r\n\
         Message-ID: <hostile-1@hostile.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>{body}</p>\
         <form action=\"https://hostile.example\"><input name=x></form></body></html>\r\n",
        name = "Mallory <script>window.__ran.push('email name')</script>",
        subject = hostile_line("email"),
        body = hostile("email"),
    );
    let (code, said) = support::mailgate(&["--config".as_ref(), desk.config.as_os_str()], raw.as_bytes()).await;
    assert_eq!(code, 0, "mailgate: {said}");

    // The web form.
    let form = [
        ("name", "Mallory Form".to_owned()),
        ("email", "form@hostile.example".to_owned()),
        ("subject", hostile_line("web")),
        ("message", hostile("web")),
        ("submission", "hostile-submission-0001".to_owned()),
        ("website", String::new()),
    ];
    let fields: Vec<(&str, &str)> = form.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let filed = support::post_help_form(&http, base, &fields).await;
    assert!(filed.status().is_success(), "the web form: {}", filed.text().await.unwrap());

    // Live chat: a visitor's name and message over the widget's socket.
    let (mut visitor, _) =
        tokio_tungstenite::connect_async(format!("{}/chat/ws", base.replace("http://", "ws://"))).await.unwrap();
    let hello = json!({"type": "hello", "visitor": "hostile-visitor-1", "name": hostile_line("chat")});
    visitor.send(Frame::Text(hello.to_string().into())).await.unwrap();
    let said = json!({"type": "message", "client_id": "hostile.1", "text": hostile("chat")});
    visitor.send(Frame::Text(said.to_string().into())).await.unwrap();

    // Telegram, with its secret header.
    let update = json!({"update_id": 9001, "message": {
        "message_id": 1, "date": 1441645532,
        "chat": {"id": 4242, "type": "private", "first_name": hostile_line("telegram")},
        "from": {"id": 4242, "is_bot": false, "first_name": hostile_line("telegram")},
        "text": hostile("telegram")}});
    let posted = http
        .post(format!("{base}/hooks/telegram"))
        .header("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_success(), "telegram: {}", posted.status());

    // WhatsApp and Messenger, signed as Meta signs.
    let whatsapp = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "100200300"},
        "contacts": [{"profile": {"name": hostile_line("whatsapp")}, "wa_id": "16505550199"}],
        "messages": [{"from": "16505550199", "id": "wamid.hostile1", "timestamp": "1749416383", "type": "text",
                      "text": {"body": hostile("whatsapp")}}]}}]}]});
    let messenger = json!({"object": "page", "entry": [{"id": "PAGE_ID", "time": 1458692752478_i64, "messaging": [
        {"sender": {"id": "6660001"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458692752478_i64,
         "message": {"mid": "m.hostile1", "text": hostile("messenger")}}]}]});
    for (path, body) in [("/hooks/whatsapp", whatsapp), ("/hooks/messenger", messenger)] {
        let bytes = body.to_string().into_bytes();
        let posted = http
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", meta_signature(META_SECRET, &bytes))
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(posted.status().is_success(), "{path}: {}", posted.status());
    }

    // SMS, signed as Twilio signs.
    let params: Vec<(String, String)> = [
        ("MessageSid", "SMhostile0001"),
        ("SmsSid", "SMhostile0001"),
        ("AccountSid", "AC0000000000000000000000000000hostile"),
        ("From", "+15557770199"),
        ("To", "+15550001111"),
        ("Body", &hostile("sms")),
        ("NumMedia", "0"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .collect();
    let signature = twilio_signature(TWILIO_TOKEN, &format!("{base}/hooks/twilio/sms"), &params);
    let posted = http
        .post(format!("{base}/hooks/twilio/sms"))
        .header("x-twilio-signature", signature)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish())
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_success(), "sms: {}", posted.status());
    (vec!["email", "web", "chat", "telegram", "whatsapp", "messenger", "sms"], visitor)
}

/// What ran and what the policy refused on the page now open.
async fn trouble(page: &Client) -> (Vec<Value>, Vec<Value>) {
    // Violations are reported as events after the fact: give them a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen =
        page.execute("return [window.__ran || ['no listener'], window.__violations || []];", vec![]).await.unwrap();
    let ran = seen[0].as_array().cloned().unwrap_or_default();
    let violations = seen[1].as_array().cloned().unwrap_or_default();
    (ran, violations)
}

#[tokio::test]
async fn hostile_text_from_every_channel_renders_inert_with_no_policy_violation() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let desk = DemoDesk::start_with(channels).await;
    let browser = Browser::start().await.unwrap();
    browser.on_every_page(LISTENER).await.unwrap();
    let page = &browser.client;
    page.set_window_size(1440, 900).await.unwrap();
    sign_in(page, &desk).await;
    // On the chat console first, so that the hostile chat is offered to this agent.
    page.goto(&format!("{}/desk/chat", desk.base)).await.unwrap();
    eventually("the console is online", || async { text_if(page, "#chat-status").await.starts_with("Online") }).await;
    let (tags, _visitor) = send_through_every_channel(&desk).await;
    eventually("the hostile chat is offered", || async { text_if(page, ".chat-transcript").await.contains(WORD) })
        .await;
    let (ran, violations) = trouble(page).await;
    assert!(ran.is_empty() && violations.is_empty(), "chat console: ran {ran:?}, violations {violations:?}");
    let transcript = text_if(page, ".chat-transcript").await;
    assert!(
        transcript.contains("<script>window.__ran.push('chat script')</script>"),
        "the chat console shows the visitor's words as text: {transcript}"
    );

    // Every hostile ticket, found by its word.
    let search = format!("{}/desk/search?q={WORD}", desk.base);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let links = loop {
        page.goto(&search).await.unwrap();
        let mut links: Vec<String> = Vec::new();
        for link in page.find_all(Locator::Css("main a[href^='/desk/tickets/']")).await.unwrap() {
            let href = link.attr("href").await.unwrap().unwrap_or_default();
            let ticket = href.split(['?', '#']).next().unwrap_or_default().to_owned();
            if !links.contains(&ticket) {
                links.push(ticket);
            }
        }
        if links.len() >= tags.len() {
            break links;
        }
        assert!(std::time::Instant::now() < deadline, "the search found only {links:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let (ran, violations) = trouble(page).await;
    assert!(ran.is_empty() && violations.is_empty(), "search page: ran {ran:?}, violations {violations:?}");

    let mut shown = String::new();
    for link in &links {
        page.goto(&format!("{}{link}?history=1", desk.base)).await.unwrap();
        let (ran, violations) = trouble(page).await;
        assert!(ran.is_empty(), "{link}: a payload ran: {ran:?}");
        assert!(violations.is_empty(), "{link}: the policy was violated: {violations:?}");
        shown.push_str(&text_if(page, "main").await);
    }
    for tag in tags {
        // The text is shown as text (the email's HTML is shown as its words).
        // Messenger's and SMS's carry no name or subject of their own; chat's
        // visitor name shows in the console, checked below.
        let named = ["email", "web", "telegram", "whatsapp"].contains(&tag);
        let literal = format!("{tag} <img src=x onerror=");
        assert!(shown.contains(&literal) || !named, "the {tag} subject or name reads as text");
        if tag != "email" {
            assert!(
                shown.contains(&format!("<script>window.__ran.push('{tag} script')</script>")),
                "{tag} body as text"
            );
        }
    }

    // The queues, where names and subjects show too.
    for path in ["/desk/all?status=unsolved", "/desk/unassigned", "/desk/mine"] {
        page.goto(&format!("{}{path}", desk.base)).await.unwrap();
        let (ran, violations) = trouble(page).await;
        assert!(ran.is_empty() && violations.is_empty(), "{path}: ran {ran:?}, violations {violations:?}");
    }
    // The instrument works: markup slipped into the page by hand is blocked
    // by the policy, and the listener hears of it.
    page.execute(
        "document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__ran.push(1)\">');",
        vec![],
    )
    .await
    .unwrap();
    let (ran, violations) = trouble(page).await;
    assert!(ran.is_empty(), "the policy stopped the inline handler: {ran:?}");
    assert!(!violations.is_empty(), "and the violation was reported to the listener");
    browser.close().await.unwrap();
}
