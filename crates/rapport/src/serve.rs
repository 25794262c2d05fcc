//! `rapport serve`: opens the store (migrating it), optionally loads the demo,
//! binds the listener and runs the server until Ctrl-C or SIGTERM, then
//! shuts the store down (on SQLite, the WAL is checkpointed and truncated).
//!
//! At start it says what could mislead later: links in emails follow the
//! bound address unless `portal.public_url` is set, with a warning when only
//! this machine could follow them, and which channels can send.

use anyhow::Context;
use rapport_store::Store;

use crate::cli::ServeArgs;
use crate::config::ValidConfig;
use crate::demo;

pub async fn run(config: ValidConfig, args: ServeArgs) -> anyhow::Result<()> {
    let store = Store::open(config.database_url.expose(), config.store_options())
        .await
        .with_context(|| format!("opening the database {}", config.redacted_database_url()))?;
    let listen = args.listen.unwrap_or_else(|| config.listen.clone());
    let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| {
        format!("listening on {listen} (is another program using that port? try --listen 127.0.0.1:0)")
    })?;
    let address = listener.local_addr().context("reading the bound address")?;
    let mut server_config = config.server_for(address);
    fit_to_open_files(&mut server_config.connections);
    report_start(&server_config);

    let welcome = if args.demo { Some(demo_welcome(&store, &config).await?) } else { None };
    // Listen for the stop signals before saying we listen: a service manager
    // may stop the server at once, and an unhandled SIGTERM skips the clean stop.
    let shutdown = shutdown_signals()?;
    tracing::info!(database = %config.redacted_database_url(), %address, "serving");
    println!("Rapport is listening on http://{address}");
    if let Some(welcome) = welcome {
        print_welcome(&welcome, &config, address);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let poller = start_poller(&store, &config, stopped.clone()).await?;
    let state = rapport_server::AppState::new(store.clone(), server_config);
    let mut server_stopped = stopped;
    rapport_server::serve(listener, state, async move {
        let _ = server_stopped.wait_for(|stop| *stop).await;
    })
    .await?;
    if let Some(poller) = poller {
        let _ = poller.await;
    }
    // A clean stop leaves no SQLite WAL beside the database.
    store.shut_down().await;
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
            println!("  workspace: http://{address}/ (admin sign-in: {email} / {password})");
            println!("  try: curl -H \"Authorization: Bearer {token}\" http://{address}/api/v1/tickets");
            println!("  API token: {token}");
        }
        demo::Welcome::Existing { email } => {
            println!(
                "  workspace: http://{address}/ (admin sign-in: {email}, the password shown when the demo was loaded)"
            );
            println!(
                "  make a token: rapport --database '{}' token create --email {email} --role admin",
                config.redacted_database_url()
            );
        }
    }
    println!("  API reference: http://{address}/api/v1/openapi.json");
    println!("  customers' help pages: http://{address}/help/new");
    if config.server.chat.enabled {
        println!("  live chat: http://{address}/chat/demo (answer it in the workspace: http://{address}/desk/chat)");
    }
}

/// Says at start what could mislead later: links that only this machine
/// reaches, and channels whose replies can only wait in the outbox.
/// Files the process keeps for itself beyond its connections: the database
/// and its pool, the WAL, mail and provider connections, logs.
const FILES_KEPT_BACK: u64 = 128;

/// Raises the open-file soft limit to the hard limit (the common default of
/// 1,024 is reached by a few hundred chat visitors) and lowers
/// `max_connections` to what the limit leaves room for, so that accepting
/// never fails for want of a file and `/healthz` keeps answering.
fn fit_to_open_files(connections: &mut rapport_server::settings::ConnectionSettings) {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "could not read or raise the open-file limit");
            return;
        }
    };
    let room = usize::try_from(connection_room(limit)).unwrap_or(usize::MAX);
    tracing::debug!(open_file_limit = limit, room, "open-file limit");
    if connections.max_connections > room {
        tracing::warn!(
            "server.max_connections is {} but the open-file limit ({limit}) leaves room for {room}: \
             using {room} (raise the limit with `ulimit -n` or LimitNOFILE= in the service unit)",
            connections.max_connections
        );
        connections.max_connections = room;
    }
    connections.max_connections_per_address = connections.max_connections_per_address.min(room);
    connections.max_websockets = connections.max_websockets.min(room);
    connections.max_websockets_per_address = connections.max_websockets_per_address.min(room);
}

/// How many connections an open-file limit leaves room for.
fn connection_room(limit: u64) -> u64 {
    if limit > 2 * FILES_KEPT_BACK { limit - FILES_KEPT_BACK } else { (limit / 2).max(1) }
}

fn report_start(server: &rapport_server::ServerConfig) {
    let public_url = &server.portal.public_url;
    match crate::config::public_url_warning(public_url) {
        Some(warning) => tracing::warn!("{warning}"),
        None => tracing::info!(%public_url, "links in emails point at the public address"),
    }
    let channels = rapport_server::api::health::channel_readiness(server);
    let sending: Vec<&str> = channels.iter().filter(|entry| entry.sends).map(|entry| entry.channel).collect();
    tracing::info!(
        "replies can be sent on: {}",
        if sending.is_empty() { "no channel".to_owned() } else { sending.join(", ") }
    );
    // Channels that share a missing sender are named together, once.
    let mut waiting: Vec<(&str, Vec<&str>)> = Vec::new();
    for entry in channels.iter().filter(|entry| !entry.sends) {
        match waiting.iter_mut().find(|(detail, _)| *detail == entry.detail) {
            Some((_, names)) => names.push(entry.channel),
            None => waiting.push((entry.detail, vec![entry.channel])),
        }
    }
    for (detail, names) in waiting {
        // Email carries the web form's links and every acknowledgment, so
        // an installation without it leaves customers waiting; the others
        // are only missing when the team uses them.
        let email = names.contains(&"email");
        let names = names.join(", ");
        if email {
            tracing::warn!("replies on {names} cannot be sent and wait in the outbox: {detail}");
        } else {
            tracing::info!("replies on {names} cannot be sent and wait in the outbox: {detail}");
        }
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
    let checks = store.clone();
    let mail = config.server.mail.clone();
    let interval = config.poll_interval;
    tracing::info!(mailboxes = mailboxes.len(), ?interval, "polling IMAP mailboxes");
    Ok(Some(tokio::spawn(async move {
        let file = |mailbox: &rapport_channels::email::imap::ImapMailbox, raw: Vec<u8>| {
            let store = store.clone();
            let mail = mail.clone();
            let team = routes.get(&mailbox.address).copied().flatten();
            async move {
                let outcome = rapport_server::workers::mail::file_email(
                    &store,
                    &mail,
                    &raw,
                    team,
                    rapport_server::Clock::system().now(),
                )
                .await?;
                tracing::info!(outcome = %crate::mailgate::describe(&outcome), "filed mail from IMAP");
                Ok(())
            }
        };
        // Each poll's outcome, for the admin's Channels page.
        let report = |mailbox: &rapport_channels::email::imap::ImapMailbox, outcome: Result<(), String>| {
            let store = checks.clone();
            let source = format!("email:{}", mailbox.address);
            async move {
                let now = rapport_server::Clock::system().now();
                let recorded = match outcome {
                    Ok(()) => store.record_channel_ok(&source, "email", now).await,
                    Err(error) => store.record_channel_error(&source, "email", &error, now).await,
                };
                if let Err(error) = recorded {
                    tracing::warn!(%error, %source, "recording a mailbox's poll failed");
                }
            }
        };
        run_poller(mailboxes, tls, interval, file, report, async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await;
    })))
}

/// Ctrl-C or SIGTERM, registered now (a signal that comes before the
/// future is first polled still counts).
#[cfg(unix)]
fn shutdown_signals() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

/// Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signals() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}

#[cfg(test)]
mod tests {
    use super::connection_room;

    #[test]
    fn connections_leave_files_for_the_rest_of_the_process() {
        assert_eq!(connection_room(1024), 1024 - 128);
        assert_eq!(connection_room(1_048_576), 1_048_576 - 128);
        assert_eq!(connection_room(200), 100, "a tiny limit is shared half and half");
        assert_eq!(connection_room(1), 1);
    }
}
