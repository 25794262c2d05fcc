//! Email intake: the one function `rapport mailgate`, the IMAP poller and the
//! benchmark all call to file a raw message ([`file_email`]).
//!
//! It refuses oversize mail (with a notice to the sender and an alert for the
//! admin), keeps unparseable mail and our own mail come back in the
//! quarantine, attaches bounces to the message that bounced, and hands
//! everything else to the store's intake with an acknowledgment id when the
//! message deserves one. The decisions are core's; this is the adapter.

use rapport_channels::email::outbound::new_message_id;
use rapport_channels::email::parse::{ParsedEmail, parse, parse_delivered_to};
use rapport_core::intake::Noise;
use rapport_core::outbox::{Automatic, OutboundPayload, Recipient};
use rapport_core::{Channel, Identity, TeamId, Timestamp};
use rapport_store::{BounceFiling, FileInbound, Filed, QuarantineReason, Store, StoreError};

use crate::settings::MailSettings;

/// What became of one raw email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailOutcome {
    /// Filed by intake (on a ticket, as a duplicate, or in the quarantine).
    Filed(Filed),
    /// Over the size limit: refused, the sender told (unless automatic), the admin alerted.
    Refused {
        /// The message's size.
        size: usize,
        /// True when a notice went to the sender.
        notified: bool,
    },
}

/// How one message reached us, as far as the MTA or the mailbox says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// The team its new ticket goes to (`mailgate --team`, a mailbox's team).
    pub team: Option<TeamId>,
    /// The envelope recipient (`mailgate --recipient`, Postfix's
    /// `${recipient}`): a `support+42@` address in it threads the message onto
    /// ticket 42 whatever its To header says.
    pub recipient: Option<String>,
}

/// Files one raw email (see the module documentation). An `Err` means the
/// database could not be written: the caller must not acknowledge the mail
/// (mailgate exits with EX_TEMPFAIL, the poller leaves it unseen).
pub async fn file_email(
    store: &Store,
    settings: &MailSettings,
    raw: &[u8],
    team: Option<TeamId>,
    now: Timestamp,
) -> Result<EmailOutcome, StoreError> {
    file_delivered_email(store, settings, raw, Delivery { team, recipient: None }, now).await
}

/// [`file_email`] for a message whose [`Delivery`] the MTA told us more about.
pub async fn file_delivered_email(
    store: &Store,
    settings: &MailSettings,
    raw: &[u8],
    delivery: Delivery,
    now: Timestamp,
) -> Result<EmailOutcome, StoreError> {
    if raw.len() > settings.max_message_bytes {
        return refuse(store, settings, raw, now).await;
    }
    let options = settings.parse_options(delivery.team);
    let parsed = match parse_delivered_to(raw, &options, delivery.recipient.as_deref(), now) {
        Ok(parsed) => parsed,
        Err(error) => {
            let filed = store
                .quarantine(Channel::Email, QuarantineReason::Unparseable, error.to_string(), raw.to_vec(), now)
                .await?;
            return Ok(EmailOutcome::Filed(filed));
        }
    };
    let filed = match file_parsed(store, settings, raw, parsed, now).await {
        Ok(filed) => filed,
        // Intake refused what the parser produced (a rule of core's): keep it
        // whole for an admin rather than asking the MTA to retry for ever.
        Err(StoreError::Rejected(rejection)) => {
            let detail = format!("intake refused it: {rejection}");
            store.quarantine(Channel::Email, QuarantineReason::Unparseable, detail, raw.to_vec(), now).await?
        }
        Err(error) => return Err(error),
    };
    Ok(EmailOutcome::Filed(filed))
}

async fn file_parsed(
    store: &Store,
    settings: &MailSettings,
    raw: &[u8],
    parsed: ParsedEmail,
    now: Timestamp,
) -> Result<Filed, StoreError> {
    let filed = match parsed {
        ParsedEmail::Bounce(report) => {
            let failed = !report.status.as_deref().is_some_and(|status| status.starts_with('4'));
            let mut text = format!("Delivery report from {}: {}", report.reporter, report.subject);
            if !report.recipients.is_empty() {
                text.push_str(&format!("\nRecipients: {}", report.recipients.join(", ")));
            }
            if let Some(status) = &report.status {
                text.push_str(&format!("\nStatus: {status}"));
            }
            if let Some(diagnostic) = &report.diagnostic {
                text.push_str(&format!("\nDiagnostic: {diagnostic}"));
            }
            store
                .file_bounce(BounceFiling {
                    original_external_id: report.original_message_id,
                    external_id: report.external_id,
                    text,
                    failed,
                    raw: raw.to_vec(),
                    received_at: now,
                })
                .await?
        }
        ParsedEmail::Message(parsed) if parsed.noise == Noise::Loop => {
            let detail = format!("our own mail came back from {}", parsed.message.sender.value);
            store.quarantine(Channel::Email, QuarantineReason::Loop, detail, raw.to_vec(), now).await?
        }
        ParsedEmail::Message(parsed) => {
            let acknowledgment = settings.acknowledge.then(|| new_message_id(settings.domain()));
            store
                .file_inbound(FileInbound {
                    message: parsed.message,
                    raw: raw.to_vec(),
                    acknowledgment,
                    rate_limit: settings.rate_limit,
                })
                .await?
        }
    };
    Ok(filed)
}

/// Refuses an oversize message: the admin gets an alert, and the sender a
/// notice unless the mail was automatic (a notice to a robot starts a loop).
async fn refuse(
    store: &Store,
    settings: &MailSettings,
    raw: &[u8],
    now: Timestamp,
) -> Result<EmailOutcome, StoreError> {
    // Only the header section is read: the body is what is too large.
    let end = find_header_end(raw).unwrap_or(raw.len().min(64 * 1024));
    let mut head = raw[..end].to_vec();
    head.extend_from_slice(b"\r\n\r\n");
    let parsed = parse(&head, &settings.parse_options(None), now).ok();
    let sender = match &parsed {
        Some(ParsedEmail::Message(parsed)) => Some((parsed.message.clone(), parsed.noise)),
        _ => None,
    };
    let size = raw.len();
    let limit = settings.max_message_bytes;
    let from =
        sender.as_ref().map_or_else(|| "an unknown sender".to_owned(), |(message, _)| message.sender.value.clone());
    store
        .insert_alert(
            "email_oversize",
            format!("refused a {size}-byte email from {from}: over the {limit}-byte limit (email.max_message_bytes)"),
            now,
        )
        .await?;
    let Some((message, Noise::Person)) = sender else {
        return Ok(EmailOutcome::Refused { size, notified: false });
    };
    let payload = OutboundPayload {
        ticket: None,
        to: vec![Recipient { name: message.sender_name.clone(), identity: message.sender.clone() }],
        cc: Vec::new(),
        subject: format!("Your message was too large: {}", message.subject),
        in_reply_to: message.external_id.clone(),
        references: message.external_id.clone().into_iter().collect(),
        author_name: None,
        text: format!(
            "Hello,\n\nyour message \"{}\" was {} MB, more than the {} MB we can accept, so it was not delivered \
             to our team. Please send it again with smaller or fewer attachments, or share large files by link.\n",
            message.subject,
            size.div_ceil(1024 * 1024),
            limit / (1024 * 1024),
        ),
        html: None,
        automatic: Some(Automatic::AutoReplied),
    };
    store.enqueue_notice(Channel::Email, new_message_id(settings.domain()), payload, now).await?;
    Ok(EmailOutcome::Refused { size, notified: true })
}

fn find_header_end(raw: &[u8]) -> Option<usize> {
    let limit = raw.len().min(256 * 1024);
    let head = &raw[..limit];
    head.windows(4)
        .position(|window| window == b"\r\n\r\n")
        .or_else(|| head.windows(2).position(|window| window == b"\n\n"))
}

/// Our identity for an address (used to skip our own addresses as recipients).
pub fn is_own(settings: &MailSettings, identity: &Identity) -> bool {
    settings.own_addresses.iter().any(|own| own == &identity.value)
}

/// What an admin's re-run of a held email came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refiled {
    /// Filed (on a ticket, or found filed already): the message is resolved.
    Filed(Filed),
    /// Intake still cannot file it, for this reason; it stays held.
    StillQuarantined(QuarantineReason),
    /// Over `email.max_message_bytes`; it stays held.
    TooLarge,
    /// Not an email (a webhook body cannot be re-run), or no longer held.
    NotRetryable,
}

/// Runs a held email through intake again, as an admin's decision (the
/// storm limit does not hold it back a second time), and resolves it when it
/// files, recorded as done by `by`.
pub async fn refile_quarantined(
    store: &Store,
    settings: &MailSettings,
    id: i64,
    by: rapport_core::Actor,
    now: Timestamp,
) -> Result<Refiled, StoreError> {
    let item = store.get_quarantined(id).await?;
    if item.channel != Channel::Email || item.state != "held" {
        return Ok(Refiled::NotRetryable);
    }
    let raw = store.get_quarantined_raw(id).await?;
    let mut settings = settings.clone();
    settings.rate_limit.messages = u32::MAX;
    match file_email(store, &settings, &raw, None, now).await? {
        EmailOutcome::Filed(Filed::Quarantined { reason, .. }) => Ok(Refiled::StillQuarantined(reason)),
        EmailOutcome::Refused { .. } => Ok(Refiled::TooLarge),
        EmailOutcome::Filed(filed) => {
            if store.resolve_quarantined(id, filed.ticket(), by, now).await? {
                Ok(Refiled::Filed(filed))
            } else {
                Ok(Refiled::NotRetryable)
            }
        }
    }
}
