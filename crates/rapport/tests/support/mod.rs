//! What the binary's end-to-end suites share: a database per test (SQLite, or
//! PostgreSQL when `RAPPORT_TEST_DATABASE_URL` is set), `rapport serve` on a
//! free port, `rapport token create`, and `rapport mailgate` with a message
//! on stdin. Each suite uses some of these.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

pub mod desk;

pub const BIN: &str = env!("CARGO_BIN_EXE_rapport");

/// A fresh database: `rapport_test_<random>` on the PostgreSQL server of
/// `RAPPORT_TEST_DATABASE_URL`, else the SQLite file `file` in `dir`.
pub async fn database_url(dir: &std::path::Path, file: &str) -> String {
    match std::env::var("RAPPORT_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!("rapport_test_{:016x}", rand::random::<u64>());
            let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
            let (server, _) = base.rsplit_once('/').unwrap();
            format!("{server}/{name}")
        }
        _ => format!("sqlite://{}", dir.join(file).display()),
    }
}

/// `rapport token create ARGS` (ARGS name the database and the agent) on a
/// database set up as `serve` would (`rapport migrate` first); returns the token.
pub async fn create_token<S: AsRef<OsStr>>(args: &[S]) -> String {
    // Only the arguments that name the database reach `migrate`.
    let mut global = Vec::new();
    for pair in args.windows(2) {
        let flag = pair[0].as_ref();
        if flag == "--database" || flag == "--config" || flag == "--data-dir" {
            global.extend([flag, pair[1].as_ref()]);
        }
    }
    let migrated = Command::new(BIN).arg("migrate").args(&global).output().await.unwrap();
    assert!(migrated.status.success(), "migrate failed: {}", String::from_utf8_lossy(&migrated.stderr));
    let output = Command::new(BIN).args(["token", "create"]).args(args).output().await.unwrap();
    assert!(output.status.success(), "token create failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().last().unwrap().trim().to_owned()
}

/// `rapport migrate --database URL`: a help desk set up as `serve` would, for
/// the commands that never create one (`mailgate`, reports, rules...).
pub fn migrate(database: &str) {
    let migrated = std::process::Command::new(BIN).args(["migrate", "--database", database]).output().unwrap();
    assert!(migrated.status.success(), "migrate failed: {}", String::from_utf8_lossy(&migrated.stderr));
}

/// An HTTP client for the API (reqwest's TLS needs the process's crypto provider).
pub fn http() -> reqwest::Client {
    rapport_channels::http::install_crypto_provider();
    reqwest::Client::new()
}

/// Starts `rapport serve --listen 127.0.0.1:0 ARGS` with `RUST_LOG=log`;
/// returns the child (killed when dropped) and its base URL.
pub async fn start_server<S: AsRef<OsStr>>(args: &[S], log: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", log)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = listening_address(&mut lines).await;
    // Keep reading, so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, address)
}

/// Pipes `raw` into `rapport mailgate ARGS`; returns its exit code and what it wrote to stderr.
pub async fn mailgate<S: AsRef<OsStr>>(args: &[S], raw: &[u8]) -> (i32, String) {
    let (code, _, stderr) = mailgate_output(args, raw).await;
    (code, stderr)
}

/// Pipes `raw` into `rapport mailgate ARGS`; returns its exit code, its stdout and its stderr.
pub async fn mailgate_output<S: AsRef<OsStr>>(args: &[S], raw: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .arg("mailgate")
        .args(args)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A mailgate that refuses its command line exits before reading.
    let _ = stdin.write_all(raw).await;
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

/// Starts `rapport serve ARGS` (the demo's flags among them) with its
/// stderr passed through; returns the child and what it printed up to the
/// "API reference" line that ends the start-up banner (within `wait`).
pub async fn serve_until_banner<S: AsRef<OsStr>>(args: &[S], wait: Duration) -> (Child, Vec<String>) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let printed = tokio::time::timeout(wait, async {
        let mut printed = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.trim_start().starts_with("API reference");
            printed.push(line);
            if done {
                return printed;
            }
        }
        panic!("the server exited after printing {printed:?}");
    })
    .await
    .unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, printed)
}

/// A `rapport serve` child with everything it wrote to stderr.
pub struct Served {
    pub child: Child,
    pub base: String,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

impl Served {
    /// Starts `rapport serve --listen 127.0.0.1:0 ARGS` and waits until it listens.
    pub async fn start(args: &[&str]) -> Served {
        Served::start_logging(args, "info,sqlx=warn").await
    }

    /// The same with `RUST_LOG=log`.
    pub async fn start_logging(args: &[&str], log: &str) -> Served {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", log)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut errors = BufReader::new(child.stderr.take().unwrap()).lines();
        let kept = stderr.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = errors.next_line().await {
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = listening_address(&mut lines).await;
        let stdout = Arc::new(Mutex::new(String::new()));
        let kept = stdout.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        Served { child, base, stderr, stdout }
    }

    /// What it printed on stdout after "listening on", once `done` holds for it.
    pub async fn stdout_until(&self, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.stdout.lock().unwrap().clone();
            if done(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "the server did not print what was expected: {text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM, as a service manager stops a server, and waits for the exit.
    pub async fn terminate(mut self) -> String {
        let pid = self.child.id().expect("the server is running").to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
        assert!(status.success(), "kill -TERM {pid}");
        let exit = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await.unwrap().unwrap();
        assert!(exit.success(), "a SIGTERM is a clean stop: {exit}; stderr:\n{}", self.stderr());
        // Let the reader take the last lines.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.stderr()
    }
}

/// Reads `serve`'s stdout until it says where it listens; the base URL.
pub async fn listening_address(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> String {
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, address)) = line.split_once("listening on ") {
                return address.trim().to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .unwrap()
}

/// Posts the help pages' web form (`/help/new`) as a browser does: it first
/// opens the form, for the CSRF token in it and the cookie that token is tied
/// to. `fields` are `(name, value)` pairs, sent url-encoded.
pub async fn post_help_form(client: &reqwest::Client, base: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let page = client.get(format!("{base}/help/new")).send().await.unwrap();
    let cookie: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let text = page.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = text.find(marker).unwrap_or_else(|| panic!("no CSRF token in {text}")) + marker.len();
    let token: String = text[start..].chars().take_while(char::is_ascii_hexdigit).collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().copied())
        .append_pair("csrf", &token)
        .finish();
    client
        .post(format!("{base}/help/new"))
        .header("origin", base)
        .header("cookie", cookie.join("; "))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}
