//! Which kept tickets a change of policies can measure differently.
//!
//! A ticket is kept with the policy that applied to it. Under a new set of
//! policies it measures the same as before when two things hold:
//!
//! - the policies ahead of its own, and its own, match exactly as before
//!   (same ids, same conditions, same order), so the first match is still
//!   its policy; and
//! - its policy measures exactly as before: the same targets, the same
//!   pause rule and the same calendar hours.
//!
//! A [`SetPrint`] records, for each policy, a fingerprint of exactly those
//! things, and one for tickets no policy applied to (every policy's
//! conditions, in order). Comparing the print the kept tickets were measured
//! under with the print of the policies now gives the [`Scope`] of a sweep:
//! the kept policies whose tickets must be measured again. Everything the
//! print leaves out (a policy's name) only ever adds to the scope.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::projection::PolicySet;
use crate::calendar::Calendar;

/// How a set of policies measures the tickets kept on each policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPrint {
    /// By policy id: its match (with every policy ahead of it) and its measure.
    pub policies: BTreeMap<i64, u64>,
    /// For tickets no policy applies to: every policy's match, in order.
    pub unmatched: u64,
}

/// The kept tickets a sweep measures again: those kept on one of `policies`,
/// and those kept with no policy when `unmatched`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Policy ids, ascending.
    pub policies: BTreeSet<i64>,
    /// Whether tickets no policy applied to are in.
    pub unmatched: bool,
}

impl Scope {
    /// Whether a ticket kept on `policy` is in.
    pub fn contains(&self, policy: Option<i64>) -> bool {
        match policy {
            Some(id) => self.policies.contains(&id),
            None => self.unmatched,
        }
    }

    /// Whether no kept ticket is in.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty() && !self.unmatched
    }

    /// Both scopes' tickets.
    pub fn union(mut self, other: &Scope) -> Scope {
        self.policies.extend(other.policies.iter().copied());
        self.unmatched |= other.unmatched;
        self
    }
}

impl SetPrint {
    /// The print of `set`.
    pub fn of(set: &PolicySet) -> SetPrint {
        let mut matching = Fnv::new();
        let mut policies = BTreeMap::new();
        for (id, policy) in &set.policies {
            matching.feed_i64(*id);
            matching.feed_json(&policy.conditions);
            let mut measure = matching.clone();
            measure.feed_json(&policy.name);
            measure.feed_json(&policy.targets);
            measure.feed(&[u8::from(policy.pause_when_pending)]);
            feed_calendar(&mut measure, set.calendar(&policy.calendar));
            policies.insert(*id, measure.finish());
        }
        SetPrint { policies, unmatched: matching.finish() }
    }

    /// The print of a set with no policies (every ticket unmatched).
    pub fn of_no_policies() -> SetPrint {
        SetPrint { policies: BTreeMap::new(), unmatched: Fnv::new().finish() }
    }

    /// The kept policies whose tickets, measured under `self`, may measure
    /// differently under the set printed `now`. A policy gone from `now` is
    /// in; a policy new in `now` has no kept tickets of its own.
    pub fn changed(&self, now: &SetPrint) -> Scope {
        let policies =
            self.policies.iter().filter(|(id, print)| now.policies.get(id) != Some(print)).map(|(id, _)| *id).collect();
        Scope { policies, unmatched: self.unmatched != now.unmatched }
    }
}

/// The calendar's hours and time zone, as they count time.
fn feed_calendar(print: &mut Fnv, calendar: &Calendar) {
    match calendar.time_zone().iana_name() {
        Some(name) => print.feed(name.as_bytes()),
        None => print.feed(format!("{:?}", calendar.time_zone()).as_bytes()),
    }
    print.feed(calendar.hours_text().as_bytes());
}

/// FNV-1a, 64 bits: stable across processes and versions, unlike std's hasher.
#[derive(Debug, Clone)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn feed(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn feed_i64(&mut self, value: i64) {
        self.feed(&value.to_le_bytes());
    }

    fn feed_json(&mut self, value: &impl Serialize) {
        // Serializing plain data to a string cannot fail; should it, the
        // message differs from any real value, which only widens the scope.
        let text = serde_json::to_string(value).unwrap_or_else(|error| format!("unprintable: {error}"));
        self.feed(text.as_bytes());
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests;
