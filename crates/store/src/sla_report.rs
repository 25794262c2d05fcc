//! The rows behind the attainment report: every target decided in a period,
//! from the kept projection of the event log (`ticket_sla`), labelled with
//! the group it reports under.

use rapport_core::Timestamp;
use rapport_core::sla::TargetStatus;
use rapport_core::sla::attainment::Outcome;
use rapport_core::sla::projection::KeptTarget;
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::args;
use crate::error::StoreError;
use crate::projector::TicketSla;
use crate::rows::CardRow;

/// What the report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportGroup {
    /// The ticket's channel.
    Channel,
    /// The customer's tier.
    Tier,
    /// The ticket's team (by name; "no team" when none).
    Team,
    /// The policy applied (by name).
    Policy,
}

impl ReportGroup {
    /// Parses `channel`, `tier`, `team` or `policy`.
    pub fn parse(word: &str) -> Option<ReportGroup> {
        match word {
            "channel" => Some(ReportGroup::Channel),
            "tier" => Some(ReportGroup::Tier),
            "team" => Some(ReportGroup::Team),
            "policy" => Some(ReportGroup::Policy),
            _ => None,
        }
    }

    /// The word [`ReportGroup::parse`] reads.
    pub fn word(self) -> &'static str {
        match self {
            ReportGroup::Channel => "channel",
            ReportGroup::Tier => "tier",
            ReportGroup::Team => "team",
            ReportGroup::Policy => "policy",
        }
    }
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    #[sqlx(flatten)]
    sla: CardRow,
    channel: String,
    team_name: Option<String>,
    policy_name: Option<String>,
}

/// The outcome of one kept target in `[from, to)` as seen at `now`, if it was decided then.
fn decided(target: &KeptTarget, from: Timestamp, to: Timestamp, now: Timestamp) -> Option<(bool, bool)> {
    let within = |at: Timestamp| at >= from && at < to;
    match (target.met_at, target.state) {
        (Some(met), TargetStatus::Met) if within(met) => Some((true, true)),
        (Some(met), _) if within(met) => Some((false, true)),
        (None, TargetStatus::Breached) if target.due.is_some_and(within) => Some((false, false)),
        (None, TargetStatus::Active) if target.due.is_some_and(|due| within(due) && due <= now) => Some((false, false)),
        _ => None,
    }
}

impl Store {
    /// Every target decided in `[from, to)` (met then, or breached with its
    /// due instant then), labelled by `group`, as seen at `now`.
    pub async fn sla_outcomes(
        &self,
        from: Timestamp,
        to: Timestamp,
        group: ReportGroup,
        now: Timestamp,
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut decisions = Vec::new();
        for kind in ["fr", "nr", "res"] {
            decisions.push(format!("(s.{kind}_met >= $1 AND s.{kind}_met < $2)"));
            decisions.push(format!("(s.{kind}_met IS NULL AND s.{kind}_due >= $1 AND s.{kind}_due < $2)"));
        }
        let sql = format!(
            "SELECT s.ticket_id, s.card, t.channel AS channel, tm.name AS team_name, p.name AS policy_name FROM ticket_sla s \
             JOIN tickets t ON t.id = s.ticket_id LEFT JOIN teams tm ON tm.id = t.team_id \
             LEFT JOIN sla_policies p ON p.id = s.policy_id WHERE {}",
            decisions.join(" OR ")
        );
        let rows: Vec<ReportRow> = self.db.fetch_all(AssertSqlSafe(sql), args![from.0, to.0]).await?;
        let mut outcomes = Vec::new();
        for row in rows {
            let label = match group {
                ReportGroup::Channel => row.channel.clone(),
                ReportGroup::Team => row.team_name.clone().unwrap_or_else(|| "no team".to_owned()),
                ReportGroup::Policy => row.policy_name.clone().unwrap_or_else(|| "no policy".to_owned()),
                ReportGroup::Tier => String::new(),
            };
            let sla = TicketSla::try_from(row.sla)?;
            let label = if group == ReportGroup::Tier { sla.tier.0.clone() } else { label };
            for target in &sla.targets {
                // Business-hours elapsed time at the due instant is the target itself.
                if let Some((on_time, met)) = decided(target, from, to, now) {
                    let elapsed = if met { target.elapsed_seconds } else { target.elapsed_seconds.max(target.seconds) };
                    outcomes.push(Outcome {
                        group: label.clone(),
                        kind: target.kind,
                        on_time,
                        met,
                        elapsed_seconds: elapsed,
                    });
                }
            }
        }
        Ok(outcomes)
    }
}
