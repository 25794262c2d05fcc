//! When each message of a demo conversation happens.
//!
//! A conversation's text says who writes what; this module decides when, so
//! that the SLA report on a fresh demo reads like a good team having a busy
//! week. Each answer takes a share of the time its target allows, counted
//! the way the target counts it (business hours on the policy's calendar,
//! or real time): most answers come well inside the target, some late, and
//! premium customers are answered late least often. Customers answer back
//! at their own pace (seconds in chat, minutes on messaging apps, hours by
//! email), and a written ticket waits as pending meanwhile, as an agent
//! would set it. Calls wait in the queue for a realistic time, and a few
//! callers give up and call again.
//!
//! Everything is placed before `now`: finished conversations over the last
//! two weeks, and the tickets still waiting for an answer within the last
//! hours, some of them close to their target when the server starts. Random
//! draws are taken once per conversation, so moving a conversation earlier
//! (when it would end after `now`) keeps its pace.

use rand::Rng;
use rand::rngs::StdRng;
use rapport_core::calendar::Calendar;
use rapport_core::call::CallEvent;
use rapport_core::sla::timeline::{instant, timestamp};
use rapport_core::sla::{TargetSpec, Targets};
use rapport_core::time::{DAY, HOUR, MINUTE, SECOND};
use rapport_core::{Channel, Status, Timestamp};

use super::script::{Conversation, Speaker};

/// Something that happens to a demo ticket after it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// The owner takes the ticket.
    Assign,
    /// Step `n` of the conversation is written (the first step is the ticket itself).
    Say(usize),
    /// The status changes.
    Set(Status),
    /// Call `n` of the ticket reports an event.
    Call(usize, CallEvent),
}

/// One act and its instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    pub at: Timestamp,
    pub act: Act,
}

/// When a ticket is created and what happens to it after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub created: Timestamp,
    pub acts: Vec<Timed>,
}

/// What the ticket's SLA policy asks, and the calendar it counts on.
pub struct Pace<'a> {
    pub targets: Targets,
    pub calendar: &'a Calendar,
    pub premium: bool,
}

/// Random numbers in `[0, 1)` drawn once, used in order.
struct Draws {
    values: Vec<f64>,
    next: usize,
}

impl Draws {
    fn take(&mut self) -> f64 {
        let value = self.values.get(self.next).copied().unwrap_or(0.5);
        self.next += 1;
        value
    }

    /// A duration between `low` and `high` ms, nearer `low` when `skew` > 1.
    fn between(&mut self, low: i64, high: i64, skew: f64) -> i64 {
        low + ((high - low) as f64 * self.take().powf(skew)) as i64
    }
}

/// How a channel's people write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Written,
    Messaging,
    Chat,
    Phone,
}

fn family(channel: Channel) -> Family {
    match channel {
        Channel::Email | Channel::Web | Channel::Api => Family::Written,
        Channel::Chat => Family::Chat,
        Channel::Phone => Family::Phone,
        Channel::Whatsapp | Channel::Telegram | Channel::Messenger | Channel::Instagram | Channel::Sms => {
            Family::Messaging
        }
    }
}

/// The target when the policy sets none: an hour, in real time.
const FALLBACK: TargetSpec = TargetSpec { seconds: 3600, business_hours: false };

impl Pace<'_> {
    /// The instant `fraction` of `spec` after `from`, counted as the target counts.
    fn after(&self, from: Timestamp, spec: TargetSpec, fraction: f64) -> Timestamp {
        let seconds = ((spec.seconds as f64) * fraction).round().max(1.0) as i64;
        if spec.business_hours
            && let Ok(due) = self.calendar.due(instant(from), seconds)
        {
            return timestamp(due);
        }
        from.plus_millis(seconds * SECOND)
    }

    /// The share of a target an answer takes: mostly well inside it, some late.
    fn fraction(&self, draws: &mut Draws) -> f64 {
        let on_time = if self.premium { 0.98 } else { 0.76 };
        let (met, spread) = (draws.take() < on_time, draws.take());
        if met { 0.06 + 0.74 * spread.powf(1.6) } else { 1.1 + 1.3 * spread }
    }
}

/// Plans `conversation` on a ticket measured under `pace`, before `now`.
pub fn plan(conversation: &Conversation, pace: &Pace<'_>, now: Timestamp, rng: &mut StdRng) -> Schedule {
    let mut draws = Draws { values: (0..12 * (conversation.steps.len() + 4)).map(|_| rng.random()).collect(), next: 0 };
    let live = conversation.awaits_answer() && matches!(conversation.end, Status::New | Status::Open);
    if live {
        return plan_live(conversation, pace, now, &mut draws);
    }
    let age = match conversation.end {
        Status::Closed => draws.between(5 * DAY, 14 * DAY, 1.0),
        Status::Solved => draws.between(6 * HOUR, 13 * DAY, 1.3),
        Status::Pending | Status::OnHold => draws.between(12 * HOUR, 8 * DAY, 1.0),
        _ => draws.between(2 * HOUR, 2 * DAY, 1.0),
    };
    let mut created = now.plus_millis(-age);
    let start = draws.next;
    let mut acts = Vec::new();
    for _ in 0..12 {
        draws.next = start;
        acts = forward(conversation, pace, created, None, now, &mut draws);
        let end = acts.iter().filter(|timed| timed.act != Act::Set(Status::Closed)).map(|timed| timed.at).max();
        match end {
            Some(end) if end > now.plus_millis(-MINUTE) => created = created.plus_millis(-(end.0 - now.0) - HOUR),
            _ => break,
        }
    }
    acts.retain(|timed| timed.at <= now);
    Schedule { created, acts }
}

/// A ticket still waiting for an answer: its oldest unanswered message came
/// a little while ago, measured against the target now running.
fn plan_live(conversation: &Conversation, pace: &Pace<'_>, now: Timestamp, draws: &mut Draws) -> Schedule {
    let pinned = last_run_start(conversation);
    let answered = conversation.steps[..pinned].iter().any(|step| step.speaker == Speaker::Agent);
    let spec = if answered { pace.targets.next_response } else { pace.targets.first_response }.unwrap_or(FALLBACK);
    let wait = if spec.business_hours {
        // Business time may stand still (nights, weekends), so stay well inside the target in real time.
        let cap = if pace.premium { spec.seconds * SECOND * 3 / 4 } else { 6 * HOUR };
        draws.between(10 * MINUTE, cap.max(11 * MINUTE), 1.2)
    } else {
        let (kind, spread) = (draws.take(), draws.take());
        let fraction = match kind {
            // A few tickets have waited too long, a few are about to.
            k if k < 0.15 && !pace.premium => 1.2 + 0.8 * spread,
            k if k < 0.4 => 0.85 + 0.12 * spread,
            _ => 0.05 + 0.65 * spread,
        };
        (spec.seconds as f64 * fraction * SECOND as f64) as i64
    };
    let desired = now.plus_millis(-wait.max(20 * SECOND));
    let mut created = if pinned == 0 { desired } else { desired.plus_millis(-2 * DAY) };
    let start = draws.next;
    let mut acts = Vec::new();
    for _ in 0..12 {
        draws.next = start;
        acts = forward(conversation, pace, created, Some((pinned, desired)), now, draws);
        let before = acts.iter().filter(|timed| timed.act == Act::Say(pinned)).map(|timed| timed.at).next();
        // What the earlier steps did must come before the pinned message.
        let latest_before_pin = acts
            .iter()
            .filter(|timed| !matches!(timed.act, Act::Say(step) if step >= pinned))
            .map(|timed| timed.at)
            .max()
            .unwrap_or(created);
        match before {
            Some(at) if latest_before_pin > at => {
                created = created.plus_millis(-(latest_before_pin.0 - at.0) - HOUR);
            }
            _ => break,
        }
    }
    acts.retain(|timed| timed.at <= now);
    Schedule { created, acts }
}

/// The index of the first customer message of the final run of customer messages.
fn last_run_start(conversation: &Conversation) -> usize {
    let mut start = 0;
    let mut previous = None;
    for (index, step) in conversation.steps.iter().enumerate() {
        if step.speaker == Speaker::Note {
            continue;
        }
        if step.speaker == Speaker::Customer && previous != Some(Speaker::Customer) {
            start = index;
        }
        previous = Some(step.speaker);
    }
    start
}

/// Walks the conversation from `created`. With `pin`, step `pin.0` is
/// written at `pin.1`, and what follows it squeezes in before `now`.
fn forward(
    conversation: &Conversation,
    pace: &Pace<'_>,
    created: Timestamp,
    pin: Option<(usize, Timestamp)>,
    now: Timestamp,
    draws: &mut Draws,
) -> Vec<Timed> {
    let family = family(conversation.channel);
    let mut acts = Vec::new();
    let mut last = created;
    let mut assigned = false;
    if family == Family::Phone {
        last = calls(pace, created, draws, &mut acts);
        assigned = true;
    }
    // The oldest customer message not answered yet, and whether anyone has answered.
    let mut waiting = Some(created);
    let mut answered = false;
    let mut previous = Speaker::Customer;
    for (index, step) in conversation.steps.iter().enumerate() {
        let next_public = conversation.steps[index + 1..].iter().find(|step| step.speaker != Speaker::Note);
        let at = match step.speaker {
            Speaker::Customer if index == 0 => continue,
            Speaker::Customer => {
                let gap = match (previous, family) {
                    (Speaker::Customer, Family::Written) => draws.between(20 * MINUTE, 5 * HOUR, 1.5),
                    (Speaker::Customer, Family::Chat) => draws.between(8 * SECOND, 40 * SECOND, 1.0),
                    (Speaker::Customer, _) => draws.between(MINUTE, 25 * MINUTE, 1.5),
                    (_, Family::Written) => draws.between(25 * MINUTE, 30 * HOUR, 1.6),
                    (_, Family::Chat) => draws.between(12 * SECOND, 90 * SECOND, 1.0),
                    (_, _) => draws.between(MINUTE, 50 * MINUTE, 1.6),
                };
                let mut at = last.plus_millis(gap);
                if let Some((pinned, pinned_at)) = pin {
                    if index == pinned {
                        at = pinned_at;
                    } else if index > pinned {
                        at = last.plus_millis(gap.min((now.0 - last.0) / 2));
                    }
                }
                waiting.get_or_insert(at);
                at
            }
            Speaker::Agent => {
                let at = match waiting.take() {
                    Some(since) => {
                        let spec = if answered { pace.targets.next_response } else { pace.targets.first_response };
                        pace.after(since, spec.unwrap_or(FALLBACK), pace.fraction(draws))
                    }
                    None => last.plus_millis(match family {
                        Family::Chat => draws.between(10 * SECOND, 40 * SECOND, 1.0),
                        Family::Messaging => draws.between(MINUTE, 6 * MINUTE, 1.0),
                        _ => draws.between(3 * MINUTE, 40 * MINUTE, 1.0),
                    }),
                };
                answered = true;
                at.max(last.plus_millis(5 * SECOND))
            }
            Speaker::Note => last.plus_millis(match family {
                Family::Chat => draws.between(20 * SECOND, 2 * MINUTE, 1.0),
                _ => draws.between(2 * MINUTE, 15 * MINUTE, 1.0),
            }),
        };
        if step.speaker != Speaker::Customer && !assigned {
            acts.push(Timed { at: at.plus_millis(-SECOND).max(created.plus_millis(SECOND)), act: Act::Assign });
            assigned = true;
        }
        acts.push(Timed { at, act: Act::Say(index) });
        // A written ticket waits on the customer between an answer and their reply.
        if step.speaker == Speaker::Agent
            && family == Family::Written
            && next_public.is_some_and(|next| next.speaker == Speaker::Customer)
        {
            acts.push(Timed { at: at.plus_millis(SECOND), act: Act::Set(Status::Pending) });
        }
        if step.speaker != Speaker::Note {
            previous = step.speaker;
        }
        last = at;
    }
    finish(conversation, family, last, (assigned, answered), created, draws, &mut acts);
    acts.sort_by_key(|timed| timed.at);
    acts
}

/// The ticket's calls: the first one, and when the caller gave up, the one
/// that got through. Returns when the last call ended.
fn calls(pace: &Pace<'_>, created: Timestamp, draws: &mut Draws, acts: &mut Vec<Timed>) -> Timestamp {
    let target = pace.targets.first_response.unwrap_or(FALLBACK);
    let (abandon, patience, later, quick) = (draws.take(), draws.take(), draws.take(), draws.take());
    let mut queued = created;
    let mut call = 0;
    if abandon < 0.14 && !pace.premium {
        let gave_up = queued.plus_millis(((60.0 + 150.0 * patience) * SECOND as f64) as i64);
        acts.push(Timed { at: queued, act: Act::Call(call, CallEvent::Queued(queued)) });
        acts.push(Timed { at: gave_up, act: Act::Call(call, CallEvent::Ended(gave_up)) });
        call += 1;
        queued = gave_up.plus_millis(((4.0 + 36.0 * later) * MINUTE as f64) as i64);
    }
    let answered = if call > 0 {
        queued.plus_millis(((6.0 + 30.0 * quick) * SECOND as f64) as i64)
    } else {
        pace.after(queued, target, pace.fraction(draws))
    };
    let ended = answered.plus_millis(draws.between(2 * MINUTE, 14 * MINUTE, 1.3));
    acts.push(Timed { at: queued, act: Act::Call(call, CallEvent::Queued(queued)) });
    acts.push(Timed { at: answered, act: Act::Call(call, CallEvent::Answered(answered)) });
    acts.push(Timed { at: answered, act: Act::Assign });
    acts.push(Timed { at: ended, act: Act::Call(call, CallEvent::Ended(ended)) });
    ended
}

/// The status the conversation ends in.
fn finish(
    conversation: &Conversation,
    family: Family,
    last: Timestamp,
    (assigned, answered): (bool, bool),
    created: Timestamp,
    draws: &mut Draws,
    acts: &mut Vec<Timed>,
) {
    let settle = match family {
        Family::Chat => draws.between(10 * SECOND, 90 * SECOND, 1.0),
        Family::Phone => draws.between(MINUTE, 5 * MINUTE, 1.0),
        Family::Messaging => draws.between(2 * MINUTE, 30 * MINUTE, 1.0),
        Family::Written => draws.between(5 * MINUTE, 90 * MINUTE, 1.0),
    };
    let at = last.plus_millis(settle);
    match conversation.end {
        Status::Solved | Status::Closed => {
            // Closed as the server's auto-close would (after 4 days by default), when that has come.
            acts.push(Timed { at, act: Act::Set(Status::Solved) });
            acts.push(Timed { at: at.plus_millis(4 * DAY), act: Act::Set(Status::Closed) });
        }
        Status::Pending | Status::OnHold => acts.push(Timed { at, act: Act::Set(conversation.end) }),
        Status::Open if !answered => {
            // Taken, but not answered in writing yet (a call's notes say what was agreed).
            let at = match family {
                Family::Phone => at,
                _ => created.plus_millis(draws.between(MINUTE, 10 * MINUTE, 1.0)).min(last.max(created)),
            };
            if !assigned {
                acts.push(Timed { at, act: Act::Assign });
            }
            acts.push(Timed { at, act: Act::Set(Status::Open) });
        }
        Status::Open | Status::New => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rand::SeedableRng;
    use rapport_core::sla::defaults::default_policies;

    use super::*;
    use crate::demo::script::parse;

    fn pace_of(calendar: &Calendar, channel: Channel, premium: bool) -> Pace<'_> {
        let policies = default_policies();
        let tier = if premium { "premium" } else { "basic" };
        let facts = rapport_core::sla::TicketFacts {
            channel,
            tier: rapport_core::Tier(tier.to_owned()),
            priority: rapport_core::Level::Normal,
            team: None,
            tags: Vec::new(),
        };
        let policy = rapport_core::sla::first_match(&policies, &facts).unwrap();
        Pace { targets: policy.targets.clone(), calendar, premium }
    }

    #[test]
    fn every_act_is_before_now_and_in_order() {
        let text = "=== email | billing | normal | closed\nsubject: a\n> one\n< two\n> three\n< four\n\
                    === whatsapp | tech | high | open\nsubject: b\n> one\n< two\n> three\n> four\n\
                    === phone | tech | normal | solved\nsubject: c\n! spoke to them\n\
                    === email | tech | normal | open\nsubject: d\n> one\n< two\n> three\n";
        let conversations = parse("t.txt", text).unwrap();
        let calendar = Calendar::default_in(jiff::tz::TimeZone::UTC);
        // A Sunday evening: business hours stand still since Friday.
        let now = Timestamp(1_796_584_000_000);
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..50 {
            for conversation in &conversations {
                let pace = pace_of(&calendar, conversation.channel, false);
                let schedule = plan(conversation, &pace, now, &mut rng);
                let mut previous = schedule.created;
                for timed in &schedule.acts {
                    assert!(timed.at >= previous && timed.at <= now, "{timed:?} in {schedule:?}");
                    previous = timed.at;
                }
                let said: Vec<usize> = schedule
                    .acts
                    .iter()
                    .filter_map(|timed| if let Act::Say(step) = timed.act { Some(step) } else { None })
                    .collect();
                let first = usize::from(conversation.channel != Channel::Phone);
                let expected: Vec<usize> = (first..conversation.steps.len()).collect();
                assert_eq!(said, expected, "{schedule:?}");
            }
        }
    }

    #[test]
    fn a_waiting_messaging_ticket_waits_less_than_a_day() {
        let text = "=== telegram | tech | normal | new\nsubject: a\n> hello?\n> anyone\n";
        let conversation = &parse("t.txt", text).unwrap()[0];
        let calendar = Calendar::default_in(jiff::tz::TimeZone::UTC);
        let now = Timestamp(1_796_000_000_000);
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..50 {
            let schedule = plan(conversation, &pace_of(&calendar, Channel::Telegram, true), now, &mut rng);
            assert!(now.0 - schedule.created.0 < 2 * HOUR, "{schedule:?}");
        }
    }
}
