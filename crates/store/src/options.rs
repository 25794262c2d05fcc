//! The settings the store takes from the configuration.

use rapport_core::PriorityMatrix;

/// Settings the store needs from the configuration.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Tier × urgency → priority.
    pub matrix: PriorityMatrix,
    /// The team's IANA time zone, for the default business-hours calendar
    /// (UTC when empty or unknown).
    pub sla_time_zone: String,
    /// How many of a ticket's followers (Cc) replies are mailed to; those
    /// after them are recorded as `copied` and not mailed, so one message
    /// with thousands of addresses in Cc cannot turn every reply into mass
    /// mail (or into one that servers refuse).
    pub max_followers: usize,
}

/// The followers a ticket's replies go to when the configuration says nothing.
pub const DEFAULT_MAX_FOLLOWERS: usize = 20;

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            matrix: PriorityMatrix::default(),
            sla_time_zone: String::new(),
            max_followers: DEFAULT_MAX_FOLLOWERS,
        }
    }
}
