//! The server's settings: [`ServerConfig`] and one struct per part (email,
//! the help pages, chat, each messaging provider, the background loop, the
//! listener). The binary's configuration validates its file and environment
//! into these; nothing here reads either.
//!
//! They live together, below every part that reads them, so that the state
//! every handler shares can hold them without depending on the handlers.

use std::time::Duration;

use rapport_channels::email::parse::ParseOptions;
use rapport_core::Secret;
use rapport_core::TeamId;
use rapport_core::intake::RateLimit;
use rapport_core::time::DAY;

/// The server's settings, validated by the binary's configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The largest request body accepted, in bytes (default 1 MiB).
    pub max_body_bytes: usize,
    /// The largest page a list returns (default 100).
    pub max_page_size: i64,
    /// How long after solving a ticket closes by itself, in ms (default 4 days).
    pub auto_close_after_ms: i64,
    /// Email in and out.
    pub mail: MailSettings,
    /// The public help pages: web form, magic links, sessions.
    pub portal: PortalSettings,
    /// Live chat: the widget and its sockets.
    pub chat: ChatSettings,
    /// Telegram, when configured.
    pub telegram: Option<TelegramSettings>,
    /// WhatsApp Cloud API, when configured.
    pub whatsapp: Option<WhatsappSettings>,
    /// Messenger and Instagram, when configured.
    pub messenger: Option<MessengerSettings>,
    /// Twilio (SMS and the phone), when configured.
    pub twilio: Option<TwilioSettings>,
    /// The service-level background loop.
    pub automation: AutomationSettings,
    /// Header-read timeout and the caps on connections and WebSockets.
    pub connections: ConnectionSettings,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1024 * 1024,
            max_page_size: 100,
            auto_close_after_ms: 4 * DAY,
            mail: MailSettings::default(),
            portal: PortalSettings::default(),
            chat: ChatSettings::default(),
            telegram: None,
            whatsapp: None,
            messenger: None,
            twilio: None,
            automation: AutomationSettings::default(),
            connections: ConnectionSettings::default(),
        }
    }
}

/// Email settings, validated by the binary's configuration.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The address customers write to; replies go out from it.
    pub address: String,
    /// The help desk's name on outgoing mail.
    pub from_name: String,
    /// Every address of ours (the main one, aliases, IMAP mailboxes), lower-case.
    pub own_addresses: Vec<String>,
    /// The value of our loop header.
    pub loop_id: String,
    /// Outgoing mail server; `None` leaves outgoing mail waiting in the outbox.
    pub smtp_url: Option<rapport_core::Secret>,
    /// Mail larger than this is refused.
    pub max_message_bytes: usize,
    /// Attachments larger than this are dropped (the text says so).
    pub max_attachment_bytes: usize,
    /// Acknowledge a person's first message with the ticket number.
    pub acknowledge: bool,
    /// The per-sender rate limit.
    pub rate_limit: RateLimit,
    /// How long a claimed outbox entry is reserved for the instance sending it;
    /// an instance killed mid-send leaves entries that are sent again after this.
    pub send_lease_ms: i64,
    /// How many of a ticket's followers (Cc) its replies are mailed to.
    pub max_followers: usize,
}

impl Default for MailSettings {
    fn default() -> MailSettings {
        MailSettings {
            address: "support@rapport.example".to_owned(),
            from_name: "Support".to_owned(),
            own_addresses: vec!["support@rapport.example".to_owned()],
            loop_id: "rapport".to_owned(),
            smtp_url: None,
            max_message_bytes: 25 * 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            acknowledge: true,
            rate_limit: RateLimit::default(),
            send_lease_ms: 5 * 60 * 1000,
            max_followers: rapport_store::DEFAULT_MAX_FOLLOWERS,
        }
    }
}

impl MailSettings {
    /// The domain of our address, for Message-IDs.
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map_or("rapport.invalid", |(_, domain)| domain)
    }

    pub(crate) fn parse_options(&self, team: Option<TeamId>) -> ParseOptions {
        ParseOptions {
            own_addresses: self.own_addresses.clone(),
            loop_id: self.loop_id.clone(),
            max_attachment_bytes: self.max_attachment_bytes,
            team,
        }
    }
}

/// Settings of the public help pages, validated by the binary's configuration.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    /// The address customers reach Rapport at, such as
    /// `https://support.example.com`; links in emails start with it.
    pub public_url: String,
    /// Web-form submissions (and link requests) per email address per hour.
    pub limit_per_address: i64,
    /// Web-form submissions (and link requests) per client address per hour.
    pub limit_per_ip: i64,
    /// How many days an emailed link works.
    pub link_valid_days: i64,
    /// How many days a session lasts once a link was followed.
    pub session_days: i64,
    /// Take the client address from the last `X-Forwarded-For` entry (behind
    /// a reverse proxy that sets it); otherwise from the connection.
    pub trust_forwarded_for: bool,
}

impl Default for PortalSettings {
    fn default() -> PortalSettings {
        PortalSettings {
            public_url: "http://127.0.0.1:8080".to_owned(),
            limit_per_address: 5,
            limit_per_ip: 20,
            link_valid_days: 7,
            session_days: 30,
            trust_forwarded_for: false,
        }
    }
}

impl PortalSettings {
    /// The link a customer follows for `secret`.
    pub(crate) fn link_url(&self, secret: &str) -> String {
        format!("{}/help/t/{secret}", self.public_url.trim_end_matches('/'))
    }

    /// Cookies are `Secure` when customers reach us over https.
    pub(crate) fn secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// Live-chat settings (`[chat]`).
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// Serve the widget and the chat sockets (default true).
    pub enabled: bool,
    /// Origins (`https://shop.example.com`) whose pages may open the visitor
    /// socket; `*` allows any. Empty (the default): pages on Rapport's own
    /// host only. Clients that send no `Origin` (not browsers) are allowed.
    pub allowed_origins: Vec<String>,
    /// How long a chat waits for an agent before it becomes a ticket answered
    /// by email (default 2 minutes). With no agent online it does at once.
    pub offline_after: Duration,
    /// How many chats an agent takes at once unless their own capacity is set (default 3).
    pub default_capacity: usize,
    /// How often the server pings each socket; one silent for two intervals
    /// is closed (default 30 s).
    pub ping_interval: Duration,
}

impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            enabled: true,
            allowed_origins: Vec::new(),
            offline_after: Duration::from_secs(120),
            default_capacity: 3,
            ping_interval: Duration::from_secs(30),
        }
    }
}

/// Telegram settings (`[telegram]` in the configuration).
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    /// The bot's token, for sending.
    pub bot_token: Secret,
    /// The `secret_token` given to `setWebhook`; every update must carry it.
    pub secret_token: Secret,
    /// The Bot API's address (a local stand-in in tests).
    pub api_base: String,
}

/// WhatsApp Cloud API settings (`[whatsapp]` in the configuration).
#[derive(Debug, Clone)]
pub struct WhatsappSettings {
    /// The Meta app's secret: every notification is signed with it.
    pub app_secret: Secret,
    /// The token Meta echoes in the subscription handshake.
    pub verify_token: Secret,
    /// A system user's access token with `whatsapp_business_messaging`, for sending and media.
    pub access_token: Secret,
    /// The business phone number's id (not the number itself).
    pub phone_number_id: String,
    /// The Graph API's address, with its version (a local stand-in in tests).
    pub api_base: String,
    /// The approved template sent outside the 24-hour window; without one,
    /// such replies fail.
    pub template: Option<TemplateSettings>,
}

/// An approved WhatsApp message template (`[whatsapp.template]`).
#[derive(Debug, Clone)]
pub struct TemplateSettings {
    /// Its name in WhatsApp Manager.
    pub name: String,
    /// Its language code, e.g. `en_US`.
    pub language: String,
    /// True when its body has one parameter (`{{1}}`) for the reply's text.
    pub text_parameter: bool,
}

/// Messenger and Instagram settings (`[messenger]` in the configuration).
#[derive(Debug, Clone)]
pub struct MessengerSettings {
    /// The Meta app's secret: every notification is signed with it.
    pub app_secret: Secret,
    /// The token Meta echoes in the subscription handshake.
    pub verify_token: Secret,
    /// The Page's access token (`pages_messaging`, and `instagram_manage_messages` for Instagram).
    pub page_access_token: Secret,
    /// The Graph API's address, with its version (a local stand-in in tests).
    pub api_base: String,
    /// The message tag replies outside the 24-hour window are sent with
    /// (normally `HUMAN_AGENT`); without one, such replies fail.
    pub message_tag: Option<String>,
}

/// Twilio settings (`[twilio]` in the configuration).
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    /// The account's sid (`AC…`), the user name of the REST API.
    pub account_sid: String,
    /// The account's auth token: signs every webhook, and the REST API's password.
    pub auth_token: Secret,
    /// Our Twilio number in E.164, which replies come from.
    pub from_number: String,
    /// The address Twilio reaches this server at (`https://support.example.com`),
    /// when a proxy stands in between; the signatures cover it. `None` uses
    /// the request's own `Host`.
    pub public_url: Option<String>,
    /// The REST API's address (a local stand-in in tests).
    pub api_base: String,
    /// The name of the `<Enqueue>` queue callers wait in.
    pub queue: String,
    /// After this long in the queue a caller is offered the voicemail.
    pub voicemail_after_secs: u32,
    /// The longest voicemail recorded.
    pub voicemail_max_secs: u32,
}

impl Default for TwilioSettings {
    fn default() -> Self {
        TwilioSettings {
            account_sid: String::new(),
            auth_token: Secret::default(),
            from_number: String::new(),
            public_url: None,
            api_base: "https://api.twilio.com".to_owned(),
            queue: "support".to_owned(),
            voicemail_after_secs: 120,
            voicemail_max_secs: 120,
        }
    }
}

impl TwilioSettings {
    /// The absolute URL of one of our hooks, when `public_url` is set; else
    /// the path alone (Twilio resolves relative TwiML URLs against the
    /// request's).
    pub fn hook_url(&self, path: &str) -> String {
        match &self.public_url {
            Some(base) => format!("{}{path}", base.trim_end_matches('/')),
            None => path.to_owned(),
        }
    }
}

/// How the background loop paces itself.
#[derive(Debug, Clone)]
pub struct AutomationSettings {
    /// Whether the loop runs at all (benchmarks of the bare write path turn it off).
    pub enabled: bool,
    /// How often it looks for work when idle.
    pub tick: Duration,
    /// Changed tickets measured per batch.
    pub batch: i64,
    /// Open tickets re-measured per sweep batch after a policy change.
    pub sweep_batch: i64,
    /// How often the timer pass evaluates the time-triggered rules.
    pub timer_every: Duration,
}

impl Default for AutomationSettings {
    fn default() -> Self {
        AutomationSettings {
            enabled: true,
            tick: Duration::from_millis(250),
            batch: 500,
            sweep_batch: 4000,
            timer_every: Duration::from_secs(5),
        }
    }
}

/// The limits on connections, from `[server]` in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// How long a client may take to send a request's headers, counted from
    /// when the server waits for them: a new connection that sends nothing,
    /// or a kept-alive one between requests, is closed after this long.
    pub header_read_timeout: Duration,
    /// Open connections from everyone together (WebSockets included).
    pub max_connections: usize,
    /// Open connections from one client address (IPv6: one /64).
    pub max_connections_per_address: usize,
    /// Open WebSockets (live chat) from everyone together.
    pub max_websockets: usize,
    /// Open WebSockets from one client address (after `X-Forwarded-For`
    /// when the portal trusts it).
    pub max_websockets_per_address: usize,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            header_read_timeout: Duration::from_secs(20),
            max_connections: 10_000,
            max_connections_per_address: 256,
            max_websockets: 8_000,
            max_websockets_per_address: 100,
        }
    }
}
