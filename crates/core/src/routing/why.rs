//! Why the router chose an agent, in the words the ticket's history shows:
//! "skills billing/2, language de, least load 1/3, previous owner".

use std::fmt;

use serde::{Deserialize, Serialize};

/// The reasons behind one assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Why {
    /// The skills the ticket needed, each with the agent's level.
    pub skills: Vec<(String, u8)>,
    /// The customer's language, which the agent speaks.
    pub language: Option<String>,
    /// The agent's load on the channel before this ticket.
    pub load: u32,
    /// Their capacity on the channel.
    pub capacity: u32,
    /// They owned this customer's previous ticket.
    pub previous_owner: bool,
    /// Another eligible agent was as loaded; round robin chose.
    pub round_robin: bool,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.skills.is_empty() {
            let skills: Vec<String> = self.skills.iter().map(|(name, level)| format!("{name}/{level}")).collect();
            parts.push(format!("skills {}", skills.join(" ")));
        }
        if let Some(language) = &self.language {
            parts.push(format!("language {language}"));
        }
        if self.previous_owner {
            parts.push(format!("load {}/{}", self.load, self.capacity));
            parts.push("previous owner".to_owned());
        } else {
            parts.push(format!("least load {}/{}", self.load, self.capacity));
        }
        if self.round_robin {
            parts.push("round robin".to_owned());
        }
        f.write_str(&parts.join(", "))
    }
}
