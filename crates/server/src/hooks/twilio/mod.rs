//! `/hooks/twilio/...`: Twilio's SMS webhook, its delivery receipts and the
//! outbox's way out to the Messages API ([`sms`]), and the voice webhooks of
//! the phone (`voice`), both behind one signature check (`signature`).
//!
//! Every request is checked against `X-Twilio-Signature`, which Twilio
//! computes over the URL it called and the sorted form fields. Behind a proxy
//! that URL is not the one this server sees, so `public_url` names it; by
//! default it is `http://` + the `Host` header + the path and query. A bad
//! signature is 401 and stores nothing.

mod signature;
pub mod sms;
mod voice;

use axum::Router;

use crate::state::AppState;

/// `/hooks/twilio/...`.
pub(super) fn router() -> Router<AppState> {
    Router::new().merge(sms::router()).merge(voice::router())
}
