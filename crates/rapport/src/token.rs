//! `rapport token create|list|revoke`.

use anyhow::{Context, bail};
use rapport_core::{Agent, Identity, Role};
use rapport_store::{NewAgent, Store};

use crate::cli::TokenCommand;
use crate::config::ValidConfig;

pub async fn run(config: ValidConfig, command: TokenCommand) -> anyhow::Result<()> {
    // Like every command but serve, migrate and demo, it never creates a
    // database: a token minted into a new file no server reads is a trap.
    let store = Store::open_existing(config.database_url.expose(), config.store_options())
        .await
        .with_context(|| format!("opening the database {}", config.redacted_database_url()))?;
    match command {
        TokenCommand::Create { email, name, role, label } => {
            let role: Role = role.parse()?;
            let (agent, created) = find_or_create_agent(&store, &email, name, role).await?;
            if created {
                println!("created {} agent {} <{}> (id {})", agent.role, agent.name, agent.email, agent.id);
            } else if agent.role != role {
                println!(
                    "note: {} already exists with role {}; the token acts with that role",
                    agent.email, agent.role
                );
            }
            let secret = create_token(&store, &agent, label).await?;
            println!("token for {} (shown once; store it now):", agent.email);
            println!("{secret}");
        }
        TokenCommand::List => {
            let tokens = store.list_tokens().await?;
            if tokens.is_empty() {
                println!("no tokens; create one with `rapport token create --email you@example.com --role admin`");
            }
            println!("{:>5}  {:<32} {:<16} {:<25} status", "id", "agent", "label", "created");
            for token in tokens {
                let status = if token.revoked_at.is_some() { "revoked" } else { "active" };
                println!(
                    "{:>5}  {:<32} {:<16} {:<25} {status}",
                    token.id,
                    token.email,
                    token.name,
                    format_timestamp(token.created_at)
                );
            }
        }
        TokenCommand::Revoke { id } => {
            store
                .revoke_token(id, rapport_core::Actor::System, rapport_server::Clock::system().now())
                .await
                .with_context(|| format!("revoking token {id}"))?;
            println!("token {id} revoked");
        }
    }
    store.close().await;
    Ok(())
}

/// The agent with this email, or a new one.
pub async fn find_or_create_agent(
    store: &Store,
    email: &str,
    name: Option<String>,
    role: Role,
) -> anyhow::Result<(Agent, bool)> {
    let email = match Identity::email(email) {
        Ok(identity) => identity.value,
        Err(error) => bail!("--email: {error}"),
    };
    if let Some(agent) = store.find_agent_by_email(&email).await? {
        return Ok((agent, false));
    }
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("agent").to_owned());
    let agent = store
        .insert_agent(NewAgent {
            email,
            name,
            role,
            teams: Vec::new(),
            skills: Vec::new(),
            languages: vec!["en".to_owned()],
            password_hash: None,
            now: rapport_server::Clock::system().now(),
            by: rapport_core::Actor::System,
        })
        .await?;
    Ok((agent, true))
}

/// Creates a token for the agent; returns its secret.
pub async fn create_token(store: &Store, agent: &Agent, label: String) -> anyhow::Result<String> {
    let (secret, hash) = rapport_server::http::auth::new_token();
    store
        .insert_token(agent.id, label, hash, rapport_core::Actor::System, rapport_server::Clock::system().now())
        .await?;
    Ok(secret)
}

fn format_timestamp(at: rapport_core::Timestamp) -> String {
    jiff::Timestamp::from_millisecond(at.0).map(|t| t.to_string()).unwrap_or_else(|_| at.0.to_string())
}
