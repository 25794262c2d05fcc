//! Email end to end through real protocols: mail in through `rapport mailgate`
//! processes, out through the server's outbox over SMTP to a real SMTP server
//! (the testkit's sink), read back through the HTTP API. Runs on SQLite, or on
//! PostgreSQL when `RAPPORT_TEST_DATABASE_URL` is set. The SMTP server is the
//! testkit's sink, or aiosmtpd (Python's SMTP server, from PyPI) when
//! `RAPPORT_TEST_SMTP_SERVER=aiosmtpd`; .ci/run runs the suite against both.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::time::Duration;

use rapport_testkit::aiosmtpd::Aiosmtpd;
use rapport_testkit::smtp::{Received, SmtpSink};
use serde_json::Value;
use tokio::process::Child;

mod support;
use support::{create_token, database_url, start_server};

const WAIT: Duration = Duration::from_secs(20);

/// The SMTP server the desk sends to.
enum Sink {
    Testkit(SmtpSink),
    Aiosmtpd(Aiosmtpd),
}

impl Sink {
    fn start() -> Sink {
        match std::env::var("RAPPORT_TEST_SMTP_SERVER").as_deref() {
            Ok("aiosmtpd") => Sink::Aiosmtpd(Aiosmtpd::start().unwrap()),
            Ok("") | Err(_) => Sink::Testkit(SmtpSink::start().unwrap()),
            Ok(other) => panic!("RAPPORT_TEST_SMTP_SERVER={other:?}: expected aiosmtpd or nothing"),
        }
    }

    fn url(&self) -> String {
        match self {
            Sink::Testkit(sink) => sink.url(),
            Sink::Aiosmtpd(sink) => sink.url(),
        }
    }

    fn messages(&self) -> Vec<Received> {
        match self {
            Sink::Testkit(sink) => sink.messages(),
            Sink::Aiosmtpd(sink) => sink.messages(),
        }
    }

    async fn wait_for(&self, count: usize, timeout: Duration) -> anyhow::Result<Vec<Received>> {
        match self {
            Sink::Testkit(sink) => sink.wait_for(count, timeout).await,
            Sink::Aiosmtpd(sink) => sink.wait_for(count, timeout).await,
        }
    }
}

struct Desk {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    database: String,
    base: String,
    token: String,
    sink: Sink,
    _server: Child,
    http: reqwest::Client,
}

impl Desk {
    async fn start(max_message_bytes: usize) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let database = database_url(dir.path(), "email.db").await;
        let sink = Sink::start();
        let config = dir.path().join("rapport.toml");
        std::fs::write(
            &config,
            format!(
                "database_url = {database:?}\n[email]\naddress = \"help@desk.example\"\nfrom_name = \"Desk\"\n\
                 smtp_url = {:?}\nloop_id = \"test-desk\"\nmax_message_bytes = {max_message_bytes}\n",
                sink.url()
            ),
        )
        .unwrap();
        let config_args = ["--config".as_ref(), config.as_os_str()];
        let agent: [&std::ffi::OsStr; 6] = [
            "--email".as_ref(),
            "ada@desk.example".as_ref(),
            "--name".as_ref(),
            "Ada Lovelace".as_ref(),
            "--role".as_ref(),
            "admin".as_ref(),
        ];
        let token = create_token(&[&config_args[..], &agent[..]].concat()).await;
        let (server, base) = start_server(&config_args, "warn").await;
        Desk { _dir: dir, config, database, base, token, sink, _server: server, http: support::http() }
    }

    /// Pipes `raw` into `rapport mailgate`; returns its exit code and what it said.
    async fn mailgate(&self, raw: &[u8]) -> (i32, String) {
        support::mailgate(&["--config".as_ref(), self.config.as_os_str()], raw).await
    }

    async fn get(&self, path: &str) -> Value {
        let response =
            self.http.get(format!("{}/api/v1{path}", self.base)).bearer_auth(&self.token).send().await.unwrap();
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.unwrap()
    }

    async fn tickets(&self) -> Vec<Value> {
        self.get("/tickets?limit=100").await["tickets"].as_array().unwrap().clone()
    }

    async fn messages(&self, ticket: i64) -> Vec<Value> {
        self.get(&format!("/tickets/{ticket}")).await["messages"].as_array().unwrap().clone()
    }

    async fn mail(&self, count: usize) -> Vec<Received> {
        self.sink.wait_for(count, WAIT).await.unwrap()
    }
}

fn email(from: &str, message_id: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: help@desk.example\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         {extra_headers}\r\n{body}\r\n"
    )
    .into_bytes()
}

fn header(raw: &[u8], name: &str) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse(raw)?;
    message.header_raw(name).map(|value| value.trim().to_owned())
}

fn ticket_number(said: &str) -> i64 {
    let digits: String = said.split('#').nth(1).unwrap_or_default().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("no ticket number in {said:?}"))
}

#[tokio::test]
async fn email_round_trip_threads_refuses_strangers_and_never_answers_robots() {
    let desk = Desk::start(64 * 1024).await;

    // A customer writes: a ticket opens and an acknowledgment goes out over SMTP.
    let first = email("Ann Example <ann@example.com>", "m1@example.com", "Printer on fire", "", "Help!\r\n");
    let (code, said) = desk.mailgate(&first).await;
    assert_eq!(code, 0, "{said}");
    let ticket = ticket_number(&said);
    let sent = desk.mail(1).await;
    let ack = &sent[0];
    assert_eq!(ack.recipients, vec!["ann@example.com".to_owned()]);
    assert_eq!(ack.envelope_from, "help@desk.example");
    assert_eq!(header(&ack.data, "Auto-Submitted").as_deref(), Some("auto-replied"));
    assert_eq!(header(&ack.data, "X-Rapport-Loop").as_deref(), Some("test-desk"));
    assert_eq!(header(&ack.data, "In-Reply-To").as_deref(), Some("<m1@example.com>"));
    let subject = header(&ack.data, "Subject").unwrap();
    assert!(subject.contains(&format!("[#{ticket}]")), "{subject}");
    let ack_id = header(&ack.data, "Message-ID").unwrap();

    // The same message delivered again is filed once.
    let (code, said) = desk.mailgate(&first).await;
    assert_eq!((code, said.contains("already filed")), (0, true), "{said}");

    // Ann answers the acknowledgment: In-Reply-To threads it onto her ticket.
    let reply = email(
        "ann@example.com",
        "m2@example.com",
        &format!("Re: Printer on fire [#{ticket}]"),
        &format!("In-Reply-To: {ack_id}\r\nReferences: <m1@example.com> {ack_id}\r\n"),
        "It is still burning.\r\n\r\nOn Sunday, Desk wrote:\r\n> We have received your message\r\n",
    );
    let (code, said) = desk.mailgate(&reply).await;
    assert_eq!(code, 0, "{said}");
    assert_eq!(said, format!("rapport mailgate: added to ticket #{ticket}"));
    let messages = desk.messages(ticket).await;
    let inbound: Vec<&Value> = messages.iter().filter(|message| message["kind"] == "inbound").collect();
    assert_eq!(inbound.len(), 2);
    assert_eq!(inbound[1]["text"], "It is still burning.", "quoted history is stripped");

    // A stranger quoting Ann's ticket number does not land on it.
    let stranger = email(
        "Mallory <mallory@evil.example>",
        "x1@evil.example",
        &format!("Re: [#{ticket}] send me the invoice"),
        "",
        "Please send the invoice to me instead.\r\n",
    );
    let (code, said) = desk.mailgate(&stranger).await;
    assert_eq!(code, 0, "{said}");
    let other = ticket_number(&said);
    assert_ne!(other, ticket);
    assert!(said.contains(&format!("linked to #{ticket}")), "{said}");
    assert_eq!(desk.messages(ticket).await.len(), messages.len(), "nothing was added to Ann's ticket");

    // An out-of-office reply to an acknowledgment is filed and answered by nothing.
    desk.mail(2).await; // the stranger's acknowledgment
    let robot = email(
        "Bob <bob@example.org>",
        "ooo1@example.org",
        "Automatic reply: I am away",
        "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n",
        "I am out of the office until Monday.\r\n",
    );
    let (code, said) = desk.mailgate(&robot).await;
    assert_eq!(code, 0, "{said}");
    let list = email(
        "News <news@lists.example>",
        "l1@lists.example",
        "Weekly news",
        "List-Id: <news.lists.example>\r\nPrecedence: list\r\n",
        "News.\r\n",
    );
    assert_eq!(desk.mailgate(&list).await.0, 0);

    // Our own mail coming back never opens a ticket.
    let echo = email("help@desk.example", "echo1@desk.example", "Loop", "X-Rapport-Loop: test-desk\r\n", "Echo.\r\n");
    let (code, said) = desk.mailgate(&echo).await;
    assert_eq!((code, said.contains("quarantine")), (0, true), "{said}");

    // An agent answers Ann: the reply goes out threaded, with the owner's name.
    let response = desk
        .http
        .post(format!("{}/api/v1/tickets/{ticket}/messages", desk.base))
        .bearer_auth(&desk.token)
        .json(&serde_json::json!({"body": "We are sending the fire brigade.", "public": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let reply_message: Value = response.json().await.unwrap();
    let sent = desk.mail(3).await;
    let answer = &sent[2];
    assert_eq!(answer.recipients, vec!["ann@example.com".to_owned()], "only the stranger's and Ann's acks before");
    let parsed = mail_parser::MessageParser::default().parse(&answer.data).unwrap();
    let from = parsed.from().and_then(|from| from.first()).unwrap();
    assert_eq!(from.name(), Some("Ada Lovelace (Desk)"), "the owner is named");
    assert_eq!(from.address(), Some("help@desk.example"));
    assert_eq!(header(&answer.data, "Auto-Submitted"), None, "a person's reply is not automatic");
    assert_eq!(header(&answer.data, "In-Reply-To").as_deref(), Some("<m2@example.com>"));
    let references = header(&answer.data, "References").unwrap();
    assert!(references.contains("<m1@example.com>") && references.contains(&ack_id), "{references}");
    assert_eq!(
        header(&answer.data, "Message-ID").unwrap(),
        format!("<{}>", reply_message["external_id"].as_str().unwrap())
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(desk.sink.messages().len(), 3, "no robot, list or loop got an answer");
    let messages = desk.messages(ticket).await;
    let delivered = messages.iter().find(|message| message["id"] == reply_message["id"]).unwrap();
    assert_eq!(delivered["delivery"], "sent");
    assert_eq!(desk.tickets().await.len(), 4, "Ann, Mallory, the robot and the list; no ticket for the loop");
    let _ = &desk.database;
}

#[tokio::test]
async fn bounces_attach_to_the_message_and_oversize_mail_is_refused_with_a_notice() {
    let desk = Desk::start(16 * 1024).await;
    let first = email("Gone <gone@example.com>", "g1@example.com", "Hello", "", "Hi there.\r\n");
    let (code, said) = desk.mailgate(&first).await;
    assert_eq!(code, 0, "{said}");
    let ticket = ticket_number(&said);
    let ack = desk.mail(1).await.remove(0);
    let ack_id = header(&ack.data, "Message-ID").unwrap();

    // A DSN for our acknowledgment attaches to the ticket and marks it failed.
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\nTo: help@desk.example\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.com>\r\n\
         Date: Sun, 22 Nov 2026 10:05:00 +0000\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n\
         Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
         --b1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: help@desk.example\r\nTo: gone@example.com\r\n\
         Message-ID: {ack_id}\r\nSubject: Re: Hello [#{ticket}]\r\n\r\n--b1--\r\n"
    );
    let (code, said) = desk.mailgate(dsn.as_bytes()).await;
    assert_eq!(code, 0, "{said}");
    assert_eq!(said, format!("rapport mailgate: added to ticket #{ticket}"));
    let messages = desk.messages(ticket).await;
    assert_eq!(messages[1]["delivery"], "failed");
    assert_eq!(messages[2]["kind"], "note");
    assert!(messages[2]["text"].as_str().unwrap().contains("5.1.1"));
    assert_eq!(desk.tickets().await.len(), 1, "a bounce never opens a ticket");

    // An oversize message is refused with a notice, and intake keeps flowing.
    let big = email("Carl <carl@example.com>", "big1@example.com", "Photos", "", &"x".repeat(40 * 1024));
    let (code, said) = desk.mailgate(&big).await;
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("refused") && said.contains("the sender was told"), "{said}");
    let notice = desk.mail(2).await.remove(1);
    assert_eq!(notice.recipients, vec!["carl@example.com".to_owned()]);
    assert_eq!(header(&notice.data, "Auto-Submitted").as_deref(), Some("auto-replied"));
    assert!(String::from_utf8_lossy(&notice.data).contains("too large"));
    let small = email("Carl <carl@example.com>", "small1@example.com", "Photos (link)", "", "Here is a link.\r\n");
    assert_eq!(desk.mailgate(&small).await.0, 0);
    assert_eq!(desk.tickets().await.len(), 2);
}

#[tokio::test]
async fn mailgate_exit_codes_tell_the_mta_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: Vec<String>, input: &'static [u8]| async move { support::mailgate(&args[1..], input).await };
    let database = format!("sqlite://{}", dir.path().join("gate.db").display());
    let mail: &'static [u8] = b"From: a@example.com\r\nSubject: hi\r\nMessage-ID: <x@y>\r\n\r\nhello\r\n";
    // mailgate files into a help desk that exists (it creates none).
    support::migrate(&database);
    let ok = run(vec!["mailgate".into(), "--database".into(), database.clone()], mail).await;
    assert_eq!(ok.0, 0, "{}", ok.1);
    // Garbage is kept in the quarantine: stored, so 0, and no bounce for the sender.
    let garbage = run(vec!["mailgate".into(), "--database".into(), database.clone()], b"\x00\x01 not mail").await;
    assert_eq!(garbage.0, 0, "{}", garbage.1);
    assert!(garbage.1.contains("quarantine"), "{}", garbage.1);
    // An unreachable database: 75, so the MTA keeps the message and retries.
    std::fs::write(dir.path().join("a-file"), b"").unwrap();
    let unreachable = format!("sqlite://{}", dir.path().join("a-file").join("gate.db").display());
    let down = run(vec!["mailgate".into(), "--database".into(), unreachable], mail).await;
    assert_eq!(down.0, 75, "{}", down.1);
}

#[tokio::test]
async fn issue_14_a_mistake_in_our_configuration_defers_the_mail_and_says_why_only_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let database = database_url(dir.path(), "gate.db").await;
    let mail: &[u8] = b"From: ann@example.com\r\nSubject: hi\r\nMessage-ID: <kept@example.com>\r\n\r\nhello\r\n";
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, format!("database_url = {database:?}\n[email]\naddress = \"nope\"\n")).unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, format!("database_url = {database:?}\n")).unwrap();
    let config = |file: &std::path::Path| vec!["--config".to_owned(), file.display().to_string()];
    let with = |mut args: Vec<String>, more: &[&str]| {
        args.extend(more.iter().map(|arg| (*arg).to_owned()));
        args
    };

    // mailgate leaves PostgreSQL's schema to `rapport migrate` (and `serve`).
    let migrated = tokio::process::Command::new(support::BIN).args(["migrate", "--config"]).arg(&good).output().await;
    assert!(migrated.unwrap().status.success());

    // Each mistake of ours: 75, so the MTA keeps the message; the reason on stderr, nothing on stdout.
    let mistakes = [
        (config(&bad), "email.address"),
        (with(config(&good), &["--team", "Nobody"]), "--team \"Nobody\""),
        (with(config(&good), &["--recipent", "help+1@desk.example"]), "--recipent"),
        (with(config(&good), &["--recipient", "a@desk.example", "b@desk.example"]), "b@desk.example"),
        (vec!["--config".to_owned(), dir.path().join("missing.toml").display().to_string()], "missing.toml"),
    ];
    for (args, named) in mistakes {
        let (code, stdout, stderr) = support::mailgate_output(&args, mail).await;
        assert_eq!(code, 75, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: stdout must carry nothing, got {stdout:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line for the MTA's log: {stderr}");
        assert!(stderr.starts_with("rapport mailgate: configuration error"), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: the reason names {named:?}: {stderr}");
    }
    // Help is not a mistake.
    let (code, stdout, _) = support::mailgate_output(&["--help"], b"").await;
    assert_eq!(code, 0);
    assert!(stdout.contains("--recipient"), "{stdout}");

    // Nothing was lost: once the configuration is fixed, the MTA's retry files the message.
    let (code, stdout, stderr) = support::mailgate_output(&config(&good), mail).await;
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    assert!(stderr.contains("opened ticket #1"), "{stderr}");
}

#[tokio::test]
async fn issue_14_mail_delivered_to_a_plus_address_threads_whatever_its_to_header_says() {
    let desk = Desk::start(64 * 1024).await;
    let first = email("Ann Example <ann@example.com>", "p1@example.com", "Printer on fire", "", "Help!\r\n");
    let (code, said) = desk.mailgate(&first).await;
    assert_eq!(code, 0, "{said}");
    let ticket = ticket_number(&said);
    let plus = format!("help+{ticket}@desk.example");
    let config = ["--config".to_owned(), desk.config.display().to_string()];
    let gate = |extra: Vec<String>, raw: Vec<u8>| {
        let args: Vec<String> = config.iter().cloned().chain(extra).collect();
        async move { support::mailgate(&args, &raw).await }
    };
    // Each message says `To: help@desk.example` with no subject token and no
    // In-Reply-To: only the envelope knows it was sent to the ticket's address.

    // Postfix's ${recipient}, passed as --recipient.
    let bcc = email("ann@example.com", "p2@example.com", "One more thing", "", "Also the scanner.\r\n");
    let (code, said) = gate(vec!["--recipient".into(), plus.clone()], bcc).await;
    assert_eq!((code, said), (0, format!("rapport mailgate: added to ticket #{ticket}")));

    // flags=DO: the top-most Delivered-To and X-Original-To, which Postfix prepends.
    let forward = [
        format!("Delivered-To: {plus}\r\nX-Original-To: {plus}\r\n").into_bytes(),
        email(
            "ann@example.com",
            "p3@example.com",
            "Fwd: the invoice",
            "Delivered-To: ann@example.com\r\n",
            "See below.\r\n",
        ),
    ]
    .concat();
    let (code, said) = gate(Vec::new(), forward).await;
    assert_eq!((code, said), (0, format!("rapport mailgate: added to ticket #{ticket}")));

    // A Delivered-To below the top-most one was written by an earlier hop or by the sender: it does not count.
    let stale = [
        b"Delivered-To: help@desk.example\r\n".to_vec(),
        email("ann@example.com", "p4@example.com", "A new question", &format!("Delivered-To: {plus}\r\n"), "Hi.\r\n"),
    ]
    .concat();
    let (code, said) = gate(Vec::new(), stale).await;
    assert_eq!(code, 0, "{said}");
    assert_ne!(ticket_number(&said), ticket, "{said}");

    // The envelope recipient wins over the headers.
    let headers_only = [
        format!("Delivered-To: {plus}\r\n").into_bytes(),
        email("ann@example.com", "p5@example.com", "Another question", "", "Hello again.\r\n"),
    ]
    .concat();
    let (code, said) = gate(vec!["--recipient".into(), "help@desk.example".into()], headers_only).await;
    assert_eq!(code, 0, "{said}");
    assert_ne!(ticket_number(&said), ticket, "{said}");

    let texts: Vec<String> = desk
        .messages(ticket)
        .await
        .iter()
        .filter(|message| message["kind"] == "inbound")
        .map(|message| message["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, vec!["Help!", "Also the scanner.", "See below."]);
}

#[tokio::test]
async fn issue_14_replies_wait_for_an_smtp_server_without_spending_attempts_and_go_out_once_it_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let database = database_url(dir.path(), "waiting.db").await;
    let config = dir.path().join("rapport.toml");
    let settings =
        format!("database_url = {database:?}\n[email]\naddress = \"help@desk.example\"\nloop_id = \"test-desk\"\n");
    std::fs::write(&config, &settings).unwrap();
    let config_args = ["--config".as_ref(), config.as_os_str()];
    let agent: [&std::ffi::OsStr; 4] =
        ["--email".as_ref(), "ada@desk.example".as_ref(), "--role".as_ref(), "admin".as_ref()];
    let token = create_token(&[&config_args[..], &agent[..]].concat()).await;

    // No smtp_url: a customer writes (an acknowledgment is queued) and an agent answers.
    let (mut server, base) = start_server(&config_args, "warn").await;
    let raw = email("Ann Example <ann@example.com>", "w1@example.com", "Printer on fire", "", "Help!\r\n");
    let (code, said) = support::mailgate(&config_args, &raw).await;
    assert_eq!(code, 0, "{said}");
    let ticket = ticket_number(&said);
    let http = support::http();
    let response = http
        .post(format!("{base}/api/v1/tickets/{ticket}/messages"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"body": "We are on it.", "public": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let reply: Value = response.json().await.unwrap();
    let detail: Value = http
        .get(format!("{base}/api/v1/tickets/{ticket}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let outgoing: Vec<String> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| message["kind"] != "inbound")
        .map(|message| message["external_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outgoing.len(), 2, "the acknowledgment and the reply: {detail}");
    assert!(outgoing.contains(&reply["external_id"].as_str().unwrap().to_owned()));

    // The worker runs: both wait, queued, with the reason, and no attempt spent.
    let store = rapport_store::Store::connect(&database, rapport_store::StoreOptions::default()).await.unwrap();
    for external_id in &outgoing {
        let entry = tokio::time::timeout(WAIT, async {
            loop {
                let entry = store.find_outbox_entry(external_id).await.unwrap().unwrap();
                if entry.last_error.is_some() {
                    return entry;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("the worker marks what waits");
        assert_eq!(entry.last_error.as_deref(), Some("waiting: no SMTP server is configured (email.smtp_url)"));
        assert_eq!(entry.state, rapport_core::outbox::DeliveryState::Queued);
        assert_eq!(entry.attempts, 0, "{external_id} spent an attempt while no SMTP server was configured");
    }
    let detail: Value = http
        .get(format!("{base}/api/v1/tickets/{ticket}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reply_shown =
        detail["messages"].as_array().unwrap().iter().find(|message| message["id"] == reply["id"]).unwrap();
    assert_eq!(reply_shown["delivery"], "queued");
    server.kill().await.unwrap();

    // Restarted with an SMTP server: each goes out, once.
    let sink = Sink::start();
    std::fs::write(&config, format!("{settings}smtp_url = {:?}\n", sink.url())).unwrap();
    let (_server, _) = start_server(&config_args, "warn").await;
    let sent = sink.wait_for(2, WAIT).await.unwrap();
    let mut ids: Vec<String> = sent.iter().map(|mail| header(&mail.data, "Message-ID").unwrap()).collect();
    ids.sort();
    let mut expected: Vec<String> = outgoing.iter().map(|id| format!("<{id}>")).collect();
    expected.sort();
    assert_eq!(ids, expected);
    for external_id in &outgoing {
        let entry = tokio::time::timeout(WAIT, async {
            loop {
                let entry = store.find_outbox_entry(external_id).await.unwrap().unwrap();
                if entry.state != rapport_core::outbox::DeliveryState::Queued {
                    return entry;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("the send is recorded");
        assert_eq!(
            (entry.state, entry.attempts, entry.last_error),
            (rapport_core::outbox::DeliveryState::Sent, 1, None)
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 2, "each message went out once");
    store.close().await;
}

#[tokio::test]
async fn issue_15_mailgate_in_the_wrong_place_defers_the_mail_and_creates_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("data").join("rapport.db");
    let config = dir.path().join("wrong.toml");
    std::fs::write(&config, format!("database_url = \"sqlite://{}\"\n", nowhere.display())).unwrap();
    let mail: &[u8] = b"From: ann@example.com\r\nSubject: hi\r\nMessage-ID: <lost@example.com>\r\n\r\nhello\r\n";
    let (code, stderr) = support::mailgate(&["--config".as_ref(), config.as_os_str()], mail).await;
    assert_eq!(code, 75, "the MTA keeps it and retries: {stderr}");
    assert!(stderr.contains("there is no Rapport database at") && stderr.contains("rapport.db"), "{stderr}");
    assert!(!nowhere.exists() && !dir.path().join("data").exists(), "no database was created");
}
