//! How the demo desk is run: its example escalation rules (`rules.json`,
//! the same JSON `POST /api/v1/rules` takes), its escalation plan, and the
//! major incident whose customers' tickets are linked to one problem.
//!
//! The rules are saved after the demo's history is measured, so they act on
//! what happens from the moment the server starts (tickets about to breach,
//! tickets nobody has taken), not on two weeks of past events.

use anyhow::Context;
use rapport_core::rules::{EscalationPlan, Rule};
use rapport_core::{AgentId, Author, TeamId, TicketId, Timestamp};
use rapport_store::Store;

const RULES: &str = include_str!("rules.json");

/// The example rules.
pub fn rules() -> anyhow::Result<Vec<Rule>> {
    serde_json::from_str(RULES).context("reading the demo's rules.json")
}

/// Saves the rules and the plan: first escalation to the Escalations team,
/// the second keeps it there, and the supervisor is on call.
pub async fn install_rules(
    store: &Store,
    escalations: TeamId,
    on_call: AgentId,
    now: Timestamp,
) -> anyhow::Result<usize> {
    let rules = rules()?;
    let count = rules.len();
    for rule in rules {
        let name = rule.name.clone();
        store
            .insert_rule(rule, None, rapport_core::Actor::System, now)
            .await
            .with_context(|| format!("saving the demo rule {name:?}"))?;
    }
    let plan = EscalationPlan { levels: vec![Some(escalations), None], on_call: Some(on_call) };
    store
        .put_escalation_plan(plan, rapport_core::Actor::System, now)
        .await
        .context("saving the demo's escalation plan")?;
    Ok(count)
}

/// Links the incident's tickets to its problem ticket, as the supervisor.
pub async fn link_problem(
    store: &Store,
    problem: TicketId,
    tickets: Vec<TicketId>,
    supervisor: AgentId,
    now: Timestamp,
) -> anyhow::Result<usize> {
    let linked = store
        .link_to_problem(problem, tickets, Author::Agent(supervisor), now)
        .await
        .context("linking the demo's incident tickets to their problem")?;
    Ok(linked.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_example_rules_are_valid_and_loop_free() {
        let rules = rules().unwrap();
        assert!(rules.len() >= 5);
        let known = rapport_core::rules::Known { teams: &[], agents: &[], events: rapport_core::rules::EVENT_WORDS };
        for rule in &rules {
            rapport_core::rules::validate(rule, &known).unwrap();
        }
        let all: Vec<&Rule> = rules.iter().collect();
        rapport_core::rules::check_cycles(&all).unwrap();
    }
}
