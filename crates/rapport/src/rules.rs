//! `rapport rules …`: the automation rules and the escalation plan, kept in
//! JSON files by admins who prefer them to the web UI. The files have the
//! API's shape (`Rule` in `rapport_core::rules`); the store checks them.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use rapport_core::rules::{EscalationPlan, Rule, RuleId};
use rapport_core::{AgentId, Team, TeamId};
use rapport_store::{Store, StoredRule};

use crate::config::ValidConfig;

/// `rapport rules`.
#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// List the rules in the order they run
    List,
    /// Add a rule from a JSON file (name, trigger, conditions, actions, enabled)
    Add {
        /// The JSON file
        file: PathBuf,
        /// Its place: lower runs first (default: after the last rule)
        #[arg(long, value_name = "N")]
        position: Option<i64>,
    },
    /// Replace a rule with the one in a JSON file, keeping its place
    Replace {
        /// The id from `rapport rules list`
        id: i64,
        /// The JSON file
        file: PathBuf,
    },
    /// Delete a rule (jobs it already queued still run)
    Delete {
        /// The id from `rapport rules list`
        id: i64,
    },
    /// Show or set the escalation plan (default: show)
    Escalation {
        #[command(subcommand)]
        command: Option<EscalationCommand>,
    },
}

/// `rapport rules escalation`.
#[derive(Subcommand, Debug)]
pub enum EscalationCommand {
    /// Print the levels and who is on call
    Show,
    /// Change the levels, who is on call, or both (what is not given stays)
    Set {
        /// Up to three teams, by name or id, level 1 first; `-` keeps the
        /// ticket's team at that level; `none` removes every level
        #[arg(long, value_name = "TEAM,TEAM,TEAM", value_delimiter = ',', allow_hyphen_values = true)]
        levels: Option<Vec<String>>,
        /// The on-call supervisor, by email or id; `none` for nobody
        #[arg(long, value_name = "AGENT")]
        on_call: Option<String>,
    },
}

/// Runs a `rules` command.
pub async fn run(config: ValidConfig, command: RulesCommand) -> anyhow::Result<()> {
    let store = Store::open_existing(config.database_url.expose(), config.store_options())
        .await
        .with_context(|| format!("opening the database {}", config.redacted_database_url()))?;
    let result = rules(&store, command).await;
    store.close().await;
    result
}

async fn rules(store: &Store, command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::List => {
            let rules = store.list_rules().await?;
            if rules.is_empty() {
                println!("no rules; add one with `rapport rules add rule.json`");
            }
            for stored in rules {
                println!("{}", describe(&stored)?);
            }
        }
        RulesCommand::Add { file, position } => {
            let rule = load_rule(&file)?;
            let stored = store
                .insert_rule(rule, position, rapport_core::Actor::System, rapport_server::Clock::system().now())
                .await?;
            println!("added {}", describe(&stored)?);
        }
        RulesCommand::Replace { id, file } => {
            let rule = load_rule(&file)?;
            let stored = store
                .update_rule(RuleId(id), rule, None, rapport_core::Actor::System, rapport_server::Clock::system().now())
                .await?;
            println!("replaced {}", describe(&stored)?);
        }
        RulesCommand::Delete { id } => {
            store.delete_rule(RuleId(id), rapport_core::Actor::System, rapport_server::Clock::system().now()).await?;
            println!("rule {id} deleted");
        }
        RulesCommand::Escalation { command: None | Some(EscalationCommand::Show) } => {
            print!("{}", show_plan(store, &store.escalation_plan().await?).await?);
        }
        RulesCommand::Escalation { command: Some(EscalationCommand::Set { levels, on_call }) } => {
            if levels.is_none() && on_call.is_none() {
                bail!("give --levels, --on-call or both");
            }
            let mut plan = store.escalation_plan().await?;
            if let Some(levels) = levels {
                plan.levels = team_levels(store, &levels).await?;
            }
            if let Some(on_call) = on_call {
                plan.on_call = agent(store, &on_call).await?;
            }
            store
                .put_escalation_plan(plan.clone(), rapport_core::Actor::System, rapport_server::Clock::system().now())
                .await?;
            print!("escalation plan saved\n{}", show_plan(store, &plan).await?);
        }
    }
    Ok(())
}

fn load_rule(path: &Path) -> anyhow::Result<Rule> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
}

/// One rule on one line: id, place, state, name, trigger and how much it does.
fn describe(stored: &StoredRule) -> anyhow::Result<String> {
    let rule = &stored.rule;
    Ok(format!(
        "#{:<4} position {:<4} {:<8} {:<32} trigger {}, {} condition(s), {} action(s)",
        stored.id,
        stored.position,
        if rule.enabled { "enabled" } else { "disabled" },
        rule.name,
        serde_json::to_string(&rule.trigger)?,
        rule.conditions.len(),
        rule.actions.len()
    ))
}

async fn all_teams(store: &Store) -> anyhow::Result<Vec<Team>> {
    let mut teams = Vec::new();
    loop {
        let page = store.list_teams(teams.last().map(|team: &Team| team.id), 500).await?;
        if page.is_empty() {
            return Ok(teams);
        }
        teams.extend(page);
    }
}

/// `--levels`: each entry a team name or id, or `-` for the ticket's own team.
async fn team_levels(store: &Store, words: &[String]) -> anyhow::Result<Vec<Option<TeamId>>> {
    if let [word] = words
        && word.trim() == "none"
    {
        return Ok(Vec::new());
    }
    let teams = all_teams(store).await?;
    let mut levels = Vec::new();
    for (index, word) in words.iter().map(|word| word.trim()).enumerate() {
        if word == "-" {
            levels.push(None);
            continue;
        }
        let team = teams
            .iter()
            .find(|team| team.name == word || team.id.0.to_string() == word)
            .with_context(|| format!("levels[{index}]: there is no team named {word:?}"))?;
        levels.push(Some(team.id));
    }
    Ok(levels)
}

/// `--on-call`: an email or an id, or `none`.
async fn agent(store: &Store, word: &str) -> anyhow::Result<Option<AgentId>> {
    let word = word.trim();
    if word == "none" {
        return Ok(None);
    }
    if let Ok(id) = word.parse::<i64>() {
        return Ok(Some(AgentId(id)));
    }
    let agent = store
        .find_agent_by_email(&word.to_lowercase())
        .await?
        .with_context(|| format!("on_call: there is no agent with the email {word:?}"))?;
    Ok(Some(agent.id))
}

async fn show_plan(store: &Store, plan: &EscalationPlan) -> anyhow::Result<String> {
    let teams = all_teams(store).await?;
    let mut out = String::new();
    if plan.levels.is_empty() {
        out.push_str("no escalation levels\n");
    }
    for (index, level) in plan.levels.iter().enumerate() {
        let team = match level {
            None => "the ticket's own team".to_owned(),
            Some(id) => match teams.iter().find(|team| team.id == *id) {
                Some(team) => format!("{} (team {id})", team.name),
                None => format!("team {id}"),
            },
        };
        out.push_str(&format!("level {}: {team}\n", index + 1));
    }
    let on_call = match plan.on_call {
        None => "nobody".to_owned(),
        Some(id) => match store.get_agent(id).await {
            Ok(agent) => format!("{} <{}> (agent {id})", agent.name, agent.email),
            Err(rapport_store::StoreError::NotFound(_)) => format!("agent {id} (no longer exists)"),
            Err(error) => return Err(error.into()),
        },
    };
    out.push_str(&format!("on call: {on_call}\n"));
    Ok(out)
}
