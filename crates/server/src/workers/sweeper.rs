//! The sweeper: once a minute it closes solved tickets whose time has come
//! (`auto_close_after_ms` after solving) and purges the help pages' spent
//! records (rate counters, expired magic links and sessions). Both are store
//! calls that are safe on several instances at once.

use std::time::Duration;

use tokio::sync::watch;

use crate::state::AppState;

/// How often solved tickets are checked for auto-closing.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Sweeps once a minute until `stopped` changes (or its sender is dropped).
pub async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(SWEEP_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            // A send (shutdown) or a dropped sender (the server ended) both stop the sweeper.
            _ = stopped.changed() => return,
        }
        match state.store.auto_close(state.config.auto_close_after_ms, state.now()).await {
            Ok(0) => {}
            Ok(closed) => tracing::info!(closed, "auto-closed solved tickets"),
            Err(error) => tracing::warn!(%error, "auto-closing solved tickets"),
        }
        // Spent rate counters, expired magic links and help-page sessions.
        if let Err(error) = state.store.purge_portal(rapport_core::time::HOUR, state.now()).await {
            tracing::warn!(%error, "purging expired help-page records");
        }
        if let Err(error) = state.store.purge_agent_sessions(state.now()).await {
            tracing::warn!(%error, "purging expired workspace sessions");
        }
    }
}
