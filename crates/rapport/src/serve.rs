//! `rapport serve`: opens the store (migrating it), optionally loads the demo,
//! binds the listener and runs the server until Ctrl-C or SIGTERM.

use anyhow::Context;
use rapport_store::Store;

use crate::cli::ServeArgs;
use crate::config::ValidConfig;
use crate::demo;

pub async fn run(config: ValidConfig, args: ServeArgs) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url, config.store_options())
        .await
        .with_context(|| format!("opening the database {}", config.redacted_database_url()))?;
    let listen = args.listen.unwrap_or_else(|| config.listen.clone());
    let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| {
        format!("listening on {listen} (is another program using that port? try --listen 127.0.0.1:0)")
    })?;
    let address = listener.local_addr().context("reading the bound address")?;

    let welcome = if args.demo { Some(demo_welcome(&store, &config).await?) } else { None };
    tracing::info!(database = %config.redacted_database_url(), %address, "serving");
    println!("Rapport is listening on http://{address}");
    if let Some(welcome) = welcome {
        print_welcome(&welcome, &config, address);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let poller = start_poller(&store, &config, stopped.clone()).await?;
    let state = rapport_server::AppState::new(store.clone(), config.server.clone());
    let mut server_stopped = stopped;
    rapport_server::serve(listener, state, async move {
        let _ = server_stopped.wait_for(|stop| *stop).await;
    })
    .await?;
    if let Some(poller) = poller {
        let _ = poller.await;
    }
    store.close().await;
    Ok(())
}

/// Loads the demo into an empty database; on one that holds it already,
/// loads nothing and mints nothing. Refuses a database with other tickets.
async fn demo_welcome(store: &Store, config: &ValidConfig) -> anyhow::Result<demo::Welcome> {
    if store.count_tickets().await? == 0 {
        let summary = demo::load(store, &config.matrix, demo::Progress::for_stderr()).await?;
        eprintln!("{summary}");
    } else if !demo::is_loaded(store).await? {
        anyhow::bail!(
            "--demo: {} holds tickets but not the demo; the demo loads only into an empty database (use a new --data-dir or --database, or start without --demo)",
            config.redacted_database_url()
        );
    }
    demo::welcome(store).await
}

fn print_welcome(welcome: &demo::Welcome, config: &ValidConfig, address: std::net::SocketAddr) {
    match welcome {
        demo::Welcome::Minted { email, password, token } => {
            println!("  admin sign-in: {email} / {password}");
            println!("  try: curl -H \"Authorization: Bearer {token}\" http://{address}/api/v1/tickets");
            println!("  API token: {token}");
        }
        demo::Welcome::Existing { email } => {
            println!("  admin sign-in: {email} (the password shown when the demo was loaded)");
            println!(
                "  make a token: rapport --database '{}' token create --email {email} --role admin",
                config.redacted_database_url()
            );
        }
    }
    println!("  API reference: http://{address}/api/v1/openapi.json");
    if config.server.chat.enabled {
        println!("  live chat: http://{address}/chat/demo (agents: ws://{address}/chat/agent/ws?token=…)");
    }
}

/// Polls the configured IMAP mailboxes, filing each message through the same
/// intake as `rapport mailgate`; a message is marked seen only once stored.
async fn start_poller(
    store: &Store,
    config: &ValidConfig,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    use rapport_channels::email::imap::{ImapTls, run_poller};
    if config.mailboxes.is_empty() {
        return Ok(None);
    }
    let teams = store.list_teams(None, 10_000).await?;
    let mut routes = std::collections::HashMap::new();
    for mailbox in &config.mailboxes {
        let team = match &mailbox.team {
            Some(name) => {
                Some(teams.iter().find(|team| team.name.eq_ignore_ascii_case(name)).map(|team| team.id).with_context(
                    || format!("email.mailboxes: {} routes to team {name:?}, which does not exist", mailbox.address),
                )?)
            }
            None => None,
        };
        routes.insert(mailbox.address.clone(), team);
    }
    let tls = ImapTls::webpki_roots().context("loading TLS roots for IMAP")?;
    let mailboxes: Vec<_> = config.mailboxes.iter().map(|mailbox| mailbox.imap.clone()).collect();
    let store = store.clone();
    let mail = config.server.mail.clone();
    let interval = config.poll_interval;
    tracing::info!(mailboxes = mailboxes.len(), ?interval, "polling IMAP mailboxes");
    Ok(Some(tokio::spawn(async move {
        let file = |mailbox: &rapport_channels::email::imap::ImapMailbox, raw: Vec<u8>| {
            let store = store.clone();
            let mail = mail.clone();
            let team = routes.get(&mailbox.address).copied().flatten();
            async move {
                let outcome =
                    rapport_server::mail::file_email(&store, &mail, &raw, team, rapport_server::now()).await?;
                tracing::info!(outcome = %crate::mailgate::describe(&outcome), "filed mail from IMAP");
                Ok(())
            }
        };
        run_poller(mailboxes, tls, interval, file, async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await;
    })))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down");
}
