//! Email: parsing RFC 5322 messages into inbound messages (with loop and
//! bounce detection), rendering outbound mail, sending over SMTP and polling
//! IMAP mailboxes.

pub mod imap;
pub mod outbound;
pub mod parse;
pub mod smtp;

/// The header Rapport puts on every mail it sends; its value is the
/// instance's loop id. Mail coming back with our own value never opens a ticket.
pub const LOOP_HEADER: &str = "X-Rapport-Loop";
