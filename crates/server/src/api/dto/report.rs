//! The reports as JSON: service-level attainment per group with the phone's
//! answer goal (`GET /reports/sla`, and `rapport report sla --json`, which
//! prints the same shape), and the call report (`GET /reports/calls`). Core
//! computes both ([`attainment`](rapport_core::sla::attainment::attainment),
//! [`report`](rapport_core::call::report)); these are their wire shapes.

use rapport_core::Timestamp;
use rapport_core::call::CallReport;
use rapport_core::sla::attainment::{Attainment, Durations};
use rapport_core::sla::defaults::PHONE_GOAL_PERCENT;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::wire::{rfc3339, seconds};

/// The phone's answer target in seconds: the default policy's.
pub const PHONE_GOAL_SECONDS: i64 = 60;

/// How long some durations took, in seconds.
#[derive(Debug, Serialize, ToSchema)]
pub struct DurationsDto {
    /// How many.
    pub count: i64,
    /// Median (nearest rank).
    pub median_seconds: Option<i64>,
    /// 90th percentile (nearest rank).
    pub p90_seconds: Option<i64>,
}

impl From<Durations> for DurationsDto {
    fn from(durations: Durations) -> DurationsDto {
        DurationsDto { count: durations.count, median_seconds: durations.median, p90_seconds: durations.p90 }
    }
}

/// One group's attainment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttainmentDto {
    /// The group (a channel, tier, team or policy name).
    pub group: String,
    /// Targets decided in the period.
    pub targets: i64,
    /// Met on time.
    pub met: i64,
    /// Breached.
    pub breached: i64,
    /// met / targets, 0-1.
    pub share_met: Option<f64>,
    /// First responses given (business time on business-hours targets).
    pub first_response: DurationsDto,
    /// Resolutions.
    pub resolution: DurationsDto,
}

impl From<Attainment> for AttainmentDto {
    fn from(group: Attainment) -> AttainmentDto {
        AttainmentDto {
            group: group.group,
            targets: group.targets,
            met: group.met,
            breached: group.breached,
            share_met: group.share_met,
            first_response: group.first_response.into(),
            resolution: group.resolution.into(),
        }
    }
}

/// The phone's goal: the share of calls answered within the target.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneGoalDto {
    /// The target: answered within this many seconds.
    pub answered_within_seconds: i64,
    /// The goal, in percent of calls.
    pub goal_percent: u8,
    /// Calls decided in the period (answered, abandoned, voicemail).
    pub calls: u32,
    /// Answered within the target.
    pub answered_within_target: u32,
    /// The share, 0-1.
    pub share: Option<f64>,
    /// Whether the share reaches the goal.
    pub goal_met: Option<bool>,
}

/// Service-level attainment over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaReportDto {
    /// Start (inclusive).
    pub from: String,
    /// End (exclusive).
    pub to: String,
    /// `channel`, `tier`, `team` or `policy`.
    pub group_by: String,
    /// One entry per group, by name.
    pub groups: Vec<AttainmentDto>,
    /// The phone, from the call events.
    pub phone: PhoneGoalDto,
}

impl SlaReportDto {
    /// The report over `[from, to)` grouped by `group_by`: `groups` as core's
    /// attainment gives them, the phone from `calls`, core's report of the
    /// period's calls against [`PHONE_GOAL_SECONDS`].
    pub fn new(
        from: Timestamp,
        to: Timestamp,
        group_by: String,
        groups: Vec<Attainment>,
        calls: &CallReport,
    ) -> SlaReportDto {
        let share = calls.share_answered_within_target;
        SlaReportDto {
            from: rfc3339(from),
            to: rfc3339(to),
            group_by,
            groups: groups.into_iter().map(AttainmentDto::from).collect(),
            phone: PhoneGoalDto {
                answered_within_seconds: PHONE_GOAL_SECONDS,
                goal_percent: PHONE_GOAL_PERCENT,
                calls: calls.answered + calls.abandoned + calls.voicemail,
                answered_within_target: calls.answered_within_target,
                share,
                goal_met: share.map(|share| share * 100.0 >= f64::from(PHONE_GOAL_PERCENT)),
            },
        }
    }
}

/// How calls went against the phone's service target.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallReportDto {
    /// Start of the period (inclusive).
    pub from: String,
    /// End of the period (exclusive).
    pub to: String,
    /// The target: answered within this many seconds.
    pub answered_within: i64,
    /// Calls that arrived in the period.
    pub calls: u32,
    /// Calls answered.
    pub answered: u32,
    /// Calls the caller gave up on.
    pub abandoned: u32,
    /// Calls that ended in a voicemail.
    pub voicemail: u32,
    /// Calls answered within the target.
    pub answered_within_target: u32,
    /// Share of the decided calls (answered, abandoned, voicemail) answered within the target, 0-1.
    pub share_answered_within_target: Option<f64>,
    /// Median wait in seconds (answered and unanswered calls).
    pub median_wait_seconds: Option<f64>,
    /// 90th-percentile wait in seconds.
    pub p90_wait_seconds: Option<f64>,
    /// Total talk time in seconds.
    pub talk_seconds: f64,
    /// Average talk time of the answered calls in seconds.
    pub average_talk_seconds: Option<f64>,
}

impl CallReportDto {
    /// Core's report of the calls that arrived in `[from, to)` against
    /// "answered within `answered_within` seconds", in seconds.
    pub fn new(from: Timestamp, to: Timestamp, answered_within: i64, report: &CallReport) -> CallReportDto {
        CallReportDto {
            from: rfc3339(from),
            to: rfc3339(to),
            answered_within,
            calls: report.calls,
            answered: report.answered,
            abandoned: report.abandoned,
            voicemail: report.voicemail,
            answered_within_target: report.answered_within_target,
            share_answered_within_target: report.share_answered_within_target,
            median_wait_seconds: report.median_wait_ms.map(seconds),
            p90_wait_seconds: report.p90_wait_ms.map(seconds),
            talk_seconds: seconds(report.talk_ms),
            average_talk_seconds: report.average_talk_ms.map(seconds),
        }
    }
}
