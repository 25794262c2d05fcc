//! The agents' workspace served for a browser test: `rapport serve --demo`
//! on a free port with its mail going to an SMTP sink (and, when a test asks,
//! more configuration), and the helpers the workspace's Chromium suites
//! share: waiting, reading a page that live updates redraw, signing in.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rapport_testkit::browser::fantoccini::{Client, Locator};
use rapport_testkit::smtp::SmtpSink;
use serde_json::Value;
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

/// The axe-core script the test script installed.
pub fn axe_source() -> String {
    let path = std::env::var("RAPPORT_TEST_AXE_CORE").map(PathBuf::from).unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap();
        PathBuf::from(home).join(".cache/rapport-npm/node_modules/axe-core/axe.min.js")
    });
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("axe-core is needed at {}: run .ci/install-browser ({error})", path.display()))
}

/// Runs axe-core on the page and fails on any serious or critical violation.
pub async fn assert_accessible(page: &Client, what: &str) {
    page.execute(&axe_source(), vec![]).await.unwrap();
    let result = page
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations)), e => done(String(e)));",
            vec![],
        )
        .await
        .unwrap();
    let violations: Vec<Value> = serde_json::from_str(result.as_str().unwrap())
        .unwrap_or_else(|_| panic!("axe-core failed on {what}: {result}"));
    let serious: Vec<String> = violations
        .iter()
        .filter(|violation| matches!(violation["impact"].as_str(), Some("serious" | "critical")))
        .map(|violation| {
            let nodes: Vec<&str> = violation["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|node| node["html"].as_str())
                .take(3)
                .collect();
            format!("{} ({}): {nodes:?}", violation["id"], violation["impact"])
        })
        .collect();
    assert!(serious.is_empty(), "axe-core on {what}: {serious:#?}");
}

/// Where the screenshots go: docs/ui/ in the checkout, where docs/ui.md shows them.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Checks the page in both themes with axe-core and takes its screenshots
/// at 1440 and 375 pixels wide, then leaves it as it was (light, desktop).
pub async fn check_and_capture(page: &Client, name: &str) {
    for theme in ["light", "dark"] {
        // What the theme switch sets (WebDriver's own cookie call refuses an IP address as the domain).
        page.execute(&format!("document.cookie = 'rapport_theme={theme}; path=/';"), vec![]).await.unwrap();
        for width in [1440, 375] {
            page.set_window_size(width, 900).await.unwrap();
            page.refresh().await.unwrap();
            page.find(Locator::Css("main")).await.unwrap();
            let html_theme = page.find(Locator::Css("html")).await.unwrap().attr("data-theme").await.unwrap();
            assert_eq!(html_theme.as_deref(), Some(theme), "{name}: the theme cookie is honoured");
            if width == 1440 {
                assert_accessible(page, &format!("{name} ({theme})")).await;
            }
            let png = page.screenshot().await.unwrap();
            std::fs::write(screenshot_dir().join(format!("{name}-{width}-{theme}.png")), png).unwrap();
        }
    }
    page.execute("document.cookie = 'rapport_theme=; path=/; max-age=0';", vec![]).await.unwrap();
    page.set_window_size(1440, 900).await.unwrap();
    page.refresh().await.unwrap();
}
