//! `rapport bench`: the load generator behind BENCHMARKS.md.
//!
//! It drives a real `rapport serve` process over HTTP, the way a deployment is used, so the
//! figures include JSON, HTTP and the database's commit path rather than an in-process shortcut.
//! The server runs as a separate process (the same binary) so that its peak RSS can be read from
//! `/proc` without the load generator's own memory in it. `--url` points the same load at a
//! server that is already running instead.
//!
//! The module is split by noun: `server` owns the child processes, `load` the HTTP clients and
//! the three timed phases, `workload` the tickets' made-up contents. This file wires them
//! together and owns the report.

mod chat;
mod hooks;
mod load;
mod mail;
mod routing;
mod server;
mod sla;
mod workload;
mod workspace;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use load::{Measurements, PhaseResult, Target};
use server::Server;

/// Options of `rapport bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Number of tickets to create
    #[arg(long, default_value_t = 10_000)]
    pub tickets: usize,
    /// Concurrent clients
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Target an already-running server instead of starting one (requires --token)
    #[arg(long)]
    pub url: Option<String>,
    /// Admin API token for the server given with --url
    #[arg(long, env = "RAPPORT_BENCH_TOKEN")]
    pub token: Option<String>,
    /// Number of queue-view and search requests to time (with --routing: decisions of each kind)
    #[arg(long, default_value_t = 500)]
    pub queries: usize,
    /// Concurrent queue-view and search requests (default: one per CPU core, so that latency is
    /// measured without requests queueing for a core)
    #[arg(long)]
    pub query_concurrency: Option<usize>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
    /// Measure email intake instead: file this many typical messages in process
    /// (with --concurrency in flight), then through `rapport mailgate` processes
    #[arg(long, value_name = "MESSAGES")]
    pub mail: Option<usize>,
    /// With --mail: how many messages to pipe through one `rapport mailgate` process each
    #[arg(long, default_value_t = 100)]
    pub mailgate_runs: usize,
    /// Measure webhook intake instead: post this many signed provider webhooks
    /// (with --concurrency in flight) to a server process
    #[arg(long, value_name = "POSTS")]
    pub hooks: Option<usize>,
    /// Measure live chat instead: hold this many visitor WebSockets open, each
    /// sending a message every --chat-interval seconds to the agents' sockets
    #[arg(long, value_name = "VISITORS")]
    pub chat: Option<usize>,
    /// With --chat: agent connections sharing the chats
    #[arg(long, default_value_t = 50)]
    pub chat_agents: usize,
    /// With --chat: seconds between one visitor's messages
    #[arg(long, default_value_t = 5)]
    pub chat_interval: u64,
    /// With --chat: seconds of timed load once every chat is answered
    #[arg(long, default_value_t = 60)]
    pub chat_seconds: u64,
    /// With --hooks: which provider's webhook to drive
    #[arg(long, value_enum, default_value_t = hooks::Hook::Whatsapp)]
    pub hook: hooks::Hook,
    /// Measure service levels instead: seed this many open tickets, time ticket creation
    /// while every ticket's targets are re-measured after a policy change, then time the
    /// timer pass of --sla-rules rules (creates run with --concurrency clients)
    #[arg(long, value_name = "TICKETS")]
    pub sla: Option<usize>,
    /// With --sla: time-triggered rules for the timer pass
    #[arg(long, default_value_t = 50)]
    pub sla_rules: usize,
    /// With --sla: seconds of ticket creation before the policy change (the idle figure)
    #[arg(long, default_value_t = 15)]
    pub sla_idle_seconds: u64,
    /// With --sla: the change timed: the email policy's first response (its tickets are
    /// measured again) or the default calendar's hours (every open ticket is)
    #[arg(long, value_enum, default_value_t = sla::Change::Policy)]
    pub sla_change: sla::Change,
    /// Measure the agents' workspace instead: seed this many open tickets, then time the queue,
    /// at-risk and ticket pages (--queries requests each), the page weights, and live updates
    #[arg(long, value_name = "TICKETS")]
    pub workspace: Option<usize>,
    /// With --workspace: messages in the long conversation whose ticket page is timed
    #[arg(long, default_value_t = 200)]
    pub workspace_messages: usize,
    /// With --workspace: live tabs (WebSockets) watching that ticket
    #[arg(long, default_value_t = 500)]
    pub workspace_sessions: usize,
    /// With --workspace: messages posted while the tabs watch
    #[arg(long, default_value_t = 20)]
    pub workspace_rounds: usize,
    /// Measure the router instead (in process): this many agents, --routing-tickets waiting
    /// tickets, --queries decisions of each kind (a ticket to an agent; an agent's next ticket)
    #[arg(long, value_name = "AGENTS")]
    pub routing: Option<usize>,
    /// With --routing: waiting tickets
    #[arg(long, default_value_t = 10_000)]
    pub routing_tickets: usize,
    /// Keep the benchmark's temporary database instead of removing it (to profile against it)
    #[arg(long)]
    pub keep_files: bool,
}

/// Set by --keep-files: scratch directories outlive the run.
static KEEP_FILES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Queue-view and search requests run at most this many at a time: a help desk has many more
/// people creating tickets than agents looking at queues.
const MAX_QUERY_CONCURRENCY: usize = 8;

/// Runs the benchmark and prints its report.
///
/// `database_url`: `Some(url)` if the user passed `--database` (the benchmark then uses that
/// database, which must be empty); `None` means a fresh SQLite file in a temporary directory,
/// removed afterwards. Ignored with `--url`, except to name the database kind in the report.
pub async fn run(args: BenchArgs, database_url: Option<String>) -> anyhow::Result<()> {
    anyhow::ensure!(args.tickets > 0, "--tickets must be at least 1");
    KEEP_FILES.store(args.keep_files, std::sync::atomic::Ordering::Relaxed);
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    if let Some(visitors) = args.chat {
        anyhow::ensure!(visitors > 0, "--chat must be at least 1");
        let load = chat::ChatLoad {
            visitors,
            agents: args.chat_agents,
            interval_s: args.chat_interval,
            seconds: args.chat_seconds,
        };
        let report = chat::run(load, database_url).await?;
        if args.json {
            println!("{}", serde_json::to_string(&report).context("encoding the benchmark report")?);
        } else {
            print!("{}", report.table());
        }
        return Ok(());
    }
    if let Some(tickets) = args.workspace {
        anyhow::ensure!(tickets > 0, "--workspace must be at least 1");
        let load = workspace::WorkspaceLoad {
            tickets,
            requests: args.queries,
            messages: args.workspace_messages.max(1),
            sessions: args.workspace_sessions,
            rounds: args.workspace_rounds,
        };
        let report = workspace::run(load, database_url).await?;
        if args.json {
            println!("{}", serde_json::to_string(&report).context("encoding the benchmark report")?);
        } else {
            print!("{}", report.table());
        }
        return Ok(());
    }
    if let Some(tickets) = args.sla {
        anyhow::ensure!(tickets > 0, "--sla must be at least 1");
        let load = sla::SlaLoad {
            tickets,
            rules: args.sla_rules,
            concurrency: args.concurrency,
            idle_seconds: args.sla_idle_seconds,
            change: args.sla_change,
        };
        let report = sla::run(load, database_url).await?;
        if args.json {
            println!("{}", serde_json::to_string(&report).context("encoding the benchmark report")?);
        } else {
            print!("{}", report.table());
        }
        return Ok(());
    }
    if let Some(agents) = args.routing {
        anyhow::ensure!(agents > 0, "--routing must be at least 1 agent");
        anyhow::ensure!(args.routing_tickets > 0, "--routing-tickets must be at least 1");
        anyhow::ensure!(args.queries > 0, "--queries must be at least 1");
        let report = routing::run(agents, args.routing_tickets, args.queries);
        if args.json {
            println!("{}", serde_json::to_string(&report).context("encoding the benchmark report")?);
        } else {
            print!("{}", report.table());
        }
        return Ok(());
    }
    if let Some(posts) = args.hooks {
        anyhow::ensure!(posts > 0, "--hooks must be at least 1");
        let report = hooks::run(args.hook, posts, args.concurrency, database_url).await?;
        if args.json {
            println!("{}", serde_json::to_string(&report).context("encoding the benchmark report")?);
        } else {
            print!("{}", report.table());
        }
        return Ok(());
    }
    if let Some(messages) = args.mail {
        anyhow::ensure!(messages > 0, "--mail must be at least 1");
        let report = mail::run(messages, args.concurrency, args.mailgate_runs, database_url).await?;
        if args.json {
            println!("{}", serde_json::to_string(&report).context("encoding the benchmark report")?);
        } else {
            print!("{}", report.table());
        }
        return Ok(());
    }

    let (measurements, database, rss_mb) = match args.url.as_deref() {
        Some(url) => {
            let token = args
                .token
                .as_deref()
                .context("--url needs an admin token for that server: pass --token or set RAPPORT_BENCH_TOKEN")?;
            let target = Target::connect(url, token)?;
            // A server in use may already have a team of that name; the time keeps it unique.
            let team_name = format!("Bench team {}", jiff::Timestamp::now());
            let measurements = load::measure(&target, &team_name, &args).await?;
            let database = database_url.as_deref().map(database_kind);
            (measurements, database, None)
        }
        None => {
            let (measurements, database, rss_mb) = run_own_server(&args, database_url).await?;
            (measurements, Some(database), rss_mb)
        }
    };

    let report = Report::new(&args, database, &measurements, rss_mb);
    if args.json {
        let json = serde_json::to_string(&report).context("encoding the benchmark report")?;
        println!("{json}");
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

/// Steps 1–3 of the benchmark and its clean-up: a fresh database, a token, a server process.
async fn run_own_server(
    args: &BenchArgs,
    database_url: Option<String>,
) -> anyhow::Result<(Measurements, &'static str, Option<f64>)> {
    // Declared before the server so that it is dropped after it: the server is gone by the
    // time the directory is removed, on every path out of this function.
    let mut scratch: Option<ScratchDir> = None;
    let database_url = match database_url {
        Some(url) => url,
        None => {
            let dir = ScratchDir::create()?;
            let url = format!("sqlite://{}", dir.path.join("bench.db").display());
            scratch = Some(dir);
            url
        }
    };
    let must_check_empty = scratch.is_none();
    let database = database_kind(&database_url);

    let exe = std::env::current_exe().context("finding the rapport executable to start")?;
    let token = server::create_token(&exe, &database_url).await.context("creating an admin token for the benchmark")?;
    let mut server = Server::start(&exe, &database_url).await.context("starting the server for the benchmark")?;
    let target = Target::connect(&server.base_url, &token)?;

    let outcome = async {
        if must_check_empty {
            target.ensure_no_tickets().await?;
        }
        load::measure(&target, "Bench team", args).await
    }
    .await;
    let measurements = match outcome {
        Ok(measurements) => measurements,
        // A crashed server explains every failed request at once, so say so first.
        Err(err) => {
            return Err(match server.exit_note() {
                Some(note) => err.context(note),
                None => err,
            });
        }
    };
    let rss_mb = server.peak_rss_mb();
    server.stop().await?;
    drop(scratch);
    Ok((measurements, database, rss_mb))
}

/// Names the database kind from its URL's scheme, as the report shows it.
fn database_kind(url: &str) -> &'static str {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => "sqlite",
        "postgres" | "postgresql" => "postgres",
        _ => "unknown",
    }
}

/// Seeds `tickets` open tickets created over the two hours before `now`,
/// with progress on stderr; the seconds it took.
async fn seed_open(store: &rapport_store::Store, tickets: usize, now: rapport_core::Timestamp) -> anyhow::Result<f64> {
    let started = std::time::Instant::now();
    let step = (tickets / 20).max(1);
    let hours = 2 * rapport_core::time::HOUR;
    store
        .seed_open_tickets(tickets, now.plus_millis(-hours), hours, |done| {
            if done % step < 5_000 || done == tickets {
                eprint!("\rseeding open tickets: {done}/{tickets}");
            }
        })
        .await?;
    eprintln!();
    Ok(started.elapsed().as_secs_f64())
}

/// Measures the service levels of every ticket waiting for it, with
/// progress on stderr; how many it measured and the seconds it took.
async fn measure_all(store: &rapport_store::Store, tickets: usize) -> anyhow::Result<(usize, f64)> {
    let started = std::time::Instant::now();
    let mut measured = 0;
    loop {
        let taken = store.project_changed(2_000, rapport_server::Clock::system().now()).await?;
        measured += taken;
        if taken == 0 {
            break;
        }
        if measured % 100_000 < 2_000 {
            eprint!("\rmeasuring every ticket's targets: {measured}/{tickets}");
        }
    }
    eprintln!();
    Ok((measured, started.elapsed().as_secs_f64()))
}

/// A temporary directory for the benchmark's SQLite file, removed when dropped.
struct ScratchDir {
    pub(crate) path: PathBuf,
}

impl ScratchDir {
    fn create() -> anyhow::Result<ScratchDir> {
        let unique = format!("rapport-bench-{}-{}", std::process::id(), jiff::Timestamp::now().as_nanosecond());
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir(&path).with_context(|| {
            format!("creating a temporary directory for the benchmark database at {}", path.display())
        })?;
        Ok(ScratchDir { path })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if KEEP_FILES.load(std::sync::atomic::Ordering::Relaxed) {
            eprintln!("kept the benchmark's files in {}", self.path.display());
            return;
        }
        // Best effort: a leftover directory in the temp dir is not worth failing the run for.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The nearest-rank percentile of samples sorted in ascending order: the smallest sample such
/// that at least `percent` percent of all samples are less than or equal to it. `None` when
/// there are no samples. Integer arithmetic, so that p99 of 100 samples is exactly the 99th.
fn percentile(sorted: &[Duration], percent: usize) -> Option<Duration> {
    let count = sorted.len();
    if count == 0 {
        return None;
    }
    let rank = (percent * count).div_ceil(100).clamp(1, count);
    sorted.get(rank - 1).copied()
}

/// Milliseconds, rounded to microseconds so the JSON stays readable.
fn millis(duration: Duration) -> f64 {
    round3(duration.as_secs_f64() * 1000.0)
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// What `--json` prints; the table shows the same figures.
#[derive(Debug, Serialize)]
struct Report {
    database: Option<&'static str>,
    tickets: usize,
    concurrency: usize,
    queries: usize,
    query_concurrency: usize,
    created: usize,
    create_errors: usize,
    create_wall_s: f64,
    create_per_s: f64,
    create_p50_ms: Option<f64>,
    create_p99_ms: Option<f64>,
    queue_errors: usize,
    queue_p50_ms: Option<f64>,
    queue_p99_ms: Option<f64>,
    search_errors: usize,
    search_p50_ms: Option<f64>,
    search_p99_ms: Option<f64>,
    rss_mb: Option<f64>,
}

impl Report {
    fn new(
        args: &BenchArgs,
        database: Option<&'static str>,
        measurements: &Measurements,
        rss_mb: Option<f64>,
    ) -> Report {
        let create = &measurements.create;
        let wall = create.wall.as_secs_f64();
        let created = create.succeeded();
        let create_per_s = if wall > 0.0 { round3(created as f64 / wall) } else { 0.0 };
        let p = |phase: &PhaseResult, percent| percentile(&phase.latencies, percent).map(millis);
        Report {
            database,
            tickets: args.tickets,
            concurrency: args.concurrency,
            queries: args.queries,
            query_concurrency: query_concurrency(args),
            created,
            create_errors: create.errors,
            create_wall_s: round3(wall),
            create_per_s,
            create_p50_ms: p(create, 50),
            create_p99_ms: p(create, 99),
            queue_errors: measurements.queue.errors,
            queue_p50_ms: p(&measurements.queue, 50),
            queue_p99_ms: p(&measurements.queue, 99),
            search_errors: measurements.search.errors,
            search_p50_ms: p(&measurements.search, 50),
            search_p99_ms: p(&measurements.search, 99),
            rss_mb: rss_mb.map(round1),
        }
    }

    /// The human-readable form: a header, one row per timed phase, the server's memory.
    fn table(&self) -> String {
        let ms = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2} ms"));
        let mut out = String::new();
        out.push_str(&format!(
            "Rapport benchmark: {} database, {} tickets, concurrency {}\n\n",
            self.database.unwrap_or("unknown"),
            self.tickets,
            self.concurrency
        ));
        out.push_str(&format!(
            "{:<12} {:>9} {:>12} {:>12} {:>7}   {}\n",
            "phase", "requests", "p50", "p99", "errors", "throughput"
        ));
        out.push_str(&format!(
            "{:<12} {:>9} {:>12} {:>12} {:>7}   {:.0} tickets/s ({} created in {:.2} s)\n",
            "create",
            self.tickets,
            ms(self.create_p50_ms),
            ms(self.create_p99_ms),
            self.create_errors,
            self.create_per_s,
            self.created,
            self.create_wall_s
        ));
        for (name, p50, p99, errors) in [
            ("queue view", self.queue_p50_ms, self.queue_p99_ms, self.queue_errors),
            ("search", self.search_p50_ms, self.search_p99_ms, self.search_errors),
        ] {
            out.push_str(&format!(
                "{:<12} {:>9} {:>12} {:>12} {:>7}   concurrency {}\n",
                name,
                self.queries,
                ms(p50),
                ms(p99),
                errors,
                self.query_concurrency
            ));
        }
        let rss = self.rss_mb.map_or_else(|| "n/a (external server)".to_owned(), |mb| format!("{mb:.1} MB"));
        out.push_str(&format!("\nserver peak RSS: {rss}\n"));
        out
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn query_concurrency(args: &BenchArgs) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    args.query_concurrency.unwrap_or(cores).min(args.concurrency).clamp(1, MAX_QUERY_CONCURRENCY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis_list(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_millis).collect()
    }

    #[test]
    fn percentile_uses_nearest_rank() {
        let hundred: Vec<u64> = (1..=100).collect();
        let hundred = millis_list(&hundred);
        let ten: Vec<u64> = (1..=10).collect();
        let ten = millis_list(&ten);
        let one = millis_list(&[7]);
        let cases: [(&[Duration], usize, Option<u64>); 9] = [
            (&hundred, 50, Some(50)),
            (&hundred, 99, Some(99)),
            (&hundred, 100, Some(100)),
            (&hundred, 1, Some(1)),
            (&ten, 50, Some(5)),
            (&ten, 99, Some(10)),
            (&one, 50, Some(7)),
            (&one, 99, Some(7)),
            (&[], 99, None),
        ];
        for (samples, percent, expected) in cases {
            assert_eq!(
                percentile(samples, percent),
                expected.map(Duration::from_millis),
                "p{percent} of {} samples",
                samples.len()
            );
        }
    }

    #[test]
    fn database_kind_comes_from_the_scheme() {
        assert_eq!(database_kind("sqlite:///tmp/x/bench.db"), "sqlite");
        assert_eq!(database_kind("postgres://u:p@localhost/rapport"), "postgres");
        assert_eq!(database_kind("postgresql://localhost/rapport"), "postgres");
        assert_eq!(database_kind("mysql://localhost"), "unknown");
    }

    #[test]
    fn query_concurrency_is_capped() {
        let args = |query_concurrency, concurrency| BenchArgs {
            tickets: 1,
            concurrency,
            url: None,
            token: None,
            queries: 1,
            query_concurrency,
            json: false,
            mail: None,
            mailgate_runs: 0,
            chat: None,
            chat_agents: 1,
            chat_interval: 5,
            chat_seconds: 1,
            hooks: None,
            hook: hooks::Hook::Whatsapp,
            sla: None,
            sla_rules: 0,
            sla_idle_seconds: 0,
            sla_change: sla::Change::Policy,
            workspace: None,
            workspace_messages: 200,
            workspace_sessions: 500,
            workspace_rounds: 20,
            routing: None,
            routing_tickets: 10_000,
            keep_files: false,
        };
        assert_eq!(query_concurrency(&args(Some(32), 32)), 8);
        assert_eq!(query_concurrency(&args(Some(3), 32)), 3);
        assert_eq!(query_concurrency(&args(Some(8), 2)), 2);
        assert!(query_concurrency(&args(None, 32)) >= 1);
    }
}
