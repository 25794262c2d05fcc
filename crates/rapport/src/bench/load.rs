//! The HTTP side of the benchmark: one keep-alive client and the three timed phases.
//!
//! Each phase runs a fixed number of requests on N tokio tasks that take the next request
//! number from a shared counter, so a slow request never holds up a whole batch. A request's
//! latency runs from sending it to having read its whole response body.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::{BenchArgs, query_concurrency, workload};

/// The queue view's page size.
const QUEUE_PAGE: usize = 50;

/// Failure samples kept per phase for the error message.
const ERROR_SAMPLES: usize = 3;

/// A Rapport server to load, with the credentials to do it.
pub(super) struct Target {
    client: Client,
    base_url: String,
    authorization: HeaderValue,
}

/// The timings of one run.
pub(super) struct Measurements {
    pub(super) create: PhaseResult,
    pub(super) queue: PhaseResult,
    pub(super) search: PhaseResult,
}

/// The timings of one phase.
pub(super) struct PhaseResult {
    /// Latency of every request that got a response, sorted ascending.
    pub(super) latencies: Vec<Duration>,
    pub(super) requests: usize,
    pub(super) errors: usize,
    /// From the first request sent to the last response read.
    pub(super) wall: Duration,
    error_samples: Vec<String>,
}

impl PhaseResult {
    pub(super) fn succeeded(&self) -> usize {
        self.requests - self.errors
    }

    /// Fails when more than 0.1% of the requests failed: the figures would then describe
    /// error handling rather than the work asked for.
    fn ensure_mostly_succeeded(&self, phase: &str) -> anyhow::Result<()> {
        if self.errors * 1000 <= self.requests {
            return Ok(());
        }
        anyhow::bail!(
            "{} of {} {phase} requests failed (more than 0.1%), for example:\n  {}",
            self.errors,
            self.requests,
            self.error_samples.join("\n  ")
        )
    }
}

/// What a phase's requests do.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// `POST /api/v1/tickets` into the given team.
    Create { team: i64 },
    /// The team's queue view; the page must hold `expected` tickets.
    Queue { team: i64, expected: usize },
    /// Full-text search for the marker word.
    Search,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Phase::Create { .. } => "creating tickets",
            Phase::Queue { .. } => "queue view",
            Phase::Search => "search",
        }
    }
}

#[derive(Deserialize)]
struct CreatedTeam {
    id: i64,
}

#[derive(Deserialize)]
struct TicketPage {
    tickets: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
struct SearchResults {
    results: Vec<IgnoredAny>,
}

/// Creates a team, fills it with `args.tickets` tickets, then times the queue view and search.
pub(super) async fn measure(target: &Target, team_name: &str, args: &BenchArgs) -> anyhow::Result<Measurements> {
    let team = target.create_team(team_name).await?;
    let progress = ProgressStyle::with_template("{msg:>16} [{bar:30}] {pos}/{len} {per_sec:>12} eta {eta}")
        .context("building the progress bar")?
        .progress_chars("=> ");
    let target = Arc::new(target.clone());
    let phase_run = |phase: Phase, total: usize, concurrency: usize| {
        let bar = if args.json {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(total as u64).with_style(progress.clone()).with_message(phase.label())
        };
        run_phase(target.clone(), phase, total, concurrency, bar)
    };

    let create = phase_run(Phase::Create { team }, args.tickets, args.concurrency).await?;
    create.ensure_mostly_succeeded("create")?;

    let expected = create.succeeded().min(QUEUE_PAGE);
    let concurrency = query_concurrency(args);
    let queue = phase_run(Phase::Queue { team, expected }, args.queries, concurrency).await?;
    queue.ensure_mostly_succeeded("queue view")?;

    let search = phase_run(Phase::Search, args.queries, concurrency).await?;
    search.ensure_mostly_succeeded("search")?;

    Ok(Measurements { create, queue, search })
}

/// Sends `total` requests of one phase from `concurrency` tasks.
async fn run_phase(
    target: Arc<Target>,
    phase: Phase,
    total: usize,
    concurrency: usize,
    progress: ProgressBar,
) -> anyhow::Result<PhaseResult> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.min(total) {
        let target = target.clone();
        let next = next.clone();
        let progress = progress.clone();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    break tally;
                }
                let sent = Instant::now();
                let outcome = target.request(phase, index).await;
                tally.record(sent.elapsed(), outcome);
                progress.inc(1);
            }
        }));
    }
    let mut tally = Tally::default();
    for worker in workers {
        tally.merge(worker.await.context("a benchmark client task failed")?);
    }
    let wall = started.elapsed();
    progress.finish_and_clear();
    tally.latencies.sort_unstable();
    Ok(PhaseResult {
        latencies: tally.latencies,
        requests: total,
        errors: tally.errors,
        wall,
        error_samples: tally.error_samples,
    })
}

/// One task's share of a phase's results.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
    error_samples: Vec<String>,
}

impl Tally {
    fn record(&mut self, latency: Duration, outcome: Result<(), Failure>) {
        match outcome {
            Ok(()) => self.latencies.push(latency),
            Err(Failure::Response(message)) => {
                self.latencies.push(latency);
                self.error(message);
            }
            Err(Failure::Transport(message)) => self.error(message),
        }
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.error_samples.len() < ERROR_SAMPLES {
            self.error_samples.push(message);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        for message in other.error_samples {
            if self.error_samples.len() < ERROR_SAMPLES {
                self.error_samples.push(message);
            }
        }
    }
}

/// Why one request failed. A wrong answer still took a measurable time; a broken connection
/// did not, so only the former's latency is recorded.
enum Failure {
    Response(String),
    Transport(String),
}

impl Failure {
    fn into_message(self) -> String {
        match self {
            Failure::Response(message) | Failure::Transport(message) => message,
        }
    }
}

impl Target {
    /// Prepares a client for the server at `base_url` (`http://host:port`), authenticating
    /// with `token`.
    pub(super) fn connect(base_url: &str, token: &str) -> anyhow::Result<Target> {
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .context("the token contains characters that cannot go in an HTTP header")?;
        authorization.set_sensitive(true);
        // No proxy: one between the load and the server would be part of every figure.
        let client = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .context("building the benchmark's HTTP client")?;
        Ok(Target { client, base_url: base_url.trim_end_matches('/').to_owned(), authorization })
    }

    fn clone(&self) -> Target {
        Target {
            client: self.client.clone(),
            base_url: self.base_url.clone(),
            authorization: self.authorization.clone(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `POST /api/v1/teams`, returning the new team's id.
    async fn create_team(&self, name: &str) -> anyhow::Result<i64> {
        let response = self
            .client
            .post(self.url("/api/v1/teams"))
            .header(AUTHORIZATION, self.authorization.clone())
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .with_context(|| format!("creating the benchmark's team at {}", self.base_url))?;
        let status = response.status();
        let body = response.text().await.context("reading the created team")?;
        anyhow::ensure!(
            status == StatusCode::CREATED,
            "creating the benchmark's team answered {status}: {}",
            snippet(&body)
        );
        let team: CreatedTeam = serde_json::from_str(&body).context("reading the created team's id")?;
        Ok(team.id)
    }

    /// Fails unless the server holds no tickets yet, so that the queue view and search are
    /// measured on exactly the tickets this run created.
    pub(super) async fn ensure_no_tickets(&self) -> anyhow::Result<()> {
        let page: TicketPage = self
            .get("/api/v1/tickets?limit=1")
            .await
            .map_err(|failure| anyhow::anyhow!(failure.into_message()))
            .context("checking that the database is empty")?;
        anyhow::ensure!(
            page.tickets.is_empty(),
            "the database given with --database already holds tickets; the benchmark needs an \
             empty one (or omit --database to use a fresh SQLite file)"
        );
        Ok(())
    }

    async fn request(&self, phase: Phase, index: usize) -> Result<(), Failure> {
        match phase {
            Phase::Create { team } => {
                let what = "POST /api/v1/tickets";
                let ticket = workload::ticket(index, team);
                let response = self
                    .client
                    .post(self.url("/api/v1/tickets"))
                    .header(AUTHORIZATION, self.authorization.clone())
                    .json(&ticket)
                    .send()
                    .await
                    .map_err(|err| transport(what, &err))?;
                let response = expect_status(what, response, StatusCode::CREATED).await?;
                // Reading the body to the end keeps the connection reusable.
                response.bytes().await.map_err(|err| transport(what, &err))?;
                Ok(())
            }
            Phase::Queue { team, expected } => {
                let path = format!("/api/v1/tickets?team={team}&status=new,open&sort=priority&limit={QUEUE_PAGE}");
                let page: TicketPage = self.get(&path).await?;
                if page.tickets.len() != expected {
                    return Err(Failure::Response(format!(
                        "GET {path}: {} tickets on the page, expected {expected}",
                        page.tickets.len()
                    )));
                }
                Ok(())
            }
            Phase::Search => {
                let path = format!("/api/v1/search?q={}", workload::MARKER);
                let found: SearchResults = self.get(&path).await?;
                if found.results.is_empty() {
                    return Err(Failure::Response(format!("GET {path}: no results")));
                }
                Ok(())
            }
        }
    }

    /// `GET path`, expecting 200 and a JSON body of type `T`.
    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        let what = format!("GET {path}");
        let response = self
            .client
            .get(self.url(path))
            .header(AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            .map_err(|err| transport(&what, &err))?;
        let response = expect_status(&what, response, StatusCode::OK).await?;
        let body = response.bytes().await.map_err(|err| transport(&what, &err))?;
        serde_json::from_slice(&body).map_err(|err| Failure::Response(format!("{what}: unexpected JSON: {err}")))
    }
}

/// Passes `response` on if it has the `expected` status; otherwise describes it with the
/// start of its body.
async fn expect_status(
    what: &str,
    response: reqwest::Response,
    expected: StatusCode,
) -> Result<reqwest::Response, Failure> {
    let status = response.status();
    if status == expected {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(Failure::Response(format!("{what} answered {status}: {}", snippet(&body))))
}

fn transport(what: &str, err: &reqwest::Error) -> Failure {
    // reqwest's own message hides the cause (refused, reset, timed out) in its sources.
    let mut message = format!("{what}: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    Failure::Transport(message)
}

/// The start of a response body, for error messages.
fn snippet(body: &str) -> &str {
    let end = body.char_indices().nth(200).map_or(body.len(), |(at, _)| at);
    body.get(..end).unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_cuts_long_bodies_on_a_character_boundary() {
        assert_eq!(snippet(" short "), "short");
        let long = "é".repeat(300);
        assert_eq!(snippet(&long).chars().count(), 200);
    }

    #[test]
    fn more_than_a_thousandth_of_failures_fails_the_phase() {
        let result = |requests, errors| PhaseResult {
            latencies: Vec::new(),
            requests,
            errors,
            wall: Duration::ZERO,
            error_samples: vec!["POST /api/v1/tickets answered 500".to_owned()],
        };
        assert!(result(10_000, 10).ensure_mostly_succeeded("create").is_ok());
        let err = result(10_000, 11).ensure_mostly_succeeded("create").unwrap_err();
        assert!(err.to_string().contains("11 of 10000 create requests failed"));
        assert!(result(10, 1).ensure_mostly_succeeded("create").is_err());
    }
}
