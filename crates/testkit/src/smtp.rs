//! An SMTP sink: a real SMTP server on 127.0.0.1 that accepts every message
//! and keeps it, so tests can look at exactly the bytes the code under test
//! sent. It can be told to refuse recipients ([`Failure`]) to exercise retries.
//!
//! The protocol is `mailin`'s state machine, driven by our own accept loop
//! rather than `mailin-embedded`'s server: that server never returns, so it
//! could not be stopped when the sink is dropped.
//!
//! With a maildir, every accepted message is also written there as `<n>.eml`
//! (written under a dot-name, then renamed, so a reader never sees half a
//! file). The `rapport-smtp-sink` binary is this sink in its own process, for
//! tests that kill the sending process and need the sink to outlive it.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mailin::{Action, Handler, Response, SessionBuilder, response};

/// How long a connection may sit idle before the sink drops it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often [`SmtpSink::wait_for`] looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A running SMTP sink, stopped when dropped. See the module docs.
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<State>,
    acceptor: Option<JoinHandle<()>>,
}

/// One accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// MAIL FROM, without angle brackets (empty for the null sender).
    pub envelope_from: String,
    /// Every RCPT TO, in order, without angle brackets.
    pub recipients: Vec<String>,
    /// The message as sent, after SMTP dot-unstuffing.
    pub data: Vec<u8>,
}

/// How the sink refuses recipients while a failure is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `451 4.3.0`: try again later.
    Transient,
    /// `550 5.1.1`: never.
    Permanent,
}

struct State {
    messages: Mutex<Vec<Received>>,
    failure: Mutex<Option<Failure>>,
    maildir: Option<Maildir>,
    stopping: AtomicBool,
    /// Open connections, so dropping the sink can close them.
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
}

struct Maildir {
    dir: PathBuf,
    /// The number of the first message this sink writes; earlier numbers may
    /// belong to an earlier run over the same directory.
    first_number: u64,
}

impl SmtpSink {
    /// Starts a sink on a free port of 127.0.0.1, keeping messages in memory.
    pub fn start() -> anyhow::Result<SmtpSink> {
        SmtpSink::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), None)
    }

    /// Starts a sink on `listen` (port 0 picks a free one) that also writes
    /// every accepted message to `maildir` as `<n>.eml`, numbering on from
    /// the highest number already there.
    pub fn start_with_maildir(listen: SocketAddr, maildir: &Path) -> anyhow::Result<SmtpSink> {
        fs::create_dir_all(maildir).with_context(|| format!("creating {}", maildir.display()))?;
        let first_number = highest_number(maildir)? + 1;
        SmtpSink::bind(listen, Some(Maildir { dir: maildir.to_owned(), first_number }))
    }

    fn bind(listen: SocketAddr, maildir: Option<Maildir>) -> anyhow::Result<SmtpSink> {
        let listener = TcpListener::bind(listen).with_context(|| format!("binding the SMTP sink to {listen}"))?;
        let addr = listener.local_addr().context("reading the SMTP sink's address")?;
        let state = Arc::new(State {
            messages: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
            maildir,
            stopping: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
        });
        let acceptor_state = Arc::clone(&state);
        let acceptor = std::thread::Builder::new()
            .name(format!("smtp-sink-{}", addr.port()))
            .spawn(move || accept(&listener, &acceptor_state))
            .context("starting the SMTP sink thread")?;
        Ok(SmtpSink { addr, state, acceptor: Some(acceptor) })
    }

    /// The address the sink listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:PORT`, for `SmtpSender::from_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Everything accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.state.messages).clone()
    }

    /// Waits until at least `count` messages have arrived and returns them
    /// all, or fails after `timeout` saying how many did.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> anyhow::Result<Vec<Received>> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return Ok(messages);
            }
            if Instant::now() >= deadline {
                bail!("waited {timeout:?} for {count} messages at the SMTP sink, got {}", messages.len());
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// While `Some`, every RCPT TO is refused with 451 (transient) or 550
    /// (permanent), so no message is accepted; `None` accepts again.
    pub fn set_failure(&self, failure: Option<Failure>) {
        *lock(&self.state.failure) = failure;
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        // The accept loop is blocked in accept(); one more connection wakes it
        // to see the flag. A listener on 0.0.0.0 is reached through loopback.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for (_, stream) in lock(&self.state.connections).drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept(listener: &TcpListener, state: &Arc<State>) {
    for stream in listener.incoming() {
        if state.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let id = state.next_connection.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&state.connections).insert(id, clone);
        }
        let connection_state = Arc::clone(state);
        let spawned = std::thread::Builder::new().name(format!("smtp-sink-conn-{id}")).spawn(move || {
            if let Err(error) = serve(&stream, &connection_state) {
                tracing::debug!(%error, "SMTP sink connection ended");
            }
            lock(&connection_state.connections).remove(&id);
        });
        if spawned.is_err() {
            lock(&state.connections).remove(&id);
        }
    }
}

/// One SMTP session: a line in, `mailin` decides, its response out.
fn serve(stream: &TcpStream, state: &Arc<State>) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let peer = stream.peer_addr().map(|addr| addr.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut session = SessionBuilder::new("rapport-smtp-sink").build(peer, Transaction::new(Arc::clone(state)));
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    // Each reply goes out in one write: `Response::write_to` writes in pieces,
    // and Nagle's algorithm would hold the second piece for the client's
    // delayed ACK, some 40 ms per reply.
    stream.set_nodelay(true)?;
    writer.write_all(&session.greeting().buffer()?)?;
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let reply = session.process(&line);
        match reply.action {
            Action::NoReply => {}
            Action::Reply => writer.write_all(&reply.buffer()?)?,
            Action::Close | Action::UpgradeTls => {
                writer.write_all(&reply.buffer()?)?;
                return Ok(());
            }
        }
    }
}

/// The handler for one connection: collects the current transaction.
struct Transaction {
    state: Arc<State>,
    envelope_from: String,
    recipients: Vec<String>,
    data: Vec<u8>,
}

impl Transaction {
    fn new(state: Arc<State>) -> Transaction {
        Transaction { state, envelope_from: String::new(), recipients: Vec::new(), data: Vec::new() }
    }
}

impl Handler for Transaction {
    fn rcpt(&mut self, _to: &str) -> Response {
        match *lock(&self.state.failure) {
            None => response::OK,
            Some(Failure::Transient) => Response::custom(451, "4.3.0 Try again later (test sink)".to_owned()),
            Some(Failure::Permanent) => Response::custom(550, "5.1.1 Mailbox unavailable (test sink)".to_owned()),
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.envelope_from = from.to_owned();
        self.recipients = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let received = Received {
            envelope_from: std::mem::take(&mut self.envelope_from),
            recipients: std::mem::take(&mut self.recipients),
            data: std::mem::take(&mut self.data),
        };
        // Holding the lock while writing keeps file numbers in arrival order.
        let mut messages = lock(&self.state.messages);
        if let Some(maildir) = &self.state.maildir {
            let number = maildir.first_number + messages.len() as u64;
            if let Err(error) = write_message(&maildir.dir, number, &received.data) {
                tracing::warn!(%error, "SMTP sink could not write a message");
                return Response::custom(451, "4.3.0 Could not store the message (test sink)".to_owned());
            }
        }
        messages.push(received);
        response::OK
    }
}

fn write_message(dir: &Path, number: u64, data: &[u8]) -> io::Result<()> {
    let temporary = dir.join(format!(".{number}.eml.tmp"));
    fs::write(&temporary, data)?;
    fs::rename(&temporary, dir.join(format!("{number}.eml")))
}

/// The highest `<n>` of the `<n>.eml` files in `dir`, or 0.
fn highest_number(dir: &Path) -> anyhow::Result<u64> {
    let mut highest = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry.with_context(|| format!("reading {}", dir.display()))?.file_name();
        let number = name.to_str().and_then(|name| name.strip_suffix(".eml")).and_then(|n| n.parse::<u64>().ok());
        highest = highest.max(number.unwrap_or(0));
    }
    Ok(highest)
}

/// A poisoned lock only means another test thread panicked; the data is
/// still what it was.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Speaks SMTP by hand, one command and its reply at a time.
    struct Client {
        stream: TcpStream,
        reader: BufReader<TcpStream>,
    }

    impl Client {
        fn connect(addr: SocketAddr) -> Client {
            let stream = TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let reader = BufReader::new(stream.try_clone().unwrap());
            let mut client = Client { stream, reader };
            assert!(client.reply().starts_with("220"));
            client
        }

        /// The whole reply, however many lines.
        fn reply(&mut self) -> String {
            let mut reply = String::new();
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).unwrap();
                reply.push_str(&line);
                if line.as_bytes().get(3) != Some(&b'-') {
                    return reply;
                }
            }
        }

        fn command(&mut self, line: &str) -> String {
            self.stream.write_all(format!("{line}\r\n").as_bytes()).unwrap();
            self.reply()
        }

        fn send(&mut self, from: &str, data: &str) -> String {
            self.command("EHLO client.example");
            assert!(self.command(&format!("MAIL FROM:<{from}>")).starts_with("250"));
            assert!(self.command("RCPT TO:<a@sink.example>").starts_with("250"));
            assert!(self.command("RCPT TO:<b@sink.example>").starts_with("250"));
            assert!(self.command("DATA").starts_with("354"));
            self.stream.write_all(data.as_bytes()).unwrap();
            self.command(".")
        }
    }

    const MESSAGE: &str = "Subject: hi\r\n\r\n..dot-stuffed\r\nbye\r\n";
    const UNSTUFFED: &[u8] = b"Subject: hi\r\n\r\n.dot-stuffed\r\nbye\r\n";

    #[test]
    fn accepts_and_keeps_messages_in_order() {
        let sink = SmtpSink::start().unwrap();
        assert!(sink.url().starts_with("smtp://127.0.0.1:"));
        let mut client = Client::connect(sink.addr());
        assert!(client.send("one@client.example", MESSAGE).starts_with("250"));
        assert!(client.send("two@client.example", MESSAGE).starts_with("250"));
        let messages = sink.messages();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].envelope_from, "one@client.example");
        assert_eq!(messages[1].envelope_from, "two@client.example");
        assert_eq!(messages[0].recipients, vec!["a@sink.example", "b@sink.example"]);
        assert_eq!(messages[0].data, UNSTUFFED);
    }

    #[test]
    fn refuses_recipients_while_failing() {
        let sink = SmtpSink::start().unwrap();
        let mut client = Client::connect(sink.addr());
        client.command("EHLO client.example");
        for (failure, code) in [(Failure::Transient, "451 "), (Failure::Permanent, "550 ")] {
            sink.set_failure(Some(failure));
            assert!(client.command("MAIL FROM:<x@client.example>").starts_with("250"));
            let reply = client.command("RCPT TO:<a@sink.example>");
            assert!(reply.starts_with(code), "{reply}");
            client.command("RSET");
        }
        sink.set_failure(None);
        assert!(client.send("x@client.example", MESSAGE).starts_with("250"));
        assert_eq!(sink.messages().len(), 1);
    }

    #[test]
    fn writes_numbered_files_to_a_maildir() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("7.eml"), b"from an earlier run").unwrap();
        let sink = SmtpSink::start_with_maildir(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), dir.path()).unwrap();
        let mut client = Client::connect(sink.addr());
        client.send("one@client.example", MESSAGE);
        client.send("two@client.example", MESSAGE);
        assert_eq!(fs::read(dir.path().join("8.eml")).unwrap(), UNSTUFFED);
        assert_eq!(fs::read(dir.path().join("9.eml")).unwrap(), UNSTUFFED);
        let mut names: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, vec!["7.eml", "8.eml", "9.eml"], "no temporary files left");
    }

    #[test]
    fn dropping_stops_the_server() {
        let sink = SmtpSink::start().unwrap();
        let addr = sink.addr();
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        drop(sink);
        assert!(TcpStream::connect(addr).is_err(), "nothing listens after drop");
        let mut rest = Vec::new();
        // The idle connection is closed too (after its greeting).
        idle.read_to_end(&mut rest).unwrap();
    }

    #[tokio::test]
    async fn wait_for_times_out_with_a_count() {
        let sink = SmtpSink::start().unwrap();
        let error = sink.wait_for(1, Duration::from_millis(50)).await.unwrap_err();
        assert!(error.to_string().contains("got 0"), "{error}");
        assert!(sink.wait_for(0, Duration::from_millis(50)).await.unwrap().is_empty());
    }
}
