//! Rapport's domain: tickets and their lifecycle, customers and their identities,
//! agents and what they may see, the priority matrix and the event log.
//!
//! Everything here is plain data and pure functions. Time comes in as a
//! [`Timestamp`] argument, ids are allocated by the store, and nothing here does
//! I/O or knows about HTTP or SQL: the store persists what core decides, the
//! server translates requests into core calls. That is why the lifecycle,
//! priority and replay rules can be tested exhaustively here.

pub mod access;
pub mod calendar;
pub mod call;
pub mod chat;
pub mod customer;
pub mod event;
pub mod identity;
pub mod ids;
pub mod intake;
pub mod merge;
pub mod message;
pub mod messaging;
pub mod outbox;
pub mod overflow;
pub mod priority;
pub mod problem;
pub mod reply;
pub mod routing;
pub mod rules;
pub mod secret;
pub mod sla;
pub mod text;
pub mod ticket;
pub mod time;

pub use access::{Agent, Role, Viewer};
pub use customer::{Customer, Organization, Team};
pub use event::{Actor, Change, Event, ReplayError, replay};
pub use identity::{Identity, IdentityError, IdentityKind};
pub use ids::{AgentId, CustomerId, EventId, MessageId, OrganizationId, TeamId, TicketId};
pub use intake::{InboundAttachment, InboundMessage, Placement, ThreadHints};
pub use message::{AttachmentMeta, Author, Message, MessageKind};
pub use priority::{Level, PriorityMatrix, Tier};
pub use secret::Secret;
pub use ticket::{Channel, Status, Ticket, TransitionError, Trigger};
pub use time::Timestamp;
