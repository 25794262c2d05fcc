//! The write kernel: the steps every write path shares (open a ticket, load
//! and save it, add a message, resolve a customer, queue an outbox entry or
//! a job). Feature modules build on these; nothing here uses a feature
//! module. Within the kernel the files build on each other in one order:
//! `events`, `jobs`, `messages`, `outbox` and `search_index` use none of
//! the others; `tickets` uses `events`, `messages` and `outbox`; `customers`
//! uses `tickets`; `create` uses them all. (The test `module_graph` in
//! `rapport-testkit` fails on any import loop.)

pub(crate) mod create;
pub(crate) mod customers;
pub(crate) mod events;
pub(crate) mod jobs;
pub(crate) mod messages;
pub(crate) mod outbox;
pub(crate) mod search_index;
pub(crate) mod tickets;
