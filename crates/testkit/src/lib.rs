//! Real protocol peers for Rapport's tests (SMTP, IMAP, a browser). Each listens on a free port of
//! 127.0.0.1 and speaks the real protocol, so the code under test talks to it
//! exactly as it would to a production server. Also the module graph the
//! structure test checks for import loops ([`module_graph`]).

pub mod aiosmtpd;
pub mod browser;
pub mod dovecot;
pub mod module_graph;
pub mod smtp;
