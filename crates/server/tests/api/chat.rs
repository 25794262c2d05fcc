//! Live chat over real WebSockets: the queue and its positions, capacity,
//! typing, a dropped connection and a reload that lose and duplicate nothing,
//! the fall-back to email, REST replies reaching the socket, and the agent
//! socket's authentication.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rapport_core::chat::VisitorId;
use rapport_core::{AgentId, Role};
use rapport_server::ServerConfig;
use rapport_server::settings::ChatSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{TestAgent, TestApp, spawn_app_with};

/// How long a test waits for a frame before failing.
const PATIENCE: Duration = Duration::from_secs(10);

struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every frame received, in order (for no-duplicate checks).
    log: Vec<Value>,
}

impl Client {
    async fn send(&mut self, frame: Value) {
        self.socket.send(Message::text(frame.to_string())).await.expect("sending a frame");
    }

    /// The next JSON frame (pings are answered by the library).
    async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a frame within the patience")
                .expect("the socket is open")
                .expect("a readable frame");
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(text.as_str()).expect("a JSON frame");
                self.log.push(value.clone());
                return value;
            }
        }
    }

    /// Reads frames until one of `kind` satisfying `test`; returns it.
    async fn until(&mut self, kind: &str, test: impl Fn(&Value) -> bool) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] == kind && test(&frame) {
                return frame;
            }
        }
    }

    async fn until_type(&mut self, kind: &str) -> Value {
        self.until(kind, |_| true).await
    }

    /// Sends a visitor message and waits for its acknowledgment.
    async fn say(&mut self, client_id: &str, text: &str) -> Value {
        self.send(json!({"type": "message", "client_id": client_id, "text": text})).await;
        self.until("ack", |frame| frame["client_id"] == client_id).await
    }

    /// Drops the connection without a close frame (a network failure).
    fn drop_without_close(self) {
        drop(self.socket);
    }
}

fn ws_url(app: &TestApp, path: &str) -> String {
    format!("{}{path}", app.address.replacen("http://", "ws://", 1))
}

fn chat_config(settings: ChatSettings) -> ServerConfig {
    ServerConfig { chat: settings, ..ServerConfig::default() }
}

async fn spawn_chat_app() -> TestApp {
    spawn_app_with(chat_config(ChatSettings::default())).await
}

/// A visitor's connection after `hello` and `welcome`.
async fn visitor(app: &TestApp, visitor: &str, last_seen: Option<i64>) -> (Client, Value) {
    let (socket, _) = tokio_tungstenite::connect_async(ws_url(app, "/chat/ws")).await.expect("connecting a visitor");
    let mut client = Client { socket, log: Vec::new() };
    client.send(json!({"type": "hello", "visitor": visitor, "last_seen": last_seen})).await;
    let welcome = client.until_type("welcome").await;
    (client, welcome)
}

/// An agent's connection with the token in the subprotocol, after `welcome`.
async fn agent(app: &TestApp, agent: &TestAgent) -> Client {
    let mut request = ws_url(app, "/chat/agent/ws").into_client_request().unwrap();
    let protocols = format!("rapport-agent, bearer.{}", agent.token);
    request.headers_mut().insert("sec-websocket-protocol", protocols.parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("connecting an agent");
    assert_eq!(response.headers()["sec-websocket-protocol"], "rapport-agent", "the token is never echoed");
    let mut client = Client { socket, log: Vec::new() };
    client.until_type("welcome").await;
    client
}

async fn agent_with_capacity(app: &TestApp, capacity: i64) -> TestAgent {
    let agent = app.agent(Role::Agent, &[]).await;
    let capacity = u32::try_from(capacity).unwrap();
    let changes = rapport_store::AgentChanges { chat_capacity: Some(Some(capacity)), ..Default::default() };
    app.store
        .update_agent(AgentId(agent.id), changes, rapport_core::Actor::System, crate::helpers::now())
        .await
        .unwrap();
    agent
}

async fn ticket_of(app: &TestApp, visitor: &str) -> i64 {
    let visitor = VisitorId::parse(visitor).unwrap();
    let chat = app.store.find_current_chat(&visitor).await.unwrap().expect("the visitor has a chat");
    chat.ticket.expect("the chat has a ticket").0
}

async fn texts_on(app: &TestApp, ticket: i64) -> Vec<String> {
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    detail["messages"].as_array().unwrap().iter().map(|message| message["text"].as_str().unwrap().to_owned()).collect()
}

fn count(texts: &[String], text: &str) -> usize {
    texts.iter().filter(|known| *known == text).count()
}

#[tokio::test]
async fn a_queued_visitor_sees_its_position_move_as_another_chat_is_answered() {
    let app = spawn_chat_app().await;
    let desk = agent_with_capacity(&app, 1).await;
    let mut agent = agent(&app, &desk).await;

    let (mut first, welcome) = visitor(&app, "visitor-first", None).await;
    assert_eq!(welcome["agents_online"], 1);
    first.say("f1", "Hello, is anyone there?").await;
    let assigned = agent.until_type("assigned").await;
    let first_chat = assigned["chat"].clone();
    assert_eq!(assigned["visitor"], "visitor-first");
    assert_eq!(assigned["transcript"][0]["text"], "Hello, is anyone there?");
    assert!(first.until_type("joined").await["agent"].as_str().is_some());

    let (mut second, _) = visitor(&app, "visitor-second", None).await;
    second.say("s1", "I need help too").await;
    let queued = second.until_type("queued").await;
    assert_eq!(queued["position"], 1);
    assert!(queued["wait_minutes"].as_i64().is_some_and(|minutes| minutes >= 1));

    let (mut third, _) = visitor(&app, "visitor-third", None).await;
    third.say("t1", "And me").await;
    assert_eq!(third.until_type("queued").await["position"], 2);

    // The agent answers and ends the first chat: the second takes the slot, the third moves up.
    agent.send(json!({"type": "message", "chat": first_chat, "client_id": "a1", "text": "Glad to help"})).await;
    agent.until("ack", |frame| frame["client_id"] == "a1").await;
    assert_eq!(first.until_type("message").await["text"], "Glad to help");
    agent.send(json!({"type": "end", "chat": first_chat})).await;
    first.until_type("ended").await;
    let next = agent.until_type("assigned").await;
    assert_eq!(next["visitor"], "visitor-second");
    second.until_type("joined").await;
    assert_eq!(third.until_type("queued").await["position"], 1);
}

#[tokio::test]
async fn an_agent_with_capacity_one_gets_one_chat_and_the_second_waits() {
    let app = spawn_chat_app().await;
    let desk = agent_with_capacity(&app, 1).await;
    let mut agent = agent(&app, &desk).await;
    let (mut one, _) = visitor(&app, "visitor-one-1", None).await;
    let (mut two, _) = visitor(&app, "visitor-two-2", None).await;
    one.say("m1", "first").await;
    assert_eq!(agent.until_type("assigned").await["visitor"], "visitor-one-1");
    two.say("m1", "second").await;
    assert_eq!(two.until_type("queued").await["position"], 1);
    // The waiting chat's messages are not the agent's: the next frame the
    // agent sees about it is the queue length, not an assignment.
    let queue = agent.until_type("queue").await;
    assert_eq!(queue["waiting"], 1);
    assert!(!agent.log.iter().any(|frame| frame["type"] == "assigned" && frame["visitor"] == "visitor-two-2"));
    // A second agent comes online and takes it.
    let other = agent_with_capacity(&app, 1).await;
    let mut other = self::agent(&app, &other).await;
    assert_eq!(other.until_type("assigned").await["visitor"], "visitor-two-2");
}

#[tokio::test]
async fn typing_reaches_the_other_side() {
    let app = spawn_chat_app().await;
    let desk = agent_with_capacity(&app, 2).await;
    let mut agent = agent(&app, &desk).await;
    let (mut visitor, _) = visitor(&app, "visitor-typing", None).await;
    visitor.say("m1", "hello").await;
    let chat = agent.until_type("assigned").await["chat"].clone();
    visitor.until_type("joined").await;

    visitor.send(json!({"type": "typing", "typing": true})).await;
    let typing = agent.until_type("typing").await;
    assert_eq!((typing["chat"].clone(), typing["typing"].clone()), (chat.clone(), json!(true)));

    agent.send(json!({"type": "typing", "chat": chat, "typing": true})).await;
    assert_eq!(visitor.until_type("typing").await["typing"], true);
    agent.send(json!({"type": "typing", "chat": chat, "typing": false})).await;
    assert_eq!(visitor.until_type("typing").await["typing"], false);
}

#[tokio::test]
async fn a_dropped_connection_resends_what_was_not_acknowledged_and_replays_what_was_missed() {
    let app = spawn_chat_app().await;
    let desk = agent_with_capacity(&app, 2).await;
    let mut agent = agent(&app, &desk).await;
    let (mut visitor_one, _) = visitor(&app, "visitor-drop", None).await;
    let ack = visitor_one.say("c1", "my order is late").await;
    let last_seen = ack["message_id"].as_i64().unwrap();
    let chat = agent.until_type("assigned").await["chat"].clone();
    // (Read what the server sent, so that closing the socket sends a FIN, not
    // a reset that would discard the next frame in flight.)
    visitor_one.until_type("joined").await;

    // A message goes out, and the network fails before its acknowledgment arrives.
    visitor_one.send(json!({"type": "message", "client_id": "c2", "text": "order 1234"})).await;
    visitor_one.drop_without_close();
    // The server stored it (the agent sees it) ...
    let seen = agent.until("message", |frame| frame["text"] == "order 1234").await;
    // ... and the agent answers while the visitor is away.
    agent.send(json!({"type": "message", "chat": chat, "client_id": "a1", "text": "Looking into it"})).await;
    let answer_id = agent.until("ack", |frame| frame["client_id"] == "a1").await["message_id"].as_i64().unwrap();

    // The widget reconnects with its last seen id and resends the unacknowledged message.
    let (mut visitor_two, _) = visitor(&app, "visitor-drop", Some(last_seen)).await;
    visitor_two.send(json!({"type": "message", "client_id": "c2", "text": "order 1234"})).await;
    let ack = visitor_two.until("ack", |frame| frame["client_id"] == "c2").await;
    assert_eq!(ack["duplicate"], true, "the resend finds the stored message: {ack}");
    assert_eq!(ack["message_id"], seen["id"]);
    let replayed: Vec<&Value> = visitor_two.log.iter().filter(|frame| frame["type"] == "message").collect();
    assert_eq!(replayed.iter().filter(|frame| frame["id"] == answer_id).count(), 1, "{replayed:?}");
    assert!(replayed.iter().all(|frame| frame["id"].as_i64().unwrap() > last_seen), "only what follows last_seen");

    // A new message after the reconnect flows as usual, once.
    visitor_two.say("c3", "thanks").await;
    agent.until("message", |frame| frame["text"] == "thanks").await;
    let texts = texts_on(&app, ticket_of(&app, "visitor-drop").await).await;
    for text in ["my order is late", "order 1234", "Looking into it", "thanks"] {
        assert_eq!(count(&texts, text), 1, "{text} once in {texts:?}");
    }
    assert_eq!(agent.log.iter().filter(|frame| frame["type"] == "message" && frame["text"] == "order 1234").count(), 1);
}

#[tokio::test]
async fn a_reload_resumes_the_transcript() {
    let app = spawn_chat_app().await;
    let desk = agent_with_capacity(&app, 2).await;
    let mut agent = agent(&app, &desk).await;
    let (mut page, _) = visitor(&app, "visitor-reload", None).await;
    page.say("r1", "question one").await;
    let chat = agent.until_type("assigned").await["chat"].clone();
    agent.send(json!({"type": "message", "chat": chat, "client_id": "a1", "text": "answer one"})).await;
    let shown = page.until("message", |frame| frame["text"] == "answer one").await;
    drop(page); // The page reloads.
    agent.send(json!({"type": "message", "chat": chat, "client_id": "a2", "text": "answer two"})).await;
    agent.until("ack", |frame| frame["client_id"] == "a2").await;

    let (mut reloaded, welcome) = visitor(&app, "visitor-reload", shown["id"].as_i64()).await;
    assert_eq!(welcome["state"], "active");
    let replay = reloaded.until_type("message").await;
    assert_eq!(replay["text"], "answer two");
    assert_eq!(replay["from"], "agent");
    assert_eq!(reloaded.until_type("joined").await["agent"], "Test agent");
    assert_eq!(reloaded.log.iter().filter(|frame| frame["type"] == "message").count(), 1);

    // A page without a last seen id gets the whole transcript.
    let (mut fresh, _) = visitor(&app, "visitor-reload", None).await;
    let mut texts = Vec::new();
    for _ in 0..3 {
        texts.push(fresh.until_type("message").await["text"].as_str().unwrap().to_owned());
    }
    assert_eq!(texts, ["question one", "answer one", "answer two"]);
}

#[tokio::test]
async fn with_no_agent_online_the_chat_becomes_a_ticket_answered_by_email() {
    let app = spawn_chat_app().await;
    let (mut visitor, welcome) = visitor(&app, "visitor-offline", None).await;
    assert_eq!(welcome["agents_online"], 0);
    visitor.say("o1", "Anyone?").await;
    let offline = visitor.until_type("offline").await;
    assert_eq!(offline["ask_email"], true);
    assert!(offline["notice"].as_str().unwrap().contains("email"));

    visitor.send(json!({"type": "email", "email": "not an address"})).await;
    assert_eq!(visitor.until_type("error").await["code"], "invalid_email");
    visitor.send(json!({"type": "email", "email": "Visitor@Example.com"})).await;
    assert_eq!(visitor.until_type("email_saved").await["email"], "visitor@example.com");

    let ticket = ticket_of(&app, "visitor-offline").await;
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    // The conversation continues by email, under the email target (issue 14).
    assert_eq!(detail["channel"], "email");
    let moved = detail["events"].as_array().unwrap().iter().find(|event| event["type"] == "channel_changed").unwrap();
    assert_eq!((moved["from"].as_str(), moved["to"].as_str()), (Some("chat"), Some("email")));
    let customer = detail["customer"].as_i64().or_else(|| detail["customer"]["id"].as_i64()).unwrap();
    let record = app.get(&format!("/api/v1/customers/{customer}"), &app.admin).await.expect(StatusCode::OK);
    assert!(record.to_string().contains("visitor@example.com"), "the address is on the customer: {record}");

    let reply = app
        .post(
            &format!("/api/v1/tickets/{ticket}/messages"),
            &app.admin,
            &json!({"body": "We will look into it", "public": true}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(reply["channel"], "email");
    assert_eq!(reply["delivery"], "queued");
    let outbox = app.store.count_outbox().await.unwrap();
    assert!(outbox.iter().any(|(state, count)| state == "queued" && *count >= 1), "{outbox:?}");
}

#[tokio::test]
async fn a_chat_nobody_takes_in_time_goes_to_email() {
    let app = spawn_app_with(chat_config(ChatSettings {
        offline_after: Duration::from_millis(500),
        ..ChatSettings::default()
    }))
    .await;
    // Online, but with no free slot.
    let busy = agent_with_capacity(&app, 0).await;
    let _agent = agent(&app, &busy).await;
    let (mut visitor, _) = visitor(&app, "visitor-waits", None).await;
    visitor.say("w1", "hello?").await;
    assert_eq!(visitor.until_type("queued").await["position"], 1);
    let offline = visitor.until_type("offline").await;
    assert_eq!(offline["ask_email"], true);
    let chat = app.store.find_current_chat(&VisitorId::parse("visitor-waits").unwrap()).await.unwrap().unwrap();
    assert_eq!(chat.state, rapport_core::chat::ChatState::Offline);
}

#[tokio::test]
async fn a_rest_reply_on_a_chat_ticket_reaches_the_visitor_socket() {
    let app = spawn_chat_app().await;
    let desk = agent_with_capacity(&app, 1).await;
    let mut agent = agent(&app, &desk).await;
    let (mut visitor, _) = visitor(&app, "visitor-rest", None).await;
    visitor.say("m1", "hi").await;
    agent.until_type("assigned").await;
    let ticket = ticket_of(&app, "visitor-rest").await;
    let reply = app
        .post(
            &format!("/api/v1/tickets/{ticket}/messages"),
            &app.admin,
            &json!({"body": "From the API", "public": true}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(reply["channel"], "chat");
    let line = visitor.until("message", |frame| frame["text"] == "From the API").await;
    assert_eq!(line["id"], reply["id"]);
    assert_eq!(agent.until("message", |frame| frame["text"] == "From the API").await["id"], reply["id"]);
}

#[tokio::test]
async fn the_agent_socket_refuses_a_bad_token_and_takes_one_in_the_query() {
    let app = spawn_chat_app().await;
    let mut request = ws_url(&app, "/chat/agent/ws").into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "rapport-agent, bearer.rap_wrong".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED)
        }
        other => panic!("a bad token must be refused, got {other:?}"),
    }
    match tokio_tungstenite::connect_async(ws_url(&app, "/chat/agent/ws")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED)
        }
        other => panic!("a missing token must be refused, got {other:?}"),
    }
    let desk = app.agent(Role::Agent, &[]).await;
    let url = ws_url(&app, &format!("/chat/agent/ws?token={}", desk.token));
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("a good token in the query");
    let mut client = Client { socket, log: Vec::new() };
    let welcome = client.until_type("welcome").await;
    assert_eq!(welcome["agent"], desk.id);
    assert_eq!(welcome["capacity"], 3, "the default capacity");
}

#[tokio::test]
async fn the_visitor_socket_checks_the_origin_and_the_widget_is_served() {
    let app = spawn_app_with(chat_config(ChatSettings {
        allowed_origins: vec!["https://shop.example.com".to_owned()],
        ..ChatSettings::default()
    }))
    .await;
    let mut request = ws_url(&app, "/chat/ws").into_client_request().unwrap();
    request.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("a foreign origin must be refused, got {other:?}"),
    }
    let mut request = ws_url(&app, "/chat/ws").into_client_request().unwrap();
    request.headers_mut().insert("origin", "https://shop.example.com".parse().unwrap());
    tokio_tungstenite::connect_async(request).await.expect("an allowed origin");

    let widget = app.client.get(format!("{}/widget.js", app.address)).send().await.unwrap();
    assert_eq!(widget.status(), StatusCode::OK);
    assert!(widget.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(widget.text().await.unwrap().contains("/chat/ws"));
    let demo = app.client.get(format!("{}/chat/demo", app.address)).send().await.unwrap();
    assert!(demo.text().await.unwrap().contains("<script src=\"/widget.js\""));
}

#[tokio::test]
async fn after_a_chat_ends_the_visitor_writing_again_starts_a_new_one_on_the_same_ticket() {
    let app = spawn_chat_app().await;
    let desk = agent_with_capacity(&app, 1).await;
    let mut agent = agent(&app, &desk).await;
    let (mut visitor, _) = visitor(&app, "visitor-again", None).await;
    visitor.say("m1", "first question").await;
    let first = agent.until_type("assigned").await;
    agent.send(json!({"type": "end", "chat": first["chat"]})).await;
    visitor.until_type("ended").await;
    assert_eq!(agent.until_type("ended").await["chat"], first["chat"]);

    visitor.say("m2", "one more thing").await;
    let second = agent.until_type("assigned").await;
    assert_ne!(second["chat"], first["chat"]);
    assert_eq!(second["ticket"], first["ticket"], "the open ticket continues");
    let texts: Vec<&str> =
        second["transcript"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["first question", "one more thing"]);
}

#[tokio::test]
async fn a_visitor_with_two_tabs_gets_every_line_in_both() {
    let app = spawn_chat_app().await;
    let desk = agent_with_capacity(&app, 1).await;
    let mut agent = agent(&app, &desk).await;
    let (mut one, _) = visitor(&app, "visitor-tabs", None).await;
    one.say("m1", "from the first tab").await;
    let chat = agent.until_type("assigned").await["chat"].clone();
    let (mut two, welcome) = visitor(&app, "visitor-tabs", None).await;
    assert_eq!(welcome["state"], "active");
    agent.send(json!({"type": "message", "chat": chat, "client_id": "a1", "text": "to both tabs"})).await;
    assert_eq!(one.until("message", |frame| frame["from"] == "agent").await["text"], "to both tabs");
    assert_eq!(two.until("message", |frame| frame["from"] == "agent").await["text"], "to both tabs");
    // Closing one tab leaves the other connected.
    drop(one);
    agent.send(json!({"type": "message", "chat": chat, "client_id": "a2", "text": "still there?"})).await;
    assert_eq!(two.until("message", |frame| frame["text"] == "still there?").await["from"], "agent");
}

#[tokio::test]
async fn an_offline_chat_is_taken_up_again_when_the_visitor_returns() {
    let app = spawn_chat_app().await;
    let (mut first, _) = visitor(&app, "visitor-returns", None).await;
    let ack = first.say("m1", "hello?").await;
    first.until_type("offline").await;
    drop(first); // The hub forgets the idle chat; the store keeps it.

    let (mut back, welcome) = visitor(&app, "visitor-returns", ack["message_id"].as_i64()).await;
    assert_eq!(welcome["state"], "offline");
    assert_eq!(back.until_type("offline").await["ask_email"], true);
    back.send(json!({"type": "email", "email": "back@example.com"})).await;
    assert_eq!(back.until_type("email_saved").await["email"], "back@example.com");
    // An agent comes online and the visitor writes again: the chat waits for them.
    let desk = agent_with_capacity(&app, 1).await;
    let mut agent = agent(&app, &desk).await;
    back.say("m2", "are you there now?").await;
    let assigned = agent.until_type("assigned").await;
    assert_eq!(assigned["visitor"], "visitor-returns");
    assert_eq!(assigned["transcript"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_chat_visitor_asks_for_a_callback_and_keeps_a_place_in_the_phone_queue() {
    let app = spawn_chat_app().await;
    // A caller asked first, through the API.
    let first = json!({"phone": "+15550100100"});
    app.post("/api/v1/callbacks", &app.admin, &first).await.expect(StatusCode::CREATED);

    let (mut ada, _) = visitor(&app, "visitor-callback-1", None).await;
    ada.say("c1", "Can someone call me about my invoice?").await;
    ada.send(json!({"type": "callback", "phone": "not a number"})).await;
    let refused = ada.until_type("error").await;
    assert_eq!(refused["code"], "invalid_phone");
    ada.send(json!({"type": "callback", "phone": "+1 (555) 010-0200"})).await;
    let queued = ada.until_type("callback_queued").await;
    assert_eq!(queued["phone"], "+15550100200");
    assert_eq!(queued["position"], 2, "behind the caller who asked first");
    // Asking again keeps the same place.
    ada.send(json!({"type": "callback", "phone": "+15550100200"})).await;
    assert_eq!(ada.until_type("callback_queued").await["position"], 2);

    let ticket = ticket_of(&app, "visitor-callback-1").await;
    let queue = app.get("/api/v1/callbacks", &app.admin).await.expect(StatusCode::OK);
    let items = queue["callbacks"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{queue}");
    assert_eq!(items[1]["phone"], "+15550100200");
    assert_eq!(items[1]["source"], "chat");
    assert_eq!(items[1]["ticket"], ticket, "the callback is about the chat's ticket");
}

/// Waits until the server closes `client`'s socket, failing after 5 seconds.
async fn closed_by_server(client: &mut Client) {
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match client.socket.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket stayed open");
}

#[tokio::test]
async fn issue_15_deactivating_an_agent_or_revoking_their_token_closes_their_socket() {
    let app = spawn_chat_app().await;
    let deactivated = app.agent(Role::Agent, &[]).await;
    let mut first = agent(&app, &deactivated).await;
    let path = format!("/api/v1/agents/{}", deactivated.id);
    app.patch(&path, &app.admin, &json!({"active": false}), None).await.expect(StatusCode::OK);
    closed_by_server(&mut first).await;

    let revoked = app.agent(Role::Agent, &[]).await;
    let mut second = agent(&app, &revoked).await;
    app.store
        .revoke_token(revoked.token_id, rapport_core::Actor::System, rapport_server::Clock::system().now())
        .await
        .unwrap();
    closed_by_server(&mut second).await;
    // And a new socket with that token is refused.
    let url = ws_url(&app, &format!("/chat/agent/ws?token={}", revoked.token));
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

#[tokio::test]
async fn issue_15_new_chats_from_one_address_share_the_web_forms_limit() {
    let mut config = chat_config(ChatSettings::default());
    config.portal.limit_per_ip = 2;
    let app = spawn_app_with(config).await;
    for n in 0..2 {
        let (mut client, _) = visitor(&app, &format!("flood-visitor-{n}"), None).await;
        client.say("m1", "hello").await;
    }
    let (mut third, _) = visitor(&app, "flood-visitor-2", None).await;
    third.send(json!({"type": "message", "client_id": "m1", "text": "hello"})).await;
    let refused = third.until_type("error").await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("by email"), "{refused}");
    assert_eq!(app.store.count_tickets().await.unwrap(), 2, "no third ticket");
}
