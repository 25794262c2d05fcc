//! `rapport mailgate`: files one RFC 5322 message read from stdin, for an MTA
//! pipe (Postfix's `pipe`, Exim's `pipe` transport, a `.forward` file).
//!
//! The exit status follows sysexits(3), which MTAs understand: 0 once the
//! message is stored in any form (on a ticket, as a recognised bounce or loop,
//! or whole in the quarantine), 75 (EX_TEMPFAIL) when the database or the disk
//! is unavailable so the MTA keeps the message and retries, and 78
//! (EX_CONFIG) when the configuration is wrong. The sender never gets a false
//! bounce for a message Rapport could not parse: it goes to the quarantine.

use std::io::Read;
use std::process::ExitCode;

use rapport_core::TeamId;
use rapport_server::mail::{EmailOutcome, file_email};
use rapport_store::{Filed, Store};

use crate::cli::{GlobalArgs, MailgateArgs};
use crate::config::{RawConfig, ValidConfig};

/// The message is stored.
pub const EX_OK: u8 = 0;
/// Try again later: the database or the disk is unavailable.
pub const EX_TEMPFAIL: u8 = 75;
/// The configuration is wrong.
pub const EX_CONFIG: u8 = 78;

/// Reads stdin and files it; see the module documentation for the exit codes.
pub async fn run(global: &GlobalArgs, args: MailgateArgs) -> ExitCode {
    let config = match RawConfig::load(global).and_then(RawConfig::validate) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("rapport mailgate: configuration error: {error:#}");
            return ExitCode::from(EX_CONFIG);
        }
    };
    let mut raw = Vec::new();
    // Read one byte past the limit: enough to know the message is too large.
    let limit = config.server.mail.max_message_bytes as u64 + 1;
    if let Err(error) = std::io::stdin().lock().take(limit).read_to_end(&mut raw) {
        eprintln!("rapport mailgate: reading the message from stdin: {error}");
        return ExitCode::from(EX_TEMPFAIL);
    }
    // Drain the rest so the MTA's pipe write does not fail on a refused message.
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    match file(&config, args, &raw).await {
        Ok(outcome) => {
            eprintln!("rapport mailgate: {}", describe(&outcome));
            ExitCode::from(EX_OK)
        }
        Err(Failure::Config(error)) => {
            eprintln!("rapport mailgate: configuration error: {error:#}");
            ExitCode::from(EX_CONFIG)
        }
        Err(Failure::Temporary(error)) => {
            eprintln!("rapport mailgate: could not store the message, the MTA will retry: {error:#}");
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
    let store = if config.database_url.starts_with("sqlite:") {
        Store::open(&config.database_url, config.store_options()).await
    } else {
        Store::connect(&config.database_url, config.store_options()).await
    }
    .map_err(|error| Failure::Temporary(anyhow::Error::new(error).context("opening the database")))?;
    let team = match &args.team {
        Some(name) => Some(find_team(&store, name).await?),
        None => None,
    };
    let outcome = file_email(&store, &config.server.mail, raw, team, rapport_server::now())
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
    teams.iter().find(|team| team.name.eq_ignore_ascii_case(name)).map(|team| team.id).ok_or_else(|| {
        let names: Vec<&str> = teams.iter().map(|team| team.name.as_str()).collect();
        Failure::Config(anyhow::anyhow!("--team {name:?} is not a team; teams are: {}", names.join(", ")))
    })
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
