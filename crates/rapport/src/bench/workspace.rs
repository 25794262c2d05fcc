//! `rapport bench --workspace N`: the agents' workspace at scale. It seeds N
//! open tickets (and measures their service levels, so the at-risk view has
//! its projection), gives one ticket a long conversation, starts the server
//! as a separate process, signs in through the sign-in form, and times:
//!
//! - the queue pages (whole HTML, one request at a time): every unsolved
//!   ticket by priority, and the at-risk view;
//! - the ticket page of the long conversation;
//! - the page weights: a first visit (the page, its stylesheet and script)
//!   and a later page with the assets cached;
//! - (on PostgreSQL the planner's statistics are gathered after the seed,
//!   as autovacuum would within minutes of such a load;)
//! - live updates: `--workspace-sessions` tabs (WebSockets) watch the long
//!   ticket; a message is posted through the API, and each tab's
//!   `ticket_changed` frame is timed from the post.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use rapport_core::{Author, MessageKind, Role, TicketId};
use rapport_store::{NewAgent, NewMessage, Store, StoreOptions};
use serde::Serialize;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::server::{Server, create_token};
use super::{ScratchDir, millis, percentile};

/// What to measure.
pub struct WorkspaceLoad {
    /// Open tickets to seed.
    pub tickets: usize,
    /// Requests timed per page.
    pub requests: usize,
    /// Messages in the long conversation.
    pub messages: usize,
    /// Live tabs watching the long ticket.
    pub sessions: usize,
    /// Messages posted while the tabs watch.
    pub rounds: usize,
}

/// The figures, as `--json` prints them.
#[derive(Debug, Serialize)]
pub struct WorkspaceReport {
    database: &'static str,
    tickets: usize,
    seed_s: f64,
    queue_p50_ms: Option<f64>,
    queue_p99_ms: Option<f64>,
    at_risk_p50_ms: Option<f64>,
    at_risk_p99_ms: Option<f64>,
    ticket_messages: usize,
    ticket_p50_ms: Option<f64>,
    ticket_p99_ms: Option<f64>,
    first_load_kb: f64,
    later_page_kb: f64,
    live_sessions: usize,
    live_frames: usize,
    live_p50_ms: Option<f64>,
    live_p99_ms: Option<f64>,
}

const PASSWORD: &str = "bench password, long enough";

pub async fn run(load: WorkspaceLoad, database_url: Option<String>) -> anyhow::Result<WorkspaceReport> {
    anyhow::ensure!(load.requests > 0, "--queries must be at least 1");
    let scratch = ScratchDir::create()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", scratch.path.join("workspace-bench.db").display()));
    let database = super::database_kind(&url);
    let store = Store::open(&url, StoreOptions::default()).await.context("opening the benchmark database")?;
    anyhow::ensure!(store.count_tickets().await? == 0, "the benchmark database must be empty");
    let now = rapport_server::Clock::system().now();
    store.install_default_policies(now).await?;

    let seed_s = super::seed_open(&store, load.tickets, now).await? + super::measure_all(&store, load.tickets).await?.1;

    // The agent who signs in, and the long conversation.
    let hash = rapport_server::http::auth::hash_password(PASSWORD)?;
    let agent = store
        .insert_agent(NewAgent {
            email: "desk@bench.example".into(),
            name: "Bench Desk".into(),
            role: Role::Admin,
            teams: Vec::new(),
            skills: Vec::new(),
            languages: vec!["en".into()],
            password_hash: Some(hash),
            now,
            by: rapport_core::Actor::System,
        })
        .await?;
    let long = TicketId(1);
    for index in 1..load.messages {
        let message = NewMessage {
            kind: MessageKind::Note,
            author: Author::Agent(agent.id),
            text: format!("Note {index}: checked the order, the courier and the refund; nothing new yet, more soon."),
            html: None,
            attachments: Vec::new(),
            origin: Default::default(),
            now: rapport_server::Clock::system().now(),
        };
        store.add_message(long, None, message).await?;
    }
    store.refresh_statistics().await?;
    store.close().await;

    let exe = std::env::current_exe().context("finding the rapport executable to start")?;
    let token = create_token(&exe, &url).await?;
    let sockets = (load.sessions * 2).max(100);
    let config_path = scratch.path.join("rapport.toml");
    std::fs::write(
        &config_path,
        format!(
            "[server]\nmax_connections = {sockets}\nmax_connections_per_address = {sockets}\n\
             max_websockets = {sockets}\nmax_websockets_per_address = {sockets}\n"
        ),
    )?;
    let config_arg = config_path.display().to_string();
    let server = Server::start_with(&exe, &url, &["--config", &config_arg]).await.context("starting the server")?;
    let base = server.base_url.clone();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let cookie = sign_in(&client, &base).await?;

    eprintln!("timing the pages ({} requests each)", load.requests);
    let (queue, queue_bytes) = time_page(&client, &base, "/desk/all?status=unsolved", &cookie, load.requests).await?;
    let (at_risk, _) = time_page(&client, &base, "/desk/at-risk", &cookie, load.requests).await?;
    let (ticket, ticket_bytes) =
        time_page(&client, &base, &format!("/desk/tickets/{}", long.0), &cookie, load.requests).await?;
    let assets = asset_bytes(&client, &base, &cookie).await?;

    eprintln!("opening {} live tabs on ticket {}", load.sessions, long.0);
    let live = live_latency(&client, &base, &cookie, &token, long, load.sessions, load.rounds).await?;
    drop(server);

    Ok(WorkspaceReport {
        database,
        tickets: load.tickets,
        seed_s: super::round1(seed_s),
        queue_p50_ms: percentile(&queue, 50).map(millis),
        queue_p99_ms: percentile(&queue, 99).map(millis),
        at_risk_p50_ms: percentile(&at_risk, 50).map(millis),
        at_risk_p99_ms: percentile(&at_risk, 99).map(millis),
        ticket_messages: load.messages,
        ticket_p50_ms: percentile(&ticket, 50).map(millis),
        ticket_p99_ms: percentile(&ticket, 99).map(millis),
        first_load_kb: kb(queue_bytes + assets),
        later_page_kb: kb(ticket_bytes),
        live_sessions: load.sessions,
        live_frames: live.len(),
        live_p50_ms: percentile(&live, 50).map(millis),
        live_p99_ms: percentile(&live, 99).map(millis),
    })
}

fn kb(bytes: usize) -> f64 {
    super::round1(bytes as f64 / 1024.0)
}

/// Signs in through the form; the session cookie.
async fn sign_in(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("email", "desk@bench.example")
        .append_pair("password", PASSWORD)
        .finish();
    let response = client
        .post(format!("{base}/sign-in"))
        .header("origin", base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    let cookie = response.headers().get("set-cookie").context("signing in set no cookie")?.to_str()?;
    Ok(cookie.split(';').next().unwrap_or_default().to_owned())
}

/// Times `requests` GETs of `path`, one at a time, after a short warm-up; the
/// sorted latencies and the page's size.
async fn time_page(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    cookie: &str,
    requests: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut bytes = 0;
    let mut latencies = Vec::with_capacity(requests);
    for index in 0..requests + 10 {
        let started = Instant::now();
        let response = client.get(format!("{base}{path}")).header("cookie", cookie).send().await?;
        anyhow::ensure!(response.status().is_success(), "GET {path}: {}", response.status());
        let body = response.bytes().await?;
        if index >= 10 {
            latencies.push(started.elapsed());
        }
        bytes = body.len();
    }
    latencies.sort();
    Ok((latencies, bytes))
}

/// The stylesheet's and the script's sizes, as linked from a page.
async fn asset_bytes(client: &reqwest::Client, base: &str, cookie: &str) -> anyhow::Result<usize> {
    let page = client.get(format!("{base}/desk/all")).header("cookie", cookie).send().await?.text().await?;
    let mut total = 0;
    for marker in ["href=\"/assets/", "src=\"/assets/"] {
        let start = page.find(marker).context("a page links its assets")? + marker.len() - "/assets/".len();
        let path = &page[start..start + page[start..].find('"').unwrap_or(0)];
        total += client.get(format!("{base}{path}")).send().await?.bytes().await?.len();
    }
    Ok(total)
}

/// Opens `sessions` tabs watching `ticket`, posts `rounds` messages through
/// the API, and returns every tab's delay from a post to its frame, sorted.
async fn live_latency(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    token: &str,
    ticket: TicketId,
    sessions: usize,
    rounds: usize,
) -> anyhow::Result<Vec<Duration>> {
    let posted: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::new(Mutex::new(Vec::new()));
    let ws = format!("{}/desk/live", base.replacen("http://", "ws://", 1));
    let mut tabs = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let mut request = ws.as_str().into_client_request()?;
        request.headers_mut().insert("cookie", cookie.parse()?);
        request.headers_mut().insert("origin", base.parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.context("opening a live tab")?;
        socket.send(Frame::Text(format!("{{\"type\":\"watch\",\"ticket\":{}}}", ticket.0).into())).await?;
        let (posted, delays) = (posted.clone(), delays.clone());
        tabs.push(tokio::spawn(async move {
            while let Some(Ok(frame)) = socket.next().await {
                if let Frame::Text(text) = frame
                    && text.contains("ticket_changed")
                    && let Some(at) = *posted.lock().await
                {
                    delays.lock().await.push(at.elapsed());
                }
            }
        }));
    }
    // Let every tab's watch arrive before the first post.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for round in 0..rounds {
        *posted.lock().await = Some(Instant::now());
        client
            .post(format!("{base}/api/v1/tickets/{}/messages", ticket.0))
            .bearer_auth(token)
            .json(&serde_json::json!({"body": format!("Live round {round}"), "public": false}))
            .send()
            .await?
            .error_for_status()?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for tab in tabs {
        tab.abort();
    }
    let mut delays = delays.lock().await.clone();
    delays.sort();
    Ok(delays)
}

impl WorkspaceReport {
    /// The figures as a table.
    pub fn table(&self) -> String {
        let ms = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |value| format!("{value:.1} ms"));
        format!(
            "workspace on {} with {} open tickets (seeded and measured in {:.1} s)\n\
             queue page (50 rows)        p50 {:>10}  p99 {:>10}\n\
             at-risk page                p50 {:>10}  p99 {:>10}\n\
             ticket page ({} messages)  p50 {:>10}  p99 {:>10}\n\
             first load {:.1} KB (page, stylesheet, script); a later page {:.1} KB\n\
             live: {} tabs, {} frames, post to frame p50 {}  p99 {}\n",
            self.database,
            self.tickets,
            self.seed_s,
            ms(self.queue_p50_ms),
            ms(self.queue_p99_ms),
            ms(self.at_risk_p50_ms),
            ms(self.at_risk_p99_ms),
            self.ticket_messages,
            ms(self.ticket_p50_ms),
            ms(self.ticket_p99_ms),
            self.first_load_kb,
            self.later_page_kb,
            self.live_sessions,
            self.live_frames,
            ms(self.live_p50_ms),
            ms(self.live_p99_ms),
        )
    }
}
