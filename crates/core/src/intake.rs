//! Intake: the one path every channel's inbound message takes.
//!
//! A channel adapter (email, web form, chat, webhooks) turns its outside
//! format into an [`InboundMessage`]. The store looks up the facts this
//! module needs — who the sender is, which tickets the thread hints point at —
//! and these functions decide: which ticket the message joins or whether it
//! opens a new one ([`place`]), whether it is machine-made mail that must
//! never be answered automatically ([`classify`]), and whether the sender is
//! flooding us ([`over_rate`]). Nothing here does I/O.

use crate::identity::Identity;
use crate::ids::{CustomerId, TeamId, TicketId};
use crate::ticket::{Channel, CustomerMessageOutcome, Status, customer_message_outcome};
use crate::time::{HOUR, Timestamp};
use rapport_catalog::Words;
use serde::{Deserialize, Serialize};

/// A file that came with an inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundAttachment {
    /// File name as given (or made up from the content type).
    pub filename: String,
    /// MIME type as given.
    pub content_type: String,
    /// The decoded bytes.
    #[serde(skip)]
    pub content: Vec<u8>,
    /// The MIME Content-ID of an inline image, without angle brackets.
    pub content_id: Option<String>,
}

/// What the message says about the conversation it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadHints {
    /// External ids this message replies to, most specific first (for email:
    /// In-Reply-To, then References from the newest back).
    pub references: Vec<String>,
    /// Ticket numbers quoted in the message (for email: `[#N]` in the subject
    /// and `+N` in the address it was sent to).
    pub tokens: Vec<TicketId>,
}

/// One inbound message in the shape every channel shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The channel it arrived on.
    pub channel: Channel,
    /// The sender's normalised identity.
    pub sender: Identity,
    /// The sender's display name, if the channel gave one.
    pub sender_name: Option<String>,
    /// The channel's id for the message (an email's Message-ID), used to file
    /// a redelivery once and to thread replies to it.
    pub external_id: Option<String>,
    /// Thread hints.
    pub thread: ThreadHints,
    /// Subject (email, web form) or a summary of the first line.
    pub subject: String,
    /// Plain text with quoted history and signatures stripped.
    pub text: String,
    /// The full plain text as received, when stripping removed something.
    pub original_text: Option<String>,
    /// Sanitised HTML, where the channel gave HTML.
    pub html: Option<String>,
    /// Files.
    pub attachments: Vec<InboundAttachment>,
    /// Other people on the conversation (email Cc), who follow the ticket.
    pub followers: Vec<Identity>,
    /// The team the mailbox or endpoint routes to.
    pub team: Option<TeamId>,
    /// True for machine-made messages that must never get an automatic reply.
    pub automatic: bool,
    /// When it was received.
    pub received_at: Timestamp,
    /// The language the sender wrote in, where the channel tells (the web
    /// form's page language): the automatic replies use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl InboundMessage {
    /// A plain message: no channel id, thread hints, HTML, files or
    /// followers, written by a person. Adapters set what their channel gives.
    pub fn new(channel: Channel, sender: Identity, subject: String, text: String, received_at: Timestamp) -> Self {
        InboundMessage {
            channel,
            sender,
            sender_name: None,
            external_id: None,
            thread: ThreadHints::default(),
            subject,
            text,
            original_text: None,
            html: None,
            attachments: Vec::new(),
            followers: Vec::new(),
            team: None,
            automatic: false,
            received_at,
            language: None,
        }
    }
}

/// Who the sender is, as far as the store knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender {
    /// The customer the sender's identity belongs to.
    pub customer: CustomerId,
    /// True when the customer proved the identity (a magic link) or an agent
    /// confirmed it. Only verified identities reach a customer's other tickets.
    pub verified: bool,
}

/// A ticket a thread hint points at, with what intake needs to judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The ticket.
    pub ticket: TicketId,
    /// Its status.
    pub status: Status,
    /// Its customer.
    pub customer: CustomerId,
    /// True when this very identity is on the ticket already: it opened it,
    /// wrote on it, or follows it.
    pub sender_participates: bool,
}

/// Why a message opens a new ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewTicketReason {
    /// Nothing points at an existing ticket.
    NoThread,
    /// The ticket it replies to is closed; the new one continues it.
    Closed,
    /// It points at a ticket the sender may not write to (a stranger quoting
    /// another customer's ticket number); linked for an agent to judge.
    NotAllowed,
}

/// Where an inbound message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Joins an existing ticket.
    Existing {
        /// The ticket.
        ticket: TicketId,
        /// True when it reopens a pending, on-hold or solved ticket.
        reopens: bool,
    },
    /// Opens a new ticket.
    New {
        /// The ticket it is linked to (closed predecessor or judged hint).
        linked_to: Option<TicketId>,
        /// Why.
        reason: NewTicketReason,
    },
}

/// True when `sender` may add a message to `candidate`: the identity is on the
/// ticket already, or it is a verified identity of the ticket's customer.
pub fn may_join(sender: Option<Sender>, candidate: &Candidate) -> bool {
    candidate.sender_participates
        || sender.is_some_and(|sender| sender.verified && sender.customer == candidate.customer)
}

/// Decides where a message goes, given the tickets its hints point at in the
/// order they were found (references before tokens). The first ticket the
/// sender may join wins; a closed one makes a new ticket linked to it. When
/// hints point only at tickets the sender may not join, the message opens a
/// new ticket linked to the first of them.
pub fn place(sender: Option<Sender>, candidates: &[Candidate]) -> Placement {
    match candidates.iter().find(|candidate| may_join(sender, candidate)) {
        Some(candidate) => match customer_message_outcome(candidate.status) {
            CustomerMessageOutcome::Append => Placement::Existing { ticket: candidate.ticket, reopens: false },
            CustomerMessageOutcome::Reopen => Placement::Existing { ticket: candidate.ticket, reopens: true },
            CustomerMessageOutcome::NewLinkedTicket => {
                Placement::New { linked_to: Some(candidate.ticket), reason: NewTicketReason::Closed }
            }
        },
        None => match candidates.first() {
            Some(candidate) => {
                Placement::New { linked_to: Some(candidate.ticket), reason: NewTicketReason::NotAllowed }
            }
            None => Placement::New { linked_to: None, reason: NewTicketReason::NoThread },
        },
    }
}

/// True for channels that carry no thread of their own (chat and messaging
/// apps, SMS): a customer's new message there joins their latest unclosed
/// ticket on the same channel instead of opening a parallel one.
pub fn joins_latest_ticket(channel: Channel) -> bool {
    matches!(
        channel,
        Channel::Chat | Channel::Whatsapp | Channel::Telegram | Channel::Messenger | Channel::Instagram | Channel::Sms
    )
}

/// The loop-relevant facts of an inbound email, read from its headers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSignals {
    /// The `Auto-Submitted` value, lower-cased (RFC 3834).
    pub auto_submitted: Option<String>,
    /// The `Precedence` value, lower-cased.
    pub precedence: Option<String>,
    /// An `X-Auto-Response-Suppress` header is present.
    pub auto_response_suppress: bool,
    /// A `List-Id` (or `List-Unsubscribe`) header is present: mailing-list mail.
    pub list: bool,
    /// `Return-Path: <>`: the null sender of bounces and auto-replies.
    pub null_return_path: bool,
    /// The sender's local part is a system mailbox (mailer-daemon, postmaster…).
    pub system_sender: bool,
    /// The sender is one of our own addresses.
    pub own_address: bool,
    /// The message carries our own loop header: we sent it.
    pub own_loop_header: bool,
}

/// What intake makes of an email's loop signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Noise {
    /// A person wrote it: file it, acknowledge it.
    Person,
    /// Machine-made or list mail: file it but never answer it automatically.
    Automatic(AutomaticReason),
    /// Our own mail come back: never open a ticket for it.
    Loop,
}

/// Why a message counts as automatic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutomaticReason {
    /// `Auto-Submitted` other than `no`.
    AutoSubmitted,
    /// `Precedence: bulk`, `junk` or `list`.
    Precedence,
    /// `X-Auto-Response-Suppress`.
    AutoResponseSuppress,
    /// A mailing list.
    List,
    /// The null Return-Path.
    NullReturnPath,
    /// mailer-daemon, postmaster and the like.
    SystemSender,
    /// One of our own addresses.
    OwnAddress,
}

/// Classifies an email by its loop signals (RFC 3834 and common practice).
pub fn classify(signals: &MailSignals) -> Noise {
    if signals.own_loop_header {
        return Noise::Loop;
    }
    let reason = if signals.auto_submitted.as_deref().is_some_and(|value| value.trim() != "no") {
        Some(AutomaticReason::AutoSubmitted)
    } else if signals.precedence.as_deref().is_some_and(|value| matches!(value.trim(), "bulk" | "junk" | "list")) {
        Some(AutomaticReason::Precedence)
    } else if signals.auto_response_suppress {
        Some(AutomaticReason::AutoResponseSuppress)
    } else if signals.list {
        Some(AutomaticReason::List)
    } else if signals.null_return_path {
        Some(AutomaticReason::NullReturnPath)
    } else if signals.system_sender {
        Some(AutomaticReason::SystemSender)
    } else if signals.own_address {
        Some(AutomaticReason::OwnAddress)
    } else {
        None
    };
    reason.map_or(Noise::Person, Noise::Automatic)
}

/// Local parts of system mailboxes whose mail is never answered.
pub const SYSTEM_LOCAL_PARTS: &[&str] =
    &["mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply", "bounce", "bounces"];

/// True when an email address belongs to a system mailbox.
pub fn is_system_address(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or_default().to_ascii_lowercase();
    let local = local.split('+').next().unwrap_or_default();
    SYSTEM_LOCAL_PARTS.contains(&local)
}

/// How many messages one sender may send within [`RATE_WINDOW_MS`] before
/// intake stops answering and quarantines the rest (a reply storm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Above this many, no more automatic replies go to the sender.
    pub replies: u32,
    /// Above this many, messages are quarantined instead of filed.
    pub messages: u32,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit { replies: 5, messages: 60 }
    }
}

/// The window the rate limit counts over.
pub const RATE_WINDOW_MS: i64 = HOUR;

/// What the rate limit allows for one more message from a sender who sent
/// `recent` messages in the window before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateVerdict {
    /// File and answer.
    Normal,
    /// File, but send no automatic reply.
    Quiet,
    /// Quarantine: a storm.
    Storm,
}

/// Applies the per-sender rate limit.
pub fn over_rate(recent: u32, limit: RateLimit) -> RateVerdict {
    if recent >= limit.messages {
        RateVerdict::Storm
    } else if recent >= limit.replies {
        RateVerdict::Quiet
    } else {
        RateVerdict::Normal
    }
}

/// The acknowledgment sent when a customer's message opens a ticket, in
/// the customer's language (`words`).
pub fn acknowledgment_text(words: &Words, ticket: TicketId, name: Option<&str>, subject: &str) -> String {
    let greeting = match name.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => words.with("email-greeting-named", &[("name", name.into())]),
        None => words.get("email-greeting"),
    };
    let number = ticket.0.to_string();
    let text = words.with("ack-text", &[("subject", subject.into()), ("ticket", number.as_str().into())]);
    format!("{greeting}\n\n{text}\n")
}

/// The acknowledgment of a web-form request. Anyone can type any address into
/// the form, so the mail carries nothing the visitor typed (no name, no
/// subject): the form cannot be used to send chosen words to a stranger.
pub fn web_acknowledgment_text(words: &Words, ticket: TicketId) -> String {
    let number = ticket.0.to_string();
    let text = words.with("web-ack-text", &[("ticket", number.as_str().into())]);
    format!("{}\n\n{text}\n", words.get("email-greeting"))
}

/// The subject of a web-form request's acknowledgment (see
/// [`web_acknowledgment_text`]).
pub fn web_acknowledgment_subject(words: &Words, ticket: TicketId) -> String {
    words.with("web-ack-subject", &[("ticket", ticket.0.to_string().as_str().into())])
}

/// The paragraph that follows the acknowledgment of a web-form message: the
/// customer's personal link to the ticket on the help pages. `link` is the
/// link itself in the email, and a stand-in in the copy kept on the ticket,
/// so the stored text never holds a working secret.
pub fn portal_link_text(words: &Words, link: &str, valid_days: i64) -> String {
    format!(
        "\n{}\n\n{link}\n\n{}\n",
        words.get("portal-link-intro"),
        words.with("portal-link-note", &[("days", valid_days.into())])
    )
}

/// The subject of the email that answers a request for a new link.
pub fn portal_link_subject(words: &Words) -> String {
    words.get("link-email-subject")
}

/// The email that answers a request for a new link to the help pages.
pub fn portal_link_request_text(words: &Words, link: &str, valid_days: i64) -> String {
    format!(
        "{}\n\n{}\n\n{link}\n\n{}\n",
        words.get("email-greeting"),
        words.get("link-email-intro"),
        words.with("link-email-note", &[("days", valid_days.into())])
    )
}

/// What the copy of a web-form acknowledgment kept on the ticket shows instead
/// of the customer's link.
pub const PORTAL_LINK_STAND_IN: &str = "[personal link, sent by email only]";

/// Parses `[#N]` ticket tokens out of a subject line, in order, without repeats.
pub fn subject_tokens(subject: &str) -> Vec<TicketId> {
    let mut tokens = Vec::new();
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        rest = &rest[start + 2..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let closed = !digits.is_empty() && rest[digits.len()..].starts_with(']');
        if let Some(number) = digits.parse::<i64>().ok().filter(|number| closed && *number > 0) {
            let ticket = TicketId(number);
            if !tokens.contains(&ticket) {
                tokens.push(ticket);
            }
        }
    }
    tokens
}

/// Parses the ticket number out of a reply address such as
/// `support+123@example.com`, given the mailbox's own address.
pub fn address_token(to: &str, mailbox: &str) -> Option<TicketId> {
    let (to_local, to_domain) = to.trim().rsplit_once('@')?;
    let (box_local, box_domain) = mailbox.trim().rsplit_once('@')?;
    if !to_domain.eq_ignore_ascii_case(box_domain) {
        return None;
    }
    let (base, tag) = to_local.split_once('+')?;
    if !base.eq_ignore_ascii_case(box_local) {
        return None;
    }
    tag.parse::<i64>().ok().filter(|number| *number > 0).map(TicketId)
}

/// The subject of a reply: the ticket token once, and no pile of `Re:` prefixes.
pub fn reply_subject(ticket: TicketId, subject: &str) -> String {
    let mut base = subject.trim();
    loop {
        let lower = base.to_ascii_lowercase();
        let stripped = ["re:", "aw:", "fwd:", "fw:", "sv:", "antw:"]
            .iter()
            .find(|prefix| lower.starts_with(**prefix))
            .map(|prefix| base[prefix.len()..].trim_start());
        match stripped {
            Some(rest) => base = rest,
            None => break,
        }
    }
    let token = format!("[#{ticket}]");
    let base = base.replace(&token, "");
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    if base.is_empty() { format!("Re: {token}") } else { format!("Re: {base} {token}") }
}

/// A subject that fits a ticket: whitespace runs collapsed, cut to
/// [`crate::event::MAX_SUBJECT_CHARS`] with an ellipsis, and never blank.
/// Channels deliver what senders wrote; intake must not refuse it for length.
pub fn fit_subject(subject: &str) -> String {
    let collapsed = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return "(no subject)".to_owned();
    }
    let limit = crate::event::MAX_SUBJECT_CHARS;
    if collapsed.chars().count() <= limit {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(limit - 1).collect();
    cut.push('…');
    cut
}

/// The first line of a text, shortened, for channels without a subject.
pub fn summary_subject(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("(no subject)");
    let mut subject: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        subject.push('…');
    }
    subject
}

#[cfg(test)]
mod tests;
