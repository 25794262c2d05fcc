//! Keyset pagination through `next_cursor`.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{self, id, spawn_app, ticket_body};

/// Follows `next_cursor` from `first` to the end; returns the ids in order and the page count.
async fn walk(app: &crate::helpers::TestApp, first: &str, key: &str) -> (Vec<i64>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut path = first.to_owned();
    loop {
        let page = app.get(&path, &app.admin).await.expect(StatusCode::OK);
        pages += 1;
        ids.extend(helpers::ids(&page, key));
        match &page["next_cursor"] {
            Value::String(cursor) => {
                let separator = if first.contains('?') { '&' } else { '?' };
                path = format!("{first}{separator}cursor={cursor}");
            }
            Value::Null => break,
            other => panic!("next_cursor is {other}"),
        }
        assert!(pages < 100, "pagination does not end");
    }
    (ids, pages)
}

#[tokio::test]
async fn tickets_page_through_without_duplicates_in_every_sort() {
    let app = spawn_app().await;
    let urgencies = ["low", "normal", "high", "urgent"];
    let mut created = Vec::new();
    for index in 0..23 {
        let mut body = ticket_body(&format!("customer{}@example.com", index % 5));
        body["urgency"] = json!(urgencies[index % 4]);
        created.push(id(&app.create_ticket(&app.admin, &body).await));
    }
    for sort in ["priority", "created", "-created", "updated", "-updated"] {
        let (ids, pages) = walk(&app, &format!("/api/v1/tickets?limit=5&sort={sort}"), "tickets").await;
        assert_eq!(ids.len(), 23, "{sort}: {ids:?}");
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 23, "{sort}: no duplicates");
        assert_eq!(pages, 5, "{sort}");
    }
    let (ids, _) = walk(&app, "/api/v1/tickets?limit=5&sort=created", "tickets").await;
    assert_eq!(ids, created, "created order is creation order");
    let (ids, _) = walk(&app, "/api/v1/tickets?limit=4&sort=priority&status=new", "tickets").await;
    let page = app.get("/api/v1/tickets?limit=100&sort=priority", &app.admin).await.expect(StatusCode::OK);
    let one_page: Vec<i64> = page["tickets"].as_array().expect("tickets").iter().map(id).collect();
    assert_eq!(ids, one_page, "pages concatenate to the single-page order");
    let priorities: Vec<&str> =
        page["tickets"].as_array().expect("tickets").iter().filter_map(|t| t["priority"].as_str()).collect();
    let rank = |level: &str| ["low", "normal", "high", "urgent"].iter().position(|word| *word == level);
    assert!(priorities.windows(2).all(|pair| rank(pair[0]) >= rank(pair[1])), "highest priority first: {priorities:?}");
}

#[tokio::test]
async fn customers_teams_and_agents_page_by_id() {
    let app = spawn_app().await;
    for index in 0..7 {
        app.post("/api/v1/customers", &app.admin, &json!({"email": format!("c{index}@example.com")}))
            .await
            .expect(StatusCode::CREATED);
        app.team(&format!("Team {index}")).await;
    }
    let (customers, pages) = walk(&app, "/api/v1/customers?limit=3", "customers").await;
    assert_eq!((customers.len(), pages), (7, 3));
    assert!(customers.windows(2).all(|pair| pair[0] < pair[1]));
    let (teams, _) = walk(&app, "/api/v1/teams?limit=2", "teams").await;
    assert_eq!(teams.len(), 7);
    let (agents, _) = walk(&app, "/api/v1/agents?limit=1", "agents").await;
    assert_eq!(agents, vec![app.admin.id]);
    let reply = app.get("/api/v1/customers?cursor=abc", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("cursor"));
    let reply = app.get("/api/v1/teams?sort=name", &app.admin).await;
    reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("sort"));
}
