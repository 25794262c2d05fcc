//! A private Dovecot IMAP server for tests: its own configuration, users,
//! maildirs, sockets and logs in a temporary directory, listening on free
//! ports of 127.0.0.1 for plain IMAP and for IMAPS (a certificate from a
//! private authority made at start), and stopped when the value is dropped.
//!
//! Test-side operations (putting a message in a mailbox, counting unseen
//! ones) go through `doveadm`, not IMAP, so they never share a bug with the
//! IMAP client under test.
//!
//! XOAUTH2 works against the real Dovecot too: its `oauth2` passdb asks a
//! token introspection endpoint, played here by a tiny HTTP stand-in that
//! knows the tokens [`Dovecot::issue_oauth2_token`] handed out.
//!
//! Dovecot's master must run as root to switch to its internal users (the
//! `dovecot` and `dovenull` users that the Debian package creates), which is
//! how it runs on our machines. Run by another user, every service and the
//! mail itself run as that user instead.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;

/// How long Dovecot may take to answer on its ports after being started.
const STARTUP_DEADLINE: Duration = Duration::from_secs(15);
/// Another process may take a port between our probe and Dovecot's bind;
/// then we start again on fresh ports.
const START_ATTEMPTS: usize = 3;
const INSTALL_HINT: &str = "run .ci/install-mail-servers (as root) to install Dovecot";

/// A running private Dovecot. See the module docs.
pub struct Dovecot {
    dir: TempDir,
    config: PathBuf,
    child: Child,
    imap_port: u16,
    imaps_port: u16,
    owner: MailOwner,
    oauth2: Introspection,
}

/// Who owns the mail on disk, and which users Dovecot's services run as.
#[derive(Clone)]
struct MailOwner {
    uid: u32,
    gid: u32,
    /// `None` when we are root: Dovecot then uses its packaged defaults.
    service_user: Option<(String, String)>,
}

impl Dovecot {
    /// Starts a Dovecot with no users; add them with [`Dovecot::add_user`].
    pub fn start() -> anyhow::Result<Dovecot> {
        let dovecot = dovecot_binary()?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(&dovecot) {
                Ok(server) => return Ok(server),
                Err(StartError::PortTaken(error)) => last_error = Some(error),
                Err(StartError::Other(error)) => return Err(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("Dovecot did not start")))
    }

    fn start_once(dovecot: &Path) -> Result<Dovecot, StartError> {
        let dir =
            tempfile::Builder::new().prefix("rapport-dovecot-").tempdir().context("creating Dovecot's directory")?;
        let root = dir.path();
        // Dovecot's auth and mail processes run as other users; they must be
        // able to reach the files below this directory.
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).context("opening Dovecot's directory")?;
        let owner = mail_owner(root)?;
        for sub in ["run", "state"] {
            fs::create_dir(root.join(sub)).with_context(|| format!("creating {sub}"))?;
        }
        let mail = root.join("mail");
        fs::create_dir(&mail).context("creating the mail directory")?;
        std::os::unix::fs::chown(&mail, Some(owner.uid), Some(owner.gid)).context("handing the mail directory over")?;
        write_file(&root.join("users"), "", 0o644)?;
        make_certificates(root)?;

        let oauth2 = Introspection::start()?;
        write_file(
            &root.join("oauth2.conf.ext"),
            &format!(
                "introspection_mode = post\n\
                 introspection_url = http://{}/introspect\n\
                 force_introspection = yes\n\
                 username_attribute = username\n\
                 active_attribute = active\n\
                 active_value = true\n",
                oauth2.addr
            ),
            0o644,
        )?;

        let (imap_port, imaps_port) = free_port_pair()?;
        let config = root.join("dovecot.conf");
        write_file(&config, &config_text(root, &owner, imap_port, imaps_port), 0o644)?;

        let child = Command::new(dovecot)
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(root.join("stderr.log")).context("creating stderr.log")?)
            .spawn()
            .with_context(|| format!("starting {}", dovecot.display()))?;
        let mut server = Dovecot { dir, config, child, imap_port, imaps_port, owner, oauth2 };
        server.wait_until_ready()?;
        Ok(server)
    }

    fn wait_until_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            let exited = self.child.try_wait().context("watching dovecot")?;
            let logs = self.logs();
            // A service that cannot start makes the master retry it forever,
            // so a fatal line in the log ends the wait too.
            if exited.is_some() || logs.contains("Fatal:") {
                let how = exited.map_or("failed".to_owned(), |status| format!("exited ({status})"));
                let error = anyhow::anyhow!("dovecot {how} at start; its logs:\n{logs}");
                return Err(if logs.contains("Address already in use") {
                    StartError::PortTaken(error)
                } else {
                    StartError::Other(error)
                });
            }
            if greets(self.imap_port) && TcpStream::connect(("127.0.0.1", self.imaps_port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(StartError::Other(anyhow::anyhow!(
                    "dovecot did not answer on port {} within {STARTUP_DEADLINE:?}; its logs:\n{}",
                    self.imap_port,
                    self.logs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The URL of `user`'s INBOX over plain IMAP.
    pub fn imap_url(&self, user: &str) -> String {
        format!("imap://{}@127.0.0.1:{}/INBOX", user.replace('@', "%40"), self.imap_port)
    }

    /// The URL of `user`'s INBOX over IMAP with implicit TLS; the server's
    /// certificate is [`Dovecot::ca_certificate_pem`].
    pub fn imaps_url(&self, user: &str) -> String {
        format!("imaps://{}@127.0.0.1:{}/INBOX", user.replace('@', "%40"), self.imaps_port)
    }

    pub fn imap_port(&self) -> u16 {
        self.imap_port
    }

    pub fn imaps_port(&self) -> u16 {
        self.imaps_port
    }

    /// The certificate of the private authority that signed the one IMAPS
    /// presents (for 127.0.0.1 and localhost); trust it to connect.
    pub fn ca_certificate_pem(&self) -> anyhow::Result<Vec<u8>> {
        fs::read(self.dir.path().join("ca.pem")).context("reading the test certificate authority")
    }

    /// Adds a user who logs in with `password` (LOGIN or PLAIN) or with a
    /// token from [`Dovecot::issue_oauth2_token`] (XOAUTH2).
    pub fn add_user(&self, user: &str, password: &str) -> anyhow::Result<()> {
        for (what, value) in [("user", user), ("password", password)] {
            if value.is_empty() || value.contains([':', '\n', '\r', '\0']) {
                bail!("{what} {value:?} cannot go in a passwd-file");
            }
        }
        if user.contains(['/', ' ', '%']) {
            bail!("user {user:?} cannot name a mail directory");
        }
        let home = self.dir.path().join("mail").join(user);
        let line = format!("{user}:{{PLAIN}}{password}:{}:{}::{}::\n", self.owner.uid, self.owner.gid, home.display());
        // Dovecot notices the changed size and mtime and reads the file again.
        let mut users = OpenOptions::new().append(true).open(self.dir.path().join("users")).context("opening users")?;
        users.write_all(line.as_bytes()).context("adding a user")?;
        Ok(())
    }

    /// A fresh access token that the introspection stand-in accepts for `user`.
    pub fn issue_oauth2_token(&self, user: &str) -> String {
        self.oauth2.issue(user)
    }

    /// Forgets every token issued so far, as a provider does when they expire.
    pub fn revoke_oauth2_tokens(&self) {
        self.oauth2.revoke_all();
    }

    /// Puts `raw` in `user`'s INBOX as a new, unseen message, byte for byte
    /// (Dovecot stores LF line ends and serves CRLF, so CRLF input comes back
    /// exactly).
    pub async fn deliver(&self, user: &str, raw: &[u8]) -> anyhow::Result<()> {
        let mut child = self
            .doveadm()
            .args(["save", "-u", user, "-m", "INBOX"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting doveadm save")?;
        let mut stdin = child.stdin.take().context("doveadm save has no stdin")?;
        stdin.write_all(raw).await.context("writing the message to doveadm save")?;
        drop(stdin);
        let output = child.wait_with_output().await.context("waiting for doveadm save")?;
        if !output.status.success() {
            bail!("doveadm save for {user} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    }

    /// How many messages of `user`'s INBOX match an IMAP search, given as
    /// doveadm search words: `"ALL"`, `"UNSEEN"`, `"SEEN"`, `"SUBJECT hello"`.
    pub async fn count(&self, user: &str, search: &str) -> anyhow::Result<usize> {
        let output = self
            .doveadm()
            .args(["search", "-u", user, "mailbox", "INBOX"])
            .args(search.split_whitespace())
            .output()
            .await
            .context("running doveadm search")?;
        if !output.status.success() {
            bail!("doveadm search for {user} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).lines().filter(|line| !line.trim().is_empty()).count())
    }

    /// Dovecot's log so far, for assertion messages.
    pub fn logs(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("dovecot.log"), read("stderr.log"))
    }

    fn doveadm(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("doveadm");
        command.arg("-c").arg(&self.config).kill_on_drop(true);
        command
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM makes the master stop its children too (killing only the
        // master would leave them running until they notice). The shell's
        // `kill` sends it without a signal library; `doveadm stop` would too,
        // but it polls and takes over a second.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -TERM {}", self.child.id()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_)) | Err(_)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum StartError {
    PortTaken(anyhow::Error),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(error: anyhow::Error) -> Self {
        StartError::Other(error)
    }
}

fn dovecot_binary() -> anyhow::Result<PathBuf> {
    // Debian puts dovecot in /usr/sbin, which a non-root PATH may lack.
    for candidate in [PathBuf::from("dovecot"), PathBuf::from("/usr/sbin/dovecot")] {
        match Command::new(&candidate).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
            Ok(status) if status.success() => return Ok(candidate),
            Ok(status) => bail!("`{} --version` failed ({status}); {INSTALL_HINT}", candidate.display()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error).with_context(|| format!("running {}", candidate.display())),
        }
    }
    bail!("dovecot is not installed; {INSTALL_HINT}")
}

fn mail_owner(root: &Path) -> anyhow::Result<MailOwner> {
    // The directory we just created belongs to whoever we run as.
    let metadata = fs::metadata(root).context("reading Dovecot's directory")?;
    let (uid, gid) = (metadata.uid(), metadata.gid());
    if uid == 0 {
        // Dovecot refuses to give mail to root, so it belongs to Dovecot's
        // own internal user.
        let (uid, gid) = passwd_entry_by_name("dovecot")?
            .context("there is no `dovecot` user; run .ci/install-mail-servers (as root) to install Dovecot")?;
        return Ok(MailOwner { uid, gid, service_user: None });
    }
    let user = name_by_id("/etc/passwd", uid)?.with_context(|| format!("uid {uid} has no name in /etc/passwd"))?;
    let group = name_by_id("/etc/group", gid)?.with_context(|| format!("gid {gid} has no name in /etc/group"))?;
    Ok(MailOwner { uid, gid, service_user: Some((user, group)) })
}

fn passwd_entry_by_name(name: &str) -> anyhow::Result<Option<(u32, u32)>> {
    let passwd = fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    Ok(passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            [user, _, uid, gid, ..] if *user == name => Some((uid.parse().ok()?, gid.parse().ok()?)),
            _ => None,
        }
    }))
}

fn name_by_id(file: &str, id: u32) -> anyhow::Result<Option<String>> {
    let text = fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    Ok(text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            [name, _, found, ..] if found.parse() == Ok(id) => Some((*name).to_owned()),
            _ => None,
        }
    }))
}

fn write_file(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).with_context(|| format!("chmod {}", path.display()))
}

/// Makes a certificate authority (`ca.pem`, what clients trust) and a server
/// certificate for 127.0.0.1 and localhost signed by it (`cert.pem`,
/// `key.pem`). A lone self-signed certificate would do for most clients, but
/// webpki refuses a CA certificate as a server's own.
fn make_certificates(root: &Path) -> anyhow::Result<()> {
    let new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"];
    openssl(
        root,
        &[
            &["req", "-x509"],
            &new_key[..],
            &["-subj", "/CN=Rapport test CA", "-keyout", "ca-key.pem", "-out", "ca.pem"],
        ]
        .concat(),
    )?;
    openssl(
        root,
        &[
            &["req", "-x509", "-CA", "ca.pem", "-CAkey", "ca-key.pem"],
            &new_key[..],
            &["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            &["-addext", "basicConstraints=critical,CA:FALSE", "-keyout", "key.pem", "-out", "cert.pem"],
        ]
        .concat(),
    )?;
    // Dovecot's master reads the key as root; nobody else needs it.
    fs::set_permissions(root.join("key.pem"), fs::Permissions::from_mode(0o600)).context("chmod key.pem")
}

fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("running openssl to make certificates; run .ci/install-mail-servers")?;
    if !output.status.success() {
        bail!("openssl {} failed ({}): {}", args.join(" "), output.status, String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

fn free_port_pair() -> anyhow::Result<(u16, u16)> {
    // Both listeners are held at once so the two ports differ.
    let first = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    let second = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok((first.local_addr()?.port(), second.local_addr()?.port()))
}

/// Whether an IMAP server greets on `port`.
fn greets(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut greeting = String::new();
    let greeted = BufReader::new(&stream).read_line(&mut greeting).is_ok() && greeting.starts_with("* OK");
    let _ = stream.shutdown(Shutdown::Both);
    greeted
}

fn config_text(root: &Path, owner: &MailOwner, imap_port: u16, imaps_port: u16) -> String {
    let root = root.display();
    // Without root, Dovecot can neither switch users nor chroot.
    let (services, chroot) = match &owner.service_user {
        None => (String::new(), ""),
        Some((user, group)) => (
            format!("default_internal_user = {user}\ndefault_internal_group = {group}\ndefault_login_user = {user}\n"),
            "  chroot =\n",
        ),
    };
    format!(
        "# Written by rapport-testkit for one test; everything lives in {root}.
base_dir = {root}/run
state_dir = {root}/state
instance_name = rapport-test-{imap_port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{services}first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
# Plain IMAP is what the tests speak; nothing leaves 127.0.0.1.
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
auth_verbose = yes
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
  mechanisms = plain login
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
# Tests log in with wrong passwords on purpose; Dovecot would then delay
# every login from 127.0.0.1 for up to 15 s.
service anvil {{
{chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
{chroot}  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
",
        uid = owner.uid,
        gid = owner.gid,
    )
}

/// The OAuth2 token introspection endpoint (RFC 7662) that Dovecot's
/// `oauth2` passdb asks: `POST /introspect` with `token=...`, answered with
/// `{"active": true, "username": ...}` for tokens we issued.
struct Introspection {
    addr: SocketAddr,
    tokens: Arc<Mutex<HashMap<String, String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

static TOKEN_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Introspection {
    fn start() -> anyhow::Result<Introspection> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the introspection stand-in")?;
        let addr = listener.local_addr()?;
        let tokens: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (tokens, stop) = (tokens.clone(), stop.clone());
            move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let _ = answer_introspection(stream, &tokens);
                    }
                }
            }
        });
        Ok(Introspection { addr, tokens, stop, thread: Some(thread) })
    }

    fn issue(&self, user: &str) -> String {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        let token = format!("rapport-test-{}-{nanos:x}", TOKEN_COUNTER.fetch_add(1, Ordering::SeqCst));
        self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(token.clone(), user.to_owned());
        token
    }

    fn revoke_all(&self) {
        self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }
}

impl Drop for Introspection {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one HTTP/1.1 request and answers it, closing the connection.
fn answer_introspection(stream: TcpStream, tokens: &Mutex<HashMap<String, String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(&stream);
    let mut content_length = 0;
    let mut bearer = None;
    let mut line = String::new();
    reader.read_line(&mut line)?; // the request line
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("authorization") {
                bearer = value.strip_prefix("Bearer ").map(str::to_owned);
            }
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body);
    let token = body.split('&').find_map(|pair| pair.strip_prefix("token=")).map(str::to_owned).or(bearer);
    let user =
        token.and_then(|token| tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&token).cloned());
    // Our tokens and test user names need no JSON escaping.
    let json = match user {
        Some(user) => format!(r#"{{"active":true,"username":"{user}"}}"#),
        None => r#"{"active":false}"#.to_owned(),
    };
    let mut stream = &stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn introspect(addr: SocketAddr, token: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        let body = format!("token={token}&client_id=&client_secret=");
        write!(
            stream,
            "POST /introspect HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: Keep-Alive\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn the_introspection_stand_in_knows_the_tokens_it_issued() {
        let introspection = Introspection::start().unwrap();
        let token = introspection.issue("alice");
        let response = introspect(introspection.addr, &token);
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with(r#"{"active":true,"username":"alice"}"#), "{response}");
        assert!(introspect(introspection.addr, "forged").ends_with(r#"{"active":false}"#));
        introspection.revoke_all();
        assert!(introspect(introspection.addr, &token).ends_with(r#"{"active":false}"#));
    }

    #[test]
    fn the_config_confines_dovecot_to_its_directory() {
        let owner = MailOwner { uid: 108, gid: 111, service_user: None };
        let text = config_text(Path::new("/tmp/x"), &owner, 1143, 1993);
        for line in ["base_dir = /tmp/x/run", "state_dir = /tmp/x/state", "listen = 127.0.0.1", "port = 1143"] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("chroot"), "root keeps Dovecot's chroots");
        let owner = MailOwner { service_user: Some(("ci".to_owned(), "ci".to_owned())), ..owner };
        let text = config_text(Path::new("/tmp/x"), &owner, 1143, 1993);
        assert!(text.contains("default_internal_user = ci\n"), "{text}");
        assert!(text.contains("  chroot =\n"), "{text}");
    }
}
