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

    let mut welcome = None;
    if args.demo {
        if store.count_tickets().await? == 0 {
            let summary = demo::load(&store, demo::Progress::for_stderr()).await?;
            eprintln!("{summary}");
        }
        welcome = Some(demo::sign_in(&store).await?);
    }
    tracing::info!(database = %config.redacted_database_url(), %address, "serving");
    println!("Rapport is listening on http://{address}");
    if let Some(welcome) = welcome {
        println!("  admin sign-in: {} / {}", welcome.email, welcome.password);
        println!("  try: curl -H \"Authorization: Bearer {}\" http://{address}/api/v1/tickets", welcome.token);
        println!("  API token: {}", welcome.token);
        println!("  API reference: http://{address}/api/v1/openapi.json");
    }
    let state = rapport_server::AppState { store: store.clone(), config: std::sync::Arc::new(config.server.clone()) };
    rapport_server::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    Ok(())
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
