//! `rapport quarantine`: what intake could not file, kept whole for an admin.

use std::io::Write;

use anyhow::Context;
use rapport_core::intake::RateLimit;
use rapport_server::workers::mail::{EmailOutcome, file_email};
use rapport_store::{Filed, Store};

use crate::cli::QuarantineCommand;
use crate::config::ValidConfig;

pub async fn run(config: ValidConfig, command: QuarantineCommand) -> anyhow::Result<()> {
    let store = Store::open_existing(config.database_url.expose(), config.store_options()).await?;
    match command {
        QuarantineCommand::List { all } => {
            let items = store.list_quarantine(if all { None } else { Some("held") }, 1000).await?;
            if items.is_empty() {
                println!("The quarantine is empty{}.", if all { "" } else { " (use --all to see handled entries)" });
            }
            for item in items {
                let ticket = item.ticket.map(|ticket| format!(" → #{ticket}")).unwrap_or_default();
                println!(
                    "#{:<6} {:<8} {:<17} {:<9} {:>8} B  {}{ticket}",
                    item.id,
                    item.channel,
                    item.reason.as_str(),
                    item.state,
                    item.size,
                    item.detail
                );
            }
        }
        QuarantineCommand::Show { id } => {
            let raw = store.get_quarantined_raw(id).await?;
            std::io::stdout().write_all(&raw).context("writing to stdout")?;
        }
        QuarantineCommand::Retry { id } => {
            let raw = store.get_quarantined_raw(id).await?;
            // An admin's retry is a decision: the storm limit does not hold it back again.
            let mut mail = config.server.mail.clone();
            mail.rate_limit = RateLimit { replies: mail.rate_limit.replies, messages: u32::MAX };
            let outcome = file_email(&store, &mail, &raw, None, rapport_server::Clock::system().now()).await?;
            match &outcome {
                EmailOutcome::Filed(Filed::Quarantined { reason, .. }) => {
                    anyhow::bail!("#{id} still cannot be filed ({}); it stays in the quarantine", reason.as_str())
                }
                EmailOutcome::Refused { .. } => anyhow::bail!("#{id} is over email.max_message_bytes"),
                EmailOutcome::Filed(filed) => {
                    store.resolve_quarantined(id, filed.ticket(), rapport_server::Clock::system().now()).await?;
                    println!("#{id}: {}", crate::mailgate::describe(&outcome));
                }
            }
        }
    }
    store.close().await;
    Ok(())
}
