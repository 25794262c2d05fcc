//! Mail in through IMAP from a real Dovecot, end to end: `rapport serve` polls
//! two mailboxes routed to two teams, files what it finds through the same
//! intake as mailgate, marks each message seen only once stored, and answers
//! over SMTP. Needs Dovecot (`.ci/install-mail-servers`); the
//! `outside-servers` feature keeps it out of a plain `cargo test --workspace`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::time::{Duration, Instant};

use rapport_store::{Store, StoreOptions};
use rapport_testkit::dovecot::Dovecot;
use rapport_testkit::smtp::SmtpSink;
use serde_json::Value;

mod support;
use support::{create_token, start_server};

fn message(from: &str, id: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: support@desk.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nHello, this is {subject}.\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn serve_polls_dovecot_routes_to_teams_and_marks_seen_only_when_stored() {
    let dovecot = Dovecot::start().expect("starting Dovecot (install it with .ci/install-mail-servers)");
    dovecot.add_user("support", "secret one").unwrap();
    dovecot.add_user("billing", "secret two").unwrap();
    let sink = SmtpSink::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("imap.db").display());
    let store = Store::open(&database, StoreOptions::default()).await.unwrap();
    let billing = store.insert_team("Billing".into(), "Invoices".into(), rapport_core::Timestamp(0)).await.unwrap();
    store.close().await;

    dovecot.deliver("support", &message("Ann <ann@example.com>", "a1@example.com", "login broken")).await.unwrap();
    dovecot.deliver("billing", &message("Bob <bob@example.com>", "b1@example.com", "invoice wrong")).await.unwrap();
    // The same message in both mailboxes is filed once.
    dovecot.deliver("billing", &message("Ann <ann@example.com>", "a1@example.com", "login broken")).await.unwrap();

    let config = dir.path().join("rapport.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = {database:?}\n[email]\naddress = \"support@desk.example\"\nsmtp_url = {:?}\n\
             poll_interval_seconds = 1\n\
             [[email.mailboxes]]\naddress = \"support@desk.example\"\nimap_url = {:?}\npassword = \"secret one\"\n\
             [[email.mailboxes]]\naddress = \"billing@desk.example\"\nteam = \"billing\"\nimap_url = {:?}\n\
             password = \"secret two\"\n",
            sink.url(),
            dovecot.imap_url("support"),
            dovecot.imap_url("billing"),
        ),
    )
    .unwrap();
    let config_args = ["--config".as_ref(), config.as_os_str()];
    let agent: [&std::ffi::OsStr; 4] =
        ["--email".as_ref(), "ada@desk.example".as_ref(), "--role".as_ref(), "admin".as_ref()];
    let token = create_token(&[&config_args[..], &agent[..]].concat()).await;
    let (_server, base) = start_server(&config_args, "warn").await;

    let deadline = Instant::now() + Duration::from_secs(30);
    while dovecot.count("support", "SEEN").await.unwrap() < 1 || dovecot.count("billing", "SEEN").await.unwrap() < 2 {
        assert!(Instant::now() < deadline, "the poller did not mark the messages seen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tickets: Value = support::http()
        .get(format!("{base}/api/v1/tickets?sort=created"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tickets = tickets["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2, "the message in both mailboxes is filed once: {tickets:?}");
    let bob = tickets.iter().find(|ticket| ticket["subject"] == "invoice wrong").unwrap();
    assert_eq!(bob["team"], billing.id.0, "billing's mailbox routes to its team");
    assert_eq!(bob["channel"], "email");
    let acks = sink.wait_for(2, Duration::from_secs(20)).await.unwrap();
    let mut recipients: Vec<String> = acks.iter().flat_map(|ack| ack.recipients.clone()).collect();
    recipients.sort();
    assert_eq!(recipients, vec!["ann@example.com".to_owned(), "bob@example.com".to_owned()]);

    // New mail is picked up on the next poll.
    dovecot.deliver("support", &message("Cat <cat@example.com>", "c1@example.com", "third")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while dovecot.count("support", "UNSEEN").await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the poller did not pick up new mail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sink.wait_for(3, Duration::from_secs(20)).await.unwrap();
}
