//! The request body of `POST /sla/policies` and `PUT /sla/policies/{id}`,
//! with a real OpenAPI schema.
//!
//! It mirrors core's `SlaPolicy` field for field, with the same defaults and
//! under the same type names, so a body is accepted, refused and explained
//! exactly as when core's type was read directly. Whether the policy makes
//! sense (positive targets, a known calendar and teams, a free name) is
//! still checked by the store when it saves it.

use rapport_core::sla::{self, DEFAULT_CALENDAR};
use rapport_core::{Channel, Level, TeamId, Tier};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::wire;

fn yes() -> bool {
    true
}

fn default_calendar() -> String {
    DEFAULT_CALENDAR.to_owned()
}

/// An SLA policy: which tickets it applies to and the targets it sets.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    /// The policy's name, shown to agents and in reports.
    pub name: String,
    /// Which tickets the policy applies to (absent or empty: every ticket).
    #[serde(default)]
    pub conditions: PolicyMatch,
    /// The targets it sets.
    pub targets: Targets,
    /// Whether the clocks pause while the ticket is pending on the customer (default true).
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub pause_when_pending: bool,
    /// The calendar business-hours targets count on (default `default`).
    #[serde(default = "default_calendar")]
    #[schema(default = "default")]
    pub calendar: String,
}

/// Conditions on a ticket; an empty list matches any value. A ticket matches
/// when it matches every non-empty list; for `tags`, when it has at least one
/// of the listed tags.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyMatch {
    /// Channels the ticket came in on.
    #[serde(default)]
    #[schema(schema_with = wire::channels)]
    pub channels: Vec<Channel>,
    /// Customer tiers.
    #[serde(default)]
    pub tiers: Vec<String>,
    /// Ticket priorities.
    #[serde(default)]
    #[schema(schema_with = wire::levels)]
    pub priorities: Vec<Level>,
    /// Owning teams' ids (a ticket without a team matches only an empty list).
    #[serde(default)]
    pub teams: Vec<i64>,
    /// Tags, any one of which matches.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A policy's targets; an absent or null one is not measured.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// From creation to the first public agent reply.
    #[serde(default)]
    pub first_response: Option<TargetSpec>,
    /// From the oldest unanswered customer message to the next agent reply.
    #[serde(default)]
    pub next_response: Option<TargetSpec>,
    /// From creation to solved.
    #[serde(default)]
    pub resolution: Option<TargetSpec>,
}

/// One target: an amount of time, in business or calendar time.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// The time allowed, in seconds; must be positive.
    pub seconds: i64,
    /// Counted in business time on the calendar (true) or in real time (false).
    pub business_hours: bool,
}

impl From<SlaPolicy> for sla::SlaPolicy {
    fn from(policy: SlaPolicy) -> sla::SlaPolicy {
        sla::SlaPolicy {
            name: policy.name,
            conditions: policy.conditions.into(),
            targets: policy.targets.into(),
            pause_when_pending: policy.pause_when_pending,
            calendar: policy.calendar,
        }
    }
}

impl From<PolicyMatch> for sla::PolicyMatch {
    fn from(conditions: PolicyMatch) -> sla::PolicyMatch {
        sla::PolicyMatch {
            channels: conditions.channels,
            tiers: conditions.tiers.into_iter().map(Tier).collect(),
            priorities: conditions.priorities,
            teams: conditions.teams.into_iter().map(TeamId).collect(),
            tags: conditions.tags,
        }
    }
}

impl From<Targets> for sla::Targets {
    fn from(targets: Targets) -> sla::Targets {
        sla::Targets {
            first_response: targets.first_response.map(sla::TargetSpec::from),
            next_response: targets.next_response.map(sla::TargetSpec::from),
            resolution: targets.resolution.map(sla::TargetSpec::from),
        }
    }
}

impl From<TargetSpec> for sla::TargetSpec {
    fn from(target: TargetSpec) -> sla::TargetSpec {
        sla::TargetSpec { seconds: target.seconds, business_hours: target.business_hours }
    }
}
