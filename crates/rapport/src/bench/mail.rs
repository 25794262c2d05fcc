//! `rapport bench --mail N`: email intake throughput.
//!
//! Files N typical messages through [`rapport_server::workers::mail::file_email`], the
//! function `rapport mailgate` and the IMAP poller call, in process, with
//! `--concurrency` messages in flight (an MTA delivers in parallel). About a
//! third are replies that thread onto earlier tickets; every new ticket queues
//! an acknowledgment. Then it pipes `--mailgate-runs` messages through
//! separate `rapport mailgate` processes, one process per message as an MTA
//! pipe does, to show what process start and database open cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rapport_server::settings::MailSettings;
use rapport_server::workers::mail::file_email;
use rapport_store::{Store, StoreOptions};
use serde::Serialize;

use super::{ScratchDir, millis, percentile, round1, round3};

/// The measured figures.
#[derive(Debug, Serialize)]
pub struct MailReport {
    database: &'static str,
    messages: usize,
    concurrency: usize,
    in_process_per_second: f64,
    in_process_p50_ms: f64,
    in_process_p99_ms: f64,
    mailgate_runs: usize,
    mailgate_per_second: f64,
    mailgate_mean_ms: f64,
    tickets: i64,
}

/// A typical support email: multipart/alternative, a quoted reply for a third of them.
pub fn typical_message(index: usize) -> Vec<u8> {
    let customer = index % 500;
    let reply = index % 3 == 2 && index >= 3;
    let (subject, threading) = if reply {
        let earlier = index - 2;
        (
            format!("Re: Order {earlier} has not arrived"),
            format!(
                "In-Reply-To: <bench-{earlier}@customer.example>\r\nReferences: <bench-{earlier}@customer.example>\r\n"
            ),
        )
    } else {
        (format!("Order {index} has not arrived"), String::new())
    };
    let text = format!(
        "Hello,\r\n\r\nI ordered a blue kettle (order {index}) two weeks ago and it has not arrived yet. The tracking \
         page has said \"in transit\" since Monday. Could you tell me where it is, or send a new one?\r\n\r\n\
         Thank you,\r\nCustomer {customer}\r\n\r\n-- \r\nCustomer {customer}\r\n+44 20 7946 0{customer:03}\r\n"
    );
    let html = format!(
        "<html><body><p>Hello,</p><p>I ordered a <b>blue kettle</b> (order {index}) two weeks ago and it has not \
         arrived yet. The tracking page has said &quot;in transit&quot; since Monday.</p><p>Thank you,<br>Customer \
         {customer}</p></body></html>"
    );
    format!(
        "Return-Path: <customer{customer}@customer.example>\r\nFrom: Customer {customer} \
         <customer{customer}@customer.example>\r\nTo: support@rapport.example\r\nSubject: {subject}\r\n\
         Message-ID: <bench-{index}@customer.example>\r\n{threading}Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b{index}\"\r\n\r\n\
         --b{index}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         {text}\r\n--b{index}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b{index}--\r\n"
    )
    .into_bytes()
}

/// Runs the intake benchmark on a fresh database (a scratch SQLite file unless `database_url` is given).
pub async fn run(
    messages: usize,
    concurrency: usize,
    mailgate_runs: usize,
    database_url: Option<String>,
) -> anyhow::Result<MailReport> {
    let scratch = ScratchDir::create()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", scratch.path.join("mail-bench.db").display()));
    let store = Store::open(&url, StoreOptions::default()).await.context("opening the benchmark database")?;
    anyhow::ensure!(store.count_tickets().await? == 0, "the benchmark database must be empty");
    // Acknowledge as in production; the storm limit is lifted since 500 customers write 10 times each.
    let mut settings = MailSettings::default();
    settings.rate_limit.messages = u32::MAX;
    let settings = Arc::new(settings);
    let corpus: Arc<Vec<Vec<u8>>> = Arc::new((0..messages).map(typical_message).collect());

    let progress = indicatif::ProgressBar::new(messages as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("filing mail {bar:40} {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (store, settings, corpus, next, progress) =
            (store.clone(), settings.clone(), corpus.clone(), next.clone(), progress.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(raw) = corpus.get(index) else { break };
                let start = Instant::now();
                file_email(&store, &settings, raw, None, rapport_server::Clock::system().now()).await?;
                latencies.push(start.elapsed());
                progress.inc(1);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(messages);
    for worker in workers {
        latencies.extend(worker.await.context("a filing task panicked")??);
    }
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    latencies.sort();
    let tickets = store.count_tickets().await?;
    store.close().await;

    let (mailgate_per_second, mailgate_mean_ms) = run_mailgate(&url, mailgate_runs, messages).await?;
    Ok(MailReport {
        database: super::database_kind(&url),
        messages,
        concurrency,
        in_process_per_second: round1(messages as f64 / elapsed.as_secs_f64()),
        in_process_p50_ms: round3(percentile(&latencies, 50).map_or(0.0, millis)),
        in_process_p99_ms: round3(percentile(&latencies, 99).map_or(0.0, millis)),
        mailgate_runs,
        mailgate_per_second,
        mailgate_mean_ms,
        tickets,
    })
}

/// One `rapport mailgate` process per message, one after another.
async fn run_mailgate(url: &str, runs: usize, offset: usize) -> anyhow::Result<(f64, f64)> {
    if runs == 0 {
        return Ok((0.0, 0.0));
    }
    let exe = std::env::current_exe().context("finding the rapport binary")?;
    let started = Instant::now();
    for index in 0..runs {
        let raw = typical_message(offset + index);
        let mut child = tokio::process::Command::new(&exe)
            .args(["mailgate", "--database", url])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("starting rapport mailgate")?;
        let mut stdin = child.stdin.take().context("mailgate's stdin")?;
        tokio::io::AsyncWriteExt::write_all(&mut stdin, &raw).await?;
        drop(stdin);
        let status = child.wait().await?;
        anyhow::ensure!(status.success(), "rapport mailgate exited with {status}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((round1(runs as f64 / elapsed), round1(elapsed * 1000.0 / runs as f64)))
}

impl MailReport {
    /// A table for people.
    pub fn table(&self) -> String {
        format!(
            "Email intake on {} ({} messages, {} in flight)\n\
             in process (file_email):   {:>8.1} messages/s   p50 {:.3} ms   p99 {:.3} ms\n\
             rapport mailgate per msg:  {:>8.1} messages/s   {:.1} ms each ({} runs)\n\
             tickets opened: {}\n",
            self.database,
            self.messages,
            self.concurrency,
            self.in_process_per_second,
            self.in_process_p50_ms,
            self.in_process_p99_ms,
            self.mailgate_per_second,
            self.mailgate_mean_ms,
            self.mailgate_runs,
            self.tickets,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_messages_parse_and_a_third_are_replies() {
        let options = rapport_channels::email::parse::ParseOptions {
            own_addresses: vec!["support@rapport.example".into()],
            loop_id: "rapport".into(),
            max_attachment_bytes: 1 << 20,
            team: None,
        };
        let mut replies = 0;
        for index in 0..30 {
            let parsed =
                rapport_channels::email::parse::parse(&typical_message(index), &options, rapport_core::Timestamp(0))
                    .unwrap();
            let rapport_channels::email::parse::ParsedEmail::Message(parsed) = parsed else { panic!("not a message") };
            assert_eq!(parsed.message.external_id.as_deref(), Some(format!("bench-{index}@customer.example").as_str()));
            assert!(parsed.message.text.contains("blue kettle"));
            assert!(!parsed.message.text.contains("+44"), "the signature is stripped");
            replies += usize::from(!parsed.message.thread.references.is_empty());
        }
        assert_eq!(replies, 9);
    }
}
