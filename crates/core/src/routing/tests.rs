use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

fn seat(agent: i64) -> Seat {
    Seat {
        agent: AgentId(agent),
        skills: vec![],
        languages: vec!["en".into()],
        slots: vec![
            Slots { channel: Channel::Email, capacity: 12, load: 0 },
            Slots { channel: Channel::Chat, capacity: 3, load: 0 },
        ],
        presence: Presence::Online,
        on_shift: true,
        last_assigned: 0,
    }
}

fn need(ticket: i64) -> Need {
    Need {
        ticket: TicketId(ticket),
        channel: Channel::Email,
        skills: vec![],
        language: None,
        priority: Level::Normal,
        due: None,
        waiting_since: Timestamp(ticket * 1000),
        previous_owner: None,
    }
}

fn billing(level: u8) -> SkillNeed {
    SkillNeed { name: "billing".into(), level }
}

#[test]
fn eligibility_checks_channel_skill_language_presence_shift_and_capacity_and_names_what_fails() {
    let mut ada = seat(1);
    ada.skills = vec![("billing".into(), 2)];
    ada.languages = vec!["en".into(), "de".into()];
    let mut ticket = need(1);
    assert_eq!(eligibility(&ada, &ticket), Ok(()));

    ticket.channel = Channel::Phone;
    assert_eq!(eligibility(&ada, &ticket), Err(Ineligible::Channel(Channel::Phone)));
    ticket.channel = Channel::Email;

    ticket.skills = vec![billing(3)];
    assert_eq!(eligibility(&ada, &ticket), Err(Ineligible::Skill { name: "billing".into(), needed: 3, theirs: 2 }));
    ticket.skills = vec![billing(2), SkillNeed { name: "refunds".into(), level: 1 }];
    assert_eq!(eligibility(&ada, &ticket), Err(Ineligible::Skill { name: "refunds".into(), needed: 1, theirs: 0 }));
    ticket.skills = vec![billing(2)];

    ticket.language = Some("de-AT".into());
    assert_eq!(eligibility(&ada, &ticket), Ok(()), "a de speaker answers de-AT");
    ticket.language = Some("fr".into());
    assert_eq!(eligibility(&ada, &ticket), Err(Ineligible::Language("fr".into())));
    ticket.language = None;

    ada.presence = Presence::Away;
    assert_eq!(eligibility(&ada, &ticket), Err(Ineligible::NotOnline));
    ada.presence = Presence::Offline;
    assert_eq!(eligibility(&ada, &ticket), Err(Ineligible::NotOnline));
    ada.presence = Presence::Online;

    ada.on_shift = false;
    assert_eq!(eligibility(&ada, &ticket), Err(Ineligible::OffShift));
    ada.on_shift = true;

    ada.slots[0].load = 12;
    assert_eq!(eligibility(&ada, &ticket), Err(Ineligible::Full { load: 12, capacity: 12 }));
    ada.slots[0].load = 14;
    assert_eq!(
        eligibility(&ada, &ticket),
        Err(Ineligible::Full { load: 14, capacity: 12 }),
        "assigned over capacity by an admin: nothing more"
    );
}

#[test]
fn only_new_and_open_tickets_count_toward_load() {
    let counted: Vec<Status> = Status::ALL.iter().copied().filter(|status| counts_toward_load(*status)).collect();
    assert_eq!(counted, vec![Status::New, Status::Open]);
}

#[test]
fn tickets_go_out_by_priority_then_due_time_then_wait() {
    let mut urgent = need(9);
    urgent.priority = Level::Urgent;
    let mut due_soon = need(8);
    due_soon.due = Some(Timestamp(50_000));
    let mut due_later = need(2);
    due_later.due = Some(Timestamp(90_000));
    let oldest_without_due = need(1);
    let newer_without_due = need(5);
    let mut waiting = [newer_without_due, due_later, oldest_without_due, urgent, due_soon];
    waiting.sort_by(ticket_order);
    let order: Vec<i64> = waiting.iter().map(|need| need.ticket.0).collect();
    assert_eq!(order, vec![9, 8, 2, 1, 5]);
}

#[test]
fn the_least_loaded_eligible_agent_is_chosen_by_share_of_capacity() {
    let mut busy = seat(1);
    busy.slots[0] = Slots { channel: Channel::Email, capacity: 12, load: 6 };
    let mut small = seat(2);
    small.slots[0] = Slots { channel: Channel::Email, capacity: 3, load: 1 };
    let mut away = seat(3);
    away.presence = Presence::Away;
    let decision = choose_agent(&need(1), &[busy, small, away]).unwrap();
    assert_eq!(decision.agent, AgentId(2), "1/3 is a smaller share than 6/12");
    assert_eq!(decision.why.to_string(), "least load 1/3");
}

#[test]
fn the_previous_owner_wins_when_eligible_and_the_why_says_so() {
    let mut previous = seat(1);
    previous.slots[0].load = 5;
    previous.skills = vec![("billing".into(), 2)];
    previous.languages = vec!["de".into()];
    let mut idle = seat(2);
    idle.skills = vec![("billing".into(), 4)];
    idle.languages = vec!["de".into()];
    let mut ticket = need(1);
    ticket.skills = vec![billing(2)];
    ticket.language = Some("de".into());
    ticket.previous_owner = Some(AgentId(1));
    let decision = choose_agent(&ticket, &[previous.clone(), idle.clone()]).unwrap();
    assert_eq!(decision.agent, AgentId(1));
    assert_eq!(decision.why.to_string(), "skills billing/2, language de, load 5/12, previous owner");

    previous.presence = Presence::Offline;
    let decision = choose_agent(&ticket, &[previous, idle]).unwrap();
    assert_eq!(decision.agent, AgentId(2), "not eligible: the next best");
    assert_eq!(decision.why.to_string(), "skills billing/4, language de, least load 0/12");
}

#[test]
fn nobody_gets_a_ticket_nobody_eligible_has_room_for() {
    let mut full = seat(1);
    full.slots[1].load = 3;
    let mut chat = need(1);
    chat.channel = Channel::Chat;
    assert_eq!(choose_agent(&chat, &[full]), None);
    assert_eq!(choose_agent(&chat, &[]), None);
}

#[test]
fn round_robin_shares_tickets_evenly_among_equals() {
    // Three equal agents; each ticket is solved before the next comes in,
    // so load never tells them apart: round robin does.
    let mut seats = vec![seat(1), seat(2), seat(3)];
    let mut sequence = 0;
    let mut counts: HashMap<AgentId, usize> = HashMap::new();
    for ticket in 0..300 {
        let decisions = hand_out(&[need(ticket)], &mut seats, &mut sequence);
        assert_eq!(decisions.len(), 1);
        let decision = &decisions[0];
        assert!(decision.why.round_robin, "{}", decision.why);
        *counts.entry(decision.agent).or_default() += 1;
        let seat = seats.iter_mut().find(|seat| seat.agent == decision.agent).unwrap();
        seat.slots[0].load -= 1;
    }
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), vec![100, 100, 100]);
    assert_eq!(sequence, 300);
}

#[test]
fn pull_gives_an_agent_the_most_urgent_ticket_they_may_take() {
    let mut ada = seat(1);
    ada.skills = vec![("billing".into(), 1)];
    let mut needs_level_three = need(1);
    needs_level_three.skills = vec![billing(3)];
    needs_level_three.priority = Level::Urgent;
    let mut high = need(2);
    high.priority = Level::High;
    let normal = need(3);
    let waiting = vec![normal, needs_level_three, high];
    assert_eq!(next_for(&ada, &waiting).map(|need| need.ticket), Some(TicketId(2)));
    ada.presence = Presence::Away;
    assert_eq!(next_for(&ada, &waiting), None);
}

#[test]
fn a_backlog_goes_out_in_order_until_capacity_runs_out() {
    let mut only = seat(1);
    only.slots = vec![Slots { channel: Channel::Chat, capacity: 2, load: 0 }];
    let mut seats = vec![only];
    let mut waiting = Vec::new();
    for ticket in 1..=4 {
        let mut chat = need(ticket);
        chat.channel = Channel::Chat;
        if ticket == 4 {
            chat.priority = Level::Urgent;
        }
        waiting.push(chat);
    }
    let mut sequence = 10;
    let decisions = hand_out(&waiting, &mut seats, &mut sequence);
    let handed: Vec<i64> = decisions.iter().map(|decision| decision.ticket.0).collect();
    assert_eq!(handed, vec![4, 1], "the urgent one first, then the longest waiting");
    assert_eq!(decisions[1].why.to_string(), "least load 1/2");
    assert_eq!((seats[0].slots[0].load, seats[0].last_assigned, sequence), (2, 12, 12));
}

const CHANNELS: [Channel; 3] = [Channel::Email, Channel::Chat, Channel::Whatsapp];
const SKILLS: [&str; 3] = ["billing", "shipping", "tech"];
const LANGUAGES: [&str; 3] = ["en", "de", "fr"];

fn arbitrary_seat() -> impl Strategy<Value = Seat> {
    (
        1..1000i64,
        proptest::collection::vec((0..3usize, 1..=MAX_SKILL_LEVEL), 0..3),
        proptest::collection::vec(0..3usize, 1..3),
        proptest::collection::vec((0..3usize, 0..4u32, 0..6u32), 0..3),
        prop_oneof![Just(Presence::Online), Just(Presence::Away), Just(Presence::Offline)],
        any::<bool>(),
        0..5u64,
    )
        .prop_map(|(agent, skills, languages, slots, presence, on_shift, last_assigned)| {
            let mut channel_slots: Vec<Slots> = Vec::new();
            for (channel, capacity, load) in slots {
                if channel_slots.iter().all(|slots| slots.channel != CHANNELS[channel]) {
                    channel_slots.push(Slots { channel: CHANNELS[channel], capacity, load });
                }
            }
            Seat {
                agent: AgentId(agent),
                skills: skills.into_iter().map(|(skill, level)| (SKILLS[skill].to_owned(), level)).collect(),
                languages: languages.into_iter().map(|language| LANGUAGES[language].to_owned()).collect(),
                slots: channel_slots,
                presence,
                on_shift,
                last_assigned,
            }
        })
}

fn arbitrary_need() -> impl Strategy<Value = Need> {
    (
        1..100_000i64,
        0..3usize,
        proptest::collection::vec((0..3usize, 1..=MAX_SKILL_LEVEL), 0..2),
        proptest::option::of(0..3usize),
        0..4usize,
        proptest::option::of(0..1_000_000i64),
        0..1_000_000i64,
        proptest::option::of(1..1000i64),
    )
        .prop_map(|(ticket, channel, skills, language, priority, due, waiting_since, previous)| Need {
            ticket: TicketId(ticket),
            channel: CHANNELS[channel],
            skills: skills
                .into_iter()
                .map(|(skill, level)| SkillNeed { name: SKILLS[skill].to_owned(), level })
                .collect(),
            language: language.map(|language| LANGUAGES[language].to_owned()),
            priority: Level::ALL[priority],
            due: due.map(Timestamp),
            waiting_since: Timestamp(waiting_since),
            previous_owner: previous.map(AgentId),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Through the router no agent goes over capacity (one already over,
    /// put there by an admin, gets nothing), every assignment is to an
    /// eligible agent, no ticket goes out twice, and once the backlog is
    /// handed out no waiting ticket has an eligible agent with room.
    #[test]
    fn no_agent_is_overloaded_and_no_eligible_ticket_waits_while_an_eligible_agent_has_room(
        seats in proptest::collection::vec(arbitrary_seat(), 0..12),
        needs in proptest::collection::vec(arbitrary_need(), 0..60),
    ) {
        let mut seats: Vec<Seat> = seats;
        seats.sort_by_key(|seat| seat.agent);
        seats.dedup_by_key(|seat| seat.agent);
        let mut waiting: Vec<Need> = needs;
        waiting.sort_by_key(|need| need.ticket);
        waiting.dedup_by_key(|need| need.ticket);
        let before = seats.clone();
        let mut sequence = 5;
        let decisions = hand_out(&waiting, &mut seats, &mut sequence);

        let mut given: HashMap<(AgentId, Channel), u32> = HashMap::new();
        let mut handed = std::collections::HashSet::new();
        for decision in &decisions {
            prop_assert!(handed.insert(decision.ticket), "ticket {} went out twice", decision.ticket);
            let need = waiting.iter().find(|need| need.ticket == decision.ticket).unwrap();
            *given.entry((decision.agent, need.channel)).or_default() += 1;
        }
        for (seat, was) in seats.iter().zip(&before) {
            for (slots, slots_before) in seat.slots.iter().zip(&was.slots) {
                let added = given.get(&(seat.agent, slots.channel)).copied().unwrap_or(0);
                prop_assert_eq!(slots.load, slots_before.load + added);
                if added > 0 {
                    prop_assert!(slots.load <= slots.capacity, "{:?} over capacity on {:?}", seat.agent, slots.channel);
                }
            }
        }
        for need in waiting.iter().filter(|need| !handed.contains(&need.ticket)) {
            for seat in &seats {
                prop_assert!(
                    eligibility(seat, need).is_err(),
                    "ticket {} waits while {:?} could take it", need.ticket, seat.agent
                );
            }
        }
        prop_assert_eq!(sequence, 5 + decisions.len() as u64);
    }

    /// A single decision agrees with the backlog's first one, and is always
    /// to an eligible agent.
    #[test]
    fn a_decision_is_always_to_an_eligible_agent(
        seats in proptest::collection::vec(arbitrary_seat(), 0..12),
        need in arbitrary_need(),
    ) {
        let mut seats: Vec<Seat> = seats;
        seats.sort_by_key(|seat| seat.agent);
        seats.dedup_by_key(|seat| seat.agent);
        match choose_agent(&need, &seats) {
            Some(decision) => {
                let seat = seats.iter().find(|seat| seat.agent == decision.agent).unwrap();
                prop_assert_eq!(eligibility(seat, &need), Ok(()));
            }
            None => prop_assert!(seats.iter().all(|seat| eligibility(seat, &need).is_err())),
        }
    }
}
