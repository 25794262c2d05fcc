//! Scenario and property tests of the SLA measurement.

use super::*;
use proptest::prelude::*;

/// An instant from RFC 3339. November 2026: the 16th is a Monday, the
/// 20th a Friday, the 23rd the next Monday.
fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn real(seconds: i64) -> Option<TargetSpec> {
    Some(TargetSpec { seconds, business_hours: false })
}

fn business(seconds: i64) -> Option<TargetSpec> {
    Some(TargetSpec { seconds, business_hours: true })
}

fn policy(targets: Targets, pause_when_pending: bool) -> SlaPolicy {
    SlaPolicy {
        name: "test".to_owned(),
        conditions: PolicyMatch::default(),
        targets,
        pause_when_pending,
        calendar: DEFAULT_CALENDAR.to_owned(),
    }
}

fn first_response(spec: Option<TargetSpec>, pause_when_pending: bool) -> SlaPolicy {
    policy(Targets { first_response: spec, ..Targets::default() }, pause_when_pending)
}

/// The single state of a one-target policy.
fn only(policy: &SlaPolicy, timeline: &[Happening], now: &str) -> TargetState {
    let states = measure(policy, &Calendar::default(), timeline, at(now)).unwrap();
    assert_eq!(states.len(), 1, "{states:?}");
    states[0]
}

#[test]
fn a_reply_within_the_target_is_met() {
    // 1 h of real time from 10:00: due 11:00; the reply at 10:30 took 30 min.
    let policy = first_response(real(3600), false);
    let timeline = [Happening::Created(at("2026-11-16T10:00:00Z")), Happening::AgentReply(at("2026-11-16T10:30:00Z"))];
    let state = only(&policy, &timeline, "2026-11-16T12:00:00Z");
    assert_eq!(state.kind, TargetKind::FirstResponse);
    assert_eq!(state.state, TargetStatus::Met);
    assert_eq!(state.due, Some(at("2026-11-16T11:00:00Z")));
    assert_eq!(state.elapsed_seconds, 1800);
    assert_eq!(state.remaining_seconds, 1800);
    assert_eq!(state.met_at, Some(at("2026-11-16T10:30:00Z")));
}

#[test]
fn a_reply_exactly_at_the_due_time_is_met() {
    let policy = first_response(real(3600), false);
    let timeline = [Happening::Created(at("2026-11-16T10:00:00Z")), Happening::AgentReply(at("2026-11-16T11:00:00Z"))];
    let state = only(&policy, &timeline, "2026-11-16T12:00:00Z");
    assert_eq!(state.state, TargetStatus::Met);
    assert_eq!(state.remaining_seconds, 0);
}

#[test]
fn a_reply_after_the_target_is_breached_with_met_at() {
    // Due 11:00; the reply at 11:30 is 30 min late: elapsed 1.5 h, remaining -30 min.
    let policy = first_response(real(3600), false);
    let timeline = [Happening::Created(at("2026-11-16T10:00:00Z")), Happening::AgentReply(at("2026-11-16T11:30:00Z"))];
    let state = only(&policy, &timeline, "2026-11-16T12:00:00Z");
    assert_eq!(state.state, TargetStatus::Breached);
    assert_eq!(state.due, Some(at("2026-11-16T11:00:00Z")));
    assert_eq!(state.elapsed_seconds, 5400);
    assert_eq!(state.remaining_seconds, -1800);
    assert_eq!(state.met_at, Some(at("2026-11-16T11:30:00Z")));
}

#[test]
fn an_unanswered_ticket_is_active_then_breached() {
    let policy = first_response(real(3600), false);
    let timeline = [Happening::Created(at("2026-11-16T10:00:00Z"))];
    // 10:45: 45 min gone, 15 left, due 11:00.
    let state = only(&policy, &timeline, "2026-11-16T10:45:00Z");
    assert_eq!((state.state, state.elapsed_seconds, state.remaining_seconds), (TargetStatus::Active, 2700, 900));
    assert_eq!(state.due, Some(at("2026-11-16T11:00:00Z")));
    // 11:00:01: one second past due.
    let state = only(&policy, &timeline, "2026-11-16T11:00:01Z");
    assert_eq!((state.state, state.remaining_seconds, state.met_at), (TargetStatus::Breached, -1, None));
    assert_eq!(state.due, Some(at("2026-11-16T11:00:00Z")));
}

#[test]
fn a_later_reply_never_overwrites_a_first_response() {
    let policy = first_response(real(3600), false);
    let timeline = [
        Happening::Created(at("2026-11-16T10:00:00Z")),
        Happening::AgentReply(at("2026-11-16T10:30:00Z")),
        Happening::CustomerMessage(at("2026-11-16T10:40:00Z")),
        Happening::AgentReply(at("2026-11-16T13:00:00Z")),
    ];
    let state = only(&policy, &timeline, "2026-11-16T14:00:00Z");
    assert_eq!((state.state, state.met_at), (TargetStatus::Met, Some(at("2026-11-16T10:30:00Z"))));
}

#[test]
fn pending_pauses_and_the_due_time_moves_out() {
    // Runs 10:00–10:20 (20 min), pending 10:20–11:00, runs again from 11:00
    // with 40 min left: due 11:40.
    let policy = first_response(real(3600), true);
    let timeline = [
        Happening::Created(at("2026-11-16T10:00:00Z")),
        Happening::Status(at("2026-11-16T10:20:00Z"), Status::Pending),
        Happening::CustomerMessage(at("2026-11-16T11:00:00Z")),
        Happening::Status(at("2026-11-16T11:00:00Z"), Status::Open),
    ];
    // While pending: paused, no due time, 20 min counted.
    let state = only(&policy, &timeline, "2026-11-16T10:50:00Z");
    assert_eq!((state.state, state.due, state.elapsed_seconds), (TargetStatus::Paused, None, 1200));
    // 11:10: 20 + 10 min counted, due 11:40.
    let state = only(&policy, &timeline, "2026-11-16T11:10:00Z");
    assert_eq!((state.state, state.elapsed_seconds), (TargetStatus::Active, 1800));
    assert_eq!(state.due, Some(at("2026-11-16T11:40:00Z")));
    // Without pause_when_pending the clock ran through: 70 min by 11:10, due 11:00.
    let state = only(&first_response(real(3600), false), &timeline, "2026-11-16T11:10:00Z");
    assert_eq!((state.state, state.elapsed_seconds), (TargetStatus::Breached, 4200));
    assert_eq!(state.due, Some(at("2026-11-16T11:00:00Z")));
}

#[test]
fn on_hold_pauses_even_without_pause_when_pending() {
    // Runs 10:00–10:30 (30 min), on hold until 12:00, then 15 min: 45 min
    // counted, 15 left from the 12:00 resume: due 12:30.
    let policy = first_response(real(3600), false);
    let timeline = [
        Happening::Created(at("2026-11-16T10:00:00Z")),
        Happening::Status(at("2026-11-16T10:30:00Z"), Status::OnHold),
        Happening::Status(at("2026-11-16T12:00:00Z"), Status::Open),
    ];
    let state = only(&policy, &timeline, "2026-11-16T12:15:00Z");
    assert_eq!((state.state, state.elapsed_seconds, state.remaining_seconds), (TargetStatus::Active, 2700, 900));
    assert_eq!(state.due, Some(at("2026-11-16T12:30:00Z")));
}

#[test]
fn next_response_restarts_at_each_customer_message_after_a_reply() {
    let policy = policy(Targets { next_response: real(1800), ..Targets::default() }, false);
    let calendar = Calendar::default();
    let mut timeline =
        vec![Happening::Created(at("2026-11-16T09:00:00Z")), Happening::CustomerMessage(at("2026-11-16T09:00:00Z"))];
    // The creating message belongs to first response: no cycle yet.
    assert!(measure(&policy, &calendar, &timeline, at("2026-11-16T09:05:00Z")).unwrap().is_empty());
    timeline.push(Happening::AgentReply(at("2026-11-16T09:10:00Z")));
    assert!(measure(&policy, &calendar, &timeline, at("2026-11-16T09:15:00Z")).unwrap().is_empty());
    // The customer writes at 10:00 and again at 10:05 (the oldest unanswered
    // message counts); the 10:20 reply meets it after 20 min (due 10:30).
    timeline.extend([
        Happening::CustomerMessage(at("2026-11-16T10:00:00Z")),
        Happening::CustomerMessage(at("2026-11-16T10:05:00Z")),
        Happening::AgentReply(at("2026-11-16T10:20:00Z")),
    ]);
    let state = only(&policy, &timeline, "2026-11-16T10:50:00Z");
    assert_eq!((state.kind, state.state, state.elapsed_seconds), (TargetKind::NextResponse, TargetStatus::Met, 1200));
    assert_eq!((state.due, state.met_at), (Some(at("2026-11-16T10:30:00Z")), Some(at("2026-11-16T10:20:00Z"))));
    // A new message at 11:00 restarts it: due 11:30, breached by 11:45.
    timeline.push(Happening::CustomerMessage(at("2026-11-16T11:00:00Z")));
    let state = only(&policy, &timeline, "2026-11-16T11:10:00Z");
    assert_eq!((state.state, state.elapsed_seconds), (TargetStatus::Active, 600));
    assert_eq!(state.due, Some(at("2026-11-16T11:30:00Z")));
    let state = only(&policy, &timeline, "2026-11-16T11:45:00Z");
    assert_eq!((state.state, state.elapsed_seconds, state.met_at), (TargetStatus::Breached, 2700, None));
}

#[test]
fn a_reopen_continues_resolution_where_it_was() {
    // 8 h resolution. Runs 10:00–12:00 (2 h) then solved: met.
    let policy = policy(Targets { resolution: real(8 * 3600), ..Targets::default() }, false);
    let mut timeline = vec![
        Happening::Created(at("2026-11-16T10:00:00Z")),
        Happening::Status(at("2026-11-16T12:00:00Z"), Status::Solved),
    ];
    let state = only(&policy, &timeline, "2026-11-16T13:00:00Z");
    assert_eq!((state.kind, state.state, state.elapsed_seconds), (TargetKind::Resolution, TargetStatus::Met, 7200));
    assert_eq!(state.met_at, Some(at("2026-11-16T12:00:00Z")));
    // Reopened at 14:00: 2 h already used, 6 h left from 14:00 → due 20:00.
    timeline.extend([
        Happening::CustomerMessage(at("2026-11-16T14:00:00Z")),
        Happening::Status(at("2026-11-16T14:00:00Z"), Status::Open),
    ]);
    let state = only(&policy, &timeline, "2026-11-16T15:00:00Z");
    assert_eq!((state.state, state.elapsed_seconds, state.met_at), (TargetStatus::Active, 10_800, None));
    assert_eq!(state.due, Some(at("2026-11-16T20:00:00Z")));
    // Solved again at 16:00 (4 h in all) and then closed: met at the solve.
    timeline.extend([
        Happening::Status(at("2026-11-16T16:00:00Z"), Status::Solved),
        Happening::Status(at("2026-11-17T16:00:00Z"), Status::Closed),
    ]);
    let state = only(&policy, &timeline, "2026-11-18T00:00:00Z");
    assert_eq!((state.state, state.elapsed_seconds), (TargetStatus::Met, 14_400));
    assert_eq!(state.met_at, Some(at("2026-11-16T16:00:00Z")));
}

#[test]
fn a_business_hours_target_runs_across_the_weekend() {
    // Default calendar, Mon–Fri 09:00–17:00 UTC. 6 business hours from
    // Friday 15:00: 2 h on Friday, 4 h on Monday → due Monday 13:00.
    let policy = first_response(business(6 * 3600), false);
    let timeline = [Happening::Created(at("2026-11-20T15:00:00Z"))];
    // Saturday noon: only Friday's 2 h count.
    let state = only(&policy, &timeline, "2026-11-21T12:00:00Z");
    assert_eq!((state.state, state.elapsed_seconds), (TargetStatus::Active, 7200));
    assert_eq!(state.due, Some(at("2026-11-23T13:00:00Z")));
    // Monday 10:00: 2 h + 1 h.
    let state = only(&policy, &timeline, "2026-11-23T10:00:00Z");
    assert_eq!((state.elapsed_seconds, state.remaining_seconds), (10_800, 10_800));
    // Monday 13:00:01: breached.
    let state = only(&policy, &timeline, "2026-11-23T13:00:01Z");
    assert_eq!(state.state, TargetStatus::Breached);
    // A calendar-time target of 6 h ran out on Friday at 21:00.
    let state = only(&first_response(real(6 * 3600), false), &timeline, "2026-11-21T12:00:00Z");
    assert_eq!((state.state, state.due), (TargetStatus::Breached, Some(at("2026-11-20T21:00:00Z"))));
}

#[test]
fn a_business_hours_pause_recomputes_from_the_resume_with_the_remaining_time() {
    // Runs Friday 16:00–16:30 (30 min of 6 h), pending until Monday 10:00;
    // 5 h 30 min left from Monday 10:00 → due Monday 15:30.
    let policy = first_response(business(6 * 3600), true);
    let timeline = [
        Happening::Created(at("2026-11-20T16:00:00Z")),
        Happening::Status(at("2026-11-20T16:30:00Z"), Status::Pending),
        Happening::Status(at("2026-11-23T10:00:00Z"), Status::Open),
    ];
    let state = only(&policy, &timeline, "2026-11-23T11:00:00Z");
    assert_eq!((state.state, state.elapsed_seconds), (TargetStatus::Active, 1800 + 3600));
    assert_eq!(state.due, Some(at("2026-11-23T15:30:00Z")));
}

#[test]
fn the_first_matching_policy_applies() {
    let premium = Tier("premium".to_owned());
    let named = |name: &str, conditions: PolicyMatch| SlaPolicy {
        name: name.to_owned(),
        conditions,
        targets: Targets { first_response: real(60), ..Targets::default() },
        pause_when_pending: true,
        calendar: DEFAULT_CALENDAR.to_owned(),
    };
    let policies = [
        named(
            "premium chat",
            PolicyMatch { channels: vec![Channel::Chat], tiers: vec![premium.clone()], ..PolicyMatch::default() },
        ),
        named("chat", PolicyMatch { channels: vec![Channel::Chat], ..PolicyMatch::default() }),
        named("vip tag", PolicyMatch { tags: vec!["vip".to_owned(), "press".to_owned()], ..PolicyMatch::default() }),
        named(
            "urgent team 7",
            PolicyMatch { teams: vec![TeamId(7)], priorities: vec![Level::Urgent], ..PolicyMatch::default() },
        ),
        named("everything", PolicyMatch::default()),
    ];
    let facts = |channel, tier: &Tier, priority, team, tags: &[&str]| TicketFacts {
        channel,
        tier: tier.clone(),
        priority,
        team,
        tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
    };
    let basic = Tier::basic();
    let name = |ticket: TicketFacts| first_match(&policies, &ticket).map(|policy| policy.name.clone());
    assert_eq!(name(facts(Channel::Chat, &premium, Level::Normal, None, &[])).as_deref(), Some("premium chat"));
    // Both chat policies match a basic chat: the first listed that matches wins.
    assert_eq!(name(facts(Channel::Chat, &basic, Level::Normal, None, &["vip"])).as_deref(), Some("chat"));
    assert_eq!(name(facts(Channel::Email, &premium, Level::Low, None, &["x", "press"])).as_deref(), Some("vip tag"));
    assert_eq!(
        name(facts(Channel::Email, &basic, Level::Urgent, Some(TeamId(7)), &[])).as_deref(),
        Some("urgent team 7")
    );
    // Wrong team, or no team at all, or not urgent: falls through to the catch-all.
    assert_eq!(name(facts(Channel::Email, &basic, Level::Urgent, Some(TeamId(8)), &[])).as_deref(), Some("everything"));
    assert_eq!(name(facts(Channel::Email, &basic, Level::Urgent, None, &[])).as_deref(), Some("everything"));
    assert_eq!(name(facts(Channel::Email, &basic, Level::High, Some(TeamId(7)), &[])).as_deref(), Some("everything"));
    assert_eq!(first_match(&policies[..1], &facts(Channel::Sms, &basic, Level::Low, None, &[])), None);
}

#[test]
fn a_target_of_zero_or_less_is_refused_naming_the_field() {
    let zero = first_response(real(0), false);
    let error = zero.validate().unwrap_err();
    assert_eq!(error.field, "targets.first_response.seconds");
    assert_eq!(error.to_string(), "targets.first_response.seconds: must be positive, got 0");
    let negative = policy(Targets { first_response: real(60), resolution: business(-5), ..Targets::default() }, false);
    assert_eq!(negative.validate().unwrap_err().field, "targets.resolution.seconds");
    let next = policy(Targets { next_response: real(0), ..Targets::default() }, false);
    assert_eq!(next.validate().unwrap_err().field, "targets.next_response.seconds");
    // Measuring with it is refused too.
    let timeline = [Happening::Created(at("2026-11-16T10:00:00Z"))];
    assert!(matches!(
        measure(&zero, &Calendar::default(), &timeline, at("2026-11-16T10:00:00Z")),
        Err(MeasureError::Policy(PolicyError { .. }))
    ));
    assert!(first_response(real(1), false).validate().is_ok());
}

#[test]
fn a_bad_timeline_is_refused_naming_the_happening() {
    let policy = first_response(real(60), false);
    let calendar = Calendar::default();
    let now = at("2026-11-16T12:00:00Z");
    let no_created = [Happening::AgentReply(at("2026-11-16T10:00:00Z"))];
    assert_eq!(measure(&policy, &calendar, &no_created, now), Err(MeasureError::Created { index: 0 }));
    let backwards = [
        Happening::Created(at("2026-11-16T10:00:00Z")),
        Happening::AgentReply(at("2026-11-16T11:00:00Z")),
        Happening::CustomerMessage(at("2026-11-16T10:30:00Z")),
    ];
    assert_eq!(measure(&policy, &calendar, &backwards, now), Err(MeasureError::OutOfOrder { index: 2 }));
}

#[test]
fn happenings_after_now_are_ignored() {
    // Measured at 10:30, the 10:45 reply has not happened yet.
    let policy = first_response(real(3600), false);
    let timeline = [Happening::Created(at("2026-11-16T10:00:00Z")), Happening::AgentReply(at("2026-11-16T10:45:00Z"))];
    let state = only(&policy, &timeline, "2026-11-16T10:30:00Z");
    assert_eq!((state.state, state.elapsed_seconds, state.met_at), (TargetStatus::Active, 1800, None));
}

/// A happening `offset` seconds after `base`, of kind `kind`.
fn happening(base: i64, offset: i64, kind: u8) -> Happening {
    let instant = Timestamp::from_second(base + offset).unwrap();
    match kind % 8 {
        0 => Happening::CustomerMessage(instant),
        1 => Happening::AgentReply(instant),
        kind => Happening::Status(instant, Status::ALL[usize::from(kind - 2)]),
    }
}

fn timeline_from(base: i64, steps: &[(i64, u8)]) -> (Vec<Happening>, i64) {
    let mut offset = 0;
    let mut timeline = Vec::new();
    for &(gap, kind) in steps {
        offset += gap;
        timeline.push(happening(base, offset, kind));
    }
    (timeline, offset)
}

proptest! {
    #[test]
    fn elapsed_never_exceeds_real_time_and_met_never_goes_back(
        steps in proptest::collection::vec((0i64..40_000, 0u8..8), 0..25),
        more in proptest::collection::vec((0i64..40_000, 0u8..8), 1..10),
        extra in 0i64..200_000,
        later in 0i64..200_000,
        seconds in proptest::collection::vec(1i64..60_000, 3),
        business_hours in proptest::collection::vec(any::<bool>(), 3),
        pause_when_pending in any::<bool>(),
    ) {
        // Friday 2026-11-20 13:00 UTC, so the weekend comes into play.
        let base = at("2026-11-20T13:00:00Z").as_second();
        let spec = |index: usize| Some(TargetSpec { seconds: seconds[index], business_hours: business_hours[index] });
        let policy = policy(
            Targets { first_response: spec(0), next_response: spec(1), resolution: spec(2) },
            pause_when_pending,
        );
        let calendar = Calendar::default();
        let (tail, last) = timeline_from(base, &steps);
        let mut timeline = vec![Happening::Created(Timestamp::from_second(base).unwrap())];
        timeline.extend(tail);
        let now_offset = last + extra;
        let now = Timestamp::from_second(base + now_offset).unwrap();
        let before = measure(&policy, &calendar, &timeline, now).unwrap();
        for state in &before {
            prop_assert!(state.elapsed_seconds >= 0);
            prop_assert!(state.elapsed_seconds <= now_offset, "{state:?}");
            prop_assert_eq!(state.remaining_seconds, seconds[state.kind as usize] - state.elapsed_seconds);
        }
        // Append more happenings after `now` and measure later.
        let (appended, appended_last) = timeline_from(base + now_offset, &more);
        let later_now = Timestamp::from_second(base + now_offset + appended_last + later).unwrap();
        for state in before.iter().filter(|state| matches!(state.state, TargetStatus::Met | TargetStatus::Breached)) {
            // Only happenings that do not start a new cycle of this target:
            // a customer message starts a new next-response cycle, and a
            // status change may reopen a solved ticket.
            let keep = |happening: &&Happening| match state.kind {
                TargetKind::FirstResponse => true,
                TargetKind::NextResponse => !matches!(happening, Happening::CustomerMessage(_)),
                TargetKind::Resolution => !matches!(happening, Happening::Status(..)),
            };
            let mut longer = timeline.clone();
            longer.extend(appended.iter().filter(keep));
            let after = measure(&policy, &calendar, &longer, later_now).unwrap();
            let Some(now_state) = after.iter().find(|after| after.kind == state.kind) else {
                return Err(TestCaseError::fail(format!("{:?} disappeared", state.kind)));
            };
            prop_assert!(matches!(now_state.state, TargetStatus::Met | TargetStatus::Breached), "{state:?} → {now_state:?}");
            if state.met_at.is_some() {
                prop_assert_eq!(now_state, state);
            }
            prop_assert!(now_state.elapsed_seconds <= (later_now.as_second() - base));
        }
    }
}
