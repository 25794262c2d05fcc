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

use crate::db::{Conn, WriterState};
use crate::error::StoreError;

/// The most jobs committed together.
pub(crate) const MAX_BATCH: usize = 128;

type Finish = Box<dyn FnOnce(Option<String>) + Send>;
type Job =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection, &'c mut WriterState) -> BoxFuture<'c, (bool, Finish)> + Send>;

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
        let job: Job = Box::new(move |conn: &mut SqliteConnection, state: &mut WriterState| {
            Box::pin(async move {
                let result = work(&mut Conn::Sqlite(conn, Some(state))).await;
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
    // Each job runs inside its own savepoint, so a failing job rolls back
    // alone. The savepoint statements travel with the job's first statement
    // (see `WriterState`), so they cost no round trips of their own.
    let started = std::time::Instant::now();
    let size = batch.len();
    let mut state = WriterState { prefix: "SAVEPOINT job; ", ..WriterState::default() };
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        state.opened = false;
        let (ok, finish) = job(conn, &mut state).await;
        if ok {
            if state.opened {
                state.prefix = "RELEASE job; SAVEPOINT job; ";
            }
            finishes.push(finish);
            continue;
        }
        // A job that ran no statement opened no savepoint and wrote nothing.
        if state.opened {
            if let Err(message) = exec(conn, "ROLLBACK TO job").await {
                tracing::error!(error = %message, "rolling back a failed write failed");
                let _ = exec(conn, "ROLLBACK").await;
                finish(Some(message.clone()));
                for finish in finishes {
                    finish(Some(message.clone()));
                }
                // The jobs still in the batch are dropped unanswered: their callers get an error.
                return;
            }
            state.prefix = "RELEASE job; SAVEPOINT job; ";
        }
        finish(None);
    }
    let executed = started.elapsed();
    let committed = exec(conn, "COMMIT").await;
    tracing::debug!(size, exec_us = executed.as_micros() as u64, total_us = started.elapsed().as_micros() as u64, "write batch");
    if let Err(message) = &committed {
        tracing::error!(error = %message, "committing a write batch failed");
        let _ = exec(conn, "ROLLBACK").await;
    }
    let commit_error = committed.err();
    for finish in finishes {
        finish(commit_error.clone());
    }
}
