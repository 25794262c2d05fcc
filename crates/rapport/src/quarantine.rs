//! `rapport quarantine`: what intake could not file, kept whole for an admin.

use std::io::Write;

use anyhow::Context;
use rapport_core::Actor;
use rapport_server::workers::mail::{EmailOutcome, Refiled, refile_quarantined};
use rapport_store::Store;

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
            let now = rapport_server::Clock::system().now();
            match refile_quarantined(&store, &config.server.mail, id, Actor::System, now).await? {
                Refiled::StillQuarantined(reason) => {
                    anyhow::bail!("#{id} still cannot be filed ({}); it stays in the quarantine", reason.as_str())
                }
                Refiled::TooLarge => anyhow::bail!("#{id} is over email.max_message_bytes"),
                Refiled::NotRetryable => {
                    anyhow::bail!(
                        "#{id} cannot be re-run: it is not a held email (see `rapport quarantine list --all`)"
                    )
                }
                Refiled::Filed(filed) => {
                    println!("#{id}: {}", crate::mailgate::describe(&EmailOutcome::Filed(filed)));
                }
            }
        }
    }
    store.close().await;
    Ok(())
}
