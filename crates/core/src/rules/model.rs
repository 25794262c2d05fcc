//! The stored shape of rules, escalation plans and the values the engine
//! reads and produces. Everything here is plain serde data: rules are stored
//! as JSON and come in over the API.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ids::{AgentId, TeamId, TicketId};
use crate::priority::{Level, Tier};
use crate::sla::TargetKind;
use crate::ticket::{Channel, Status};
use crate::time::Timestamp;

/// The event words the core ticket lifecycle emits. The trigger set is open:
/// validation takes the known words as an argument, so later capabilities
/// append theirs.
pub const EVENT_WORDS: &[&str] = &[
    "created",
    "customer_replied",
    "agent_replied",
    "status_changed",
    "reopened",
    "solved",
    "priority_changed",
    "team_changed",
    "owner_changed",
    "tags_changed",
    "escalated",
    "update_sent",
];

/// A stored rule's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(pub i64);

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn yes() -> bool {
    true
}

/// An escalation rule: when its trigger happens and every condition holds,
/// its actions run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Shown to agents, in priority reasons and in loop errors; 1–200 characters.
    pub name: String,
    /// What makes the rule look at a ticket.
    pub trigger: RuleTrigger,
    /// All of them must hold (an empty list always holds).
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// What to do, in order; at least one.
    pub actions: Vec<Action>,
    /// A disabled rule never fires and makes no loop.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// What makes a rule look at a ticket: an event, or a timer condition that
/// the periodic pass checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleTrigger {
    /// An event word happened on the ticket (see [`EVENT_WORDS`]).
    Event {
        /// The event word.
        event: String,
    },
    /// A running SLA target reached `percent`% (1–99) of its time.
    TargetPercent {
        /// Which target.
        target: TargetKind,
        /// How much of its time has gone.
        percent: u8,
    },
    /// An SLA target was breached (while still unmet).
    TargetBreached {
        /// Which target.
        target: TargetKind,
    },
    /// The unsolved ticket has had no owner for `minutes` (since it was
    /// created or since its owner was removed).
    NoOwner {
        /// Positive.
        minutes: i64,
    },
    /// The ticket has been pending on the customer for `days`.
    PendingFor {
        /// Positive.
        days: i64,
    },
}

impl RuleTrigger {
    /// The event word for an event trigger; `None` for timer triggers.
    pub fn event(&self) -> Option<&str> {
        match self {
            RuleTrigger::Event { event } => Some(event),
            _ => None,
        }
    }
}

/// One test on a ticket field. Which operators and values fit which field is
/// checked by [`validate`](super::validate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The ticket field.
    pub field: Field,
    /// The comparison.
    pub op: Op,
    /// What it is compared with.
    pub value: ConditionValue,
}

/// A condition's value as written in JSON: a number, a word, or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionValue {
    /// A count, level number or id.
    Number(i64),
    /// A word: a status, level, channel, tier, tag, or `none`/`any`.
    Word(String),
    /// Ids, for `in` and `not_in` on team and owner.
    Numbers(Vec<i64>),
    /// Words, for `in` and `not_in`, or `contains` (any of) on tags.
    Words(Vec<String>),
}

/// A ticket field a condition can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// A status word.
    Status,
    /// A level word; ordered (`at_least`, `at_most`).
    Priority,
    /// A level word; ordered.
    Urgency,
    /// A channel word.
    Channel,
    /// A team id, or `none` / `any`.
    Team,
    /// An agent id, or `none` / `any`.
    Owner,
    /// A tier name.
    Tier,
    /// Tags (`contains`, `not_contains`).
    Tags,
    /// 0 (not escalated) to 3.
    EscalationLevel,
    /// How often the ticket was reopened.
    Reopens,
    /// How often it moved between teams.
    Transfers,
    /// All messages on it.
    Messages,
    /// Messages from the customer.
    CustomerMessages,
}

impl Field {
    /// The word used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Status => "status",
            Field::Priority => "priority",
            Field::Urgency => "urgency",
            Field::Channel => "channel",
            Field::Team => "team",
            Field::Owner => "owner",
            Field::Tier => "tier",
            Field::Tags => "tags",
            Field::EscalationLevel => "escalation_level",
            Field::Reopens => "reopens",
            Field::Transfers => "transfers",
            Field::Messages => "messages",
            Field::CustomerMessages => "customer_messages",
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal to the value.
    Is,
    /// Not equal to the value.
    IsNot,
    /// One of the listed values.
    In,
    /// None of the listed values.
    NotIn,
    /// Greater than or equal (numbers and levels).
    AtLeast,
    /// Less than or equal (numbers and levels).
    AtMost,
    /// The tags include the tag (or any of the listed tags).
    Contains,
    /// The tags include none of them.
    NotContains,
}

impl Op {
    /// The word used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Is => "is",
            Op::IsNot => "is_not",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::AtLeast => "at_least",
            Op::AtMost => "at_most",
            Op::Contains => "contains",
            Op::NotContains => "not_contains",
        }
    }
}

/// What a rule does. Placeholders (see [`render`](super::render)) are allowed
/// in notification messages and update templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Tell the owner (the on-call supervisor when there is no owner).
    NotifyOwner {
        /// The message.
        message: String,
    },
    /// Tell the on-call supervisor.
    NotifySupervisor {
        /// The message.
        message: String,
    },
    /// One priority level up, capped at urgent.
    RaisePriority,
    /// Set the priority.
    SetPriority {
        /// The new priority.
        priority: Level,
    },
    /// Move the ticket to a team.
    MoveToTeam {
        /// The team.
        team: TeamId,
    },
    /// Up to the next escalation level (past the last: page on-call).
    Escalate,
    /// Set the escalation level (0 = not escalated, up to 3).
    SetEscalationLevel {
        /// The level.
        level: u8,
    },
    /// Add a tag (normalised: lower-case, no spaces or commas).
    AddTag {
        /// The tag.
        tag: String,
    },
    /// Send the customer a message on their channel.
    SendUpdate {
        /// The message, with placeholders.
        template: String,
    },
    /// Create a task on the ticket.
    CreateTask {
        /// The task's title.
        title: String,
        /// Due this many minutes after the rule fired; positive.
        due_minutes: i64,
    },
}

impl Action {
    /// The event words this action causes when it changes the ticket; the
    /// edges of the loop check.
    pub fn produces(&self) -> &'static [&'static str] {
        match self {
            Action::NotifyOwner { .. } | Action::NotifySupervisor { .. } => &[],
            Action::RaisePriority | Action::SetPriority { .. } => &["priority_changed"],
            Action::MoveToTeam { .. } => &["team_changed"],
            Action::Escalate | Action::SetEscalationLevel { .. } => &["escalated", "team_changed"],
            Action::AddTag { .. } => &["tags_changed"],
            Action::SendUpdate { .. } => &["update_sent"],
            Action::CreateTask { .. } => &[],
        }
    }
}

/// Who takes a ticket at each escalation level, and who is paged when the
/// levels run out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPlan {
    /// At most three levels: level n (1-based) is `levels[n - 1]`; `None`
    /// keeps the ticket's team. Level 0 means not escalated.
    pub levels: Vec<Option<TeamId>>,
    /// The on-call supervisor.
    pub on_call: Option<AgentId>,
}

/// The highest escalation level.
pub const MAX_ESCALATION_LEVEL: u8 = 3;

/// What the engine knows about one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSnapshot {
    /// The ticket.
    pub id: TicketId,
    /// Its status.
    pub status: Status,
    /// Its priority.
    pub priority: Level,
    /// Its urgency.
    pub urgency: Level,
    /// The channel it came in on.
    pub channel: Channel,
    /// The owning team.
    pub team: Option<TeamId>,
    /// The owning agent.
    pub owner: Option<AgentId>,
    /// The customer's tier.
    pub tier: Tier,
    /// Its tags (normalised).
    pub tags: Vec<String>,
    /// 0 (not escalated) to 3.
    pub escalation_level: u8,
    /// Its counters.
    pub counters: Counters,
    /// When it was created.
    pub created_at: Timestamp,
    /// Since when it has had no owner; `None` while owned. `None` on an
    /// unowned ticket is read as "since creation".
    pub unowned_since: Option<Timestamp>,
    /// Since when it has been pending; `None` unless pending.
    pub pending_since: Option<Timestamp>,
}

/// A ticket's counters: the ones the SLA timeline keeps.
pub use crate::sla::timeline::Counters;

/// One SLA target's progress, as measured by [`crate::sla::measure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetProgress {
    /// Which target.
    pub kind: TargetKind,
    /// When the target's current cycle started; identifies the cycle (a new
    /// next-response cycle starts a new one).
    pub cycle_start: Timestamp,
    /// The time allowed, in seconds.
    pub target_seconds: i64,
    /// Time counted so far, in seconds.
    pub elapsed_seconds: i64,
    /// Overrun while unmet (or met late).
    pub breached: bool,
    /// The clock is running now.
    pub running: bool,
    /// Met (on time or late).
    pub met: bool,
}

/// A rule that fires on a ticket. The store keeps `key` unique per (rule,
/// ticket), so a rule fires once per key: a second evaluation that yields the
/// same key is a no-op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firing {
    /// The rule.
    pub rule: RuleId,
    /// The fire-once key, stable across evaluations.
    pub key: String,
    /// The rule's actions, to turn into [`Effect`](super::Effect)s.
    pub actions: Vec<Action>,
}

/// A rule or plan that cannot be saved, naming the bad field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct RuleError {
    /// The field's path, e.g. `conditions[0].value` or `actions[2].team`.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl RuleError {
    pub(crate) fn new(field: impl Into<String>, problem: impl Into<String>) -> RuleError {
        RuleError { field: field.into(), problem: problem.into() }
    }
}

/// What exists, for validation.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    /// Existing teams.
    pub teams: &'a [TeamId],
    /// Existing agents.
    pub agents: &'a [AgentId],
    /// Known event words: [`EVENT_WORDS`] plus those of later capabilities.
    pub events: &'a [&'a str],
}
