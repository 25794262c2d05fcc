//! `rapport-smtp-sink --listen 127.0.0.1:0 --maildir DIR`: the test SMTP sink
//! in its own process, for tests that kill the sending process and need a
//! sink that outlives it.
//!
//! Prints the address it listens on as the first line of stdout, then writes
//! each accepted message to DIR as `<n>.eml` (atomically) until it is killed.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use rapport_testkit::smtp::SmtpSink;

const USAGE: &str = "usage: rapport-smtp-sink --listen ADDR:PORT --maildir DIR";

fn main() -> anyhow::Result<()> {
    let mut listen: Option<SocketAddr> = None;
    let mut maildir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--listen" => listen = Some(value()?.parse().context("--listen takes ADDR:PORT, e.g. 127.0.0.1:0")?),
            "--maildir" => maildir = Some(PathBuf::from(value()?)),
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let listen = listen.context(USAGE)?;
    let maildir = maildir.context(USAGE)?;

    let sink = SmtpSink::start_with_maildir(listen, &maildir)?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", sink.addr()).context("writing the address to stdout")?;
    stdout.flush().context("writing the address to stdout")?;
    // The sink serves from its own threads; this one only keeps it alive.
    loop {
        std::thread::park();
    }
}
