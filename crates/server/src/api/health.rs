//! Liveness and readiness, for load balancers and orchestrators, and which
//! channels can send. No auth: they reveal whether the process and its
//! database answer, and which channels have a way out configured, never a
//! setting's value.
//!
//! A channel without its sender configured does not make the server unready:
//! its replies wait in the outbox until it is configured. `/readyz` says so,
//! `rapport serve` logs it at start, and the help pages read
//! [`can_send`] so that they never tell a customer a mail is on its way when
//! it can only wait.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_core::Channel;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::settings::ServerConfig;
use crate::state::AppState;

/// The health routes (at the root, not under `/api/v1`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// How the process or its database is doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDto {
    /// `ok`, or `unavailable` when the database does not answer.
    pub status: &'static str,
}

/// Whether the database answers, and which channels can send.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyDto {
    /// `ok`, or `unavailable` when the database does not answer.
    pub status: &'static str,
    /// Every channel, and whether its replies leave now or wait in the outbox.
    pub channels: Vec<ChannelReadiness>,
}

/// Whether replies on one channel leave now, and how, or why they wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChannelReadiness {
    /// The channel (`email`, `web`, `chat`, `whatsapp`, `telegram`,
    /// `messenger`, `instagram`, `sms`, `phone`, `api`).
    pub channel: &'static str,
    /// True when replies on it are handed to their next hop; false when they
    /// wait in the outbox until the channel is configured.
    pub sends: bool,
    /// How replies leave, or why they cannot and what to set.
    pub detail: &'static str,
}

/// What replies on `channel` need, and how they leave once they have it.
struct Way {
    configured: bool,
    via: &'static str,
    missing: &'static str,
}

fn way(config: &ServerConfig, channel: Channel) -> Way {
    let smtp = config.mail.smtp_url.is_some();
    const NO_SMTP: &str = "no SMTP server is configured: set email.smtp_url";
    match channel {
        Channel::Email => Way { configured: smtp, via: "by SMTP", missing: NO_SMTP },
        Channel::Web | Channel::Api => Way { configured: smtp, via: "by email, over SMTP", missing: NO_SMTP },
        Channel::Chat => Way {
            configured: config.chat.enabled,
            via: "to the visitor's chat window",
            missing: "live chat is disabled: set chat.enabled = true",
        },
        Channel::Telegram => Way {
            configured: config.telegram.is_some(),
            via: "through the Telegram Bot API",
            missing: "Telegram is not configured: set the [telegram] section",
        },
        Channel::Whatsapp => Way {
            configured: config.whatsapp.is_some(),
            via: "through the WhatsApp Cloud API",
            missing: "WhatsApp is not configured: set the [whatsapp] section",
        },
        Channel::Messenger | Channel::Instagram => Way {
            configured: config.messenger.is_some(),
            via: "through Meta's Send API",
            missing: "Messenger and Instagram are not configured: set the [messenger] section",
        },
        Channel::Sms | Channel::Phone => Way {
            configured: config.twilio.is_some(),
            via: "as SMS through Twilio",
            missing: "Twilio is not configured: set the [twilio] section",
        },
    }
}

/// Whether replies on `channel` leave now (rather than wait in the outbox).
pub fn can_send(config: &ServerConfig, channel: Channel) -> bool {
    way(config, channel).configured
}

/// Every channel, in [`Channel::ALL`] order, with whether it can send.
pub fn channel_readiness(config: &ServerConfig) -> Vec<ChannelReadiness> {
    Channel::ALL
        .into_iter()
        .map(|channel| {
            let way = way(config, channel);
            ChannelReadiness {
                channel: channel.as_str(),
                sends: way.configured,
                detail: if way.configured { way.via } else { way.missing },
            }
        })
        .collect()
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()), responses((status = 200, description = "Up", body = HealthDto)))]
async fn healthz() -> Json<HealthDto> {
    Json(HealthDto { status: "ok" })
}

/// The database answers; and which channels can send (a channel that cannot
/// keeps its replies in the outbox, and does not make the server unready).
#[utoipa::path(
    get, path = "/readyz", tag = "health", security(()),
    responses(
        (status = 200, description = "Ready", body = ReadyDto),
        (status = 503, description = "The database does not answer", body = ReadyDto),
    )
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<ReadyDto>) {
    let channels = channel_readiness(&state.config);
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(ReadyDto { status: "ok", channels })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(ReadyDto { status: "unavailable", channels }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_is_reported_once() {
        let report = channel_readiness(&ServerConfig::default());
        let names: Vec<&str> = report.iter().map(|entry| entry.channel).collect();
        let all: Vec<&str> = Channel::ALL.iter().map(|channel| channel.as_str()).collect();
        assert_eq!(names, all);
    }

    #[test]
    fn a_channel_without_its_sender_says_what_to_set() {
        let report = channel_readiness(&ServerConfig::default());
        let email = report.iter().find(|entry| entry.channel == "email").map(|entry| (entry.sends, entry.detail));
        assert_eq!(email, Some((false, "no SMTP server is configured: set email.smtp_url")));
        let chat = report.iter().find(|entry| entry.channel == "chat").map(|entry| entry.sends);
        assert_eq!(chat, Some(true), "chat is on by default");
    }
}
