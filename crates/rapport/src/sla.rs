//! `rapport sla due` and `rapport sla elapsed`: the SLA clock on a calendar
//! file, for admins checking a calendar before they use it, or on a stored
//! calendar named instead of a file (read from the database by
//! `service_levels.rs`, which then calls [`run_on`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use rapport_core::calendar::Calendar;

/// The SLA clock on a business-hours calendar file.
#[derive(Subcommand, Debug)]
pub enum SlaCommand {
    /// Print the instant that lies a business duration after a start
    Due(DueArgs),
    /// Print the business time in the half-open span [from, to)
    Elapsed(ElapsedArgs),
}

/// `rapport sla due`.
#[derive(Args, Debug)]
pub struct DueArgs {
    /// A calendar file (TOML, see docs/service-levels.md), or the name of a stored calendar
    #[arg(long, value_name = "FILE|NAME")]
    calendar: String,
    /// The start, RFC 3339 (e.g. 2026-03-02T09:30:00+01:00)
    #[arg(long, value_name = "RFC3339")]
    start: String,
    /// Business minutes after the start
    #[arg(long, value_name = "N", conflicts_with = "seconds", required_unless_present = "seconds")]
    minutes: Option<i64>,
    /// Business seconds after the start
    #[arg(long, value_name = "N")]
    seconds: Option<i64>,
    /// Print {"due": "<RFC 3339 UTC>"}
    #[arg(long)]
    json: bool,
}

/// `rapport sla elapsed`.
#[derive(Args, Debug)]
pub struct ElapsedArgs {
    /// A calendar file (TOML, see docs/service-levels.md), or the name of a stored calendar
    #[arg(long, value_name = "FILE|NAME")]
    calendar: String,
    /// Start of the span, RFC 3339 (counted)
    #[arg(long, value_name = "T1")]
    from: String,
    /// End of the span, RFC 3339 (not counted)
    #[arg(long, value_name = "T2")]
    to: String,
    /// Print {"minutes": N, "seconds": S}
    #[arg(long)]
    json: bool,
}

impl SlaCommand {
    /// The `--calendar` value: a file's path or a stored calendar's name.
    pub fn calendar(&self) -> &str {
        match self {
            SlaCommand::Due(args) => &args.calendar,
            SlaCommand::Elapsed(args) => &args.calendar,
        }
    }

    /// Whether `--calendar` names a file (else it names a stored calendar,
    /// which needs the database).
    pub fn reads_a_file(&self) -> bool {
        Path::new(self.calendar()).is_file()
    }
}

/// Runs an `sla` command on its calendar file and prints its answer on stdout.
pub fn run(command: SlaCommand) -> anyhow::Result<()> {
    let calendar = load(&PathBuf::from(command.calendar()))?;
    run_on(command, &calendar)
}

/// Runs an `sla` command on `calendar` (read from its file or the database)
/// and prints its answer on stdout.
pub fn run_on(command: SlaCommand, calendar: &Calendar) -> anyhow::Result<()> {
    println!("{}", answer(command, calendar)?);
    Ok(())
}

/// The answer to an `sla` command, as printed.
pub(crate) fn answer(command: SlaCommand, calendar: &Calendar) -> anyhow::Result<String> {
    Ok(match command {
        SlaCommand::Due(args) => {
            let start = instant("--start", &args.start)?;
            let seconds = match (args.minutes, args.seconds) {
                (Some(minutes), _) => {
                    minutes.checked_mul(60).with_context(|| format!("--minutes: {minutes} is too large"))?
                }
                (None, Some(seconds)) => seconds,
                (None, None) => bail!("give --minutes or --seconds"),
            };
            if seconds < 0 {
                bail!("--minutes/--seconds: {seconds} seconds is negative");
            }
            let due = calendar.due(start, seconds).with_context(|| args.calendar.clone())?;
            if args.json { serde_json::json!({ "due": due.to_string() }).to_string() } else { due.to_string() }
        }
        SlaCommand::Elapsed(args) => {
            let from = instant("--from", &args.from)?;
            let to = instant("--to", &args.to)?;
            let seconds = calendar.elapsed(from, to);
            let minutes = seconds / 60;
            if args.json {
                serde_json::json!({ "minutes": minutes, "seconds": seconds }).to_string()
            } else {
                format!("{minutes} minutes ({seconds} seconds)")
            }
        }
    })
}

fn load(path: &Path) -> anyhow::Result<Calendar> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading calendar {}", path.display()))?;
    Calendar::parse(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
}

fn instant(flag: &str, text: &str) -> anyhow::Result<Timestamp> {
    text.parse::<Timestamp>()
        .map_err(|error| anyhow::anyhow!("{flag}: {text:?} is not an RFC 3339 instant with an offset: {error}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Probe {
        #[command(subcommand)]
        command: SlaCommand,
    }

    fn run_with(calendar: &str, args: &[&str]) -> anyhow::Result<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calendar.toml");
        std::fs::write(&path, calendar).unwrap();
        let path = path.to_str().unwrap().to_string();
        let mut argv = vec!["probe", args[0], "--calendar", &path];
        argv.extend_from_slice(&args[1..]);
        let command = Probe::try_parse_from(argv)?.command;
        assert!(command.reads_a_file());
        let calendar = load(&PathBuf::from(command.calendar()))?;
        answer(command, &calendar)
    }

    const BERLIN: &str = "timezone = \"Europe/Berlin\"\nholidays = [\"2026-12-24\"]\n\
        yearly_holidays = [\"12-25\"]\n[hours]\nmon = [\"08:00-12:00\", \"13:00-18:00\"]\n\
        tue = [\"09:00-17:00\"]\nwed = [\"09:00-17:00\"]\nthu = [\"09:00-17:00\"]\nfri = [\"09:00-17:00\"]\n";

    #[test]
    fn due_prints_utc_and_json() {
        // Wednesday 16:00 CET + 2 h: 1 h to 17:00, Thursday and Friday are holidays,
        // Monday opens at 08:00 CET, + 1 h = 09:00 CET = 08:00Z.
        let args = ["due", "--start", "2026-12-23T16:00:00+01:00", "--minutes", "120"];
        assert_eq!(run_with(BERLIN, &args).unwrap(), "2026-12-28T08:00:00Z");
        let mut json = args.to_vec();
        json.push("--json");
        assert_eq!(run_with(BERLIN, &json).unwrap(), r#"{"due":"2026-12-28T08:00:00Z"}"#);
        let seconds = ["due", "--start", "2026-12-23T16:59:59+01:00", "--seconds", "1"];
        assert_eq!(run_with(BERLIN, &seconds).unwrap(), "2026-12-23T16:00:00Z");
    }

    #[test]
    fn elapsed_prints_minutes_and_seconds() {
        // Monday 2026-03-02 in CET: 08:00-12:00 and 13:00-18:00 are 9 h.
        let args = ["elapsed", "--from", "2026-03-02T00:00:00Z", "--to", "2026-03-03T00:00:00Z"];
        assert_eq!(run_with(BERLIN, &args).unwrap(), "540 minutes (32400 seconds)");
        let mut json = args.to_vec();
        json.push("--json");
        assert_eq!(run_with(BERLIN, &json).unwrap(), r#"{"minutes":540,"seconds":32400}"#);
    }

    #[test]
    fn errors_name_the_file_line_and_field() {
        let bad = "timezone = \"UTC\"\n[hours]\nmon = [\"09:00-10:00\", \"13:00-12:00\"]\n";
        let args = ["due", "--start", "2026-03-02T00:00:00Z", "--seconds", "5"];
        let message = run_with(bad, &args).unwrap_err().to_string();
        assert!(
            message.contains("calendar.toml: line 3: hours.mon[1]: \"13:00-12:00\" ends before it starts"),
            "{message}"
        );
        let message = run_with(BERLIN, &["due", "--start", "tomorrow", "--seconds", "5"]).unwrap_err().to_string();
        assert!(message.starts_with("--start: \"tomorrow\""), "{message}");
    }
}
