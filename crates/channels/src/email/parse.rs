//! Parsing one raw RFC 5322 message into what intake needs: an
//! [`InboundMessage`] with its loop signals, or a [`BounceReport`] when the
//! mail is a delivery failure for something we sent.
//!
//! MIME structure, charsets and transfer encodings are mail-parser's job;
//! this module decides what the pieces mean. It is split by the question each
//! part answers: `headers` (who, which thread, which signals), `body` (which
//! text, which HTML, which files), `quote` (what the customer wrote as
//! opposed to what they quoted), `bounce` and `dsn` (is this a delivery
//! failure, and for whom), `html` (making HTML safe and readable).
//!
//! The parser never panics on its input and never trusts it: decoded header
//! text has its control characters replaced, HTML is sanitised, and a message
//! that mail-parser itself cannot cope with becomes a [`ParseError`].

mod body;
mod bounce;
mod dsn;
mod headers;
mod html;
mod quote;

use mail_parser::{Message, MessageParser};
use rapport_core::intake::{MailSignals, Noise, classify};
use rapport_core::{Channel, InboundMessage, TeamId, ThreadHints, Timestamp};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What the parser needs to know about the mailbox the mail arrived in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Our mailbox addresses, lower-case; mail from these is `own_address`.
    pub own_addresses: Vec<String>,
    /// Our `X-Rapport-Loop` value; a message carrying it is `own_loop_header`.
    pub loop_id: String,
    /// An attachment over this many bytes is dropped, and the text says so.
    pub max_attachment_bytes: usize,
    /// Copied into [`InboundMessage::team`].
    pub team: Option<TeamId>,
}

/// A parsed email: a message for intake, or a report that a mail we sent bounced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParsedEmail {
    /// Mail written by someone (or something) to us.
    Message(Box<Parsed>),
    /// A delivery status notification or a mail server's failure notice.
    Bounce(BounceReport),
}

/// An inbound message with what the headers say about where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The message in intake's shape; `channel` is [`Channel::Email`].
    pub message: InboundMessage,
    /// The loop-relevant header facts.
    pub signals: MailSignals,
    /// `classify(&signals)`; `message.automatic` is `noise != Noise::Person`.
    pub noise: Noise,
    /// Normalised To addresses and where the mail was delivered (the
    /// envelope recipient, else the top-most Delivered-To and X-Original-To),
    /// without repeats: where to look for address tokens and the mailbox.
    pub recipients: Vec<String>,
}

/// A delivery failure (or delay) reported by a mail server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BounceReport {
    /// Message-ID (without `<>`) of the mail that bounced, when it can be found.
    pub original_message_id: Option<String>,
    /// The recipients whose delivery failed (or is delayed), lower-case.
    pub recipients: Vec<String>,
    /// The enhanced status code, such as `5.1.1`; a `4.x.x` code means delayed.
    pub status: Option<String>,
    /// The remote server's diagnostic, or the notice's key line.
    pub diagnostic: Option<String>,
    /// The From address of the notice, lower-case (empty when it has none).
    pub reporter: String,
    /// The notice's subject.
    pub subject: String,
    /// The human-readable part of the notice, for an agent to read.
    pub text: String,
    /// The notice's own Message-ID, or `sha256:<hex>` of its bytes.
    pub external_id: String,
}

/// Why a message could not be parsed. Each says what a person can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No header fields at all: not an email.
    #[error("the data is not an email message (no header fields found); check that the whole raw message was passed")]
    NotAMessage,
    /// No address to file the message under or to answer.
    #[error(
        "the message has no usable sender address (From, Sender and Reply-To are missing or invalid); it cannot be filed or answered"
    )]
    NoSender,
    /// The MIME structure broke the underlying parser.
    #[error("the message's MIME structure could not be read; keep the raw message and report it as a parser bug")]
    Malformed,
}

impl ParseError {
    /// A stable machine code for logs and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::NotAMessage => "not_a_message",
            ParseError::NoSender => "no_sender",
            ParseError::Malformed => "malformed",
        }
    }
}

/// Parses one raw message.
///
/// Bounces are recognised first, so a delivery failure never becomes a
/// customer message. Everything else becomes [`ParsedEmail::Message`] with its
/// loop signals classified; deciding what to do with an automatic message or
/// a loop is the caller's business.
pub fn parse(raw: &[u8], options: &ParseOptions, received_at: Timestamp) -> Result<ParsedEmail, ParseError> {
    parse_delivered_to(raw, options, None, received_at)
}

/// [`parse`] for mail whose envelope recipient the MTA passed along
/// (`rapport mailgate --recipient`, Postfix's `${recipient}`). It counts
/// instead of the Delivered-To and X-Original-To headers, so `support+42@`
/// mail threads onto ticket 42 even when its To header names another address
/// (a Bcc, a forward). An address that does not parse is ignored.
pub fn parse_delivered_to(
    raw: &[u8],
    options: &ParseOptions,
    envelope_recipient: Option<&str>,
    received_at: Timestamp,
) -> Result<ParsedEmail, ParseError> {
    let envelope = envelope_recipient.and_then(|address| {
        rapport_core::Identity::email(address.trim().trim_start_matches('<').trim_end_matches('>')).ok()
    });
    let raw = without_envelope_line(raw);
    let message = read(raw)?;
    let external_id = external_id(&message, raw);
    let subject = headers::subject(&message);
    let bodies = body::bodies(&message);
    if let Some(report) = bounce::detect(&message, &bodies.text, options, &subject, &external_id) {
        return Ok(ParsedEmail::Bounce(report));
    }
    let (sender, sender_name) = headers::sender(&message).ok_or(ParseError::NoSender)?;
    let recipients = headers::recipients(&message, envelope.as_ref());
    let signals = headers::signals(&message, &sender.value, options);
    let noise = classify(&signals);

    let mut tokens = rapport_core::intake::subject_tokens(&subject);
    for recipient in &recipients {
        for own in &options.own_addresses {
            if let Some(token) = rapport_core::intake::address_token(recipient, own)
                && !tokens.contains(&token)
            {
                tokens.push(token);
            }
        }
    }
    let thread = ThreadHints { references: headers::references(&message), tokens };
    let followers = headers::followers(&message, &sender, options);

    let files = body::attachments(&message, options.max_attachment_bytes);
    let stripped = quote::strip(&bodies.text);
    let (text, original_text) = with_notes(stripped, &files.notes);

    let message = InboundMessage {
        channel: Channel::Email,
        sender,
        sender_name,
        external_id: Some(external_id),
        thread,
        subject,
        text,
        original_text,
        html: bodies.html,
        attachments: files.attachments,
        followers,
        team: options.team,
        automatic: noise != Noise::Person,
        received_at,
        language: content_language(&message),
    };
    Ok(ParsedEmail::Message(Box::new(Parsed { message, signals, noise, recipients })))
}

/// The first language of the `Content-Language` header (RFC 3282), when it
/// has one that looks like a language tag: the acknowledgment uses it.
fn content_language(message: &Message<'_>) -> Option<String> {
    let first = message.header_raw("Content-Language")?.split(',').next()?.trim();
    let plausible =
        !first.is_empty() && first.len() <= 35 && first.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    plausible.then(|| first.to_ascii_lowercase())
}

/// The message without the mbox `From sender date` line that local delivery
/// agents put in front of it: that line is not a header, and the same
/// message delivered twice must have the same bytes.
fn without_envelope_line(raw: &[u8]) -> &[u8] {
    if raw.starts_with(b"From ") {
        raw.iter().position(|byte| *byte == b'\n').map_or(&raw[raw.len()..], |newline| &raw[newline + 1..])
    } else {
        raw
    }
}

/// Runs mail-parser, turning its rare panics on hostile input into an error:
/// one bad message must not take the mail gateway down.
fn read(raw: &[u8]) -> Result<Message<'_>, ParseError> {
    match catch_unwind(AssertUnwindSafe(|| MessageParser::default().parse(raw))) {
        Ok(Some(message)) if !headers::top_headers(&message).is_empty() => Ok(message),
        Ok(_) => Err(ParseError::NotAMessage),
        Err(_) => Err(ParseError::Malformed),
    }
}

/// The Message-ID without angle brackets, or a digest of the bytes so that a
/// redelivery of the same message is still recognised.
fn external_id(message: &Message<'_>, raw: &[u8]) -> String {
    headers::message_id(message).unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(raw))))
}

/// Appends the notes about dropped attachments to the text (and to the
/// original text, so neither view loses them).
fn with_notes(stripped: quote::Stripped, notes: &[String]) -> (String, Option<String>) {
    if notes.is_empty() {
        return (stripped.text, stripped.original);
    }
    let append = |text: String| {
        let notes = notes.join("\n");
        if text.is_empty() { notes } else { format!("{text}\n\n{notes}") }
    };
    (append(stripped.text), stripped.original.map(append))
}

/// Attachments are rendered by size and digest, never by content, so golden
/// files stay readable and small.
impl Serialize for Parsed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        use serde_json::{Map, Value, to_value};
        let mut message = to_value(&self.message).map_err(S::Error::custom)?;
        let attachments = self
            .message
            .attachments
            .iter()
            .map(|attachment| {
                let mut view = Map::new();
                view.insert("filename".to_owned(), Value::from(attachment.filename.clone()));
                view.insert("content_type".to_owned(), Value::from(attachment.content_type.clone()));
                view.insert("content_id".to_owned(), Value::from(attachment.content_id.clone()));
                view.insert("size".to_owned(), Value::from(attachment.content.len()));
                view.insert("sha256".to_owned(), Value::from(hex::encode(Sha256::digest(&attachment.content))));
                Value::Object(view)
            })
            .collect();
        if let Some(object) = message.as_object_mut() {
            object.insert("attachments".to_owned(), Value::Array(attachments));
        }
        let mut view = Map::new();
        view.insert("message".to_owned(), message);
        view.insert("signals".to_owned(), to_value(&self.signals).map_err(S::Error::custom)?);
        view.insert("noise".to_owned(), to_value(self.noise).map_err(S::Error::custom)?);
        view.insert("recipients".to_owned(), Value::from(self.recipients.clone()));
        Value::Object(view).serialize(serializer)
    }
}
