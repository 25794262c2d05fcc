#![allow(clippy::unwrap_used, clippy::expect_used)]
//! IMAP polling against a real Dovecot (rapport-testkit starts a private one
//! per test). Needs Dovecot installed: `.ci/install-mail-servers`. Without it
//! every test fails, in CI and locally alike; the `outside-servers` feature is
//! what keeps this suite out of a plain `cargo test --workspace`.

use std::future::{Ready, ready};
use std::time::Duration;

use rapport_channels::email::imap::{
    ImapAuth, ImapError, ImapMailbox, ImapTls, PollStats, poll_once, poll_once_with_tls, run_poller,
};
use rapport_testkit::dovecot::Dovecot;

const PASSWORD: &str = "correct horse";

fn start_dovecot(users: &[&str]) -> Dovecot {
    let dovecot = Dovecot::start().expect("starting Dovecot (install it with .ci/install-mail-servers)");
    for user in users {
        dovecot.add_user(user, PASSWORD).unwrap();
    }
    dovecot
}

fn mailbox(dovecot: &Dovecot, user: &str) -> ImapMailbox {
    ImapMailbox {
        address: format!("{user}@support.example"),
        imap_url: dovecot.imap_url(user),
        auth: ImapAuth::Password(PASSWORD.to_owned()),
    }
}

fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Customer <customer@example.org>\r\nTo: support@support.example\r\nSubject: {subject}\r\n\
         Message-ID: <{}@example.org>\r\n\r\nHello, this is {subject}.\r\n",
        subject.replace(' ', "-")
    )
    .into_bytes()
}

fn stats(fetched: usize, filed: usize, failed: usize) -> PollStats {
    PollStats { fetched, filed, failed }
}

/// A `file` function that keeps what it is given.
fn keep(filed: &mut Vec<Vec<u8>>) -> impl FnMut(Vec<u8>) -> Ready<anyhow::Result<()>> + '_ {
    |raw| {
        filed.push(raw);
        ready(Ok(()))
    }
}

fn subject_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines().find_map(|line| line.strip_prefix("Subject: ")).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn unseen_messages_are_filed_and_marked_seen() {
    let dovecot = start_dovecot(&["alice"]);
    for subject in ["one", "two", "three"] {
        dovecot.deliver("alice", &message(subject)).await.unwrap();
    }
    assert_eq!(dovecot.count("alice", "UNSEEN").await.unwrap(), 3);

    let mut filed = Vec::new();
    let polled = poll_once(&mailbox(&dovecot, "alice"), keep(&mut filed)).await.unwrap();
    assert_eq!(polled, stats(3, 3, 0));
    let subjects: Vec<String> = filed.iter().map(|raw| subject_of(raw)).collect();
    assert_eq!(subjects, ["one", "two", "three"], "filed in arrival (UID) order");
    assert_eq!(filed[0], message("one"), "the raw message, byte for byte");
    assert_eq!(dovecot.count("alice", "UNSEEN").await.unwrap(), 0);
    assert_eq!(dovecot.count("alice", "SEEN").await.unwrap(), 3);

    let mut again = Vec::new();
    let polled = poll_once(&mailbox(&dovecot, "alice"), keep(&mut again)).await.unwrap();
    assert_eq!(polled, stats(0, 0, 0));
    assert!(again.is_empty());
}

#[tokio::test]
async fn a_message_that_fails_to_file_stays_unseen_and_is_retried() {
    let dovecot = start_dovecot(&["alice"]);
    for subject in ["one", "two", "three"] {
        dovecot.deliver("alice", &message(subject)).await.unwrap();
    }
    let mut filed = Vec::new();
    let polled = poll_once(&mailbox(&dovecot, "alice"), |raw| {
        let outcome = if subject_of(&raw) == "two" {
            Err(anyhow::anyhow!("database is locked"))
        } else {
            filed.push(raw);
            Ok(())
        };
        ready(outcome)
    })
    .await
    .unwrap();
    assert_eq!(polled, stats(3, 2, 1), "the failure does not stop the poll");
    assert_eq!(filed.iter().map(|raw| subject_of(raw)).collect::<Vec<_>>(), ["one", "three"]);
    assert_eq!(dovecot.count("alice", "UNSEEN").await.unwrap(), 1);
    assert_eq!(dovecot.count("alice", "UNSEEN SUBJECT two").await.unwrap(), 1);

    let mut retried = Vec::new();
    let polled = poll_once(&mailbox(&dovecot, "alice"), keep(&mut retried)).await.unwrap();
    assert_eq!(polled, stats(1, 1, 0));
    assert_eq!(retried, [message("two")]);
    assert_eq!(dovecot.count("alice", "UNSEEN").await.unwrap(), 0);
}

#[tokio::test]
async fn a_wrong_password_is_a_login_error_naming_the_mailbox() {
    let dovecot = start_dovecot(&["alice"]);
    dovecot.deliver("alice", &message("one")).await.unwrap();
    let wrong = ImapMailbox { auth: ImapAuth::Password("not the password".to_owned()), ..mailbox(&dovecot, "alice") };

    let error = poll_once(&wrong, keep(&mut Vec::new())).await.unwrap_err();
    assert!(matches!(error, ImapError::Login { mechanism: "LOGIN", .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("mailbox alice@support.example"), "{text}");
    assert!(text.contains("login as \"alice\""), "{text}");
    assert!(text.contains("AUTHENTICATIONFAILED") || text.contains("Authentication failed"), "{text}");
    assert!(!text.contains("not the password"), "{text}");
    assert_eq!(dovecot.count("alice", "UNSEEN").await.unwrap(), 1);
}

#[tokio::test]
async fn two_mailboxes_are_polled_independently() {
    let dovecot = start_dovecot(&["alice", "bob"]);
    dovecot.deliver("alice", &message("for alice 1")).await.unwrap();
    dovecot.deliver("alice", &message("for alice 2")).await.unwrap();
    dovecot.deliver("bob", &message("for bob")).await.unwrap();

    let mut filed = Vec::new();
    assert_eq!(poll_once(&mailbox(&dovecot, "alice"), keep(&mut filed)).await.unwrap(), stats(2, 2, 0));
    assert_eq!(dovecot.count("bob", "UNSEEN").await.unwrap(), 1, "bob's mail is untouched");

    assert_eq!(poll_once(&mailbox(&dovecot, "bob"), keep(&mut filed)).await.unwrap(), stats(1, 1, 0));
    let subjects: Vec<String> = filed.iter().map(|raw| subject_of(raw)).collect();
    assert_eq!(subjects, ["for alice 1", "for alice 2", "for bob"]);
}

#[tokio::test]
async fn eight_bit_content_arrives_byte_exact() {
    let dovecot = start_dovecot(&["alice"]);
    let mut raw = Vec::new();
    raw.extend_from_slice("From: Zoë <zoe@example.org>\r\nSubject: Größe – 日本語 ✓\r\n".as_bytes());
    raw.extend_from_slice(b"Subject-Latin1: caf\xe9\r\nContent-Type: application/octet-stream\r\n");
    raw.extend_from_slice(b"Content-Transfer-Encoding: 8bit\r\n\r\n");
    // Every byte value but NUL, CR and LF, in lines of 64.
    let bytes: Vec<u8> = (1..=255u8).filter(|b| !matches!(b, b'\r' | b'\n')).collect();
    for line in bytes.chunks(64) {
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(&[b'x'; 5000]);
    raw.extend_from_slice(b"\r\n");
    dovecot.deliver("alice", &raw).await.unwrap();

    let mut filed = Vec::new();
    poll_once(&mailbox(&dovecot, "alice"), keep(&mut filed)).await.unwrap();
    assert_eq!(filed.len(), 1);
    assert!(
        filed[0] == raw,
        "bytes differ:\n{:?}\n{:?}",
        String::from_utf8_lossy(&filed[0]),
        String::from_utf8_lossy(&raw)
    );
}

#[tokio::test]
async fn xoauth2_logs_in_with_the_token_the_command_prints() {
    let dovecot = start_dovecot(&["alice"]);
    dovecot.deliver("alice", &message("one")).await.unwrap();
    let token = dovecot.issue_oauth2_token("alice");
    let oauth = ImapMailbox {
        auth: ImapAuth::XOAuth2 { token_command: format!("echo '  {token}  '") },
        ..mailbox(&dovecot, "alice")
    };

    let mut filed = Vec::new();
    assert_eq!(poll_once(&oauth, keep(&mut filed)).await.unwrap(), stats(1, 1, 0));
    assert!(dovecot.logs().contains("method=XOAUTH2"), "{}", dovecot.logs());

    // An expired token: the server says no and the error says which mailbox.
    dovecot.revoke_oauth2_tokens();
    let error = poll_once(&oauth, keep(&mut filed)).await.unwrap_err();
    assert!(matches!(error, ImapError::Login { mechanism: "XOAUTH2", .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("mailbox alice@support.example"), "{text}");
    assert!(!text.contains(&token), "{text}");
}

#[tokio::test]
async fn a_failing_token_command_is_reported_with_its_status_and_stderr() {
    let dovecot = start_dovecot(&["alice"]);
    let oauth = ImapMailbox {
        auth: ImapAuth::XOAuth2 { token_command: "echo 'invalid_grant: token revoked' >&2; exit 7".to_owned() },
        ..mailbox(&dovecot, "alice")
    };
    let error = poll_once(&oauth, keep(&mut Vec::new())).await.unwrap_err();
    assert!(matches!(error, ImapError::TokenCommand { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("mailbox alice@support.example"), "{text}");
    assert!(text.contains("exit status: 7"), "{text}");
    assert!(text.contains("invalid_grant: token revoked"), "{text}");
}

#[tokio::test]
async fn imaps_checks_the_servers_certificate() {
    let dovecot = start_dovecot(&["alice"]);
    dovecot.deliver("alice", &message("over tls")).await.unwrap();
    let secure = ImapMailbox { imap_url: dovecot.imaps_url("alice"), ..mailbox(&dovecot, "alice") };

    // Dovecot's certificate comes from a private authority that Mozilla's
    // roots do not include.
    let error = poll_once(&secure, keep(&mut Vec::new())).await.unwrap_err();
    assert!(matches!(error, ImapError::Tls { .. }), "{error:?}");
    assert!(error.to_string().contains("mailbox alice@support.example"), "{error}");

    let tls = ImapTls::with_extra_roots_pem(&dovecot.ca_certificate_pem().unwrap()).unwrap();
    let mut filed = Vec::new();
    assert_eq!(poll_once_with_tls(&secure, &tls, keep(&mut filed)).await.unwrap(), stats(1, 1, 0));
    assert_eq!(filed, [message("over tls")]);
}

#[tokio::test]
async fn a_missing_folder_is_a_select_error() {
    let dovecot = start_dovecot(&["alice"]);
    let elsewhere = ImapMailbox {
        imap_url: format!("imap://alice@127.0.0.1:{}/Support", dovecot.imap_port()),
        ..mailbox(&dovecot, "alice")
    };
    let error = poll_once(&elsewhere, keep(&mut Vec::new())).await.unwrap_err();
    assert!(matches!(error, ImapError::Select { .. }), "{error:?}");
    assert!(error.to_string().contains("cannot select folder \"Support\""), "{error}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_connect_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nowhere = ImapMailbox {
        address: "help@support.example".to_owned(),
        imap_url: format!("imap://help@127.0.0.1:{port}/INBOX"),
        auth: ImapAuth::Password(PASSWORD.to_owned()),
    };
    let error = poll_once(&nowhere, keep(&mut Vec::new())).await.unwrap_err();
    assert!(matches!(error, ImapError::Connect { .. }), "{error:?}");
    assert!(error.to_string().starts_with("mailbox help@support.example: cannot connect to 127.0.0.1:"), "{error}");
}

#[tokio::test]
async fn the_poller_keeps_polling_every_mailbox_until_shutdown() {
    let dovecot = start_dovecot(&["alice", "bob"]);
    dovecot.deliver("alice", &message("early alice")).await.unwrap();
    dovecot.deliver("bob", &message("early bob")).await.unwrap();
    let broken = ImapMailbox {
        address: "broken@support.example".to_owned(),
        auth: ImapAuth::Password("wrong".to_owned()),
        ..mailbox(&dovecot, "alice")
    };
    let mailboxes = vec![broken, mailbox(&dovecot, "alice"), mailbox(&dovecot, "bob")];

    let (filed_tx, mut filed_rx) = tokio::sync::mpsc::unbounded_channel();
    let (report_tx, mut report_rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let poller = tokio::spawn(run_poller(
        mailboxes,
        ImapTls::webpki_roots().unwrap(),
        Duration::from_millis(50),
        move |mailbox: &ImapMailbox, raw| {
            filed_tx.send((mailbox.address.clone(), subject_of(&raw))).unwrap();
            ready(Ok(()))
        },
        move |mailbox: &ImapMailbox, outcome: Result<(), String>| {
            let _ = report_tx.send((mailbox.address.clone(), outcome));
            ready(())
        },
        async move {
            let _ = stop_rx.await;
        },
    ));

    let mut received = Vec::new();
    for _ in 0..2 {
        received.push(tokio::time::timeout(Duration::from_secs(10), filed_rx.recv()).await.unwrap().unwrap());
    }
    // Mail arriving later is picked up by a later poll.
    dovecot.deliver("bob", &message("late bob")).await.unwrap();
    received.push(tokio::time::timeout(Duration::from_secs(10), filed_rx.recv()).await.unwrap().unwrap());
    received.sort();
    let expected = [
        ("alice@support.example", "early alice"),
        ("bob@support.example", "early bob"),
        ("bob@support.example", "late bob"),
    ]
    .map(|(address, subject)| (address.to_owned(), subject.to_owned()));
    assert_eq!(received, expected);

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), poller).await.expect("the poller stops on shutdown").unwrap();
    assert_eq!(dovecot.count("alice", "UNSEEN").await.unwrap(), 0);
    assert_eq!(dovecot.count("bob", "UNSEEN").await.unwrap(), 0);
    // Every poll was reported: the broken mailbox's with why, the others' as fine.
    let mut reports = Vec::new();
    while let Ok(report) = report_rx.try_recv() {
        reports.push(report);
    }
    let broken = reports.iter().find(|(address, _)| address == "broken@support.example").expect("a report");
    assert!(broken.1.as_ref().is_err_and(|error| !error.is_empty()), "{broken:?}");
    assert!(reports.iter().any(|(address, outcome)| address == "alice@support.example" && outcome.is_ok()));
}
