//! Full-text search over ticket subjects, message texts and customers' names
//! and addresses, ranked, with the database's own engine: FTS5 (bm25) on
//! SQLite, tsvector + GIN (ts_rank) on PostgreSQL. This is one of the few
//! places where the SQL differs per dialect.
//!
//! A search ranks a bounded set of candidates (the best [`CANDIDATES`]
//! subjects and customers' tickets, and four times as many messages), keeps
//! each ticket's best match, and pages through them by (score, number) with a
//! cursor, visibility applied in the same query. Each hit carries a snippet
//! of its best match: FTS5's `snippet()` or PostgreSQL's `ts_headline()` for
//! subjects and messages, marked with two noncharacters and split here into
//! plain-text parts (so no markup from customer text ever reaches a client),
//! and the customer's name and addresses, with the matching words marked, for
//! a customer match.

use std::collections::HashMap;

use rapport_core::{MessageId, Ticket, TicketId, Viewer};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Arg, Conn, Dialect};
use crate::error::StoreError;
use crate::rows::{TICKET_COLUMNS, TicketRow};
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

/// A piece of a snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnippetPart {
    /// Plain text.
    pub text: String,
    /// Whether it is a matching word.
    pub matched: bool,
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

/// Marks the engine puts around matching words: noncharacters, which no
/// text a customer sends is expected to hold.
const START: char = '\u{FDD0}';
const STOP: char = '\u{FDD1}';

/// How many subjects, and customers' tickets, are ranked; four times as many
/// messages. Results page through the tickets among these.
pub const CANDIDATES: i64 = 500;

/// Words around a match in a snippet.
const SNIPPET_WORDS: i64 = 16;

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

/// Indexes the tickets, messages and customers written since the last call
/// (SQLite only; the writer runs it at the end of every batch, inside the
/// batch's transaction, so whatever is committed is searchable).
pub(crate) const SQLITE_INDEX_NEW_ROWS: &str = "\
    INSERT INTO tickets_fts(rowid, subject) SELECT id, subject FROM tickets \
        WHERE id > (SELECT last_id FROM search_indexed WHERE name = 'tickets'); \
    UPDATE search_indexed SET last_id = (SELECT COALESCE(MAX(id), 0) FROM tickets) WHERE name = 'tickets'; \
    INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages \
        WHERE id > (SELECT last_id FROM search_indexed WHERE name = 'messages'); \
    UPDATE search_indexed SET last_id = (SELECT COALESCE(MAX(id), 0) FROM messages) WHERE name = 'messages'; \
    INSERT INTO customers_fts(rowid, name, addresses) SELECT c.id, c.name, \
        COALESCE((SELECT group_concat(i.value, ' ') FROM identities i WHERE i.customer_id = c.id), '') \
        FROM customers c WHERE c.id > (SELECT last_id FROM search_indexed WHERE name = 'customers'); \
    UPDATE search_indexed SET last_id = (SELECT COALESCE(MAX(id), 0) FROM customers) WHERE name = 'customers'";

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
struct SnippetRow {
    id: i64,
    snippet: String,
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
        let mut values: Vec<Arg> =
            vec![text.clone().into(), CANDIDATES.into(), (CANDIDATES * 4).into(), page_size.into()];
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
        let sql = format!(
            "{ranked} SELECT b.ticket_id, b.score, b.source, b.source_id FROM best b JOIN tickets t ON t.id = b.ticket_id \
             WHERE 1 = 1{visible}{after} ORDER BY b.score DESC, b.ticket_id LIMIT $4"
        );
        let hits = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    let ranked: Vec<RankedRow> = conn.fetch_all(AssertSqlSafe(sql), values).await?;
                    hydrate(conn, ranked, &text, &words).await
                })
            })
            .await?;
        let next_cursor = if hits.len() == limit { hits.last().map(SearchCursor::after) } else { None };
        Ok(SearchPage { hits, next_cursor })
    }
}

/// Loads the tickets, names and snippets of a page of ranked hits, in a few
/// reads whatever the page size.
async fn hydrate(
    conn: &mut Conn<'_>,
    ranked: Vec<RankedRow>,
    text: &str,
    words: &[String],
) -> Result<Vec<SearchHit>, StoreError> {
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<TicketId> = ranked.iter().map(|row| TicketId(row.ticket_id)).collect();
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id IN ({})", placeholders(1, ids.len()));
    let rows: Vec<TicketRow> =
        conn.fetch_all(AssertSqlSafe(sql), ids.iter().map(|id| Arg::from(id.0)).collect()).await?;
    let mut tickets = HashMap::with_capacity(rows.len());
    for row in rows {
        let ticket = Ticket::try_from(row)?;
        tickets.insert(ticket.id, ticket);
    }
    let mut names = load_names(conn, &ids).await?;
    let of = |source: &str| -> Vec<i64> {
        ranked.iter().filter(|row| row.source == source).map(|row| row.source_id).collect()
    };
    let messages = engine_snippets(conn, "message", &of("message"), text).await?;
    let subjects = engine_snippets(conn, "subject", &of("subject"), text).await?;
    let customers = customer_snippets(conn, &of("customer"), words).await?;
    let mut hits = Vec::with_capacity(ranked.len());
    for row in ranked {
        let Some(ticket) = tickets.remove(&TicketId(row.ticket_id)) else { continue };
        let (source, parts) = match row.source.as_str() {
            "message" => (MatchSource::Message(MessageId(row.source_id)), messages.get(&row.source_id)),
            "customer" => (MatchSource::Customer, customers.get(&row.source_id)),
            _ => (MatchSource::Subject, subjects.get(&row.source_id)),
        };
        let parts = parts.cloned().unwrap_or_default();
        hits.push(SearchHit {
            names: names.remove(&ticket.id).unwrap_or_default(),
            ticket,
            rank: row.score,
            snippet: Snippet { source, parts },
        });
    }
    Ok(hits)
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// The engine's snippets of the matching messages or subjects `ids`, by id.
async fn engine_snippets(
    conn: &mut Conn<'_>,
    source: &str,
    ids: &[i64],
    text: &str,
) -> Result<HashMap<i64, Vec<SnippetPart>>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let (sql, mut values): (String, Vec<Arg>) = match conn.dialect() {
        Dialect::Sqlite => {
            let table = if source == "message" { "messages_fts" } else { "tickets_fts" };
            let listed = placeholders(4, ids.len());
            (
                format!(
                    "SELECT rowid AS id, snippet({table}, 0, $2, $3, '…', {SNIPPET_WORDS}) AS snippet \
                     FROM {table} WHERE {table} MATCH $1 AND rowid IN ({listed})"
                ),
                vec![text.into(), START.to_string().into(), STOP.to_string().into()],
            )
        }
        Dialect::Postgres => {
            let (column, table) = if source == "message" { ("text", "messages") } else { ("subject", "tickets") };
            let listed = placeholders(3, ids.len());
            let options = format!(
                "StartSel=\"{START}\", StopSel=\"{STOP}\", MaxWords={SNIPPET_WORDS}, MinWords=8, ShortWord=0, \
                 MaxFragments=1, FragmentDelimiter=\" … \""
            );
            (
                format!(
                    "SELECT id, ts_headline('simple', {column}, plainto_tsquery('simple', $1), $2) AS snippet \
                     FROM {table} WHERE id IN ({listed})"
                ),
                vec![text.into(), options.into()],
            )
        }
    };
    values.extend(ids.iter().map(|id| Arg::from(*id)));
    let rows: Vec<SnippetRow> = conn.fetch_all(AssertSqlSafe(sql), values).await?;
    Ok(rows.into_iter().map(|row| (row.id, marked_parts(&row.snippet))).collect())
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
    let listed = placeholders(1, ids.len());
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

/// Splits a text the engine marked with [`START`] and [`STOP`] into parts.
fn marked_parts(marked: &str) -> Vec<SnippetPart> {
    let mut parts: Vec<SnippetPart> = Vec::new();
    let mut current = String::new();
    let mut matched = false;
    for c in marked.chars() {
        let toggle = match c {
            START => Some(true),
            STOP => Some(false),
            _ => None,
        };
        match toggle {
            Some(next) => {
                push_part(&mut parts, std::mem::take(&mut current), matched);
                matched = next;
            }
            None => current.push(c),
        }
    }
    push_part(&mut parts, current, matched);
    parts
}

/// Marks the words of `text` that are words of the query (compared as the
/// query is: split on anything not a letter or digit, lower-cased).
fn highlight(text: &str, words: &[String]) -> Vec<SnippetPart> {
    let mut parts: Vec<SnippetPart> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let word_len = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
        if word_len == 0 {
            let gap = rest.find(char::is_alphanumeric).unwrap_or(rest.len());
            push_part(&mut parts, rest[..gap].to_owned(), false);
            rest = &rest[gap..];
            continue;
        }
        let word = &rest[..word_len];
        let matched = words.iter().any(|query| *query == word.to_lowercase());
        push_part(&mut parts, word.to_owned(), matched);
        rest = &rest[word_len..];
    }
    parts
}

/// Appends `text` as a part, joining it to the last part when both are
/// marked alike; empty text is dropped.
fn push_part(parts: &mut Vec<SnippetPart>, text: String, matched: bool) {
    if text.is_empty() {
        return;
    }
    match parts.last_mut() {
        Some(last) if last.matched == matched => last.text.push_str(&text),
        _ => parts.push(SnippetPart { text, matched }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(text: &str, matched: bool) -> SnippetPart {
        SnippetPart { text: text.to_owned(), matched }
    }

    #[test]
    fn query_words_drop_syntax() {
        assert_eq!(words("Printer \"ON\" fire* OR NEAR(x)"), vec!["printer", "on", "fire", "or", "near", "x"]);
        assert!(words("  ** ").is_empty());
    }

    #[test]
    fn issue_14_engine_marks_become_plain_parts() {
        let marked = format!("…my {START}kettle{STOP} and {START}kettle{STOP}{START}s{STOP} <b>x</b>");
        assert_eq!(
            marked_parts(&marked),
            vec![
                part("…my ", false),
                part("kettle", true),
                part(" and ", false),
                part("kettles", true),
                part(" <b>x</b>", false)
            ]
        );
        assert_eq!(marked_parts("no match"), vec![part("no match", false)]);
        assert!(marked_parts("").is_empty());
    }

    #[test]
    fn issue_14_customer_words_are_marked_as_the_query_splits_them() {
        let words = words("ann EXAMPLE");
        assert_eq!(
            highlight("Ann Lee · ann.lee@example.com", &words),
            vec![
                part("Ann", true),
                part(" Lee · ", false),
                part("ann", true),
                part(".lee@", false),
                part("example", true),
                part(".com", false)
            ]
        );
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
