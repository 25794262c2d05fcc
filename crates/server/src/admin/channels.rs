//! The channels (`/admin/channels`): each way customers reach the help desk
//! with its connection state, so an admin sees at a glance that one is down.
//! For each channel: whether replies on it can leave (and what to set when
//! they cannot), the customer messages of the last hour and the latest, the
//! replies waiting or failed in the outbox with the latest send error; and
//! for each source that brings messages in (an IMAP mailbox's polls, a
//! provider's webhooks) its last success and its last error with when.
//! Secrets are never part of the page: it reads no setting but whether a
//! section is there.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rapport_core::{Channel, Timestamp};
use rapport_store::{ChannelCheck, ChannelTraffic};

use crate::admin::Manager;
use crate::api::health::channel_readiness;
use crate::state::AppState;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, render};
use crate::workspace::view::When;

/// How a row reads at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Working: nothing failed since it last worked.
    Up,
    /// Its last check failed, or replies failed.
    Down,
    /// No sign of life yet.
    Idle,
    /// Not set up in the configuration, and nothing waits on it.
    Off,
}

impl Health {
    fn word(self) -> &'static str {
        match self {
            Health::Up => "Working",
            Health::Down => "Failing",
            Health::Idle => "No traffic yet",
            Health::Off => "Not set up",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Down => "down",
            Health::Idle | Health::Off => "idle",
        }
    }
}

/// One channel's row.
pub struct ChannelRow {
    name: String,
    sends: bool,
    detail: &'static str,
    received_last_hour: i64,
    last_received: Option<When>,
    waiting: i64,
    failed: i64,
    last_send_error: Option<String>,
    health: Health,
}

impl ChannelRow {
    fn health_word(&self) -> &'static str {
        self.health.word()
    }

    fn health_class(&self) -> &'static str {
        self.health.class()
    }
}

/// One source's row.
pub struct SourceRow {
    source: String,
    channel: String,
    last_ok: Option<When>,
    last_error: Option<String>,
    last_error_at: Option<When>,
    health: Health,
}

impl SourceRow {
    fn health_word(&self) -> &'static str {
        self.health.word()
    }

    fn health_class(&self) -> &'static str {
        self.health.class()
    }
}

#[derive(Template)]
#[template(path = "admin/channels.html")]
struct ChannelsPage {
    frame: Frame,
    channels: Vec<ChannelRow>,
    sources: Vec<SourceRow>,
}

/// A source is failing when its last error came after its last success.
pub fn source_health(check: &ChannelCheck) -> Health {
    match (check.last_ok_at, check.last_error_at) {
        (_, Some(error)) if check.last_ok_at.is_none_or(|ok| error >= ok) => Health::Down,
        (Some(_), _) => Health::Up,
        _ => Health::Idle,
    }
}

/// A channel is failing when replies on it failed or cannot leave while some
/// wait; not set up when it cannot send and nothing waits; working when it
/// carried messages; idle otherwise.
pub fn channel_health(sends: bool, traffic: &ChannelTraffic) -> Health {
    if traffic.failed > 0 || traffic.last_send_error.is_some() || (!sends && traffic.waiting > 0) {
        Health::Down
    } else if !sends {
        Health::Off
    } else if traffic.last_received_at.is_some() {
        Health::Up
    } else {
        Health::Idle
    }
}

/// "Email", "The web form", "WhatsApp".
fn label(channel: &str) -> String {
    let label =
        Channel::ALL.into_iter().find(|known| known.as_str() == channel).map_or("another channel", Channel::label);
    let mut chars = label.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `GET /admin/channels`.
pub async fn channels_page(
    State(state): State<AppState>,
    Manager(desk): Manager,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let now = state.now();
    let frame = Frame::build(&state, &desk, &headers, "Channels".to_owned(), Current::Admin("channels")).await?;
    let traffic = state.store.channel_traffic(now).await?;
    let checks = state.store.list_channel_checks().await?;
    let when = |at: Option<i64>| at.map(|at| When::of(Timestamp(at), now));
    let channels = channel_readiness(&state.config)
        .into_iter()
        .map(|readiness| {
            let found = traffic.iter().find(|traffic| traffic.channel == readiness.channel).cloned();
            let traffic = found.unwrap_or_default();
            ChannelRow {
                name: label(readiness.channel),
                sends: readiness.sends,
                detail: readiness.detail,
                received_last_hour: traffic.received_last_hour,
                last_received: traffic.last_received_at.map(|at| When::of(at, now)),
                waiting: traffic.waiting,
                failed: traffic.failed,
                health: channel_health(readiness.sends, &traffic),
                last_send_error: traffic.last_send_error,
            }
        })
        .collect();
    let sources = checks
        .iter()
        .map(|check| SourceRow {
            source: check.source.clone(),
            channel: label(&check.channel),
            last_ok: when(check.last_ok_at),
            last_error: check.last_error.clone(),
            last_error_at: when(check.last_error_at),
            health: source_health(check),
        })
        .collect();
    Ok(render(StatusCode::OK, &ChannelsPage { frame, channels, sources }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ok: Option<i64>, error: Option<i64>) -> ChannelCheck {
        ChannelCheck {
            source: "whatsapp".into(),
            channel: "whatsapp".into(),
            last_ok_at: ok,
            last_error: error.map(|_| "refused".into()),
            last_error_at: error,
        }
    }

    #[test]
    fn a_source_fails_when_its_last_error_is_its_latest_news() {
        assert_eq!(source_health(&check(None, None)), Health::Idle);
        assert_eq!(source_health(&check(Some(10), None)), Health::Up);
        assert_eq!(source_health(&check(Some(10), Some(5))), Health::Up, "it worked since");
        assert_eq!(source_health(&check(Some(10), Some(20))), Health::Down);
        assert_eq!(source_health(&check(None, Some(20))), Health::Down);
    }

    #[test]
    fn a_channel_fails_when_its_replies_do() {
        let quiet = ChannelTraffic::default();
        assert_eq!(channel_health(true, &quiet), Health::Idle);
        let busy = ChannelTraffic { last_received_at: Some(Timestamp(1)), ..ChannelTraffic::default() };
        assert_eq!(channel_health(true, &busy), Health::Up);
        let stuck = ChannelTraffic { waiting: 3, ..busy.clone() };
        assert_eq!(channel_health(false, &stuck), Health::Down, "replies wait with no way out");
        assert_eq!(channel_health(false, &busy), Health::Off, "not set up, nothing waiting");
        let failing = ChannelTraffic { last_send_error: Some("timeout".into()), ..busy };
        assert_eq!(channel_health(true, &failing), Health::Down);
    }
}
