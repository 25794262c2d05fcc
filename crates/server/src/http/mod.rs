//! The HTTP plumbing every part shares: token authentication and the role
//! extractors ([`auth`]), the defensive request readers ([`body`],
//! [`params`], [`merge_patch`]) that make every refusal a JSON error naming
//! its field, the one [`error::ApiError`], safe file downloads ([`files`]), the wire formats of instants and
//! words ([`wire`]), and the request log ([`request_log`]).
//!
//! Nothing here knows a resource: the API, the hooks, chat and the help pages
//! use these modules, never the other way round.

pub mod auth;
pub mod body;
pub mod error;
pub mod files;
pub mod merge_patch;
pub mod params;
pub mod request_log;
pub mod wire;
