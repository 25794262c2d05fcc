//! Recognising bounces: mail servers telling us a mail we sent did not arrive.
//!
//! A proper RFC 3464 DSN (`multipart/report; report-type=delivery-status`,
//! or any `message/delivery-status` part) is a bounce whoever sent it: people
//! do not write those by hand. Everything else is judged on two conditions
//! together: the notice comes from a machine (MAILER-DAEMON, postmaster, a
//! null Return-Path, an Auto-Submitted header, "Mail Delivery System"), and
//! its subject or text reads like one of the failure notices the major mail
//! servers send (qmail, Exim, Postfix, Sendmail, Exchange, Gmail, Yahoo…).
//! Requiring both keeps a customer who writes "undeliverable" a customer,
//! and keeps an out-of-office reply a message.

use super::headers::{self, truncate_chars};
use super::{BounceReport, ParseOptions, body, dsn};
use mail_parser::{Message, MimeHeaders, PartType};
use rapport_core::Identity;
use rapport_core::intake::is_system_address;

/// Longest notice text kept, in characters.
const MAX_TEXT_CHARS: usize = 64 * 1024;
/// How much of the text the body patterns look at, in characters.
const SCAN_CHARS: usize = 16 * 1024;

/// Local parts of the mailboxes bounces come from.
const MACHINE_LOCAL_PARTS: &[&str] = &["mailer-daemon", "mailerdaemon", "mailer_daemon", "mail-daemon", "mdaemon", "postmaster"];

/// Display names of the mailboxes bounces come from.
const MACHINE_NAMES: &[&str] =
    &["mail delivery", "mailer-daemon", "mailer daemon", "postmaster", "mail administrator", "delivery subsystem", "mail system"];

/// Subjects of failure notices (lower-case fragments).
const SUBJECTS: &[&str] = &[
    "undeliverable",
    "undelivered mail",
    "returned mail",
    "mail delivery failed",
    "mail delivery failure",
    "delivery failure",
    "delivery status notification",
    "delivery notification",
    "delivery has failed",
    "delivery problem",
    "delivery error",
    "failure notice",
    "message not delivered",
    "not delivered:",
    "non-deliverable",
    "nondeliverable",
    "could not send message",
    "mail system error",
    "warning: could not send",
    "delayed mail",
    "delivery delayed",
    "unzustellbar",
    "nicht zustellbar",
    "non remis",
    "non distribuible",
    "no se puede entregar",
    "non recapitabile",
    "onbestelbaar",
];

/// Sentences the major mail servers put in their failure notices (lower-case).
const PHRASES: &[&str] = &[
    "this is the qmail-send program",
    "this message was created automatically by mail delivery software",
    "a message that you sent could not be delivered",
    "could not be delivered to one or more",
    "this is the mail system at host",
    "this is the postfix program",
    "i'm sorry to have to inform you that your message could not",
    "the original message was received at",
    "the following addresses had permanent fatal errors",
    "transcript of session follows",
    "delivery has failed to these recipients",
    "your message couldn't be delivered",
    "your message wasn't delivered",
    "your message could not be delivered",
    "delivery to the following recipient failed",
    "delivery to the following recipients failed",
    "delivery to the following recipient has been delayed",
    "the email account that you tried to reach does not exist",
    "address not found",
    "unable to deliver your message",
    "message could not be delivered",
    "could not be delivered",
    "was not delivered",
    "could not deliver",
    "permanent error",
    "user unknown",
    "unknown user",
    "no such user",
    "mailbox unavailable",
    "recipient address rejected",
    "delivery failed",
    "undeliverable",
    "has not yet been delivered",
    "message delivery has been delayed",
];

/// Lines after which a plain-text notice quotes the original message.
const ORIGINAL_MARKERS: &[&str] = &[
    "below this line is a copy of the message",
    "this is a copy of the message",
    "copy of the message's headers",
    "original message follows",
    "unsent message follows",
    "original message headers",
    "the header of the original message",
    "returned message",
    "original message --",
    "original message-",
];

/// The bounce report for a message, or `None` when it is not a bounce.
pub(super) fn detect(
    message: &Message<'_>,
    options: &ParseOptions,
    subject: &str,
    external_id: &str,
) -> Option<BounceReport> {
    let (from, from_name) = headers::from_address(message);
    let statuses = delivery_statuses(message);
    let full_text = body::bodies(message).text.replace("\r\n", "\n");
    let text = human_part(&full_text);
    let structured = is_report(message) || !statuses.is_empty();
    if !structured && !(machine_sender(message, from.as_deref(), from_name.as_deref()) && reads_like_bounce(subject, &text)) {
        return None;
    }

    let dsn_recipients: Vec<dsn::DsnRecipient> = statuses.iter().flat_map(|status| dsn::recipients(status)).collect();
    let failed: Vec<&dsn::DsnRecipient> = dsn_recipients.iter().filter(|recipient| recipient.failed()).collect();
    let original_from = originals(message).iter().find_map(|original| headers::from_address(original).0);
    let mut recipients: Vec<String> = Vec::new();
    for address in failed.iter().filter_map(|recipient| recipient.address.clone()) {
        if !recipients.contains(&address) {
            recipients.push(address);
        }
    }
    if recipients.is_empty() {
        // Exim names the failed addresses in a header of their own.
        for value in headers::raw_values(message, "X-Failed-Recipients") {
            for address in value.split(',').filter_map(|address| Identity::email(address.trim()).ok()) {
                if !recipients.contains(&address.value) {
                    recipients.push(address.value);
                }
            }
        }
    }
    if recipients.is_empty() {
        let not_recipient = |address: &String| {
            Some(address) == from.as_ref()
                || Some(address) == original_from.as_ref()
                || is_machine_address(address)
                || options.own_addresses.iter().any(|own| own.eq_ignore_ascii_case(address))
        };
        recipients = dsn::addresses_in(&text).into_iter().filter(|address| !not_recipient(address)).collect();
    }
    let reported = failed.first().copied().or_else(|| dsn_recipients.first());
    let status = reported.and_then(|recipient| recipient.status.clone()).or_else(|| dsn::status_code(&text));
    let diagnostic = reported.and_then(|recipient| recipient.diagnostic.clone()).or_else(|| dsn::key_line(&text));

    Some(BounceReport {
        original_message_id: original_message_id(message, &statuses, &full_text),
        recipients,
        status,
        diagnostic,
        reporter: from.unwrap_or_default(),
        subject: subject.to_owned(),
        text: truncate_chars(text.trim(), MAX_TEXT_CHARS),
        external_id: external_id.to_owned(),
    })
}

/// True for `multipart/report; report-type=delivery-status` at the top.
fn is_report(message: &Message<'_>) -> bool {
    message.parts.first().and_then(|part| part.content_type()).is_some_and(|content_type| {
        content_type.ctype().eq_ignore_ascii_case("multipart")
            && content_type.subtype().is_some_and(|subtype| subtype.eq_ignore_ascii_case("report"))
            && content_type.attribute("report-type").is_some_and(|kind| {
                kind.eq_ignore_ascii_case("delivery-status") || kind.eq_ignore_ascii_case("global-delivery-status")
            })
    })
}

/// The bodies of the message's `message/delivery-status` parts.
fn delivery_statuses(message: &Message<'_>) -> Vec<String> {
    message
        .parts
        .iter()
        .filter(|part| {
            part.content_type().is_some_and(|content_type| {
                content_type.ctype().eq_ignore_ascii_case("message")
                    && content_type.subtype().is_some_and(|subtype| {
                        subtype.eq_ignore_ascii_case("delivery-status")
                            || subtype.eq_ignore_ascii_case("global-delivery-status")
                    })
            })
        })
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.to_string()),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        })
        .collect()
}

/// The original messages attached to the notice (message/rfc822 parts).
fn originals<'a, 'x>(message: &'a Message<'x>) -> Vec<&'a Message<'x>> {
    message
        .parts
        .iter()
        .filter_map(|part| match &part.body {
            PartType::Message(original) => Some(original),
            _ => None,
        })
        .collect()
}

/// The Message-ID of the mail that bounced: from the attached original or
/// its headers (or the X-Original-Message-ID field some DSNs carry), else
/// from the notice's own In-Reply-To/References, else from a Message-ID line
/// quoted in the text.
fn original_message_id(message: &Message<'_>, statuses: &[String], full_text: &str) -> Option<String> {
    originals(message)
        .iter()
        .find_map(|original| headers::message_id(original))
        .or_else(|| {
            message.parts.iter().find_map(|part| match &part.body {
                PartType::Text(text) if is_rfc822_headers(part) => dsn::message_id_field(text),
                PartType::Binary(bytes) if is_rfc822_headers(part) => {
                    dsn::message_id_field(&String::from_utf8_lossy(bytes))
                }
                _ => None,
            })
        })
        .or_else(|| statuses.iter().find_map(|status| dsn::id_field(status, "x-original-message-id")))
        .or_else(|| headers::references(message).into_iter().next())
        .or_else(|| dsn::message_id_field(full_text))
}

/// True for a `text/rfc822-headers` part.
fn is_rfc822_headers(part: &mail_parser::MessagePart<'_>) -> bool {
    part.content_type().is_some_and(|content_type| {
        content_type.subtype().is_some_and(|subtype| subtype.eq_ignore_ascii_case("rfc822-headers"))
    })
}

/// The notice's own words: its text up to where it quotes the original.
fn human_part(text: &str) -> String {
    let mut kept = Vec::new();
    for line in text.lines() {
        let plain = line.trim().to_lowercase();
        if (plain.starts_with('-') || plain.starts_with("original message") || plain.starts_with("the header"))
            && ORIGINAL_MARKERS.iter().any(|marker| plain.contains(marker))
        {
            break;
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// True for the mailboxes notices come from and that never fail delivery
/// themselves.
fn is_machine_address(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or_default().to_ascii_lowercase();
    is_system_address(address)
        || MACHINE_LOCAL_PARTS.contains(&local.as_str())
        || local.starts_with("microsoftexchange")
}

/// True when the notice comes from a machine rather than a person.
fn machine_sender(message: &Message<'_>, from: Option<&str>, from_name: Option<&str>) -> bool {
    let auto_submitted = headers::raw_values(message, "Auto-Submitted")
        .first()
        .is_some_and(|value| !value.trim().eq_ignore_ascii_case("no"));
    let machine_name = from_name.is_some_and(|name| {
        let name = name.to_lowercase();
        MACHINE_NAMES.iter().any(|machine| name.contains(machine))
    });
    from.is_none_or(is_machine_address) || machine_name || auto_submitted || headers::null_return_path(message)
}

/// True when the subject or the start of the text reads like a failure notice.
fn reads_like_bounce(subject: &str, text: &str) -> bool {
    let subject = subject.to_lowercase();
    let start = truncate_chars(text, SCAN_CHARS).to_lowercase();
    SUBJECTS.iter().any(|pattern| subject.contains(pattern)) || PHRASES.iter().any(|phrase| start.contains(phrase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounce_subjects_and_texts() {
        let table = [
            ("Undeliverable: Your ticket [#12]", "", true),
            ("Delivery Status Notification (Failure)", "", true),
            ("failure notice", "", true),
            ("Mail delivery failed: returning message to sender", "", true),
            ("Undelivered Mail Returned to Sender", "", true),
            ("Unzustellbar: Ihre Anfrage", "", true),
            ("Hello", "Hi. This is the qmail-send program at mx.example.net.", true),
            ("Re: hello", "Address not found\n\nYour message wasn't delivered to ann@example.com", true),
            ("Automatic reply: Your ticket", "I am out of the office until Monday.", false),
            ("Out of Office", "I'm away with limited access to email.", false),
            ("Your invoice", "Please find attached.", false),
        ];
        for (subject, text, expected) in table {
            assert_eq!(reads_like_bounce(subject, text), expected, "{subject:?} / {text:?}");
        }
    }

    #[test]
    fn machine_addresses() {
        for address in ["mailer-daemon@example.com", "MAILER-DAEMON", "postmaster@example.org", "noreply@example.com"] {
            assert!(is_machine_address(address), "{address}");
        }
        assert!(is_machine_address("MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.com"));
        for address in ["ann@example.com", "support@example.com"] {
            assert!(!is_machine_address(address), "{address}");
        }
    }

    #[test]
    fn human_part_stops_at_the_quoted_original() {
        let text = "Hi. This is the qmail-send program.\n<ann@example.com>:\nNo mailbox here.\n\n\
                    --- Below this line is a copy of the message.\n\nMessage-ID: <x@y>\n";
        assert_eq!(human_part(text), "Hi. This is the qmail-send program.\n<ann@example.com>:\nNo mailbox here.\n");
    }
}
