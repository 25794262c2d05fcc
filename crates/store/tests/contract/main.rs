//! The store contract: one story, run against SQLite (a temp file) and, when
//! `RAPPORT_TEST_DATABASE_URL` is set, PostgreSQL (a fresh database per test).
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

mod attachments;
mod audit;
mod automation;
mod calls;
mod channels;
mod chat;
mod harness;
mod held;
mod incidents;
mod intake;
mod merge;
mod outbox;
mod people;
mod portal;
mod replay;
mod replies;
mod search;
mod service_levels;
mod sessions;
mod sweep;
mod tickets;
