//! `rapport agent invite`: how a first admin (and every agent after) gets
//! into the workspace. It creates the agent when no agent has the email, and
//! makes a single-use link to choose a password: printed here, and emailed
//! through the outbox when email is configured.

use anyhow::{Context, bail};
use rapport_core::Role;
use rapport_store::{PasswordPurpose, Store};

use crate::cli::AgentCommand;
use crate::config::ValidConfig;
use crate::token::find_or_create_agent;

pub async fn run(config: ValidConfig, command: AgentCommand) -> anyhow::Result<()> {
    // Like `token`, it never creates a database: an agent invited into a new
    // file no server reads is a trap.
    let store = Store::open_existing(config.database_url.expose(), config.store_options())
        .await
        .with_context(|| format!("opening the database {}", config.redacted_database_url()))?;
    match command {
        AgentCommand::Invite { email, name, role } => {
            let role: Role = role.parse().with_context(|| format!("--role {role:?}"))?;
            let (agent, created) = find_or_create_agent(&store, &email, name, role).await?;
            if created {
                println!("created {} agent {} <{}> (id {})", agent.role, agent.name, agent.email, agent.id);
            } else if agent.role != role {
                println!(
                    "note: {} already exists with role {}; the invitation keeps that role",
                    agent.email, agent.role
                );
            }
            if !agent.active {
                bail!("{} is deactivated; reactivate the agent before inviting them again", agent.email);
            }
            let now = rapport_server::Clock::system().now();
            let server = &config.server;
            let (url, link) =
                rapport_server::workspace::password::new_link(server, &agent, PasswordPurpose::Invite, now);
            let email = if server.mail.smtp_url.is_some() {
                Some(rapport_server::workspace::password::link_email(server, &agent, PasswordPurpose::Invite, &url)?)
            } else {
                None
            };
            let emailed = email.is_some();
            store.create_password_link(link, email).await?;
            if emailed {
                println!("an invitation is queued for {} (the outbox sends it)", agent.email);
            } else {
                println!("email is not configured, so nothing was emailed: hand the link over yourself");
            }
            println!("{} chooses a password at (works once, for 7 days):", agent.email);
            println!("{url}");
        }
    }
    store.close().await;
    Ok(())
}
