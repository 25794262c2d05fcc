//! Health endpoints and the OpenAPI document.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_and_readyz_answer_without_a_token() {
    let app = spawn_app().await;
    let reply = app.send(app.request(Method::GET, "/healthz", None)).await;
    assert_eq!(reply.expect(StatusCode::OK), json!({"status": "ok"}));
    let reply = app.send(app.request(Method::GET, "/readyz", None)).await;
    assert_eq!(reply.expect(StatusCode::OK)["status"], "ok");
}

/// `/readyz`'s entry for `channel`.
fn channel(ready: &serde_json::Value, channel: &str) -> serde_json::Value {
    let channels = ready["channels"].as_array().expect("a channels list");
    channels.iter().find(|entry| entry["channel"] == channel).cloned().unwrap_or_else(|| panic!("{channel} in {ready}"))
}

#[tokio::test]
async fn issue_14_readyz_says_which_channels_can_send() {
    let app = spawn_app().await;
    let ready = app.send(app.request(Method::GET, "/readyz", None)).await.expect(StatusCode::OK);
    assert_eq!(ready["status"], "ok", "a channel that cannot send does not make the server unready");
    let names: Vec<&str> = ready["channels"].as_array().unwrap().iter().filter_map(|c| c["channel"].as_str()).collect();
    assert_eq!(
        names,
        ["email", "web", "chat", "whatsapp", "telegram", "messenger", "instagram", "sms", "phone", "api"],
        "every channel, once"
    );
    for name in ["email", "web", "api"] {
        assert_eq!(
            channel(&ready, name),
            json!({"channel": name, "sends": false, "detail": "no SMTP server is configured: set email.smtp_url"})
        );
    }
    assert_eq!(channel(&ready, "chat")["sends"], true, "chat is on by default");
    for (name, section) in [("whatsapp", "[whatsapp]"), ("telegram", "[telegram]"), ("sms", "[twilio]")] {
        let entry = channel(&ready, name);
        assert_eq!(entry["sends"], false, "{entry}");
        assert!(entry["detail"].as_str().unwrap().contains(section), "{entry}");
    }

    let mut config = rapport_server::ServerConfig::default();
    config.mail.smtp_url = Some("smtp://127.0.0.1:9".into());
    config.chat.enabled = false;
    let app = spawn_app_with(config).await;
    let ready = app.send(app.request(Method::GET, "/readyz", None)).await.expect(StatusCode::OK);
    assert_eq!(channel(&ready, "email"), json!({"channel": "email", "sends": true, "detail": "by SMTP"}));
    assert_eq!(channel(&ready, "web")["sends"], true);
    let chat = channel(&ready, "chat");
    assert_eq!(
        chat,
        json!({"channel": "chat", "sends": false, "detail": "live chat is disabled: set chat.enabled = true"})
    );
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.store.close().await;
    let reply = app.send(app.request(Method::GET, "/readyz", None)).await;
    let ready = reply.expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready["status"], "unavailable");
    assert_eq!(ready["channels"].as_array().map(Vec::len), Some(10), "the channels are still reported: {ready}");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_with_bearer_auth() {
    let app = spawn_app().await;
    let reply = app.send(app.request(Method::GET, "/api/v1/openapi.json", None)).await;
    let document = reply.expect(StatusCode::OK);
    assert!(document["openapi"].as_str().is_some_and(|version| version.starts_with("3.1")));
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(document, serde_json::to_value(rapport_server::openapi()).expect("json"), "served = generated");
    let paths = document["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/v1/tickets", "post"),
        ("/api/v1/tickets", "get"),
        ("/api/v1/tickets/{id}", "get"),
        ("/api/v1/tickets/{id}", "patch"),
        ("/api/v1/tickets/{id}/messages", "post"),
        ("/api/v1/search", "get"),
        ("/api/v1/customers", "post"),
        ("/api/v1/customers/{id}", "patch"),
        ("/api/v1/customers/{id}/erase", "post"),
        ("/api/v1/organizations", "post"),
        ("/api/v1/teams/{id}", "patch"),
        ("/api/v1/agents", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ] {
        assert!(paths.get(path).is_some_and(|item| item.get(method).is_some()), "{method} {path} is documented");
    }
    let status = &document["components"]["schemas"]["TicketDto"]["properties"]["status"]["enum"];
    assert_eq!(status, &json!(["new", "open", "pending", "on_hold", "solved", "closed"]));
    // Every body is read by the one JSON reader, which answers 400 to what it
    // cannot read (schemathesis found an operation that did not say so).
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("operations") {
            if operation.get("requestBody").is_some() {
                assert!(operation["responses"].get("400").is_some(), "{method} {path} documents its 400");
            }
        }
    }
}
