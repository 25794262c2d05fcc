//! The request bodies of `POST /rules`, `PUT /rules/{id}` and
//! `PUT /escalation`, with a real OpenAPI schema.
//!
//! They mirror core's rule types field for field and word for word, under
//! the same type names, so a body is accepted, refused and explained (every
//! serde message names the same field and the same type) exactly as when
//! core's types were read directly. Whether a rule makes sense (known teams,
//! events and agents, fitting operators, no loops) is still checked by core
//! in the store's transaction.

use rapport_core::rules;
use rapport_core::sla::TargetKind as CoreTargetKind;
use rapport_core::{AgentId, Level, TeamId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::wire;

fn yes() -> bool {
    true
}

/// An escalation rule: when its trigger happens and every condition holds,
/// its actions run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Shown to agents, in priority reasons and in loop errors; 1-200 characters.
    pub name: String,
    /// What makes the rule look at a ticket.
    pub trigger: RuleTrigger,
    /// All of them must hold (an empty list always holds).
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// What to do, in order; at least one.
    pub actions: Vec<Action>,
    /// A disabled rule never fires and makes no loop (default true).
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub enabled: bool,
}

/// What makes a rule look at a ticket: an event, or a timer condition that
/// the periodic pass checks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleTrigger {
    /// An event word happened on the ticket (`created`, `customer_replied`, ...).
    Event {
        /// The event word.
        event: String,
    },
    /// A running SLA target reached `percent`% (1-99) of its time.
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
    /// The unsolved ticket has had no owner for `minutes`.
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

/// Which SLA target.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// From creation to the first agent reply.
    FirstResponse,
    /// From the oldest unanswered customer message to the next agent reply.
    NextResponse,
    /// From creation to solved.
    Resolution,
}

/// One test on a ticket field; which operators and values fit which field
/// is checked when the rule is saved.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The ticket field.
    pub field: Field,
    /// The comparison.
    pub op: Op,
    /// What it is compared with.
    pub value: ConditionValue,
}

/// A condition's value: a number, a word, or a list of either.
#[derive(Debug, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
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

/// A comparison.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
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

/// What a rule does. Notification messages and update templates may hold
/// placeholders such as `{ticket}`.
#[derive(Debug, Deserialize, ToSchema)]
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
        #[schema(schema_with = wire::level)]
        priority: Level,
    },
    /// Move the ticket to a team.
    MoveToTeam {
        /// The team's id.
        team: i64,
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

/// Who takes a ticket at each escalation level, and who is paged when the
/// levels run out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPlan {
    /// At most three levels; level n takes the ticket to `levels[n - 1]`
    /// (a team id), or keeps its team when null.
    pub levels: Vec<Option<i64>>,
    /// The on-call supervisor's agent id, paged past the last level.
    pub on_call: Option<i64>,
}

impl From<Rule> for rules::Rule {
    fn from(rule: Rule) -> rules::Rule {
        rules::Rule {
            name: rule.name,
            trigger: rule.trigger.into(),
            conditions: rule.conditions.into_iter().map(rules::Condition::from).collect(),
            actions: rule.actions.into_iter().map(rules::Action::from).collect(),
            enabled: rule.enabled,
        }
    }
}

impl From<RuleTrigger> for rules::RuleTrigger {
    fn from(trigger: RuleTrigger) -> rules::RuleTrigger {
        match trigger {
            RuleTrigger::Event { event } => rules::RuleTrigger::Event { event },
            RuleTrigger::TargetPercent { target, percent } => {
                rules::RuleTrigger::TargetPercent { target: target.into(), percent }
            }
            RuleTrigger::TargetBreached { target } => rules::RuleTrigger::TargetBreached { target: target.into() },
            RuleTrigger::NoOwner { minutes } => rules::RuleTrigger::NoOwner { minutes },
            RuleTrigger::PendingFor { days } => rules::RuleTrigger::PendingFor { days },
        }
    }
}

impl From<TargetKind> for CoreTargetKind {
    fn from(kind: TargetKind) -> CoreTargetKind {
        match kind {
            TargetKind::FirstResponse => CoreTargetKind::FirstResponse,
            TargetKind::NextResponse => CoreTargetKind::NextResponse,
            TargetKind::Resolution => CoreTargetKind::Resolution,
        }
    }
}

impl From<Condition> for rules::Condition {
    fn from(condition: Condition) -> rules::Condition {
        rules::Condition { field: condition.field.into(), op: condition.op.into(), value: condition.value.into() }
    }
}

impl From<ConditionValue> for rules::ConditionValue {
    fn from(value: ConditionValue) -> rules::ConditionValue {
        match value {
            ConditionValue::Number(number) => rules::ConditionValue::Number(number),
            ConditionValue::Word(word) => rules::ConditionValue::Word(word),
            ConditionValue::Numbers(numbers) => rules::ConditionValue::Numbers(numbers),
            ConditionValue::Words(words) => rules::ConditionValue::Words(words),
        }
    }
}

impl From<Field> for rules::Field {
    fn from(field: Field) -> rules::Field {
        match field {
            Field::Status => rules::Field::Status,
            Field::Priority => rules::Field::Priority,
            Field::Urgency => rules::Field::Urgency,
            Field::Channel => rules::Field::Channel,
            Field::Team => rules::Field::Team,
            Field::Owner => rules::Field::Owner,
            Field::Tier => rules::Field::Tier,
            Field::Tags => rules::Field::Tags,
            Field::EscalationLevel => rules::Field::EscalationLevel,
            Field::Reopens => rules::Field::Reopens,
            Field::Transfers => rules::Field::Transfers,
            Field::Messages => rules::Field::Messages,
            Field::CustomerMessages => rules::Field::CustomerMessages,
        }
    }
}

impl From<Op> for rules::Op {
    fn from(op: Op) -> rules::Op {
        match op {
            Op::Is => rules::Op::Is,
            Op::IsNot => rules::Op::IsNot,
            Op::In => rules::Op::In,
            Op::NotIn => rules::Op::NotIn,
            Op::AtLeast => rules::Op::AtLeast,
            Op::AtMost => rules::Op::AtMost,
            Op::Contains => rules::Op::Contains,
            Op::NotContains => rules::Op::NotContains,
        }
    }
}

impl From<Action> for rules::Action {
    fn from(action: Action) -> rules::Action {
        match action {
            Action::NotifyOwner { message } => rules::Action::NotifyOwner { message },
            Action::NotifySupervisor { message } => rules::Action::NotifySupervisor { message },
            Action::RaisePriority => rules::Action::RaisePriority,
            Action::SetPriority { priority } => rules::Action::SetPriority { priority },
            Action::MoveToTeam { team } => rules::Action::MoveToTeam { team: TeamId(team) },
            Action::Escalate => rules::Action::Escalate,
            Action::SetEscalationLevel { level } => rules::Action::SetEscalationLevel { level },
            Action::AddTag { tag } => rules::Action::AddTag { tag },
            Action::SendUpdate { template } => rules::Action::SendUpdate { template },
            Action::CreateTask { title, due_minutes } => rules::Action::CreateTask { title, due_minutes },
        }
    }
}

impl From<EscalationPlan> for rules::EscalationPlan {
    fn from(plan: EscalationPlan) -> rules::EscalationPlan {
        rules::EscalationPlan {
            levels: plan.levels.into_iter().map(|team| team.map(TeamId)).collect(),
            on_call: plan.on_call.map(AgentId),
        }
    }
}
