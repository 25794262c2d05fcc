//! The chat desk: the queue of waiting chats and the agents' seats.
//!
//! Chats wait first come, first served (by their arrival number, so a chat
//! handed back when its agent goes offline returns to its old place). An
//! agent online has a capacity (how many chats at once); [`Desk::assign`]
//! gives the oldest waiting chat to the least-loaded agent with a free slot
//! (ties: the lowest agent id), and repeats until the queue is empty or every
//! slot is taken. Two invariants hold after every `assign` and are property
//! tested: no agent holds more chats than their capacity, and no chat waits
//! while a slot is free. An agent who is away keeps their chats and gets no
//! new ones until they are back; their slots do not count as free.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::ChatId;
use crate::ids::AgentId;

/// One agent's seat: capacity and the chats they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seat {
    capacity: usize,
    chats: Vec<ChatId>,
    away: bool,
}

/// The queue and the seats.
#[derive(Debug, Clone, Default)]
pub struct Desk {
    /// Waiting chats with their arrival numbers, in arrival order.
    queue: VecDeque<(u64, ChatId)>,
    /// Arrival number of every chat on the desk (waiting or held).
    arrivals: HashMap<ChatId, u64>,
    /// Agents online (ordered, so ties break the same way every time).
    seats: BTreeMap<AgentId, Seat>,
    /// Which agent holds a chat.
    holders: HashMap<ChatId, AgentId>,
    next_arrival: u64,
}

impl Desk {
    /// An empty desk.
    pub fn new() -> Desk {
        Desk::default()
    }

    /// A chat starts waiting, at the end of the queue; returns its position
    /// (1 = next). A chat already on the desk keeps its place.
    pub fn enqueue(&mut self, chat: ChatId) -> usize {
        if self.arrivals.contains_key(&chat) {
            return self.position(chat).unwrap_or(0);
        }
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.arrivals.insert(chat, arrival);
        self.queue.push_back((arrival, chat));
        self.queue.len()
    }

    /// The chat's place in the queue (1 = next), if it waits.
    pub fn position(&self, chat: ChatId) -> Option<usize> {
        self.queue.iter().position(|(_, waiting)| *waiting == chat).map(|index| index + 1)
    }

    /// The waiting chats, next first.
    pub fn waiting(&self) -> impl Iterator<Item = ChatId> + '_ {
        self.queue.iter().map(|(_, chat)| *chat)
    }

    /// How many chats wait.
    pub fn waiting_count(&self) -> usize {
        self.queue.len()
    }

    /// The agent holding the chat, if any.
    pub fn holder(&self, chat: ChatId) -> Option<AgentId> {
        self.holders.get(&chat).copied()
    }

    /// The chats an agent holds, oldest assignment first.
    pub fn chats_of(&self, agent: AgentId) -> &[ChatId] {
        self.seats.get(&agent).map_or(&[], |seat| seat.chats.as_slice())
    }

    /// How many agents are online.
    pub fn agents_online(&self) -> usize {
        self.seats.len()
    }

    /// True when the agent is online.
    pub fn is_online(&self, agent: AgentId) -> bool {
        self.seats.contains_key(&agent)
    }

    /// An agent comes online with a capacity (kept if already online).
    pub fn agent_online(&mut self, agent: AgentId, capacity: usize) {
        self.seats.entry(agent).or_insert(Seat { capacity, chats: Vec::new(), away: false });
    }

    /// An agent online steps away (keeping their chats, taking no new ones)
    /// or comes back. Returns false when they are not online.
    pub fn set_away(&mut self, agent: AgentId, away: bool) -> bool {
        match self.seats.get_mut(&agent) {
            Some(seat) => {
                seat.away = away;
                true
            }
            None => false,
        }
    }

    /// True when the agent is online and away.
    pub fn is_away(&self, agent: AgentId) -> bool {
        self.seats.get(&agent).is_some_and(|seat| seat.away)
    }

    /// An agent goes offline; their chats wait again, in their old places.
    /// Returns the chats handed back.
    pub fn agent_offline(&mut self, agent: AgentId) -> Vec<ChatId> {
        let Some(seat) = self.seats.remove(&agent) else { return Vec::new() };
        for chat in &seat.chats {
            self.holders.remove(chat);
            if let Some(arrival) = self.arrivals.get(chat).copied() {
                let at = self.queue.partition_point(|(waiting, _)| *waiting < arrival);
                self.queue.insert(at, (arrival, *chat));
            }
        }
        seat.chats
    }

    /// A chat leaves the desk (ended, or gone to email): out of the queue, or
    /// its slot freed. Returns the agent who held it.
    pub fn finish(&mut self, chat: ChatId) -> Option<AgentId> {
        self.arrivals.remove(&chat);
        self.queue.retain(|(_, waiting)| *waiting != chat);
        let agent = self.holders.remove(&chat)?;
        if let Some(seat) = self.seats.get_mut(&agent) {
            seat.chats.retain(|held| *held != chat);
        }
        Some(agent)
    }

    /// Gives waiting chats to agents with free slots, oldest chat first, each
    /// to the least-loaded agent with a free slot. Returns the assignments made.
    pub fn assign(&mut self) -> Vec<(ChatId, AgentId)> {
        let mut made = Vec::new();
        while let Some(&(_, chat)) = self.queue.front() {
            let free = self
                .seats
                .iter()
                .filter(|(_, seat)| !seat.away && seat.chats.len() < seat.capacity)
                .min_by_key(|(agent, seat)| (seat.chats.len(), **agent))
                .map(|(agent, _)| *agent);
            let Some(agent) = free else { break };
            self.queue.pop_front();
            if let Some(seat) = self.seats.get_mut(&agent) {
                seat.chats.push(chat);
            }
            self.holders.insert(chat, agent);
            made.push((chat, agent));
        }
        made
    }

    /// The free slots of all agents online and not away.
    pub fn free_slots(&self) -> usize {
        self.seats.values().filter(|seat| !seat.away).map(|seat| seat.capacity.saturating_sub(seat.chats.len())).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn least_loaded_agent_gets_the_oldest_chat() {
        let mut desk = Desk::new();
        desk.agent_online(AgentId(1), 2);
        desk.agent_online(AgentId(2), 2);
        for chat in 1..=5 {
            desk.enqueue(ChatId(chat));
        }
        let made = desk.assign();
        assert_eq!(
            made,
            vec![(ChatId(1), AgentId(1)), (ChatId(2), AgentId(2)), (ChatId(3), AgentId(1)), (ChatId(4), AgentId(2))]
        );
        assert_eq!(desk.position(ChatId(5)), Some(1));
        assert_eq!(desk.finish(ChatId(2)), Some(AgentId(2)));
        assert_eq!(desk.assign(), vec![(ChatId(5), AgentId(2))]);
    }

    #[test]
    fn capacity_one_takes_one_chat_and_the_second_waits() {
        let mut desk = Desk::new();
        desk.agent_online(AgentId(7), 1);
        assert_eq!(desk.enqueue(ChatId(1)), 1);
        assert_eq!(desk.enqueue(ChatId(2)), 2);
        assert_eq!(desk.assign(), vec![(ChatId(1), AgentId(7))]);
        assert_eq!(desk.position(ChatId(2)), Some(1));
        assert_eq!(desk.holder(ChatId(1)), Some(AgentId(7)));
    }

    #[test]
    fn an_agent_going_offline_hands_chats_back_in_their_old_places() {
        let mut desk = Desk::new();
        desk.agent_online(AgentId(1), 1);
        desk.enqueue(ChatId(10));
        desk.enqueue(ChatId(11));
        desk.assign();
        assert_eq!(desk.agent_offline(AgentId(1)), vec![ChatId(10)]);
        assert_eq!(desk.waiting().collect::<Vec<_>>(), vec![ChatId(10), ChatId(11)]);
        assert_eq!(desk.holder(ChatId(10)), None);
        assert!(desk.assign().is_empty());
    }

    #[test]
    fn an_agent_away_keeps_their_chats_and_gets_new_ones_only_when_back() {
        let mut desk = Desk::new();
        desk.agent_online(AgentId(1), 2);
        desk.enqueue(ChatId(1));
        assert_eq!(desk.assign(), vec![(ChatId(1), AgentId(1))]);
        assert!(desk.set_away(AgentId(1), true));
        desk.enqueue(ChatId(2));
        assert!(desk.assign().is_empty(), "no new chat while away");
        assert_eq!((desk.chats_of(AgentId(1)), desk.free_slots()), (&[ChatId(1)][..], 0));
        assert!(desk.set_away(AgentId(1), false));
        assert_eq!(desk.assign(), vec![(ChatId(2), AgentId(1))]);
        assert!(!desk.set_away(AgentId(9), true), "an agent offline cannot be away");
    }

    #[test]
    fn enqueueing_twice_keeps_the_place() {
        let mut desk = Desk::new();
        desk.enqueue(ChatId(1));
        desk.enqueue(ChatId(2));
        assert_eq!(desk.enqueue(ChatId(1)), 1);
        assert_eq!(desk.waiting_count(), 2);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Arrive,
        Online(i64, usize),
        Offline(i64),
        Away(i64, bool),
        Finish(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => Just(Op::Arrive),
            2 => (1..6i64, 0..4usize).prop_map(|(agent, capacity)| Op::Online(agent, capacity)),
            1 => (1..6i64).prop_map(Op::Offline),
            1 => (1..6i64, any::<bool>()).prop_map(|(agent, away)| Op::Away(agent, away)),
            3 => (0..40usize).prop_map(Op::Finish),
        ]
    }

    proptest! {
        #[test]
        fn no_agent_over_capacity_and_no_chat_waits_beside_a_free_slot(ops in proptest::collection::vec(op(), 1..80)) {
            let mut desk = Desk::new();
            let mut next_chat = 0;
            let mut assigned_order: Vec<u64> = Vec::new();
            let mut arrival_of: HashMap<ChatId, u64> = HashMap::new();
            for op in ops {
                match op {
                    Op::Arrive => {
                        next_chat += 1;
                        arrival_of.insert(ChatId(next_chat), u64::try_from(next_chat).unwrap());
                        desk.enqueue(ChatId(next_chat));
                    }
                    Op::Online(agent, capacity) => desk.agent_online(AgentId(agent), capacity),
                    Op::Offline(agent) => {
                        desk.agent_offline(AgentId(agent));
                    }
                    Op::Away(agent, away) => {
                        desk.set_away(AgentId(agent), away);
                    }
                    Op::Finish(index) => {
                        let chat = ChatId(i64::try_from(index).unwrap() % (next_chat + 1));
                        desk.finish(chat);
                    }
                }
                let made = desk.assign();
                // Each round hands out the oldest waiting chats first.
                let round: Vec<u64> = made.iter().map(|(chat, _)| arrival_of[chat]).collect();
                prop_assert!(round.windows(2).all(|pair| pair[0] < pair[1]));
                assigned_order.extend(round);
                for (agent, seat) in &desk.seats {
                    prop_assert!(seat.chats.len() <= seat.capacity, "agent {agent} over capacity");
                    for chat in &seat.chats {
                        prop_assert_eq!(desk.holder(*chat), Some(*agent));
                    }
                }
                if desk.waiting_count() > 0 {
                    prop_assert_eq!(desk.free_slots(), 0, "a chat waits while a slot is free");
                }
                // The queue stays in arrival order.
                let waiting: Vec<u64> = desk.waiting().map(|chat| arrival_of[&chat]).collect();
                prop_assert!(waiting.windows(2).all(|pair| pair[0] < pair[1]));
            }
        }
    }
}
