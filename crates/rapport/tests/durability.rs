//! Durability under load: 32 clients create tickets while the server is
//! killed with SIGKILL. After a restart, every ticket that got a 201 is
//! there, complete, and nothing half-written is. Runs on SQLite, or on
//! PostgreSQL when `RAPPORT_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rapport_core::{MessageKind, TicketId};
use rapport_store::{Store, StoreOptions};

mod support;
use support::{create_token, database_url, start_server};

#[derive(Debug, Clone)]
struct Acknowledged {
    id: i64,
    subject: String,
    body: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_tickets_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path(), "durability.db").await;
    let token = create_token(&["--database", &url, "--email", "load@example.com", "--role", "admin"]).await;
    let (mut child, base) = start_server(&["--database", &url], "warn").await;

    let client = support::http();
    let acknowledged = Arc::new(Mutex::new(Vec::<Acknowledged>::new()));
    let mut clients = Vec::new();
    for worker in 0..32 {
        let (client, base, token, acknowledged) = (client.clone(), base.clone(), token.clone(), acknowledged.clone());
        clients.push(tokio::spawn(async move {
            for n in 0.. {
                let subject = format!("Durability {worker}-{n}");
                let body = format!("Body of ticket {worker}-{n}: the printer is on fire again");
                let response = client
                    .post(format!("{base}/api/v1/tickets"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({
                        "subject": subject, "body": body, "channel": "email",
                        "customer": {"email": format!("load{}@example.com", n % 50)},
                    }))
                    .send()
                    .await;
                let Ok(response) = response else { break };
                if response.status() != reqwest::StatusCode::CREATED {
                    break;
                }
                let Ok(json) = response.json::<serde_json::Value>().await else { break };
                let id = json["id"].as_i64().unwrap();
                acknowledged.lock().unwrap().push(Acknowledged { id, subject, body });
            }
        }));
    }
    // Let the load build up, then kill the server mid-flight.
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if acknowledged.lock().unwrap().len() >= 400 {
            break;
        }
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    for client in clients {
        client.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 50, "only {} tickets were acknowledged before the kill", acknowledged.len());

    // Restart: the server must come back on the same database.
    let (mut restarted, base) = start_server(&["--database", &url], "warn").await;
    let status = client.get(format!("{base}/readyz")).send().await.unwrap().status();
    assert_eq!(status, reqwest::StatusCode::OK);
    restarted.start_kill().unwrap();
    restarted.wait().await.unwrap();

    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    for ticket in &acknowledged {
        let detail = store.get_ticket_detail(TicketId(ticket.id), None).await.unwrap();
        assert_eq!(detail.ticket.subject, ticket.subject);
        assert_eq!(detail.messages.len(), 1);
        assert_eq!(detail.messages[0].text, ticket.body);
        assert_eq!(rapport_core::replay(&detail.events).unwrap(), detail.ticket);
    }
    // Tickets in flight at the kill may or may not exist, but never half-written.
    let total = store.count_tickets().await.unwrap();
    assert!(total >= acknowledged.len() as i64);
    for id in 1..=total + 5 {
        match store.get_ticket_detail(TicketId(id), None).await {
            Ok(detail) => {
                assert_eq!(detail.messages.len(), 1, "ticket {id} is incomplete");
                assert_eq!(detail.messages[0].kind, MessageKind::Inbound);
                assert_eq!(detail.events.len(), 2, "ticket {id}: created + first message");
                assert_eq!(rapport_core::replay(&detail.events).unwrap(), detail.ticket);
            }
            Err(rapport_store::StoreError::NotFound(_)) => {}
            Err(other) => panic!("reading ticket {id}: {other}"),
        }
    }
    store.close().await;
}
