//! A ticket's events: the append-only record of every change, written with
//! the decision that made them and read back oldest first.

use rapport_core::{Event, TicketId};

use crate::db::{Conn, Insert, Statement, args};
use crate::error::StoreError;
use crate::rows::{EventRow, actor_columns};

static EVENT_INSERT: Insert = Insert {
    head: "INSERT INTO events (ticket_id, version, actor_type, actor_id, at, kind, payload) VALUES",
    tail: "",
    width: 7,
    order: 7,
};

/// Inserts events as one statement per event (fixed SQL text, cached).
pub(crate) async fn insert_events(conn: &mut Conn<'_>, events: &[Event]) -> Result<(), StoreError> {
    let statements = events.iter().map(event_insert).collect::<Result<Vec<_>, _>>()?;
    conn.execute_all(statements).await
}

pub(crate) fn events_insert(events: &[Event]) -> Result<Vec<Statement>, StoreError> {
    events.iter().map(event_insert).collect()
}

fn event_insert(event: &Event) -> Result<Statement, StoreError> {
    let (actor_type, actor_id) = actor_columns(event.actor);
    Ok((
        &EVENT_INSERT,
        args![
            event.ticket.0,
            event.version,
            actor_type,
            actor_id,
            event.at.0,
            event.change.kind(),
            serde_json::to_string(&event.change)?,
        ],
    ))
}

pub(crate) async fn load_events(conn: &mut Conn<'_>, ticket: TicketId) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<EventRow> = conn
        .fetch_all(
            "SELECT ticket_id, version, actor_type, actor_id, at, payload FROM events WHERE ticket_id = $1 ORDER BY id",
            args![ticket.0],
        )
        .await?;
    rows.into_iter().map(Event::try_from).collect()
}
