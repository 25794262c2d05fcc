//! `rapport sla calendar …` and `rapport sla policy …`: the stored
//! business-hours calendars and SLA policies, for admins who keep them in
//! files (and in version control) rather than in the web UI.
//!
//! `rapport sla due|elapsed` stay in `sla.rs`: on a calendar file they need
//! no database and run before the configuration is loaded. [`SlaCommand`]
//! flattens them in beside the stored-data commands, so `main` sends
//! [`SlaCommand::Clock`] on a file there and everything else here, where a
//! stored calendar named instead of a file is read.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use rapport_core::Actor;
use rapport_core::calendar::Calendar;
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
    let store = Store::open_existing(config.database_url.expose(), config.store_options())
        .await
        .with_context(|| format!("opening the database {}", config.redacted_database_url()))?;
    let result = match command {
        SlaCommand::Clock(command) => match stored_calendar(&store, command.calendar(), &config.sla_time_zone).await {
            Ok(calendar) => crate::sla::run_on(command, &calendar),
            Err(error) => Err(error),
        },
        SlaCommand::Calendar { command } => calendar(&store, command, &config.sla_time_zone).await,
        SlaCommand::Policy { command } => policy(&store, command).await,
    };
    store.close().await;
    result
}

/// The built-in `default` calendar as a calendar file.
fn built_in_default(time_zone: &str) -> String {
    rapport_core::calendar::default_source(time_zone)
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
            let stored = store.put_calendar(name, source, Actor::System, rapport_server::Clock::system().now()).await?;
            println!("calendar {} stored; open tickets are measured again in the background", stored.name);
        }
        CalendarCommand::Delete { name } => {
            store.delete_calendar(name.clone(), Actor::System, rapport_server::Clock::system().now()).await?;
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
            let stored =
                store.insert_policy(policy, position, Actor::System, rapport_server::Clock::system().now()).await?;
            println!("added {}", describe(&stored));
        }
        PolicyCommand::Replace { id, file, position } => {
            let policy = load_policy(&file)?;
            let stored =
                store.update_policy(id, policy, position, Actor::System, rapport_server::Clock::system().now()).await?;
            println!("replaced {}", describe(&stored));
        }
        PolicyCommand::Delete { id } => {
            store.delete_policy(id, Actor::System, rapport_server::Clock::system().now()).await?;
            println!("policy {id} deleted");
        }
    }
    Ok(())
}

/// The stored calendar `name` (`default`: the built-in one until one is stored).
async fn stored_calendar(store: &Store, name: &str, time_zone: &str) -> anyhow::Result<Calendar> {
    let calendars = store.list_calendars().await?;
    if let Some(stored) = calendars.iter().find(|calendar| calendar.name == name) {
        return Calendar::parse(&stored.source).map_err(|error| anyhow::anyhow!("stored calendar {name:?}: {error}"));
    }
    if name == DEFAULT_CALENDAR {
        return Calendar::parse(&built_in_default(time_zone))
            .map_err(|error| anyhow::anyhow!("the built-in default calendar: {error}"));
    }
    let names: Vec<&str> = calendars.iter().map(|calendar| calendar.name.as_str()).collect();
    anyhow::bail!(
        "--calendar: {name:?} is neither a calendar file nor a stored calendar (stored: {}; `rapport sla calendar list`)",
        if names.is_empty() { "none but the built-in default".to_owned() } else { names.join(", ") }
    )
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn load_policy(path: &Path) -> anyhow::Result<SlaPolicy> {
    let text = read(path)?;
    serde_json::from_str(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
}

/// One policy on one line: id, place, name, its targets in words a person
/// reads ("6 business hours", "60 seconds (calendar time)"), each saying
/// whether it counts business time or calendar time, and the calendar
/// business time is on.
fn describe(stored: &StoredPolicy) -> String {
    let policy = &stored.policy;
    let target = |label: &str, spec: Option<TargetSpec>| {
        spec.map(|spec| {
            // Business time says so in its words ("6 business hours"); calendar time is named.
            let time = if spec.business_hours { "" } else { " (calendar time)" };
            format!("{label} {}{time}", duration_words(spec.seconds, spec.business_hours))
        })
    };
    let specs = [policy.targets.first_response, policy.targets.next_response, policy.targets.resolution];
    let targets: Vec<String> =
        [target("first response", specs[0]), target("next response", specs[1]), target("resolution", specs[2])]
            .into_iter()
            .flatten()
            .collect();
    let business = specs.iter().flatten().any(|spec| spec.business_hours);
    format!(
        "#{:<4} position {:<5} {:<28} {}{}",
        stored.id,
        stored.position,
        policy.name,
        if targets.is_empty() { "no targets".to_owned() } else { targets.join(", ") },
        if business { format!("; business hours of calendar {:?}", policy.calendar) } else { String::new() }
    )
}

/// A target's length as a person says it: seconds under two minutes,
/// minutes under two hours, whole days of calendar time from two days,
/// hours otherwise, with what is left in smaller units; "business" before
/// the first unit of business time ("24 business hours", "90 business minutes").
fn duration_words(seconds: i64, business: bool) -> String {
    let units: [(i64, &str); 4] = [(86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second")];
    let first = if seconds < 120 {
        3
    } else if seconds < 7_200 {
        2
    } else if !business && seconds >= 172_800 {
        0
    } else {
        1
    };
    let mut rest = seconds;
    let mut words: Vec<String> = Vec::new();
    for (size, unit) in &units[first..] {
        let count = rest / size;
        rest %= size;
        // Only a length of zero has a first unit of zero.
        if count == 0 && !words.is_empty() {
            continue;
        }
        let plural = if count == 1 { "" } else { "s" };
        let kind = if business && words.is_empty() { "business " } else { "" };
        words.push(format!("{count} {kind}{unit}{plural}"));
    }
    words.join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rapport_core::calendar::{Calendar, find_time_zone};

    use clap::Parser;

    use super::{built_in_default, duration_words, stored_calendar};
    use crate::sla::SlaCommand;

    #[derive(Parser)]
    struct Probe {
        #[command(subcommand)]
        command: SlaCommand,
    }

    #[tokio::test]
    async fn issue_14_sla_due_reads_a_stored_calendar_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sla.db").display());
        let store = rapport_store::Store::open(&url, rapport_store::StoreOptions::default()).await.unwrap();
        let berlin = "timezone = \"Europe/Berlin\"\nholidays = [\"2026-12-24\"]\nyearly_holidays = [\"12-25\"]\n\
            [hours]\nmon = [\"08:00-12:00\", \"13:00-18:00\"]\ntue = [\"09:00-17:00\"]\nwed = [\"09:00-17:00\"]\n\
            thu = [\"09:00-17:00\"]\nfri = [\"09:00-17:00\"]\n";
        store
            .put_calendar(
                "berlin".into(),
                berlin.into(),
                rapport_core::Actor::System,
                rapport_server::Clock::system().now(),
            )
            .await
            .unwrap();
        let argv = ["probe", "due", "--calendar", "berlin", "--start", "2026-12-23T16:00:00+01:00", "--minutes", "120"];
        let command = Probe::try_parse_from(argv).unwrap().command;
        assert!(!command.reads_a_file(), "no file is called berlin here");
        let calendar = stored_calendar(&store, command.calendar(), "UTC").await.unwrap();
        assert_eq!(crate::sla::answer(command, &calendar).unwrap(), "2026-12-28T08:00:00Z");

        // `default` is the built-in calendar until one is stored: Monday 16:00 UTC + 2 h.
        let argv = ["probe", "due", "--calendar", "default", "--start", "2026-03-02T16:00:00Z", "--minutes", "120"];
        let command = Probe::try_parse_from(argv).unwrap().command;
        let calendar = stored_calendar(&store, command.calendar(), "UTC").await.unwrap();
        assert_eq!(crate::sla::answer(command, &calendar).unwrap(), "2026-03-03T10:00:00Z");

        let message = stored_calendar(&store, "nowhere.toml", "UTC").await.unwrap_err().to_string();
        assert!(message.contains("\"nowhere.toml\" is neither a calendar file nor a stored calendar"), "{message}");
        assert!(message.contains("berlin"), "{message}");
        store.close().await;
    }

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

    #[test]
    fn issue_14_durations_read_as_a_person_says_them() {
        for (seconds, business, words) in [
            (60, false, "60 seconds"),
            (1, false, "1 second"),
            (0, false, "0 seconds"),
            (7_200, false, "2 hours"),
            (86_400, true, "24 business hours"),
            (21_600, true, "6 business hours"),
            (5_400, true, "90 business minutes"),
            (3_600, false, "60 minutes"),
            (9_000, false, "2 hours 30 minutes"),
            (432_000, false, "5 days"),
            (86_400, false, "24 hours"),
            (180_000, false, "2 days 2 hours"),
            (7_230, true, "2 business hours 30 seconds"),
        ] {
            assert_eq!(duration_words(seconds, business), words, "{seconds} s, business {business}");
        }
    }
}
