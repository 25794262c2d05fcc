//! The processes the benchmark starts: `rapport token create` once, then `rapport serve`.
//!
//! Both are this same executable, so the benchmark measures exactly the binary being run. The
//! server listens on port 0 and announces its address on stdout; its output is drained for as
//! long as it runs (a full pipe would stall it) and the last lines are kept to explain a crash.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};
use tokio::process::{Child, Command};

/// How long the server may take to migrate a fresh database and start listening.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Lines of server output kept for error messages.
const TAIL_LINES: usize = 20;

/// What the server prints once its listener is bound, followed by the address.
const LISTENING: &str = "listening on http://";

type Tail = Arc<Mutex<VecDeque<String>>>;

/// Runs `rapport token create` for an admin agent and returns the token: the last line it
/// prints.
pub(super) async fn create_token(exe: &Path, database_url: &str) -> anyhow::Result<String> {
    // `token create` opens only a database that exists: set it up first, as `serve` would.
    let migrated = Command::new(exe)
        .args(["migrate", "--database", database_url])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("running `{} migrate`", exe.display()))?;
    anyhow::ensure!(
        migrated.status.success(),
        "`rapport migrate` failed ({}): {}",
        migrated.status,
        String::from_utf8_lossy(&migrated.stderr).trim()
    );
    let output = Command::new(exe)
        .args(["token", "create", "--database", database_url])
        .args(["--email", "bench@example.com", "--name", "Bench", "--role", "admin"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("running `{} token create`", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(output.status.success(), "`rapport token create` failed ({}): {}", output.status, stderr.trim());
    let token = stdout.lines().map(str::trim).rfind(|line| !line.is_empty());
    token.map(str::to_owned).context("`rapport token create` printed no token")
}

/// A running `rapport serve` child process, killed when dropped.
pub(super) struct Server {
    child: Child,
    /// `http://ADDR`, without a trailing slash.
    pub(super) base_url: String,
    tail: Tail,
}

impl Server {
    /// Starts `rapport serve` on a free local port and waits until it is listening.
    pub(super) async fn start(exe: &Path, database_url: &str) -> anyhow::Result<Server> {
        Server::start_with(exe, database_url, &[]).await
    }

    /// Like [`Server::start`], with more arguments for `rapport serve` (a `--config` file).
    pub(super) async fn start_with(exe: &Path, database_url: &str, extra: &[&str]) -> anyhow::Result<Server> {
        let mut child = Command::new(exe)
            .args(["serve", "--database", database_url, "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("running `{} serve`", exe.display()))?;
        let stdout = child.stdout.take().context("the server's stdout was not captured")?;
        let stderr = child.stderr.take().context("the server's stderr was not captured")?;
        let tail: Tail = Arc::default();
        let stderr_drain = tokio::spawn(keep_tail(BufReader::new(stderr).lines(), tail.clone()));

        let mut stdout = BufReader::new(stdout).lines();
        let announced = tokio::time::timeout(STARTUP_TIMEOUT, async {
            while let Some(line) = stdout.next_line().await? {
                if let Some(addr) = parse_listening_line(&line) {
                    return Ok(Some(addr.to_owned()));
                }
                remember(&tail, line);
            }
            Ok::<_, std::io::Error>(None)
        })
        .await;

        let addr = match announced {
            Ok(Ok(Some(addr))) => addr,
            Ok(Err(err)) => return Err(err).context("reading the server's output"),
            Ok(Ok(None)) => {
                // Stdout closed: the server has exited or is about to. Wait for its last words.
                let status = child.wait().await.context("waiting for the server to exit")?;
                let _ = tokio::time::timeout(Duration::from_secs(2), stderr_drain).await;
                anyhow::bail!("the server exited ({status}) before it started listening{}", format_tail(&tail));
            }
            Err(_elapsed) => anyhow::bail!(
                "the server did not print `{LISTENING}…` within {} s{}",
                STARTUP_TIMEOUT.as_secs(),
                format_tail(&tail)
            ),
        };
        tokio::spawn(keep_tail(stdout, tail.clone()));
        Ok(Server { child, base_url: format!("http://{addr}"), tail })
    }

    /// The server's peak resident set size in MB, from `VmHWM` in `/proc/PID/status`. `None`
    /// where that file cannot be read (not Linux, or the server has exited).
    pub(super) fn peak_rss_mb(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        parse_vm_hwm_kb(&status).map(|kb| kb as f64 / 1024.0)
    }

    /// The server's resident set size now, in MB (`VmRSS`).
    pub(super) fn rss_mb(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?;
        line.split_whitespace().next()?.parse::<u64>().ok().map(|kb| kb as f64 / 1024.0)
    }

    /// If the server has exited, a sentence saying so with its last output lines.
    pub(super) fn exit_note(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => {
                Some(format!("the server exited ({status}) during the benchmark{}", format_tail(&self.tail)))
            }
            Ok(None) | Err(_) => None,
        }
    }

    /// Kills the server and waits for it to be gone. The benchmark's data is disposable, and
    /// both databases keep every acknowledged write across a kill.
    pub(super) async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("stopping the benchmark server")
    }
}

/// The address in the server's "… listening on http://ADDR" line, if this is that line.
fn parse_listening_line(line: &str) -> Option<&str> {
    let start = line.find(LISTENING)? + LISTENING.len();
    let addr = line.get(start..)?.split_whitespace().next()?;
    let addr = addr.trim_end_matches('/');
    (!addr.is_empty()).then_some(addr)
}

/// The `VmHWM` (peak RSS) figure in kB from the text of `/proc/PID/status`.
fn parse_vm_hwm_kb(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Reads lines until the end, keeping the last few.
async fn keep_tail<R: AsyncRead + Unpin>(mut lines: Lines<BufReader<R>>, tail: Tail) {
    while let Ok(Some(line)) = lines.next_line().await {
        remember(&tail, line);
    }
}

fn remember(tail: &Tail, line: String) {
    if let Ok(mut tail) = tail.lock() {
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

fn format_tail(tail: &Tail) -> String {
    let lines: Vec<String> = match tail.lock() {
        Ok(tail) => tail.iter().cloned().collect(),
        Err(_) => Vec::new(),
    };
    if lines.is_empty() {
        return String::new();
    }
    format!("; its last output:\n  {}", lines.join("\n  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_address_in_the_listening_line() {
        let cases = [
            ("Rapport is listening on http://127.0.0.1:43211", Some("127.0.0.1:43211")),
            ("listening on http://127.0.0.1:8080/ (press Ctrl-C to stop)", Some("127.0.0.1:8080")),
            ("2026-01-01T00:00:00Z INFO listening on http://[::1]:9000", Some("[::1]:9000")),
            ("applying migrations", None),
            ("listening on http://", None),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_listening_line(line), expected, "{line}");
        }
    }

    #[test]
    fn reads_peak_rss_from_proc_status() {
        let status = "Name:\trapport\nVmPeak:\t  123456 kB\nVmHWM:\t   54321 kB\nVmRSS:\t 50000 kB\n";
        assert_eq!(parse_vm_hwm_kb(status), Some(54321));
        assert_eq!(parse_vm_hwm_kb("Name:\trapport\n"), None);
    }
}
