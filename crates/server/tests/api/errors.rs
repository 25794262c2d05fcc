//! Every error status, with its stable code and field, and that no malformed
//! request takes the server down.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{id, spawn_app, ticket_body};

#[tokio::test]
async fn unparseable_json_is_400_malformed_json() {
    let app = spawn_app().await;
    let reply = app.post_raw("/api/v1/tickets", &app.admin, r#"{"subject": "x", "#).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "malformed_json", None);
    let reply = app.post_raw("/api/v1/tickets", &app.admin, "not json at all").await;
    reply.assert_error(StatusCode::BAD_REQUEST, "malformed_json", None);
    let reply = app.post_raw("/api/v1/tickets", &app.admin, r#"{"subject": "x"} trailing"#).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "malformed_json", None);
}

#[tokio::test]
async fn a_body_that_is_not_json_by_content_type_is_400() {
    let app = spawn_app().await;
    let body = serde_json::to_string(&ticket_body("ann@example.com")).expect("json");
    let builder = app.request(Method::POST, "/api/v1/tickets", Some(&app.admin)).header("content-type", "text/plain");
    let reply = app.send(builder.body(body)).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "malformed_json", None);
}

#[tokio::test]
async fn json_nested_deeper_than_32_levels_is_400() {
    let app = spawn_app().await;
    let deep = format!(r#"{{"subject": {}1{}}}"#, "[".repeat(40), "]".repeat(40));
    let reply = app.post_raw("/api/v1/tickets", &app.admin, deep).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "malformed_json", None);
    // A million brackets would overflow a naive recursive parser.
    let reply = app.post_raw("/api/v1/tickets", &app.admin, "[".repeat(1_000_000)).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "malformed_json", None);
    app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app().await;
    let mut body = ticket_body("ann@example.com");
    body["body"] = json!("x".repeat(1024 * 1024 + 1));
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None);
    let page = app.get("/api/v1/tickets", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(page["tickets"].as_array().map(Vec::len), Some(0), "nothing was half-written");
}

#[tokio::test]
async fn an_unknown_field_is_422_naming_it() {
    let app = spawn_app().await;
    let mut body = ticket_body("ann@example.com");
    body["colour"] = json!("red");
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("colour"));

    let mut body = ticket_body("ann@example.com");
    body["customer"]["nickname"] = json!("annie");
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("customer.nickname"));

    let ticket = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    let path = format!("/api/v1/tickets/{}", id(&ticket));
    let reply = app.patch(&path, &app.admin, &json!({"status": "open", "colour": "red"}), None).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("colour"));
}

#[tokio::test]
async fn a_missing_field_or_a_wrong_type_is_422_naming_it() {
    let app = spawn_app().await;
    let mut body = ticket_body("ann@example.com");
    body.as_object_mut().expect("an object").remove("subject");
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("subject"));

    let mut body = ticket_body("ann@example.com");
    body["urgency"] = json!(5);
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("urgency"));

    let mut body = ticket_body("ann@example.com");
    body["subject"] = json!("   ");
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("subject"));

    let mut body = ticket_body("ann@example.com");
    body["tags"] = json!(["two words"]);
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("tags"));
}

#[tokio::test]
async fn an_unknown_channel_is_422() {
    let app = spawn_app().await;
    let mut body = ticket_body("ann@example.com");
    body["channel"] = json!("fax");
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("channel"));
}

#[tokio::test]
async fn a_bad_identity_is_422_naming_it() {
    let app = spawn_app().await;
    let reply = app.post("/api/v1/tickets", &app.admin, &ticket_body("not-an-address")).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("customer.email"));

    let mut body = ticket_body("ann@example.com");
    body["customer"] = json!({"phone": "07700 900123"});
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("customer.phone"));

    let mut body = ticket_body("ann@example.com");
    body["customer"] = json!({"name": "No Address"});
    let reply = app.post("/api/v1/tickets", &app.admin, &body).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("customer"));
}

#[tokio::test]
async fn a_priority_override_without_a_reason_is_422() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    let path = format!("/api/v1/tickets/{}", id(&ticket));
    let reply = app.patch(&path, &app.admin, &json!({"priority": "urgent"}), None).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("priority_reason"));
    let reply = app.patch(&path, &app.admin, &json!({"priority": "urgent", "priority_reason": "  "}), None).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("priority_reason"));
    let reply = app.patch(&path, &app.admin, &json!({"status": null}), None).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("status"));
}

#[tokio::test]
async fn unknown_sort_filter_or_cursor_is_422() {
    let app = spawn_app().await;
    let reply = app.get("/api/v1/tickets?sort=subject", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("sort"));
    let reply = app.get("/api/v1/tickets?stauts=open", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("stauts"));
    let reply = app.get("/api/v1/tickets?status=opened", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("status"));
    let reply = app.get("/api/v1/tickets?cursor=garbage", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("cursor"));
    let reply = app.get("/api/v1/tickets?limit=101", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("limit"));
    let reply = app.get("/api/v1/tickets?limit=0", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("limit"));
}

#[tokio::test]
async fn an_unknown_ticket_or_path_is_404() {
    let app = spawn_app().await;
    app.get("/api/v1/tickets/999999", &app.admin).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    app.get("/api/v1/tickets/abc", &app.admin).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    app.get("/api/v1/nothing-here", &app.admin).await.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    let reply = app.patch("/api/v1/tickets/999999", &app.admin, &json!({"status": "open"}), None).await;
    reply.assert_error(StatusCode::NOT_FOUND, "not_found", None);
}

#[tokio::test]
async fn an_illegal_transition_is_409() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    let path = format!("/api/v1/tickets/{}", id(&ticket));
    let reply = app.patch(&path, &app.admin, &json!({"status": "closed"}), None).await;
    reply.assert_error(StatusCode::CONFLICT, "illegal_transition", None);
    let after = app.get(&path, &app.admin).await.expect(StatusCode::OK);
    assert_eq!(after["status"], "new");
    assert_eq!(after["version"], 1, "a refused patch writes nothing");
}

#[tokio::test]
async fn a_stale_if_match_is_409_and_writes_nothing() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    let path = format!("/api/v1/tickets/{}", id(&ticket));
    app.patch(&path, &app.admin, &json!({"status": "open"}), Some("\"1\"")).await.expect(StatusCode::OK);
    let reply = app.patch(&path, &app.admin, &json!({"status": "pending"}), Some("1")).await;
    reply.assert_error(StatusCode::CONFLICT, "stale_version", None);
    let after = app.get(&path, &app.admin).await.expect(StatusCode::OK);
    assert_eq!(after["status"], "open");
    let reply = app.patch(&path, &app.admin, &json!({"status": "pending"}), Some("yesterday")).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("If-Match"));
}

#[tokio::test]
async fn a_reply_on_a_closed_ticket_is_409_ticket_closed() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    let number = id(&ticket);
    app.set(number, json!({"status": "solved"})).await;
    app.set(number, json!({"status": "closed"})).await;
    let path = format!("/api/v1/tickets/{number}/messages");
    let reply = app.post(&path, &app.admin, &json!({"body": "Are you still there?", "public": true})).await;
    reply.assert_error(StatusCode::CONFLICT, "ticket_closed", None);
    app.post(&path, &app.admin, &json!({"body": "Internal: customer went quiet", "public": false}))
        .await
        .expect(StatusCode::CREATED);
}

#[tokio::test]
async fn a_wrong_method_is_405_json() {
    let app = spawn_app().await;
    let reply = app.send(app.request(Method::DELETE, "/api/v1/tickets", Some(&app.admin))).await;
    reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);
}

#[tokio::test]
async fn garbage_never_takes_the_server_down() {
    let app = spawn_app().await;
    let bodies: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0x00, 0x01],
        b"\"\\ud800\"".to_vec(),
        b"{\"subject\": \"\\u0000\", \"body\": 1e999999}".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"{\"customer\": {\"email\": [\"a\"]}}".to_vec(),
        br#"{"subject":"s","body":"b","channel":"email","customer":{"email":"a@example.com"},"team":99999999}"#
            .to_vec(),
        br#"{"subject":"s","body":"b","channel":"email","customer":{"email":"a@example.com"},"team":-1}"#.to_vec(),
    ];
    for body in bodies {
        let reply = app.post_raw("/api/v1/tickets", &app.admin, body).await;
        assert!(reply.status.is_client_error(), "{} for {}", reply.status, reply.text);
        assert!(reply.body["error"]["code"].is_string(), "{}", reply.text);
    }
    for path in
        ["/api/v1/tickets/99999999999999999999999", "/api/v1/tickets/-1", "/api/v1/tickets?limit=99999999999999999999"]
    {
        let reply = app.get(path, &app.admin).await;
        assert!(reply.status.is_client_error(), "{path}: {}", reply.status);
    }
    let ticket = app.create_ticket(&app.admin, &ticket_body("ann@example.com")).await;
    let path = format!("/api/v1/tickets/{}", id(&ticket));
    for patch in [json!([]), json!("x"), json!({"owner": "you"}), json!({"tags": null}), json!({"team": 1.5})] {
        let reply = app.patch(&path, &app.admin, &patch, None).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{patch}: {}", reply.text);
    }
    app.get("/healthz", &app.admin).await.expect(StatusCode::OK);
}

#[tokio::test]
async fn issue_15_a_webhook_over_the_limit_is_the_same_json_413() {
    let app = spawn_app().await;
    for path in ["/hooks/whatsapp", "/hooks/telegram", "/hooks/messenger", "/hooks/twilio/sms", "/hooks/twilio/voice"] {
        let request = app
            .request(Method::POST, path, None)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("x".repeat(1024 * 1024 + 1));
        let reply = app.send(request).await;
        reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None);
    }
}

#[tokio::test]
async fn issue_15_nul_characters_are_taken_out_of_what_the_api_stores() {
    let app = spawn_app().await;
    let mut body = ticket_body("nul@example.com");
    body["subject"] = json!("Broken\u{0} printer");
    body["body"] = json!("It\u{0} jams");
    body["customer"]["name"] = json!("Ann\u{0} Lee");
    let created = app.create_ticket(&app.admin, &body).await;
    assert_eq!(created["subject"], "Broken printer");
    let ticket = id(&created);
    let detail = app.get(&format!("/api/v1/tickets/{ticket}"), &app.admin).await.expect(StatusCode::OK);
    assert_eq!(detail["messages"][0]["text"], "It jams", "{detail}");
    let customer = app.get(&format!("/api/v1/customers/{}", detail["customer"]), &app.admin).await;
    assert_eq!(customer.expect(StatusCode::OK)["name"], "Ann Lee");
    let team =
        app.post("/api/v1/teams", &app.admin, &json!({"name": "Bil\u{0}ling"})).await.expect(StatusCode::CREATED);
    assert_eq!(team["name"], "Billing");
    let note = json!({"public": false, "body": "see\u{0} log"});
    let added = app.post(&format!("/api/v1/tickets/{ticket}/messages"), &app.admin, &note).await;
    assert_eq!(added.expect(StatusCode::CREATED)["text"], "see log");
}

#[tokio::test]
async fn issue_15_line_breaks_in_subjects_and_names_are_folded_on_every_api_path() {
    let app = spawn_app().await;
    let mut body = ticket_body("crlf@example.com");
    body["subject"] = json!("Printer\r\nBcc: everyone@example.com");
    body["customer"]["name"] = json!("Ann\r\nLee");
    let created = app.create_ticket(&app.admin, &body).await;
    assert_eq!(created["subject"], "Printer Bcc: everyone@example.com");
    let customer_path = format!("/api/v1/customers/{}", created["customer"]);
    let customer = app.get(&customer_path, &app.admin).await.expect(StatusCode::OK);
    assert_eq!(customer["name"], "Ann Lee");
    let renamed = app.patch(&customer_path, &app.admin, &json!({"name": "Ann\nSmith"}), None).await;
    assert_eq!(renamed.expect(StatusCode::OK)["name"], "Ann Smith");
    let made = app.post("/api/v1/customers", &app.admin, &json!({"name": "Bo\r\nB", "email": "bob@example.com"})).await;
    assert_eq!(made.expect(StatusCode::CREATED)["name"], "Bo B");
    let team = app.post("/api/v1/teams", &app.admin, &json!({"name": "Sales\nTeam"})).await.expect(StatusCode::CREATED);
    assert_eq!(team["name"], "Sales Team");
    let agent_path = format!("/api/v1/agents/{}", app.admin.id);
    let agent = app.patch(&agent_path, &app.admin, &json!({"name": "Sam\r\nAdmin"}), None).await;
    assert_eq!(agent.expect(StatusCode::OK)["name"], "Sam Admin");
    // A subject that is only a line break is blank.
    let mut blank = ticket_body("blank@example.com");
    blank["subject"] = json!("\r\n");
    app.post("/api/v1/tickets", &app.admin, &blank).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("subject"),
    );
}
