//! A ticket's timer card: everything the timer pass needs of one open ticket
//! (the [`TicketSnapshot`] the conditions test, the policy and the targets as
//! measured), kept by the projector as one short line of text. The pass then
//! reads one column per open ticket instead of some forty, which is most of
//! its cost.
//!
//! The line is space-separated fields, `-` for none:
//!
//! ```text
//! status priority urgency channel team owner escalation created tier tags
//! reopens transfers messages customer_messages unowned_since pending_since
//! policy computed_at target...
//! ```
//!
//! Levels are ranks, instants milliseconds. `tags` is a comma-joined list.
//! Free text (tier, tags) has `%`, space, comma, colon, minus and line
//! breaks written as `%XX`. A target is
//! `kind:start:seconds:clock:elapsed:due:met:state` with kind `f`, `n` or `r`,
//! clock `b` (business hours) or `c` (calendar time), and state `a`, `p`, `m`
//! or `b`, upper case while the target's clock runs.

use std::fmt::Write as _;

use super::model::{Counters, TicketSnapshot};
use crate::ids::{AgentId, TeamId, TicketId};
use crate::priority::{Level, Tier};
use crate::sla::kept::KeptFormatError;
use crate::sla::projection::KeptTarget;
use crate::sla::{TargetKind, TargetStatus};
use crate::time::Timestamp;

/// One open ticket as the timer pass sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerCard {
    /// The ticket as the rules' conditions see it.
    pub snapshot: TicketSnapshot,
    /// The policy whose targets these are.
    pub policy: Option<i64>,
    /// When the targets were measured.
    pub computed_at: Timestamp,
    /// The targets as measured then.
    pub targets: Vec<KeptTarget>,
}

const ESCAPED: [char; 8] = ['%', ' ', ',', ':', '-', '\n', '\r', '\t'];

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        if ESCAPED.contains(&c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
}

fn unescape(text: &str) -> Result<String, KeptFormatError> {
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 3)
            .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(u8::is_ascii)
            .ok_or_else(|| KeptFormatError::new(text, "a % must be followed by two hex digits"))?;
        out.push(char::from(code));
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

fn opt(out: &mut String, value: Option<i64>) {
    match value {
        // Writing to a String cannot fail.
        Some(value) => {
            let _ = write!(out, "{value}");
        }
        None => out.push('-'),
    }
}

fn kind_letter(kind: TargetKind) -> char {
    match kind {
        TargetKind::FirstResponse => 'f',
        TargetKind::NextResponse => 'n',
        TargetKind::Resolution => 'r',
    }
}

fn state_letter(state: TargetStatus) -> char {
    match state {
        TargetStatus::Active => 'a',
        TargetStatus::Paused => 'p',
        TargetStatus::Met => 'm',
        TargetStatus::Breached => 'b',
    }
}

impl TimerCard {
    /// The card as one line.
    pub fn encode(&self) -> String {
        let s = &self.snapshot;
        let mut out = String::with_capacity(160);
        // Writing to a String cannot fail.
        let _ = write!(out, "{} {} {} {} ", s.status.as_str(), s.priority.rank(), s.urgency.rank(), s.channel.as_str());
        opt(&mut out, s.team.map(|team| team.0));
        out.push(' ');
        opt(&mut out, s.owner.map(|owner| owner.0));
        let _ = write!(out, " {} {} ", s.escalation_level, s.created_at.0);
        escape(&s.tier.0, &mut out);
        out.push(' ');
        if s.tags.is_empty() {
            out.push('-');
        }
        for (index, tag) in s.tags.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            escape(tag, &mut out);
        }
        let c = s.counters;
        let _ = write!(out, " {} {} {} {} ", c.reopens, c.transfers, c.messages, c.customer_messages);
        opt(&mut out, s.unowned_since.map(|at| at.0));
        out.push(' ');
        opt(&mut out, s.pending_since.map(|at| at.0));
        out.push(' ');
        opt(&mut out, self.policy);
        let _ = write!(out, " {}", self.computed_at.0);
        for target in &self.targets {
            let _ = write!(
                out,
                " {}:{}:{}:{}:{}:",
                kind_letter(target.kind),
                target.start.0,
                target.seconds,
                if target.business_hours { 'b' } else { 'c' },
                target.elapsed_seconds
            );
            opt(&mut out, target.due.map(|at| at.0));
            out.push(':');
            opt(&mut out, target.met_at.map(|at| at.0));
            out.push(':');
            let state = state_letter(target.state);
            out.push(if target.running { state.to_ascii_uppercase() } else { state });
        }
        out
    }

    /// Reads [`encode`](Self::encode)'s line back for ticket `id`.
    pub fn decode(id: TicketId, line: &str) -> Result<TimerCard, KeptFormatError> {
        let mut fields = line.split(' ');
        let mut next = |name: &'static str| fields.next().ok_or_else(|| KeptFormatError::new(name, "missing"));
        let text = next("status")?;
        let status = text.parse().map_err(|_| KeptFormatError::new(text, "unknown status"))?;
        let priority = level(next("priority")?)?;
        let urgency = level(next("urgency")?)?;
        let text = next("channel")?;
        let channel = text.parse().map_err(|_| KeptFormatError::new(text, "unknown channel"))?;
        let team = optional(next("team")?)?.map(TeamId);
        let owner = optional(next("owner")?)?.map(AgentId);
        let text = next("escalation")?;
        let escalation_level = text.parse().map_err(|_| KeptFormatError::new(text, "bad escalation level"))?;
        let created_at = Timestamp(number(next("created")?)?);
        let tier = Tier(unescape(next("tier")?)?);
        let tags = match next("tags")? {
            "-" => Vec::new(),
            list => list.split(',').map(unescape).collect::<Result<_, _>>()?,
        };
        let counters = Counters {
            reopens: number(next("reopens")?)?,
            transfers: number(next("transfers")?)?,
            messages: number(next("messages")?)?,
            customer_messages: number(next("customer_messages")?)?,
        };
        let unowned_since = optional(next("unowned_since")?)?.map(Timestamp);
        let pending_since = optional(next("pending_since")?)?.map(Timestamp);
        let policy = optional(next("policy")?)?;
        let computed_at = Timestamp(number(next("computed_at")?)?);
        let targets = fields.map(target).collect::<Result<Vec<_>, _>>()?;
        Ok(TimerCard {
            snapshot: TicketSnapshot {
                id,
                status,
                priority,
                urgency,
                channel,
                team,
                owner,
                tier,
                tags,
                escalation_level,
                counters,
                created_at,
                unowned_since,
                pending_since,
            },
            policy,
            computed_at,
            targets,
        })
    }
}

fn number(text: &str) -> Result<i64, KeptFormatError> {
    text.parse().map_err(|_| KeptFormatError::new(text, "expected a number"))
}

fn optional(text: &str) -> Result<Option<i64>, KeptFormatError> {
    if text == "-" { Ok(None) } else { number(text).map(Some) }
}

fn level(text: &str) -> Result<Level, KeptFormatError> {
    Level::from_rank(number(text)?).ok_or_else(|| KeptFormatError::new(text, "unknown level"))
}

fn target(token: &str) -> Result<KeptTarget, KeptFormatError> {
    let parts: Vec<&str> = token.split(':').collect();
    let [kind, start, seconds, clock, elapsed, due, met, state] = parts[..] else {
        return Err(KeptFormatError::new(token, "a target has eight parts"));
    };
    let kind = match kind {
        "f" => TargetKind::FirstResponse,
        "n" => TargetKind::NextResponse,
        "r" => TargetKind::Resolution,
        _ => return Err(KeptFormatError::new(token, "unknown target")),
    };
    let business_hours = match clock {
        "b" => true,
        "c" => false,
        _ => return Err(KeptFormatError::new(token, "unknown clock")),
    };
    let running = state.bytes().all(|b| b.is_ascii_uppercase());
    let state = match state.to_ascii_lowercase().as_str() {
        "a" => TargetStatus::Active,
        "p" => TargetStatus::Paused,
        "m" => TargetStatus::Met,
        "b" => TargetStatus::Breached,
        _ => return Err(KeptFormatError::new(token, "unknown target state")),
    };
    Ok(KeptTarget {
        kind,
        start: Timestamp(number(start)?),
        seconds: number(seconds)?,
        business_hours,
        elapsed_seconds: number(elapsed)?,
        due: optional(due)?.map(Timestamp),
        met_at: optional(met)?.map(Timestamp),
        state,
        running,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ticket::{Channel, Status};

    fn any_level() -> impl Strategy<Value = Level> {
        prop_oneof![Just(Level::Low), Just(Level::Normal), Just(Level::High), Just(Level::Urgent)]
    }

    fn any_target() -> impl Strategy<Value = KeptTarget> {
        let kind =
            prop_oneof![Just(TargetKind::FirstResponse), Just(TargetKind::NextResponse), Just(TargetKind::Resolution)];
        let state = prop_oneof![
            Just(TargetStatus::Active),
            Just(TargetStatus::Paused),
            Just(TargetStatus::Met),
            Just(TargetStatus::Breached)
        ];
        let instant = any::<i64>().prop_map(Timestamp);
        (
            kind,
            instant.clone(),
            any::<i64>(),
            any::<bool>(),
            any::<i64>(),
            proptest::option::of(instant.clone()),
            proptest::option::of(instant),
            state,
            any::<bool>(),
        )
            .prop_map(
                |(kind, start, seconds, business_hours, elapsed_seconds, due, met_at, state, running)| KeptTarget {
                    kind,
                    start,
                    seconds,
                    business_hours,
                    elapsed_seconds,
                    due,
                    met_at,
                    state,
                    running,
                },
            )
    }

    fn any_card() -> impl Strategy<Value = TimerCard> {
        let status = prop_oneof![
            Just(Status::New),
            Just(Status::Open),
            Just(Status::Pending),
            Just(Status::OnHold),
            Just(Status::Solved),
        ];
        let channel = prop_oneof![Just(Channel::Email), Just(Channel::Chat), Just(Channel::Phone), Just(Channel::Web)];
        let text = "[a-z %,:\\-\n\t\u{e9}\u{1F600}]{0,12}";
        let snapshot = (
            (status, any_level(), any_level(), channel),
            (proptest::option::of(any::<i64>()), proptest::option::of(any::<i64>()), 0u8..4, any::<i64>()),
            (text, proptest::collection::vec(text, 0..4)),
            (any::<[i64; 4]>(), proptest::option::of(any::<i64>()), proptest::option::of(any::<i64>())),
        )
            .prop_map(
                |(
                    (status, priority, urgency, channel),
                    (team, owner, escalation_level, created),
                    (tier, tags),
                    (counts, unowned, pending),
                )| TicketSnapshot {
                    id: TicketId(7),
                    status,
                    priority,
                    urgency,
                    channel,
                    team: team.map(TeamId),
                    owner: owner.map(AgentId),
                    tier: Tier(tier),
                    tags,
                    escalation_level,
                    counters: Counters {
                        reopens: counts[0],
                        transfers: counts[1],
                        messages: counts[2],
                        customer_messages: counts[3],
                    },
                    created_at: Timestamp(created),
                    unowned_since: unowned.map(Timestamp),
                    pending_since: pending.map(Timestamp),
                },
            );
        (snapshot, proptest::option::of(any::<i64>()), any::<i64>(), proptest::collection::vec(any_target(), 0..4))
            .prop_map(|(snapshot, policy, computed, targets)| TimerCard {
                snapshot,
                policy,
                computed_at: Timestamp(computed),
                targets,
            })
    }

    proptest! {
        #[test]
        fn a_card_reads_back_as_written(card in any_card()) {
            let line = card.encode();
            prop_assert!(!line.contains('\n'));
            prop_assert_eq!(TimerCard::decode(TicketId(7), &line).unwrap(), card);
        }
    }

    #[test]
    fn the_line_is_short_and_names_its_parts() {
        let card = TimerCard {
            snapshot: TicketSnapshot {
                id: TicketId(3),
                status: Status::Open,
                priority: Level::High,
                urgency: Level::Normal,
                channel: Channel::Email,
                team: Some(TeamId(2)),
                owner: None,
                tier: Tier("premium".into()),
                tags: vec!["vip".into(), "late-payer".into()],
                escalation_level: 1,
                counters: Counters { reopens: 0, transfers: 1, messages: 2, customer_messages: 1 },
                created_at: Timestamp(1_000),
                unowned_since: Some(Timestamp(1_000)),
                pending_since: None,
            },
            policy: Some(4),
            computed_at: Timestamp(5_000),
            targets: vec![KeptTarget {
                kind: TargetKind::FirstResponse,
                start: Timestamp(1_000),
                seconds: 3_600,
                business_hours: true,
                elapsed_seconds: 4,
                due: Some(Timestamp(3_601_000)),
                met_at: None,
                state: TargetStatus::Active,
                running: true,
            }],
        };
        let line = card.encode();
        assert_eq!(
            line,
            "open 2 1 email 2 - 1 1000 premium vip,late%2Dpayer 0 1 2 1 1000 - 4 5000 f:1000:3600:b:4:3601000:-:A"
        );
        assert_eq!(TimerCard::decode(TicketId(3), &line).unwrap(), card);
    }

    #[test]
    fn a_bad_line_names_what_is_wrong() {
        let good = "open 3 2 email 2 - 1 1000 premium - 0 1 2 1 1000 - 4 5000";
        assert!(TimerCard::decode(TicketId(1), good).is_ok());
        let error = TimerCard::decode(TicketId(1), "open 3 2 email").unwrap_err();
        assert_eq!((error.part.as_str(), error.reason), ("team", "missing"));
        let error = TimerCard::decode(TicketId(1), &good.replace("email", "pigeon")).unwrap_err();
        assert_eq!((error.part.as_str(), error.reason), ("pigeon", "unknown channel"));
        let error = TimerCard::decode(TicketId(1), &good.replace("open 3", "open 9")).unwrap_err();
        assert_eq!((error.part.as_str(), error.reason), ("9", "unknown level"));
        let error = TimerCard::decode(TicketId(1), &format!("{good} f:1:2:x:4:-:-:a")).unwrap_err();
        assert_eq!(error.reason, "unknown clock");
        let error = TimerCard::decode(TicketId(1), &good.replace("premium", "pre%2")).unwrap_err();
        assert_eq!(error.reason, "a % must be followed by two hex digits");
    }
}
