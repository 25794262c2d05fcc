//! A ticket's service level in one word, for lists: which target presses
//! most now, its state and its due time. The ticket page shows every target;
//! a queue shows this.

use super::projection::KeptTarget;
use super::{TargetKind, TargetStatus};
use crate::time::Timestamp;

/// The target that presses most, as a list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Which target.
    pub kind: TargetKind,
    /// `Breached`: unmet and past due; `Active`: its clock runs towards
    /// `due`; `Paused`; `Met`: nothing is pending (every target met, some
    /// perhaps late: the ticket page tells).
    pub state: TargetStatus,
    /// Its due instant, when known.
    pub due: Option<Timestamp>,
}

/// The most pressing of `targets` (already brought forward to now): an
/// unmet breached one (the earliest due), else the running one due first,
/// else a paused one, else the last met. `None` without targets.
pub fn summary(targets: &[KeptTarget]) -> Option<Summary> {
    let pending = |state: TargetStatus| {
        targets
            .iter()
            .filter(move |target| target.met_at.is_none() && target.state == state)
            .min_by_key(|target| target.due.map_or(i64::MAX, |due| due.0))
    };
    let pressing = pending(TargetStatus::Breached)
        .or_else(|| pending(TargetStatus::Active))
        .or_else(|| pending(TargetStatus::Paused));
    if let Some(target) = pressing {
        return Some(Summary { kind: target.kind, state: target.state, due: target.due });
    }
    let last = targets.iter().max_by_key(|target| target.met_at.map_or(i64::MIN, |at| at.0))?;
    Some(Summary { kind: last.kind, state: TargetStatus::Met, due: last.due })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn target(kind: TargetKind, state: TargetStatus, due: i64, met_at: Option<i64>) -> KeptTarget {
        KeptTarget {
            kind,
            start: Timestamp(0),
            seconds: 3600,
            business_hours: false,
            elapsed_seconds: 0,
            due: Some(Timestamp(due)),
            met_at: met_at.map(Timestamp),
            state,
            running: met_at.is_none() && state != TargetStatus::Paused,
        }
    }

    use TargetKind::{FirstResponse as First, NextResponse as Next, Resolution};
    use TargetStatus::{Active, Breached, Met, Paused};

    #[test]
    fn no_targets_no_summary() {
        assert_eq!(summary(&[]), None);
    }

    #[test]
    fn an_unmet_breach_comes_before_a_running_target_due_sooner() {
        let targets = [target(First, Active, 100, None), target(Resolution, Breached, 500, None)];
        assert_eq!(summary(&targets), Some(Summary { kind: Resolution, state: Breached, due: Some(Timestamp(500)) }));
    }

    #[test]
    fn of_running_targets_the_one_due_first() {
        let targets = [target(Resolution, Active, 900, None), target(Next, Active, 300, None)];
        assert_eq!(summary(&targets).unwrap().kind, Next);
    }

    #[test]
    fn a_breach_met_since_is_not_pending() {
        let targets = [target(First, Breached, 100, Some(200)), target(Resolution, Paused, 900, None)];
        assert_eq!(summary(&targets).unwrap().state, Paused);
    }

    #[test]
    fn with_nothing_pending_the_last_met_target_and_met() {
        let targets = [target(First, Breached, 100, Some(200)), target(Resolution, Met, 900, Some(800))];
        assert_eq!(summary(&targets), Some(Summary { kind: Resolution, state: Met, due: Some(Timestamp(900)) }));
    }
}
