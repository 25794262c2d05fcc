//! Which rules fire on a ticket, on an event or on a timer pass.
//!
//! Rules are compiled once ([`CompiledRules::new`]) so that a timer pass over
//! many tickets parses nothing and allocates only for the rules that fire:
//! the fire-once key is formatted only then.

use std::fmt::Write as _;

use super::matcher::{Matcher, compile};
use super::model::{Action, Firing, Rule, RuleError, RuleId, RuleTrigger, TargetProgress, TicketSnapshot};
use crate::sla::TargetKind;
use crate::ticket::Status;
use crate::time::{DAY, MINUTE, Timestamp};

/// Enabled rules with their conditions compiled.
#[derive(Debug, Clone, Default)]
pub struct CompiledRules {
    rules: Vec<CompiledRule>,
    rejected: Vec<(RuleId, RuleError)>,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    id: RuleId,
    trigger: RuleTrigger,
    matchers: Vec<Matcher>,
    actions: Vec<Action>,
}

impl CompiledRule {
    fn conditions_hold(&self, ticket: &TicketSnapshot) -> bool {
        self.matchers.iter().all(|matcher| matcher.holds(ticket))
    }

    fn firing(&self, key: String) -> Firing {
        Firing { rule: self.id, key, actions: self.actions.clone() }
    }
}

/// Why a timer rule fires: what its fire-once key is made of, formatted into
/// the key only when it fires (and, with [`CompiledRules::on_timer_unseen`],
/// only when the caller has not seen it before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKey {
    /// A target's cycle reached a percentage.
    Percent(TargetKind, Timestamp, u8),
    /// A target's cycle was breached.
    Breached(TargetKind, Timestamp),
    /// Unowned since.
    NoOwner(Timestamp),
    /// Pending since.
    Pending(Timestamp),
}

impl TimerKey {
    fn format(&self) -> String {
        let mut key = String::with_capacity(40);
        // Writing to a String cannot fail.
        let _ = match self {
            TimerKey::Percent(kind, start, percent) => {
                write!(key, "{}:{}:{percent}%", kind.as_str(), start.millis())
            }
            TimerKey::Breached(kind, start) => write!(key, "{}:{}:breached", kind.as_str(), start.millis()),
            TimerKey::NoOwner(since) => write!(key, "no_owner:{}", since.millis()),
            TimerKey::Pending(since) => write!(key, "pending:{}", since.millis()),
        };
        key
    }

    /// The key a firing's text was formatted from (`None` for an event
    /// rule's key or anything else): lets a restarted timer pass remember
    /// what earlier passes enqueued.
    pub fn parse(text: &str) -> Option<TimerKey> {
        let millis = |text: &str| text.parse::<i64>().ok().map(Timestamp);
        if let Some(since) = text.strip_prefix("no_owner:") {
            return millis(since).map(TimerKey::NoOwner);
        }
        if let Some(since) = text.strip_prefix("pending:") {
            return millis(since).map(TimerKey::Pending);
        }
        let mut parts = text.splitn(3, ':');
        let kind = TargetKind::parse(parts.next()?)?;
        let start = millis(parts.next()?)?;
        match parts.next()? {
            "breached" => Some(TimerKey::Breached(kind, start)),
            percent => percent.strip_suffix('%')?.parse().ok().map(|percent| TimerKey::Percent(kind, start, percent)),
        }
    }
}

impl CompiledRules {
    /// Compiles the enabled rules. Disabled rules are dropped (they never
    /// fire); a rule that does not compile (it was stored without
    /// [`validate`](super::validate)) is set aside in [`rejected`](Self::rejected)
    /// for the caller to report, and never fires.
    pub fn new(rules: &[(RuleId, Rule)]) -> CompiledRules {
        let mut compiled = CompiledRules::default();
        for (id, rule) in rules.iter().filter(|(_, rule)| rule.enabled) {
            let matchers: Result<Vec<Matcher>, RuleError> =
                rule.conditions.iter().enumerate().map(|(index, condition)| compile(index, condition)).collect();
            match matchers {
                Ok(matchers) => compiled.rules.push(CompiledRule {
                    id: *id,
                    trigger: rule.trigger.clone(),
                    matchers,
                    actions: rule.actions.clone(),
                }),
                Err(error) => compiled.rejected.push((*id, error)),
            }
        }
        compiled
    }

    /// Rules that did not compile, with the reason.
    pub fn rejected(&self) -> &[(RuleId, RuleError)] {
        &self.rejected
    }

    /// How many rules can fire.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no rule can fire.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// True when some rule has a timer trigger, i.e. a timer pass can fire anything.
    pub fn has_timer_rules(&self) -> bool {
        self.rules.iter().any(|rule| rule.trigger.event().is_none())
    }

    /// The rules triggered by `event` whose conditions hold, in order. The key
    /// is `event:{event_id}`: replaying the same event fires nothing new.
    pub fn on_event(&self, ticket: &TicketSnapshot, event: &str, event_id: i64) -> Vec<Firing> {
        let mut firings = Vec::new();
        for rule in &self.rules {
            if rule.trigger.event() == Some(event) && rule.conditions_hold(ticket) {
                firings.push(rule.firing(format!("event:{event_id}")));
            }
        }
        firings
    }

    /// The timer rules due on the ticket at `now`, in order. Keys:
    ///
    /// - target percent: `{target}:{cycle_start_ms}:{percent}%` once the
    ///   running, unmet target has used `percent`% of its time. A target
    ///   already breached gets no percent warning.
    /// - target breached: `{target}:{cycle_start_ms}:breached` while breached
    ///   and unmet.
    /// - no owner: `no_owner:{unowned_since_ms}` once an unsolved ticket has
    ///   had no owner for the minutes.
    /// - pending for: `pending:{pending_since_ms}` once a pending ticket has
    ///   been pending for the days.
    ///
    /// The keys do not depend on `now`, so later passes produce the same key
    /// and the store's unique (rule, ticket, key) makes the rule fire once per
    /// target cycle, unowned spell or pending spell.
    pub fn on_timer(&self, ticket: &TicketSnapshot, targets: &[TargetProgress], now: Timestamp) -> Vec<Firing> {
        self.on_timer_unseen(ticket, targets, now, |_, _| true)
    }

    /// [`on_timer`](Self::on_timer), building a firing (its key and a copy of
    /// its actions) only where `unseen` says the (rule, key) is new: a pass
    /// that finds the same firings true again costs no allocation for them.
    pub fn on_timer_unseen(
        &self,
        ticket: &TicketSnapshot,
        targets: &[TargetProgress],
        now: Timestamp,
        mut unseen: impl FnMut(RuleId, &TimerKey) -> bool,
    ) -> Vec<Firing> {
        let mut firings = Vec::new();
        let mut fire = |rule: &CompiledRule, key: TimerKey| {
            if unseen(rule.id, &key) {
                firings.push(rule.firing(key.format()));
            }
        };
        for rule in &self.rules {
            match &rule.trigger {
                RuleTrigger::Event { .. } => {}
                RuleTrigger::TargetPercent { target, percent } => {
                    for progress in targets.iter().filter(|progress| progress.kind == *target) {
                        let reached = progress.elapsed_seconds.saturating_mul(100)
                            >= progress.target_seconds.saturating_mul(i64::from(*percent));
                        if progress.running
                            && !progress.met
                            && !progress.breached
                            && reached
                            && rule.conditions_hold(ticket)
                        {
                            fire(rule, TimerKey::Percent(*target, progress.cycle_start, *percent));
                        }
                    }
                }
                RuleTrigger::TargetBreached { target } => {
                    for progress in targets.iter().filter(|progress| progress.kind == *target) {
                        if progress.breached && !progress.met && rule.conditions_hold(ticket) {
                            fire(rule, TimerKey::Breached(*target, progress.cycle_start));
                        }
                    }
                }
                RuleTrigger::NoOwner { minutes } => {
                    if ticket.owner.is_none() && ticket.status.is_unsolved() {
                        let since = ticket.unowned_since.unwrap_or(ticket.created_at);
                        if since.plus_millis(minutes.saturating_mul(MINUTE)) <= now && rule.conditions_hold(ticket) {
                            fire(rule, TimerKey::NoOwner(since));
                        }
                    }
                }
                RuleTrigger::PendingFor { days } => {
                    if ticket.status == Status::Pending
                        && let Some(since) = ticket.pending_since
                        && since.plus_millis(days.saturating_mul(DAY)) <= now
                        && rule.conditions_hold(ticket)
                    {
                        fire(rule, TimerKey::Pending(since));
                    }
                }
            }
        }
        firings
    }
}

/// Whether all of a rule's conditions hold for the ticket. Compiles the
/// conditions on each call; for many tickets use [`CompiledRules`]. A
/// condition that does not compile never holds.
pub fn conditions_hold(rule: &Rule, ticket: &TicketSnapshot) -> bool {
    rule.conditions
        .iter()
        .enumerate()
        .all(|(index, condition)| compile(index, condition).is_ok_and(|matcher| matcher.holds(ticket)))
}

/// [`CompiledRules::on_event`] for a one-off evaluation.
pub fn on_event(rules: &[(RuleId, Rule)], ticket: &TicketSnapshot, event: &str, event_id: i64) -> Vec<Firing> {
    CompiledRules::new(rules).on_event(ticket, event, event_id)
}

/// [`CompiledRules::on_timer`] for a one-off evaluation.
pub fn on_timer(
    rules: &[(RuleId, Rule)],
    ticket: &TicketSnapshot,
    targets: &[TargetProgress],
    now: Timestamp,
) -> Vec<Firing> {
    CompiledRules::new(rules).on_timer(ticket, targets, now)
}

#[cfg(test)]
mod key_tests {
    use proptest::prelude::*;

    use super::TimerKey;
    use crate::sla::TargetKind;
    use crate::time::Timestamp;

    fn any_key() -> impl Strategy<Value = TimerKey> {
        let kind =
            prop_oneof![Just(TargetKind::FirstResponse), Just(TargetKind::NextResponse), Just(TargetKind::Resolution)];
        let at = any::<i64>().prop_map(Timestamp);
        prop_oneof![
            (kind.clone(), at.clone(), any::<u8>())
                .prop_map(|(kind, at, percent)| TimerKey::Percent(kind, at, percent)),
            (kind, at.clone()).prop_map(|(kind, at)| TimerKey::Breached(kind, at)),
            at.clone().prop_map(TimerKey::NoOwner),
            at.prop_map(TimerKey::Pending),
        ]
    }

    proptest! {
        #[test]
        fn a_formatted_key_parses_back(key in any_key()) {
            prop_assert_eq!(TimerKey::parse(&key.format()), Some(key));
        }
    }

    #[test]
    fn other_keys_are_not_timer_keys() {
        for text in ["event:42", "first_response:12", "first_response:x:breached", "resolution:5:75", "pending:", ""] {
            assert_eq!(TimerKey::parse(text), None, "{text}");
        }
    }
}
