//! Phone calls and callback requests: a call's lifecycle from the provider's
//! events, its wait and talk time, the share of calls answered within a
//! target, and the rules of the callback queue.
//!
//! A provider reports a call as a stream of events that may arrive late, out
//! of order or more than once (Twilio retries its status callbacks). So a
//! call is not a state machine that events push along: it is a set of
//! instants (queued, ringing, answered, ended) that each event may fill in
//! once, and the state is derived from which instants are known. An event
//! can only add knowledge, so no callback, however late, moves a call
//! backwards, and applying the same event twice changes nothing.

use serde::{Deserialize, Serialize};

use crate::time::{SECOND, Timestamp};

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Waiting in line for an agent.
    Queued,
    /// An agent's phone is ringing.
    Ringing,
    /// An agent is talking to the caller.
    Answered,
    /// Answered and over.
    Completed,
    /// The caller hung up (or the call failed) before anyone answered.
    Abandoned,
    /// The caller left a voicemail instead of waiting.
    Voicemail,
}

impl CallState {
    /// Every state.
    pub const ALL: [CallState; 6] = [
        CallState::Queued,
        CallState::Ringing,
        CallState::Answered,
        CallState::Completed,
        CallState::Abandoned,
        CallState::Voicemail,
    ];

    /// The word used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Queued => "queued",
            CallState::Ringing => "ringing",
            CallState::Answered => "answered",
            CallState::Completed => "completed",
            CallState::Abandoned => "abandoned",
            CallState::Voicemail => "voicemail",
        }
    }

    /// Parses the database word.
    pub fn parse(word: &str) -> Option<CallState> {
        CallState::ALL.into_iter().find(|state| state.as_str() == word)
    }

    /// True once the call is over.
    pub fn is_final(self) -> bool {
        matches!(self, CallState::Completed | CallState::Abandoned | CallState::Voicemail)
    }
}

impl std::fmt::Display for CallState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What a call event says happened, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallEvent {
    /// The caller entered the queue.
    Queued(Timestamp),
    /// An agent's phone started ringing.
    Ringing(Timestamp),
    /// Someone picked up.
    Answered(Timestamp),
    /// The caller left the queue for an agent after `queue_ms` in it (Twilio's
    /// `<Enqueue>` action with `QueueResult=bridged`): answered that long
    /// after the caller started waiting, or at `at` when that start is unknown.
    Bridged {
        /// Time spent in the queue, in ms.
        queue_ms: i64,
        /// When the report arrived.
        at: Timestamp,
    },
    /// The call ended (hung up, busy, no answer, failed).
    Ended(Timestamp),
    /// The caller left a recording; the call is over.
    Voicemail {
        /// When the recording reached us.
        at: Timestamp,
        /// Where the recording can be fetched.
        url: String,
    },
}

/// What is known about one call: the instants its events revealed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTimes {
    /// When the caller entered the queue.
    pub queued_at: Option<Timestamp>,
    /// When an agent's phone first rang.
    pub ringing_at: Option<Timestamp>,
    /// When someone picked up.
    pub answered_at: Option<Timestamp>,
    /// When the call ended.
    pub ended_at: Option<Timestamp>,
    /// The voicemail's recording, if the caller left one.
    pub voicemail_url: Option<String>,
}

impl CallTimes {
    /// The state these instants add up to.
    pub fn state(&self) -> CallState {
        match (self.answered_at, self.ended_at.is_some() || self.voicemail_url.is_some()) {
            (Some(_), true) => CallState::Completed,
            (Some(_), false) => CallState::Answered,
            (None, true) if self.voicemail_url.is_some() => CallState::Voicemail,
            (None, true) => CallState::Abandoned,
            (None, false) if self.ringing_at.is_some() => CallState::Ringing,
            (None, false) => CallState::Queued,
        }
    }

    /// When the caller started waiting: the queue, or the first ring when the
    /// queue went unreported.
    pub fn waiting_since(&self) -> Option<Timestamp> {
        self.queued_at.or(self.ringing_at)
    }

    /// How long the caller waited, in ms: until answered, or until the end
    /// when nobody answered. `None` while still waiting.
    pub fn wait_ms(&self) -> Option<i64> {
        let start = self.waiting_since()?;
        let end = self.answered_at.or(self.ended_at)?;
        Some(end.0.saturating_sub(start.0).max(0))
    }

    /// How long the caller talked to an agent, in ms. `None` until the
    /// answered call ends.
    pub fn talk_ms(&self) -> Option<i64> {
        let answered = self.answered_at?;
        let ended = self.ended_at?;
        Some(ended.0.saturating_sub(answered.0).max(0))
    }
}

/// The result of applying one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallChange {
    /// The call's instants afterwards.
    pub times: CallTimes,
    /// The state before.
    pub from: CallState,
    /// The state after.
    pub to: CallState,
}

impl CallChange {
    /// True when the event taught us nothing (a repeat, or news older than what we know).
    pub fn is_unchanged(&self, before: &CallTimes) -> bool {
        self.times == *before
    }
}

/// Applies `event` to what is known of a call. Each instant is learned once:
/// the earliest report of a start (queued, ringing, answered) wins, and the
/// first end is kept. An event can only add knowledge, so a repeated or
/// late event never moves the call backwards.
pub fn apply(times: &CallTimes, event: &CallEvent) -> CallChange {
    let from = times.state();
    let mut next = times.clone();
    let earliest = |known: Option<Timestamp>, at: Timestamp| Some(known.map_or(at, |known| known.min(at)));
    match event {
        CallEvent::Queued(at) => next.queued_at = earliest(next.queued_at, *at),
        CallEvent::Ringing(at) => next.ringing_at = earliest(next.ringing_at, *at),
        CallEvent::Answered(at) => next.answered_at = earliest(next.answered_at, *at),
        CallEvent::Bridged { queue_ms, at } => {
            let answered = next.waiting_since().map_or(*at, |since| since.plus_millis((*queue_ms).max(0)));
            next.answered_at = earliest(next.answered_at, answered);
        }
        CallEvent::Ended(at) => next.ended_at = next.ended_at.or(Some(*at)),
        CallEvent::Voicemail { at, url } => {
            // A recording after an agent answered is the agent's, not a voicemail.
            if next.answered_at.is_none() && next.voicemail_url.is_none() {
                next.voicemail_url = Some(url.clone());
            }
            next.ended_at = next.ended_at.or(Some(*at));
        }
    }
    let to = next.state();
    CallChange { times: next, from, to }
}

/// The line an agent reads on the ticket when a call changes state; `None`
/// when the state did not change (or the call just entered the queue: the
/// call's own message says so).
pub fn note_line(change: &CallChange) -> Option<String> {
    if change.from == change.to {
        return None;
    }
    let waited = change.times.wait_ms().map(|wait| format!(" after {} waiting", seconds(wait))).unwrap_or_default();
    Some(match change.to {
        CallState::Queued => return None,
        CallState::Ringing => "Call ringing at an agent".to_owned(),
        CallState::Answered => format!("Call answered{waited}"),
        CallState::Completed => {
            let talk = change.times.talk_ms().map(seconds).unwrap_or_else(|| "an unknown time".to_owned());
            format!("Call completed{waited}; talked {talk}")
        }
        CallState::Abandoned => format!("Call abandoned{waited}"),
        CallState::Voicemail => {
            let url = change.times.voicemail_url.as_deref().unwrap_or_default();
            format!("Voicemail left{waited}: {url}")
        }
    })
}

/// A span as `1 min 5 s` or `40 s`.
pub fn seconds(ms: i64) -> String {
    let secs = ms / SECOND;
    match (secs / 60, secs % 60) {
        (0, secs) => format!("{secs} s"),
        (mins, 0) => format!("{mins} min"),
        (mins, secs) => format!("{mins} min {secs} s"),
    }
}

/// How a set of calls went against a service target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallReport {
    /// Calls in the set.
    pub calls: u32,
    /// Calls someone answered.
    pub answered: u32,
    /// Calls the caller gave up on (no voicemail).
    pub abandoned: u32,
    /// Calls that ended in a voicemail.
    pub voicemail: u32,
    /// Calls answered within the target.
    pub answered_within_target: u32,
    /// `answered_within_target` over the calls that are decided (answered,
    /// abandoned or voicemail); `None` when none is.
    pub share_answered_within_target: Option<f64>,
    /// Median wait in ms over the calls with a wait (answered or not).
    pub median_wait_ms: Option<i64>,
    /// 90th-percentile wait in ms.
    pub p90_wait_ms: Option<i64>,
    /// Total talk time in ms.
    pub talk_ms: i64,
    /// Average talk time of the answered calls that ended, in ms.
    pub average_talk_ms: Option<i64>,
}

/// Measures `calls` against "answered within `target_secs` seconds". A call
/// still waiting counts in `calls` but not in the share: it is undecided.
pub fn report(calls: &[CallTimes], target_secs: i64) -> CallReport {
    let target_ms = target_secs.saturating_mul(SECOND);
    let mut report = CallReport { calls: u32::try_from(calls.len()).unwrap_or(u32::MAX), ..CallReport::default() };
    let mut waits: Vec<i64> = Vec::new();
    let mut talks: Vec<i64> = Vec::new();
    for call in calls {
        let wait = call.wait_ms();
        match call.state() {
            CallState::Answered | CallState::Completed => {
                report.answered += 1;
                if wait.is_some_and(|wait| wait <= target_ms) {
                    report.answered_within_target += 1;
                }
            }
            CallState::Abandoned => report.abandoned += 1,
            CallState::Voicemail => report.voicemail += 1,
            CallState::Queued | CallState::Ringing => {}
        }
        waits.extend(wait);
        talks.extend(call.talk_ms());
    }
    let decided = report.answered + report.abandoned + report.voicemail;
    report.share_answered_within_target =
        (decided > 0).then(|| f64::from(report.answered_within_target) / f64::from(decided));
    waits.sort_unstable();
    report.median_wait_ms = percentile(&waits, 50);
    report.p90_wait_ms = percentile(&waits, 90);
    report.talk_ms = talks.iter().sum();
    report.average_talk_ms =
        i64::try_from(talks.len()).ok().filter(|count| *count > 0).map(|count| report.talk_ms / count);
    report
}

/// The `percent`th percentile of sorted values (nearest rank).
pub fn percentile(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Where a callback request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackState {
    /// In line, waiting for an agent.
    Waiting,
    /// Offered to an agent, who is calling back.
    Offered,
    /// The customer was reached.
    Done,
    /// Given up (too many unanswered attempts, or withdrawn).
    Cancelled,
}

impl CallbackState {
    /// The word used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::Waiting => "waiting",
            CallbackState::Offered => "offered",
            CallbackState::Done => "done",
            CallbackState::Cancelled => "cancelled",
        }
    }

    /// Parses the database word.
    pub fn parse(word: &str) -> Option<CallbackState> {
        [CallbackState::Waiting, CallbackState::Offered, CallbackState::Done, CallbackState::Cancelled]
            .into_iter()
            .find(|state| state.as_str() == word)
    }
}

/// How an agent's callback attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackOutcome {
    /// The customer was reached.
    Done,
    /// Nobody picked up.
    NoAnswer,
}

/// Unanswered attempts after which a callback is given up.
pub const MAX_CALLBACK_ATTEMPTS: i64 = 3;

/// Where a callback goes after its `attempts`th attempt (this one included)
/// ended with `outcome`. An unanswered callback goes back into line at its
/// original place (its request instant does not change) until the attempts
/// run out.
pub fn after_attempt(outcome: CallbackOutcome, attempts: i64) -> CallbackState {
    match outcome {
        CallbackOutcome::Done => CallbackState::Done,
        CallbackOutcome::NoAnswer if attempts >= MAX_CALLBACK_ATTEMPTS => CallbackState::Cancelled,
        CallbackOutcome::NoAnswer => CallbackState::Waiting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(events: &[CallEvent]) -> CallTimes {
        events.iter().fold(CallTimes::default(), |times, event| apply(&times, event).times)
    }

    fn check(events: &[CallEvent], state: CallState, wait_ms: Option<i64>, talk_ms: Option<i64>) {
        let times = run(events);
        assert_eq!((times.state(), times.wait_ms(), times.talk_ms()), (state, wait_ms, talk_ms), "{events:?}");
    }

    fn voicemail(at: i64) -> CallEvent {
        CallEvent::Voicemail { at: Timestamp(at), url: "https://api.twilio.com/rec/RE1".to_owned() }
    }

    use CallEvent::{Answered, Ended, Queued, Ringing};
    const T: fn(i64) -> Timestamp = Timestamp;

    #[test]
    fn lifecycle_table() {
        check(&[], CallState::Queued, None, None);
        check(&[Queued(T(0))], CallState::Queued, None, None);
        check(&[Queued(T(0)), Ringing(T(5_000))], CallState::Ringing, None, None);
        check(&[Queued(T(0)), Ringing(T(5_000)), Answered(T(12_000))], CallState::Answered, Some(12_000), None);
        let full = [Queued(T(0)), Ringing(T(5_000)), Answered(T(12_000)), Ended(T(200_000))];
        check(&full, CallState::Completed, Some(12_000), Some(188_000));
        // Out of order and repeated: the same call.
        let shuffled = [Ended(T(200_000)), Answered(T(12_000)), Ringing(T(5_000)), Answered(T(12_000)), Queued(T(0))];
        check(&shuffled, CallState::Completed, Some(12_000), Some(188_000));
        check(&[Queued(T(0)), Ended(T(40_000))], CallState::Abandoned, Some(40_000), None);
        check(&[Ringing(T(1_000)), Ended(T(4_000))], CallState::Abandoned, Some(3_000), None);
        check(&[Queued(T(0)), voicemail(90_000)], CallState::Voicemail, Some(90_000), None);
        let bridged = CallEvent::Bridged { queue_ms: 25_000, at: T(300_000) };
        check(
            &[Queued(T(1_000)), bridged.clone(), Ended(T(300_000))],
            CallState::Completed,
            Some(25_000),
            Some(274_000),
        );
        check(&[bridged], CallState::Answered, None, None);
        check(&[Queued(T(0)), voicemail(90_000), Ended(T(95_000))], CallState::Voicemail, Some(90_000), None);
        // A recording made after an answer is not a voicemail.
        check(&[Queued(T(0)), Answered(T(2_000)), voicemail(9_000)], CallState::Completed, Some(2_000), Some(7_000));
    }

    #[test]
    fn a_late_or_repeated_event_changes_nothing() {
        let times = run(&[Queued(T(0)), Answered(T(10_000)), Ended(T(60_000))]);
        for repeat in [Queued(T(0)), Answered(T(10_000)), Ended(T(60_000))] {
            assert!(apply(&times, &repeat).is_unchanged(&times), "{repeat:?}");
        }
        for late in [Ringing(T(70_000)), Answered(T(80_000)), Ended(T(90_000)), Queued(T(5_000)), voicemail(1)] {
            let change = apply(&times, &late);
            assert_eq!(change.from, CallState::Completed);
            assert_eq!(change.to, CallState::Completed, "{late:?}");
            assert_eq!(change.times.wait_ms(), Some(10_000), "{late:?}");
            assert_eq!(change.times.talk_ms(), Some(50_000), "{late:?}");
        }
    }

    #[test]
    fn state_changes_are_noted_on_the_ticket() {
        let queued = apply(&CallTimes::default(), &Queued(T(0)));
        assert_eq!(note_line(&queued), None);
        let answered = apply(&queued.times, &Answered(T(65_000)));
        assert_eq!(note_line(&answered).as_deref(), Some("Call answered after 1 min 5 s waiting"));
        assert_eq!(note_line(&apply(&answered.times, &Answered(T(70_000)))), None);
        let ended = apply(&answered.times, &Ended(T(185_000)));
        assert_eq!(note_line(&ended).as_deref(), Some("Call completed after 1 min 5 s waiting; talked 2 min"));
        let abandoned = apply(&queued.times, &Ended(T(9_000)));
        assert_eq!(note_line(&abandoned).as_deref(), Some("Call abandoned after 9 s waiting"));
        let unknown = apply(&CallTimes::default(), &Ended(T(9_000)));
        assert_eq!(note_line(&unknown).as_deref(), Some("Call abandoned"));
    }

    #[test]
    fn report_counts_the_service_level() {
        let calls = vec![
            run(&[Queued(T(0)), Answered(T(30_000)), Ended(T(90_000))]),
            run(&[Queued(T(0)), Answered(T(61_000)), Ended(T(100_000))]),
            run(&[Queued(T(0)), Answered(T(60_000))]),
            run(&[Queued(T(0)), Ended(T(20_000))]),
            run(&[Queued(T(0)), voicemail(120_000)]),
            run(&[Queued(T(0))]),
        ];
        let report = report(&calls, 60);
        assert_eq!((report.calls, report.answered, report.abandoned, report.voicemail), (6, 3, 1, 1));
        assert_eq!(report.answered_within_target, 2);
        assert_eq!(report.share_answered_within_target, Some(2.0 / 5.0));
        // Waits: 20, 30, 60, 61, 120 s.
        assert_eq!(report.median_wait_ms, Some(60_000));
        assert_eq!(report.p90_wait_ms, Some(120_000));
        assert_eq!(report.talk_ms, 60_000 + 39_000);
        assert_eq!(report.average_talk_ms, Some(49_500));
        let empty = super::report(&[], 60);
        assert_eq!(
            (empty.share_answered_within_target, empty.median_wait_ms, empty.average_talk_ms),
            (None, None, None)
        );
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), Some(9));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90), Some(10));
    }

    #[test]
    fn callbacks_return_to_line_until_the_attempts_run_out() {
        assert_eq!(after_attempt(CallbackOutcome::Done, 1), CallbackState::Done);
        assert_eq!(after_attempt(CallbackOutcome::NoAnswer, 1), CallbackState::Waiting);
        assert_eq!(after_attempt(CallbackOutcome::NoAnswer, 2), CallbackState::Waiting);
        assert_eq!(after_attempt(CallbackOutcome::NoAnswer, 3), CallbackState::Cancelled);
        assert_eq!(after_attempt(CallbackOutcome::Done, 3), CallbackState::Done);
        for state in [CallbackState::Waiting, CallbackState::Offered, CallbackState::Done, CallbackState::Cancelled] {
            assert_eq!(CallbackState::parse(state.as_str()), Some(state));
        }
        for state in CallState::ALL {
            assert_eq!(CallState::parse(state.as_str()), Some(state));
        }
    }

    fn event() -> impl Strategy<Value = CallEvent> {
        let at = (0i64..1_000_000).prop_map(Timestamp);
        prop_oneof![
            at.clone().prop_map(Queued),
            at.clone().prop_map(Ringing),
            at.clone().prop_map(Answered),
            at.clone().prop_map(Ended),
            (0i64..100_000, at.clone()).prop_map(|(queue_ms, at)| CallEvent::Bridged { queue_ms, at }),
            at.prop_map(|at| CallEvent::Voicemail { at, url: "u".to_owned() }),
        ]
    }

    /// The rank of a state along the lifecycle; a final state outranks every live one.
    fn rank(state: CallState) -> u8 {
        match state {
            CallState::Queued => 0,
            CallState::Ringing => 1,
            CallState::Answered => 2,
            CallState::Completed | CallState::Abandoned | CallState::Voicemail => 3,
        }
    }

    proptest! {
        #[test]
        fn events_never_move_a_call_backwards(events in proptest::collection::vec(event(), 0..12)) {
            let mut times = CallTimes::default();
            for event in &events {
                let change = apply(&times, event);
                prop_assert!(rank(change.to) >= rank(change.from), "{:?} moved {:?} back to {:?}", event, change.from, change.to);
                // Applying the same event again changes nothing.
                prop_assert_eq!(&apply(&change.times, event).times, &change.times);
                times = change.times;
            }
            prop_assert!(times.wait_ms().is_none_or(|wait| wait >= 0));
            prop_assert!(times.talk_ms().is_none_or(|talk| talk >= 0));
        }

        #[test]
        fn the_order_of_start_events_does_not_matter(
            queued in 0i64..1000, ringing in 0i64..1000, answered in 0i64..1000, ended in 0i64..1000
        ) {
            let forward = run(&[Queued(T(queued)), Ringing(T(ringing)), Answered(T(answered)), Ended(T(ended))]);
            let backward = run(&[Ended(T(ended)), Answered(T(answered)), Ringing(T(ringing)), Queued(T(queued))]);
            prop_assert_eq!(forward, backward);
        }

        #[test]
        fn the_share_is_a_fraction(waits in proptest::collection::vec(0i64..300_000, 1..40), target in 0i64..300) {
            let calls: Vec<CallTimes> = waits.iter().map(|wait| run(&[Queued(T(0)), Answered(T(*wait)), Ended(T(wait + 1))])).collect();
            let report = report(&calls, target);
            let share = report.share_answered_within_target.unwrap_or(-1.0);
            prop_assert!((0.0..=1.0).contains(&share));
            let within = waits.iter().filter(|wait| **wait <= target * 1000).count();
            prop_assert_eq!(report.answered_within_target as usize, within);
        }
    }
}
