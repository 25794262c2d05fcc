//! Group commit for SQLite.
//!
//! SQLite allows one writer at a time, and with `synchronous=FULL` every
//! commit waits for the disk. So all writes go to one task that owns the
//! write connection: it takes every job waiting in its queue (up to
//! [`MAX_BATCH`]), runs them in one transaction, each inside its own savepoint
//! so a failing job rolls back alone, commits once, and only then answers each
//! caller. A caller is never told "done" before its write is durable, and one
//! fsync is shared by the whole batch.

use futures_util::future::BoxFuture;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

use crate::db::Conn;
use crate::error::StoreError;

/// The most jobs committed together.
pub(crate) const MAX_BATCH: usize = 128;

type Finish = Box<dyn FnOnce(Option<String>) + Send>;
type Job = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// A handle to the writer task.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on its own connection.
    pub(crate) fn start(conn: SqliteConnection) -> Writer {
        let (queue, jobs) = mpsc::channel::<Job>(4 * MAX_BATCH);
        tokio::spawn(run(conn, jobs));
        Writer { queue }
    }

    /// Runs `work` in the next batch; resolves after the batch has committed.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c, 'd> FnOnce(&'c mut Conn<'d>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn: &mut SqliteConnection| {
            Box::pin(async move {
                let result = work(&mut Conn::Sqlite(conn)).await;
                let ok = result.is_ok();
                let finish: Finish = Box::new(move |commit_error: Option<String>| {
                    let outcome = match (commit_error, result) {
                        (Some(message), Ok(_)) => Err(StoreError::Other(anyhow::anyhow!("committing: {message}"))),
                        (_, result) => result,
                    };
                    // The caller may have gone away (client disconnected); the write stands.
                    let _ = answer.send(outcome);
                });
                (ok, finish)
            })
        });
        self.queue
            .send(job)
            .await
            .map_err(|_| StoreError::Other(anyhow::anyhow!("the database writer has stopped")))?;
        answered.await.map_err(|_| StoreError::Other(anyhow::anyhow!("the database writer dropped a write")))?
    }
}

async fn run(mut conn: SqliteConnection, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, &mut batch).await;
    }
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), String> {
    sqlx::query(sql).execute(&mut *conn).await.map(|_| ()).map_err(|error| error.to_string())
}

async fn run_batch(conn: &mut SqliteConnection, batch: &mut Vec<Job>) {
    if let Err(message) = exec(conn, "BEGIN IMMEDIATE").await {
        // Dropping the jobs unanswered tells each caller its write failed.
        tracing::error!(error = %message, "starting a write transaction failed");
        batch.clear();
        return;
    }
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    if batch.len() == 1 {
        // One job alone: the transaction itself is its savepoint.
        for job in batch.drain(..) {
            let (ok, finish) = job(conn).await;
            if !ok {
                if let Err(message) = exec(conn, "ROLLBACK").await {
                    tracing::error!(error = %message, "rolling back failed");
                }
                finish(None);
                return;
            }
            finishes.push(finish);
        }
    }
    for job in batch.drain(..) {
        if let Err(message) = exec(conn, "SAVEPOINT job").await {
            tracing::error!(error = %message, "starting a savepoint failed");
            continue;
        }
        let (ok, finish) = job(conn).await;
        let end = if ok { exec(conn, "RELEASE job").await } else { rollback_savepoint(conn).await };
        match (ok, end) {
            (true, Ok(())) => finishes.push(finish),
            (false, Ok(())) => finish(None),
            (_, Err(message)) => {
                tracing::error!(error = %message, "ending a savepoint failed");
                finish(Some(message));
            }
        }
    }
    let committed = exec(conn, "COMMIT").await;
    if let Err(message) = &committed {
        tracing::error!(error = %message, "committing a write batch failed");
        let _ = exec(conn, "ROLLBACK").await;
    }
    let commit_error = committed.err();
    for finish in finishes {
        finish(commit_error.clone());
    }
}

async fn rollback_savepoint(conn: &mut SqliteConnection) -> Result<(), String> {
    exec(conn, "ROLLBACK TO job").await?;
    exec(conn, "RELEASE job").await
}
