//! Overflow routing: a team's setting (where its new tickets also go, and
//! after how long a wait), and the pass that moves new tickets when the
//! team's queue is backed up.
//!
//! The pass walks tickets in id order from a cursor kept in `settings`
//! (`overflow_after`), so each ticket is considered once, however many
//! instances run it: an instance first advances the cursor with a
//! compare-and-set in the same transaction that moves the tickets, and an
//! instance whose cursor moved meanwhile does nothing. The decision itself
//! ([`rapport_core::overflow`]) is pure.

use rapport_core::event;
use rapport_core::overflow::{self, Overflow};
use rapport_core::{Actor, Team, TeamId, TicketId, Timestamp};

use crate::Store;
use crate::audit::{NewAuditEntry, insert_audit};
use crate::db::{Conn, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::tickets::{load_ticket, save_decision};
use crate::teams::{TeamChanges, team_record, update_team_row};

/// The `settings` entry holding the last ticket id the pass handled.
const CURSOR_SETTING: &str = "overflow_after";

/// Tickets considered per transaction.
const BATCH: i64 = 200;

/// A ticket is considered once it is this old (ms). On PostgreSQL ids come
/// from a sequence, so a ticket whose transaction commits late can appear
/// behind a higher id; waiting this long keeps the cursor from passing it.
const SETTLE_MS: i64 = 10_000;

#[derive(sqlx::FromRow)]
struct OverflowRow {
    id: i64,
    overflow_team_id: Option<i64>,
    overflow_after_seconds: Option<i64>,
}

impl OverflowRow {
    fn overflow(&self) -> Option<Overflow> {
        overflow_of(self.overflow_team_id, self.overflow_after_seconds)
    }
}

/// A setting from its two columns; both are set or neither.
fn overflow_of(team: Option<i64>, after_seconds: Option<i64>) -> Option<Overflow> {
    match (team, after_seconds) {
        (Some(team), Some(after_seconds)) => Some(Overflow { team: TeamId(team), after_seconds }),
        _ => None,
    }
}

#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: i64,
    team_id: Option<i64>,
    created_at: i64,
    overflow_team_id: Option<i64>,
    overflow_after_seconds: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct OldestRow {
    oldest: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ValueRow {
    value: String,
}

fn invalid(field: &str, problem: impl Into<String>) -> StoreError {
    Rejection::Invalid { field: field.to_owned(), problem: problem.into() }.into()
}

impl Store {
    /// Sets (or clears, `None`) where the team's new tickets also go when its
    /// oldest waiting ticket has waited longer than `after_seconds`. Refuses
    /// an overflow team that does not exist or is the team itself
    /// (`overflow_team`), and a wait that is not positive (`overflow_after_minutes`).
    pub async fn set_overflow(&self, team: TeamId, overflow: Option<Overflow>) -> Result<Option<Overflow>, StoreError> {
        self.write(move |conn| Box::pin(write_overflow(conn, team, overflow))).await
    }

    /// Changes a team's name or description and, with `overflow`, its
    /// overflow setting ([`Store::set_overflow`]), in one transaction: a
    /// refused overflow or a taken name leaves the team as it was.
    pub async fn update_team_and_overflow(
        &self,
        team: TeamId,
        changes: TeamChanges,
        overflow: Option<Option<Overflow>>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Team, Option<Overflow>), StoreError> {
        let kept = self
            .write(move |conn| {
                Box::pin(async move {
                    let old = team_record(conn, team).await?;
                    let kept = match overflow {
                        Some(overflow) => write_overflow(conn, team, overflow).await?,
                        None => find_team_overflow(conn, team).await?,
                    };
                    update_team_row(conn, team, changes).await?;
                    let new = team_record(conn, team).await?;
                    if old != new {
                        let entry = NewAuditEntry::of(actor, "team", team.0, "changed", Some(old), Some(new), now);
                        insert_audit(conn, &entry).await?;
                    }
                    Ok(kept)
                })
            })
            .await?;
        Ok((self.get_team(team).await?, kept))
    }

    /// The team's overflow setting; `NotFound` when the team does not exist.
    pub async fn find_overflow(&self, team: TeamId) -> Result<Option<Overflow>, StoreError> {
        self.db.read(move |conn| Box::pin(find_team_overflow(conn, team))).await
    }

    /// Every team that has an overflow setting, by id.
    pub async fn list_overflows(&self) -> Result<Vec<(TeamId, Overflow)>, StoreError> {
        let rows: Vec<OverflowRow> = self
            .db
            .fetch_all(
                "SELECT id, overflow_team_id, overflow_after_seconds FROM teams \
                 WHERE overflow_team_id IS NOT NULL ORDER BY id",
                args![],
            )
            .await?;
        Ok(rows.iter().filter_map(|row| row.overflow().map(|overflow| (TeamId(row.id), overflow))).collect())
    }

    /// Moves the tickets created since the last pass whose team was backed
    /// up when they arrived (its oldest other waiting ticket had waited past
    /// the team's threshold) to the overflow team, tagged `overflow`, as
    /// Rapport itself. Returns how many moved. The automation loop calls it
    /// every tick.
    pub async fn route_overflow(&self, now: Timestamp) -> Result<usize, StoreError> {
        let mut moved = 0;
        loop {
            let (batch_moved, more) =
                self.write(move |conn| Box::pin(async move { route_batch(conn, now).await })).await?;
            moved += batch_moved;
            if !more {
                return Ok(moved);
            }
        }
    }
}

/// Checks and sets a team's overflow setting (see [`Store::set_overflow`]).
async fn write_overflow(
    conn: &mut Conn<'_>,
    team: TeamId,
    overflow: Option<Overflow>,
) -> Result<Option<Overflow>, StoreError> {
    find_team_overflow(conn, team).await?;
    if let Some(overflow) = overflow {
        if overflow.team == team {
            return Err(invalid("overflow_team", "a team cannot overflow into itself"));
        }
        match find_team_overflow(conn, overflow.team).await {
            Ok(_) => {}
            Err(StoreError::NotFound(_)) => {
                return Err(invalid("overflow_team", format!("team {} does not exist", overflow.team)));
            }
            Err(error) => return Err(error),
        }
        if overflow.after_seconds <= 0 {
            return Err(invalid("overflow_after_minutes", "the wait must be at least one minute"));
        }
    }
    conn.execute(
        "UPDATE teams SET overflow_team_id = $1, overflow_after_seconds = $2 WHERE id = $3",
        args![overflow.map(|overflow| overflow.team.0), overflow.map(|overflow| overflow.after_seconds), team.0],
    )
    .await?;
    Ok(overflow)
}

async fn find_team_overflow(conn: &mut Conn<'_>, team: TeamId) -> Result<Option<Overflow>, StoreError> {
    let row: Option<OverflowRow> = conn
        .fetch_optional("SELECT id, overflow_team_id, overflow_after_seconds FROM teams WHERE id = $1", args![team.0])
        .await?;
    Ok(row.ok_or(StoreError::NotFound("team"))?.overflow())
}

/// One batch of the pass: claims the next tickets by advancing the cursor,
/// then routes them. Returns how many moved and whether more may follow.
async fn route_batch(conn: &mut Conn<'_>, now: Timestamp) -> Result<(usize, bool), StoreError> {
    conn.execute(
        "INSERT INTO settings (name, value) VALUES ($1, '0') ON CONFLICT (name) DO NOTHING",
        args![CURSOR_SETTING],
    )
    .await?;
    let cursor: ValueRow = conn.fetch_one("SELECT value FROM settings WHERE name = $1", args![CURSOR_SETTING]).await?;
    let after: i64 = cursor
        .value
        .parse()
        .map_err(|_| StoreError::Other(anyhow::anyhow!("settings.{CURSOR_SETTING} is not a ticket id")))?;
    let settled = now.0.saturating_sub(SETTLE_MS);
    let any: crate::db::IdRow =
        conn.fetch_one("SELECT COUNT(*) AS id FROM teams WHERE overflow_team_id IS NOT NULL", args![]).await?;
    if any.id == 0 {
        // No team overflows: the cursor passes every settled ticket at once
        // (a first start on a large database would otherwise walk them all,
        // a batch per write).
        let last: crate::db::IdRow = conn
            .fetch_one(
                "SELECT COALESCE(MAX(id), $1) AS id FROM tickets WHERE id > $1 AND created_at <= $2",
                args![after, settled],
            )
            .await?;
        if last.id > after {
            conn.execute(
                "UPDATE settings SET value = $1 WHERE name = $2 AND value = $3",
                args![last.id.to_string(), CURSOR_SETTING, cursor.value],
            )
            .await?;
        }
        return Ok((0, false));
    }
    let rows: Vec<CandidateRow> = conn
        .fetch_all(
            "SELECT t.id, t.team_id, t.created_at, tm.overflow_team_id, tm.overflow_after_seconds \
             FROM tickets t LEFT JOIN teams tm ON tm.id = t.team_id WHERE t.id > $1 ORDER BY t.id LIMIT $2",
            args![after, BATCH],
        )
        .await?;
    let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) == BATCH;
    let ready: Vec<CandidateRow> = rows.into_iter().take_while(|row| row.created_at <= settled).collect();
    let Some(last) = ready.last().map(|row| row.id) else { return Ok((0, false)) };
    let claimed = conn
        .execute(
            "UPDATE settings SET value = $1 WHERE name = $2 AND value = $3",
            args![last.to_string(), CURSOR_SETTING, cursor.value],
        )
        .await?;
    if claimed == 0 {
        // Another instance handled these tickets meanwhile.
        return Ok((0, false));
    }
    let more = full && i64::try_from(ready.len()).unwrap_or(0) == BATCH;
    let mut moved = 0;
    for row in ready {
        let (Some(team), Some(overflow)) =
            (row.team_id.map(TeamId), overflow_of(row.overflow_team_id, row.overflow_after_seconds))
        else {
            continue;
        };
        let oldest: OldestRow = conn
            .fetch_one(
                "SELECT MIN(created_at) AS oldest FROM tickets WHERE team_id = $1 AND status IN ('new', 'open') \
                 AND owner_id IS NULL AND merged_into IS NULL AND id <> $2",
                args![team.0, row.id],
            )
            .await?;
        if !overflow::overflows(oldest.oldest.map(Timestamp), overflow.after_seconds, Timestamp(row.created_at)) {
            continue;
        }
        let ticket = load_ticket(conn, TicketId(row.id), true).await?;
        let Some(automation) = overflow::route(&ticket, team, overflow) else { continue };
        let decision = event::automate(&ticket, automation, now);
        save_decision(conn, &ticket, &decision).await?;
        moved += 1;
    }
    Ok((moved, more))
}
