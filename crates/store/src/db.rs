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
use sqlx::{FromRow, SqlSafeStr, SqlStr};

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
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

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
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub(crate) async fn execute(&mut self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<u64, StoreError> {
        let sql: SqlStr = sql.into_sql_str();
        Ok(match self {
            Conn::Sqlite(conn) => bind_all!(sqlx::query(sql), args).execute(&mut **conn).await?.rows_affected(),
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
            Conn::Sqlite(conn) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_all(&mut **conn).await?,
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
            Conn::Sqlite(conn) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(&mut **conn).await?,
            Conn::Postgres(conn) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(&mut **conn).await?,
        })
    }

    pub(crate) async fn fetch_one<T: AnyRow>(&mut self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<T, StoreError> {
        let sql: SqlStr = sql.into_sql_str();
        Ok(match self {
            Conn::Sqlite(conn) => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_one(&mut **conn).await?,
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
                work(&mut Conn::Sqlite(&mut conn)).await
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
                let result = work(&mut Conn::Sqlite(&mut conn)).await;
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
