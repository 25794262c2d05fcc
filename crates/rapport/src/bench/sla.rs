//! `rapport bench --sla N`: the service-level machinery at scale.
//!
//! 1. Seeds N open tickets straight into a fresh database (`Store::seed_open_tickets`)
//!    and measures their first projection (every ticket's targets).
//! 2. Starts a `rapport serve` process on it and measures ticket creation with
//!    `--concurrency` clients for a while (idle: nothing else to do).
//! 3. Changes the email policy (or, with `--sla-change calendar`, the default calendar)
//!    through the API and measures creation again while the server re-measures the open
//!    tickets the change can alter in the background, until the sweep is done.
//! 4. Stops the server, saves `--sla-rules` time-triggered rules and times timer passes
//!    over the open tickets: the first (which enqueues what fires) and a steady one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rapport_core::rules::Rule;
use rapport_store::{Store, StoreOptions};
use serde::Serialize;
use serde_json::json;

use super::server::{self, Server};
use super::{ScratchDir, millis, percentile, round3};

/// What to run.
#[derive(Debug, Clone)]
pub struct SlaLoad {
    /// Open tickets to seed.
    pub tickets: usize,
    /// Time-triggered rules for the timer pass.
    pub rules: usize,
    /// Clients creating tickets during the timed phases.
    pub concurrency: usize,
    /// Seconds of idle creation.
    pub idle_seconds: u64,
    /// What changes.
    pub change: Change,
}

/// The change after which open tickets are measured again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Email first responses within 4 business hours instead of 6: the email
    /// policy's tickets are measured again.
    Policy,
    /// The default calendar opens at 08:00 instead of 09:00: every shipped
    /// policy counts on it, so every open ticket is measured again.
    Calendar,
}

/// The default calendar after [`Change::Calendar`]: an hour longer each weekday.
const LONGER_DAYS: &str = "timezone = \"UTC\"\n[hours]\nmon = [\"08:00-17:00\"]\ntue = [\"08:00-17:00\"]\n\
                           wed = [\"08:00-17:00\"]\nthu = [\"08:00-17:00\"]\nfri = [\"08:00-17:00\"]\n";

/// The figures.
#[derive(Debug, Serialize)]
pub struct SlaReport {
    database: &'static str,
    tickets: usize,
    seed_s: f64,
    first_projection_s: f64,
    first_projection_per_s: f64,
    create_concurrency: usize,
    idle_creates: usize,
    idle_create_p50_ms: Option<f64>,
    idle_create_p99_ms: Option<f64>,
    recompute_change: Change,
    recompute_s: f64,
    recompute_per_s: f64,
    /// Open tickets kept on a policy the change touched: the ones measured again.
    recompute_in_scope: i64,
    recompute_creates: usize,
    recompute_create_p50_ms: Option<f64>,
    recompute_create_p99_ms: Option<f64>,
    rules: usize,
    timer_tickets: usize,
    timer_first_pass_ms: f64,
    timer_first_pass_enqueued: usize,
    timer_steady_pass_ms: f64,
    timer_restart_remembered: usize,
    timer_restart_pass_ms: f64,
    timer_forgetful_pass_ms: f64,
}

/// Runs the benchmark on a fresh SQLite file (or `database_url`, which must be empty).
pub async fn run(load: SlaLoad, database_url: Option<String>) -> anyhow::Result<SlaReport> {
    let scratch = ScratchDir::create()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", scratch.path.join("sla-bench.db").display()));
    let database = super::database_kind(&url);
    let store = Store::open(&url, StoreOptions::default()).await.context("opening the benchmark database")?;
    anyhow::ensure!(store.count_tickets().await? == 0, "the benchmark database must be empty");
    let now = rapport_server::Clock::system().now();
    store.install_default_policies(now).await?;

    let seed_s = super::seed_open(&store, load.tickets, now).await?;
    let (projected, first_projection_s) = super::measure_all(&store, load.tickets).await?;

    let exe = std::env::current_exe().context("finding the rapport executable to start")?;
    let token = server::create_token(&exe, &url).await?;
    let server = Server::start(&exe, &url).await.context("starting the server")?;
    let client = reqwest::Client::new();
    let base = server.base_url.clone();

    eprintln!("creating tickets for {} s with nothing else to do", load.idle_seconds);
    let idle =
        creates(&client, &base, &token, load.concurrency, Stop::after(Duration::from_secs(load.idle_seconds)), 0)
            .await?;

    let (before, _, _) = store.sla_status().await?;
    let started = match load.change {
        Change::Policy => change_email_policy(&client, &base, &token).await?,
        Change::Calendar => {
            eprintln!("lengthening the default calendar; creating tickets until every open ticket is measured again");
            let started = Instant::now();
            client
                .put(format!("{base}/api/v1/calendars/default"))
                .bearer_auth(&token)
                .json(&json!({ "source": LONGER_DAYS }))
                .send()
                .await?
                .error_for_status()?;
            started
        }
    };
    let stop = Stop::manual();
    let watcher = {
        let stop = stop.clone();
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                match store.sla_status().await {
                    Ok((generation, sweep, _))
                        if generation > before && sweep.generation == generation && sweep.done =>
                    {
                        break;
                    }
                    Ok((_, sweep, _)) => eprint!("\rre-measured up to ticket {}", sweep.after),
                    Err(error) => eprintln!("reading the sweep's progress: {error}"),
                }
            }
            stop.set();
            eprintln!();
        })
    };
    let during = creates(&client, &base, &token, load.concurrency, stop, 1).await?;
    watcher.await?;
    let recompute = started.elapsed();
    let (_, sweep, _) = store.sla_status().await?;
    let in_scope = store.count_sweep_scope(&sweep).await?;
    drop(server);

    // The timer pass, with the server stopped so only the pass runs.
    for index in 0..load.rules {
        store
            .insert_rule(timer_rule(index)?, None, rapport_core::Actor::System, rapport_server::Clock::system().now())
            .await?;
    }
    let mut fired = rapport_store::FiredMemory::default();
    let started = Instant::now();
    let first = store.run_timers(rapport_server::Clock::system().now(), &mut fired).await?;
    let timer_first_pass = started.elapsed();
    let started = Instant::now();
    store.run_timers(rapport_server::Clock::system().now(), &mut fired).await?;
    let timer_steady_pass = started.elapsed();
    // A restart: the server's first pass after it, remembering the firings
    // already enqueued from the jobs table (as the server does), and, for
    // comparison, a pass that forgot them.
    let started = Instant::now();
    let mut after_restart = rapport_store::FiredMemory::default();
    let timer_restart_remembered = store.remember_firings(&mut after_restart).await?;
    store.run_timers(rapport_server::Clock::system().now(), &mut after_restart).await?;
    let timer_restart_pass = started.elapsed();
    let started = Instant::now();
    store.run_timers(rapport_server::Clock::system().now(), &mut rapport_store::FiredMemory::default()).await?;
    let timer_forgetful_pass = started.elapsed();
    store.close().await;
    drop(scratch);

    let p = |latencies: &[Duration], percent| percentile(latencies, percent).map(millis);
    Ok(SlaReport {
        database,
        tickets: load.tickets,
        seed_s: round3(seed_s),
        first_projection_s: round3(first_projection_s),
        first_projection_per_s: round3(projected as f64 / first_projection_s.max(1e-9)),
        create_concurrency: load.concurrency,
        idle_creates: idle.len(),
        idle_create_p50_ms: p(&idle, 50),
        idle_create_p99_ms: p(&idle, 99),
        recompute_change: load.change,
        recompute_s: round3(recompute.as_secs_f64()),
        recompute_per_s: round3((load.tickets + idle.len()) as f64 / recompute.as_secs_f64().max(1e-9)),
        recompute_in_scope: in_scope,
        recompute_creates: during.len(),
        recompute_create_p50_ms: p(&during, 50),
        recompute_create_p99_ms: p(&during, 99),
        rules: load.rules,
        timer_tickets: first.tickets,
        timer_first_pass_ms: millis(timer_first_pass),
        timer_first_pass_enqueued: first.enqueued,
        timer_steady_pass_ms: millis(timer_steady_pass),
        timer_restart_remembered,
        timer_restart_pass_ms: millis(timer_restart_pass),
        timer_forgetful_pass_ms: millis(timer_forgetful_pass),
    })
}

/// Email first responses within 4 business hours instead of 6; returns when the change was sent.
async fn change_email_policy(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<Instant> {
    let policies: serde_json::Value = client
        .get(format!("{base}/api/v1/sla/policies"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let email = policies["policies"]
        .as_array()
        .and_then(|list| list.iter().find(|policy| policy["name"] == "Email and web"))
        .context("the shipped \"Email and web\" policy is missing")?
        .clone();
    let mut changed = json!({
        "name": email["name"], "conditions": email["conditions"], "targets": email["targets"],
        "pause_when_pending": email["pause_when_pending"], "calendar": email["calendar"],
    });
    changed["targets"]["first_response"] = json!({ "seconds": 4 * 3600, "business_hours": true });
    eprintln!("changing the email policy; creating tickets until every open ticket is measured again");
    let started = Instant::now();
    client
        .put(format!("{base}/api/v1/sla/policies/{}", email["id"]))
        .bearer_auth(token)
        .json(&changed)
        .send()
        .await?
        .error_for_status()?;
    Ok(started)
}

/// When the creating clients stop.
#[derive(Clone)]
struct Stop {
    deadline: Option<Instant>,
    flag: Arc<AtomicBool>,
}

impl Stop {
    fn after(duration: Duration) -> Stop {
        Stop { deadline: Some(Instant::now() + duration), flag: Arc::default() }
    }

    fn manual() -> Stop {
        Stop { deadline: None, flag: Arc::default() }
    }

    fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    fn done(&self) -> bool {
        self.flag.load(Ordering::SeqCst) || self.deadline.is_some_and(|deadline| Instant::now() >= deadline)
    }
}

/// `concurrency` clients create tickets back to back until `stop`; returns the latencies, sorted.
async fn creates(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    concurrency: usize,
    stop: Stop,
    phase: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (client, base, token, stop) = (client.clone(), base.to_owned(), token.to_owned(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while !stop.done() {
                let body = json!({
                    "subject": format!("Bench {phase}-{worker}-{n}"),
                    "body": "The export button does nothing since this morning.",
                    "channel": "email",
                    "customer": { "email": format!("bench{phase}.{worker}.{n}@example.com"), "name": "Bench Customer" },
                });
                let started = Instant::now();
                let response =
                    client.post(format!("{base}/api/v1/tickets")).bearer_auth(&token).json(&body).send().await?;
                anyhow::ensure!(response.status().as_u16() == 201, "creating a ticket answered {}", response.status());
                latencies.push(started.elapsed());
                n += 1;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_unstable();
    Ok(all)
}

/// One of a varied set of time-triggered rules.
fn timer_rule(index: usize) -> anyhow::Result<Rule> {
    let targets = ["first_response", "next_response", "resolution"];
    let trigger = match index % 5 {
        0 => json!({ "type": "target_percent", "target": targets[index % 3], "percent": 50 + (index % 4) * 10 }),
        1 => json!({ "type": "target_breached", "target": targets[index % 3] }),
        2 => json!({ "type": "no_owner", "minutes": 30 + index }),
        3 => json!({ "type": "pending_for", "days": 1 + index % 3 }),
        _ => json!({ "type": "target_percent", "target": "first_response", "percent": 90 }),
    };
    let channels = [["email", "web"], ["chat", "whatsapp"], ["email", "chat"]];
    let conditions = match index % 3 {
        0 => json!([{ "field": "channel", "op": "in", "value": channels[index % 3] }]),
        1 => {
            json!([{ "field": "priority", "op": "at_least", "value": "normal" }, { "field": "tags", "op": "not_contains", "value": "vip" }])
        }
        _ => json!([{ "field": "escalation_level", "op": "at_most", "value": 2 }]),
    };
    let action = if index.is_multiple_of(2) {
        json!({ "type": "add_tag", "tag": format!("timer-{index}") })
    } else {
        json!({ "type": "notify_supervisor", "message": "Ticket {{ticket.id}} needs a look" })
    };
    let rule = json!({ "name": format!("Bench rule {index}"), "trigger": trigger, "conditions": conditions, "actions": [action] });
    serde_json::from_value(rule).context("building a benchmark rule")
}

impl SlaReport {
    /// The human-readable form.
    pub fn table(&self) -> String {
        let ms = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2} ms"));
        let mut out = format!("Rapport SLA benchmark: {} database, {} open tickets\n\n", self.database, self.tickets);
        out.push_str(&format!("seeding                    {:>10.1} s\n", self.seed_s));
        out.push_str(&format!(
            "first projection           {:>10.1} s  ({:.0} tickets/s)\n",
            self.first_projection_s, self.first_projection_per_s
        ));
        out.push_str(&format!(
            "creates, idle              {:>10} p50 {}  p99 {}  ({} creates, {} clients)\n",
            "",
            ms(self.idle_create_p50_ms),
            ms(self.idle_create_p99_ms),
            self.idle_creates,
            self.create_concurrency
        ));
        out.push_str(&format!(
            "recompute after a {:<8} {:>10.1} s  ({:.0} tickets/s; {} open tickets in the change's scope)\n",
            format!("{:?}", self.recompute_change).to_lowercase(),
            self.recompute_s,
            self.recompute_per_s,
            self.recompute_in_scope
        ));
        out.push_str(&format!(
            "creates, during recompute  {:>10} p50 {}  p99 {}  ({} creates)\n",
            "",
            ms(self.recompute_create_p50_ms),
            ms(self.recompute_create_p99_ms),
            self.recompute_creates
        ));
        out.push_str(&format!(
            "timer pass, {} rules        {:>10.1} ms first ({} jobs enqueued), {:.1} ms steady, over {} open tickets\n",
            self.rules,
            self.timer_first_pass_ms,
            self.timer_first_pass_enqueued,
            self.timer_steady_pass_ms,
            self.timer_tickets
        ));
        out.push_str(&format!(
            "timer pass after a restart {:>10.1} ms remembering {} firings from the jobs ({:.1} ms if it forgot them)\n",
            self.timer_restart_pass_ms, self.timer_restart_remembered, self.timer_forgetful_pass_ms
        ));
        out
    }
}
