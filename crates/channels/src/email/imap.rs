//! Polling IMAP mailboxes for customer mail.
//!
//! One poll ([`poll_once`]) logs in, selects the folder, and for each unseen
//! message fetches its raw bytes with `BODY.PEEK[]` (which leaves it unseen),
//! hands them to the caller's `file` function, and marks the message `\Seen`
//! only once `file` has returned `Ok`. Nothing can be lost that way: a message
//! whose filing failed, or whose poll broke off, stays unseen and is fetched
//! again by the next poll. The price is that a message may be filed twice
//! (when marking it seen fails after filing, or a poll is cancelled while
//! filing), so filing must be idempotent; intake deduplicates on Message-ID.
//!
//! The poller keeps no state between polls (no UIDs, no UIDVALIDITY): the
//! `\Seen` flag on the server is the record of what was filed. A person reading
//! the same folder in a mail client would therefore hide mail from Rapport by
//! opening it; support mailboxes polled by Rapport are for Rapport alone.
//!
//! [`run_poller`] runs polls forever on an interval, with backoff for a
//! failing mailbox, until its shutdown future completes.

mod imap_url;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_imap::{Authenticator, Client};
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

pub use imap_url::{ImapTransport, ImapUrl, parse_imap_url};

/// How long to wait for a TCP connection and the TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one IMAP command may take, a FETCH of one large message included.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the XOAUTH2 token command may run.
const TOKEN_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest wait between polls of a mailbox that keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// How much of a failed token command's stderr goes into the error.
const STDERR_LIMIT: usize = 1000;

/// How Rapport logs in to a mailbox.
#[derive(Clone, PartialEq, Eq)]
pub enum ImapAuth {
    /// IMAP `LOGIN` with this password.
    Password(String),
    /// SASL `XOAUTH2` (Gmail, Microsoft 365) with an access token printed by
    /// `token_command`, run with `sh -c` before every login. Refreshing the
    /// token is that command's business (for example `oama access ADDRESS`).
    XOAuth2 { token_command: String },
}

impl fmt::Debug for ImapAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The command line may carry a client secret, so neither is shown.
        match self {
            ImapAuth::Password(_) => f.write_str("Password(<redacted>)"),
            ImapAuth::XOAuth2 { .. } => f.write_str("XOAuth2 { token_command: <redacted> }"),
        }
    }
}

/// One mailbox to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapMailbox {
    /// The support address this mailbox receives, used to name it in logs
    /// and errors.
    pub address: String,
    /// `imap://user@host[:port]/FOLDER` (plain, port 143) or
    /// `imaps://user@host[:port]/FOLDER` (implicit TLS, port 993); see
    /// [`parse_imap_url`].
    pub imap_url: String,
    pub auth: ImapAuth,
}

/// What one poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    /// Unseen messages whose bytes were fetched.
    pub fetched: usize,
    /// Messages filed and marked seen.
    pub filed: usize,
    /// Messages whose filing failed; they stay unseen for the next poll.
    pub failed: usize,
}

/// Why a poll failed. Each names the mailbox by its address and the step that
/// failed, and never carries a password or token.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("invalid IMAP URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("mailbox {address}: {reason}")]
    Config { address: String, reason: String },
    #[error("cannot set up TLS for IMAP: {reason}")]
    TlsSetup { reason: String },
    #[error("mailbox {address}: cannot connect to {server}: {reason}")]
    Connect { address: String, server: String, reason: String },
    #[error("mailbox {address}: TLS with {server} failed: {reason}")]
    Tls { address: String, server: String, reason: String },
    #[error("mailbox {address}: {server} did not greet as an IMAP server: {reason}")]
    Greeting { address: String, server: String, reason: String },
    #[error("mailbox {address}: the XOAUTH2 token command failed: {reason}")]
    TokenCommand { address: String, reason: String },
    #[error("mailbox {address}: {mechanism} login as {user:?} on {server} failed: {reason}")]
    Login { address: String, server: String, user: String, mechanism: &'static str, reason: String },
    #[error("mailbox {address}: cannot select folder {folder:?}: {reason}")]
    Select { address: String, folder: String, reason: String },
    #[error("mailbox {address}: searching folder {folder:?} for unseen messages failed: {reason}")]
    Search { address: String, folder: String, reason: String },
    #[error("mailbox {address}: fetching message UID {uid} from folder {folder:?} failed: {reason}")]
    Fetch { address: String, folder: String, uid: u32, reason: String },
    #[error(
        "mailbox {address}: message UID {uid} in folder {folder:?} was filed but could not be marked seen, \
         so the next poll files it again: {reason}"
    )]
    MarkSeen { address: String, folder: String, uid: u32, reason: String },
}

/// Which certificate authorities IMAPS servers are checked against.
#[derive(Clone)]
pub struct ImapTls {
    config: Arc<ClientConfig>,
}

impl fmt::Debug for ImapTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapTls").finish_non_exhaustive()
    }
}

impl ImapTls {
    /// Mozilla's root certificates (webpki-roots), as a browser would trust.
    pub fn webpki_roots() -> Result<ImapTls, ImapError> {
        Self::with_roots(RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() })
    }

    /// Mozilla's roots plus the PEM certificates given, for a server with a
    /// private certificate authority (or a test server's own certificate).
    pub fn with_extra_roots_pem(pem: &[u8]) -> Result<ImapTls, ImapError> {
        let invalid = |reason: String| ImapError::TlsSetup { reason };
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let mut added = 0;
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate = certificate.map_err(|error| invalid(format!("reading PEM certificates: {error}")))?;
            roots.add(certificate).map_err(|error| invalid(format!("adding a root certificate: {error}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(invalid("the PEM text holds no certificate".to_owned()));
        }
        Self::with_roots(roots)
    }

    fn with_roots(roots: RootCertStore) -> Result<ImapTls, ImapError> {
        // The provider is named here rather than taken from the process
        // default: the dependency tree may enable more than one.
        let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|error| ImapError::TlsSetup { reason: error.to_string() })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(ImapTls { config: Arc::new(config) })
    }
}

/// Polls `mailbox` once, trusting Mozilla's root certificates for IMAPS. See
/// [`poll_once_with_tls`].
pub async fn poll_once<F, Fut>(mailbox: &ImapMailbox, file: F) -> Result<PollStats, ImapError>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = Result<(), anyhow::Error>>,
{
    let tls = ImapTls::webpki_roots().map_err(|error| config_error(mailbox, error))?;
    poll_once_with_tls(mailbox, &tls, file).await
}

/// Polls `mailbox` once: every unseen message is fetched, handed to `file`,
/// and marked seen if `file` returns `Ok`. A message whose filing fails is
/// logged, counted in [`PollStats::failed`] and left unseen, and the poll goes
/// on with the next one. An error means the poll itself broke off (connect,
/// TLS, login, select, search, fetch, marking seen); messages filed before it
/// are marked seen already.
pub async fn poll_once_with_tls<F, Fut>(mailbox: &ImapMailbox, tls: &ImapTls, file: F) -> Result<PollStats, ImapError>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = Result<(), anyhow::Error>>,
{
    let url = parse_imap_url(&mailbox.imap_url).map_err(|error| config_error(mailbox, error))?;
    let poll = Poll { address: &mailbox.address, server: format!("{}:{}", url.host, url.port), url: &url };
    let tcp = match timeout(CONNECT_TIMEOUT, TcpStream::connect((url.host.as_str(), url.port))).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(error)) => return Err(poll.connect_error(error.to_string())),
        Err(_) => return Err(poll.connect_error(format!("no connection within {CONNECT_TIMEOUT:?}"))),
    };
    match url.transport {
        ImapTransport::Plain => poll.session(tcp, &mailbox.auth, file).await,
        ImapTransport::Tls => {
            let tls_stream = poll.handshake(tcp, tls).await?;
            poll.session(tls_stream, &mailbox.auth, file).await
        }
    }
}

fn config_error(mailbox: &ImapMailbox, error: ImapError) -> ImapError {
    ImapError::Config { address: mailbox.address.clone(), reason: error.to_string() }
}

/// One poll of one mailbox: what its errors need to name.
struct Poll<'a> {
    address: &'a str,
    server: String,
    url: &'a ImapUrl,
}

impl Poll<'_> {
    async fn handshake(
        &self,
        tcp: TcpStream,
        tls: &ImapTls,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
        let tls_error =
            |reason: String| ImapError::Tls { address: self.address.to_owned(), server: self.server.clone(), reason };
        let server_name = ServerName::try_from(self.url.host.clone())
            .map_err(|error| tls_error(format!("{:?} is not a valid server name: {error}", self.url.host)))?;
        let connector = TlsConnector::from(tls.config.clone());
        match timeout(CONNECT_TIMEOUT, connector.connect(server_name, tcp)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(error)) => Err(tls_error(error.to_string())),
            Err(_) => Err(tls_error(format!("no handshake within {CONNECT_TIMEOUT:?}"))),
        }
    }

    async fn session<T, F, Fut>(&self, stream: T, auth: &ImapAuth, mut file: F) -> Result<PollStats, ImapError>
    where
        T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
        F: FnMut(Vec<u8>) -> Fut,
        Fut: Future<Output = Result<(), anyhow::Error>>,
    {
        let mut client = Client::new(stream);
        match command(client.read_response()).await {
            Ok(Some(_greeting)) => {}
            Ok(None) => return Err(self.greeting_error("the connection closed".to_owned())),
            Err(reason) => return Err(self.greeting_error(reason)),
        }

        let user = self.url.user.as_str();
        let login_error = |mechanism: &'static str, reason: String| ImapError::Login {
            address: self.address.to_owned(),
            server: self.server.clone(),
            user: user.to_owned(),
            mechanism,
            reason,
        };
        let mut session = match auth {
            ImapAuth::Password(password) => {
                command(async { client.login(user, password).await.map_err(|(error, _client)| error) })
                    .await
                    .map_err(|reason| login_error("LOGIN", reason))?
            }
            ImapAuth::XOAuth2 { token_command } => {
                let token = access_token(token_command)
                    .await
                    .map_err(|reason| ImapError::TokenCommand { address: self.address.to_owned(), reason })?;
                let xoauth2 = XOAuth2 { response: Some(format!("user={user}\x01auth=Bearer {token}\x01\x01")) };
                command(async { client.authenticate("XOAUTH2", xoauth2).await.map_err(|(error, _client)| error) })
                    .await
                    .map_err(|reason| login_error("XOAUTH2", reason))?
            }
        };

        let folder = self.url.folder.as_str();
        command(session.select(imap_url::encode_folder(folder))).await.map_err(|reason| ImapError::Select {
            address: self.address.to_owned(),
            folder: folder.to_owned(),
            reason,
        })?;
        // A message flagged \Deleted but not yet expunged was thrown away by
        // someone; it is not customer mail waiting for an answer.
        let mut uids: Vec<u32> = command(session.uid_search("UNSEEN UNDELETED"))
            .await
            .map_err(|reason| ImapError::Search {
                address: self.address.to_owned(),
                folder: folder.to_owned(),
                reason,
            })?
            .into_iter()
            .collect();
        uids.sort_unstable();

        let mut stats = PollStats::default();
        for uid in uids {
            let fetch_error = |reason: String| ImapError::Fetch {
                address: self.address.to_owned(),
                folder: folder.to_owned(),
                uid,
                reason,
            };
            let fetches = command(async {
                session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?.try_collect::<Vec<_>>().await
            })
            .await
            .map_err(fetch_error)?;
            let Some(raw) = fetches.iter().find(|fetch| fetch.uid == Some(uid)).and_then(|fetch| fetch.body()) else {
                // Expunged by another client since the search.
                tracing::debug!(mailbox = %self.address, uid, "message vanished before it was fetched");
                continue;
            };
            stats.fetched += 1;
            match file(raw.to_vec()).await {
                Ok(()) => {
                    command(async {
                        session
                            .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
                            .await?
                            .try_collect::<Vec<_>>()
                            .await
                    })
                    .await
                    .map_err(|reason| ImapError::MarkSeen {
                        address: self.address.to_owned(),
                        folder: folder.to_owned(),
                        uid,
                        reason,
                    })?;
                    stats.filed += 1;
                }
                Err(error) => {
                    stats.failed += 1;
                    tracing::warn!(
                        mailbox = %self.address,
                        folder,
                        uid,
                        error = format!("{error:#}"),
                        "filing a message failed; it stays unseen and the next poll retries it"
                    );
                }
            }
        }

        if let Err(reason) = command(session.logout()).await {
            // Everything is filed and flagged; a failed goodbye changes nothing.
            tracing::debug!(mailbox = %self.address, reason, "IMAP logout failed");
        }
        Ok(stats)
    }

    fn connect_error(&self, reason: String) -> ImapError {
        ImapError::Connect { address: self.address.to_owned(), server: self.server.clone(), reason }
    }

    fn greeting_error(&self, reason: String) -> ImapError {
        ImapError::Greeting { address: self.address.to_owned(), server: self.server.clone(), reason }
    }
}

/// Runs one IMAP exchange with [`COMMAND_TIMEOUT`], turning its failure into
/// the reason text that goes into an [`ImapError`].
async fn command<T, E: fmt::Display>(exchange: impl Future<Output = Result<T, E>>) -> Result<T, String> {
    match timeout(COMMAND_TIMEOUT, exchange).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {COMMAND_TIMEOUT:?}")),
    }
}

/// The SASL XOAUTH2 client: the initial response carries user and token. If
/// the server refuses the token it sends a JSON error as a second challenge,
/// which is answered with an empty line so that it ends the exchange with NO.
struct XOAuth2 {
    response: Option<String>,
}

impl Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        self.response.take().unwrap_or_default()
    }
}

/// Runs the token command and returns its trimmed stdout.
async fn access_token(token_command: &str) -> Result<String, String> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(token_command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot start `sh`: {error}"))?;
    let output = match timeout(TOKEN_COMMAND_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => return Err(format!("waiting for it failed: {error}")),
        Err(_) => return Err(format!("it did not finish within {TOKEN_COMMAND_TIMEOUT:?} and was killed")),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        let stderr = match stderr.char_indices().nth(STDERR_LIMIT) {
            Some((cut, _)) => format!("{}…", &stderr[..cut]),
            None if stderr.is_empty() => "(empty)".to_owned(),
            None => stderr.to_owned(),
        };
        return Err(format!("it exited with {}; stderr: {stderr}", output.status));
    }
    let token = String::from_utf8(output.stdout).map_err(|_| "it printed something that is not UTF-8".to_owned())?;
    let token = token.trim();
    if token.is_empty() {
        return Err("it exited successfully but printed no token".to_owned());
    }
    Ok(token.to_owned())
}

/// Polls every mailbox every `interval` until `shutdown` completes, filing
/// each message with `file(mailbox, raw)`. A mailbox whose poll fails is
/// logged and retried with exponential backoff (twice the interval, then four
/// times, up to 15 minutes or the interval if that is longer); the other
/// mailboxes keep their schedule and the poller never gives up. Mailboxes are
/// polled one at a time, so a slow one delays the rest by at most its
/// timeouts.
///
/// Each poll's outcome goes to `report(mailbox, outcome)`: `Ok` for a poll
/// that reached the mailbox, `Err` with why for one that did not (the admin's
/// Channels page shows them).
///
/// On shutdown the poll in progress is dropped. A message being filed at
/// that moment is still unseen and is filed again on the next start, which
/// idempotent filing absorbs.
pub async fn run_poller<F, Fut, R, RFut, S>(
    mailboxes: Vec<ImapMailbox>,
    tls: ImapTls,
    interval: Duration,
    mut file: F,
    mut report: R,
    shutdown: S,
) where
    F: FnMut(&ImapMailbox, Vec<u8>) -> Fut,
    Fut: Future<Output = Result<(), anyhow::Error>>,
    R: FnMut(&ImapMailbox, Result<(), String>) -> RFut,
    RFut: Future<Output = ()>,
    S: Future<Output = ()>,
{
    let mut shutdown = std::pin::pin!(shutdown);
    let start = Instant::now();
    let mut schedule: Vec<Schedule> =
        mailboxes.iter().map(|_| Schedule { next_poll: start, consecutive_failures: 0 }).collect();
    loop {
        let Some((index, next_poll)) =
            schedule.iter().enumerate().map(|(index, due)| (index, due.next_poll)).min_by_key(|(_, at)| *at)
        else {
            // No mailboxes: nothing to do but wait for the end.
            shutdown.await;
            return;
        };
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep_until(next_poll) => {}
        }
        let mailbox = &mailboxes[index];
        let outcome = tokio::select! {
            () = &mut shutdown => return,
            outcome = poll_once_with_tls(mailbox, &tls, |raw| file(mailbox, raw)) => outcome,
        };
        let due = &mut schedule[index];
        match outcome {
            Ok(stats) => {
                due.consecutive_failures = 0;
                due.next_poll = Instant::now() + interval;
                report(mailbox, Ok(())).await;
                if stats.fetched > 0 {
                    tracing::info!(
                        mailbox = %mailbox.address,
                        fetched = stats.fetched,
                        filed = stats.filed,
                        failed = stats.failed,
                        "polled mailbox"
                    );
                }
            }
            Err(error) => {
                due.consecutive_failures = due.consecutive_failures.saturating_add(1);
                let delay = backoff(interval, due.consecutive_failures);
                due.next_poll = Instant::now() + delay;
                tracing::error!(
                    error = %error,
                    consecutive_failures = due.consecutive_failures,
                    retry_in_secs = delay.as_secs(),
                    "polling an IMAP mailbox failed"
                );
                report(mailbox, Err(format!("{error:#}"))).await;
            }
        }
    }
}

struct Schedule {
    next_poll: Instant,
    consecutive_failures: u32,
}

/// The wait after `failures` consecutive failed polls.
fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.min(10);
    interval.saturating_mul(factor).min(MAX_BACKOFF.max(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_ceiling() {
        let minute = Duration::from_secs(60);
        assert_eq!(backoff(minute, 1), 2 * minute);
        assert_eq!(backoff(minute, 2), 4 * minute);
        assert_eq!(backoff(minute, 3), 8 * minute);
        assert_eq!(backoff(minute, 4), MAX_BACKOFF);
        assert_eq!(backoff(minute, u32::MAX), MAX_BACKOFF);
        // An interval longer than the ceiling is never shortened.
        assert_eq!(backoff(Duration::from_secs(3600), 5), Duration::from_secs(3600));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mailbox = ImapMailbox {
            address: "support@example.com".to_owned(),
            imap_url: "imaps://support@example.com@imap.example.com/INBOX".to_owned(),
            auth: ImapAuth::Password("hunter2".to_owned()),
        };
        assert!(!format!("{mailbox:?}").contains("hunter2"));
        let auth = ImapAuth::XOAuth2 { token_command: "fetch-token --secret s3cret".to_owned() };
        assert!(!format!("{auth:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn token_command_output_is_trimmed() {
        assert_eq!(access_token("printf '  tok-123\\n'").await, Ok("tok-123".to_owned()));
    }

    #[tokio::test]
    async fn failing_token_command_reports_status_and_stderr() {
        let reason = access_token("echo 'refresh token expired' >&2; exit 3").await.unwrap_err();
        assert!(reason.contains("exit status: 3"), "{reason}");
        assert!(reason.contains("refresh token expired"), "{reason}");
        let reason = access_token("true").await.unwrap_err();
        assert!(reason.contains("printed no token"), "{reason}");
    }
}
