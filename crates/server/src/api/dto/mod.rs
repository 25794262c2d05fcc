//! The JSON shapes that more than one part of the API returns or reads: a
//! ticket with its messages and events, a customer, a ticket's service
//! level, the service-level report. Each resource module keeps the shapes
//! only it uses; these sit below all of them, so that no resource imports
//! another.

pub mod customer;
pub mod report;
pub mod sla;
pub mod ticket;
