//! Tests of the rules engine: fixtures here, cases by topic in `tests/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::ids::{AgentId, TeamId, TicketId};
use crate::priority::{Level, Tier};
use crate::sla::TargetKind;
use crate::ticket::{Channel, Status};
use crate::time::{DAY, MINUTE, Timestamp};

mod conditions;
mod cycles;
mod effects;
mod eval;
mod props;
mod templates;
mod validation;

/// 2026-11-16T09:00:00Z.
const T0: Timestamp = Timestamp(1_763_283_600_000);

const TEAMS: &[TeamId] = &[TeamId(1), TeamId(2), TeamId(3)];
const AGENTS: &[AgentId] = &[AgentId(10), AgentId(11), AgentId(99)];

fn known() -> Known<'static> {
    Known { teams: TEAMS, agents: AGENTS, events: EVENT_WORDS }
}

/// An open, owned, normal-priority email ticket in team 1.
fn ticket() -> TicketSnapshot {
    TicketSnapshot {
        id: TicketId(1234),
        status: Status::Open,
        priority: Level::Normal,
        urgency: Level::Normal,
        channel: Channel::Email,
        team: Some(TeamId(1)),
        owner: Some(AgentId(10)),
        tier: Tier::basic(),
        tags: vec!["billing".to_owned()],
        escalation_level: 0,
        counters: Counters { reopens: 1, transfers: 0, messages: 4, customer_messages: 2 },
        created_at: T0,
        unowned_since: None,
        pending_since: None,
    }
}

fn rule(name: &str, trigger: RuleTrigger, actions: Vec<Action>) -> Rule {
    Rule { name: name.to_owned(), trigger, conditions: Vec::new(), actions, enabled: true }
}

fn on(event: &str) -> RuleTrigger {
    RuleTrigger::Event { event: event.to_owned() }
}

fn notify() -> Action {
    Action::NotifyOwner { message: "Ticket #{{ticket.id}} needs you".to_owned() }
}

fn condition(field: Field, op: Op, value: ConditionValue) -> Condition {
    Condition { field, op, value }
}

fn word(text: &str) -> ConditionValue {
    ConditionValue::Word(text.to_owned())
}

fn words(texts: &[&str]) -> ConditionValue {
    ConditionValue::Words(texts.iter().map(|text| (*text).to_owned()).collect())
}

fn progress(kind: TargetKind, elapsed_seconds: i64) -> TargetProgress {
    TargetProgress {
        kind,
        cycle_start: T0,
        target_seconds: 3600,
        elapsed_seconds,
        breached: elapsed_seconds > 3600,
        running: true,
        met: false,
    }
}

fn plan() -> EscalationPlan {
    EscalationPlan { levels: vec![Some(TeamId(2)), Some(TeamId(3)), None], on_call: Some(AgentId(99)) }
}

fn keys(firings: &[Firing]) -> Vec<(i64, &str)> {
    firings.iter().map(|firing| (firing.rule.0, firing.key.as_str())).collect()
}
