//! The connection to either database, and the handful of helpers every query
//! goes through.
//!
//! SQL is written once, in the subset both engines understand (`$1`
//! placeholders, `RETURNING`, `ON CONFLICT`, integer instants). Arguments are
//! collected as [`Arg`] values and bound to whichever driver is underneath, and
//! rows decode into private `*Row` structs that derive `FromRow` for both
//! engines. That keeps one copy of every query without sqlx's `Any` driver.

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use std::collections::HashMap;

use sqlx::{AssertSqlSafe, FromRow, SqlSafeStr, SqlStr};

use crate::error::StoreError;

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The embedded default.
    Sqlite,
    /// For several instances and for scale.
    Postgres,
}

impl Dialect {
    /// `count` placeholders from the `first`th, comma-separated. SQLite gets
    /// positional `?` (binding `$N` makes sqlx look up every parameter's
    /// name, quadratic in a list of hundreds); PostgreSQL gets `$N`.
    pub(crate) fn placeholders(self, first: usize, count: usize) -> String {
        let mut text = String::with_capacity(count * 4);
        for n in first..first + count {
            if n > first {
                text.push_str(", ");
            }
            self.push_placeholder(&mut text, n);
        }
        text
    }

    /// Appends the `n`th placeholder to `text`, allocating nothing more:
    /// the multi-row inserts of the write path spell hundreds per batch.
    pub(crate) fn push_placeholder(self, text: &mut String, n: usize) {
        match self {
            Dialect::Sqlite => text.push('?'),
            Dialect::Postgres => {
                use std::fmt::Write;
                let _ = write!(text, "${n}");
            }
        }
    }

    /// What ends a `SELECT` whose rows the transaction then changes: `FOR
    /// UPDATE` on PostgreSQL, so that another instance waits for them;
    /// nothing on SQLite, whose one writer already runs writes in turn.
    pub(crate) fn lock_rows(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// The aggregate that joins a column's values over rows into one text
    /// (`aggregate(value, separator ORDER BY …)`).
    pub(crate) fn concatenate_rows(self) -> &'static str {
        match self {
            Dialect::Sqlite => "group_concat",
            Dialect::Postgres => "string_agg",
        }
    }

    /// What ends a `SELECT` that claims rows for this instance: `FOR UPDATE
    /// SKIP LOCKED` on PostgreSQL, so that instances claim different rows
    /// and never wait on each other; nothing on SQLite.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// `$first, $first+1, …` for `count` values: numbered placeholders, which
/// both engines read and which a statement may name twice (SQLite's `?`
/// cannot), at the cost the write path avoids (see [`Dialect::placeholders`]).
pub(crate) fn numbered_placeholders(first: usize, count: usize) -> String {
    Dialect::Postgres.placeholders(first, count)
}

/// A bind argument.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(Option<i64>),
    Text(Option<String>),
    Bytes(Vec<u8>),
    F64(f64),
}

impl From<i64> for Arg {
    fn from(value: i64) -> Arg {
        Arg::I64(Some(value))
    }
}
impl From<Option<i64>> for Arg {
    fn from(value: Option<i64>) -> Arg {
        Arg::I64(value)
    }
}
/// Text as both databases can store it: PostgreSQL refuses the NUL
/// character in text (`invalid byte sequence for encoding "UTF8": 0x00`),
/// which a customer's message, a webhook or a form may carry, so every text
/// bound to a statement, on either database, goes without it. Both then keep
/// the same thing for the same input, and lookups bind the same text as the
/// rows they look for.
pub(crate) fn storable(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "") } else { text }
}

impl From<String> for Arg {
    fn from(value: String) -> Arg {
        Arg::Text(Some(storable(value)))
    }
}
impl From<&str> for Arg {
    fn from(value: &str) -> Arg {
        Arg::Text(Some(storable(value.to_owned())))
    }
}
impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Arg {
        Arg::Text(value.map(storable))
    }
}
impl From<f64> for Arg {
    fn from(value: f64) -> Arg {
        Arg::F64(value)
    }
}

impl From<Vec<u8>> for Arg {
    fn from(value: Vec<u8>) -> Arg {
        Arg::Bytes(value)
    }
}

/// Builds an argument list: `args![a, b, c]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$(crate::db::Arg::from($value)),*]
    };
}
pub(crate) use args;

/// A row type both drivers can decode.
pub(crate) trait AnyRow: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> AnyRow for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// One connection (or transaction) of either engine, borrowed for a query or a unit of work.
pub(crate) enum Conn<'a> {
    /// A SQLite connection; inside the writer it carries the writer's state.
    Sqlite(&'a mut SqliteConnection, Option<&'a mut WriterState>),
    Postgres(&'a mut PgConnection),
}

/// What the SQLite writer threads through the jobs of one batch.
///
/// Every statement is a round trip to sqlx's SQLite worker thread, and on a
/// busy two-core machine those hops, not SQLite, bound the write rate. So the
/// writer's savepoint statements ride along with the next statement a job
/// runs (`prefix`), and ticket and message numbers are allocated here (one
/// writer, so the next number is known) so that a ticket's inserts go as one
/// multi-statement round trip.
#[derive(Default)]
pub(crate) struct WriterState {
    /// Statements to run before the next statement of the current job.
    pub(crate) prefix: &'static str,
    /// True once the current job's savepoint has been opened.
    pub(crate) opened: bool,
    /// The last number handed out per table.
    pub(crate) sequences: HashMap<&'static str, i64>,
}

impl WriterState {
    fn take_prefix(&mut self) -> &'static str {
        let prefix = std::mem::take(&mut self.prefix);
        if !prefix.is_empty() {
            self.opened = true;
        }
        prefix
    }
}

/// Prepends `prefix` to `sql`.
fn prefixed(prefix: &'static str, sql: SqlStr) -> SqlStr {
    if prefix.is_empty() { sql } else { AssertSqlSafe(format!("{prefix}{}", sql.as_str())).into_sql_str() }
}

/// An insert into one table: `head` is `INSERT INTO t (a, b) VALUES`, `tail`
/// what follows the rows, `width` the number of columns, `order` where the
/// table comes when several are written together (parents before children).
pub(crate) struct Insert {
    pub(crate) head: &'static str,
    pub(crate) tail: &'static str,
    pub(crate) width: usize,
    pub(crate) order: u8,
}

/// One row for an [`Insert`].
pub(crate) type Statement = (&'static Insert, Vec<Arg>);

/// Rows go in chunks of these sizes, so that a handful of statement texts per
/// table cover every batch and stay in the prepared-statement cache.
const CHUNKS: [usize; 3] = [32, 8, 1];

/// The text of a multi-row insert. SQLite gets positional `?` placeholders
/// (binding `$N` makes sqlx look up every parameter's name, a measurable cost
/// on the hot path); PostgreSQL gets `$N`.
fn insert_text(insert: &Insert, rows: usize, dialect: Dialect) -> String {
    let mut text = String::with_capacity(insert.head.len() + rows * insert.width * 5 + insert.tail.len() + 8);
    text.push_str(insert.head);
    for row in 0..rows {
        text.push_str(if row == 0 { " (" } else { ", (" });
        for column in 0..insert.width {
            if column > 0 {
                text.push_str(", ");
            }
            dialect.push_placeholder(&mut text, row * insert.width + column + 1);
        }
        text.push(')');
    }
    text.push_str(insert.tail);
    text
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::I64(value) => query.bind(value),
                Arg::Text(value) => query.bind(value),
                Arg::Bytes(value) => query.bind(value),
                Arg::F64(value) => query.bind(value),
            };
        }
        query
    }};
}

impl Conn<'_> {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(..) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// See [`Dialect::lock_rows`].
    pub(crate) fn lock_rows(&self) -> &'static str {
        self.dialect().lock_rows()
    }

    /// See [`Dialect::skip_locked`].
    pub(crate) fn skip_locked(&self) -> &'static str {
        self.dialect().skip_locked()
    }

    /// Holds `key` for the rest of the transaction: every instance on this
    /// database that asks for the same key waits until the transaction
    /// ends. PostgreSQL's advisory lock, keyed by the database too (advisory
    /// locks are the whole server's, and other databases need not wait);
    /// nothing on SQLite, whose one writer already runs writes in turn.
    pub(crate) async fn lock_key(&mut self, key: &str) -> Result<(), StoreError> {
        if self.dialect() == Dialect::Postgres {
            self.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(current_database() || ':' || $1, 0))",
                args![key],
            )
            .await?;
        }
        Ok(())
    }

    /// Inserts rows into several tables, parents first, as multi-row inserts
    /// in cached chunk sizes: a few statements however many rows.
    pub(crate) async fn execute_all(&mut self, statements: Vec<Statement>) -> Result<(), StoreError> {
        let mut by_table: Vec<(&'static Insert, Vec<Vec<Arg>>)> = Vec::new();
        for (insert, row) in statements {
            debug_assert_eq!(row.len(), insert.width, "{}", insert.head);
            match by_table.iter_mut().find(|(known, _)| std::ptr::eq(*known, insert)) {
                Some((_, rows)) => rows.push(row),
                None => by_table.push((insert, vec![row])),
            }
        }
        by_table.sort_by_key(|(insert, _)| insert.order);
        let dialect = self.dialect();
        for (insert, rows) in by_table {
            let mut remaining = rows.len();
            let mut rows = rows.into_iter();
            while remaining > 0 {
                let chunk = CHUNKS.into_iter().find(|size| *size <= remaining).unwrap_or(1);
                let args: Vec<Arg> = rows.by_ref().take(chunk).flatten().collect();
                self.execute(AssertSqlSafe(insert_text(insert, chunk, dialect)), args).await?;
                remaining -= chunk;
            }
        }
        Ok(())
    }

    /// The next free id of `table` (a table with an integer `id` sequence).
    /// On SQLite only the writer may ask: it owns the sequence while it runs.
    pub(crate) async fn next_id(&mut self, table: &'static str) -> Result<i64, StoreError> {
        match self {
            Conn::Sqlite(_, None) => {
                Err(StoreError::Other(anyhow::anyhow!("ids are allocated by the SQLite writer only")))
            }
            Conn::Sqlite(conn, Some(state)) => {
                let last = match state.sequences.get(table) {
                    Some(last) => *last,
                    None => {
                        let row: Option<IdRow> = bind_all!(
                            sqlx::query_as::<_, IdRow>("SELECT seq AS id FROM sqlite_sequence WHERE name = $1"),
                            [Arg::from(table)]
                        )
                        .fetch_optional(&mut **conn)
                        .await?;
                        row.map_or(0, |row| row.id)
                    }
                };
                state.sequences.insert(table, last + 1);
                Ok(last + 1)
            }
            Conn::Postgres(conn) => {
                let row: IdRow = bind_all!(
                    sqlx::query_as::<_, IdRow>("SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id"),
                    [Arg::from(table)]
                )
                .fetch_one(&mut **conn)
                .await?;
                Ok(row.id)
            }
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub(crate) async fn execute(&mut self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<u64, StoreError> {
        let sql: SqlStr = sql.into_sql_str();
        Ok(match self {
            Conn::Sqlite(conn, state) => {
                // The savepoint statements run on their own here: SQLite
                // reports the previous job's change count for them, which
                // would be added to this statement's.
                let prefix = state.as_deref_mut().map_or("", WriterState::take_prefix);
                if !prefix.is_empty() {
                    sqlx::raw_sql(AssertSqlSafe(prefix)).execute(&mut **conn).await?;
                }
                bind_all!(sqlx::query(sql), args).execute(&mut **conn).await?.rows_affected()
            }
            Conn::Postgres(conn) => bind_all!(sqlx::query(sql), args).execute(&mut **conn).await?.rows_affected(),
        })
    }

    pub(crate) async fn fetch_all<T: AnyRow>(
        &mut self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        let sql: SqlStr = sql.into_sql_str();
        Ok(match self {
            Conn::Sqlite(conn, state) => {
                let sql = prefixed(state.as_deref_mut().map_or("", WriterState::take_prefix), sql);
                bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_all(&mut **conn).await?
            }
            Conn::Postgres(conn) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_all(&mut **conn).await?,
        })
    }

    pub(crate) async fn fetch_optional<T: AnyRow>(
        &mut self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Option<T>, StoreError> {
        let sql: SqlStr = sql.into_sql_str();
        Ok(match self {
            Conn::Sqlite(conn, state) => {
                let sql = prefixed(state.as_deref_mut().map_or("", WriterState::take_prefix), sql);
                bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(&mut **conn).await?
            }
            Conn::Postgres(conn) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(&mut **conn).await?,
        })
    }

    pub(crate) async fn fetch_one<T: AnyRow>(&mut self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<T, StoreError> {
        let sql: SqlStr = sql.into_sql_str();
        Ok(match self {
            Conn::Sqlite(conn, state) => {
                let sql = prefixed(state.as_deref_mut().map_or("", WriterState::take_prefix), sql);
                bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_one(&mut **conn).await?
            }
            Conn::Postgres(conn) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_one(&mut **conn).await?,
        })
    }
}

/// A single `i64` column, for `RETURNING id` and counts.
#[derive(sqlx::FromRow)]
pub(crate) struct IdRow {
    pub(crate) id: i64,
}

/// The pools.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `work` with a pooled connection, outside any transaction (reads).
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: for<'c> FnOnce(&'c mut Conn<'_>) -> BoxFuture<'c, Result<T, StoreError>>,
    {
        match self {
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                work(&mut Conn::Sqlite(&mut conn, None)).await
            }
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                work(&mut Conn::Postgres(&mut conn)).await
            }
        }
    }

    /// Runs one read statement on a pooled connection; every row.
    pub(crate) async fn fetch_all<T: AnyRow + 'static>(
        &self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        let sql: SqlStr = sql.into_sql_str();
        self.read(move |conn| Box::pin(conn.fetch_all(sql, args))).await
    }

    /// Runs one read statement on a pooled connection; its row, if any.
    pub(crate) async fn fetch_optional<T: AnyRow + 'static>(
        &self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Option<T>, StoreError> {
        let sql: SqlStr = sql.into_sql_str();
        self.read(move |conn| Box::pin(conn.fetch_optional(sql, args))).await
    }

    /// Runs one read statement on a pooled connection; its one row.
    pub(crate) async fn fetch_one<T: AnyRow + 'static>(
        &self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<T, StoreError> {
        let sql: SqlStr = sql.into_sql_str();
        self.read(move |conn| Box::pin(conn.fetch_one(sql, args))).await
    }

    /// Runs `work` in its own transaction (PostgreSQL writes, SQLite admin writes).
    pub(crate) async fn transaction<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: for<'c> FnOnce(&'c mut Conn<'_>) -> BoxFuture<'c, Result<T, StoreError>>,
    {
        match self {
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
                let result = work(&mut Conn::Sqlite(&mut conn, None)).await;
                let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
                sqlx::query(end).execute(&mut *conn).await?;
                result
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let result = work(&mut Conn::Postgres(&mut tx)).await;
                match result {
                    Ok(value) => {
                        tx.commit().await?;
                        Ok(value)
                    }
                    Err(error) => {
                        tx.rollback().await?;
                        Err(error)
                    }
                }
            }
        }
    }
}

/// The size in bytes the SQLite WAL file is cut back to each time it starts
/// over from its beginning (`journal_size_limit`). Above what a busy server
/// writes between two checkpoints (a few tens of megabytes at full load), so
/// the writer does not pay to grow the file again and again.
pub(crate) const JOURNAL_SIZE_LIMIT: &str = "67108864";

/// How often the WAL is copied back into the database file. Rarely enough that
/// a page changed by many commits is written once, and that the checkpoint's
/// own fsync seldom lands on a commit's; often enough that the WAL stays at a
/// few tens of megabytes under full load.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What `PRAGMA wal_checkpoint` answers: whether it was blocked, the frames
/// in the WAL, and how many of them are in the database file.
#[derive(sqlx::FromRow)]
struct CheckpointRow {
    busy: i64,
    log: i64,
    checkpointed: i64,
}

/// Copies the WAL back into the database file every [`CHECKPOINT_EVERY`], so
/// the WAL stays small without the writer ever waiting for a checkpoint
/// (PASSIVE never blocks it). When a whole interval passed without a write
/// and the WAL holds frames, it is truncated to nothing (TRUNCATE briefly
/// holds writers back, which an idle server does not notice), so a server
/// left running after a burst does not keep a large log. Stops when the pool
/// is closed.
pub(crate) async fn checkpoint_periodically(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_log = None;
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        match sqlx::query_as::<_, CheckpointRow>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await {
            Ok(row) => {
                let idle = row.busy == 0 && row.log > 0 && row.checkpointed == row.log && last_log == Some(row.log);
                last_log = Some(row.log);
                if idle {
                    match checkpoint_truncate(&pool, IDLE_TRUNCATE_WAIT).await {
                        Ok(()) => last_log = Some(0),
                        Err(error) => tracing::debug!(%error, "truncating the idle SQLite WAL; will retry"),
                    }
                }
            }
            Err(error) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(%error, "checkpointing the SQLite WAL failed; will retry");
            }
        }
    }
}

/// How long a SQLite connection waits for a lock before giving up.
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long the idle truncation waits for readers. It holds writers back while
/// it waits, so it gives up soon and tries again at the next quiet interval.
const IDLE_TRUNCATE_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// Copies every frame of the WAL into the database file and truncates the WAL
/// to zero bytes (`wal_checkpoint(TRUNCATE)`), waiting up to `wait` for
/// readers and the writer (writers wait for it meanwhile).
pub(crate) async fn checkpoint_truncate(pool: &SqlitePool, wait: std::time::Duration) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    let set_wait = |wait: std::time::Duration| AssertSqlSafe(format!("PRAGMA busy_timeout = {}", wait.as_millis()));
    sqlx::raw_sql(set_wait(wait)).execute(&mut *conn).await?;
    let row = sqlx::query_as::<_, CheckpointRow>("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *conn).await;
    if sqlx::raw_sql(set_wait(BUSY_TIMEOUT)).execute(&mut *conn).await.is_err() {
        // A pooled connection must not keep the short wait.
        conn.close_on_drop();
    }
    let row = row?;
    if row.busy != 0 {
        return Err(StoreError::Other(anyhow::anyhow!(
            "the WAL could not be truncated: a reader or the writer kept it busy ({} of {} frames copied)",
            row.checkpointed,
            row.log
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{BUSY_TIMEOUT, Db, Dialect, Insert, JOURNAL_SIZE_LIMIT, checkpoint_truncate, insert_text};

    #[tokio::test]
    async fn issue_14_the_sqlite_wal_is_limited_and_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let url = format!("sqlite://{}", path.display());
        let store = crate::Store::open(&url, crate::StoreOptions::default()).await.unwrap();
        let Db::Sqlite(pool) = &store.db else { panic!("a SQLite store") };
        let limit: i64 = sqlx::query_scalar("PRAGMA journal_size_limit").fetch_one(pool).await.unwrap();
        assert_eq!(limit.to_string(), JOURNAL_SIZE_LIMIT);

        sqlx::raw_sql("CREATE TABLE scratch (x TEXT); INSERT INTO scratch VALUES ('a'), ('b')")
            .execute(pool)
            .await
            .unwrap();
        let wal = dir.path().join("wal.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0, "the writes went to the WAL");
        checkpoint_truncate(pool, BUSY_TIMEOUT).await.unwrap();
        assert_eq!(std::fs::metadata(&wal).map(|metadata| metadata.len()).unwrap_or(0), 0);
        let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(pool).await.unwrap();
        assert_eq!(timeout, 10_000, "the pooled connection keeps its busy timeout");
        store.close().await;
    }

    #[test]
    fn each_dialect_difference_has_one_name() {
        assert_eq!(Dialect::Sqlite.placeholders(4, 3), "?, ?, ?");
        assert_eq!(Dialect::Postgres.placeholders(4, 3), "$4, $5, $6");
        assert_eq!(Dialect::Postgres.placeholders(1, 0), "");
        assert_eq!((Dialect::Sqlite.lock_rows(), Dialect::Postgres.lock_rows()), ("", " FOR UPDATE"));
        assert_eq!((Dialect::Sqlite.skip_locked(), Dialect::Postgres.skip_locked()), ("", " FOR UPDATE SKIP LOCKED"));
    }

    #[test]
    fn multi_row_inserts_number_their_placeholders() {
        let insert =
            Insert { head: "INSERT INTO t (a, b) VALUES", tail: " ON CONFLICT DO NOTHING", width: 2, order: 0 };
        let postgres = Dialect::Postgres;
        assert_eq!(insert_text(&insert, 1, postgres), "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING");
        assert_eq!(
            insert_text(&insert, 2, postgres),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            insert_text(&insert, 2, Dialect::Sqlite),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING"
        );
    }
}
