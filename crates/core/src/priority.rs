//! Urgency, priority, service tiers and the matrix between them.
//!
//! A ticket's priority is derived, not typed in: the customer's tier and the
//! ticket's urgency go through a configurable matrix. Premium is fast and
//! bounded because its row says so, not because someone remembers to bump it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::ticket::UnknownWord;

/// A four-step scale used for both urgency and priority, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Low.
    Low,
    /// Normal (the default urgency).
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 4] = [Level::Low, Level::Normal, Level::High, Level::Urgent];

    /// The word used in JSON and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Normal => "normal",
            Level::High => "high",
            Level::Urgent => "urgent",
        }
    }

    /// 0 for low up to 3 for urgent; stored in the database so that sorting by
    /// priority is an integer sort.
    pub fn rank(self) -> i64 {
        self as i64
    }

    /// The inverse of [`Level::rank`].
    pub fn from_rank(rank: i64) -> Option<Level> {
        Level::ALL.get(usize::try_from(rank).ok()?).copied()
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = UnknownWord;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Level::ALL.into_iter().find(|level| level.as_str() == value).ok_or_else(|| UnknownWord {
            kind: "level",
            value: value.to_owned(),
            expected: "low, normal, high, urgent",
        })
    }
}

/// A service tier name, such as `basic`, `business` or `premium`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tier(pub String);

impl Tier {
    /// The tier customers get when neither they nor their organization have one.
    pub fn basic() -> Tier {
        Tier("basic".to_owned())
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Tier × urgency → priority. Each tier has a row of four priorities, one per
/// urgency from low to urgent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriorityMatrix {
    rows: BTreeMap<String, [Level; 4]>,
}

/// A priority matrix that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatrixError {
    /// No tiers at all.
    #[error("the priority matrix has no tiers")]
    Empty,
    /// A row where a higher urgency gives a lower priority.
    #[error("tier {0:?}: priority must not fall as urgency rises")]
    NotMonotonic(String),
    /// The default tier is missing.
    #[error("the priority matrix has no row for the default tier \"basic\"")]
    NoBasic,
}

impl PriorityMatrix {
    /// Builds and checks a matrix: a `basic` row must exist and every row must
    /// be non-decreasing (a more urgent problem never gets a lower priority).
    pub fn parse(rows: BTreeMap<String, [Level; 4]>) -> Result<PriorityMatrix, MatrixError> {
        if rows.is_empty() {
            return Err(MatrixError::Empty);
        }
        if !rows.contains_key("basic") {
            return Err(MatrixError::NoBasic);
        }
        for (tier, row) in &rows {
            if row.windows(2).any(|pair| pair[0] > pair[1]) {
                return Err(MatrixError::NotMonotonic(tier.clone()));
            }
        }
        Ok(PriorityMatrix { rows })
    }

    /// The priority for a tier and an urgency. An unknown tier is treated as basic.
    pub fn priority(&self, tier: &Tier, urgency: Level) -> Level {
        let row = self.rows.get(&tier.0).or_else(|| self.rows.get("basic")).copied().unwrap_or(Level::ALL);
        row[urgency as usize]
    }

    /// True when `tier` has a row.
    pub fn has_tier(&self, tier: &Tier) -> bool {
        self.rows.contains_key(&tier.0)
    }

    /// The tier names, sorted.
    pub fn tiers(&self) -> impl Iterator<Item = &str> {
        self.rows.keys().map(String::as_str)
    }

    /// Each tier with its priorities for urgency low, normal, high, urgent, by tier name.
    pub fn rows(&self) -> impl Iterator<Item = (&str, [Level; 4])> {
        self.rows.iter().map(|(tier, row)| (tier.as_str(), *row))
    }
}

impl Default for PriorityMatrix {
    /// basic lowers by one step (never below low), business follows urgency,
    /// premium raises by one step (never above urgent).
    fn default() -> Self {
        use Level::*;
        let rows = BTreeMap::from([
            ("basic".to_owned(), [Low, Low, Normal, High]),
            ("business".to_owned(), [Low, Normal, High, Urgent]),
            ("premium".to_owned(), [Normal, High, Urgent, Urgent]),
        ]);
        PriorityMatrix { rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(tier: &str, urgency: Level, expected: Level) {
        let matrix = PriorityMatrix::default();
        assert_eq!(matrix.priority(&Tier(tier.to_owned()), urgency), expected, "{tier} × {urgency}");
    }

    #[test]
    fn default_matrix() {
        use Level::*;
        check("basic", Low, Low);
        check("basic", Urgent, High);
        check("business", Normal, Normal);
        check("premium", Normal, High);
        check("premium", Urgent, Urgent);
        check("unknown-tier", High, Normal);
    }

    #[test]
    fn bad_matrices_are_refused() {
        use Level::*;
        assert_eq!(PriorityMatrix::parse(BTreeMap::new()), Err(MatrixError::Empty));
        let no_basic = BTreeMap::from([("gold".to_owned(), [Low, Low, Low, Low])]);
        assert_eq!(PriorityMatrix::parse(no_basic), Err(MatrixError::NoBasic));
        let falling = BTreeMap::from([("basic".to_owned(), [High, Low, Low, Low])]);
        assert!(matches!(PriorityMatrix::parse(falling), Err(MatrixError::NotMonotonic(_))));
    }

    fn level() -> impl Strategy<Value = Level> {
        (0usize..4).prop_map(|i| Level::ALL[i])
    }

    proptest! {
        /// In any valid matrix, raising urgency never lowers priority, and
        /// premium is never below basic in the default matrix.
        #[test]
        fn priority_is_monotonic(a in level(), b in level(), row in proptest::array::uniform4(level())) {
            let mut row = row;
            row.sort();
            let matrix = PriorityMatrix::parse(BTreeMap::from([("basic".to_owned(), row)])).unwrap();
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(matrix.priority(&Tier::basic(), low) <= matrix.priority(&Tier::basic(), high));
            let default = PriorityMatrix::default();
            prop_assert!(default.priority(&Tier("premium".into()), a) >= default.priority(&Tier::basic(), a));
        }

        #[test]
        fn rank_round_trips(level in level()) {
            prop_assert_eq!(Level::from_rank(level.rank()), Some(level));
        }
    }
}
