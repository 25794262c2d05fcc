//! What a firing's actions do to a ticket.
//!
//! Actions apply in order, each to the ticket as the previous ones left it:
//! two `escalate` actions go up two levels, a `raise_priority` after a
//! `set_priority` raises from the new priority. An action that would change
//! nothing (the priority is already at the top, the tag is already there)
//! gives no effect, so it causes no event.

use serde::{Deserialize, Serialize};

use super::model::{Action, EscalationPlan, Firing, TicketSnapshot};
use super::template::{TemplateData, Values, render_values};
use crate::ids::{AgentId, TeamId};
use crate::priority::Level;
use crate::time::{MINUTE, Timestamp};

/// A change to make or a message to send, for the adapter to carry out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Change the priority; `reason` names the rule (`rule “X”`).
    SetPriority {
        /// The new priority.
        to: Level,
        /// Why, for the event log.
        reason: String,
    },
    /// Move the ticket to a team.
    SetTeam(TeamId),
    /// Change the escalation level, and the team when the level has one.
    SetEscalationLevel {
        /// The new level.
        level: u8,
        /// The level's team; `None` keeps the ticket's team.
        team: Option<TeamId>,
    },
    /// Notify an agent.
    Notify {
        /// Who.
        agent: AgentId,
        /// The rendered message.
        message: String,
    },
    /// Send the customer a message on their channel.
    SendUpdate {
        /// The rendered message.
        text: String,
    },
    /// Create a task on the ticket.
    CreateTask {
        /// Its title.
        title: String,
        /// When it is due.
        due_at: Timestamp,
    },
    /// Add a tag.
    AddTag(String),
}

/// The effects of a firing on the ticket as it is now. Escalating from level
/// n goes to level n + 1 with that level's team while the plan has one; past
/// the last level it notifies the on-call supervisor. Notifying the owner of
/// an unowned ticket notifies the on-call supervisor instead; with nobody on
/// call, a notification has no effect.
pub fn effects(
    firing: &Firing,
    rule_name: &str,
    ticket: &TicketSnapshot,
    plan: &EscalationPlan,
    template: &TemplateData,
    now: Timestamp,
) -> Vec<Effect> {
    let mut priority = ticket.priority;
    let mut team = ticket.team;
    let mut level = ticket.escalation_level;
    let mut added_tags: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    let reason = || format!("rule “{rule_name}”");
    for action in &firing.actions {
        let values = Values { id: ticket.id, status: ticket.status, priority, data: template };
        match action {
            Action::NotifyOwner { message } => {
                if let Some(agent) = ticket.owner.or(plan.on_call) {
                    out.push(Effect::Notify { agent, message: render_values(message, &values) });
                }
            }
            Action::NotifySupervisor { message } => {
                if let Some(agent) = plan.on_call {
                    out.push(Effect::Notify { agent, message: render_values(message, &values) });
                }
            }
            Action::RaisePriority => {
                if let Some(higher) = Level::from_rank(priority.rank() + 1) {
                    priority = higher;
                    out.push(Effect::SetPriority { to: higher, reason: reason() });
                }
            }
            Action::SetPriority { priority: to } => {
                if *to != priority {
                    priority = *to;
                    out.push(Effect::SetPriority { to: *to, reason: reason() });
                }
            }
            Action::MoveToTeam { team: to } => {
                if team != Some(*to) {
                    team = Some(*to);
                    out.push(Effect::SetTeam(*to));
                }
            }
            Action::Escalate => {
                let next = usize::from(level);
                if next < plan.levels.len() {
                    level += 1;
                    let level_team = plan.levels[next];
                    team = level_team.or(team);
                    out.push(Effect::SetEscalationLevel { level, team: level_team });
                } else if let Some(agent) = plan.on_call {
                    let message = format!(
                        "Ticket #{} is past the last escalation level (level {level}); escalated by rule “{rule_name}”",
                        ticket.id
                    );
                    out.push(Effect::Notify { agent, message });
                }
            }
            Action::SetEscalationLevel { level: to } => {
                if *to != level {
                    level = *to;
                    let level_team =
                        usize::from(*to).checked_sub(1).and_then(|index| plan.levels.get(index)).copied().flatten();
                    team = level_team.or(team);
                    out.push(Effect::SetEscalationLevel { level: *to, team: level_team });
                }
            }
            Action::AddTag { tag } => {
                if !ticket.tags.contains(tag) && !added_tags.contains(&tag.as_str()) {
                    added_tags.push(tag);
                    out.push(Effect::AddTag(tag.clone()));
                }
            }
            Action::SendUpdate { template } => {
                out.push(Effect::SendUpdate { text: render_values(template, &values) });
            }
            Action::CreateTask { title, due_minutes } => {
                let due_at = now.plus_millis(due_minutes.saturating_mul(MINUTE));
                out.push(Effect::CreateTask { title: title.clone(), due_at });
            }
        }
    }
    out
}
