//! Recognising bounces: mail servers telling us a mail we sent did not arrive.
//!
//! A proper RFC 3464 DSN (`multipart/report; report-type=delivery-status`,
//! or any `message/delivery-status` part) is a bounce whoever sent it: people
//! do not write those by hand. Everything else is judged on two conditions
//! together: the notice comes from a machine, and its subject or text reads
//! like one of the failure notices the major mail servers send (qmail, Exim,
//! Postfix, Sendmail, Exchange, Gmail, Yahoo…). How much wording is needed
//! depends on how plainly the sender is a mail server: from MAILER-DAEMON,
//! postmaster or a null Return-Path, "could not be delivered" is enough; from
//! a merely automatic sender (Auto-Submitted, bulk, noreply) it takes a mail
//! server's own sentences, so a shop's "your parcel could not be delivered"
//! stays a message. A person is never a bounce: a customer who writes
//! "undeliverable" stays a customer, and an out-of-office reply a message.

use super::headers::{self, truncate_chars};
use super::{BounceReport, ParseOptions, dsn};
use mail_parser::{Message, MimeHeaders, PartType};
use rapport_core::Identity;
use rapport_core::intake::is_system_address;

/// Longest notice text kept, in characters.
const MAX_TEXT_CHARS: usize = 64 * 1024;
/// How much of the text the body patterns look at, in characters.
const SCAN_CHARS: usize = 16 * 1024;

/// Local parts of the mailboxes bounces come from.
const MACHINE_LOCAL_PARTS: &[&str] =
    &["mailer-daemon", "mailerdaemon", "mailer_daemon", "mail-daemon", "mdaemon", "postmaster"];

/// Display names of the mailboxes bounces come from.
const MACHINE_NAMES: &[&str] = &[
    "mail delivery",
    "mailer-daemon",
    "mailer daemon",
    "postmaster",
    "mail administrator",
    "system administrator",
    "delivery subsystem",
    "mail system",
];

/// Subjects only mail delivery notices have (lower-case fragments).
const SUBJECTS: &[&str] = &[
    "undeliverable:",
    "undelivered mail",
    "undelivered message",
    "returned mail",
    "mail delivery failed",
    "mail delivery failure",
    "delivery status notification",
    "failure notice",
    "message not delivered",
    "mail could not be delivered",
    "message could not be delivered",
    "non-deliverable",
    "nondeliverable",
    "non-delivery",
    "could not send message",
    "mail system error",
    "delayed mail",
    "failure delivery",
    "failed mail",
    "mail failed",
    "returning to sender",
    "rejected mail",
    "unzustellbar",
    "nicht zustellbar",
    "non remis",
    "non distribuible",
    "non recapitabile",
    "onbestelbaar",
    "не доставлено",
    "退信",
];

/// Subjects that could also be about a parcel: a notice only when the
/// sender is plainly a mail server.
const GENERIC_SUBJECTS: &[&str] = &[
    "undeliverable",
    "delivery failure",
    "delivery notification",
    "delivery has failed",
    "delivery problem",
    "delivery error",
    "delivery delayed",
    "delivery warning",
    "not delivered",
    "could not be delivered",
    "no se puede entregar",
];

/// Sentences of the major mail servers' failure notices (lower-case).
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
    "unable to deliver your message",
    "unable to deliver message",
    "non-delivery report",
    "message delivery has been delayed",
];

/// Words any failure notice may use, and so may a shop's parcel notice: a
/// bounce only when the sender is plainly a mail server.
const GENERIC_PHRASES: &[&str] = &[
    "address not found",
    "unable to deliver",
    "cannot be delivered",
    "could not be delivered",
    "was not delivered",
    "could not deliver",
    "a message that you sent",
    "mail has been returned",
    "was automatically rejected",
    "has been postponed",
    "has not yet been delivered",
    "permanent error",
    "user unknown",
    "unknown user",
    "no such user",
    "mailbox unavailable",
    "recipient address rejected",
    "delivery failed",
    "undeliverable",
    "无法发送",
];

/// Words of a rule line (starting with `-`, `=`, `|`, `*` or `_`) after
/// which a plain-text notice quotes the original message ("--- Below this
/// line is a copy of the message.", "---- Header of the source mail
/// attached ----").
const RULE_MARKERS: &[&str] = &[
    "copy of the message",
    "original message",
    "returned mail",
    "returned message",
    "unsent message",
    "message text follows",
    "source mail",
    "header of the",
    "headers of the",
    "lines of the message",
    "message follows",
];

/// Sentences that start the quoted original without a rule around them.
const PLAIN_MARKERS: &[&str] = &[
    "below this line is a copy of the message",
    "this is a copy of the message",
    "original message headers",
    "original message details",
    "original message follows",
    "original message as received",
    "lines of your original message",
    "returned message follows",
    "unsent message follows",
    "old message:",
];

/// The bounce report for a message (whose readable text is `body_text`), or
/// `None` when it is not a bounce.
pub(super) fn detect(
    message: &Message<'_>,
    body_text: &str,
    options: &ParseOptions,
    subject: &str,
    external_id: &str,
) -> Option<BounceReport> {
    let from_mailbox = headers::from_mailbox(message);
    let from = from_mailbox.as_ref().map(|mailbox| mailbox.address.clone()).filter(|address| !address.is_empty());
    let statuses = delivery_statuses(message);
    let full_text = body_text.replace("\r\n", "\n");
    let text = human_part(&full_text);
    let structured = is_report(message) || !statuses.is_empty();
    let notice = reads_like_bounce(machine(message, from_mailbox.as_ref()), subject, &text);
    if !structured && !notice {
        return None;
    }

    let dsn_recipients: Vec<dsn::DsnRecipient> = statuses.iter().flat_map(|status| dsn::recipients(status)).collect();
    let failed: Vec<&dsn::DsnRecipient> = dsn_recipients.iter().filter(|recipient| recipient.failed()).collect();
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
        // The notice goes back to the original sender: whoever it is
        // addressed to is not a failed recipient.
        let addressed_to = headers::recipients(message, None);
        let not_recipient = |address: &String| {
            Some(address) == from.as_ref()
                || addressed_to.contains(address)
                || is_machine_address(address)
                || options.own_addresses.iter().any(|own| own.eq_ignore_ascii_case(address))
        };
        recipients = dsn::addresses_in(&text).into_iter().filter(|address| !not_recipient(address)).collect();
    }
    let reported = failed.first().copied().or_else(|| dsn_recipients.first());
    let status = reported
        .and_then(|recipient| recipient.status.clone())
        .or_else(|| dsn::status_code(&text).filter(|code| !code.starts_with('2')));
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
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                Some(String::from_utf8_lossy(bytes).into_owned())
            }
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
        let markers = if plain.starts_with(['-', '|', '=', '*', '_']) { RULE_MARKERS } else { PLAIN_MARKERS };
        if plain.chars().count() < 120 && markers.iter().any(|marker| plain.contains(marker)) {
            break;
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// True for the mailboxes of mail servers (MAILER-DAEMON, postmaster,
/// Exchange's NDR sender).
fn is_mail_server(address: &str) -> bool {
    let local = address.rsplit_once('@').map_or(address, |(local, _)| local).to_lowercase();
    MACHINE_LOCAL_PARTS.iter().any(|machine| local.contains(machine))
        || MACHINE_NAMES.iter().any(|machine| local.contains(machine))
        || local.starts_with("microsoftexchange")
        || local == "ndr"
}

/// True for mailboxes that never are a failed recipient: mail servers and
/// system mailboxes (noreply and the like).
fn is_machine_address(address: &str) -> bool {
    is_mail_server(address) || is_system_address(address)
}

/// Header fields only delivery notices carry.
const NOTICE_FIELDS: &[&str] = &["X-Failed-Recipients", "X-MS-Exchange-Message-Is-Ndr", "X-DSNContext"];

/// How plainly a message comes from a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Machine {
    /// Nothing says so.
    No,
    /// Automatic, but not necessarily a mail server: Auto-Submitted, bulk
    /// precedence, a noreply sender.
    Automatic,
    /// A mail server: a MAILER-DAEMON or postmaster sender (or no usable one
    /// at all), "Mail Delivery System", a null or MAILER-DAEMON Return-Path,
    /// or a field only delivery notices carry.
    MailServer,
}

/// How plainly the message comes from a machine.
fn machine(message: &Message<'_>, from: Option<&headers::Mailbox>) -> Machine {
    let server_sender = from.is_none_or(|mailbox| {
        Identity::email(&mailbox.address).is_err()
            || is_mail_server(&mailbox.address)
            || mailbox.name.as_ref().is_some_and(|name| {
                let name = name.to_lowercase();
                MACHINE_NAMES.iter().any(|machine| name.contains(machine))
            })
    });
    let first = |name: &str| headers::raw_values(message, name).into_iter().next().map(|value| value.to_lowercase());
    let return_path = first("Return-Path").is_some_and(|value| {
        let address = value.trim().trim_start_matches('<').trim_end_matches('>');
        address.trim().is_empty() || is_mail_server(address)
    });
    let notice_field = NOTICE_FIELDS.iter().any(|name| !headers::raw_values(message, name).is_empty());
    if server_sender || return_path || notice_field {
        return Machine::MailServer;
    }
    let auto_submitted = first("Auto-Submitted").is_some_and(|value| value.trim() != "no");
    let bulk = first("Precedence").is_some_and(|value| ["bulk", "junk", "list"].contains(&value.trim()));
    let system = from.is_some_and(|mailbox| is_system_address(&mailbox.address));
    if auto_submitted || bulk || system { Machine::Automatic } else { Machine::No }
}

/// True when the subject or the start of the text reads like a failure
/// notice, for a message as plainly machine-made as `machine` says.
fn reads_like_bounce(machine: Machine, subject: &str, text: &str) -> bool {
    if machine == Machine::No {
        return false;
    }
    let subject = subject.to_lowercase();
    let start = truncate_chars(text, SCAN_CHARS).to_lowercase();
    let matches = |subjects: &[&str], phrases: &[&str]| {
        subjects.iter().any(|pattern| subject.contains(pattern)) || phrases.iter().any(|phrase| start.contains(phrase))
    };
    matches(SUBJECTS, PHRASES) || (machine == Machine::MailServer && matches(GENERIC_SUBJECTS, GENERIC_PHRASES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounce_subjects_and_texts() {
        use Machine::{Automatic, MailServer, No};
        let table = [
            (MailServer, "Undeliverable: Your ticket [#12]", "", true),
            (MailServer, "Delivery Status Notification (Failure)", "", true),
            (MailServer, "failure notice", "", true),
            (MailServer, "Mail delivery failed: returning message to sender", "", true),
            (MailServer, "Undelivered Mail Returned to Sender", "", true),
            (MailServer, "Unzustellbar: Ihre Anfrage", "", true),
            (MailServer, "Hello", "Hi. This is the qmail-send program at mx.example.net.", true),
            (MailServer, "Re: hello", "Address not found\n\nYour message wasn't delivered to ann@example.com", true),
            (MailServer, "Message could not be delivered", "User unknown", true),
            (Automatic, "Undeliverable: Re: hello", "", true),
            (Automatic, "Hello", "This message was created automatically by mail delivery software.", true),
            (Automatic, "Your parcel could not be delivered", "The courier could not deliver it.", false),
            (Automatic, "Undeliverable parcel", "", false),
            (Automatic, "Automatic reply: Your ticket", "I am out of the office until Monday.", false),
            (Automatic, "Out of Office", "I'm away with limited access to email.", false),
            (No, "Undeliverable: my parcel", "It could not be delivered. Delivery failed.", false),
            (MailServer, "Your invoice", "Please find attached.", false),
        ];
        for (machine, subject, text, expected) in table {
            assert_eq!(reads_like_bounce(machine, subject, text), expected, "{machine:?} {subject:?} / {text:?}");
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
