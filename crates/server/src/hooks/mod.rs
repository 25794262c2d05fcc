//! Inbound webhooks of messaging providers, under `/hooks/`. Each checks its
//! provider's signature over the raw body before reading it (a bad one is 401
//! and stores nothing), files the message through the shared intake (a
//! provider's retry of the same message is filed once), and answers 200 once
//! the message is stored, so the provider stops retrying only then.
//!
//! One module per provider, with its routes and its way out for the outbox
//! worker; its settings (a section of the configuration file) are in
//! `settings`.

pub mod messenger;
pub mod telegram;
pub mod twilio;
pub mod whatsapp;

use axum::Router;

use crate::state::AppState;

/// Every provider's routes.
pub fn router() -> Router<AppState> {
    Router::new().merge(telegram::router()).merge(whatsapp::router()).merge(messenger::router()).merge(twilio::router())
}
