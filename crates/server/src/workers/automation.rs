//! The service-level machinery in the background: the SLA projector (each
//! changed ticket's targets measured again; after a policy change, every
//! open ticket), overflow routing of new tickets, the timer pass that fires
//! time-triggered rules, and the worker that runs the jobs rules leave.
//!
//! Every step is a store call that is safe to run on several instances at
//! once (claims with leases, compare-and-set progress, unique job keys), so
//! each instance simply runs this loop. Time comes from the state's clock.

use std::time::Instant;

use rapport_store::{JobOutcome, StoreError};
use tokio::sync::watch;

use crate::settings::AutomationSettings;
use crate::state::AppState;

/// How long a worker holds a claimed job before another may take it over.
const JOB_LEASE_MS: i64 = 60_000;

/// Jobs claimed at a time.
const JOB_BATCH: i64 = 100;

/// What the loop keeps between rounds.
struct Round {
    /// This instance's name on the jobs it claims.
    worker: String,
    /// When the last timer pass ran.
    last_timers: Option<Instant>,
    /// Firings this process has enqueued already.
    fired: rapport_store::FiredMemory,
}

/// Runs until `stopped` changes (or its sender is dropped).
pub async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let settings = state.config.automation.clone();
    if !settings.enabled {
        return;
    }
    let mut tick = tokio::time::interval(settings.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round = Round {
        // Unique among the instances that share the database.
        worker: format!("rapport-{}-{}", std::process::id(), rand::random::<u32>()),
        last_timers: None,
        fired: rapport_store::FiredMemory::default(),
    };
    // What earlier passes enqueued, so the first pass after a restart does
    // not send every firing again. Without it the pass is still right (the
    // jobs' unique key drops repeats), only slower.
    match state.store.remember_firings(&mut round.fired).await {
        Ok(remembered) => tracing::debug!(remembered, "remembered the timer firings already enqueued"),
        Err(error) => tracing::warn!(%error, "could not read the timer firings already enqueued; carrying on"),
    }
    loop {
        let busy = match step(&state, &settings, &mut round).await {
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

/// One round: changed tickets first (agents look at them), the timer pass
/// when due, the jobs due, then one sweep batch. Returns whether more work
/// is waiting.
async fn step(state: &AppState, settings: &AutomationSettings, round: &mut Round) -> Result<bool, StoreError> {
    let store = &state.store;
    loop {
        let taken = store.project_changed(settings.batch, state.now()).await?;
        if taken < usize::try_from(settings.batch).unwrap_or(usize::MAX) {
            break;
        }
        tokio::task::yield_now().await;
    }
    let moved = store.route_overflow(state.now()).await?;
    if moved > 0 {
        tracing::info!(moved, "routed new tickets to overflow teams");
    }
    if round.last_timers.is_none_or(|last| last.elapsed() >= settings.timer_every) {
        round.last_timers = Some(Instant::now());
        let pass = store.run_timers(state.now(), &mut round.fired).await?;
        if pass.enqueued > 0 {
            tracing::info!(tickets = pass.tickets, enqueued = pass.enqueued, "timer pass fired rules");
        }
    }
    let jobs_left = run_jobs(state, &round.worker).await?;
    let sweep = store.project_sweep(settings.sweep_batch, state.now()).await?;
    Ok(jobs_left || !sweep.done)
}

/// Runs one batch of due jobs; returns whether the batch was full (more may wait).
async fn run_jobs(state: &AppState, worker: &str) -> Result<bool, StoreError> {
    let store = &state.store;
    let jobs = store.claim_jobs(worker, JOB_BATCH, JOB_LEASE_MS, state.now()).await?;
    let full = i64::try_from(jobs.len()).unwrap_or(i64::MAX) >= JOB_BATCH;
    for job in jobs {
        let id = job.id;
        match store.run_job(worker, job, state.now()).await {
            Ok(JobOutcome::Done) => {}
            Ok(JobOutcome::Lost) => tracing::info!(job = id.0, "a job's lease ran out and another worker took it"),
            Ok(JobOutcome::Skipped(why)) => tracing::debug!(job = id.0, why, "job skipped"),
            Err(error) => {
                tracing::warn!(job = id.0, %error, "a job failed; it will be retried");
                store.record_job_failure(id, &error.to_string(), state.now()).await?;
            }
        }
    }
    Ok(full)
}
