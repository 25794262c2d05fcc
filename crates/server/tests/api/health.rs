//! Health endpoints and the OpenAPI document.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer_without_a_token() {
    let app = spawn_app().await;
    let reply = app.send(app.request(Method::GET, "/healthz", None)).await;
    assert_eq!(reply.expect(StatusCode::OK), json!({"status": "ok"}));
    let reply = app.send(app.request(Method::GET, "/readyz", None)).await;
    assert_eq!(reply.expect(StatusCode::OK), json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.store.close().await;
    let reply = app.send(app.request(Method::GET, "/readyz", None)).await;
    assert_eq!(reply.expect(StatusCode::SERVICE_UNAVAILABLE), json!({"status": "unavailable"}));
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
}
