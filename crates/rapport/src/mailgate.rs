//! `rapport mailgate`: files one RFC 5322 message read from stdin, for an MTA
//! pipe (Postfix's `pipe`, Exim's `pipe` transport, a `.forward` file).
//!
//! The exit status follows sysexits(3), which MTAs understand: 0 once the
//! message is stored in any form (on a ticket, as a recognised bounce or loop,
//! or whole in the quarantine), and 75 (EX_TEMPFAIL) otherwise, so that the
//! MTA keeps the message and tries again later. That covers an unavailable
//! database or disk and also every mistake of ours: a wrong configuration, an
//! unknown `--team`, a mistyped argument, a crash. Postfix bounces and
//! deletes a message on any other status (78, EX_CONFIG, is permanent to it,
//! 5.3.5) and quotes the command's output in the bounce, so a mistake in our
//! configuration would lose the customer's mail and show them our internals.
//! The reason goes to stderr, one line for the MTA's log naming what to fix;
//! stdout carries nothing. The sender never gets a bounce for a message
//! Rapport could not parse either: it goes to the quarantine.
//!
//! The envelope recipient (`--recipient`, Postfix's `${recipient}`) threads
//! `support+42@` mail onto ticket 42 even when its To header names another
//! address (a Bcc, a forward); without it, the top-most Delivered-To and
//! X-Original-To headers do (Postfix's `flags=DO`).

use std::io::Read;
use std::process::ExitCode;

use rapport_core::TeamId;
use rapport_server::workers::mail::{Delivery, EmailOutcome, file_delivered_email};
use rapport_store::{Filed, Store};

use crate::cli::{GlobalArgs, MailgateArgs};
use crate::config::{RawConfig, ValidConfig};

/// The message is stored.
pub const EX_OK: u8 = 0;
/// Try again later: the database or the disk is unavailable, or our own
/// configuration is wrong.
pub const EX_TEMPFAIL: u8 = 75;

/// Reads stdin and files it; see the module documentation for the exit codes.
async fn run(global: &GlobalArgs, args: MailgateArgs) -> ExitCode {
    let config = match RawConfig::load(global).and_then(RawConfig::validate) {
        Ok(config) => config,
        Err(error) => return configuration_error(&error),
    };
    let mut raw = Vec::new();
    // Read one byte past the limit: enough to know the message is too large.
    let limit = config.server.mail.max_message_bytes as u64 + 1;
    if let Err(error) = std::io::stdin().lock().take(limit).read_to_end(&mut raw) {
        eprintln!("rapport mailgate: reading the message from stdin, the MTA will retry: {error}");
        return ExitCode::from(EX_TEMPFAIL);
    }
    // Drain the rest so the MTA's pipe write does not fail on a refused message.
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    match file(&config, args, &raw).await {
        Ok(outcome) => {
            eprintln!("rapport mailgate: {}", describe(&outcome));
            ExitCode::from(EX_OK)
        }
        Err(Failure::Config(error)) => configuration_error(&error),
        Err(Failure::Temporary(error)) => {
            eprintln!("rapport mailgate: could not store the message, the MTA will retry: {error:#}");
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}

/// A mistake in our own configuration: the MTA keeps the message and
/// retries, and its log says what to fix.
fn configuration_error(error: &anyhow::Error) -> ExitCode {
    eprintln!("rapport mailgate: configuration error, the MTA will retry once it is fixed: {error:#}");
    ExitCode::from(EX_TEMPFAIL)
}

/// The command line of `rapport mailgate` did not parse (a typo in the MTA's
/// pipe command, `--recipient` given twice): that is our configuration too,
/// so the MTA keeps the message. Other commands, and `--help`, go to clap.
pub fn command_line_error(error: clap::Error) -> ExitCode {
    let mailgate = std::env::args_os().skip(1).any(|arg| arg == "mailgate");
    if mailgate && error.use_stderr() {
        let message = error.render().to_string();
        let first = message.lines().find(|line| !line.trim().is_empty()).unwrap_or("unreadable arguments");
        let first = first.trim().trim_start_matches("error: ");
        eprintln!("rapport mailgate: configuration error in the command line, the MTA will retry: {first}");
        return ExitCode::from(EX_TEMPFAIL);
    }
    error.exit()
}

/// Runs [`run`] on `runtime`. A crash must not bounce the message either:
/// Postfix treats an unknown status (a panic's 101) as permanent. So a panic
/// (printed to stderr by the default hook) ends in 75 too. Filing is
/// idempotent: if the crash came after the commit, the retry is recognised
/// as a duplicate.
pub fn run_on(runtime: &tokio::runtime::Runtime, global: &GlobalArgs, args: MailgateArgs) -> ExitCode {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(run(global, args)))) {
        Ok(code) => code,
        Err(_) => {
            eprintln!("rapport mailgate: internal error, the MTA will retry");
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}

enum Failure {
    Config(anyhow::Error),
    Temporary(anyhow::Error),
}

async fn file(config: &ValidConfig, args: MailgateArgs, raw: &[u8]) -> Result<EmailOutcome, Failure> {
    // SQLite: open (and create or migrate) the file, which costs little. PostgreSQL: only
    // connect, since `rapport serve` and `rapport migrate` keep the schema current and a
    // migration check on every delivered message costs a round of locks.
    let store = if config.database_url.expose().starts_with("sqlite:") {
        Store::open_existing(config.database_url.expose(), config.store_options()).await
    } else {
        Store::connect(config.database_url.expose(), config.store_options()).await
    }
    .map_err(|error| Failure::Temporary(anyhow::Error::new(error).context("opening the database")))?;
    let team = match &args.team {
        Some(name) => Some(find_team(&store, name).await?),
        None => None,
    };
    let delivery = Delivery { team, recipient: args.recipient };
    let outcome =
        file_delivered_email(&store, &config.server.mail, raw, delivery, rapport_server::Clock::system().now())
            .await
            .map_err(|error| Failure::Temporary(anyhow::Error::new(error).context("filing the message")))?;
    store.close().await;
    Ok(outcome)
}

async fn find_team(store: &Store, name: &str) -> Result<TeamId, Failure> {
    let teams = store
        .list_teams(None, 10_000)
        .await
        .map_err(|error| Failure::Temporary(anyhow::Error::new(error).context("reading teams")))?;
    teams
        .iter()
        .find(|team| team.name.eq_ignore_ascii_case(name))
        .map(|team| team.id)
        .ok_or_else(|| Failure::Config(anyhow::anyhow!("--team {name:?} names no team (GET /api/v1/teams lists them)")))
}

/// One line for the MTA's log.
pub fn describe(outcome: &EmailOutcome) -> String {
    match outcome {
        EmailOutcome::Filed(Filed::Opened { ticket, linked_to: Some(linked), .. }) => {
            format!("opened ticket #{ticket} (linked to #{linked})")
        }
        EmailOutcome::Filed(Filed::Opened { ticket, .. }) => format!("opened ticket #{ticket}"),
        EmailOutcome::Filed(Filed::Added { ticket, .. }) => format!("added to ticket #{ticket}"),
        EmailOutcome::Filed(Filed::Duplicate { ticket, .. }) => format!("already filed on ticket #{ticket}"),
        EmailOutcome::Filed(Filed::Quarantined { id, reason }) => {
            format!("kept in the quarantine as #{id} ({})", reason.as_str())
        }
        EmailOutcome::Refused { size, notified } => format!(
            "refused: {size} bytes is over email.max_message_bytes{}",
            if *notified { "; the sender was told" } else { "" }
        ),
    }
}
