#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Rendering and sending outbound mail to a real SMTP server (the testkit's
//! sink): the bytes arrive exactly as rendered, with every header, and the
//! server's refusals come back as transient or permanent.

use std::time::Duration;

use mail_parser::{HeaderValue, MessageParser};
use rapport_channels::email::LOOP_HEADER;
use rapport_channels::email::outbound::{Automatic, Mailbox, OutboundEmail, new_message_id, render};
use rapport_channels::email::smtp::{SendError, SmtpConfigError, SmtpSender};
use rapport_core::intake::reply_subject;
use rapport_core::{TicketId, Timestamp};
use rapport_testkit::smtp::{Failure, SmtpSink};

const WAIT: Duration = Duration::from_secs(10);

fn agent_reply() -> OutboundEmail {
    OutboundEmail {
        message_id: new_message_id("acme.example"),
        from: Mailbox::new(Some("Ada Lovelace (Acme Support)".into()), "support@acme.example".into()),
        reply_to: Some("support+42@acme.example".into()),
        to: vec![Mailbox::new(Some("Grace Hopper".into()), "grace@customer.example".into())],
        cc: vec![Mailbox::new(None, "boss@customer.example".into())],
        subject: reply_subject(TicketId(42), "RE: Printer on fire"),
        in_reply_to: Some("second@customer.example".into()),
        references: vec!["first@customer.example".into(), "second@customer.example".into()],
        text: "Hello Grace,\n\nThe fire is out.\n.\n..and a line that starts with dots.\n".into(),
        html: Some("<p>The fire is <b>out</b>.</p>".into()),
        automatic: None,
        loop_id: "loop-7f3a".into(),
        attachments: vec![],
    }
}

fn acknowledgment() -> OutboundEmail {
    OutboundEmail {
        message_id: new_message_id("acme.example"),
        from: Mailbox::new(Some("Acme Support".into()), "support@acme.example".into()),
        to: vec![Mailbox::new(None, "grace@customer.example".into())],
        cc: vec![],
        subject: reply_subject(TicketId(43), "Löschen nicht möglich"),
        in_reply_to: Some("third@customer.example".into()),
        references: vec!["third@customer.example".into()],
        text: "We have your message as ticket #43.".into(),
        html: None,
        automatic: Some(Automatic::AutoReplied),
        ..agent_reply()
    }
}

fn recipients(email: &OutboundEmail) -> Vec<String> {
    email.to.iter().chain(&email.cc).map(|mailbox| mailbox.address.clone()).collect()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![id.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|id| id.to_string()).collect(),
        _ => vec![],
    }
}

fn header_text<'a>(message: &'a mail_parser::Message<'a>, name: &'a str) -> Option<&'a str> {
    message.header(name).and_then(|value| value.as_text())
}

#[tokio::test]
async fn rendered_mail_arrives_intact_with_every_header() {
    let sink = SmtpSink::start().unwrap();
    let sender = SmtpSender::from_url(&sink.url()).unwrap();
    let now = Timestamp(1_750_000_000_000);

    let reply = agent_reply();
    let ack = acknowledgment();
    let reply_raw = render(&reply, now).unwrap();
    let ack_raw = render(&ack, now).unwrap();
    sender.send("bounces@acme.example", &recipients(&reply), &reply_raw).await.unwrap();
    sender.send("bounces@acme.example", &recipients(&ack), &ack_raw).await.unwrap();

    let received = sink.wait_for(2, WAIT).await.unwrap();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].data, reply_raw, "the stored bytes are the bytes that arrive");
    assert_eq!(received[1].data, ack_raw);
    assert_eq!(received[0].envelope_from, "bounces@acme.example");
    assert_eq!(received[0].recipients, vec!["grace@customer.example", "boss@customer.example"]);
    assert_eq!(received[1].recipients, vec!["grace@customer.example"]);

    let message = MessageParser::default().parse(&received[0].data).unwrap();
    assert_eq!(message.message_id(), Some(reply.message_id.as_str()));
    assert_eq!(ids(message.in_reply_to()), vec!["second@customer.example"]);
    assert_eq!(ids(message.references()), vec!["first@customer.example", "second@customer.example"]);
    assert_eq!(message.subject(), Some("Re: Printer on fire [#42]"));
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Ada Lovelace (Acme Support)"));
    assert_eq!(from.address(), Some("support@acme.example"));
    assert_eq!(message.reply_to().unwrap().first().unwrap().address(), Some("support+42@acme.example"));
    assert_eq!(header_text(&message, LOOP_HEADER), Some("loop-7f3a"));
    assert_eq!(header_text(&message, "Auto-Submitted"), None, "an agent's reply is not automatic");
    assert_eq!(message.body_text(0).unwrap().replace("\r\n", "\n"), reply.text, "dot-stuffing undone");
    assert!(message.body_html(0).unwrap().contains("<b>out</b>"));

    let message = MessageParser::default().parse(&received[1].data).unwrap();
    assert_eq!(message.message_id(), Some(ack.message_id.as_str()));
    assert_eq!(message.subject(), Some("Re: Löschen nicht möglich [#43]"));
    assert_eq!(header_text(&message, "Auto-Submitted"), Some("auto-replied"));
    assert_eq!(header_text(&message, "X-Auto-Response-Suppress"), Some("All"));
    assert_eq!(header_text(&message, LOOP_HEADER), Some("loop-7f3a"));
    assert_eq!(message.from().unwrap().first().unwrap().name(), Some("Acme Support"));
}

#[tokio::test]
async fn a_resend_carries_the_same_bytes() {
    let sink = SmtpSink::start().unwrap();
    let sender = SmtpSender::from_url(&sink.url()).unwrap();
    let email = agent_reply();
    let raw = render(&email, Timestamp(0)).unwrap();
    for _ in 0..2 {
        sender.send("bounces@acme.example", &recipients(&email), &raw).await.unwrap();
    }
    let received = sink.wait_for(2, WAIT).await.unwrap();
    assert_eq!(received[0].data, received[1].data);
}

#[tokio::test]
async fn refusals_are_transient_or_permanent() {
    let sink = SmtpSink::start().unwrap();
    let sender = SmtpSender::from_url(&sink.url()).unwrap();
    let email = acknowledgment();
    let raw = render(&email, Timestamp(0)).unwrap();
    let to = recipients(&email);
    let send = || sender.send("bounces@acme.example", &to, &raw);

    sink.set_failure(Some(Failure::Transient));
    let error = send().await.unwrap_err();
    assert!(matches!(error, SendError::Transient(_)), "{error:?}");
    assert!(!error.is_permanent());
    assert!(error.to_string().contains("451"), "{error}");

    sink.set_failure(Some(Failure::Permanent));
    let error = send().await.unwrap_err();
    assert!(matches!(error, SendError::Permanent(_)), "{error:?}");
    assert!(error.is_permanent());
    assert!(error.to_string().contains("550"), "{error}");

    // The retry after a transient failure goes through on the same sender.
    sink.set_failure(None);
    send().await.unwrap();
    assert_eq!(sink.wait_for(1, WAIT).await.unwrap()[0].data, raw);
}

#[tokio::test]
async fn an_unreachable_server_is_transient() {
    let sink = SmtpSink::start().unwrap();
    let url = sink.url();
    drop(sink);
    let sender = SmtpSender::from_url(&url).unwrap();
    let email = acknowledgment();
    let raw = render(&email, Timestamp(0)).unwrap();
    let error = sender.send("bounces@acme.example", &recipients(&email), &raw).await.unwrap_err();
    assert!(matches!(error, SendError::Transient(_)), "{error:?}");
}

#[tokio::test]
async fn configuration_problems_are_transient() {
    // The sink offers no AUTH, so credentials cannot be used: the mail must
    // wait for an administrator, not be marked failed.
    let sink = SmtpSink::start().unwrap();
    let sender = SmtpSender::from_url(&format!("smtp://ada:secret@{}", sink.addr())).unwrap();
    let email = acknowledgment();
    let raw = render(&email, Timestamp(0)).unwrap();
    let error = sender.send("bounces@acme.example", &recipients(&email), &raw).await.unwrap_err();
    assert!(matches!(error, SendError::Transient(_)), "{error:?}");
    assert!(!error.to_string().contains("secret"), "{error}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn bad_urls_give_clear_errors() {
    let cases = [
        ("localhost", "does not parse"),
        ("localhost:25", "must start with smtp:// or smtps://"),
        ("imap://mail.example", "must start with smtp:// or smtps://"),
        ("smtp://ada:hunter2@mail.example?tls=sometimes", "tls parameter must be none, opportunistic or required"),
        ("smtp://ada@mail.example", "both a user and a password"),
        ("smtp://mail.example:25/extra", "must not have a path"),
    ];
    for (url, expected) in cases {
        let error: SmtpConfigError = SmtpSender::from_url(url).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(expected), "{url}: {message}");
        assert!(!message.contains("hunter2"), "{url}: {message}");
    }
}
