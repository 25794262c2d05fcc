//! The background work of a running server, beside the requests it answers:
//! the outbox worker that sends replies ([`outbox`]), the service-level loop
//! ([`automation`]), the sweeper that auto-closes solved tickets
//! ([`sweeper`]), the release of replies whose undo window ended
//! ([`release`]), and email intake ([`mail`]), which `rapport mailgate`, the
//! IMAP poller and the benchmark call to file a raw message.
//!
//! Every worker reads time from the state's clock and stops when the server
//! does; each is safe to run on several instances at once.

pub mod automation;
pub mod mail;
pub mod outbox;
pub mod release;
pub mod sweeper;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chat::hub::Hub;
use crate::hooks::messenger::MessengerOutbound;
use crate::hooks::twilio::sms::TwilioOutbound;
use crate::hooks::whatsapp::WhatsappOutbound;
use crate::state::AppState;

/// The running workers, to wait for once the server stops.
pub struct Workers {
    outbox: JoinHandle<()>,
    automation: JoinHandle<()>,
    sweeper: JoinHandle<()>,
    release: JoinHandle<()>,
}

/// Starts the workers of one instance; they stop when `stopped` changes.
/// Chat replies go to `hub`'s sockets, whose timers (a chat that waits too
/// long goes to email) run here too.
pub fn start(state: &AppState, hub: &Hub, stopped: watch::Receiver<bool>) -> anyhow::Result<Workers> {
    let smtp = match &state.config.mail.smtp_url {
        Some(url) => Some(rapport_channels::email::smtp::SmtpSender::from_url(url.expose()).context("email.smtp_url")?),
        None => None,
    };
    let telegram = state.config.telegram.as_ref().map(|telegram| {
        rapport_channels::telegram::TelegramSender::new(&telegram.api_base, telegram.bot_token.expose())
    });
    let whatsapp = state
        .config
        .whatsapp
        .as_ref()
        .map(|settings| WhatsappOutbound::new(settings, state.store.clone(), state.clock.clone()));
    let messenger = state
        .config
        .messenger
        .as_ref()
        .map(|settings| MessengerOutbound::new(settings, state.store.clone(), state.clock.clone()));
    let chat = state.config.chat.enabled.then(|| hub.clone());
    let sms = state.config.twilio.as_ref().map(|settings| TwilioOutbound::new(settings, state.clock.clone()));
    // The worker runs even when no channel can send: it marks what waits, and why.
    let senders = outbox::Senders {
        clock: state.clock.clone(),
        mail: state.config.mail.clone(),
        chat,
        smtp,
        telegram,
        whatsapp,
        messenger,
        sms,
    };
    let outbox = tokio::spawn(outbox::run(state.store.clone(), senders, stopped.clone()));
    // Chats that wait too long go to email; the task ends with the server.
    tokio::spawn(hub.clone().run_timers(stopped.clone()));
    let automation = tokio::spawn(automation::run(state.clone(), stopped.clone()));
    let release = tokio::spawn(release::run(state.clone(), stopped.clone()));
    let sweeper = tokio::spawn(sweeper::run(state.clone(), stopped));
    Ok(Workers { outbox, automation, sweeper, release })
}

impl Workers {
    /// Waits for every worker to end (they end when the server stops).
    pub async fn join(self) {
        if let Err(error) = self.release.await {
            tracing::warn!(%error, "the release of held replies ended abnormally");
        }
        if let Err(error) = self.sweeper.await {
            tracing::warn!(%error, "the auto-close sweeper ended abnormally");
        }
        if let Err(error) = self.automation.await {
            tracing::warn!(%error, "the service-level automation ended abnormally");
        }
        if let Err(error) = self.outbox.await {
            tracing::warn!(%error, "the outbox worker ended abnormally");
        }
    }
}
