//! The API test suite: each test starts a real server on a free port over a
//! fresh database (SQLite, or PostgreSQL when `RAPPORT_TEST_DATABASE_URL` is
//! set) and talks HTTP to it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

// `#[cfg(test)]` lets clippy's allow-expect-in-tests cover helpers that are
// not `#[test]` functions themselves: a failed set-up should fail the test loudly.
#[cfg(test)]
mod helpers;

mod form_browser;

mod admin;
mod attachments;
mod audit;
mod auth;
mod callbacks;
mod chat;
mod clock;
mod connections;
mod erasure;
mod errors;
mod escalation;
mod health;
mod help;
mod incidents;
mod instances;
mod lists;
mod merge;
mod messenger;
mod pagination;
mod people;
mod portal;
mod replies;
mod rules;
mod search;
mod service_levels;
mod telegram;
mod tickets;
mod twilio;
mod visibility;
mod whatsapp;
mod workspace;
