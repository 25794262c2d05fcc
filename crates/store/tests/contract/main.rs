//! The store contract: one story, run against SQLite (a temp file) and, when
//! `RAPPORT_TEST_DATABASE_URL` is set, PostgreSQL (a fresh database per test).

mod harness;
mod people;
mod replay;
mod tickets;
