//! `rapport bench --routing AGENTS`: the router's decisions, in process (the
//! router is a pure function in core; the store's part is measured with the
//! assignments). Seeds AGENTS seats (skills with levels, languages, channels
//! with capacities and loads, presence, shifts) and `--routing-tickets`
//! waiting tickets from a fixed seed, then times `--queries` decisions of each
//! kind: a push (which agent a ticket goes to, among every seat) and a pull
//! (which waiting ticket an agent takes next, among every ticket), and one
//! hand-out of the whole backlog.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rapport_core::priority::Level;
use rapport_core::routing::{Need, Presence, Seat, SkillNeed, Slots, choose_agent, hand_out, next_for};
use rapport_core::ticket::Channel;
use rapport_core::{AgentId, TicketId, Timestamp};
use serde::Serialize;

use super::{millis, percentile, round1};

const SKILLS: [&str; 8] = ["billing", "refunds", "shipping", "returns", "tech", "accounts", "api", "mobile"];
const LANGUAGES: [&str; 5] = ["en", "de", "fr", "es", "pt"];
const CHANNELS: [(Channel, u32); 4] =
    [(Channel::Email, 12), (Channel::Chat, 3), (Channel::Whatsapp, 6), (Channel::Phone, 1)];

/// What the routing benchmark measured.
#[derive(Debug, Serialize)]
pub struct RoutingReport {
    agents: usize,
    tickets: usize,
    decisions: usize,
    /// Push: one ticket, every seat considered.
    push_p50_ms: f64,
    push_p99_ms: f64,
    /// Pull: one agent, every waiting ticket considered.
    pull_p50_ms: f64,
    pull_p99_ms: f64,
    /// The whole backlog handed out at once.
    hand_out_ms: f64,
    handed_out: usize,
}

impl RoutingReport {
    /// The figures as a table.
    pub fn table(&self) -> String {
        format!(
            "Routing among {} agents and {} waiting tickets ({} decisions of each kind)\n\
             push (a ticket to an agent):   p50 {:.3} ms   p99 {:.3} ms\n\
             pull (an agent's next ticket): p50 {:.3} ms   p99 {:.3} ms\n\
             hand out the backlog: {:.1} ms ({} tickets assigned)\n",
            self.agents,
            self.tickets,
            self.decisions,
            self.push_p50_ms,
            self.push_p99_ms,
            self.pull_p50_ms,
            self.pull_p99_ms,
            self.hand_out_ms,
            self.handed_out,
        )
    }
}

fn seat(rng: &mut StdRng, agent: i64) -> Seat {
    let skills = (0..rng.random_range(1..=3))
        .map(|_| (SKILLS[rng.random_range(0..SKILLS.len())].to_owned(), rng.random_range(1..=5)))
        .collect();
    let mut languages = vec!["en".to_owned()];
    if rng.random_bool(0.4) {
        languages.push(LANGUAGES[rng.random_range(1..LANGUAGES.len())].to_owned());
    }
    let mut slots = Vec::new();
    for (channel, capacity) in CHANNELS {
        if rng.random_bool(0.7) {
            slots.push(Slots { channel, capacity, load: rng.random_range(0..=capacity) });
        }
    }
    let presence = match rng.random_range(0..10) {
        0 => Presence::Offline,
        1 => Presence::Away,
        _ => Presence::Online,
    };
    Seat { agent: AgentId(agent), skills, languages, slots, presence, on_shift: rng.random_bool(0.9), last_assigned: 0 }
}

fn need(rng: &mut StdRng, ticket: i64) -> Need {
    let skills = (0..rng.random_range(0..=2))
        .map(|_| SkillNeed {
            name: SKILLS[rng.random_range(0..SKILLS.len())].to_owned(),
            level: rng.random_range(1..=3),
        })
        .collect();
    Need {
        ticket: TicketId(ticket),
        channel: CHANNELS[rng.random_range(0..CHANNELS.len())].0,
        skills,
        language: rng.random_bool(0.3).then(|| LANGUAGES[rng.random_range(0..LANGUAGES.len())].to_owned()),
        priority: Level::ALL[rng.random_range(0..Level::ALL.len())],
        due: rng.random_bool(0.8).then(|| Timestamp(rng.random_range(0..86_400_000))),
        waiting_since: Timestamp(rng.random_range(0..86_400_000)),
        previous_owner: rng.random_bool(0.2).then(|| AgentId(rng.random_range(1..=1000))),
    }
}

/// Runs the benchmark.
pub fn run(agents: usize, tickets: usize, decisions: usize) -> RoutingReport {
    let mut rng = StdRng::seed_from_u64(19);
    let seats: Vec<Seat> = (1..=agents as i64).map(|agent| seat(&mut rng, agent)).collect();
    let waiting: Vec<Need> = (1..=tickets as i64).map(|ticket| need(&mut rng, ticket)).collect();
    let mut push = Vec::with_capacity(decisions);
    let mut pull = Vec::with_capacity(decisions);
    let mut chosen = 0usize;
    for round in 0..decisions {
        let ticket = &waiting[round % waiting.len()];
        let started = Instant::now();
        chosen += usize::from(std::hint::black_box(choose_agent(ticket, &seats)).is_some());
        push.push(started.elapsed());
        let seat = &seats[round % seats.len()];
        let started = Instant::now();
        chosen += usize::from(std::hint::black_box(next_for(seat, &waiting)).is_some());
        pull.push(started.elapsed());
    }
    std::hint::black_box(chosen);
    push.sort();
    pull.sort();
    let mut all = seats.clone();
    let mut sequence = 0;
    let started = Instant::now();
    let handed = hand_out(&waiting, &mut all, &mut sequence);
    let hand_out_ms = started.elapsed();
    let p = |sorted: &[Duration], percent| percentile(sorted, percent).map_or(0.0, millis);
    RoutingReport {
        agents,
        tickets,
        decisions,
        push_p50_ms: p(&push, 50),
        push_p99_ms: p(&push, 99),
        pull_p50_ms: p(&pull, 50),
        pull_p99_ms: p(&pull, 99),
        hand_out_ms: round1(hand_out_ms.as_secs_f64() * 1000.0),
        handed_out: handed.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_decides_and_hands_out_within_capacity() {
        let report = run(20, 200, 50);
        assert_eq!((report.agents, report.tickets, report.decisions), (20, 200, 50));
        assert!(report.handed_out > 0 && report.handed_out < 200, "{report:?}");
        assert!(report.push_p99_ms >= report.push_p50_ms && report.pull_p99_ms >= report.pull_p50_ms);
        assert!(report.table().contains("push (a ticket to an agent)"));
    }
}
