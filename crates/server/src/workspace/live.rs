//! Live updates: one WebSocket per browser tab (`/desk/live`), over which the
//! server says what changed and who is where, and the page fetches what it
//! shows again from the server (the server stays the truth; the socket
//! carries only hints and presence).
//!
//! - The feed ([`follow`]) reads the store's change feed: at once after a
//!   commit of this process, and every second for the commits of other
//!   instances (PostgreSQL's LISTEN/NOTIFY can take the poll's place). Each
//!   read goes to the tabs as one batch: a tab with a changed ticket open
//!   hears `ticket_changed` once, and every tab hears `queue_changed` at
//!   most once a second.
//! - Presence is kept here, per instance: which agents have which ticket
//!   open and who is typing a reply there. A tab says `watch` (with the
//!   ticket it shows) and `typing`; the others on that ticket hear
//!   `presence` with the names.
//!
//! Frames from the server:
//! `{"type":"ticket_changed","ticket":N,"message":true}`,
//! `{"type":"queue_changed"}`,
//! `{"type":"presence","ticket":N,"viewing":["Bo"],"typing":["Bo"]}`.
//! From the tab: `{"type":"watch","ticket":N}` (or `null`), `{"type":"typing"}`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rapport_core::{AgentId, TicketId};
use rapport_store::{Change, LOOK_BACK, Store};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, mpsc, watch};

use crate::state::AppState;
use crate::workspace::page::refused;
use crate::workspace::session::{Desk, same_origin};

/// How often the feed reads without being woken (other instances' commits).
const POLL: Duration = Duration::from_secs(1);
/// How long "typing" lasts after the tab's last `typing`.
const TYPING_FOR: Duration = Duration::from_secs(5);
/// `queue_changed` goes out at most this often.
const QUEUE_HINT_EVERY: Duration = Duration::from_secs(1);
/// Changes read at once.
const BATCH: i64 = 1000;
/// Frames waiting for a slow tab before it is dropped (it reconnects and reloads).
const OUTLET_CAPACITY: usize = 256;
/// How often an open tab checks that its session still works (signed out,
/// password changed, deactivated, on any instance): it closes within this much.
const SESSION_CHECK: Duration = Duration::from_secs(2);

/// The live side of the workspace: the change feed's subscribers and presence.
#[derive(Clone)]
pub struct Live {
    changes: broadcast::Sender<Arc<Vec<Change>>>,
    presence: Arc<Mutex<HashMap<u64, Watcher>>>,
    next: Arc<AtomicU64>,
}

struct Watcher {
    agent: AgentId,
    name: String,
    ticket: Option<TicketId>,
    typing_until: Option<Instant>,
    outlet: mpsc::Sender<String>,
}

impl Default for Live {
    fn default() -> Live {
        Live::new()
    }
}

impl Live {
    /// A live hub with no tabs.
    pub fn new() -> Live {
        let (changes, _) = broadcast::channel(4096);
        Live { changes, presence: Arc::default(), next: Arc::new(AtomicU64::new(1)) }
    }

    /// How many tabs are connected (for tests and the benchmark).
    pub fn tabs(&self) -> usize {
        self.presence.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn join(&self, agent: AgentId, name: String, outlet: mpsc::Sender<String>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let watcher = Watcher { agent, name, ticket: None, typing_until: None, outlet };
        self.presence.lock().unwrap_or_else(PoisonError::into_inner).insert(id, watcher);
        id
    }

    fn leave(&self, id: u64) {
        let ticket = self.presence.lock().unwrap_or_else(PoisonError::into_inner).remove(&id).and_then(|w| w.ticket);
        if let Some(ticket) = ticket {
            self.announce(ticket);
        }
    }

    fn watch(&self, id: u64, ticket: Option<TicketId>) {
        let before = {
            let mut presence = self.presence.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(watcher) = presence.get_mut(&id) else { return };
            watcher.typing_until = None;
            std::mem::replace(&mut watcher.ticket, ticket)
        };
        for changed in [before, ticket].into_iter().flatten().collect::<HashSet<_>>() {
            self.announce(changed);
        }
    }

    fn typing(&self, id: u64) {
        let ticket = {
            let mut presence = self.presence.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(watcher) = presence.get_mut(&id) else { return };
            let was_typing = watcher.typing_until.is_some_and(|until| until > Instant::now());
            watcher.typing_until = Some(Instant::now() + TYPING_FOR);
            if was_typing { None } else { watcher.ticket }
        };
        if let Some(ticket) = ticket {
            self.announce(ticket);
        }
    }

    /// Tells every tab on `ticket` who else is there and who is typing.
    fn announce(&self, ticket: TicketId) {
        let presence = self.presence.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let here: Vec<(&u64, &Watcher)> = presence.iter().filter(|(_, w)| w.ticket == Some(ticket)).collect();
        for (id, watcher) in &here {
            let others = here.iter().filter(|(other, w)| other != id && w.agent != watcher.agent);
            let mut viewing: Vec<&str> = Vec::new();
            let mut typing: Vec<&str> = Vec::new();
            for (_, other) in others {
                if !viewing.contains(&other.name.as_str()) {
                    viewing.push(&other.name);
                }
                if other.typing_until.is_some_and(|until| until > now) && !typing.contains(&other.name.as_str()) {
                    typing.push(&other.name);
                }
            }
            let frame = json!({"type": "presence", "ticket": ticket.0, "viewing": viewing, "typing": typing});
            // A full outlet means a stuck tab: it misses this and reloads when it reconnects.
            let _ = watcher.outlet.try_send(frame.to_string());
        }
    }

    /// Ends "typing" that timed out, telling the tabs concerned.
    fn expire_typing(&self) {
        let expired: Vec<TicketId> = {
            let mut presence = self.presence.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            presence
                .values_mut()
                .filter(|watcher| watcher.typing_until.is_some_and(|until| until <= now))
                .filter_map(|watcher| {
                    watcher.typing_until = None;
                    watcher.ticket
                })
                .collect()
        };
        for ticket in expired.into_iter().collect::<HashSet<_>>() {
            self.announce(ticket);
        }
    }
}

/// Follows the store's change feed until `stopped` changes, handing each
/// change to the connected tabs.
pub async fn follow(store: Store, live: Live, mut stopped: watch::Receiver<bool>) {
    let mut commits = store.commits();
    let mut last = loop {
        match store.newest_change().await {
            Ok(newest) => break newest,
            Err(error) => {
                tracing::warn!(%error, "live feed: reading where the change feed stands");
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = stopped.changed() => return,
                }
            }
        }
    };
    // Ids delivered above `last - LOOK_BACK` (a late PostgreSQL commit can land below `last`).
    let mut delivered: HashSet<i64> = HashSet::new();
    let mut typing = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            changed = commits.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(POLL).await;
                }
            }
            _ = tokio::time::sleep(POLL) => {}
            _ = typing.tick() => {
                live.expire_typing();
                continue;
            }
            _ = stopped.changed() => return,
        }
        match store.list_changes(last.saturating_sub(LOOK_BACK), BATCH).await {
            Ok(changes) => {
                // One message per read, not per change: a busy help desk
                // wakes each tab once per batch.
                let fresh: Vec<Change> = changes.into_iter().filter(|change| delivered.insert(change.event)).collect();
                if let Some(newest) = fresh.iter().map(|change| change.event).max() {
                    last = last.max(newest);
                    // No tab listening is not an error.
                    let _ = live.changes.send(Arc::new(fresh));
                }
                let floor = last.saturating_sub(LOOK_BACK);
                delivered.retain(|event| *event > floor);
            }
            Err(error) => tracing::warn!(%error, "live feed: reading changes"),
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TabFrame {
    Watch { ticket: Option<i64> },
    Typing,
}

/// `GET /desk/live`: a tab's live connection, for a signed-in agent, from our own pages.
pub async fn connect(
    State(state): State<AppState>,
    Extension(live): Extension<Live>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    desk: Desk,
    upgrade: WebSocketUpgrade,
) -> Response {
    // A page of another site could open a socket with the agent's cookie:
    // only our own pages may.
    if let Err(why) = same_origin(&headers, &state.config) {
        return refused(why);
    }
    let peer = peer.map(|Extension(ConnectInfo(address))| address.ip());
    let client = crate::connections::client_address_of(&headers, peer, state.config.portal.trust_forwarded_for);
    let permit = match state.occupancy.enter_websocket(client) {
        Ok(permit) => permit,
        Err(_) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "too many live connections; the page works without")
                .into_response();
        }
    };
    upgrade.on_upgrade(move |socket| async move {
        run(socket, state, live, desk).await;
        drop(permit);
    })
}

async fn run(mut socket: WebSocket, state: AppState, live: Live, desk: Desk) {
    let (outlet, mut inlet) = mpsc::channel::<String>(OUTLET_CAPACITY);
    let mut changes = live.changes.subscribe();
    let id = live.join(desk.agent.id, desk.agent.name.clone(), outlet);
    let mut watching: Option<TicketId> = None;
    let mut queue_hint_due = Instant::now();
    let mut queue_hint_pending = false;
    let mut hint_timer = tokio::time::interval(QUEUE_HINT_EVERY);
    let mut session = tokio::time::interval_at(tokio::time::Instant::now() + SESSION_CHECK, SESSION_CHECK);
    session.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            received = socket.recv() => {
                let Some(Ok(message)) = received else { break };
                match message {
                    Message::Text(text) => match serde_json::from_str::<TabFrame>(text.as_str()) {
                        Ok(TabFrame::Watch { ticket }) => {
                            watching = match ticket {
                                // Only a ticket the agent may see.
                                Some(ticket) => state
                                    .store
                                    .get_ticket(TicketId(ticket), Some(&desk.viewer))
                                    .await
                                    .ok()
                                    .map(|ticket| ticket.id),
                                None => None,
                            };
                            live.watch(id, watching);
                        }
                        Ok(TabFrame::Typing) => live.typing(id),
                        Err(_) => {}
                    },
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            frame = inlet.recv() => {
                let Some(frame) = frame else { break };
                if socket.send(Message::Text(frame.into())).await.is_err() {
                    break;
                }
            }
            batch = changes.recv() => {
                match batch {
                    Ok(batch) => {
                        let mine = batch.iter().filter(|change| Some(change.ticket) == watching);
                        if let Some(message) = mine.map(|change| change.message).reduce(|any, next| any || next) {
                            let ticket = watching.map_or(0, |ticket| ticket.0);
                            let frame = json!({"type": "ticket_changed", "ticket": ticket, "message": message});
                            if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
                                break;
                            }
                        }
                        queue_hint_pending = true;
                    }
                    // Fell behind: the tab reloads what it shows.
                    Err(broadcast::error::RecvError::Lagged(_)) => queue_hint_pending = true,
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
            _ = hint_timer.tick() => {}
            _ = session.tick() => {
                // A database that does not answer for a moment keeps the tab.
                if let Ok(None) = state.store.find_agent_by_session(&desk.session_hash, state.now()).await {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            }
        }
        if queue_hint_pending && Instant::now() >= queue_hint_due {
            queue_hint_pending = false;
            queue_hint_due = Instant::now() + QUEUE_HINT_EVERY;
            if socket.send(Message::Text(json!({"type": "queue_changed"}).to_string().into())).await.is_err() {
                break;
            }
        }
    }
    live.leave(id);
}
