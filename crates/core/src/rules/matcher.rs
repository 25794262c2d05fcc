//! Conditions compiled into typed matchers: words are parsed once, when the
//! rules are loaded, so evaluating a condition is a few integer comparisons.

use super::model::{Condition, ConditionValue, Field, MAX_ESCALATION_LEVEL, Op, RuleError, TicketSnapshot};
use crate::ids::{AgentId, TeamId};
use crate::priority::Level;
use crate::ticket::{Channel, Status, UnknownWord, normalise_tags};
use std::str::FromStr;

/// A compiled condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matcher {
    pub(crate) test: Test,
    /// The test's answer is inverted (`is_not`, `not_in`, `not_contains`).
    pub(crate) negate: bool,
}

/// What a compiled condition tests, before negation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Test {
    /// The status is in the set (bit `status as u8`).
    Status(u8),
    /// The priority is in the set (bit `level as u8`).
    Priority(u8),
    /// The urgency is in the set.
    Urgency(u8),
    /// The channel is in the set (bit `channel as u16`).
    Channel(u16),
    /// The team.
    Team(Presence<TeamId>),
    /// The owner.
    Owner(Presence<AgentId>),
    /// The tier is one of these.
    Tier(Vec<String>),
    /// The ticket has at least one of these tags.
    Tags(Vec<String>),
    /// A number lies in `min..=max`.
    Number(Counter, i64, i64),
}

/// Whether an optional id is set, unset, or one of some ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presence<T> {
    Any,
    Nobody,
    OneOf(Vec<T>),
}

impl<T: PartialEq> Presence<T> {
    fn holds(&self, value: Option<&T>) -> bool {
        match self {
            Presence::Any => value.is_some(),
            Presence::Nobody => value.is_none(),
            Presence::OneOf(ids) => value.is_some_and(|value| ids.contains(value)),
        }
    }
}

/// A numeric ticket field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    EscalationLevel,
    Reopens,
    Transfers,
    Messages,
    CustomerMessages,
}

impl Matcher {
    /// Whether the condition holds for the ticket.
    pub(crate) fn holds(&self, ticket: &TicketSnapshot) -> bool {
        let answer = match &self.test {
            Test::Status(set) => set & (1 << ticket.status as u8) != 0,
            Test::Priority(set) => set & (1 << ticket.priority as u8) != 0,
            Test::Urgency(set) => set & (1 << ticket.urgency as u8) != 0,
            Test::Channel(set) => set & (1 << ticket.channel as u16) != 0,
            Test::Team(presence) => presence.holds(ticket.team.as_ref()),
            Test::Owner(presence) => presence.holds(ticket.owner.as_ref()),
            Test::Tier(tiers) => tiers.contains(&ticket.tier.0),
            Test::Tags(tags) => tags.iter().any(|tag| ticket.tags.contains(tag)),
            Test::Number(counter, min, max) => {
                let value = match counter {
                    Counter::EscalationLevel => i64::from(ticket.escalation_level),
                    Counter::Reopens => ticket.counters.reopens,
                    Counter::Transfers => ticket.counters.transfers,
                    Counter::Messages => ticket.counters.messages,
                    Counter::CustomerMessages => ticket.counters.customer_messages,
                };
                (*min..=*max).contains(&value)
            }
        };
        answer != self.negate
    }
}

/// The operators each field accepts.
fn ops_for(field: Field) -> &'static [Op] {
    match field {
        Field::Status | Field::Channel | Field::Team | Field::Owner | Field::Tier => {
            &[Op::Is, Op::IsNot, Op::In, Op::NotIn]
        }
        Field::Priority | Field::Urgency => &[Op::Is, Op::IsNot, Op::In, Op::NotIn, Op::AtLeast, Op::AtMost],
        Field::Tags => &[Op::Contains, Op::NotContains],
        Field::EscalationLevel | Field::Reopens | Field::Transfers | Field::Messages | Field::CustomerMessages => {
            &[Op::Is, Op::IsNot, Op::AtLeast, Op::AtMost]
        }
    }
}

/// Compiles condition `index`; errors name `conditions[index].op` or `.value`.
/// Whether team and agent ids exist is checked by the caller.
pub(crate) fn compile(index: usize, condition: &Condition) -> Result<Matcher, RuleError> {
    let field = condition.field;
    let op = condition.op;
    let allowed = ops_for(field);
    if !allowed.contains(&op) {
        let words: Vec<&str> = allowed.iter().map(|op| op.as_str()).collect();
        return Err(RuleError::new(
            format!("conditions[{index}].op"),
            format!("{} does not apply to {}; use one of: {}", op.as_str(), field.as_str(), words.join(", ")),
        ));
    }
    let bad_value = |problem: String| RuleError::new(format!("conditions[{index}].value"), problem);
    let negate = matches!(op, Op::IsNot | Op::NotIn | Op::NotContains);
    let value = &condition.value;
    let test = match field {
        Field::Status => {
            let set = word_set(op, value, "status", |status: Status| status as u16).map_err(bad_value)?;
            Test::Status(u8::try_from(set).unwrap_or(u8::MAX))
        }
        Field::Priority => Test::Priority(level_set(op, value).map_err(bad_value)?),
        Field::Urgency => Test::Urgency(level_set(op, value).map_err(bad_value)?),
        Field::Channel => {
            Test::Channel(word_set(op, value, "channel", |channel: Channel| channel as u16).map_err(bad_value)?)
        }
        Field::Team => Test::Team(presence(op, value, TeamId).map_err(bad_value)?),
        Field::Owner => Test::Owner(presence(op, value, AgentId).map_err(bad_value)?),
        Field::Tier => Test::Tier(words(op, value, "tier").map_err(bad_value)?),
        Field::Tags => {
            let tags = match value {
                ConditionValue::Word(tag) => vec![tag.clone()],
                ConditionValue::Words(tags) if !tags.is_empty() => tags.clone(),
                _ => return Err(bad_value("expected a tag or a non-empty list of tags".to_owned())),
            };
            for tag in &tags {
                check_tag(tag).map_err(bad_value)?;
            }
            Test::Tags(tags)
        }
        Field::EscalationLevel | Field::Reopens | Field::Transfers | Field::Messages | Field::CustomerMessages => {
            let ConditionValue::Number(number) = *value else {
                return Err(bad_value("expected a number".to_owned()));
            };
            if number < 0 {
                return Err(bad_value(format!("must not be negative, got {number}")));
            }
            let counter = match field {
                Field::EscalationLevel => {
                    if number > i64::from(MAX_ESCALATION_LEVEL) {
                        return Err(bad_value(format!("escalation levels go from 0 to 3, got {number}")));
                    }
                    Counter::EscalationLevel
                }
                Field::Reopens => Counter::Reopens,
                Field::Transfers => Counter::Transfers,
                Field::Messages => Counter::Messages,
                _ => Counter::CustomerMessages,
            };
            let (min, max) = match op {
                Op::AtLeast => (number, i64::MAX),
                Op::AtMost => (i64::MIN, number),
                _ => (number, number),
            };
            Test::Number(counter, min, max)
        }
    };
    Ok(Matcher { test, negate })
}

/// A tag as conditions and actions must write it: already normalised.
pub(crate) fn check_tag(tag: &str) -> Result<(), String> {
    match normalise_tags([tag]) {
        Ok(normal) if normal.first().is_some_and(|normal| normal == tag) => Ok(()),
        Ok(normal) => Err(format!("write the tag as {:?}", normal.first().map_or("", String::as_str))),
        Err(error) => Err(error.to_string()),
    }
}

/// The words of a value: one for `is`/`is_not`, a non-empty list for `in`/`not_in`.
fn words(op: Op, value: &ConditionValue, kind: &str) -> Result<Vec<String>, String> {
    match (op, value) {
        (Op::Is | Op::IsNot, ConditionValue::Word(word)) if !word.trim().is_empty() => Ok(vec![word.clone()]),
        (Op::In | Op::NotIn, ConditionValue::Words(words))
            if !words.is_empty() && words.iter().all(|word| !word.trim().is_empty()) =>
        {
            Ok(words.clone())
        }
        (Op::In | Op::NotIn, _) => Err(format!("expected a non-empty list of {kind} words")),
        _ => Err(format!("expected a {kind} word")),
    }
}

/// A bit set of parsed words (bit = the parsed value's index).
fn word_set<T>(op: Op, value: &ConditionValue, kind: &str, bit: fn(T) -> u16) -> Result<u16, String>
where
    T: FromStr<Err = UnknownWord>,
{
    let mut set = 0u16;
    for word in words(op, value, kind)? {
        set |= 1 << bit(word.parse::<T>().map_err(|error| error.to_string())?);
    }
    Ok(set)
}

/// A bit set of levels; `at_least` and `at_most` become the levels at or
/// above (below) the value.
fn level_set(op: Op, value: &ConditionValue) -> Result<u8, String> {
    let (Op::AtLeast | Op::AtMost) = op else {
        let set = word_set(op, value, "level", |level: Level| level as u16)?;
        return Ok(u8::try_from(set).unwrap_or(u8::MAX));
    };
    let ConditionValue::Word(word) = value else {
        return Err("expected a level word".to_owned());
    };
    let level = word.parse::<Level>().map_err(|error| error.to_string())?;
    let at_least = op == Op::AtLeast;
    Ok(Level::ALL
        .into_iter()
        .filter(|other| if at_least { *other >= level } else { *other <= level })
        .fold(0, |set, other| set | 1 << other as u8))
}

/// An optional id: `is`/`is_not` take `none`, `any` or an id; `in`/`not_in`
/// a non-empty list of ids.
fn presence<T>(op: Op, value: &ConditionValue, id: fn(i64) -> T) -> Result<Presence<T>, String> {
    match (op, value) {
        (Op::Is | Op::IsNot, ConditionValue::Word(word)) if word == "none" => Ok(Presence::Nobody),
        (Op::Is | Op::IsNot, ConditionValue::Word(word)) if word == "any" => Ok(Presence::Any),
        (Op::Is | Op::IsNot, ConditionValue::Number(number)) => Ok(Presence::OneOf(vec![id(*number)])),
        (Op::Is | Op::IsNot, _) => Err("expected \"none\", \"any\" or an id".to_owned()),
        (_, ConditionValue::Numbers(numbers)) if !numbers.is_empty() => {
            Ok(Presence::OneOf(numbers.iter().copied().map(id).collect()))
        }
        _ => Err("expected a non-empty list of ids".to_owned()),
    }
}
