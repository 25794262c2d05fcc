//! A newcomer's first hour, replayed (issue 14): `serve --demo` on a fresh
//! data directory on a port the system picks, the printed sign-in and token,
//! a reply to a WhatsApp ticket and to a chat ticket (each delivered on a
//! channel that reaches the customer, the message saying which and why), a
//! web-form request whose magic link, at the listening address, opens the
//! portal, a file attached by the agent and downloaded by the agent and by the
//! customer, and a clean stop that leaves a small WAL. SQLite: the newcomer's
//! database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::time::Duration;

use rapport_testkit::smtp::SmtpSink;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};

mod support;
use support::Served;

const BOUNDARY: &str = "first-hour-boundary-51d0";

/// A multipart reply with one text file.
fn reply_with_file(body: &str, filename: &str, content: &str) -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n{body}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"public\"\r\n\r\ntrue\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{filename}\"\r\n\
         Content-Type: text/plain\r\n\r\n{content}\r\n--{BOUNDARY}--\r\n"
    )
    .into_bytes()
}

/// The first unsolved ticket on `channel` among the demo's open queue.
async fn ticket_on(client: &reqwest::Client, base: &str, token: &str, channel: &str) -> i64 {
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/tickets?status=new,open,pending&limit=100");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = client.get(&url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        let tickets = page["tickets"].as_array().unwrap();
        if let Some(ticket) = tickets.iter().find(|ticket| ticket["channel"] == channel) {
            // The list names the customer beside the id, so a queue needs one request.
            assert!(ticket["customer_name"].as_str().is_some_and(|name| !name.is_empty()), "{ticket}");
            return ticket["id"].as_i64().unwrap();
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => panic!("the demo has no unsolved {channel} ticket"),
        }
    }
}

/// Sends a public reply as the demo admin and checks it has a delivery and a reason.
async fn answer(client: &reqwest::Client, base: &str, token: &str, ticket: i64) -> Value {
    let reply = client
        .post(format!("{base}/api/v1/tickets/{ticket}/messages"))
        .bearer_auth(token)
        .json(&json!({"body": "Thanks for waiting, I am on it.", "public": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    let reply: Value = reply.json().await.unwrap();
    assert_eq!(reply["delivery"], "queued", "{reply}");
    assert!(reply["route"]["explanation"].as_str().is_some_and(|text| text.starts_with("sent on")), "{reply}");
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_newcomers_first_hour() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sink = SmtpSink::start().unwrap();
    let config = dir.path().join("rapport.toml");
    std::fs::write(&config, format!("[email]\naddress = \"help@desk.example\"\nsmtp_url = {:?}\n", sink.url()))
        .unwrap();
    let served =
        Served::start(&["--demo", "--data-dir", data.to_str().unwrap(), "--config", config.to_str().unwrap()]).await;
    let base = served.base.trim_end_matches('/').to_owned();
    assert!(!base.ends_with(":8080"), "a port the system picked: {base}");

    // The sign-in and the token, printed once.
    let printed = served.stdout_until(|text| text.contains("API token: ")).await;
    assert!(printed.contains("admin sign-in: admin@rapport.example / "), "{printed}");
    let token = printed.lines().find_map(|line| line.trim().strip_prefix("API token: ")).unwrap().trim().to_owned();

    rapport_channels::http::install_crypto_provider();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // A WhatsApp customer is answered on WhatsApp: the demo knows their number.
    let whatsapp = ticket_on(&client, &base, &token, "whatsapp").await;
    let reply = answer(&client, &base, &token, whatsapp).await;
    assert_eq!(
        (reply["channel"].as_str(), reply["route"]["reason"].as_str()),
        (Some("whatsapp"), Some("ticket_channel"))
    );
    // A chat customer is answered in the chat, or by email once the chat went on by email.
    let chat = ticket_on(&client, &base, &token, "chat").await;
    let reply = answer(&client, &base, &token, chat).await;
    assert!(["chat", "email"].contains(&reply["channel"].as_str().unwrap()), "{reply}");

    // A customer writes through the web form and follows the emailed link.
    let form = [
        ("name", "Ann Example"),
        ("email", "ann@example.com"),
        ("subject", "Zanzibar invoice missing"),
        ("message", "Where is my invoice?"),
    ];
    let page = support::post_help_form(&client, &base, &form).await;
    assert_eq!(page.status(), StatusCode::OK);
    let mail = sink.wait_for(1, Duration::from_secs(30)).await.unwrap();
    let message = mail_parser::MessageParser::default().parse(&mail[0].data).unwrap();
    let text = message.body_text(0).unwrap().into_owned();
    let at = text.find("/help/t/").unwrap_or_else(|| panic!("no link in {text}"));
    let link: String = text[text[..at].rfind("http").unwrap()..].chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(link.starts_with(&format!("{base}/help/t/")), "the link {link} points at the listening address {base}");
    let portal = client.get(&link).send().await.unwrap();
    assert_eq!(portal.status(), StatusCode::OK, "the magic link opens the portal");
    let cookie = portal.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(portal.text().await.unwrap().contains("Zanzibar invoice missing"));

    // The agent answers with a file; the agent and the customer both download it.
    let found: Value = client
        .get(format!("{base}/api/v1/search?q=zanzibar"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = found["results"][0]["ticket"]["id"].as_i64().unwrap_or_else(|| panic!("search finds it: {found}"));
    let reply = client
        .post(format!("{base}/api/v1/tickets/{ticket}/messages"))
        .bearer_auth(&token)
        .header(CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(reply_with_file("Here is your invoice.", "invoice.txt", "Invoice 2026-117: 49.00 EUR"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    let reply: Value = reply.json().await.unwrap();
    assert_eq!(reply["channel"], "web", "{reply}");
    let url = reply["attachments"][0]["url"].as_str().unwrap().to_owned();
    let by_agent = client.get(format!("{base}{url}")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(by_agent.status(), StatusCode::OK);
    assert!(by_agent.headers()[CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
    assert_eq!(by_agent.text().await.unwrap(), "Invoice 2026-117: 49.00 EUR");
    let path = format!("/help/tickets/{ticket}/messages/{}/attachments/0", reply["id"]);
    let by_customer = client.get(format!("{base}{path}")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(by_customer.status(), StatusCode::OK);
    assert_eq!(by_customer.text().await.unwrap(), "Invoice 2026-117: 49.00 EUR");

    // A clean stop leaves no large WAL beside the database.
    served.terminate().await;
    let wal = data.join("rapport.db-wal");
    let size = std::fs::metadata(&wal).map(|meta| meta.len()).unwrap_or(0);
    assert!(size < 1024 * 1024, "the WAL after a clean stop is {size} bytes");
}
