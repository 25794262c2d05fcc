//! Full-text search over ticket subjects, message texts and customers' names
//! and addresses, ranked, with the database's own engine: FTS5 (bm25) on
//! SQLite, tsvector + GIN (ts_rank) on PostgreSQL. This is one of the few
//! places where the SQL differs per dialect.
//!
//! A search ranks a bounded set of candidates (the best [`CANDIDATES`]
//! subjects and customers' tickets, and four times as many messages), keeps
//! each ticket's best match, and pages through them by (score, number) with a
//! cursor, visibility applied in the same query (and no join at all for a
//! viewer who sees every ticket). Each hit carries a plain-text snippet of its
//! best match, built from the stored text the same way on both databases
//! ([`crate::snippet`]), so no markup from customer text ever reaches a
//! client.

use std::collections::HashMap;

use rapport_core::{MessageId, Ticket, TicketId, Viewer};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Arg, Conn, Dialect, numbered_placeholders};
use crate::error::StoreError;
use crate::rows::{TICKET_COLUMNS, TicketRow};
use crate::snippet::{SnippetPart, fold, highlight, window};
use crate::ticket_list::{TicketFilter, TicketNames, conditions, load_names};

/// One search result.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The ticket.
    pub ticket: Ticket,
    /// Relevance; higher is better.
    pub rank: f64,
    /// The names beside the ticket's ids.
    pub names: TicketNames,
    /// Where the best match is, and a short text around it.
    pub snippet: Snippet,
}

/// One page of search results, best first.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// The results.
    pub hits: Vec<SearchHit>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// What matched best in a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchSource {
    /// The ticket's subject.
    Subject,
    /// One of its messages.
    Message(MessageId),
    /// Its customer's name or an address.
    Customer,
}

/// A short plain text around a match, cut into parts; the matching words are
/// the parts with `matched` set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// Where the text comes from.
    pub source: MatchSource,
    /// The text in order.
    pub parts: Vec<SnippetPart>,
}

/// A position in search results: the score and number of the last hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchCursor {
    score: f64,
    id: i64,
}

impl SearchCursor {
    /// Parses a cursor returned as `next_cursor`.
    pub fn parse(text: &str) -> Option<SearchCursor> {
        let (score, id) = text.split_once('_')?;
        let score: f64 = score.parse().ok()?;
        let id = id.parse().ok()?;
        score.is_finite().then_some(SearchCursor { score, id })
    }

    fn after(hit: &SearchHit) -> String {
        // `{}` prints the shortest text that parses back to the same f64.
        format!("{}_{}", hit.rank, hit.ticket.id.0)
    }
}

/// How many subjects, and customers' tickets, are ranked; four times as many
/// messages. Results page through the tickets among these.
pub const CANDIDATES: i64 = 500;

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

/// Ranks candidates by index ($1 the query, $2 subjects and customers'
/// tickets, $3 messages) and keeps each ticket's best match as `best`.
const SQLITE_RANKED: &str = "WITH hits(ticket_id, score, source, source_id) AS ( \
       SELECT m.ticket_id, f.score, 'message', f.rowid FROM ( \
         SELECT rowid, rank AS score FROM messages_fts WHERE messages_fts MATCH $1 ORDER BY rank LIMIT $3) f \
       JOIN messages m ON m.id = f.rowid \
       UNION ALL \
       SELECT * FROM (SELECT rowid, rank * 2, 'subject', rowid FROM tickets_fts \
         WHERE tickets_fts MATCH $1 ORDER BY rank LIMIT $2) \
       UNION ALL \
       SELECT * FROM (SELECT t.id, f.score * 2, 'customer', f.rowid FROM ( \
           SELECT rowid, rank AS score FROM customers_fts WHERE customers_fts MATCH $1 ORDER BY rank LIMIT $2) f \
         JOIN tickets t ON t.customer_id = f.rowid ORDER BY f.score, t.id DESC LIMIT $2) \
     ), best AS (SELECT ticket_id, -MIN(score) AS score, source, source_id FROM hits GROUP BY ticket_id)";

/// The same on PostgreSQL, where a higher `ts_rank` is better.
const POSTGRES_RANKED: &str = "WITH q AS (SELECT plainto_tsquery('simple', $1) AS q), hits AS ( \
       (SELECT m.ticket_id, ts_rank(m.search, q.q)::float8 AS score, 'message' AS source, m.id AS source_id \
        FROM messages m, q WHERE m.search @@ q.q ORDER BY 2 DESC LIMIT $3) \
       UNION ALL \
       (SELECT t.id, ts_rank(t.search, q.q)::float8 * 2, 'subject', t.id \
        FROM tickets t, q WHERE t.search @@ q.q ORDER BY 2 DESC LIMIT $2) \
       UNION ALL \
       (SELECT t.id, c.score * 2, 'customer', c.customer_id FROM ( \
           SELECT cs.customer_id, ts_rank(cs.search, q.q)::float8 AS score FROM customer_search cs, q \
           WHERE cs.search @@ q.q ORDER BY 2 DESC LIMIT $2) c \
        JOIN tickets t ON t.customer_id = c.customer_id ORDER BY c.score DESC, t.id DESC LIMIT $2) \
     ), best AS (SELECT DISTINCT ON (ticket_id) ticket_id, score, source, source_id FROM hits \
       ORDER BY ticket_id, score DESC, source_id)";

#[derive(sqlx::FromRow)]
struct RankedRow {
    ticket_id: i64,
    score: f64,
    source: String,
    source_id: i64,
}

#[derive(sqlx::FromRow)]
struct TextRow {
    id: i64,
    text: String,
}

#[derive(sqlx::FromRow)]
struct AddressRow {
    customer_id: i64,
    value: String,
}

impl Store {
    /// The first `limit` tickets matching every word of `query`, best first,
    /// that `viewer` may see.
    pub async fn search(&self, query: &str, viewer: &Viewer, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        Ok(self.search_page(query, viewer, limit, None).await?.hits)
    }

    /// A page of the tickets matching every word of `query`, best first,
    /// that `viewer` may see, after `cursor`.
    pub async fn search_page(
        &self,
        query: &str,
        viewer: &Viewer,
        limit: usize,
        cursor: Option<SearchCursor>,
    ) -> Result<SearchPage, StoreError> {
        let words = words(query);
        if words.is_empty() || limit == 0 {
            return Ok(SearchPage { hits: Vec::new(), next_cursor: None });
        }
        let dialect = self.dialect();
        let text = match dialect {
            Dialect::Sqlite => words.iter().map(|word| format!("\"{word}\"")).collect::<Vec<_>>().join(" "),
            Dialect::Postgres => words.join(" "),
        };
        let page_size = i64::try_from(limit).unwrap_or(CANDIDATES);
        let mut values: Vec<Arg> = vec![text.into(), CANDIDATES.into(), (CANDIDATES * 4).into(), page_size.into()];
        let visible = conditions(&TicketFilter::default(), viewer, &mut values);
        let after = match cursor {
            Some(cursor) => {
                values.push(cursor.score.into());
                let score = values.len();
                values.push(cursor.id.into());
                let id = values.len();
                format!(" AND (b.score < ${score} OR (b.score = ${score} AND b.ticket_id > ${id}))")
            }
            None => String::new(),
        };
        let ranked = match dialect {
            Dialect::Sqlite => SQLITE_RANKED,
            Dialect::Postgres => POSTGRES_RANKED,
        };
        // The join to tickets is only for what a viewer may see: one seek per
        // candidate, most of a search's cost for a viewer who sees them all.
        let join = if visible.is_empty() { "" } else { " JOIN tickets t ON t.id = b.ticket_id" };
        let sql = format!(
            "{ranked} SELECT b.ticket_id, b.score, b.source, b.source_id FROM best b{join} \
             WHERE 1 = 1{visible}{after} ORDER BY b.score DESC, b.ticket_id LIMIT $4"
        );
        let hits = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    let ranked: Vec<RankedRow> = conn.fetch_all(AssertSqlSafe(sql), values).await?;
                    hydrate(conn, ranked, &words).await
                })
            })
            .await?;
        let next_cursor = if hits.len() == limit { hits.last().map(SearchCursor::after) } else { None };
        Ok(SearchPage { hits, next_cursor })
    }
}

/// Loads the tickets, names and snippets of a page of ranked hits, in a few
/// reads whatever the page size.
async fn hydrate(conn: &mut Conn<'_>, ranked: Vec<RankedRow>, words: &[String]) -> Result<Vec<SearchHit>, StoreError> {
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<TicketId> = ranked.iter().map(|row| TicketId(row.ticket_id)).collect();
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id IN ({})", numbered_placeholders(1, ids.len()));
    let rows: Vec<TicketRow> =
        conn.fetch_all(AssertSqlSafe(sql), ids.iter().map(|id| Arg::from(id.0)).collect()).await?;
    let mut tickets = HashMap::with_capacity(rows.len());
    for row in rows {
        let ticket = Ticket::try_from(row)?;
        tickets.insert(ticket.id, ticket);
    }
    let mut names = load_names(conn, &ids).await?;
    let folded: Vec<String> = words.iter().map(|word| fold(word)).collect();
    let of = |source: &str| -> Vec<i64> {
        ranked.iter().filter(|row| row.source == source).map(|row| row.source_id).collect()
    };
    let messages = message_texts(conn, &of("message")).await?;
    let customers = customer_snippets(conn, &of("customer"), &folded).await?;
    let mut hits = Vec::with_capacity(ranked.len());
    for row in ranked {
        let Some(ticket) = tickets.remove(&TicketId(row.ticket_id)) else { continue };
        let (source, parts) = match row.source.as_str() {
            "message" => (
                MatchSource::Message(MessageId(row.source_id)),
                messages.get(&row.source_id).map(|text| window(text, &folded)).unwrap_or_default(),
            ),
            "customer" => (MatchSource::Customer, customers.get(&row.source_id).cloned().unwrap_or_default()),
            _ => (MatchSource::Subject, highlight(&ticket.subject, &folded)),
        };
        hits.push(SearchHit {
            names: names.remove(&ticket.id).unwrap_or_default(),
            ticket,
            rank: row.score,
            snippet: Snippet { source, parts },
        });
    }
    Ok(hits)
}

/// The texts of the messages `ids`, by id.
async fn message_texts(conn: &mut Conn<'_>, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("SELECT id, text FROM messages WHERE id IN ({})", numbered_placeholders(1, ids.len()));
    let rows: Vec<TextRow> = conn.fetch_all(AssertSqlSafe(sql), ids.iter().map(|id| Arg::from(*id)).collect()).await?;
    Ok(rows.into_iter().map(|row| (row.id, row.text)).collect())
}

/// The customers' names and addresses, with the words of the query marked.
async fn customer_snippets(
    conn: &mut Conn<'_>,
    ids: &[i64],
    words: &[String],
) -> Result<HashMap<i64, Vec<SnippetPart>>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let listed = numbered_placeholders(1, ids.len());
    let values: Vec<Arg> = ids.iter().map(|id| Arg::from(*id)).collect();
    let sql = format!(
        "SELECT id AS customer_id, name AS value FROM customers WHERE id IN ({listed}) \
         UNION ALL SELECT customer_id, value FROM (SELECT customer_id, value FROM identities \
           WHERE customer_id IN ({listed}) ORDER BY kind, value) addresses"
    );
    let rows: Vec<AddressRow> = conn.fetch_all(AssertSqlSafe(sql), values).await?;
    let mut texts: HashMap<i64, Vec<String>> = HashMap::new();
    for row in rows {
        texts.entry(row.customer_id).or_default().push(row.value);
    }
    Ok(texts.into_iter().map(|(id, pieces)| (id, highlight(&pieces.join(" · "), words))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_drop_syntax() {
        assert_eq!(words("Printer \"ON\" fire* OR NEAR(x)"), vec!["printer", "on", "fire", "or", "near", "x"]);
        assert!(words("  ** ").is_empty());
    }

    #[test]
    fn issue_14_cursors_round_trip_exactly() {
        let hit_score = 0.1f64 + 0.2;
        let cursor = SearchCursor::parse(&format!("{hit_score}_42")).unwrap();
        assert_eq!(cursor, SearchCursor { score: hit_score, id: 42 });
        for bad in ["", "1.5", "x_1", "1.5_x", "NaN_1", "inf_2"] {
            assert_eq!(SearchCursor::parse(bad), None, "{bad}");
        }
    }
}
