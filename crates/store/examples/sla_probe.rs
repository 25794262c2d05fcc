//! Times the SLA machinery on an existing database, for profiling:
//! `cargo run --release -p rapport-store --example sla_probe -- sqlite://PATH (timers|sweep) [passes]`.
//!
//! Keep a database from `rapport bench --sla N --keep-files` to run it on.
//! `timers` runs one pass to learn what fires, then times `passes` steady passes;
//! `sweep` changes the email policy's first response (4 or 6 business hours, in
//! turn) and times the sweep that measures every open ticket again.

use std::time::Instant;

use rapport_store::{FiredMemory, Store, StoreOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| anyhow::anyhow!("usage: sla_probe sqlite://PATH (timers|sweep) [passes]"))?;
    let mode = args.next().unwrap_or_else(|| "timers".to_owned());
    let passes: usize = args.next().map_or(Ok(3), |text| text.parse())?;
    let store = Store::open(&url, StoreOptions::default()).await?;
    let now = || rapport_core::Timestamp(jiff::Timestamp::now().as_millisecond());
    // Whatever is marked changed (all of it, after a migration that adds kept columns) first.
    let started = Instant::now();
    let mut projected = 0;
    loop {
        let taken = store.project_changed(2_000, now()).await?;
        projected += taken;
        if taken == 0 {
            break;
        }
    }
    if projected > 0 {
        println!("projected {projected} changed tickets in {:?}", started.elapsed());
    }
    match mode.as_str() {
        "timers" => {
            let mut fired = FiredMemory::default();
            let started = Instant::now();
            let first = store.run_timers(now(), &mut fired).await?;
            println!("first pass {:?}: {first:?}", started.elapsed());
            for _ in 0..passes {
                let started = Instant::now();
                let pass = store.run_timers(now(), &mut fired).await?;
                println!("steady pass {:?}: {pass:?}", started.elapsed());
            }
        }
        "sweep" => {
            let policies = store.list_policies().await?;
            let email = policies
                .iter()
                .find(|stored| stored.policy.name == "Email and web")
                .ok_or_else(|| anyhow::anyhow!("no \"Email and web\" policy"))?;
            let mut changed = email.policy.clone();
            // Four business hours for a first response, or back to six.
            let first = changed
                .targets
                .first_response
                .get_or_insert(rapport_core::sla::TargetSpec { seconds: 6 * 3600, business_hours: true });
            first.seconds = if first.seconds == 4 * 3600 { 6 * 3600 } else { 4 * 3600 };
            store.update_policy(email.id, changed, None, rapport_core::Actor::System, now()).await?;
            let started = Instant::now();
            let mut batches = 0;
            loop {
                let progress = store.project_sweep(1000, now()).await?;
                batches += 1;
                if progress.done {
                    break;
                }
            }
            println!("sweep {:?} in {batches} batches", started.elapsed());
        }
        other => anyhow::bail!("unknown mode {other:?}: timers or sweep"),
    }
    store.close().await;
    Ok(())
}
