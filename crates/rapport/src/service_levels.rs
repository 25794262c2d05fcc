//! `rapport sla calendar …` and `rapport sla policy …`: the stored
//! business-hours calendars and SLA policies, for admins who keep them in
//! files (and in version control) rather than in the web UI.
//!
//! `rapport sla due|elapsed` stay in `sla.rs`: they need no database and run
//! before the configuration is loaded. [`SlaCommand`] flattens them in beside
//! the stored-data commands, so `main` sends [`SlaCommand::Clock`] there and
//! everything else here.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use rapport_core::sla::{DEFAULT_CALENDAR, SlaPolicy, TargetSpec};
use rapport_store::{Store, StoredPolicy};

use crate::config::ValidConfig;

/// The SLA clock, calendars and policies.
#[derive(Subcommand, Debug)]
pub enum SlaCommand {
    /// Due times and business time on a calendar file (no database needed).
    #[command(flatten)]
    Clock(crate::sla::SlaCommand),
    /// The stored business-hours calendars that policies count on
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// The stored SLA policies; the first that matches a ticket applies
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

/// `rapport sla calendar`.
#[derive(Subcommand, Debug)]
pub enum CalendarCommand {
    /// List the stored calendars (`default` is built in unless stored)
    List,
    /// Print a stored calendar's TOML (`default`: the built-in one, until one is stored)
    Show {
        /// The calendar's name
        name: String,
    },
    /// Create or replace a calendar from a TOML file (see docs/service-levels.md)
    Put {
        /// The calendar's name: letters, digits, '-', '_' or '.'
        name: String,
        /// The TOML file: `timezone`, `[hours]` or `preset`, `holidays`, `yearly_holidays`
        file: PathBuf,
    },
    /// Delete a calendar; refused while a policy counts on it
    Delete {
        /// The calendar's name
        name: String,
    },
}

/// `rapport sla policy`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// List the policies, first match first
    List,
    /// Add a policy from a JSON file (the API's shape: name, conditions, targets, calendar)
    Add {
        /// The JSON file
        file: PathBuf,
        /// Its place: lower comes first (default: after the last policy)
        #[arg(long, value_name = "N")]
        position: Option<i64>,
    },
    /// Replace a policy with the one in a JSON file
    Replace {
        /// The id from `rapport sla policy list`
        id: i64,
        /// The JSON file
        file: PathBuf,
        /// A new place (default: keep its place)
        #[arg(long, value_name = "N")]
        position: Option<i64>,
    },
    /// Delete a policy
    Delete {
        /// The id from `rapport sla policy list`
        id: i64,
    },
}

/// Runs a calendar or policy command against the database.
pub async fn run(config: ValidConfig, command: SlaCommand) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url, config.store_options())
        .await
        .with_context(|| format!("opening the database {}", config.redacted_database_url()))?;
    let result = match command {
        SlaCommand::Clock(command) => crate::sla::run(command),
        SlaCommand::Calendar { command } => calendar(&store, command, &config.sla_time_zone).await,
        SlaCommand::Policy { command } => policy(&store, command).await,
    };
    store.close().await;
    result
}

/// The built-in `default` calendar as a calendar file: what policies count
/// on until a calendar named `default` is stored.
fn built_in_default(time_zone: &str) -> String {
    let mut text = String::from(
        "# The built-in default calendar (not stored): Monday to Friday 09:00-17:00\n\
         # in [sla] time_zone. `rapport sla calendar put default FILE` replaces it.\n",
    );
    // A valid zone name (the configuration checks it) needs no escaping.
    text.push_str(&format!("timezone = \"{time_zone}\"\n[hours]\n"));
    for day in ["mon", "tue", "wed", "thu", "fri"] {
        text.push_str(&format!("{day} = [\"09:00-17:00\"]\n"));
    }
    text
}

async fn calendar(store: &Store, command: CalendarCommand, time_zone: &str) -> anyhow::Result<()> {
    match command {
        CalendarCommand::List => {
            let calendars = store.list_calendars().await?;
            if calendars.is_empty() {
                println!("no stored calendars; policies count on the built-in `default` (Mon-Fri 09:00-17:00)");
            }
            for calendar in calendars {
                println!("{:<32} updated {}", calendar.name, crate::report::rfc3339(calendar.updated_at));
            }
        }
        CalendarCommand::Show { name } => {
            let calendars = store.list_calendars().await?;
            let source = match calendars.into_iter().find(|calendar| calendar.name == name) {
                Some(calendar) => calendar.source,
                None if name == DEFAULT_CALENDAR => built_in_default(time_zone),
                None => anyhow::bail!("there is no stored calendar named {name:?}"),
            };
            print!("{source}");
            if !source.ends_with('\n') {
                println!();
            }
        }
        CalendarCommand::Put { name, file } => {
            let source = read(&file)?;
            let stored = store.put_calendar(name, source, rapport_server::now()).await?;
            println!("calendar {} stored; open tickets are measured again in the background", stored.name);
        }
        CalendarCommand::Delete { name } => {
            store.delete_calendar(name.clone()).await?;
            println!("calendar {name} deleted");
        }
    }
    Ok(())
}

async fn policy(store: &Store, command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::List => {
            let policies = store.list_policies().await?;
            if policies.is_empty() {
                println!("no policies: no ticket has SLA targets");
            }
            for stored in policies {
                println!("{}", describe(&stored));
            }
        }
        PolicyCommand::Add { file, position } => {
            let policy = load_policy(&file)?;
            let stored = store.insert_policy(policy, position, rapport_server::now()).await?;
            println!("added {}", describe(&stored));
        }
        PolicyCommand::Replace { id, file, position } => {
            let policy = load_policy(&file)?;
            let stored = store.update_policy(id, policy, position, rapport_server::now()).await?;
            println!("replaced {}", describe(&stored));
        }
        PolicyCommand::Delete { id } => {
            store.delete_policy(id).await?;
            println!("policy {id} deleted");
        }
    }
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn load_policy(path: &Path) -> anyhow::Result<SlaPolicy> {
    let text = read(path)?;
    serde_json::from_str(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
}

/// One policy on one line: id, place, name, calendar and targets.
fn describe(stored: &StoredPolicy) -> String {
    let policy = &stored.policy;
    let target = |label: &str, spec: Option<TargetSpec>| {
        spec.map(|spec| {
            let time = if spec.business_hours { "business" } else { "calendar" };
            format!("{label} {} ({time})", crate::report::human(Some(spec.seconds)))
        })
    };
    let targets: Vec<String> = [
        target("first response", policy.targets.first_response),
        target("next response", policy.targets.next_response),
        target("resolution", policy.targets.resolution),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(
        "#{:<4} position {:<5} {:<28} calendar {:<12} {}",
        stored.id,
        stored.position,
        policy.name,
        policy.calendar,
        if targets.is_empty() { "no targets".to_owned() } else { targets.join(", ") }
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rapport_core::calendar::{Calendar, find_time_zone};

    use super::built_in_default;

    #[test]
    fn the_built_in_default_prints_as_a_file_that_reads_back_as_itself() {
        let text = built_in_default("Europe/Berlin");
        let parsed = Calendar::parse(&text).unwrap();
        let built_in = Calendar::default_in(find_time_zone("Europe/Berlin").unwrap());
        assert_eq!(parsed.hours_text(), built_in.hours_text());
        assert_eq!(parsed.time_zone().iana_name(), Some("Europe/Berlin"));
        for weekday in [jiff::civil::Weekday::Saturday, jiff::civil::Weekday::Sunday] {
            assert!(parsed.hours(weekday).is_empty());
        }
    }
}
