//! Attainment: how many targets were met over a period, and how long first
//! responses and resolutions took, per group (channel, tier, team or policy).
//!
//! A target counts in a period once it is decided inside it: met (on time or
//! late) at an instant in the period, or breached with its due instant in the
//! period and still unmet. A target still running on time is not counted yet.
//! Durations are the target's elapsed time (business time on a business-hours
//! target). Percentiles are nearest-rank.

use std::collections::BTreeMap;

use super::TargetKind;

/// One decided target of one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The group it reports under (a channel word, a tier, a team, a policy name).
    pub group: String,
    /// Which target.
    pub kind: TargetKind,
    /// Met on or before its due time.
    pub on_time: bool,
    /// Whether it was met at all (a breached target may be met late).
    pub met: bool,
    /// The time it took (to met), or has taken so far, in seconds.
    pub elapsed_seconds: i64,
}

/// The median and 90th percentile of some durations, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Durations {
    /// How many.
    pub count: i64,
    /// The median (nearest rank), when any.
    pub median: Option<i64>,
    /// The 90th percentile (nearest rank), when any.
    pub p90: Option<i64>,
}

/// One group's attainment.
#[derive(Debug, Clone, PartialEq)]
pub struct Attainment {
    /// The group.
    pub group: String,
    /// Targets decided in the period.
    pub targets: i64,
    /// Of those, met on time.
    pub met: i64,
    /// Of those, breached.
    pub breached: i64,
    /// `met / targets`, when any.
    pub share_met: Option<f64>,
    /// First responses given: how long they took.
    pub first_response: Durations,
    /// Resolutions: how long they took.
    pub resolution: Durations,
}

/// The nearest-rank `percent` percentile of sorted `values`.
pub fn percentile(sorted: &[i64], percent: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * percent as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn durations(mut values: Vec<i64>) -> Durations {
    values.sort_unstable();
    Durations { count: values.len() as i64, median: percentile(&values, 50), p90: percentile(&values, 90) }
}

/// Groups `outcomes` and sums them up, groups in name order.
pub fn attainment(outcomes: &[Outcome]) -> Vec<Attainment> {
    #[derive(Default)]
    struct Sums {
        targets: i64,
        met: i64,
        first: Vec<i64>,
        resolution: Vec<i64>,
    }
    let mut groups: BTreeMap<&str, Sums> = BTreeMap::new();
    for outcome in outcomes {
        let sums = groups.entry(&outcome.group).or_default();
        sums.targets += 1;
        sums.met += i64::from(outcome.on_time);
        if outcome.met {
            match outcome.kind {
                TargetKind::FirstResponse => sums.first.push(outcome.elapsed_seconds),
                TargetKind::Resolution => sums.resolution.push(outcome.elapsed_seconds),
                TargetKind::NextResponse => {}
            }
        }
    }
    groups
        .into_iter()
        .map(|(group, sums)| Attainment {
            group: group.to_owned(),
            targets: sums.targets,
            met: sums.met,
            breached: sums.targets - sums.met,
            share_met: (sums.targets > 0).then(|| sums.met as f64 / sums.targets as f64),
            first_response: durations(sums.first),
            resolution: durations(sums.resolution),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn outcome(group: &str, kind: TargetKind, on_time: bool, elapsed: i64) -> Outcome {
        Outcome { group: group.to_owned(), kind, on_time, met: true, elapsed_seconds: elapsed }
    }

    #[test]
    fn groups_shares_and_percentiles() {
        let mut outcomes: Vec<Outcome> =
            (1..=10).map(|n| outcome("email", TargetKind::FirstResponse, n <= 8, n * 600)).collect();
        outcomes.push(Outcome { met: false, ..outcome("email", TargetKind::Resolution, false, 99_000) });
        outcomes.push(outcome("chat", TargetKind::FirstResponse, true, 30));
        let report = attainment(&outcomes);
        assert_eq!(report.len(), 2);
        let chat = &report[0];
        assert_eq!((chat.group.as_str(), chat.targets, chat.met, chat.share_met), ("chat", 1, 1, Some(1.0)));
        let email = &report[1];
        assert_eq!((email.targets, email.met, email.breached), (11, 8, 3));
        assert_eq!(email.first_response, Durations { count: 10, median: Some(3_000), p90: Some(5_400) });
        assert_eq!(email.resolution, Durations::default());
    }

    #[test]
    fn nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 90), Some(4));
    }

    proptest! {
        #[test]
        fn percentiles_are_values_in_order(mut values in proptest::collection::vec(0i64..10_000, 1..200)) {
            values.sort_unstable();
            let median = percentile(&values, 50).unwrap();
            let p90 = percentile(&values, 90).unwrap();
            prop_assert!(values.contains(&median) && values.contains(&p90));
            prop_assert!(median <= p90);
            let below = values.iter().filter(|v| **v <= p90).count();
            prop_assert!(below * 10 >= values.len() * 9);
        }
    }
}
