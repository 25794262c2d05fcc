//! The agents' workspace served for a browser test: `rapport serve --demo`
//! on a free port with its mail going to an SMTP sink (and, when a test asks,
//! more configuration), and the helpers the workspace's Chromium suites
//! share: waiting, reading a page that live updates redraw, signing in.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rapport_testkit::browser::fantoccini::{Client, Locator};
use rapport_testkit::smtp::SmtpSink;
use tokio::process::Child;

use super::{BIN, database_url};

/// A demo help desk served with its mail going to a sink.
pub struct DemoDesk {
    pub base: String,
    pub config: PathBuf,
    pub email: String,
    pub password: String,
    pub sink: SmtpSink,
    _server: Child,
    _dir: tempfile::TempDir,
}

impl DemoDesk {
    pub async fn start() -> DemoDesk {
        DemoDesk::start_with(|_| String::new()).await
    }

    /// The demo with `extra(base)` appended to its configuration file
    /// (`base` is the address it will listen on, known beforehand).
    pub async fn start_with(extra: impl Fn(&str) -> String) -> DemoDesk {
        let dir = tempfile::tempdir().unwrap();
        let database = database_url(dir.path(), "desk.db").await;
        let sink = SmtpSink::start().unwrap();
        let config = dir.path().join("rapport.toml");
        // A free port, chosen now so that the configuration can name the address.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let listen = format!("127.0.0.1:{port}");
        std::fs::write(
            &config,
            format!(
                "database_url = {database:?}\n{}\n[email]\naddress = \"help@desk.example\"\nfrom_name = \"Desk\"\nsmtp_url = {:?}\n",
                extra(&format!("http://{listen}")),
                sink.url()
            ),
        )
        .unwrap();
        let args = ["--listen", listen.as_str(), "--demo", "--config", config.to_str().unwrap()];
        let (child, printed) = super::serve_until_banner(&args, Duration::from_secs(300)).await;
        let base = printed.iter().find_map(|line| line.split_once("listening on ")).unwrap().1.trim().to_owned();
        // "  workspace: http://…/ (admin sign-in: EMAIL / PASSWORD)"
        let sign_in = printed.iter().find_map(|line| line.split_once("(admin sign-in: ")).unwrap().1;
        let (email, password) = sign_in.trim_end_matches(')').split_once(" / ").unwrap();
        DemoDesk {
            base,
            config,
            email: email.to_owned(),
            password: password.to_owned(),
            sink,
            _server: child,
            _dir: dir,
        }
    }
}

impl DemoDesk {
    /// `rapport agent invite` for a new agent; the path of the link it prints.
    pub fn invite(&self, email: &str, name: &str, role: &str) -> String {
        let output = std::process::Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .args(["agent", "invite", "--email", email, "--name", name, "--role", role])
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        assert!(output.status.success(), "agent invite: {}", String::from_utf8_lossy(&output.stderr));
        let printed = String::from_utf8(output.stdout).unwrap();
        let link = printed.lines().last().unwrap();
        link[link.find("/password/").unwrap()..].to_owned()
    }
}

/// Waits until `check` holds, polling every 100 ms for up to 20 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn path_of(page: &Client) -> String {
    let url = page.current_url().await.unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The element's text. A live update may swap the element between finding
/// and reading it (a stale element): it is then found again, for up to 2 s.
pub async fn text_of(page: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let read = match page.find(Locator::Css(css)).await {
            Ok(element) => element.text().await,
            Err(error) => Err(error),
        };
        match read {
            Ok(text) => return text,
            Err(error) if Instant::now() > deadline => panic!("reading the text of {css}: {error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The element's text, or nothing while the page has no such element.
pub async fn text_if(page: &Client, css: &str) -> String {
    match page.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Signs in through the form, by keyboard.
pub async fn sign_in(page: &Client, desk: &DemoDesk) {
    page.goto(&format!("{}/", desk.base)).await.unwrap();
    assert_eq!(path_of(page).await, "/sign-in", "a signed-out person lands on the sign-in page");
    page.find(Locator::Css("#email")).await.unwrap().send_keys(&desk.email).await.unwrap();
    let password = page.find(Locator::Css("#password")).await.unwrap();
    password.send_keys(&desk.password).await.unwrap();
    password.send_keys("\u{e007}").await.unwrap();
    eventually("the desk opens after signing in", || async { path_of(page).await.starts_with("/desk/") }).await;
}

/// The texts of the chat widget's transcript bubbles of `class` (`rpc-visitor`,
/// `rpc-agent`); a bubble the widget redraws while it is read is skipped
/// (the caller polls).
pub async fn widget_bubbles(page: &Client, class: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for element in page.find_all(Locator::Css(&format!(".rpc-lines .{class}"))).await.unwrap_or_default() {
        if let Ok(text) = element.text().await {
            texts.push(text);
        }
    }
    texts
}
