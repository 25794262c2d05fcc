//! Checks a rule (and an escalation plan) before it is saved, so that a
//! stored rule always compiles and its templates always render.

use super::matcher::{Presence, Test, check_tag, compile};
use super::model::{Action, EscalationPlan, Known, MAX_ESCALATION_LEVEL, Rule, RuleError, RuleTrigger};
use super::template::check_template;
use crate::ids::{AgentId, TeamId};

/// The longest rule name and task title, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Checks a rule against what exists. The error names the first bad field:
/// `name`, `trigger.event`, `trigger.percent`, `trigger.minutes`,
/// `trigger.days`, `conditions[i].op`, `conditions[i].value`, `actions`
/// (empty), `actions[i].team`, `actions[i].level`, `actions[i].tag`,
/// `actions[i].template`, `actions[i].message`, `actions[i].title`,
/// `actions[i].due_minutes`.
pub fn validate(rule: &Rule, known: &Known<'_>) -> Result<(), RuleError> {
    check_text("name", &rule.name)?;
    match &rule.trigger {
        RuleTrigger::Event { event } => {
            if !known.events.contains(&event.as_str()) {
                return Err(RuleError::new(
                    "trigger.event",
                    format!("unknown event {event:?}; expected one of: {}", known.events.join(", ")),
                ));
            }
        }
        RuleTrigger::TargetPercent { percent, .. } => {
            if !(1..=99).contains(percent) {
                return Err(RuleError::new("trigger.percent", format!("must be between 1 and 99, got {percent}")));
            }
        }
        RuleTrigger::TargetBreached { .. } => {}
        RuleTrigger::NoOwner { minutes } => check_positive("trigger.minutes", *minutes)?,
        RuleTrigger::PendingFor { days } => check_positive("trigger.days", *days)?,
    }
    for (index, condition) in rule.conditions.iter().enumerate() {
        let matcher = compile(index, condition)?;
        let field = || format!("conditions[{index}].value");
        match &matcher.test {
            Test::Team(Presence::OneOf(teams)) => {
                for team in teams {
                    check_team(known, *team).map_err(|problem| RuleError::new(field(), problem))?;
                }
            }
            Test::Owner(Presence::OneOf(agents)) => {
                for agent in agents {
                    check_agent(known, *agent).map_err(|problem| RuleError::new(field(), problem))?;
                }
            }
            _ => {}
        }
    }
    if rule.actions.is_empty() {
        return Err(RuleError::new("actions", "a rule needs at least one action"));
    }
    for (index, action) in rule.actions.iter().enumerate() {
        check_action(action, known)
            .map_err(|(name, problem)| RuleError::new(format!("actions[{index}].{name}"), problem))?;
    }
    Ok(())
}

/// Checks one action; the error is (field name, problem).
fn check_action(action: &Action, known: &Known<'_>) -> Result<(), (&'static str, String)> {
    match action {
        Action::NotifyOwner { message } | Action::NotifySupervisor { message } => {
            if message.trim().is_empty() {
                return Err(("message", "must not be blank".to_owned()));
            }
            check_template(message).map_err(|problem| ("message", problem))
        }
        Action::RaisePriority | Action::SetPriority { .. } | Action::Escalate => Ok(()),
        Action::MoveToTeam { team } => check_team(known, *team).map_err(|problem| ("team", problem)),
        Action::SetEscalationLevel { level } => {
            if *level > MAX_ESCALATION_LEVEL {
                return Err(("level", format!("escalation levels go from 0 to 3, got {level}")));
            }
            Ok(())
        }
        Action::AddTag { tag } => check_tag(tag).map_err(|problem| ("tag", problem)),
        Action::SendUpdate { template } => {
            if template.trim().is_empty() {
                return Err(("template", "must not be blank".to_owned()));
            }
            check_template(template).map_err(|problem| ("template", problem))
        }
        Action::CreateTask { title, due_minutes } => {
            check_text("title", title).map_err(|error| ("title", error.problem))?;
            check_positive("due_minutes", *due_minutes).map_err(|error| ("due_minutes", error.problem))
        }
    }
}

impl EscalationPlan {
    /// Checks the plan: at most three levels, and every team and the on-call
    /// agent exist. Errors name `levels`, `levels[i]` or `on_call`.
    pub fn validate(&self, known_teams: &[TeamId], known_agents: &[AgentId]) -> Result<(), RuleError> {
        if self.levels.len() > usize::from(MAX_ESCALATION_LEVEL) {
            return Err(RuleError::new(
                "levels",
                format!("an escalation plan has at most 3 levels, got {}", self.levels.len()),
            ));
        }
        let known = Known { teams: known_teams, agents: known_agents, events: &[] };
        for (index, team) in self.levels.iter().enumerate() {
            if let Some(team) = team {
                check_team(&known, *team).map_err(|problem| RuleError::new(format!("levels[{index}]"), problem))?;
            }
        }
        if let Some(agent) = self.on_call {
            check_agent(&known, agent).map_err(|problem| RuleError::new("on_call", problem))?;
        }
        Ok(())
    }
}

fn check_text(field: &str, text: &str) -> Result<(), RuleError> {
    if text.trim().is_empty() {
        return Err(RuleError::new(field, "must not be blank"));
    }
    let chars = text.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(RuleError::new(field, format!("must be at most {MAX_NAME_CHARS} characters, got {chars}")));
    }
    Ok(())
}

fn check_positive(field: &str, number: i64) -> Result<(), RuleError> {
    if number <= 0 {
        return Err(RuleError::new(field, format!("must be positive, got {number}")));
    }
    Ok(())
}

fn check_team(known: &Known<'_>, team: TeamId) -> Result<(), String> {
    if known.teams.contains(&team) { Ok(()) } else { Err(format!("team {team} does not exist")) }
}

fn check_agent(known: &Known<'_>, agent: AgentId) -> Result<(), String> {
    if known.agents.contains(&agent) { Ok(()) } else { Err(format!("agent {agent} does not exist")) }
}
