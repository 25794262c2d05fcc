//! Loops between rules: rule A's actions cause an event that triggers rule
//! B, whose actions cause an event that triggers A, and so on forever.
//!
//! The graph has an edge A → B when A is enabled, B is enabled, and one of
//! A's actions produces ([`Action::produces`](super::Action::produces)) the
//! event word of B's trigger. Conditions are ignored, which is conservative:
//! a loop that conditions would break in practice is still refused. A rule
//! whose actions trigger itself is a loop. Timer triggers have no incoming
//! edges, so they are never on a loop.

use super::model::Rule;

/// A loop between rules, naming them in order; the last one triggers the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules loop: {} → {}", .rules.join(" → "), .rules.first().map_or("", String::as_str))]
pub struct CycleError {
    /// The names of the rules on the loop, in order.
    pub rules: Vec<String>,
}

/// Whether rule `from` firing can trigger rule `to`.
pub fn triggers(from: &Rule, to: &Rule) -> bool {
    if !from.enabled || !to.enabled {
        return false;
    }
    let Some(event) = to.trigger.event() else {
        return false;
    };
    from.actions.iter().any(|action| action.produces().contains(&event))
}

/// Refuses a rule set with a loop. Which loop is reported is deterministic:
/// the first one a depth-first search in the given order finds.
pub fn check_cycles(rules: &[&Rule]) -> Result<(), CycleError> {
    let edges: Vec<Vec<usize>> =
        rules.iter().map(|from| (0..rules.len()).filter(|to| triggers(from, rules[*to])).collect()).collect();
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mark {
        Unseen,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::Unseen; rules.len()];
    for root in 0..rules.len() {
        if marks[root] != Mark::Unseen {
            continue;
        }
        // The current path, each node with the index of its next edge to try.
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::OnPath;
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            let Some(&target) = edges[node].get(*next) else {
                marks[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match marks[target] {
                Mark::Unseen => {
                    marks[target] = Mark::OnPath;
                    path.push((target, 0));
                }
                Mark::OnPath => {
                    let start = path.iter().position(|(on_path, _)| *on_path == target).unwrap_or(0);
                    let names = path[start..].iter().map(|(index, _)| rules[*index].name.clone()).collect();
                    return Err(CycleError { rules: names });
                }
                Mark::Done => {}
            }
        }
    }
    Ok(())
}
