//! The service-level machinery in the background: the SLA projector (each
//! changed ticket's targets measured again; after a policy change, every
//! open ticket), the timer pass that fires time-triggered rules, and the
//! worker that runs the jobs rules leave.
//!
//! Every step is a store call that is safe to run on several instances at
//! once (claims with leases, compare-and-set progress, unique job keys), so
//! each instance simply runs this loop. Time comes from the state's clock.

use std::time::Duration;

use tokio::sync::watch;

use crate::AppState;

/// How the background loop paces itself.
#[derive(Debug, Clone)]
pub struct AutomationSettings {
    /// Whether the loop runs at all (benchmarks of the bare write path turn it off).
    pub enabled: bool,
    /// How often it looks for work when idle.
    pub tick: Duration,
    /// Changed tickets measured per batch.
    pub batch: i64,
    /// Open tickets re-measured per sweep batch after a policy change.
    pub sweep_batch: i64,
}

impl Default for AutomationSettings {
    fn default() -> Self {
        AutomationSettings { enabled: true, tick: Duration::from_millis(250), batch: 500, sweep_batch: 1000 }
    }
}

/// Runs until `stopped` changes (or its sender is dropped).
pub async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let settings = state.config.automation.clone();
    if !settings.enabled {
        return;
    }
    let mut tick = tokio::time::interval(settings.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let busy = match step(&state, &settings).await {
            Ok(busy) => busy,
            Err(error) => {
                tracing::warn!(error = %error, "service-level automation step failed; will retry");
                false
            }
        };
        if busy {
            // More work waits: go on at once, but let other tasks run and notice a stop.
            tokio::task::yield_now().await;
            if *stopped.borrow() {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
    }
}

/// One round: changed tickets first (agents look at them), then one sweep
/// batch. Returns whether more work is waiting.
async fn step(state: &AppState, settings: &AutomationSettings) -> Result<bool, rapport_store::StoreError> {
    let store = &state.store;
    loop {
        let taken = store.project_changed(settings.batch, state.now()).await?;
        if taken < usize::try_from(settings.batch).unwrap_or(usize::MAX) {
            break;
        }
        tokio::task::yield_now().await;
    }
    let sweep = store.project_sweep(settings.sweep_batch, state.now()).await?;
    Ok(!sweep.done)
}
