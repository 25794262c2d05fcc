//! The chat widget in a real browser: headless Chromium opens the demo page
//! of `rapport serve`, a visitor writes through the widget, an agent answers
//! over the agent socket, typing shows, and a page reload finds the whole
//! conversation again without a duplicate. Needs Chromium and chromedriver
//! (`.ci/install-browser`); the `outside-servers` feature keeps it out of a
//! plain `cargo test --workspace`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rapport_testkit::browser::Browser;
use rapport_testkit::browser::fantoccini::{Client, Locator};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Frame;

mod support;
use support::{create_token, database_url, start_server};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The texts of the widget's transcript bubbles of `class` (`rpc-visitor`, `rpc-agent`).
async fn bubbles(browser: &Client, class: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for element in browser.find_all(Locator::Css(&format!(".rpc-lines .{class}"))).await.unwrap() {
        texts.push(element.text().await.unwrap());
    }
    texts
}

/// Waits until `check` holds, polling every 100 ms for up to 15 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The next frame on the agent socket that satisfies `wanted`.
async fn next_event(agent: &mut Socket, wanted: impl Fn(&Value) -> bool) -> Value {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let Frame::Text(text) = agent.next().await.unwrap().unwrap() else { continue };
            let event: Value = serde_json::from_str(&text).unwrap();
            if wanted(&event) {
                return event;
            }
        }
    })
    .await
    .expect("the agent socket went quiet")
}

/// True when `event` (an `assigned` transcript or a `message`) carries `text`.
fn carries(event: &Value, text: &str) -> bool {
    match event["type"].as_str() {
        Some("message") => event["text"] == text,
        Some("assigned") => event["transcript"].as_array().unwrap().iter().any(|line| line["text"] == text),
        _ => false,
    }
}

async fn type_and_send(browser: &Client, text: &str) {
    let input = browser.find(Locator::Css(".rpc-form textarea")).await.unwrap();
    input.send_keys(text).await.unwrap();
    browser.find(Locator::Css(".rpc-form button")).await.unwrap().click().await.unwrap();
}

#[tokio::test]
async fn a_visitor_chats_through_the_widget_in_chromium_and_a_reload_resumes_the_conversation() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path(), "widget.db").await;
    let token =
        create_token(&["--database", &url, "--email", "ada@desk.example", "--name", "Ada", "--role", "admin"]).await;
    let (_server, base) = start_server(&["--database", &url], "warn").await;

    // The agent is online before the visitor writes, so the chat is assigned at once.
    let agent_url = format!("{}/chat/agent/ws?token={token}", base.replacen("http://", "ws://", 1));
    let (mut agent, _) = tokio_tungstenite::connect_async(agent_url).await.unwrap();
    next_event(&mut agent, |event| event["type"] == "welcome").await;

    let browser = Browser::start().await.unwrap();
    let page = &browser.client;
    page.goto(&format!("{base}/chat/demo")).await.unwrap();
    page.find(Locator::Css(".rpc-btn")).await.unwrap().click().await.unwrap();
    eventually("the widget is connected", || async {
        let status = page.find(Locator::Css(".rpc-status")).await.unwrap().text().await.unwrap();
        status.contains("online")
    })
    .await;

    type_and_send(page, "Hello from Chromium").await;
    let assigned = next_event(&mut agent, |event| carries(event, "Hello from Chromium")).await;
    let chat = assigned["chat"].as_i64().unwrap();
    let ticket = assigned["ticket"].as_i64().unwrap();
    eventually("the visitor's message is acknowledged", || async {
        page.find_all(Locator::Css(".rpc-pending")).await.unwrap().is_empty()
            && bubbles(page, "rpc-visitor").await == ["Hello from Chromium"]
    })
    .await;

    // Typing, then an answer, reach the widget.
    let send = |frame: Value| Frame::Text(frame.to_string().into());
    agent.send(send(json!({"type": "typing", "chat": chat, "typing": true}))).await.unwrap();
    eventually("the agent's typing shows", || async {
        page.find(Locator::Css(".rpc-typing")).await.unwrap().text().await.unwrap().contains("Typing")
    })
    .await;
    agent
        .send(send(
            json!({"type": "message", "chat": chat, "client_id": "a1", "text": "Hi, I am Ada. How can I help?"}),
        ))
        .await
        .unwrap();
    eventually("the agent's answer shows", || async {
        bubbles(page, "rpc-agent").await.iter().any(|text| text.contains("Hi, I am Ada. How can I help?"))
    })
    .await;

    // A reload keeps the visitor and the conversation; a new message joins the same chat.
    page.refresh().await.unwrap();
    page.find(Locator::Css(".rpc-btn")).await.unwrap().click().await.unwrap();
    eventually("the transcript is back after the reload", || async {
        bubbles(page, "rpc-visitor").await == ["Hello from Chromium"]
            && bubbles(page, "rpc-agent").await.iter().filter(|text| text.contains("I am Ada")).count() == 1
    })
    .await;
    type_and_send(page, "My parcel is late").await;
    let message = next_event(&mut agent, |event| carries(event, "My parcel is late")).await;
    assert_eq!(message["chat"], chat, "the reloaded page continues the same chat");

    // The transcript is the ticket's messages: each once.
    let client = support::http();
    let detail: Value = client
        .get(format!("{base}/api/v1/tickets/{ticket}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> =
        detail["messages"].as_array().unwrap().iter().map(|message| message["text"].as_str().unwrap()).collect();
    for text in ["Hello from Chromium", "Hi, I am Ada. How can I help?", "My parcel is late"] {
        assert_eq!(texts.iter().filter(|seen| **seen == text).count(), 1, "{text:?} once in {texts:?}");
    }
    browser.close().await.unwrap();
}

#[tokio::test]
async fn with_no_agent_online_the_widget_offers_email_and_a_callback() {
    assert!(rapport_testkit::browser::available(), "Chromium and chromedriver are needed: run .ci/install-browser");
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path(), "widget-offline.db").await;
    let token = create_token(&["--database", &url, "--email", "lead@desk.example", "--role", "admin"]).await;
    let (_server, base) = start_server(&["--database", &url], "warn").await;

    let browser = Browser::start().await.unwrap();
    let page = &browser.client;
    page.goto(&format!("{base}/chat/demo")).await.unwrap();
    page.find(Locator::Css(".rpc-btn")).await.unwrap().click().await.unwrap();
    type_and_send(page, "Is anyone there?").await;
    eventually("the widget says the chat goes to email", || async {
        let status = page.find(Locator::Css(".rpc-status")).await.unwrap().text().await.unwrap();
        status.contains("email")
    })
    .await;

    page.find(Locator::Css(".rpc-ask")).await.unwrap().click().await.unwrap();
    let phone = page.find(Locator::Css(".rpc-phone input")).await.unwrap();
    phone.send_keys("+1 555 010 0300").await.unwrap();
    page.find(Locator::Css(".rpc-phone button")).await.unwrap().click().await.unwrap();
    eventually("the widget confirms the callback", || async {
        let status = page.find(Locator::Css(".rpc-status")).await.unwrap().text().await.unwrap();
        status.contains("We will call you at +15550100300")
    })
    .await;

    let queue: Value = support::http()
        .get(format!("{base}/api/v1/callbacks"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let callbacks = queue["callbacks"].as_array().unwrap();
    assert_eq!(callbacks.len(), 1, "{queue}");
    assert_eq!(callbacks[0]["phone"], "+15550100300");
    assert_eq!(callbacks[0]["source"], "chat");
    assert_eq!(callbacks[0]["position"], 1);
    browser.close().await.unwrap();
}
