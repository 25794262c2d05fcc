//! The state every handler, hook, chat connection and worker shares
//! ([`AppState`]), and the one clock they all read time from ([`Clock`]).
//!
//! Time is read only here: the system clock in production, a clock tests
//! move by hand so that a due time, a link's expiry or a message's stamp can
//! be checked without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rapport_core::Timestamp;
use rapport_store::Store;

use crate::connections::Occupancy;
use crate::settings::ServerConfig;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The settings.
    pub config: Arc<ServerConfig>,
    /// Where "now" comes from: the system clock, or a clock tests move by hand.
    pub clock: Clock,
    /// The connections and WebSockets open now, against their caps.
    pub occupancy: Arc<Occupancy>,
    /// When this instance last recorded each webhook source's check.
    pub recorded_checks: Arc<RecordedChecks>,
}

/// When this instance last recorded each webhook source's success (`true`)
/// and error, so that it records each at most once a minute (see `hooks`).
pub type RecordedChecks = std::sync::Mutex<std::collections::HashMap<(&'static str, bool), std::time::Instant>>;

impl AppState {
    /// A state on the system clock.
    pub fn new(store: Store, config: ServerConfig) -> AppState {
        let occupancy = Occupancy::new(config.connections.clone());
        AppState { store, config: Arc::new(config), clock: Clock::system(), occupancy, recorded_checks: Arc::default() }
    }

    /// Now, by this state's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// The server's one time source: every handler, hook, chat frame and worker
/// reads now from it. The system clock in production; in tests, a clock
/// moved by hand, to cross a due time without waiting hours or to check what
/// a message was stamped with.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that stands at `start` until moved.
    pub fn manual(start: Timestamp) -> Clock {
        Clock { manual: Some(Arc::new(AtomicI64::new(start.0))) }
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        match &self.manual {
            Some(at) => Timestamp(at.load(Ordering::SeqCst)),
            None => system_now(),
        }
    }

    /// Moves a manual clock to `to` (the system clock cannot be moved).
    pub fn set(&self, to: Timestamp) {
        if let Some(at) = &self.manual {
            at.store(to.0, Ordering::SeqCst);
        }
    }

    /// Moves a manual clock forward by `millis`.
    pub fn advance(&self, millis: i64) {
        if let Some(at) = &self.manual {
            at.fetch_add(millis, Ordering::SeqCst);
        }
    }
}

/// Now, from the system clock, in milliseconds since the epoch.
fn system_now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}
