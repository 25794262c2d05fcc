//! The outbox worker: claims due entries, renders them for their channel and
//! hands them over (email: SMTP), then records the outcome. Sending is at
//! least once: an entry is marked sent only after the next hop accepted it, so
//! a crash in between sends it again, with the same Message-ID. A reply's
//! files are read from its message at send time and go out with it: MIME
//! parts by email, each provider's media upload on messaging channels.
//!
//! A worker claims only entries on channels it can send on. The others wait,
//! queued, without spending attempts, marked with why (`waiting: no SMTP
//! server is configured (email.smtp_url)`), and go out once an instance with
//! that channel configured runs: a missing setting is not a failed send.

use std::time::Duration;

use rapport_channels::email::outbound::{Automatic, Mailbox, OutboundAttachment, OutboundEmail, render};
use rapport_channels::email::smtp::{SendError, SmtpSender};
use rapport_channels::telegram::TelegramSender;
use rapport_core::outbox::{self, OutboundPayload};
use rapport_core::{Channel, IdentityKind, TicketId, Timestamp};
use rapport_store::{OutboxItem, SendOutcome, Store};
use tokio::sync::watch;

use crate::settings::MailSettings;
use crate::state::Clock;

/// How many entries one claim takes.
const BATCH: i64 = 16;
/// How often an idle worker looks for due entries.
const IDLE: Duration = Duration::from_millis(250);
/// How often entries that wait for an unconfigured channel are marked with why.
const MARK_WAITING: Duration = Duration::from_secs(5);

/// The configured ways out; a channel without one waits in the outbox.
pub struct Senders {
    /// Where now comes from: claims, leases and the Date of an email.
    pub clock: Clock,
    /// Email settings (our address, loop id, lease).
    pub mail: MailSettings,
    /// The live-chat hub (chat replies go to the visitor's socket), when chat is enabled.
    pub chat: Option<crate::chat::hub::Hub>,
    /// The SMTP server, if configured.
    pub smtp: Option<SmtpSender>,
    /// The Telegram bot, if configured.
    pub telegram: Option<TelegramSender>,
    /// The WhatsApp Cloud API, if configured.
    pub whatsapp: Option<crate::hooks::whatsapp::WhatsappOutbound>,
    /// Messenger and Instagram, if configured.
    pub messenger: Option<crate::hooks::messenger::MessengerOutbound>,
    /// Twilio's Messages API (SMS, and replies on phone tickets), if configured.
    pub sms: Option<crate::hooks::twilio::sms::TwilioOutbound>,
}

impl Senders {
    /// What the configuration lacks for sending on `channel`, or `None` when
    /// this instance can send on it.
    pub fn missing(&self, channel: Channel) -> Option<&'static str> {
        match channel {
            // Web-form and API customers are answered by email.
            Channel::Email | Channel::Web | Channel::Api => {
                self.smtp.is_none().then_some("no SMTP server is configured (email.smtp_url)")
            }
            Channel::Telegram => self.telegram.is_none().then_some("Telegram is not configured ([telegram] bot_token)"),
            Channel::Whatsapp => self.whatsapp.is_none().then_some("WhatsApp is not configured ([whatsapp])"),
            Channel::Messenger | Channel::Instagram => {
                self.messenger.is_none().then_some("Messenger and Instagram are not configured ([messenger])")
            }
            Channel::Chat => self.chat.is_none().then_some("live chat is disabled ([chat] enabled = false)"),
            // A reply on a phone ticket reaches the caller as an SMS.
            Channel::Sms | Channel::Phone => self.sms.is_none().then_some("Twilio is not configured ([twilio])"),
        }
    }

    /// The channels this instance can send on.
    pub fn ready(&self) -> Vec<Channel> {
        Channel::ALL.into_iter().filter(|channel| self.missing(*channel).is_none()).collect()
    }

    /// The channels it cannot send on, each with what the configuration lacks.
    pub fn waiting(&self) -> Vec<(Channel, String)> {
        Channel::ALL
            .into_iter()
            .filter_map(|channel| self.missing(channel).map(|missing| (channel, missing.to_owned())))
            .collect()
    }
}

/// Sends outbox entries until `stopped` changes.
pub async fn run(store: Store, senders: Senders, mut stopped: watch::Receiver<bool>) {
    let settings = &senders.mail;
    if let Some(smtp) = &senders.smtp {
        tracing::info!(server = smtp.server(), "sending outgoing mail");
    }
    let ready = senders.ready();
    let waiting = senders.waiting();
    let mut marked_at: Option<tokio::time::Instant> = None;
    loop {
        if !waiting.is_empty() && marked_at.is_none_or(|at| at.elapsed() >= MARK_WAITING) {
            marked_at = Some(tokio::time::Instant::now());
            mark_waiting(&store, &waiting, senders.clock.now()).await;
        }
        let items = match store.claim_outbox_on(&ready, senders.clock.now(), settings.send_lease_ms, BATCH).await {
            Ok(items) => items,
            Err(error) => {
                tracing::warn!(%error, "claiming outbox entries");
                Vec::new()
            }
        };
        if items.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(IDLE) => continue,
                _ = stopped.changed() => return,
            }
        }
        for item in items {
            let outcome = match files_of(&store, &item).await {
                Ok(files) => send(&senders, &item, &files).await,
                Err(error) => SendOutcome::Retry(format!("reading the reply's files: {error}")),
            };
            match &outcome {
                SendOutcome::Sent | SendOutcome::SentAs(_) => {
                    tracing::info!(id = item.id, message_id = %item.external_id, "sent")
                }
                SendOutcome::Retry(error) => {
                    tracing::warn!(id = item.id, attempts = item.attempts, %error, "send failed; will retry")
                }
                SendOutcome::Failed(error) => tracing::warn!(id = item.id, %error, "send failed for good"),
                SendOutcome::Waiting(missing) => {
                    tracing::info!(id = item.id, channel = %item.channel, missing, "waiting for the channel")
                }
            }
            if let Err(error) = store.finish_outbox(item.id, outcome, senders.clock.now()).await {
                // The lease runs out and the entry is sent again, with the same id.
                tracing::warn!(id = item.id, %error, "recording a send");
            }
        }
    }
}

/// The files of the entry's message, read at send time like its text
/// (the outbox row carries neither).
async fn files_of(store: &Store, item: &OutboxItem) -> Result<Vec<OutboundAttachment>, rapport_store::StoreError> {
    let Some(message) = item.message else { return Ok(Vec::new()) };
    let files = store.list_message_files(message).await?;
    Ok(files
        .into_iter()
        .map(|file| OutboundAttachment {
            filename: file.meta.filename,
            content_type: file.meta.content_type,
            content: file.content,
        })
        .collect())
}

/// Marks the entries that wait for a channel this instance cannot send on,
/// and says so in the log when new ones arrive.
async fn mark_waiting(store: &Store, waiting: &[(Channel, String)], now: Timestamp) {
    match store.update_outbox_waiting(waiting.to_vec(), now).await {
        Ok(marked) => {
            for (channel, count) in marked.into_iter().filter(|(_, count)| *count > 0) {
                let missing = waiting.iter().find(|(known, _)| *known == channel).map_or("", |(_, missing)| missing);
                tracing::warn!(%channel, messages = count, "outgoing messages wait: {missing}");
            }
        }
        Err(error) => tracing::warn!(%error, "marking outbox entries that wait for their channel"),
    }
}

/// Sends one entry, with its message's `files`, on its channel; an entry whose channel this instance
/// cannot send on is not tried ([`SendOutcome::Waiting`]).
pub async fn send(senders: &Senders, item: &OutboxItem, files: &[OutboundAttachment]) -> SendOutcome {
    let waiting = || {
        let missing = senders.missing(item.channel).unwrap_or("the channel is not configured");
        SendOutcome::Waiting(missing.to_owned())
    };
    match item.channel {
        Channel::Email | Channel::Web | Channel::Api => match &senders.smtp {
            Some(smtp) => send_email(&senders.mail, smtp, item, files, senders.clock.now()).await,
            None => waiting(),
        },
        Channel::Telegram => match &senders.telegram {
            Some(telegram) => send_telegram(telegram, item, files).await,
            None => waiting(),
        },
        Channel::Whatsapp => match &senders.whatsapp {
            Some(whatsapp) => whatsapp.send(item, files).await,
            None => waiting(),
        },
        Channel::Messenger | Channel::Instagram => match &senders.messenger {
            Some(messenger) => messenger.send(item, files).await,
            None => waiting(),
        },
        Channel::Chat => match &senders.chat {
            Some(hub) => crate::chat::deliver(hub, item),
            None => waiting(),
        },
        Channel::Sms | Channel::Phone => match &senders.sms {
            Some(sms) => sms.send(item, files).await,
            None => waiting(),
        },
    }
}

/// The text, then each file as a document (`sendDocument`).
async fn send_telegram(telegram: &TelegramSender, item: &OutboxItem, files: &[OutboundAttachment]) -> SendOutcome {
    let Some(recipient) = item.payload.to.first() else {
        return SendOutcome::Failed("the reply has no recipient".to_owned());
    };
    let mut sent = telegram.send(&recipient.identity, &item.payload.text).await;
    for file in files {
        if sent.is_err() {
            break;
        }
        sent = telegram.send_document(&recipient.identity, file).await;
    }
    match sent {
        Ok(()) => SendOutcome::Sent,
        Err(rapport_channels::telegram::SendError::Transient(error)) => SendOutcome::Retry(error),
        Err(rapport_channels::telegram::SendError::Permanent(error)) => SendOutcome::Failed(error),
    }
}

/// Renders and sends one email, its files as MIME parts.
async fn send_email(
    settings: &MailSettings,
    smtp: &SmtpSender,
    item: &OutboxItem,
    files: &[OutboundAttachment],
    now: Timestamp,
) -> SendOutcome {
    let email = match email_for(settings, &item.external_id, &item.payload) {
        Ok(email) => OutboundEmail { attachments: files.to_vec(), ..email },
        Err(error) => return SendOutcome::Failed(error),
    };
    let raw = match render(&email, now) {
        Ok(raw) => raw,
        Err(error) => return SendOutcome::Failed(error.to_string()),
    };
    let recipients: Vec<String> =
        email.to.iter().chain(email.cc.iter()).map(|mailbox| mailbox.address.clone()).collect();
    // RFC 3834 §3.3 suggests the null envelope sender for automatic mail. We
    // use our own address instead: some relays refuse `MAIL FROM:<>` from
    // clients, and a bounce of an acknowledgment that comes back to us is
    // recognised as a bounce and attached to its ticket, never answered.
    match smtp.send(&settings.address, &recipients, &raw).await {
        Ok(()) => SendOutcome::Sent,
        Err(SendError::Permanent(error)) => SendOutcome::Failed(error),
        Err(SendError::Transient(error)) => SendOutcome::Retry(error),
    }
}

/// Turns a channel-neutral payload into an email from our address.
pub fn email_for(
    settings: &MailSettings,
    message_id: &str,
    payload: &OutboundPayload,
) -> Result<OutboundEmail, String> {
    let mailboxes = |recipients: &[outbox::Recipient]| -> Vec<Mailbox> {
        recipients
            .iter()
            .filter(|recipient| recipient.identity.kind == IdentityKind::Email)
            .map(|recipient| Mailbox::new(recipient.name.clone(), recipient.identity.value.clone()))
            .collect()
    };
    let to = mailboxes(&payload.to);
    if to.is_empty() {
        return Err("the customer has no email address to answer".to_owned());
    }
    let from_name = match &payload.author_name {
        Some(author) => format!("{author} ({})", settings.from_name),
        None => settings.from_name.clone(),
    };
    Ok(OutboundEmail {
        message_id: message_id.to_owned(),
        from: Mailbox::new(Some(from_name), settings.address.clone()),
        reply_to: payload.ticket.map(|ticket| reply_address(&settings.address, ticket)),
        to,
        cc: mailboxes(&payload.cc),
        subject: payload.subject.clone(),
        in_reply_to: payload.in_reply_to.clone(),
        references: payload.references.clone(),
        text: payload.text.clone(),
        html: payload.html.clone(),
        automatic: payload.automatic.map(|automatic| match automatic {
            outbox::Automatic::AutoReplied => Automatic::AutoReplied,
            outbox::Automatic::AutoGenerated => Automatic::AutoGenerated,
        }),
        loop_id: settings.loop_id.clone(),
        attachments: Vec::new(),
    })
}

/// `support+42@example.com`: the ticket token in the reply address.
pub fn reply_address(address: &str, ticket: TicketId) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{ticket}@{domain}"),
        None => address.to_owned(),
    }
}
