//! Escalation rules: "when this happens to a ticket and these conditions
//! hold, do that".
//!
//! # The model
//!
//! A [`Rule`] has a **trigger**, **conditions** and **actions**.
//!
//! - The trigger is either an **event** word (`customer_replied`,
//!   `priority_changed`, …; see [`EVENT_WORDS`] — the set is open, later
//!   capabilities add their words and pass them to [`validate`]) or a
//!   **timer** condition the periodic pass checks: an SLA target reached a
//!   percentage of its time or was breached, the ticket has had no owner for
//!   some minutes, or has been pending on the customer for some days.
//! - Conditions ([`Condition`]) test ticket fields: status, priority,
//!   urgency, channel, team, owner, tier, tags, escalation level and
//!   counters. All must hold.
//! - Actions ([`Action`]) notify agents, change priority or team, escalate
//!   along the [`EscalationPlan`] (up to three levels, then the on-call
//!   supervisor), tag, send the customer an update, or create a task.
//!
//! # The flow
//!
//! 1. **Save**: [`validate`] checks one rule against the teams, agents and
//!    event words that exist, naming the bad field (`actions[2].team`:
//!    “team 7 does not exist”); [`check_cycles`] refuses a rule set in which
//!    rules trigger each other forever.
//! 2. **Load**: [`CompiledRules::new`] compiles the enabled rules once, so
//!    evaluation parses nothing.
//! 3. **Evaluate**: [`CompiledRules::on_event`] after an event and
//!    [`CompiledRules::on_timer`] on the periodic pass return the
//!    [`Firing`]s, each with a fire-once **key**. The store keeps the key
//!    unique per (rule, ticket), so a rule fires once per key: once per
//!    event, once per SLA target cycle and threshold, once per unowned or
//!    pending spell, however many passes see it.
//! 4. **Apply**: [`effects`] turns a firing into [`Effect`]s on the ticket as
//!    it is, for the adapter to persist and send.
//!
//! Everything is pure: time comes in as `now`, the ticket as a
//! [`TicketSnapshot`], SLA progress as [`TargetProgress`].

mod card;
mod cycles;
mod effects;
mod eval;
mod matcher;
mod model;
mod template;
mod validate;
mod words;

pub use card::TimerCard;
pub use cycles::{CycleError, check_cycles, triggers};
pub use effects::{Effect, effects};
pub use eval::{CompiledRules, TimerKey, conditions_hold, on_event, on_timer};
pub use model::{
    Action, Condition, ConditionValue, Counters, EVENT_WORDS, EscalationPlan, Field, Firing, Known,
    MAX_ESCALATION_LEVEL, Op, Rule, RuleError, RuleId, RuleTrigger, TargetProgress, TicketSnapshot,
};
pub use template::{PLACEHOLDERS, TemplateData, check_template, render};
pub use validate::{MAX_NAME_CHARS, validate};
pub use words::event_words;

#[cfg(test)]
mod tests;
