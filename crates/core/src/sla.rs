//! SLA policies and the measurement of their targets.
//!
//! An [`SlaPolicy`] matches tickets by channel, tier, priority, team and tags
//! ([`first_match`]: the first matching policy applies) and sets up to three
//! targets: first response, next response and resolution, each in business
//! time on a [`Calendar`] or in calendar (real) time.
//!
//! [`measure`] is a pure function of the policy, the calendar, the ticket's
//! timeline of [`Happening`]s and `now`. Its rules:
//!
//! - **Clocks pause** while the ticket is on hold, while it is pending when the
//!   policy says `pause_when_pending`, and while it is solved or closed.
//!   Paused time does not count; on resuming, the due time is recomputed from
//!   the resume point with the remaining time.
//! - **First response** runs from creation to the first agent reply. Later
//!   replies never change it.
//! - **Next response** starts at the first customer message after an agent
//!   reply (the oldest unanswered message: further customer messages before
//!   the next reply do not restart it) and is met by the next agent reply. The
//!   state reported is the latest cycle's; when the latest cycle was answered
//!   it is reported as met (or breached) with that reply. Before any cycle has
//!   started (no customer message after an agent reply yet) the target is
//!   omitted from the answer.
//! - **Resolution** runs from creation until the ticket is solved (or closed).
//!   A reopen continues the clock from the elapsed time it had.
//! - **Due time.** While a target runs, `due` is the instant its remaining
//!   time runs out if it keeps running. Once it has run out while running,
//!   `due` is that instant, fixed. While paused (or when met during a pause)
//!   without having run out, `due` is `None`.
//! - **States.** A target is `Breached` as soon as its due time has passed
//!   while it was running and unmet; a target met after its due time is
//!   `Breached` with `met_at` set. Met on or before its due time: `Met`.
//!   Otherwise `Active` while the clock runs and `Paused` while it does not.
//! - `remaining_seconds` is the target minus the elapsed time; it goes
//!   negative once the target is overrun.
//!
//! Happenings after `now` are ignored. Time is counted in whole seconds.

pub mod attainment;
pub mod defaults;
pub mod kept;
pub mod projection;
pub mod scope;
pub mod summary;
pub mod timeline;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, ClockError};
use crate::ids::TeamId;
use crate::priority::{Level, Tier};
use crate::ticket::{Channel, Status};

/// An SLA policy: which tickets it applies to and the targets it sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    /// The policy's name, shown to agents and in reports.
    pub name: String,
    /// Which tickets the policy applies to (empty: every ticket).
    #[serde(default)]
    pub conditions: PolicyMatch,
    /// The targets it sets.
    pub targets: Targets,
    /// Whether the clocks pause while the ticket is pending on the customer.
    #[serde(default = "yes")]
    pub pause_when_pending: bool,
    /// The calendar business-hours targets count on ([`DEFAULT_CALENDAR`] unless named).
    #[serde(default = "default_calendar")]
    pub calendar: String,
}

/// The name of the shipped calendar: Monday to Friday 09:00–17:00 in the
/// team's time zone.
pub const DEFAULT_CALENDAR: &str = "default";

fn default_calendar() -> String {
    DEFAULT_CALENDAR.to_owned()
}

fn yes() -> bool {
    true
}

/// Conditions on a ticket; an empty list matches any value. A ticket matches
/// when it matches every non-empty list; for `tags`, when it has at least one
/// of the listed tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyMatch {
    /// Channels the ticket came in on.
    pub channels: Vec<Channel>,
    /// Customer tiers.
    pub tiers: Vec<Tier>,
    /// Ticket priorities.
    pub priorities: Vec<Level>,
    /// Owning teams (a ticket without a team matches only an empty list).
    pub teams: Vec<TeamId>,
    /// Tags, any one of which matches.
    pub tags: Vec<String>,
}

/// A policy's targets; `None` means the policy does not measure it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Targets {
    /// From creation to the first public agent reply.
    pub first_response: Option<TargetSpec>,
    /// From the oldest unanswered customer message to the next agent reply.
    pub next_response: Option<TargetSpec>,
    /// From creation to solved.
    pub resolution: Option<TargetSpec>,
}

/// One target: an amount of time, in business or calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// The time allowed, in seconds; must be positive.
    pub seconds: i64,
    /// Counted in business time on the calendar (true) or in real time (false).
    pub business_hours: bool,
}

/// What a policy is matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    /// The ticket's channel.
    pub channel: Channel,
    /// The customer's tier.
    pub tier: Tier,
    /// The ticket's priority.
    pub priority: Level,
    /// The owning team, if any.
    pub team: Option<TeamId>,
    /// The ticket's tags.
    pub tags: Vec<String>,
}

/// A policy that cannot be used, naming the bad field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct PolicyError {
    /// The field's path, e.g. `targets.first_response.seconds`.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl SlaPolicy {
    /// Checks the policy: a name, and every target positive.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.name.trim().is_empty() {
            return Err(PolicyError { field: "name".to_owned(), problem: "must not be empty".to_owned() });
        }
        if self.name.chars().count() > 200 {
            return Err(PolicyError { field: "name".to_owned(), problem: "must be at most 200 characters".to_owned() });
        }
        if self.targets.configured().next().is_none() {
            return Err(PolicyError {
                field: "targets".to_owned(),
                problem: "set at least one of first_response, next_response, resolution".to_owned(),
            });
        }
        for (kind, spec) in self.targets.configured() {
            if spec.seconds <= 0 {
                return Err(PolicyError {
                    field: format!("targets.{}.seconds", kind.as_str()),
                    problem: format!("must be positive, got {}", spec.seconds),
                });
            }
        }
        Ok(())
    }

    /// Whether the policy applies to a ticket.
    pub fn matches(&self, ticket: &TicketFacts) -> bool {
        let conditions = &self.conditions;
        fn any_or<T: PartialEq>(list: &[T], value: &T) -> bool {
            list.is_empty() || list.contains(value)
        }
        any_or(&conditions.channels, &ticket.channel)
            && any_or(&conditions.tiers, &ticket.tier)
            && any_or(&conditions.priorities, &ticket.priority)
            && (conditions.teams.is_empty() || ticket.team.is_some_and(|team| conditions.teams.contains(&team)))
            && (conditions.tags.is_empty() || ticket.tags.iter().any(|tag| conditions.tags.contains(tag)))
    }
}

impl Targets {
    /// The configured targets, in the order first response, next response,
    /// resolution.
    pub fn configured(&self) -> impl Iterator<Item = (TargetKind, TargetSpec)> {
        [
            (TargetKind::FirstResponse, self.first_response),
            (TargetKind::NextResponse, self.next_response),
            (TargetKind::Resolution, self.resolution),
        ]
        .into_iter()
        .filter_map(|(kind, spec)| spec.map(|spec| (kind, spec)))
    }
}

/// The first policy in `policies` that matches the ticket.
pub fn first_match<'p>(policies: &'p [SlaPolicy], ticket: &TicketFacts) -> Option<&'p SlaPolicy> {
    policies.iter().find(|policy| policy.matches(ticket))
}

/// Which target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// From creation to the first agent reply.
    FirstResponse,
    /// From the oldest unanswered customer message to the next agent reply.
    NextResponse,
    /// From creation to solved.
    Resolution,
}

impl TargetKind {
    /// The word used in field paths and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::FirstResponse => "first_response",
            TargetKind::NextResponse => "next_response",
            TargetKind::Resolution => "resolution",
        }
    }

    /// The kind [`as_str`](Self::as_str) writes as `word`.
    pub fn parse(word: &str) -> Option<TargetKind> {
        [TargetKind::FirstResponse, TargetKind::NextResponse, TargetKind::Resolution]
            .into_iter()
            .find(|kind| kind.as_str() == word)
    }
}

/// Something that happened to a ticket that the SLA clocks care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening {
    /// The ticket was created (status new).
    Created(Timestamp),
    /// The customer wrote.
    CustomerMessage(Timestamp),
    /// A human agent replied publicly. Automatic acknowledgments and internal
    /// notes are not happenings.
    AgentReply(Timestamp),
    /// The ticket's status changed.
    Status(Timestamp, Status),
}

impl Happening {
    /// When it happened.
    pub fn at(self) -> Timestamp {
        match self {
            Happening::Created(at)
            | Happening::CustomerMessage(at)
            | Happening::AgentReply(at)
            | Happening::Status(at, _) => at,
        }
    }
}

/// A target's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetStatus {
    /// The clock runs.
    Active,
    /// The clock is paused.
    Paused,
    /// Met on or before its due time.
    Met,
    /// Its due time passed while unmet (it may have been met since).
    Breached,
}

impl TargetStatus {
    /// The word used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetStatus::Active => "active",
            TargetStatus::Paused => "paused",
            TargetStatus::Met => "met",
            TargetStatus::Breached => "breached",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s word.
    pub fn parse(word: &str) -> Option<TargetStatus> {
        [TargetStatus::Active, TargetStatus::Paused, TargetStatus::Met, TargetStatus::Breached]
            .into_iter()
            .find(|state| state.as_str() == word)
    }
}

/// A target as measured at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetState {
    /// Which target.
    pub kind: TargetKind,
    /// When its (latest) cycle started: creation, or for next response the
    /// customer message that started it. Names the cycle for fire-once rules.
    pub start: Timestamp,
    /// When it runs (or ran) out; `None` while paused before running out.
    pub due: Option<Timestamp>,
    /// Time counted so far (until `met_at` when met), in seconds.
    pub elapsed_seconds: i64,
    /// The target minus the elapsed time; negative once overrun.
    pub remaining_seconds: i64,
    /// Its state.
    pub state: TargetStatus,
    /// When it was met (also when met late, as `Breached`).
    pub met_at: Option<Timestamp>,
    /// Whether its clock runs at the instant measured (unmet and not
    /// paused); a breached target's clock may run on or be paused.
    pub running: bool,
}

/// Why a measurement has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeasureError {
    /// The policy is invalid.
    #[error("invalid policy: {0}")]
    Policy(#[from] PolicyError),
    /// The timeline does not start with `Created`, or has a second one.
    #[error("happening {index}: the timeline must start with exactly one Created")]
    Created {
        /// 0-based index of the offending happening.
        index: usize,
    },
    /// A happening is earlier than the one before it.
    #[error("happening {index} is earlier than the one before it")]
    OutOfOrder {
        /// 0-based index of the offending happening.
        index: usize,
    },
    /// The calendar cannot compute a due time.
    #[error("calendar: {0}")]
    Clock(#[from] ClockError),
}

/// Measures every configured target of `policy` at `now`, in the order first
/// response, next response, resolution (next response omitted before its
/// first cycle). See the module documentation for the rules.
pub fn measure(
    policy: &SlaPolicy,
    calendar: &Calendar,
    timeline: &[Happening],
    now: Timestamp,
) -> Result<Vec<TargetState>, MeasureError> {
    policy.validate()?;
    let created = check_timeline(timeline)?;
    let timeline: Vec<Happening> = timeline.iter().copied().filter(|happening| happening.at() <= now).collect();
    let now = now.max(created);
    // Status periods: each status holds from its instant until the next one.
    let mut periods = vec![(created, Status::New)];
    periods.extend(timeline.iter().filter_map(|happening| match happening {
        Happening::Status(at, status) => Some((*at, *status)),
        _ => None,
    }));
    let clock = Clock { calendar, periods: &periods, pause_when_pending: policy.pause_when_pending, now };
    let mut states = Vec::new();
    for (kind, spec) in policy.targets.configured() {
        let span = match kind {
            TargetKind::FirstResponse => Some((created, first_reply(&timeline))),
            TargetKind::NextResponse => next_response_cycle(&timeline),
            TargetKind::Resolution => Some((created, solved_at(&periods))),
        };
        if let Some((start, stop)) = span {
            states.push(clock.target(kind, spec, start, stop)?);
        }
    }
    Ok(states)
}

fn check_timeline(timeline: &[Happening]) -> Result<Timestamp, MeasureError> {
    let Some(Happening::Created(created)) = timeline.first() else {
        return Err(MeasureError::Created { index: 0 });
    };
    for (index, pair) in timeline.windows(2).enumerate() {
        if matches!(pair[1], Happening::Created(_)) {
            return Err(MeasureError::Created { index: index + 1 });
        }
        if pair[1].at() < pair[0].at() {
            return Err(MeasureError::OutOfOrder { index: index + 1 });
        }
    }
    Ok(*created)
}

fn first_reply(timeline: &[Happening]) -> Option<Timestamp> {
    timeline.iter().find_map(|happening| match happening {
        Happening::AgentReply(at) => Some(*at),
        _ => None,
    })
}

/// The latest next-response cycle: (start, the reply that met it).
fn next_response_cycle(timeline: &[Happening]) -> Option<(Timestamp, Option<Timestamp>)> {
    let mut replied = false;
    let mut cycle: Option<(Timestamp, Option<Timestamp>)> = None;
    for happening in timeline {
        match *happening {
            Happening::AgentReply(at) => {
                replied = true;
                if let Some((start, None)) = cycle {
                    cycle = Some((start, Some(at)));
                }
            }
            Happening::CustomerMessage(at) if replied && !matches!(cycle, Some((_, None))) => {
                cycle = Some((at, None));
            }
            _ => {}
        }
    }
    cycle
}

/// When the ticket was solved, if it is solved or closed at the end of its periods.
fn solved_at(periods: &[(Timestamp, Status)]) -> Option<Timestamp> {
    let mut solved = None;
    for &(at, status) in periods {
        solved = match status {
            Status::Solved | Status::Closed => solved.or(Some(at)),
            _ => None,
        };
    }
    solved
}

struct Clock<'a> {
    calendar: &'a Calendar,
    periods: &'a [(Timestamp, Status)],
    pause_when_pending: bool,
    now: Timestamp,
}

impl Clock<'_> {
    fn runs(&self, status: Status) -> bool {
        match status {
            Status::New | Status::Open => true,
            Status::Pending => !self.pause_when_pending,
            Status::OnHold | Status::Solved | Status::Closed => false,
        }
    }

    fn measure(&self, spec: TargetSpec, from: Timestamp, to: Timestamp) -> i64 {
        if spec.business_hours { self.calendar.elapsed(from, to) } else { (to.as_second() - from.as_second()).max(0) }
    }

    fn advance(&self, spec: TargetSpec, from: Timestamp, seconds: i64) -> Result<Timestamp, ClockError> {
        if spec.business_hours {
            self.calendar.due(from, seconds)
        } else {
            from.as_second()
                .checked_add(seconds)
                .and_then(|second| Timestamp::from_second(second).ok())
                .ok_or(ClockError::OutOfRange)
        }
    }

    /// The running stretches `[a, b)` of the clock within `[start, end)`.
    fn stretches(&self, start: Timestamp, end: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let mut stretches = Vec::new();
        for (index, &(at, status)) in self.periods.iter().enumerate() {
            let until = self.periods.get(index + 1).map_or(end, |next| next.0.min(end));
            let from = at.max(start);
            if self.runs(status) && from < until {
                stretches.push((from, until));
            }
        }
        stretches
    }

    fn status_at(&self, instant: Timestamp) -> Status {
        self.periods.iter().rev().find(|(at, _)| *at <= instant).map_or(Status::New, |&(_, status)| status)
    }

    fn target(
        &self,
        kind: TargetKind,
        spec: TargetSpec,
        start: Timestamp,
        stop: Option<Timestamp>,
    ) -> Result<TargetState, ClockError> {
        let end = stop.unwrap_or(self.now).max(start);
        let mut elapsed = 0;
        let mut ran_out: Option<Timestamp> = None;
        let mut last: Option<(Timestamp, Timestamp, i64)> = None;
        for (from, to) in self.stretches(start, end) {
            let length = self.measure(spec, from, to);
            let remaining = spec.seconds - elapsed;
            if ran_out.is_none() && length >= remaining {
                let due = self.advance(spec, from, remaining)?;
                if due < to {
                    ran_out = Some(due);
                }
            }
            last = Some((from, to, elapsed));
            elapsed += length;
        }
        // Where the clock is running at `end`, the due time is projected
        // from the start of the current stretch.
        let running_from = match (stop, last) {
            (_, Some((from, to, before))) if to == end && (stop.is_some() || self.runs(self.status_at(end))) => {
                Some((from, before))
            }
            (None, _) if self.runs(self.status_at(end)) => Some((end, elapsed)),
            _ => None,
        };
        let due = match (ran_out, running_from) {
            (Some(due), _) => Some(due),
            (None, Some((from, before))) => Some(self.advance(spec, from, spec.seconds - before)?),
            (None, None) => None,
        };
        let state = match (ran_out, stop) {
            (Some(_), _) => TargetStatus::Breached,
            (None, Some(_)) => TargetStatus::Met,
            (None, None) if running_from.is_some() => TargetStatus::Active,
            (None, None) => TargetStatus::Paused,
        };
        Ok(TargetState {
            kind,
            start,
            due,
            elapsed_seconds: elapsed,
            remaining_seconds: spec.seconds - elapsed,
            state,
            met_at: stop,
            running: stop.is_none() && running_from.is_some(),
        })
    }
}

#[cfg(test)]
mod tests;
