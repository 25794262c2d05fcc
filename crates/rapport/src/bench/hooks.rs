//! `rapport bench --hooks N`: webhook intake over HTTP.
//!
//! A `rapport serve` process is started with a provider configured, and N
//! provider-shaped webhook posts are sent to it, each signed the way the
//! provider signs (WhatsApp: HMAC-SHA256 of the body with the app secret in
//! `X-Hub-Signature-256`; Telegram: the secret-token header). The mix is
//! messaging's: a fifth of the posts open a conversation, the rest are the
//! same customers' follow-ups that join their open ticket. A post counts once
//! the server has answered 200, which it does only after the message is
//! committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use super::server::Server;
use super::{ScratchDir, millis, percentile, round1, round3};

/// The secret the benchmark server is configured with.
const SECRET: &str = "bench-app-secret";
/// Messages per customer: one opens the ticket, the rest follow up.
const PER_CUSTOMER: usize = 5;

/// Which provider's webhook to drive.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    /// WhatsApp Cloud API, HMAC-signed (`X-Hub-Signature-256`).
    Whatsapp,
    /// Telegram Bot API, with the secret-token header.
    Telegram,
}

/// What the webhook benchmark measured.
#[derive(Debug, Serialize)]
pub struct HooksReport {
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// The provider driven.
    pub hook: Hook,
    /// Posts sent (every one answered 200).
    pub messages: usize,
    /// Posts in flight.
    pub concurrency: usize,
    /// Stored messages per second.
    pub per_second: f64,
    /// Median answer time.
    pub p50_ms: f64,
    /// 99th-percentile answer time.
    pub p99_ms: f64,
    /// Tickets the posts opened (one per customer).
    pub tickets: i64,
    /// The server's peak resident memory.
    pub rss_mb: Option<f64>,
}

/// A configuration file for the benchmark server with `hook` set up.
fn config(hook: Hook) -> String {
    match hook {
        Hook::Whatsapp => format!(
            "[whatsapp]\napp_secret = \"{SECRET}\"\nverify_token = \"bench\"\naccess_token = \"bench\"\n\
             phone_number_id = \"106540352242922\"\napi_base = \"http://127.0.0.1:9\"\n"
        ),
        Hook::Telegram => {
            format!(
                "[telegram]\nbot_token = \"1:bench\"\nsecret_token = \"{SECRET}\"\napi_base = \"http://127.0.0.1:9\"\n"
            )
        }
    }
}

/// The body of post number `index`: customer `index / PER_CUSTOMER`'s next message.
pub fn body(hook: Hook, index: usize) -> Vec<u8> {
    let customer = index / PER_CUSTOMER;
    let text = match index % PER_CUSTOMER {
        0 => format!("Hello, my order {customer} has not arrived yet. Can you check where it is?"),
        1 => "It was supposed to come on Tuesday.".to_owned(),
        2 => format!("The tracking number is TRK{customer:08}."),
        3 => "Could you also change the delivery address?".to_owned(),
        _ => "Thanks!".to_owned(),
    };
    let value = match hook {
        Hook::Whatsapp => serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "contacts": [{"profile": {"name": format!("Customer {customer}")}, "wa_id": format!("1555{customer:07}")}],
                "messages": [{
                    "from": format!("1555{customer:07}"),
                    "id": format!("wamid.bench{index:012}"),
                    "timestamp": "1790000000",
                    "type": "text",
                    "text": {"body": text}
                }]
            }}]}]
        }),
        Hook::Telegram => serde_json::json!({
            "update_id": index,
            "message": {
                "message_id": index, "date": 1_790_000_000,
                "chat": {"id": 100_000 + customer, "type": "private", "first_name": "Customer", "last_name": customer.to_string()},
                "from": {"id": 100_000 + customer, "is_bot": false, "first_name": "Customer"},
                "text": text
            }
        }),
    };
    value.to_string().into_bytes()
}

/// The request for one post, signed as the provider signs it.
fn request(client: &reqwest::Client, base_url: &str, hook: Hook, body: Vec<u8>) -> reqwest::RequestBuilder {
    match hook {
        Hook::Whatsapp => {
            let signature = rapport_channels::webhook::meta_signature(SECRET, &body);
            client.post(format!("{base_url}/hooks/whatsapp")).header("x-hub-signature-256", signature)
        }
        Hook::Telegram => {
            client.post(format!("{base_url}/hooks/telegram")).header("x-telegram-bot-api-secret-token", SECRET)
        }
    }
    .header("content-type", "application/json")
    .body(body)
}

/// Runs the webhook benchmark against a fresh server process.
pub async fn run(
    hook: Hook,
    messages: usize,
    concurrency: usize,
    database_url: Option<String>,
) -> anyhow::Result<HooksReport> {
    let scratch = ScratchDir::create()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", scratch.path.join("hooks-bench.db").display()));
    let config_path = scratch.path.join("rapport.toml");
    std::fs::write(&config_path, config(hook)).context("writing the benchmark configuration")?;
    let exe = std::env::current_exe().context("finding the rapport binary")?;
    let config_arg = config_path.display().to_string();
    let mut server = Server::start_with(&exe, &url, &["--config", &config_arg]).await?;
    let base_url = Arc::new(server.base_url.clone());
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..messages).map(|index| body(hook, index)).collect());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")?;

    let progress = indicatif::ProgressBar::new(messages as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("posting webhooks {bar:40} {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // Posts are handed out in order, so a customer's messages arrive in order
    // (and mostly one after another), as a provider delivers them.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, base_url, bodies, next, progress) =
            (client.clone(), base_url.clone(), bodies.clone(), next.clone(), progress.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(index) else { break };
                let start = Instant::now();
                let response = request(&client, &base_url, hook, body.clone()).send().await?;
                let status = response.status();
                anyhow::ensure!(status.is_success(), "post {index} was answered {status}: {}", response.text().await?);
                latencies.push(start.elapsed());
                progress.inc(1);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(messages);
    for worker in workers {
        match worker.await.context("a posting task panicked")? {
            Ok(mut more) => latencies.append(&mut more),
            Err(error) => {
                let note = server.exit_note().unwrap_or_default();
                return Err(error.context(note));
            }
        }
    }
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    latencies.sort();
    let rss_mb = server.peak_rss_mb().map(round1);
    server.stop().await?;
    let store = rapport_store::Store::open(&url, rapport_store::StoreOptions::default()).await?;
    let tickets = store.count_tickets().await?;
    store.close().await;
    Ok(HooksReport {
        database: super::database_kind(&url),
        hook,
        messages,
        concurrency,
        per_second: round1(messages as f64 / elapsed.as_secs_f64()),
        p50_ms: round3(percentile(&latencies, 50).map_or(0.0, millis)),
        p99_ms: round3(percentile(&latencies, 99).map_or(0.0, millis)),
        tickets,
        rss_mb,
    })
}

impl HooksReport {
    /// A table for people.
    pub fn table(&self) -> String {
        format!(
            "Webhook intake ({:?}) on {} ({} signed posts, {} in flight)\n\
             stored: {:>8.1} messages/s   p50 {:.3} ms   p99 {:.3} ms\n\
             tickets opened: {}   server peak RSS: {}\n",
            self.hook,
            self.database,
            self.messages,
            self.concurrency,
            self.per_second,
            self.p50_ms,
            self.p99_ms,
            self.tickets,
            self.rss_mb.map_or_else(|| "n/a".to_owned(), |mb| format!("{mb:.1} MB")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_provider_json_with_one_customer_per_five_posts() {
        for hook in [Hook::Whatsapp, Hook::Telegram] {
            let first: serde_json::Value = serde_json::from_slice(&body(hook, 0)).unwrap();
            let sixth: serde_json::Value = serde_json::from_slice(&body(hook, 5)).unwrap();
            assert_ne!(first, sixth);
        }
        let message =
            rapport_channels::telegram::parse_update(&body(Hook::Telegram, 7), None, rapport_core::Timestamp(0))
                .unwrap()
                .unwrap();
        assert_eq!(message.sender.value, "telegram:100001");
        let whatsapp: serde_json::Value = serde_json::from_slice(&body(Hook::Whatsapp, 12)).unwrap();
        let from = &whatsapp["entry"][0]["changes"][0]["value"]["messages"][0]["from"];
        assert_eq!(from, "15550000002");
    }
}
