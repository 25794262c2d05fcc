//! Releases held replies once their undo window ends: each becomes a message
//! on its ticket, built exactly as the API builds an agent's reply, and goes
//! to the outbox in the same transaction. A reply the ticket refuses (closed
//! or merged meanwhile, no channel left) is kept with the reason for its
//! agent, who sees it on the ticket page. Safe on several instances: the
//! release deletes the held row in its own transaction.

use std::time::Duration;

use rapport_core::Viewer;
use rapport_store::StoreError;
use tokio::sync::watch;

use crate::api::tickets::agent_message;
use crate::http::error::ApiError;
use crate::state::AppState;

/// How often held replies are checked: a reply goes out at most this late.
const RELEASE_EVERY: Duration = Duration::from_millis(500);
/// Held replies released per round.
const BATCH: i64 = 100;

/// Releases due replies until `stopped` changes (or its sender is dropped).
pub async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(RELEASE_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stopped.changed() => return,
        }
        if let Err(error) = release_due(&state).await {
            tracing::warn!(%error, "releasing held replies");
        }
    }
}

/// Releases every held reply whose window has ended; returns how many went.
pub async fn release_due(state: &AppState) -> Result<usize, StoreError> {
    let mut released = 0;
    for (held, files) in state.store.due_held_replies(state.now(), BATCH).await? {
        let viewer = match state.store.get_agent(held.agent).await {
            Ok(agent) if agent.active => Viewer::of(&agent),
            Ok(_) | Err(StoreError::NotFound(_)) => {
                let reason = "its author's account was deactivated before it went out".to_owned();
                state.store.refuse_held_reply(held.id, reason).await?;
                continue;
            }
            Err(error) => return Err(error),
        };
        let channel = held.channel.map(|channel| channel.as_str());
        let outcome = match agent_message(state, held.agent, true, channel, held.body.clone(), files) {
            Ok(message) => state.store.release_held_reply(held.id, viewer, message, held.status).await,
            Err(error) => {
                state.store.refuse_held_reply(held.id, reason_of(error)).await?;
                continue;
            }
        };
        match outcome {
            Ok(Some(_)) => released += 1,
            Ok(None) => {}
            // The database failed: the row is as it was; the next round tries again.
            Err(StoreError::Other(error)) => return Err(StoreError::Other(error)),
            Err(refused) => state.store.refuse_held_reply(held.id, reason_of(ApiError::from(refused))).await?,
        }
    }
    Ok(released)
}

/// A refusal in the words the reply box would have shown.
fn reason_of(error: ApiError) -> String {
    match error.for_page() {
        Some((_, _, message)) => message,
        None => "the ticket could not take it".to_owned(),
    }
}
