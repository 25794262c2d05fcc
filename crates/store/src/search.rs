//! Full-text search over ticket subjects and message texts, ranked, with the
//! database's own engine: FTS5 (bm25) on SQLite, tsvector + GIN (ts_rank) on
//! PostgreSQL. This is one of the few places where the SQL differs per dialect.

use rapport_core::{Ticket, TicketId, Viewer};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Dialect, args};
use crate::error::StoreError;
use crate::rows::{TICKET_COLUMNS, TicketRow};

/// One search result.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The ticket.
    pub ticket: Ticket,
    /// Relevance; higher is better.
    pub rank: f64,
}

#[derive(sqlx::FromRow)]
struct RankedRow {
    ticket_id: i64,
    score: f64,
}

/// The words of a query, each at most 64 characters, at most 16 of them.
/// Search syntax is not exposed: every word must match.
pub(crate) fn words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| word.chars().take(64).collect::<String>().to_lowercase())
        .take(16)
        .collect()
}

/// Indexes the tickets and messages written since the last call (SQLite
/// only; the writer runs it at the end of every batch, inside the batch's
/// transaction, so whatever is committed is searchable).
pub(crate) const SQLITE_INDEX_NEW_ROWS: &str = "\
    INSERT INTO tickets_fts(rowid, subject) SELECT id, subject FROM tickets \
        WHERE id > (SELECT last_id FROM search_indexed WHERE name = 'tickets'); \
    UPDATE search_indexed SET last_id = (SELECT COALESCE(MAX(id), 0) FROM tickets) WHERE name = 'tickets'; \
    INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages \
        WHERE id > (SELECT last_id FROM search_indexed WHERE name = 'messages'); \
    UPDATE search_indexed SET last_id = (SELECT COALESCE(MAX(id), 0) FROM messages) WHERE name = 'messages'";

/// How many matching tickets are ranked before visibility filtering, for a
/// caller who does not see every ticket.
const CANDIDATES: i64 = 500;

impl Store {
    /// Tickets matching every word of `query`, best first, that `viewer` may see.
    pub async fn search(&self, query: &str, viewer: &Viewer, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        let words = words(query);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let dialect = self.dialect();
        let (sql, text) = match dialect {
            Dialect::Sqlite => {
                let fts_query = words.iter().map(|word| format!("\"{word}\"")).collect::<Vec<_>>().join(" ");
                // Each index ranks its own best matches first (FTS5 keeps only the
                // top `$3` while ranking), so only those are joined and grouped.
                let sql = "SELECT ticket_id, -MIN(score) AS score FROM ( \
                       SELECT m.ticket_id AS ticket_id, f.score AS score FROM ( \
                         SELECT rowid, rank AS score FROM messages_fts WHERE messages_fts MATCH $1 \
                         ORDER BY rank LIMIT $3) f \
                       JOIN messages m ON m.id = f.rowid \
                       UNION ALL \
                       SELECT * FROM (SELECT rowid AS ticket_id, rank * 2 AS score FROM tickets_fts \
                         WHERE tickets_fts MATCH $1 ORDER BY rank LIMIT $3) \
                     ) GROUP BY ticket_id ORDER BY MIN(score) LIMIT $2";
                (sql, fts_query)
            }
            Dialect::Postgres => {
                let sql = "SELECT ticket_id, MAX(score)::float8 AS score FROM ( \
                       (SELECT m.ticket_id AS ticket_id, ts_rank(m.search, q) AS score \
                        FROM messages m, plainto_tsquery('simple', $1) q WHERE m.search @@ q \
                        ORDER BY score DESC LIMIT $3) \
                       UNION ALL \
                       (SELECT t.id AS ticket_id, ts_rank(t.search, q) * 2 AS score \
                        FROM tickets t, plainto_tsquery('simple', $1) q WHERE t.search @@ q \
                        ORDER BY score DESC LIMIT $3) \
                     ) ranked GROUP BY ticket_id ORDER BY MAX(score) DESC, ticket_id LIMIT $2";
                (sql, words.join(" "))
            }
        };
        // Supervisors and admins see everything: rank exactly as many as asked for.
        let candidates = if viewer.sees_all() { i64::try_from(limit).unwrap_or(CANDIDATES) } else { CANDIDATES };
        let ranked: Vec<RankedRow> = self
            .db
            .read(move |conn| {
                Box::pin(
                    async move { conn.fetch_all(sql, args![text, candidates, candidates.saturating_mul(4)]).await },
                )
            })
            .await?;
        if ranked.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = ranked.iter().map(|row| row.ticket_id).collect();
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id IN ({})", placeholders.join(", "));
        let rows: Vec<TicketRow> = self
            .db
            .read(move |conn| {
                Box::pin(
                    async move { conn.fetch_all(AssertSqlSafe(sql), ids.into_iter().map(Into::into).collect()).await },
                )
            })
            .await?;
        let mut tickets: std::collections::HashMap<TicketId, Ticket> = std::collections::HashMap::new();
        for row in rows {
            let ticket = Ticket::try_from(row)?;
            tickets.insert(ticket.id, ticket);
        }
        Ok(ranked
            .into_iter()
            .filter_map(|row| {
                tickets.remove(&TicketId(row.ticket_id)).map(|ticket| SearchHit { ticket, rank: row.score })
            })
            .filter(|hit| viewer.can_see(&hit.ticket))
            .take(limit)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn query_words_drop_syntax() {
        assert_eq!(words("Printer \"ON\" fire* OR NEAR(x)"), vec!["printer", "on", "fire", "or", "near", "x"]);
        assert!(words("  ** ").is_empty());
    }
}
