//! Agents, roles and who may see and do what.
//!
//! Visibility is decided here once: `admin` and `supervisor` see every ticket;
//! an `agent` sees the tickets of their teams, unassigned tickets and the
//! tickets they own. A ticket a caller may not see is reported as missing by
//! the API, so its existence does not leak.

use crate::ids::{AgentId, TeamId};
use crate::ticket::Ticket;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an agent is allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Tickets of their teams, unassigned tickets and tickets they own.
    Agent,
    /// Every ticket, teams and their settings.
    Supervisor,
    /// Everything, including configuration.
    Admin,
}

impl Role {
    /// The word used in JSON, the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = crate::ticket::UnknownWord;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        [Role::Agent, Role::Supervisor, Role::Admin].into_iter().find(|role| role.as_str() == value).ok_or_else(|| {
            crate::ticket::UnknownWord { kind: "role", value: value.to_owned(), expected: "admin, supervisor, agent" }
        })
    }
}

/// A person who answers tickets or administers Rapport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Id.
    pub id: AgentId,
    /// Sign-in email address, lower-cased, unique.
    pub email: String,
    /// Display name, shown to customers on replies.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Teams they belong to.
    pub teams: Vec<TeamId>,
    /// Skills used by routing.
    pub skills: Vec<String>,
    /// Languages they answer in (BCP 47 tags such as `en`, `de`).
    pub languages: Vec<String>,
    /// False once deactivated; deactivated agents cannot sign in.
    pub active: bool,
    /// How many live chats they take at once; `None`: the configured default.
    pub chat_capacity: Option<u32>,
    /// When the agent was created.
    pub created_at: Timestamp,
}

/// The caller of an operation, as far as access rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// Who.
    pub agent: AgentId,
    /// Their role.
    pub role: Role,
    /// Their teams.
    pub teams: Vec<TeamId>,
}

impl Viewer {
    /// The viewer for an agent record.
    pub fn of(agent: &Agent) -> Viewer {
        Viewer { agent: agent.id, role: agent.role, teams: agent.teams.clone() }
    }

    /// True when the viewer sees every ticket.
    pub fn sees_all(&self) -> bool {
        self.role >= Role::Supervisor
    }

    /// True when the viewer may see `ticket`.
    pub fn can_see(&self, ticket: &Ticket) -> bool {
        self.sees_all()
            || ticket.owner.is_none()
            || ticket.owner == Some(self.agent)
            || ticket.team.is_some_and(|team| self.teams.contains(&team))
    }

    /// True when the viewer may override a priority or assign a ticket to
    /// someone other than themselves.
    pub fn can_direct_work(&self) -> bool {
        self.role >= Role::Supervisor
    }

    /// True when the viewer may manage agents, teams and organizations.
    pub fn can_manage_people(&self) -> bool {
        self.role >= Role::Supervisor
    }

    /// True when the viewer may change configuration and create admins.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, CustomerId, Level, Status, TicketId};

    fn ticket(team: Option<i64>, owner: Option<i64>) -> Ticket {
        Ticket {
            id: TicketId(1),
            subject: "s".into(),
            status: Status::New,
            urgency: Level::Normal,
            priority: Level::Normal,
            priority_reason: None,
            channel: Channel::Email,
            customer: CustomerId(1),
            team: team.map(TeamId),
            owner: owner.map(AgentId),
            tags: vec![],
            linked_to: None,
            merged_into: None,
            version: 1,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            solved_at: None,
        }
    }

    fn viewer(role: Role) -> Viewer {
        Viewer { agent: AgentId(7), role, teams: vec![TeamId(1)] }
    }

    #[test]
    fn visibility() {
        let cases = [
            (Role::Agent, ticket(Some(1), Some(9)), true),
            (Role::Agent, ticket(Some(2), Some(9)), false),
            (Role::Agent, ticket(Some(2), None), true),
            (Role::Agent, ticket(Some(2), Some(7)), true),
            (Role::Agent, ticket(None, Some(9)), false),
            (Role::Supervisor, ticket(Some(2), Some(9)), true),
            (Role::Admin, ticket(None, Some(9)), true),
        ];
        for (role, ticket, expected) in cases {
            assert_eq!(viewer(role).can_see(&ticket), expected, "{role} {:?} {:?}", ticket.team, ticket.owner);
        }
    }
}
