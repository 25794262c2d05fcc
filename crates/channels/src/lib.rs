//! Channel adapters: each turns one outside format into core's
//! [`rapport_core::InboundMessage`] and renders core's replies back into the
//! channel's format. Adapters are thin: what a message means (which ticket,
//! which customer, whether to answer) is decided in `rapport-core`; what is
//! stored, in `rapport-store`. Network I/O here is only the protocol itself
//! (SMTP, IMAP), never the database.

pub mod email;
pub mod form_data;
pub mod graph;
pub mod http;
pub mod messenger;
pub mod telegram;
pub mod twilio;
pub mod webhook;
pub mod whatsapp;
