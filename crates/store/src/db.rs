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

/// A bind argument.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(Option<i64>),
    Text(Option<String>),
    Bytes(Vec<u8>),
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
impl From<String> for Arg {
    fn from(value: String) -> Arg {
        Arg::Text(Some(value))
    }
}
impl From<&str> for Arg {
    fn from(value: &str) -> Arg {
        Arg::Text(Some(value.to_owned()))
    }
}
impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Arg {
        Arg::Text(value)
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

/// One statement of a multi-statement write, with its arguments numbered from `$1`.
pub(crate) type Statement = (&'static str, Vec<Arg>);

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::I64(value) => query.bind(value),
                Arg::Text(value) => query.bind(value),
                Arg::Bytes(value) => query.bind(value),
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

    /// Runs several writes as one unit of work: on SQLite one multi-statement
    /// round trip (placeholders renumbered), on PostgreSQL one after another.
    pub(crate) async fn execute_all(&mut self, statements: Vec<Statement>) -> Result<(), StoreError> {
        if statements.is_empty() {
            return Ok(());
        }
        match self {
            Conn::Sqlite(..) => {
                let Conn::Sqlite(conn, state) = self else { return Ok(()) };
                let mut sql = String::from(state.as_deref_mut().map_or("", WriterState::take_prefix));
                let mut all_args = Vec::new();
                for (text, args) in statements {
                    sql.push_str(&renumber(text, all_args.len()));
                    sql.push_str(";\n");
                    all_args.extend(args);
                }
                // The text differs from call to call: not worth a slot in the statement cache.
                bind_all!(sqlx::query(AssertSqlSafe(sql)), all_args).persistent(false).execute(&mut **conn).await?;
            }
            Conn::Postgres(_) => {
                for (text, args) in statements {
                    self.execute(text, args).await?;
                }
            }
        }
        Ok(())
    }

    /// The next free id of `table` (a table with an integer `id` sequence).
    /// On SQLite only the writer may ask: it owns the sequence while it runs.
    pub(crate) async fn next_id(&mut self, table: &'static str) -> Result<i64, StoreError> {
        match self {
            Conn::Sqlite(_, None) => Err(StoreError::Other(anyhow::anyhow!("ids are allocated by the SQLite writer only"))),
            Conn::Sqlite(conn, Some(state)) => {
                let last = match state.sequences.get(table) {
                    Some(last) => *last,
                    None => {
                        let row: Option<IdRow> = bind_all!(
                            sqlx::query_as::<_, IdRow>("SELECT seq AS id FROM sqlite_sequence WHERE name = $1"),
                            vec![Arg::from(table)]
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
                    vec![Arg::from(table)]
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
                let sql = prefixed(state.as_deref_mut().map_or("", WriterState::take_prefix), sql);
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

/// Shifts every `$N` placeholder in `sql` by `offset`.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut number = 0usize;
        let mut digits = 0;
        while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
            number = number * 10 + (d as usize - '0' as usize);
            digits += 1;
            chars.next();
        }
        if digits > 0 {
            out.push_str(&(number + offset).to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::renumber;

    #[test]
    fn placeholders_shift() {
        assert_eq!(renumber("VALUES ($1, $2, $10)", 3), "VALUES ($4, $5, $13)");
        assert_eq!(renumber("SELECT 1", 5), "SELECT 1");
        assert_eq!(renumber("($1)", 0), "($1)");
    }
}
