//! Headless Chromium driven over WebDriver: Debian's `chromium` and
//! `chromium-driver`, which `.ci/install-browser` installs. Each [`Browser`]
//! runs its own `chromedriver` on a free port with a fresh profile, and both
//! are gone when it is dropped.

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

/// The flags Chromium needs to run headless in a container.
const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,900",
];

/// A running `chromedriver` with one browser session.
pub struct Browser {
    /// The WebDriver session.
    pub client: fantoccini::Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// True when `chromium` and `chromedriver` are installed.
pub fn available() -> bool {
    ["chromium", "chromedriver"].iter().all(|program| {
        std::process::Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

impl Browser {
    /// Starts `chromedriver` and opens a headless Chromium session.
    pub async fn start() -> anyhow::Result<Browser> {
        Browser::start_in(None).await
    }

    /// A session whose browser asks for pages in `language` first (its
    /// `Accept-Language`, as a person who set their browser to French), or in
    /// Chromium's default when `None`.
    pub async fn start_in(language: Option<&str>) -> anyhow::Result<Browser> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting chromedriver (install Debian's chromium-driver: .ci/install-browser)")?;
        let address = format!("127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(&address).await.is_ok() {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::ensure!(ready, "chromedriver did not listen on {address} within 10 s");
        let profile = tempfile::tempdir()?;
        let mut args: Vec<String> = FLAGS.iter().map(|flag| (*flag).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut options = serde_json::json!({ "args": args });
        if let Some(language) = language {
            args.push(format!("--accept-lang={language}"));
            options = serde_json::json!({ "args": args, "prefs": { "intl.accept_languages": language } });
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = fantoccini::ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://{address}"))
            .await
            .context("opening a Chromium session through chromedriver")?;
        Ok(Browser { client, driver, _profile: profile })
    }

    /// Ends the session and stops the driver. The driver is stopped even when
    /// Chromium does not answer the end of the session (a page still
    /// navigating on a loaded machine), which is only reported: the test's
    /// checks are over by then.
    pub async fn close(mut self) -> anyhow::Result<()> {
        if let Err(error) = self.client.clone().close().await {
            eprintln!("closing the Chromium session: {error}; stopping chromedriver anyway");
        }
        self.driver.kill().await.context("stopping chromedriver")?;
        Ok(())
    }
}

impl Browser {
    /// Runs `script` at the start of every page this browser loads, before
    /// any script of the page (Chrome DevTools'
    /// `Page.addScriptToEvaluateOnNewDocument`, through chromedriver): a
    /// test listens for what the page does from its very first moment.
    pub async fn on_every_page(&self, script: &str) -> anyhow::Result<()> {
        let params = serde_json::json!({ "source": script });
        let command = DevTools { command: "Page.addScriptToEvaluateOnNewDocument", params };
        self.client.issue_cmd(command).await.context("adding a script to every page (goog/cdp/execute)")?;
        Ok(())
    }

    /// Saves what the pages download into `directory` (headless Chromium
    /// refuses downloads otherwise): a test clicks a download link and reads
    /// the file the person would get.
    pub async fn save_downloads_in(&self, directory: &std::path::Path) -> anyhow::Result<()> {
        let params = serde_json::json!({ "behavior": "allow", "downloadPath": directory.display().to_string() });
        let command = DevTools { command: "Page.setDownloadBehavior", params };
        self.client.issue_cmd(command).await.context("allowing downloads (goog/cdp/execute)")?;
        Ok(())
    }
}

/// A Chrome DevTools command sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct DevTools {
    command: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.command, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// The WebDriver client crate, for tests that drive a [`Browser`].
pub use fantoccini;
