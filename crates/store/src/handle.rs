//! The handle: one [`Store`] over either database, opened by URL, migrated,
//! backed up and shut down here; every other module adds its part of the API.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::db::Dialect;
use crate::db::{self, Conn, Db};
use crate::error::StoreError;
use crate::files;
use crate::options::StoreOptions;
use crate::writer::Writer;
use futures_util::future::BoxFuture;
use rapport_core::PriorityMatrix;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// Migrations, embedded at compile time, one folder per engine with the same file names.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The one persistence API, on either database.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
    pub(crate) writer: Option<Writer>,
    pub(crate) options: Arc<StoreOptions>,
    /// The policy set in force and its generation (`service_levels`).
    pub(crate) sla_cache: SlaCache,
    /// Counts this process's committed writes, so the live feed wakes at
    /// once instead of waiting for its next poll (`changes.rs`).
    pub(crate) commits: Arc<tokio::sync::watch::Sender<u64>>,
}

type SlaCache = Arc<std::sync::Mutex<Option<(i64, Arc<rapport_core::sla::projection::PolicySet>)>>>;

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`), creating the
    /// SQLite file and its folder if needed, and runs pending migrations.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let store = Store::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens a database that must exist already, for the commands that read
    /// or add to a help desk (`mailgate`, reports, rules...): a SQLite file
    /// that is not there is refused, saying where it was looked for, so that
    /// a command run in the wrong directory never files into a new, empty
    /// database that no server will see. PostgreSQL databases are never
    /// created by Rapport anyway.
    pub async fn open_existing(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            let file = SqliteConnectOptions::from_str(url)
                .map_err(|error| anyhow::Error::new(error).context(format!("reading the SQLite URL {url:?}")))?
                .get_filename()
                .to_path_buf();
            let in_memory = file.as_os_str().is_empty() || file == Path::new(":memory:");
            if !in_memory && !file.exists() {
                return Err(StoreError::Other(anyhow::anyhow!(
                    "there is no Rapport database at {}: this command does not create one. Run it with the \
                     server's --data-dir or --database (or in the directory the server runs in), or start \
                     `rapport serve` or run `rapport migrate` there first",
                    file.display()
                )));
            }
        }
        Store::open(url, options).await
    }

    /// Connects without migrating.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let options = Arc::new(options);
        if url.starts_with("sqlite:") {
            let connect = sqlite_options(url)?;
            let pool = while_busy(|| {
                SqlitePoolOptions::new().max_connections(8).min_connections(1).connect_with(connect.clone())
            })
            .await
            .map_err(|error| anyhow::Error::new(error).context(format!("opening the SQLite database {url}")))?;
            // The writer never checkpoints inside a commit; a background task
            // does it (PASSIVE: it never blocks the writer), so the fsync of the
            // database file stays off the write path.
            let writer_options = connect.clone().pragma("wal_autocheckpoint", "0");
            let writer_conn = while_busy(|| writer_options.connect())
                .await
                .map_err(|error| anyhow::Error::new(error).context("opening the SQLite write connection"))?;
            let writer = Writer::start(writer_conn);
            tokio::spawn(db::checkpoint_periodically(pool.clone()));
            Ok(Store {
                db: Db::Sqlite(pool),
                writer: Some(writer),
                options,
                sla_cache: SlaCache::default(),
                commits: commits(),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let connect = PgConnectOptions::from_str(url)
                .map_err(|error| anyhow::Error::new(error).context("reading the PostgreSQL URL"))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(connect)
                .await
                .map_err(|error| anyhow::Error::new(error).context("connecting to PostgreSQL"))?;
            Ok(Store {
                db: Db::Postgres(pool),
                writer: None,
                options,
                sla_cache: SlaCache::default(),
                commits: commits(),
            })
        } else {
            Err(StoreError::Other(anyhow::anyhow!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
            )))
        }
    }

    /// Runs pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        match &self.db {
            Db::Sqlite(pool) => {
                let before = applied(&SQLITE_MIGRATIONS, pool.acquire().await?).await;
                // SQLite has no lock to hold across migrations (PostgreSQL's
                // migrator takes an advisory lock): another process opening
                // the same new file may apply one between our reading what is
                // applied and applying it. Ours then fails and rolls back;
                // while the other process is making progress, read again.
                let mut seen = before;
                while let Err(error) = SQLITE_MIGRATIONS.run(pool).await {
                    let now = applied(&SQLITE_MIGRATIONS, pool.acquire().await?).await;
                    if now <= seen {
                        return Err(error.into());
                    }
                    seen = now;
                }
                Ok(SQLITE_MIGRATIONS.iter().count().saturating_sub(before))
            }
            Db::Postgres(pool) => {
                let before = applied(&POSTGRES_MIGRATIONS, pool.acquire().await?).await;
                POSTGRES_MIGRATIONS.run(pool).await?;
                Ok(POSTGRES_MIGRATIONS.iter().count().saturating_sub(before))
            }
        }
    }

    /// Which engine this store runs on.
    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    /// The priority matrix in force.
    pub fn matrix(&self) -> &PriorityMatrix {
        &self.options.matrix
    }

    /// Gathers the planner's statistics now on PostgreSQL (`ANALYZE`), as
    /// autovacuum does within minutes of a bulk load: a benchmark that
    /// seeds a million tickets and queries at once would otherwise time
    /// plans made for an empty table. SQLite keeps no statistics unless
    /// asked, and Rapport's queries are written for its planner as it is.
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(_) => Ok(()),
            Db::Postgres(pool) => {
                sqlx::query("ANALYZE").execute(pool).await?;
                Ok(())
            }
        }
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.fetch_one::<db::IdRow>("SELECT CAST(1 AS BIGINT) AS id", vec![]).await.map(|_| ())
    }

    /// Writes a consistent copy of the SQLite database to `path` while the
    /// server keeps running (`VACUUM INTO`). PostgreSQL has its own tools
    /// (`pg_dump`), so this refuses a PostgreSQL store.
    pub async fn backup(&self, path: &Path) -> Result<(), StoreError> {
        if path.exists() {
            return Err(StoreError::Other(anyhow::anyhow!("{} already exists; choose a new file", path.display())));
        }
        let target = path.to_string_lossy().into_owned();
        match &self.db {
            Db::Sqlite(pool) => {
                files::create_private_file(path).map_err(|error| {
                    anyhow::Error::new(error).context(format!("creating the backup file {}", path.display()))
                })?;
                if let Err(error) = sqlx::query("VACUUM INTO $1").bind(target).execute(pool).await {
                    // No half-written copy is left to be mistaken for a backup.
                    let _ = std::fs::remove_file(path);
                    return Err(error.into());
                }
                Ok(())
            }
            Db::Postgres(_) => Err(StoreError::Other(anyhow::anyhow!(
                "backup copies the embedded SQLite database; for PostgreSQL use pg_dump"
            ))),
        }
    }

    /// Closes the store at a clean shutdown: on SQLite the WAL is first
    /// copied into the database file and truncated, so that a stopped server
    /// leaves no log beside its database. Then closes the pools. A server
    /// that stops calls this; short-lived commands call [`Store::close`],
    /// which never waits for a running server's readers.
    pub async fn shut_down(&self) {
        if let Db::Sqlite(pool) = &self.db {
            match db::checkpoint_truncate(pool, db::BUSY_TIMEOUT).await {
                Ok(()) => tracing::info!("checkpointed and truncated the SQLite WAL"),
                Err(error) => tracing::warn!(%error, "checkpointing the SQLite WAL at shutdown failed"),
            }
        }
        self.close().await;
    }

    /// Closes the pools (waits for in-flight queries).
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// Runs `work` as one durable write: batched with concurrent writes on
    /// SQLite, its own transaction on PostgreSQL.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c, 'd> FnOnce(&'c mut Conn<'d>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        let written = match &self.writer {
            Some(writer) => writer.write(work).await,
            None => self.db.transaction(work).await,
        };
        if written.is_ok() {
            self.committed();
        }
        written
    }

    /// Tells the live feed that a write of this process committed.
    pub(crate) fn committed(&self) {
        self.commits.send_modify(|count| *count = count.wrapping_add(1));
    }
}

fn commits() -> Arc<tokio::sync::watch::Sender<u64>> {
    Arc::new(tokio::sync::watch::Sender::new(0))
}

async fn applied<DB: sqlx::Database>(
    migrator: &sqlx::migrate::Migrator,
    mut conn: sqlx::pool::PoolConnection<DB>,
) -> usize
where
    DB::Connection: sqlx::migrate::Migrate,
{
    use sqlx::migrate::Migrate;
    let _ = migrator;
    match conn.list_applied_migrations("_sqlx_migrations").await {
        Ok(list) => list.len(),
        Err(_) => 0,
    }
}

/// Retries `open` while SQLite answers "database is locked", for up to the
/// busy timeout. Opening a new file switches it to WAL, which needs the file
/// to itself; SQLite refuses that at once, without waiting on its busy
/// handler, when another process is opening the same file (several
/// instances starting together).
async fn while_busy<T, F, Fut>(mut open: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let deadline = tokio::time::Instant::now() + db::BUSY_TIMEOUT;
    loop {
        match open().await {
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some("5") && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

/// SQLite connection settings: WAL so readers never block the writer,
/// `synchronous=FULL` so an acknowledged write survives power loss, foreign
/// keys on, a busy timeout for the rare checkpoint contention, and a limit
/// the WAL file is cut back to whenever it starts over (it would otherwise
/// keep the size of its busiest minute for good).
fn sqlite_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|error| anyhow::Error::new(error).context(format!("reading the SQLite URL {url:?}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(db::BUSY_TIMEOUT)
        .pragma("cache_size", "-8000")
        .pragma("temp_store", "memory")
        .pragma("journal_size_limit", db::JOURNAL_SIZE_LIMIT);
    let file = Path::new(options.get_filename());
    if file.as_os_str().is_empty() || file == Path::new(":memory:") {
        return Ok(options);
    }
    if let Some(parent) = file.parent()
        && !parent.as_os_str().is_empty()
    {
        files::create_private_dir(parent).map_err(|error| {
            anyhow::Error::new(error).context(format!("creating the data directory {}", parent.display()))
        })?;
    }
    files::create_private_file(file)
        .map_err(|error| anyhow::Error::new(error).context(format!("creating the database file {}", file.display())))?;
    Ok(options)
}
