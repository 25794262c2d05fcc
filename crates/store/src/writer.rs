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

use std::sync::Arc;

use crate::StoreOptions;
use crate::create_batch;
use crate::db::{Conn, WriterState};
use crate::error::StoreError;
use crate::kernel::create::{CreateTicket, CreatedTicket, create_one};

/// The most jobs committed together.
pub(crate) const MAX_BATCH: usize = 128;

type Finish = Box<dyn FnOnce(Option<String>) + Send>;
type WorkFn =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection, &'c mut WriterState) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// One write waiting for the writer.
pub(crate) enum Job {
    /// Any unit of work.
    Work(WorkFn),
    /// A ticket creation: the creates of a batch are written together (`create_batch`).
    Create(Box<PendingCreate>),
}

/// A create waiting for its batch, with the channel its answer goes back on.
pub(crate) struct PendingCreate {
    pub(crate) request: CreateTicket,
    pub(crate) options: Arc<StoreOptions>,
    pub(crate) answer: oneshot::Sender<Result<CreatedTicket, StoreError>>,
}

impl PendingCreate {
    /// The same create as an ordinary unit of work (the fallback path).
    fn into_work(self) -> WorkFn {
        let PendingCreate { request, options, answer } = self;
        work_fn(move |conn| Box::pin(async move { create_one(conn, request, &options).await }), answer)
    }
}

/// Wraps `work` so that its answer is sent after the batch's commit.
fn work_fn<T, F>(work: F, answer: oneshot::Sender<Result<T, StoreError>>) -> WorkFn
where
    T: Send + 'static,
    F: for<'c, 'd> FnOnce(&'c mut Conn<'d>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
{
    Box::new(move |conn: &mut SqliteConnection, state: &mut WriterState| {
        Box::pin(async move {
            let result = work(&mut Conn::Sqlite(conn, Some(state))).await;
            let ok = result.is_ok();
            (ok, finish_with(result, answer))
        })
    })
}

/// The answer to send once the commit's outcome is known.
fn finish_with<T: Send + 'static>(
    result: Result<T, StoreError>,
    answer: oneshot::Sender<Result<T, StoreError>>,
) -> Finish {
    Box::new(move |commit_error: Option<String>| {
        let outcome = match (commit_error, result) {
            (Some(message), Ok(_)) => Err(StoreError::Other(anyhow::anyhow!("committing: {message}"))),
            (_, result) => result,
        };
        // The caller may have gone away (client disconnected); the write stands.
        let _ = answer.send(outcome);
    })
}

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
        self.send(Job::Work(work_fn(work, answer)), answered).await
    }

    /// Opens a ticket in the next batch; resolves after the batch has committed.
    pub(crate) async fn create(
        &self,
        request: CreateTicket,
        options: Arc<StoreOptions>,
    ) -> Result<CreatedTicket, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.send(Job::Create(Box::new(PendingCreate { request, options, answer })), answered).await
    }

    async fn send<T>(&self, job: Job, answered: oneshot::Receiver<Result<T, StoreError>>) -> Result<T, StoreError> {
        self.queue
            .send(job)
            .await
            .map_err(|_| StoreError::Other(anyhow::anyhow!("the database writer has stopped")))?;
        answered.await.map_err(|_| StoreError::Other(anyhow::anyhow!("the database writer dropped a write")))?
    }
}

async fn run(mut conn: SqliteConnection, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut last_size = 0;
    while let Some(first) = jobs.recv().await {
        batch.push(first);
        drain(&mut jobs, &mut batch);
        // Under load, the callers of the batch just committed are about to send
        // their next writes: waiting a moment for them makes one commit (one
        // fsync) serve both halves instead of alternating half-full batches.
        // A lone write on an idle server never waits.
        if last_size >= GATHER_THRESHOLD && batch.len() < MAX_BATCH {
            tokio::time::sleep(GATHER_WAIT).await;
            drain(&mut jobs, &mut batch);
        }
        last_size = batch.len();
        run_batch(&mut conn, &mut batch).await;
    }
}

/// A batch at least this big means load: the next one waits [`GATHER_WAIT`] to fill up.
const GATHER_THRESHOLD: usize = 8;
/// How long a batch under load waits for more writes (tokio rounds it up to its 1 ms timer tick).
const GATHER_WAIT: std::time::Duration = std::time::Duration::from_micros(500);

fn drain(jobs: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>) {
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
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
    let started = std::time::Instant::now();
    let size = batch.len();
    // Each job runs inside its own savepoint, so a failing job rolls back
    // alone. The savepoint statements travel with the job's first statement
    // (see `WriterState`), so they cost no round trips of their own.
    let mut state = WriterState { prefix: "SAVEPOINT job; ", ..WriterState::default() };
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    let mut works: Vec<WorkFn> = Vec::with_capacity(batch.len());
    let mut creates: Vec<PendingCreate> = Vec::new();
    for job in batch.drain(..) {
        match job {
            Job::Work(work) => works.push(work),
            Job::Create(create) => creates.push(*create),
        }
    }
    // All creates of the batch first, together, as one unit. It needs no
    // savepoint: it is the first thing in the transaction, so if it fails the
    // whole transaction is rolled back and begun again, and each create then
    // runs on its own so that only the faulty one fails, with its own error.
    // (A savepoint would also make FTS5 flush its index once more per batch.)
    if !creates.is_empty() {
        let (grouped, single) = create_batch::split(creates);
        works.extend(single.into_iter().map(PendingCreate::into_work));
        if !grouped.is_empty() {
            state.prefix = "";
            let written = create_batch::write(conn, &mut state, &grouped).await;
            state = WriterState { prefix: "SAVEPOINT job; ", ..state };
            match written {
                Ok(created) => {
                    for (pending, ticket) in grouped.into_iter().zip(created) {
                        finishes.push(finish_with(Ok(ticket), pending.answer));
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "a batch of creates failed; retrying them one by one");
                    let restarted = match exec(conn, "ROLLBACK").await {
                        Ok(()) => exec(conn, "BEGIN IMMEDIATE").await,
                        Err(message) => Err(message),
                    };
                    if let Err(message) = restarted {
                        // Dropping the jobs unanswered tells each caller its write failed.
                        tracing::error!(error = %message, "restarting a write transaction failed");
                        return;
                    }
                    state = WriterState { prefix: "SAVEPOINT job; ", ..WriterState::default() };
                    works.extend(grouped.into_iter().map(PendingCreate::into_work));
                }
            }
        }
    }
    for job in works {
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
                finish(Some(message.clone()));
                // The jobs not yet run are dropped unanswered: their callers get an error.
                abort(conn, &message, finishes).await;
                return;
            }
            state.prefix = "RELEASE job; SAVEPOINT job; ";
        }
        finish(None);
    }
    if let Err(message) = exec(conn, crate::kernel::search_index::SQLITE_INDEX_NEW_ROWS).await {
        // Without its index entries the batch would be unsearchable: fail it whole.
        abort(conn, &message, finishes).await;
        return;
    }
    let executed = started.elapsed();
    let committed = exec(conn, "COMMIT").await;
    tracing::debug!(
        size,
        exec_us = executed.as_micros() as u64,
        total_us = started.elapsed().as_micros() as u64,
        "write batch"
    );
    if let Err(message) = &committed {
        tracing::error!(error = %message, "committing a write batch failed");
        let _ = exec(conn, "ROLLBACK").await;
    }
    let commit_error = committed.err();
    for finish in finishes {
        finish(commit_error.clone());
    }
}

/// Gives up on the whole batch after a rollback failed.
async fn abort(conn: &mut SqliteConnection, message: &str, finishes: Vec<Finish>) {
    tracing::error!(error = %message, "rolling back a failed write failed; abandoning the batch");
    let _ = exec(conn, "ROLLBACK").await;
    for finish in finishes {
        finish(Some(message.to_owned()));
    }
}
