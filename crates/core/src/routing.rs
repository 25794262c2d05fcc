//! Routing: which agent a waiting ticket goes to, and which waiting ticket an
//! agent takes next. Pure: the store reads the seats (agents with their
//! skills, languages, channels, capacity, load, presence and shift) and the
//! waiting tickets, asks here, and writes the assignment with its reason.
//!
//! An agent is **eligible** for a ticket when they may take its channel, have
//! every skill it needs at the level it needs, speak its language, are online
//! and on shift, and are under their capacity on that channel. Tickets go out
//! most urgent first (priority, then the earliest service-level due time, then
//! the longest wait); each to the customer's previous owner when that agent is
//! eligible, else to the eligible agent with the least load (the smallest share
//! of their capacity, then the fewest tickets), else round robin among equals
//! (the one whose last assignment is oldest). Only tickets whose clock runs
//! (new and open) count toward load: a ticket waiting on the customer does not
//! hold an agent's place.

mod why;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::ids::{AgentId, TicketId};
use crate::priority::Level;
use crate::ticket::{Channel, Status};
use crate::time::Timestamp;

pub use why::Why;

/// The highest skill level.
pub const MAX_SKILL_LEVEL: u8 = 5;

/// A skill a ticket needs, at least at `level` (1 to [`MAX_SKILL_LEVEL`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillNeed {
    /// The skill's name, such as `billing`.
    pub name: String,
    /// The lowest level that will do.
    pub level: u8,
}

/// What a waiting ticket needs, and how urgent it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The ticket.
    pub ticket: TicketId,
    /// Its channel: the agent must be allowed on it and have room on it.
    pub channel: Channel,
    /// The skills it needs.
    pub skills: Vec<SkillNeed>,
    /// The language the customer writes in (a primary tag such as `de`), when known.
    pub language: Option<String>,
    /// Its priority.
    pub priority: Level,
    /// When its earliest running service-level target falls due, if any.
    pub due: Option<Timestamp>,
    /// Since when it has waited for an agent.
    pub waiting_since: Timestamp,
    /// The agent who last owned a ticket of this customer, if any.
    pub previous_owner: Option<AgentId>,
}

/// Whether an agent can be offered work now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Working, and offered tickets.
    Online,
    /// Signed in but away (a break, a meeting): offered nothing.
    Away,
    /// Not signed in.
    Offline,
}

/// How many tickets of one channel an agent takes at once, and holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    /// The channel.
    pub channel: Channel,
    /// How many at once.
    pub capacity: u32,
    /// How many they hold now whose clock runs (new or open).
    pub load: u32,
}

impl Slots {
    /// Room for one more.
    pub fn has_room(&self) -> bool {
        self.load < self.capacity
    }
}

/// An agent as routing sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    /// Who.
    pub agent: AgentId,
    /// Their skills with their levels (1 to [`MAX_SKILL_LEVEL`]).
    pub skills: Vec<(String, u8)>,
    /// The languages they answer in, as primary tags (`en`, `de`).
    pub languages: Vec<String>,
    /// The channels they take, each with its capacity and load; a channel
    /// not listed is one they are not routed.
    pub slots: Vec<Slots>,
    /// Online, away or offline.
    pub presence: Presence,
    /// Whether their schedule has them working now.
    pub on_shift: bool,
    /// The sequence number of their last assignment by the router (0: never),
    /// for round robin among equals.
    pub last_assigned: u64,
}

impl Seat {
    /// Their slots on `channel`, if they take it.
    pub fn slots(&self, channel: Channel) -> Option<&Slots> {
        self.slots.iter().find(|slots| slots.channel == channel)
    }

    fn slots_mut(&mut self, channel: Channel) -> Option<&mut Slots> {
        self.slots.iter_mut().find(|slots| slots.channel == channel)
    }

    /// Their level in `skill` (0 when they do not have it).
    pub fn level(&self, skill: &str) -> u8 {
        self.skills.iter().find(|(name, _)| name == skill).map_or(0, |(_, level)| *level)
    }

    /// Whether they answer in `language` (matched on the primary tag, so
    /// `de-AT` is answered by a `de` speaker).
    pub fn speaks(&self, language: &str) -> bool {
        let wanted = primary_subtag(language);
        self.languages.iter().any(|spoken| primary_subtag(spoken).eq_ignore_ascii_case(wanted))
    }
}

/// A language tag's primary subtag as written: `de-AT` → `de`.
fn primary_subtag(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or_default().trim()
}

/// A language tag's primary subtag, lower-cased: `de-AT` → `de`.
pub fn primary_tag(tag: &str) -> String {
    primary_subtag(tag).to_ascii_lowercase()
}

/// Why an agent may not take a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligible {
    /// They are not routed the ticket's channel.
    Channel(Channel),
    /// They lack a skill, or its level.
    Skill {
        /// The skill.
        name: String,
        /// The level the ticket needs.
        needed: u8,
        /// Theirs (0: none).
        theirs: u8,
    },
    /// They do not speak the customer's language.
    Language(String),
    /// They are away or offline.
    NotOnline,
    /// Their schedule has them off now.
    OffShift,
    /// They are at (or over) their capacity on the channel.
    Full {
        /// What they hold.
        load: u32,
        /// What they take at once.
        capacity: u32,
    },
}

/// Whether `seat` may take the ticket `need` describes now, or why not.
pub fn eligibility(seat: &Seat, need: &Need) -> Result<(), Ineligible> {
    let Some(slots) = seat.slots(need.channel) else { return Err(Ineligible::Channel(need.channel)) };
    for skill in &need.skills {
        let theirs = seat.level(&skill.name);
        if theirs < skill.level {
            return Err(Ineligible::Skill { name: skill.name.clone(), needed: skill.level, theirs });
        }
    }
    if let Some(language) = &need.language
        && !seat.speaks(language)
    {
        return Err(Ineligible::Language(language.clone()));
    }
    if seat.presence != Presence::Online {
        return Err(Ineligible::NotOnline);
    }
    if !seat.on_shift {
        return Err(Ineligible::OffShift);
    }
    if !slots.has_room() {
        return Err(Ineligible::Full { load: slots.load, capacity: slots.capacity });
    }
    Ok(())
}

/// Whether a ticket in `status` counts toward its owner's load: only while
/// its clock runs for us (new, open).
pub fn counts_toward_load(status: Status) -> bool {
    matches!(status, Status::New | Status::Open)
}

/// The order waiting tickets go out in: higher priority first, then the
/// earliest due time (a ticket with none after those with one), then the
/// longest wait, then the lower number.
pub fn ticket_order(a: &Need, b: &Need) -> Ordering {
    b.priority
        .cmp(&a.priority)
        .then_with(|| match (a.due, b.due) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| a.waiting_since.cmp(&b.waiting_since))
        .then_with(|| a.ticket.cmp(&b.ticket))
}

/// Which of two seats is less loaded on `channel`: the smaller share of
/// capacity, then fewer tickets. Equal seats are for round robin to split.
fn load_share_order(a: &Seat, b: &Seat, channel: Channel) -> Ordering {
    let load = |seat: &Seat| seat.slots(channel).map_or((0, 1), |slots| (slots.load, slots.capacity.max(1)));
    let ((a_load, a_capacity), (b_load, b_capacity)) = (load(a), load(b));
    let share = (u64::from(a_load) * u64::from(b_capacity)).cmp(&(u64::from(b_load) * u64::from(a_capacity)));
    share.then_with(|| a_load.cmp(&b_load))
}

/// [`load_share_order`], then round robin: the older last assignment, then the lower id.
fn load_order(a: &Seat, b: &Seat, channel: Channel) -> Ordering {
    load_share_order(a, b, channel)
        .then_with(|| a.last_assigned.cmp(&b.last_assigned))
        .then_with(|| a.agent.cmp(&b.agent))
}

/// A routing decision: this agent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The ticket.
    pub ticket: TicketId,
    /// The agent it goes to.
    pub agent: AgentId,
    /// Why them, as the ticket's history shows it.
    pub why: Why,
}

/// The agent the ticket goes to among `seats`, or none when nobody eligible
/// has room. The customer's previous owner wins when eligible.
pub fn choose_agent(need: &Need, seats: &[Seat]) -> Option<Decision> {
    let choice = choose_index(need, seats)?;
    Some(decide(need, &seats[choice.index], choice))
}

/// The seat chosen, and how.
#[derive(Debug, Clone, Copy)]
struct Choice {
    index: usize,
    previous_owner: bool,
    /// Another eligible seat was as loaded: round robin decided.
    round_robin: bool,
}

fn choose_index(need: &Need, seats: &[Seat]) -> Option<Choice> {
    if let Some(previous) = need.previous_owner
        && let Some(index) = seats.iter().position(|seat| seat.agent == previous)
        && eligibility(&seats[index], need).is_ok()
    {
        return Some(Choice { index, previous_owner: true, round_robin: false });
    }
    let mut best: Option<Choice> = None;
    for (index, seat) in seats.iter().enumerate() {
        if eligibility(seat, need).is_err() {
            continue;
        }
        best = Some(match best {
            None => Choice { index, previous_owner: false, round_robin: false },
            Some(current) => match load_share_order(seat, &seats[current.index], need.channel) {
                Ordering::Less => Choice { index, previous_owner: false, round_robin: false },
                Ordering::Greater => current,
                Ordering::Equal => {
                    let wins = load_order(seat, &seats[current.index], need.channel) == Ordering::Less;
                    Choice { index: if wins { index } else { current.index }, previous_owner: false, round_robin: true }
                }
            },
        });
    }
    best
}

fn decide(need: &Need, seat: &Seat, choice: Choice) -> Decision {
    let slots = seat.slots(need.channel).copied();
    Decision {
        ticket: need.ticket,
        agent: seat.agent,
        why: Why {
            skills: need.skills.iter().map(|skill| (skill.name.clone(), seat.level(&skill.name))).collect(),
            language: need.language.as_ref().map(|language| primary_tag(language)),
            load: slots.map_or(0, |slots| slots.load),
            capacity: slots.map_or(0, |slots| slots.capacity),
            previous_owner: choice.previous_owner,
            round_robin: choice.round_robin,
        },
    }
}

/// The ticket `seat` should take next ("next best ticket for me"): the first,
/// in [`ticket_order`], that they are eligible for. Handing it to them alone
/// is the store's part.
pub fn next_for<'a>(seat: &Seat, waiting: &'a [Need]) -> Option<&'a Need> {
    waiting.iter().filter(|need| eligibility(seat, need).is_ok()).min_by(|a, b| ticket_order(a, b))
}

/// Hands out a backlog at once (an agent came online or freed capacity):
/// the tickets in [`ticket_order`], each to [`choose_agent`], counting each
/// assignment into the seat's load and round robin as it goes. `sequence` is
/// the last assignment's number; it is advanced. A ticket nobody eligible has
/// room for stays waiting, and once this returns, none that waits has an
/// eligible agent with room.
pub fn hand_out(waiting: &[Need], seats: &mut [Seat], sequence: &mut u64) -> Vec<Decision> {
    let mut order: Vec<&Need> = waiting.iter().collect();
    order.sort_by(|a, b| ticket_order(a, b));
    // How many seats can still take a ticket of each channel: once none can,
    // the rest of that channel's tickets wait without a search.
    let mut room: HashMap<Channel, usize> = HashMap::new();
    for seat in seats.iter().filter(|seat| seat.presence == Presence::Online && seat.on_shift) {
        for slots in seat.slots.iter().filter(|slots| slots.has_room()) {
            *room.entry(slots.channel).or_default() += 1;
        }
    }
    let mut decisions = Vec::new();
    for need in order {
        let Some(open) = room.get_mut(&need.channel).filter(|open| **open > 0) else { continue };
        let Some(choice) = choose_index(need, seats) else { continue };
        let decision = decide(need, &seats[choice.index], choice);
        *sequence += 1;
        let seat = &mut seats[choice.index];
        seat.last_assigned = *sequence;
        if let Some(slots) = seat.slots_mut(need.channel) {
            slots.load += 1;
            if !slots.has_room() {
                *open -= 1;
            }
        }
        decisions.push(decision);
    }
    decisions
}
