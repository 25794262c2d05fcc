//! `rapport bench --chat N`: live chat under load.
//!
//! A `rapport serve` process is started, agents connect to the agent socket
//! and N visitors to the visitor socket (real WebSockets over loopback). Each
//! visitor sends a message every `--chat-interval` seconds, at its own phase,
//! so N visitors at 5 s make N/5 messages a second. A message's delivery time
//! is from the visitor's send to the agent's receipt of it, which the server
//! forwards only after storing it: both ends are in this process, so one
//! clock times them. The first message of each visitor opens its chat (queue,
//! assignment) and is not timed; every later one is.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use rapport_core::chat::{AgentEvent, ClientMessageId, VisitorId, VisitorRequest};
use serde::Serialize;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message as Frame;

use super::server::Server;
use super::{ScratchDir, millis, percentile, round1, round3};

/// How the chat benchmark is shaped.
#[derive(Debug, Clone)]
pub struct ChatLoad {
    /// Visitor connections.
    pub visitors: usize,
    /// Agent connections (the chats are shared among them).
    pub agents: usize,
    /// Seconds between one visitor's messages.
    pub interval_s: u64,
    /// Seconds of timed load after every visitor is connected and answered.
    pub seconds: u64,
}

/// What the chat benchmark measured.
#[derive(Debug, Serialize)]
pub struct ChatReport {
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// Visitor connections held open.
    pub visitors: usize,
    /// Agent connections.
    pub agents: usize,
    /// Seconds between one visitor's messages.
    pub interval_s: u64,
    /// Seconds timed.
    pub seconds: u64,
    /// Timed messages sent.
    pub sent: usize,
    /// Timed messages the agents received.
    pub delivered: usize,
    /// Delivered messages per second during the timed phase.
    pub per_second: f64,
    /// Median delivery time.
    pub p50_ms: f64,
    /// 99th-percentile delivery time.
    pub p99_ms: f64,
    /// Slowest delivery.
    pub max_ms: f64,
    /// The server's resident memory at the end of the timed phase.
    pub rss_mb: Option<f64>,
    /// The server's peak resident memory.
    pub peak_rss_mb: Option<f64>,
}

/// Shared between the tasks: the clock and the delivery times.
struct Tally {
    started: Instant,
    /// Delivery times of timed messages, in µs.
    latencies: Mutex<Vec<u64>>,
    sent: AtomicUsize,
    delivered: AtomicUsize,
    /// Visitors whose first message reached an agent (their chat is answered).
    answered: AtomicUsize,
}

/// `b <visitor> <seq> <µs since start>`: what a visitor sends.
fn text(visitor: usize, seq: u64, micros: u64) -> String {
    format!("b {visitor} {seq} {micros}")
}

/// The sequence number and send time in a benchmark message.
fn parse_text(text: &str) -> Option<(u64, u64)> {
    let mut words = text.split(' ');
    (words.next()? == "b").then_some(())?;
    let _visitor = words.next()?;
    let seq = words.next()?.parse().ok()?;
    let micros = words.next()?.parse().ok()?;
    Some((seq, micros))
}

/// Runs the chat benchmark against a fresh server process.
pub async fn run(load: ChatLoad, database_url: Option<String>) -> anyhow::Result<ChatReport> {
    anyhow::ensure!(load.agents > 0, "--chat-agents must be at least 1");
    anyhow::ensure!(load.interval_s > 0, "--chat-interval must be at least 1");
    let scratch = ScratchDir::create()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", scratch.path.join("chat-bench.db").display()));
    let tokens = agent_tokens(&url, load.agents).await?;
    let capacity = load.visitors.div_ceil(load.agents) + 1;
    let config_path = scratch.path.join("rapport.toml");
    // Every visitor comes from this machine's one address: lift the per-address
    // limits on new conversations and on open sockets that protect a real desk
    // from floods.
    let sockets = (load.visitors + load.agents).saturating_mul(2).max(100);
    let config = format!(
        "[server]\nmax_connections = {sockets}\nmax_connections_per_address = {sockets}\n\
         max_websockets = {sockets}\nmax_websockets_per_address = {sockets}\n\
         [chat]\ndefault_capacity = {capacity}\noffline_after_seconds = 600\n[portal]\nlimit_per_ip = {}\n",
        load.visitors.saturating_mul(2).max(20)
    );
    std::fs::write(&config_path, config).context("writing the benchmark configuration")?;
    let exe = std::env::current_exe().context("finding the rapport binary")?;
    let config_arg = config_path.display().to_string();
    let mut server = Server::start_with(&exe, &url, &["--config", &config_arg]).await?;
    let ws_base = server.base_url.replacen("http://", "ws://", 1);

    let tally = Arc::new(Tally {
        started: Instant::now(),
        latencies: Mutex::new(Vec::new()),
        sent: AtomicUsize::new(0),
        delivered: AtomicUsize::new(0),
        answered: AtomicUsize::new(0),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut agents = Vec::new();
    for token in tokens {
        let url = format!("{ws_base}/chat/agent/ws?token={token}");
        let (socket, _) = tokio_tungstenite::connect_async(url).await.context("connecting an agent")?;
        agents.push(tokio::spawn(agent(socket, tally.clone(), stopped.clone())));
    }

    let progress = indicatif::ProgressBar::new(load.visitors as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("connecting visitors {bar:40} {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let timing = Arc::new(tokio::sync::Notify::new());
    let timed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let interval = Duration::from_secs(load.interval_s);
    let mut visitors = Vec::new();
    for index in 0..load.visitors {
        let url = format!("{ws_base}/chat/ws");
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| format!("connecting visitor {index} (is `ulimit -n` high enough?)"))?;
        // Spread the visitors' phases evenly over one interval.
        let phase = interval.mul_f64(index as f64 / load.visitors as f64);
        visitors.push(tokio::spawn(visitor(
            socket,
            index,
            phase,
            interval,
            tally.clone(),
            timed.clone(),
            stopped.clone(),
        )));
        progress.inc(1);
    }
    progress.finish_and_clear();
    // Wait until every chat is answered (its first message reached an agent).
    let deadline = Instant::now() + Duration::from_secs(120);
    while tally.answered.load(Ordering::Relaxed) < load.visitors {
        if Instant::now() > deadline {
            let note = server.exit_note().unwrap_or_default();
            anyhow::bail!(
                "only {} of {} chats reached an agent within 2 minutes {note}",
                tally.answered.load(Ordering::Relaxed),
                load.visitors
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    timed.store(true, Ordering::Relaxed);
    timing.notify_waiters();
    let phase_started = Instant::now();
    let bar = indicatif::ProgressBar::new(load.seconds);
    bar.set_style(
        indicatif::ProgressStyle::with_template("timed load {bar:40} {pos}/{len} s {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for _ in 0..load.seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        bar.inc(1);
        bar.set_message(format!("{} delivered", tally.delivered.load(Ordering::Relaxed)));
    }
    timed.store(false, Ordering::Relaxed);
    let elapsed = phase_started.elapsed();
    bar.finish_and_clear();
    // Let in-flight messages land before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_mb = server.rss_mb().map(round1);
    let peak_rss_mb = server.peak_rss_mb().map(round1);
    let _ = stop.send(true);
    for task in visitors.into_iter().chain(agents) {
        task.abort();
    }
    server.stop().await?;

    let mut latencies: Vec<Duration> =
        tally.latencies.lock().await.iter().map(|micros| Duration::from_micros(*micros)).collect();
    latencies.sort();
    let delivered = tally.delivered.load(Ordering::Relaxed);
    Ok(ChatReport {
        database: super::database_kind(&url),
        visitors: load.visitors,
        agents: load.agents,
        interval_s: load.interval_s,
        seconds: load.seconds,
        sent: tally.sent.load(Ordering::Relaxed),
        delivered,
        per_second: round1(delivered as f64 / elapsed.as_secs_f64()),
        p50_ms: round3(percentile(&latencies, 50).map_or(0.0, millis)),
        p99_ms: round3(percentile(&latencies, 99).map_or(0.0, millis)),
        max_ms: round3(latencies.last().copied().map_or(0.0, millis)),
        rss_mb,
        peak_rss_mb,
    })
}

/// Agents `bench-agent-N@bench.example` with a token each, made in the database before the
/// server starts.
async fn agent_tokens(url: &str, agents: usize) -> anyhow::Result<Vec<String>> {
    let store = rapport_store::Store::open(url, rapport_store::StoreOptions::default())
        .await
        .context("opening the benchmark database")?;
    anyhow::ensure!(store.count_tickets().await? == 0, "the benchmark database must be empty");
    let mut tokens = Vec::with_capacity(agents);
    for index in 0..agents {
        let email = format!("bench-agent-{index}@bench.example");
        let (agent, _) = crate::token::find_or_create_agent(
            &store,
            &email,
            Some(format!("Agent {index}")),
            rapport_core::Role::Agent,
        )
        .await?;
        tokens.push(crate::token::create_token(&store, &agent, "chat bench".to_owned()).await?);
    }
    store.close().await;
    Ok(tokens)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One agent: takes every chat offered and times the visitors' messages.
async fn agent(
    socket: Socket,
    tally: Arc<Tally>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (_sink, mut stream) = socket.split();
    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = stopped.changed() => return Ok(()),
        };
        let Some(frame) = frame else { return Ok(()) };
        let Frame::Text(text) = frame.context("an agent's socket")? else { continue };
        let received = tally.started.elapsed().as_micros() as u64;
        let event: AgentEvent = match serde_json::from_str(&text) {
            Ok(event) => event,
            Err(_) => continue,
        };
        let lines = match event {
            AgentEvent::Message { line, .. } => vec![line],
            AgentEvent::Assigned { transcript, .. } => transcript,
            _ => continue,
        };
        for line in lines {
            let Some((seq, sent)) = parse_text(&line.text) else { continue };
            if seq == 0 {
                tally.answered.fetch_add(1, Ordering::Relaxed);
            } else if sent > 0 {
                tally.delivered.fetch_add(1, Ordering::Relaxed);
                tally.latencies.lock().await.push(received.saturating_sub(sent));
            }
        }
    }
}

/// One visitor: says hello, opens the chat with an untimed message, then sends on its phase.
async fn visitor(
    socket: Socket,
    index: usize,
    phase: Duration,
    interval: Duration,
    tally: Arc<Tally>,
    timed: Arc<std::sync::atomic::AtomicBool>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (mut sink, mut stream) = socket.split();
    // Acks, queue positions and notices are read and dropped.
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let send = |request: VisitorRequest| {
        let json = serde_json::to_string(&request).unwrap_or_default();
        Frame::Text(json.into())
    };
    let visitor = VisitorId::parse(&format!("bench-visitor-{index:06}"))?;
    sink.send(send(VisitorRequest::Hello { visitor, last_seen: None, name: Some(format!("Visitor {index}")) })).await?;
    let client_id = |seq: u64| ClientMessageId::parse(&format!("m{seq}"));
    sink.send(send(VisitorRequest::Message { client_id: client_id(0)?, text: text(index, 0, 0) })).await?;
    tokio::time::sleep(phase).await;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq = 0;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped.changed() => break,
        }
        if !timed.load(Ordering::Relaxed) {
            continue;
        }
        seq += 1;
        let micros = tally.started.elapsed().as_micros() as u64;
        sink.send(send(VisitorRequest::Message { client_id: client_id(seq)?, text: text(index, seq, micros) })).await?;
        tally.sent.fetch_add(1, Ordering::Relaxed);
    }
    drain.abort();
    Ok(())
}

impl ChatReport {
    /// A table for people.
    pub fn table(&self) -> String {
        let mb = |value: Option<f64>| value.map_or_else(|| "n/a".to_owned(), |mb| format!("{mb:.1} MB"));
        format!(
            "Live chat on {} ({} visitors, {} agents, one message per visitor every {} s, {} s timed)\n\
             delivered: {} of {} sent, {:.1} messages/s\n\
             delivery time: p50 {:.3} ms   p99 {:.3} ms   max {:.3} ms\n\
             server RSS: {} at the end, {} peak\n",
            self.database,
            self.visitors,
            self.agents,
            self.interval_s,
            self.seconds,
            self.delivered,
            self.sent,
            self.per_second,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            mb(self.rss_mb),
            mb(self.peak_rss_mb),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_benchmark_message_carries_its_sequence_and_send_time() {
        assert_eq!(parse_text(&text(12, 3, 456_789)), Some((3, 456_789)));
        assert_eq!(parse_text("hello"), None);
        assert_eq!(parse_text("b 1 x 2"), None);
    }
}
