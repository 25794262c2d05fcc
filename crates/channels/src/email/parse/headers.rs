//! Header fields: who sent the message, to whom, which thread it continues,
//! and the loop signals.
//!
//! Decoded header text comes from strangers, so every string taken from a
//! header passes through [`clean_line`]: a CR or LF smuggled in through an
//! encoded word must never reach a header we write later.

use super::ParseOptions;
use crate::email::LOOP_HEADER;
use mail_parser::{Addr, Header, HeaderName, HeaderValue, Message, MessageParser};
use rapport_core::Identity;
use rapport_core::intake::{MailSignals, is_system_address};
use std::panic::catch_unwind;

/// Longest display name kept, in characters.
const MAX_NAME_CHARS: usize = 200;
/// Longest subject kept, in characters.
const MAX_SUBJECT_CHARS: usize = 1000;
/// Most thread references kept: enough for any real thread, and a bound on
/// the lookups a hostile References header can cause.
const MAX_REFERENCES: usize = 100;

/// Replaces control characters with spaces, collapses runs of whitespace and
/// trims, keeping at most `max_chars` characters.
pub(super) fn clean_line(raw: &str, max_chars: usize) -> String {
    let words = raw.split(|c: char| c.is_control() || c.is_whitespace()).filter(|word| !word.is_empty());
    let mut line = String::new();
    for word in words {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        if line.chars().count() >= max_chars {
            break;
        }
    }
    truncate_chars(&line, max_chars)
}

/// The first `max_chars` characters of `text`.
pub(super) fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((index, _)) => text[..index].to_owned(),
        None => text.to_owned(),
    }
}

/// The top-level header fields, in order.
pub(super) fn top_headers<'a, 'x>(message: &'a Message<'x>) -> &'a [Header<'x>] {
    message.parts.first().map_or(&[], |part| part.headers.as_slice())
}

/// The raw values of every header field called `name` (case-insensitive),
/// unfolded and trimmed, without decoding.
pub(super) fn raw_values(message: &Message<'_>, name: &str) -> Vec<String> {
    top_headers(message)
        .iter()
        .filter(|header| header.name.as_str().eq_ignore_ascii_case(name))
        .filter_map(|header| message.raw_message.get(header.offset_start as usize..header.offset_end as usize))
        .map(|bytes| String::from_utf8_lossy(bytes).replace(['\r', '\n'], " ").trim().to_owned())
        .collect()
}

/// The decoded subject, cleaned; `(no subject)` when there is none.
pub(super) fn subject(message: &Message<'_>) -> String {
    let decoded = top_headers(message)
        .iter()
        .find(|header| header.name == HeaderName::Subject)
        .and_then(|header| header.value.as_text())
        .unwrap_or_default();
    let subject = clean_line(decoded, MAX_SUBJECT_CHARS);
    if subject.is_empty() { "(no subject)".to_owned() } else { subject }
}

/// The message's own Message-ID, without angle brackets.
pub(super) fn message_id(message: &Message<'_>) -> Option<String> {
    raw_values(message, "Message-ID").iter().find_map(|value| message_ids(value).into_iter().next())
}

/// The message ids in a header value: every `<...>` token, or the bare
/// words when the sender forgot the brackets.
pub(super) fn message_ids(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { break };
        if let Some(id) = clean_id(&rest[..end]) {
            ids.push(id);
        }
        rest = &rest[end + 1..];
    }
    if ids.is_empty() && !value.contains('<') {
        ids.extend(
            value.split(|c: char| c.is_whitespace() || c == ',').filter(|word| word.contains('@')).filter_map(clean_id),
        );
    }
    ids
}

/// A message id without brackets, spaces or control characters.
pub(super) fn clean_id(raw: &str) -> Option<String> {
    let id: String = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control() && *c != '<' && *c != '>')
        .collect();
    let id = truncate_chars(&id, 998);
    if id.is_empty() { None } else { Some(id) }
}

/// In-Reply-To ids, then References from the newest (last) back, without repeats.
pub(super) fn references(message: &Message<'_>) -> Vec<String> {
    let mut references: Vec<String> = Vec::new();
    let in_reply_to =
        raw_values(message, "In-Reply-To").iter().flat_map(|value| message_ids(value)).collect::<Vec<_>>();
    let older = raw_values(message, "References").iter().flat_map(|value| message_ids(value)).collect::<Vec<_>>();
    for id in in_reply_to.into_iter().chain(older.into_iter().rev()) {
        if references.len() >= MAX_REFERENCES {
            break;
        }
        if !references.contains(&id) {
            references.push(id);
        }
    }
    references
}

/// A mailbox: its address as written and its display name, both cleaned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Mailbox {
    /// The address, lower-cased; empty when the header gave none.
    pub address: String,
    /// The display name, if any.
    pub name: Option<String>,
}

impl Mailbox {
    fn from_addr(addr: &Addr<'_>) -> Mailbox {
        Mailbox {
            address: addr.address().map(|address| clean_line(address, 254).to_lowercase()).unwrap_or_default(),
            name: addr.name().map(|name| clean_line(name, MAX_NAME_CHARS)).filter(|name| !name.is_empty()),
        }
    }

    /// The normalised identity, if the address is usable.
    fn identity(&self) -> Option<Identity> {
        Identity::email(&self.address).ok()
    }
}

/// The mailboxes of every header field called `name`, in order.
///
/// mail-parser 0.11 sometimes loses the field after a malformed one (a Date
/// ending in the obsolete zone `UT` swallows the next line), so when the
/// parsed headers have no such field, the raw header block is read again and
/// each raw value is parsed on its own.
pub(super) fn mailboxes(message: &Message<'_>, name: HeaderName<'static>) -> Vec<Mailbox> {
    let parsed: Vec<Mailbox> = top_headers(message)
        .iter()
        .filter(|header| header.name == name)
        .filter_map(|header| match &header.value {
            HeaderValue::Address(address) => Some(address.iter().map(Mailbox::from_addr).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    if !parsed.is_empty() || top_headers(message).iter().any(|header| header.name == name) {
        return parsed;
    }
    let field = name.as_str().to_owned();
    raw_header_block(&message.raw_message)
        .into_iter()
        .filter(|(raw_name, _)| raw_name.eq_ignore_ascii_case(&field))
        .flat_map(|(_, value)| {
            let single = format!("{field}: {value}\r\n\r\n");
            let reparse = || {
                MessageParser::default().parse_headers(single.as_bytes()).map(|message| {
                    top_headers(&message)
                        .iter()
                        .filter_map(|header| header.value.as_address())
                        .flat_map(|address| address.iter().map(Mailbox::from_addr))
                        .collect::<Vec<_>>()
                })
            };
            catch_unwind(reparse).ok().flatten().unwrap_or_default()
        })
        .collect()
}

/// The fields of the raw top-level header block, unfolded, in order.
fn raw_header_block(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.split('\n').map(|line| line.trim_end_matches('\r')) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    fields
}

/// The sender: the first usable mailbox of From, else Sender, else Reply-To,
/// with its cleaned display name.
pub(super) fn sender(message: &Message<'_>) -> Option<(Identity, Option<String>)> {
    [HeaderName::From, HeaderName::Sender, HeaderName::ReplyTo].into_iter().find_map(|name| {
        mailboxes(message, name).into_iter().find_map(|mailbox| Some((mailbox.identity()?, mailbox.name)))
    })
}

/// The first From mailbox as written (`MAILER-DAEMON` without a domain too).
pub(super) fn from_mailbox(message: &Message<'_>) -> Option<Mailbox> {
    mailboxes(message, HeaderName::From).into_iter().next()
}

/// Normalised To addresses, then where the mail was delivered, without
/// repeats. The envelope recipient, when the MTA passed it (`mailgate
/// --recipient`), says that alone; otherwise the top-most Delivered-To and
/// X-Original-To do, which the delivering MTA prepended (lower ones were
/// written by earlier hops, or by the sender).
pub(super) fn recipients(message: &Message<'_>, envelope: Option<&Identity>) -> Vec<String> {
    let mut recipients: Vec<String> = Vec::new();
    let to = mailboxes(message, HeaderName::To).into_iter().filter_map(|mailbox| mailbox.identity());
    let delivered: Vec<Identity> = match envelope {
        Some(envelope) => vec![envelope.clone()],
        None => ["Delivered-To", "X-Original-To"]
            .into_iter()
            .filter_map(|name| raw_values(message, name).into_iter().next())
            .filter_map(|value| Identity::email(value.trim().trim_start_matches('<').trim_end_matches('>')).ok())
            .collect(),
    };
    for identity in to.chain(delivered) {
        if !recipients.contains(&identity.value) {
            recipients.push(identity.value);
        }
    }
    recipients
}

/// Cc addresses other than the sender and our own mailboxes, without repeats.
pub(super) fn followers(message: &Message<'_>, sender: &Identity, options: &ParseOptions) -> Vec<Identity> {
    let mut followers: Vec<Identity> = Vec::new();
    for identity in mailboxes(message, HeaderName::Cc).into_iter().filter_map(|mailbox| mailbox.identity()) {
        let ours = options.own_addresses.iter().any(|own| own.eq_ignore_ascii_case(&identity.value));
        if identity != *sender && !ours && !followers.contains(&identity) {
            followers.push(identity);
        }
    }
    followers
}

/// The first value of a header, lower-cased, if present.
fn lower_value(message: &Message<'_>, name: &str) -> Option<String> {
    raw_values(message, name).into_iter().next().map(|value| clean_line(&value, 200).to_lowercase())
}

/// True when the message has a header called `name`.
fn has_header(message: &Message<'_>, name: &str) -> bool {
    top_headers(message).iter().any(|header| header.name.as_str().eq_ignore_ascii_case(name))
}

/// True when the (first, outermost) Return-Path is the null path `<>`.
pub(super) fn null_return_path(message: &Message<'_>) -> bool {
    raw_values(message, "Return-Path")
        .first()
        .is_some_and(|value| value.chars().filter(|c| !c.is_whitespace()).collect::<String>() == "<>")
}

/// The loop-relevant facts of the headers.
pub(super) fn signals(message: &Message<'_>, sender: &str, options: &ParseOptions) -> MailSignals {
    let loop_id = options.loop_id.trim();
    MailSignals {
        auto_submitted: lower_value(message, "Auto-Submitted"),
        precedence: lower_value(message, "Precedence"),
        auto_response_suppress: has_header(message, "X-Auto-Response-Suppress"),
        list: has_header(message, "List-Id") || has_header(message, "List-Unsubscribe"),
        null_return_path: null_return_path(message),
        system_sender: is_system_address(sender),
        own_address: options.own_addresses.iter().any(|own| own.eq_ignore_ascii_case(sender)),
        own_loop_header: !loop_id.is_empty()
            && raw_values(message, LOOP_HEADER).iter().any(|value| value.trim() == loop_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_line_replaces_control_characters() {
        assert_eq!(clean_line("Hello\r\nBcc: victim@example.com", 100), "Hello Bcc: victim@example.com");
        assert_eq!(clean_line("  a\u{0}b\tc\u{85}d  ", 100), "a b c d");
        assert_eq!(clean_line("abcdef", 3), "abc");
    }

    #[test]
    fn message_ids_strip_brackets_and_comments() {
        assert_eq!(message_ids("<a@b> <c@d>"), ["a@b", "c@d"]);
        assert_eq!(message_ids("<a@b> (Ann's message of Monday)"), ["a@b"]);
        assert_eq!(message_ids("a@b"), ["a@b"]);
        assert_eq!(message_ids("<>"), Vec::<String>::new());
        assert_eq!(message_ids("<unterminated@x"), Vec::<String>::new());
    }
}
