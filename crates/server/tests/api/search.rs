//! Full-text search, ranked.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{id, spawn_app};

#[tokio::test]
async fn search_finds_a_word_and_ranks_the_better_match_first() {
    let app = spawn_app().await;
    let ticket = |subject: &str, body: &str, email: &str| json!({"subject": subject, "body": body, "channel": "web", "customer": {"email": email}});
    let weak = app
        .create_ticket(
            &app.admin,
            &ticket("Account question", "By the way, the kettle app showed an error.", "a@example.com"),
        )
        .await;
    let strong = app
        .create_ticket(
            &app.admin,
            &ticket("Kettle broken", "My kettle will not boil. The kettle light blinks.", "b@example.com"),
        )
        .await;
    app.create_ticket(&app.admin, &ticket("Printer jam", "Paper everywhere", "c@example.com")).await;

    let found = app.get("/api/v1/search?q=kettle", &app.admin).await.expect(StatusCode::OK);
    let results = found["results"].as_array().expect("results");
    let ids: Vec<i64> = results.iter().map(|result| id(&result["ticket"])).collect();
    assert_eq!(ids, vec![id(&strong), id(&weak)], "{found}");
    let ranks: Vec<f64> = results.iter().filter_map(|result| result["rank"].as_f64()).collect();
    assert!(ranks.len() == 2 && ranks[0] >= ranks[1], "{ranks:?}");

    let found = app.get("/api/v1/search?q=KETTLE%20boil", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(found["results"].as_array().map(Vec::len), Some(1), "every word must match");
    let found = app.get("/api/v1/search?q=kettle&limit=1", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(found["results"].as_array().map(Vec::len), Some(1));
    let found = app.get("/api/v1/search?q=%22OR%20*", &app.admin).await.expect(StatusCode::OK);
    assert!(found["results"].is_array(), "search syntax is not exposed");
}

#[tokio::test]
async fn search_needs_a_query_of_1_to_200_characters() {
    let app = spawn_app().await;
    app.get("/api/v1/search", &app.admin).await.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("q"));
    app.get("/api/v1/search?q=%20", &app.admin).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("q"),
    );
    let long = format!("/api/v1/search?q={}", "a".repeat(201));
    app.get(&long, &app.admin).await.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("q"));
    let reply = app.get("/api/v1/search?q=x&page=2", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("page"));
}

#[tokio::test]
async fn issue_14_search_finds_customers_returns_snippets_and_pages_with_a_cursor() {
    let app = spawn_app().await;
    let body = |subject: &str, text: &str, email: &str, name: &str| json!({"subject": subject, "body": text, "channel": "web", "customer": {"email": email, "name": name}});
    let quill = app.create_ticket(&app.admin, &body("Hinge", "It squeaks.", "zq@quillworks.test", "Zoë Quill")).await;
    let found = app.get("/api/v1/search?q=quill", &app.admin).await.expect(StatusCode::OK);
    let results = found["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{found}");
    assert_eq!(id(&results[0]["ticket"]), id(&quill));
    assert_eq!(results[0]["snippet"]["source"], "customer");
    let parts = results[0]["snippet"]["parts"].as_array().expect("parts");
    let marked: Vec<&str> =
        parts.iter().filter(|part| part["match"] == true).filter_map(|part| part["text"].as_str()).collect();
    assert_eq!(marked, vec!["Quill"], "{found}");
    let by_address = app.get("/api/v1/search?q=zq%40quillworks.test", &app.admin).await.expect(StatusCode::OK);
    assert_eq!(by_address["results"].as_array().map(Vec::len), Some(1), "{by_address}");

    for index in 0..5 {
        let text = format!("The kettle {} is broken.", "really ".repeat(index));
        app.create_ticket(&app.admin, &body("Kettle", &text, &format!("k{index}@example.com"), "Kim")).await;
    }
    let first = app.get("/api/v1/search?q=kettle&limit=2", &app.admin).await.expect(StatusCode::OK);
    let message_hit = first["results"][0]["snippet"].clone();
    assert!(["subject", "message"].contains(&message_hit["source"].as_str().unwrap_or_default()), "{first}");
    let mut seen: Vec<i64> = first["results"].as_array().expect("results").iter().map(|r| id(&r["ticket"])).collect();
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(next) = cursor {
        let page = app.get(&format!("/api/v1/search?q=kettle&limit=2&cursor={next}"), &app.admin).await;
        let page = page.expect(StatusCode::OK);
        seen.extend(page["results"].as_array().expect("results").iter().map(|r| id(&r["ticket"])));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        assert!(seen.len() <= 10, "pages do not end");
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 5, "every kettle once");
    let reply = app.get("/api/v1/search?q=kettle&cursor=nonsense", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("cursor"));
}
