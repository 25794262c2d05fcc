//! A rule's dry run: on the open tickets now, which ones a rule would fire
//! on if it were saved, without saving it or firing anything. The rule is
//! checked as saving checks it; the tickets are read from their timer cards
//! (what the timer pass reads), measured at `now` by the same progress
//! function, and evaluated by core's own rule evaluation.

use rapport_core::rules::{Rule, RuleId, RuleTrigger, conditions_hold, on_timer};
use rapport_core::{TicketId, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::args;
use crate::error::StoreError;
use crate::rows::CardRow;
use crate::rules::{check_rule, load_rules};
use crate::timers::progress;

/// The most open tickets a dry run reads (the oldest first).
pub const DRY_RUN_TICKETS: i64 = 50_000;

/// What a dry run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    /// The tickets it would fire on, by id, each with why (the timer rule's
    /// key, or the event that would set it off).
    pub tickets: Vec<(TicketId, String)>,
    /// How many open tickets were checked.
    pub checked: usize,
    /// True when there were more open tickets than a dry run reads.
    pub cut: bool,
}

impl Store {
    /// On the open tickets at `now`, the ones `rule` would fire on: a timer
    /// rule where its trigger holds now (whether or not a saved copy fired
    /// before), an event rule where its conditions hold now (it would fire
    /// at the ticket's next such event). The rule is refused, naming the
    /// field, as saving would refuse it.
    pub async fn dry_run_rule(&self, rule: Rule, now: Timestamp) -> Result<DryRun, StoreError> {
        let checked_rule = rule.clone();
        let cards: Vec<CardRow> = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    let stored = load_rules(conn).await?;
                    check_rule(conn, &checked_rule, None, &stored).await?;
                    let sql = "SELECT ticket_id, card FROM ticket_sla WHERE open = 1 ORDER BY ticket_id LIMIT $1";
                    conn.fetch_all(AssertSqlSafe(sql), args![DRY_RUN_TICKETS + 1]).await
                })
            })
            .await?;
        let cut = cards.len() as i64 > DRY_RUN_TICKETS;
        let (_, set) = self.policy_set().await?;
        let rules = [(RuleId(0), rule)];
        let mut tickets = Vec::new();
        for row in cards.iter().take(DRY_RUN_TICKETS as usize) {
            let card = row.decode()?;
            let why = match &rules[0].1.trigger {
                RuleTrigger::Event { event } => conditions_hold(&rules[0].1, &card.snapshot)
                    .then(|| format!("its conditions hold now: it fires at the ticket's next {event}")),
                _ => {
                    let targets: Vec<_> = card
                        .targets
                        .iter()
                        .map(|target| progress(target, card.computed_at, now, &set, card.policy))
                        .collect();
                    on_timer(&rules, &card.snapshot, &targets, now).into_iter().next().map(|firing| firing.key)
                }
            };
            if let Some(why) = why {
                tickets.push((TicketId(row.ticket_id), why));
            }
        }
        Ok(DryRun { tickets, checked: cards.len().min(DRY_RUN_TICKETS as usize), cut })
    }
}
