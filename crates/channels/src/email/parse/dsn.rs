//! Reading the machine-readable parts of a bounce: RFC 3464 delivery-status
//! fields, RFC 3463 status codes, SMTP reply lines, and addresses and
//! message ids in free text.
//!
//! Everything here works on plain text so the same functions serve proper
//! DSNs and the free-form notices older mail servers still send.

use super::headers::{clean_line, message_ids};
use rapport_core::Identity;

/// One per-recipient block of a `message/delivery-status` part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct DsnRecipient {
    /// Original-Recipient (else Final-Recipient), lower-case.
    pub address: Option<String>,
    /// Action, lower-case: failed, delayed, delivered, relayed, expanded.
    pub action: Option<String>,
    /// The Status code, such as `5.1.1`.
    pub status: Option<String>,
    /// Diagnostic-Code without its type prefix.
    pub diagnostic: Option<String>,
}

impl DsnRecipient {
    /// True unless the action says the mail got through.
    pub(super) fn failed(&self) -> bool {
        !matches!(self.action.as_deref(), Some("delivered" | "relayed" | "expanded"))
    }
}

/// The header-like fields of one block, unfolded, names lower-cased.
fn fields(block: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    fields
}

/// The value after a `type;` prefix (`rfc822; ann@example.com`, `smtp; 550 ...`).
fn typed_value(value: &str) -> &str {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.trim().is_empty() && !kind.contains(' ') => rest.trim(),
        _ => value.trim(),
    }
}

/// An address field's value as a normalised address.
fn address_value(value: &str) -> Option<String> {
    let address = typed_value(value).trim_start_matches('<').trim_end_matches('>');
    Identity::email(address).ok().map(|identity| identity.value)
}

/// The per-recipient blocks of a delivery-status body.
pub(super) fn recipients(body: &str) -> Vec<DsnRecipient> {
    let body = body.replace("\r\n", "\n");
    let mut recipients = Vec::new();
    for block in body.split("\n\n") {
        let fields = fields(block);
        let value = |name: &str| fields.iter().find(|(field, _)| field == name).map(|(_, value)| value.as_str());
        // Original-Recipient is the address as the sender wrote it (the one
        // we know the customer by); Final-Recipient may be an alias's target.
        let address = value("original-recipient")
            .and_then(address_value)
            .or_else(|| value("final-recipient").and_then(address_value));
        if address.is_none() && value("action").is_none() {
            continue;
        }
        recipients.push(DsnRecipient {
            address,
            action: value("action").map(|action| clean_line(action, 40).to_ascii_lowercase()),
            status: value("status").and_then(status_code),
            diagnostic: value("diagnostic-code")
                .map(|diagnostic| clean_line(typed_value(diagnostic), 500))
                .filter(|diagnostic| !diagnostic.is_empty()),
        });
    }
    recipients
}

/// The first RFC 3463 enhanced status code (`5.1.1`) in a text.
pub(super) fn status_code(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for start in 0..bytes.len() {
        if !matches!(bytes[start], b'2' | b'4' | b'5') {
            continue;
        }
        if start > 0 && (bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'.') {
            continue;
        }
        let mut index = start + 1;
        let mut ok = true;
        for _ in 0..2 {
            if bytes.get(index) != Some(&b'.') {
                ok = false;
                break;
            }
            index += 1;
            let digits = bytes[index..].iter().take_while(|byte| byte.is_ascii_digit()).count();
            if digits == 0 || digits > 3 {
                ok = false;
                break;
            }
            index += digits;
        }
        if ok && !bytes.get(index).is_some_and(|byte| byte.is_ascii_digit()) {
            return Some(text[start..index].to_owned());
        }
    }
    None
}

/// True when the line carries an SMTP reply code (`550 `, `452-`).
fn has_reply_code(line: &str) -> bool {
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(2)).any(|start| {
        let before_ok =
            start == 0 || matches!(bytes[start - 1], b' ' | b':' | b'(' | b'"' | b'\'' | b'[' | b'<' | b'#');
        let after_ok = matches!(bytes.get(start + 3), None | Some(b' ' | b'-' | b':'));
        before_ok
            && after_ok
            && matches!(bytes[start], b'4' | b'5')
            && bytes[start + 1].is_ascii_digit()
            && bytes[start + 2].is_ascii_digit()
    })
}

/// Phrases that make a line the gist of a failure notice.
const FAILURE_PHRASES: &[&str] = &[
    "user unknown",
    "unknown user",
    "no such user",
    "does not exist",
    "not found",
    "rejected",
    "mailbox unavailable",
    "mailbox full",
    "over quota",
    "quota exceeded",
    "couldn't be delivered",
    "could not be delivered",
    "wasn't delivered",
    "delivery has failed",
    "failed permanently",
    "undeliverable",
    "unable to deliver",
    "delivery failed",
    "has been delayed",
];

/// The line of a notice that says what went wrong: an SMTP reply or a
/// status code, else a line with a failure phrase.
pub(super) fn key_line(text: &str) -> Option<String> {
    let lines = || text.lines().map(str::trim).filter(|line| !line.is_empty());
    lines()
        .find(|line| has_reply_code(line) || status_code(line).is_some())
        .or_else(|| lines().find(|line| FAILURE_PHRASES.iter().any(|phrase| line.to_lowercase().contains(phrase))))
        .map(|line| clean_line(line, 300))
}

/// Field names whose lines hold addresses that are not failed recipients.
const NOT_RECIPIENT_LINES: &[&str] = &[
    "message-id:",
    "in-reply-to:",
    "references:",
    "received:",
    "return-path:",
    "from:",
    "to:",
    "cc:",
    "reply-to:",
    "sender:",
    "date:",
    "subject:",
    "dkim-signature:",
    "x-",
    "by ",
    "id ",
    "(envelope-from",
    "envelope-from",
];

/// The addresses in a notice's text, in order, without repeats, skipping
/// lines that carry message ids or header fields of the original.
pub(super) fn addresses_in(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in text.lines() {
        let plain = line.trim_start_matches(['>', ' ', '\t', '*', '-']).to_ascii_lowercase();
        if NOT_RECIPIENT_LINES.iter().any(|prefix| plain.starts_with(prefix)) {
            continue;
        }
        for address in line_addresses(line) {
            if !found.contains(&address) {
                found.push(address);
            }
        }
    }
    found
}

/// The addresses in one line.
fn line_addresses(line: &str) -> Vec<String> {
    // `=` is left out: Exchange writes `SMTP=ann@example.com`.
    let is_local = |c: char| c.is_ascii_alphanumeric() || "._%+-'/!#$&*^`{|}~".contains(c);
    let is_domain = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    let mut addresses = Vec::new();
    for (at, _) in line.match_indices('@') {
        let local_start =
            line[..at].char_indices().rev().find(|(_, c)| !is_local(*c)).map_or(0, |(index, c)| index + c.len_utf8());
        let domain_end = line[at + 1..].find(|c: char| !is_domain(c)).map_or(line.len(), |index| at + 1 + index);
        let local = line[local_start..at].trim_start_matches(['.', '\'']);
        let domain = line[at + 1..domain_end].trim_end_matches(['.', '-']);
        if let Ok(identity) = Identity::email(&format!("{local}@{domain}")) {
            addresses.push(identity.value);
        }
    }
    addresses
}

/// The first Message-ID field in a block of header text (an attached
/// original or its headers), unfolded.
pub(super) fn message_id_field(text: &str) -> Option<String> {
    id_field(text, "message-id")
}

/// The first message id in a field called `field` (lower-case), unfolded.
pub(super) fn id_field(text: &str, field: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start_matches(['>', ' ', '\t']);
        let Some((name, value)) = trimmed.split_once(':') else { continue };
        if !name.trim().eq_ignore_ascii_case(field) {
            continue;
        }
        let mut value = value.to_owned();
        if !value.contains('>')
            && let Some(next) = lines.get(index + 1)
        {
            value.push(' ');
            value.push_str(next);
        }
        if let Some(id) = message_ids(&value).into_iter().next() {
            return Some(id);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_per_recipient_blocks() {
        let body = "Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; Ann@Example.com\r\n\
                    Original-Recipient: rfc822;ann@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
                    Diagnostic-Code: smtp; 550 5.1.1 <ann@example.com>:\r\n  Recipient address rejected\r\n\r\n\
                    Final-Recipient: rfc822; bob@example.com\r\nAction: delivered\r\nStatus: 2.0.0\r\n";
        let recipients = recipients(body);
        assert_eq!(recipients.len(), 2);
        assert_eq!(recipients[0].address.as_deref(), Some("ann@example.com"));
        assert_eq!(recipients[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(
            recipients[0].diagnostic.as_deref(),
            Some("550 5.1.1 <ann@example.com>: Recipient address rejected")
        );
        assert!(recipients[0].failed());
        assert!(!recipients[1].failed());
    }

    #[test]
    fn status_codes() {
        let table = [
            ("Status: 5.1.1", Some("5.1.1")),
            ("4.4.7 (delayed)", Some("4.4.7")),
            ("version 10.5.1.2", None),
            ("550 5.7.1 blocked", Some("5.7.1")),
            ("no code", None),
            ("5.1.1234", None),
        ];
        for (text, expected) in table {
            assert_eq!(status_code(text).as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn key_lines() {
        assert_eq!(
            key_line("Hello\n\n<ann@example.com>:\nhost mx said: 550 No such user\n").as_deref(),
            Some("host mx said: 550 No such user")
        );
        assert_eq!(key_line("Sent at 10:45 on 2024-01-01\nMailbox full").as_deref(), Some("Mailbox full"));
        assert_eq!(
            key_line("<ann@example.com>:\nSorry, no mailbox here by that name. (#5.1.1)").as_deref(),
            Some("Sorry, no mailbox here by that name. (#5.1.1)")
        );
    }

    #[test]
    fn addresses_skip_header_lines() {
        let text = "<Ann@Example.com>:\nMessage-ID: <123@mail.example.com>\nRCPT TO:<bob@example.org>: 550\n";
        assert_eq!(addresses_in(text), ["ann@example.com", "bob@example.org"]);
        assert_eq!(addresses_in("Empfänger:ünï@example.com é<carl@example.com>"), ["carl@example.com"]);
    }

    #[test]
    fn message_id_fields_unfold() {
        assert_eq!(message_id_field("Subject: x\nMessage-ID:\n <abc@host>\n").as_deref(), Some("abc@host"));
        assert_eq!(message_id_field("> Message-Id: <def@host>").as_deref(), Some("def@host"));
    }
}
