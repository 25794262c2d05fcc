//! `rapport serve` as an admin starts and stops it (issue 14): links in
//! emails follow the address it listens on, it says at start what would
//! mislead (links only this machine reaches, channels that cannot send), and
//! on SQLite a clean stop, or a quiet spell, leaves no large WAL beside the
//! database. The WAL tests use SQLite whatever `RAPPORT_TEST_DATABASE_URL`
//! says: PostgreSQL has no such file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rapport_testkit::smtp::SmtpSink;
use reqwest::StatusCode;
use sqlx::Connection;

mod support;
use support::{Served, create_token, database_url};

/// The WAL a stopped or quiet server may leave, at most.
const SMALL_WAL: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_magic_links_point_at_the_listening_address() {
    let dir = tempfile::tempdir().unwrap();
    let database = database_url(dir.path(), "links.db").await;
    let sink = SmtpSink::start().unwrap();
    let config = dir.path().join("rapport.toml");
    std::fs::write(
        &config,
        format!("database_url = {database:?}\n[email]\naddress = \"help@desk.example\"\nsmtp_url = {:?}\n", sink.url()),
    )
    .unwrap();
    let served = Served::start(&["--config", config.to_str().unwrap()]).await;
    let base = served.base.trim_end_matches('/').to_owned();
    assert!(!base.ends_with(":8080"), "a port the system picked: {base}");

    rapport_channels::http::install_crypto_provider();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = [
        ("name", "Ann Example"),
        ("email", "ann@example.com"),
        ("subject", "Invoice missing"),
        ("message", "Where is my invoice?"),
    ];
    let page = support::post_help_form(&client, &base, &form).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("We are sending"), "SMTP is configured");

    let mail = sink.wait_for(1, Duration::from_secs(20)).await.unwrap();
    let message = mail_parser::MessageParser::default().parse(&mail[0].data).unwrap();
    let text = message.body_text(0).unwrap().into_owned();
    let start = text.find("/help/t/").unwrap_or_else(|| panic!("no link in {text}"));
    let link_start = text[..start].rfind("http").unwrap();
    let link: String = text[link_start..].chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(link.starts_with(&format!("{base}/help/t/")), "the link {link} points at the listening address {base}");
    let portal = client.get(&link).send().await.unwrap();
    assert_eq!(portal.status(), StatusCode::OK, "the link opens the customer's ticket");
    assert!(portal.text().await.unwrap().contains("Invoice missing"));

    let stderr = served.terminate().await;
    // 127.0.0.1 reaches nobody else: serve says so, and says what to set.
    assert!(
        stderr.contains(&format!("links in emails (magic links to the help pages) point at {base}, which customers"))
            && stderr.contains("set portal.public_url"),
        "{stderr}"
    );
    assert!(stderr.contains("replies can be sent on: email, web, chat, api"), "{stderr}");
    assert!(
        stderr.contains("replies on telegram cannot be sent and wait in the outbox: Telegram is not configured"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_serve_warns_when_no_channel_carries_email() {
    let dir = tempfile::tempdir().unwrap();
    let database = database_url(dir.path(), "quiet.db").await;
    let served = Served::start(&["--database", &database]).await;
    let stderr = served.terminate().await;
    let warning = stderr
        .lines()
        .find(|line| line.contains("replies on email, web, api cannot be sent"))
        .unwrap_or_else(|| panic!("no word about email in {stderr}"));
    assert!(warning.contains("WARN") && warning.contains("set email.smtp_url"), "{warning}");
    assert!(stderr.contains("replies can be sent on: chat"), "{stderr}");
}

#[tokio::test]
async fn issue_15_debug_logs_every_request_by_its_route_never_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _, token) = sqlite_desk(dir.path(), "logged.db").await;
    let served = Served::start_logging(&["--database", &url], "warn,rapport_server=debug").await;
    let http = support::http();
    let found = http.get(format!("{}/api/v1/tickets/77", served.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(found.status(), StatusCode::NOT_FOUND);
    let listed = http
        .get(format!("{}/api/v1/tickets?status=new&token={token}", served.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::UNPROCESSABLE_ENTITY, "an unknown parameter");
    let nowhere = http.get(format!("{}/no/such/page", served.base)).send().await.unwrap();
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    let stderr = served.terminate().await;
    let logged = |route: &str, status: u16| {
        stderr.lines().any(|line| {
            line.contains("DEBUG")
                && line.contains(&format!("route=\"{route}\""))
                && line.contains(&format!("status={status}"))
                && line.contains("method=GET")
                && line.contains("ms=")
        })
    };
    assert!(logged("/api/v1/tickets/{id}", 404), "{stderr}");
    assert!(logged("/api/v1/tickets", 422), "{stderr}");
    assert!(logged("(no route)", 404), "{stderr}");
    assert!(!stderr.contains(&token) && !stderr.contains("/77"), "no token, no id: {stderr}");
}

/// The SQLite file `name` in `dir`, with an admin token for it.
async fn sqlite_desk(dir: &Path, name: &str) -> (String, PathBuf, String) {
    let path = dir.join(name);
    let url = format!("sqlite://{}", path.display());
    let token = create_token(&["--database", &url, "--email", "load@example.com", "--role", "admin"]).await;
    let mut wal = path.into_os_string();
    wal.push("-wal");
    (url, PathBuf::from(wal), token)
}

/// Creates `count` tickets through the API, 16 at a time.
async fn create_tickets(base: &str, token: &str, count: usize) {
    let client = support::http();
    let mut workers = Vec::new();
    for worker in 0..16 {
        let (client, base, token) = (client.clone(), base.to_owned(), token.to_owned());
        workers.push(tokio::spawn(async move {
            for n in (worker..count).step_by(16) {
                let response = client
                    .post(format!("{base}/api/v1/tickets"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({
                        "subject": format!("WAL {n}"),
                        "body": format!("Ticket {n}: the scanner jams on every second page, again and again."),
                        "channel": "email",
                        "customer": {"email": format!("wal{}@example.com", n % 200)},
                    }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
}

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|metadata| metadata.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_clean_shutdown_leaves_no_wal() {
    let dir = tempfile::tempdir().unwrap();
    let (url, wal, token) = sqlite_desk(dir.path(), "wal.db").await;
    let served = Served::start(&["--database", &url]).await;
    create_tickets(&served.base, &token, 3000).await;
    let during = file_size(&wal).unwrap_or(0);
    assert!(during > SMALL_WAL, "the load grew the WAL to {during} bytes, so the test shows something");

    // Another process has the database open, as `rapport mailgate`, a backup
    // or an admin's sqlite3 shell may. SQLite leaves the log to the last
    // connection to close, so only the server's own checkpoint cuts it back.
    let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let counted: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets").fetch_one(&mut other).await.unwrap();
    assert_eq!(counted, 3000);

    let stderr = served.terminate().await;
    let after = file_size(&wal);
    assert!(after.is_none_or(|size| size < SMALL_WAL), "WAL after a clean stop: {after:?} bytes\n{stderr}");
    other.close().await.unwrap();

    let store = rapport_store::Store::open(&url, rapport_store::StoreOptions::default()).await.unwrap();
    assert_eq!(store.count_tickets().await.unwrap(), 3000, "every ticket is in the database file");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_quiet_server_truncates_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    let (url, wal, token) = sqlite_desk(dir.path(), "idle.db").await;
    let served = Served::start(&["--database", &url]).await;
    create_tickets(&served.base, &token, 3000).await;
    let during = file_size(&wal).unwrap_or(0);
    assert!(during > SMALL_WAL, "the load grew the WAL to {during} bytes, so the test shows something");

    // Nothing writes now: within a few checkpoint intervals the WAL is cut back.
    let started = Instant::now();
    let mut size = during;
    while started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        size = file_size(&wal).unwrap_or(0);
        if size < SMALL_WAL {
            break;
        }
    }
    assert!(size < SMALL_WAL, "the WAL of a quiet server is still {size} bytes after {:?}", started.elapsed());
    served.terminate().await;
}

/// Issue 15: with the common soft limit on open files, a few hundred chat
/// sockets used to take every page offline. `serve` raises the soft limit to
/// the hard one at start.
#[tokio::test]
async fn issue_15_serve_raises_its_open_file_limit_to_the_hard_limit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("files.db").display());
    let mut child = tokio::process::Command::new("sh")
        .args(["-c", "ulimit -Sn 256 && exec \"$0\" serve --listen 127.0.0.1:0 --database \"$1\""])
        .args([support::BIN, url.as_str()])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stdout.take().unwrap()));
    support::listening_address(&mut lines).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id().unwrap())).unwrap();
    let open_files: Vec<&str> =
        limits.lines().find(|line| line.starts_with("Max open files")).unwrap().split_whitespace().collect();
    let (soft, hard) = (open_files[3], open_files[4]);
    assert_eq!(soft, hard, "the soft limit was raised to the hard one: {limits}");
    child.kill().await.unwrap();
}
