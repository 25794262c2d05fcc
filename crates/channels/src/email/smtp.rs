//! Sending rendered mail over SMTP.
//!
//! [`SmtpSender`] hands the stored bytes to the server exactly as
//! [`super::outbound::render`] produced them, so the Message-ID a resend
//! carries is the one stored before the first attempt. It decides nothing
//! about retries: it only says whether a failure is worth retrying
//! ([`SendError::Transient`]) or final ([`SendError::Permanent`]).
//!
//! The server is one URL, so the whole setting is one config value:
//!
//! - `smtp://[user:pass@]host[:port]`: plain SMTP, port 25 by default. No
//!   STARTTLS, even when offered: for a relay on localhost or a private
//!   network, where a certificate could not be checked anyway.
//! - `smtp://...?tls=required`: STARTTLS, refusing to go on without it
//!   (port 587 by default). `?tls=opportunistic` upgrades only when offered.
//! - `smtps://[user:pass@]host[:port]`: TLS from the first byte (port 465).
//!
//! User and password are percent-decoded. Errors name what is wrong in the
//! URL and never repeat the password.

use std::fmt;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::{self, PoolConfig};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use url::Url;

/// How long one SMTP step (connect, a command, the data) may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Sends raw messages to one SMTP server, reusing connections.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The URL without its password, for logs.
    server: String,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSender").field("server", &self.server).finish_non_exhaustive()
    }
}

/// What is wrong with an SMTP URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpConfigError {
    /// The text does not parse as a URL.
    #[error("the SMTP URL does not parse: {0}")]
    NotAUrl(String),
    /// Neither `smtp` nor `smtps`.
    #[error("the SMTP URL must start with smtp:// or smtps://, not {0}:")]
    Scheme(String),
    /// No host after the scheme.
    #[error("the SMTP URL has no host")]
    MissingHost,
    /// A user without a password, or a password without a user.
    #[error("the SMTP URL must give both a user and a password, or neither")]
    PartialCredentials,
    /// User or password is not UTF-8 once percent-decoded.
    #[error("the SMTP URL's {0} is not valid UTF-8 once percent-decoded")]
    Encoding(&'static str),
    /// A `tls` value other than the three known ones.
    #[error("the SMTP URL's tls parameter must be none, opportunistic or required, not {0:?}")]
    TlsMode(String),
    /// `tls=` on an `smtps://` URL, which is always TLS.
    #[error("the SMTP URL's tls parameter only applies to smtp://; smtps:// is always TLS")]
    TlsOnSmtps,
    /// A query parameter other than `tls`.
    #[error("the SMTP URL has an unknown parameter {0:?} (only tls is known)")]
    UnknownParameter(String),
    /// Anything after the port.
    #[error("the SMTP URL must not have a path, but has {0:?}")]
    Path(String),
    /// The TLS client could not be set up for this host.
    #[error("setting up TLS for {host}: {message}")]
    TlsSetup {
        /// The server's host name.
        host: String,
        /// What the TLS library said.
        message: String,
    },
    /// The sender keeps a connection pool, which lives on the Tokio runtime.
    #[error("SmtpSender::from_url must be called inside a Tokio runtime")]
    NoRuntime,
}

/// Why a send failed, and so whether to try again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A 4xx reply, no usable connection, or a configuration problem
    /// (authentication, TLS): try again later.
    #[error("temporary SMTP failure: {0}")]
    Transient(String),
    /// A 5xx reply to the message: mark it failed.
    #[error("permanent SMTP failure: {0}")]
    Permanent(String),
}

impl SendError {
    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

impl SmtpSender {
    /// A sender for the server named by `url` (see the module docs). Does not
    /// connect: a wrong host or password shows on the first send.
    ///
    /// Must be called inside a Tokio runtime, where the connection pool runs.
    pub fn from_url(url: &str) -> Result<SmtpSender, SmtpConfigError> {
        let url = Url::parse(url).map_err(|error| SmtpConfigError::NotAUrl(error.to_string()))?;
        if !matches!(url.scheme(), "smtp" | "smtps") {
            return Err(SmtpConfigError::Scheme(url.scheme().to_owned()));
        }
        let host = url.host_str().filter(|host| !host.is_empty()).ok_or(SmtpConfigError::MissingHost)?;
        // IPv6 hosts come bracketed; lettre wants the bare address.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        if !matches!(url.path(), "" | "/") {
            return Err(SmtpConfigError::Path(url.path().to_owned()));
        }
        let mut tls_mode = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" => tls_mode = Some(value.into_owned()),
                _ => return Err(SmtpConfigError::UnknownParameter(key.into_owned())),
            }
        }
        let tls_parameters = || {
            TlsParameters::new(host.clone())
                .map_err(|error| SmtpConfigError::TlsSetup { host: host.clone(), message: error.to_string() })
        };
        let (tls, default_port) = match (url.scheme(), tls_mode.as_deref()) {
            ("smtp", None | Some("none")) => (Tls::None, 25),
            ("smtp", Some("opportunistic")) => (Tls::Opportunistic(tls_parameters()?), 587),
            ("smtp", Some("required")) => (Tls::Required(tls_parameters()?), 587),
            ("smtp", Some(other)) => return Err(SmtpConfigError::TlsMode(other.to_owned())),
            ("smtps", None) => (Tls::Wrapper(tls_parameters()?), 465),
            ("smtps", Some(_)) => return Err(SmtpConfigError::TlsOnSmtps),
            (other, _) => return Err(SmtpConfigError::Scheme(other.to_owned())),
        };
        let port = url.port().unwrap_or(default_port);

        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(TIMEOUT))
            .pool_config(PoolConfig::new().max_size(4).idle_timeout(Duration::from_secs(60)));
        match (url.username(), url.password()) {
            ("", None) => {}
            (user, Some(password)) if !user.is_empty() => {
                let user = decode(user).ok_or(SmtpConfigError::Encoding("user"))?;
                let password = decode(password).ok_or(SmtpConfigError::Encoding("password"))?;
                builder = builder.credentials(Credentials::new(user, password));
            }
            _ => return Err(SmtpConfigError::PartialCredentials),
        }
        // Building starts the pool's cleanup task, which panics outside a runtime.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SmtpConfigError::NoRuntime);
        }
        let server = match url.username() {
            "" => format!("{}://{host}:{port}", url.scheme()),
            user => format!("{}://{user}:***@{host}:{port}", url.scheme()),
        };
        Ok(SmtpSender { transport: builder.build(), server })
    }

    /// The server, with any password masked.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends `raw` unchanged, from `envelope_from` (the empty string is the
    /// null sender `<>`) to every address in `recipients`.
    pub async fn send(&self, envelope_from: &str, recipients: &[String], raw: &[u8]) -> Result<(), SendError> {
        let envelope = envelope(envelope_from, recipients)?;
        // lettre ends the data with CRLF "." CRLF whatever came before, so a
        // message whose last line already ends with CRLF would arrive with an
        // extra blank line. Without that CRLF, the server stores `raw` exactly.
        let data = raw.strip_suffix(b"\r\n").unwrap_or(raw);
        match self.transport.send_raw(&envelope, data).await {
            Ok(_) => Ok(()),
            Err(error) => Err(classify(&error)),
        }
    }
}

fn envelope(envelope_from: &str, recipients: &[String]) -> Result<Envelope, SendError> {
    let from =
        match envelope_from {
            "" => None,
            address => Some(address.parse::<Address>().map_err(|_| {
                SendError::Permanent(format!("the envelope sender {address:?} is not a valid address"))
            })?),
        };
    let to = recipients
        .iter()
        .map(|recipient| {
            recipient
                .parse::<Address>()
                .map_err(|_| SendError::Permanent(format!("the recipient {recipient:?} is not a valid address")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(from, to).map_err(|_| SendError::Permanent("the message has no recipients".to_owned()))
}

/// A 5xx reply to our message is final. Everything else may pass, so it is
/// retried until the outbox gives up: 4xx replies, refused or dropped
/// connections, timeouts, TLS trouble, and the authentication refusals of
/// RFC 4954 (530, 534, 535, 538), which are 5xx but say the configuration is
/// wrong, not the message; failing every queued mail for a wrong password
/// would lose them all before anyone could fix it. Client-side refusals
/// (STARTTLS or AUTH not offered) are configuration problems too.
fn classify(error: &smtp::Error) -> SendError {
    let message = describe(error);
    let authentication = error.status().is_some_and(|code| matches!(u16::from(code), 530 | 534 | 535 | 538));
    if error.is_permanent() && !authentication { SendError::Permanent(message) } else { SendError::Transient(message) }
}

/// lettre's message plus its causes ("network error: Connection refused").
fn describe(error: &smtp::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

fn decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text).decode_utf8().ok().map(|text| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(url: &str) -> SmtpConfigError {
        SmtpSender::from_url(url).unwrap_err()
    }

    #[tokio::test]
    async fn urls_choose_tls_and_port() {
        let cases = [
            ("smtp://mail.example", "smtp://mail.example:25"),
            ("smtp://mail.example:2525", "smtp://mail.example:2525"),
            ("smtp://mail.example?tls=required", "smtp://mail.example:587"),
            ("smtp://mail.example?tls=opportunistic", "smtp://mail.example:587"),
            ("smtps://mail.example", "smtps://mail.example:465"),
            ("smtps://ada:s%40cret@mail.example", "smtps://ada:***@mail.example:465"),
            ("smtp://127.0.0.1:2525/", "smtp://127.0.0.1:2525"),
        ];
        for (url, server) in cases {
            let sender = SmtpSender::from_url(url).unwrap();
            assert_eq!(sender.server(), server);
            assert!(!format!("{sender:?}").contains("cret"));
        }
    }

    #[tokio::test]
    async fn bad_urls_say_what_is_wrong_without_the_password() {
        assert!(matches!(error("mail.example"), SmtpConfigError::NotAUrl(_)));
        assert_eq!(error("mail.example:25"), SmtpConfigError::Scheme("mail.example".into()));
        assert_eq!(error("http://mail.example"), SmtpConfigError::Scheme("http".into()));
        assert_eq!(error("smtp://ada:hunter2@mail.example?tls=maybe"), SmtpConfigError::TlsMode("maybe".into()));
        assert_eq!(error("smtps://mail.example?tls=required"), SmtpConfigError::TlsOnSmtps);
        assert_eq!(error("smtp://mail.example?timeout=3"), SmtpConfigError::UnknownParameter("timeout".into()));
        assert_eq!(error("smtp://ada@mail.example"), SmtpConfigError::PartialCredentials);
        assert_eq!(error("smtp://mail.example/helo"), SmtpConfigError::Path("/helo".into()));
        assert_eq!(error("smtp://ada:%FF@mail.example"), SmtpConfigError::Encoding("password"));
        for url in ["smtp://ada:hunter2@mail.example?tls=maybe", "smtp://ada:hunter2@:25", "smtq://ada:hunter2@x"] {
            let message = error(url).to_string();
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn building_outside_a_runtime_is_an_error_not_a_panic() {
        assert_eq!(error("smtp://mail.example"), SmtpConfigError::NoRuntime);
    }

    #[test]
    fn envelopes_need_valid_addresses() {
        assert!(envelope("", &["a@b.example".into()]).unwrap().from().is_none());
        assert!(envelope("bounce@acme.example", &[]).unwrap_err().is_permanent());
        assert!(envelope("not an address", &["a@b.example".into()]).unwrap_err().is_permanent());
        assert!(envelope("x@acme.example", &["a@b.example\r\nRCPT TO:<evil@x>".into()]).unwrap_err().is_permanent());
    }
}
