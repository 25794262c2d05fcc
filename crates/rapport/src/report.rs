//! `rapport report sla`: service-level attainment from the command line.
//!
//! The report is the one `GET /api/v1/reports/sla` answers with, composed by
//! the same function (`compose_sla_report`), and `--json` prints the API's
//! own DTO, so the two cannot drift apart.

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use rapport_core::Timestamp;
use rapport_server::api::dto::report::{PhoneGoalDto, SlaReportDto};
use rapport_server::api::service_levels::compose_sla_report;
use rapport_store::{ReportGroup, Store};

use crate::config::ValidConfig;

/// Reports.
#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Service-level attainment per group, and the phone's answer goal
    Sla(SlaReportArgs),
}

/// `rapport report sla`.
#[derive(Args, Debug)]
pub struct SlaReportArgs {
    /// Start of the period, RFC 3339, counted (default: 7 days before --to)
    #[arg(long, value_name = "RFC3339")]
    from: Option<String>,
    /// End of the period, RFC 3339, not counted (default: now)
    #[arg(long, value_name = "RFC3339")]
    to: Option<String>,
    /// What the rows group by
    #[arg(long, value_enum, default_value_t = GroupBy::Channel)]
    group_by: GroupBy,
    /// Print the JSON of `GET /api/v1/reports/sla` instead of a table
    #[arg(long)]
    json: bool,
}

/// What the report groups by.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum GroupBy {
    /// The ticket's channel
    Channel,
    /// The customer's tier
    Tier,
    /// The ticket's team
    Team,
    /// The SLA policy applied
    Policy,
}

impl GroupBy {
    fn group(self) -> ReportGroup {
        match self {
            GroupBy::Channel => ReportGroup::Channel,
            GroupBy::Tier => ReportGroup::Tier,
            GroupBy::Team => ReportGroup::Team,
            GroupBy::Policy => ReportGroup::Policy,
        }
    }
}

/// Runs a `report` command.
pub async fn run(config: ValidConfig, command: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::Sla(args) = command;
    let store = Store::open_existing(config.database_url.expose(), config.store_options())
        .await
        .with_context(|| format!("opening the database {}", config.redacted_database_url()))?;
    let report = sla_report(&store, &args, rapport_server::Clock::system().now()).await;
    store.close().await;
    let report = report?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

async fn sla_report(store: &Store, args: &SlaReportArgs, now: Timestamp) -> anyhow::Result<SlaReportDto> {
    let to = args.to.as_deref().map(|text| instant("--to", text)).transpose()?.unwrap_or(now);
    let from = match args.from.as_deref() {
        Some(text) => instant("--from", text)?,
        None => to.plus_millis(-7 * rapport_core::time::DAY),
    };
    if from > to {
        bail!("--from: must not be after --to");
    }
    Ok(compose_sla_report(store, from, to, args.group_by.group(), now).await?)
}

fn instant(flag: &str, text: &str) -> anyhow::Result<Timestamp> {
    text.parse::<jiff::Timestamp>()
        .map(|at| Timestamp(at.as_millisecond()))
        .map_err(|error| anyhow::anyhow!("{flag}: {text:?} is not an RFC 3339 instant with an offset: {error}"))
}

/// As the API writes instants: UTC with milliseconds.
pub(crate) fn rfc3339(at: Timestamp) -> String {
    match jiff::Timestamp::from_millisecond(at.0) {
        Ok(instant) => format!("{instant:.3}"),
        Err(_) => at.0.to_string(),
    }
}

/// A duration for people: `45s`, `12m`, `2h 5m`, `3d 4h`; `-` when there is none.
pub(crate) fn human(seconds: Option<i64>) -> String {
    let Some(seconds) = seconds else { return "-".to_owned() };
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3_600, seconds % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, minutes) => format!("{minutes}m"),
        (0, hours, 0) => format!("{hours}h"),
        (0, hours, minutes) => format!("{hours}h {minutes}m"),
        (days, 0, _) => format!("{days}d"),
        (days, hours, _) => format!("{days}d {hours}h"),
    }
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".to_owned(), |share| format!("{:.0}%", share * 100.0))
}

/// The report as an aligned table and a phone line.
fn table(report: &SlaReportDto) -> String {
    let header = [
        report.group_by.clone(),
        "targets".to_owned(),
        "met".to_owned(),
        "breached".to_owned(),
        "met %".to_owned(),
        "first resp. median".to_owned(),
        "first resp. p90".to_owned(),
        "resolution median".to_owned(),
        "resolution p90".to_owned(),
    ];
    let rows: Vec<[String; 9]> = report
        .groups
        .iter()
        .map(|group| {
            [
                if group.group.is_empty() { "(none)".to_owned() } else { group.group.clone() },
                group.targets.to_string(),
                group.met.to_string(),
                group.breached.to_string(),
                percent(group.share_met),
                human(group.first_response.median_seconds),
                human(group.first_response.p90_seconds),
                human(group.resolution.median_seconds),
                human(group.resolution.p90_seconds),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 9]| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
            // The group name reads left-aligned, the numbers right-aligned.
            let cell = if index == 0 { format!("{cell:<width$}") } else { format!("{cell:>width$}") };
            text.push_str(&cell);
            text.push_str("  ");
        }
        format!("{}\n", text.trim_end())
    };
    let mut out = format!("SLA attainment from {} to {}\n", report.from, report.to);
    if rows.is_empty() {
        out.push_str("no targets were decided in this period\n");
    } else {
        out.push_str(&line(&header));
        for row in &rows {
            out.push_str(&line(row));
        }
    }
    out.push_str(&phone_line(&report.phone));
    out
}

fn phone_line(phone: &PhoneGoalDto) -> String {
    let goal = phone.goal_percent;
    match (phone.share, phone.goal_met) {
        (Some(share), Some(met)) => format!(
            "phone: {:.0}% of {} calls answered within {} s (goal {goal}%: {})\n",
            share * 100.0,
            phone.calls,
            phone.answered_within_seconds,
            if met { "met" } else { "missed" }
        ),
        _ => format!("phone: no calls in this period (goal {goal}% within {} s)\n", phone.answered_within_seconds),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rapport_server::api::dto::report::{AttainmentDto, DurationsDto};

    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        let cases = [
            (None, "-"),
            (Some(45), "45s"),
            (Some(12 * 60 + 5), "12m"),
            (Some(2 * 3600), "2h"),
            (Some(2 * 3600 + 5 * 60), "2h 5m"),
            (Some(3 * 86_400 + 4 * 3600 + 59), "3d 4h"),
            (Some(86_400), "1d"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(human(seconds), expected, "{seconds:?}");
        }
    }

    #[test]
    fn table_aligns_columns_and_states_the_phone_goal() {
        let durations = |median, p90| DurationsDto { count: 2, median_seconds: median, p90_seconds: p90 };
        let report = SlaReportDto {
            from: "2026-11-01T00:00:00.000Z".to_owned(),
            to: "2026-11-08T00:00:00.000Z".to_owned(),
            group_by: "channel".to_owned(),
            groups: vec![
                AttainmentDto {
                    group: "email".to_owned(),
                    targets: 120,
                    met: 100,
                    breached: 20,
                    share_met: Some(100.0 / 120.0),
                    first_response: durations(Some(7500), Some(3 * 3600)),
                    resolution: durations(Some(86_400), None),
                },
                AttainmentDto {
                    group: "whatsapp".to_owned(),
                    targets: 3,
                    met: 3,
                    breached: 0,
                    share_met: Some(1.0),
                    first_response: durations(Some(40), Some(50)),
                    resolution: durations(None, None),
                },
            ],
            phone: PhoneGoalDto {
                answered_within_seconds: 60,
                goal_percent: 80,
                calls: 120,
                answered_within_target: 100,
                share: Some(100.0 / 120.0),
                goal_met: Some(true),
            },
        };
        let text = table(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[2].starts_with("email     ") && lines[2].contains("83%") && lines[2].contains("2h 5m"));
        assert!(lines[3].starts_with("whatsapp  ") && lines[3].contains("100%") && lines[3].contains("40s"));
        // Right-aligned numbers end in the same column as their header.
        let end = |line: &str, cell: &str| line.find(cell).unwrap() + cell.len();
        assert_eq!(end(lines[1], "targets"), end(lines[2], "120"));
        assert_eq!(lines[4], "phone: 83% of 120 calls answered within 60 s (goal 80%: met)");
    }

    #[test]
    fn periods_are_checked() {
        assert!(instant("--from", "yesterday").unwrap_err().to_string().starts_with("--from: \"yesterday\""));
        assert_eq!(instant("--to", "2026-11-01T00:00:00Z").unwrap(), Timestamp(1_793_491_200_000));
        assert_eq!(rfc3339(Timestamp(1_793_491_200_000)), "2026-11-01T00:00:00.000Z");
    }
}
