//! Rapport's persistence: one [`Store`] over SQLite (the embedded default) or
//! PostgreSQL (for several instances and for scale), chosen by URL.
//!
//! The store carries out what core decides: it loads the facts, calls the
//! pure decision in `rapport_core`, and writes the new row and its events in
//! one transaction. On SQLite every write goes through one writer task that
//! commits concurrent requests together ([`writer`]); on PostgreSQL each write
//! is its own transaction. Reads use a pool on both.

mod agent_sessions;
mod agents;
mod audit;
mod bench_seed;
mod callbacks;
mod calls;
mod changes;
mod channel_checks;
mod chat;
mod create_batch;
mod customers;
mod db;
mod error;
mod files;
mod handle;
mod held_replies;
mod intake;
mod jobs;
mod kernel;
mod merge;
mod messages;
mod messaging;
mod options;
mod organizations;
mod outbox;
mod overflow;
mod packed;
mod password_links;
mod portal;
mod problems;
mod projector;
mod quarantine;
mod rows;
mod rules;
mod rules_dry_run;
mod saved_views;
mod search;
mod service_levels;
mod sla_report;
mod snippet;
mod sweep;
mod teams;
mod ticket_list;
mod tickets;
mod timers;
mod tokens;
mod writer;

pub use agent_sessions::NewAgentSession;
pub use agents::{AgentChanges, NewAgent};
pub use audit::{AuditEntry, AuditFilter, NewAuditEntry};
pub use callbacks::{Callback, CallbackError, CallbackSource, NewCallback, QueuedCallback};
pub use calls::{Call, CallEventFiling};
pub use changes::{Change, LOOK_BACK};
pub use channel_checks::{ChannelCheck, ChannelTraffic};
pub use chat::{ChatReply, ChatSession, MAX_TRANSCRIPT};
pub use customers::{CustomerChanges, NewCustomer};
pub use db::Dialect;
pub use error::{Rejection, StoreError};
pub use handle::Store;
pub use held_replies::{DEFAULT_UNDO_SECONDS, HeldReply, MAX_UNDO_SECONDS, NewHeldReply};
pub use intake::{BounceFiling, FileInbound, Filed, QuarantineItem, QuarantineReason};
pub use jobs::{ClaimedJob, JobCounts, JobId, JobOutcome, MAX_JOB_ATTEMPTS};
pub use kernel::create::{CreateTicket, CreatedTicket};
pub use kernel::customers::CustomerRef;
pub use kernel::jobs::{JobKind, NewJob, rule_job};
pub use kernel::messages::{MessageOrigin, NewAttachment, NewMessage};
pub use kernel::outbox::reply_identity;
pub use merge::CustomerMerge;
pub use messages::AttachmentFile;
pub use options::{DEFAULT_MAX_FOLLOWERS, StoreOptions};
pub use organizations::OrganizationChanges;
pub use outbox::{OutboxEntry, OutboxItem, SendOutcome};
pub use password_links::{LinkEmail, NewPasswordLink, PasswordPurpose};
pub use portal::{FollowedLink, MagicLink, NewPortalSession, PortalReach, PortalSession, PortalTicket, RateCheck};
pub use problems::{ListedProblem, MAX_UPDATE_CHARS, ProblemUpdate, SolvedProblem};
pub use projector::TicketSla;
pub use rules::{Notification, NotificationId, StoredRule, Task, TaskId};
pub use rules_dry_run::{DRY_RUN_TICKETS, DryRun};
pub use saved_views::{NewSavedView, SavedView, SharedViews};
pub use search::{MatchSource, SearchCursor, SearchHit, SearchPage, Snippet};
pub use service_levels::{StoredCalendar, StoredPolicy};
pub use sla_report::ReportGroup;
pub use snippet::SnippetPart;
pub use sweep::SweepProgress;
pub use teams::TeamChanges;
pub use ticket_list::{Cursor, Page, TicketFilter, TicketNames, TicketSort};
pub use tickets::TicketDetail;
pub use timers::{FiredMemory, RuleSet, TimerPass};
pub use tokens::TokenInfo;
