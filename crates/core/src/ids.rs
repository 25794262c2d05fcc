//! Newtyped ids. A bare integer never crosses a crate boundary, so a ticket
//! number cannot be passed where a customer id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A ticket's number: from a sequence, never reused; the id in URLs and `[#N]` tokens.
    TicketId
);
id_type!(
    /// A customer record, which joins all of one person's identities.
    CustomerId
);
id_type!(
    /// An agent (a person who answers tickets, or an administrator).
    AgentId
);
id_type!(
    /// A team of agents.
    TeamId
);
id_type!(
    /// An organization that customers may belong to.
    OrganizationId
);
id_type!(
    /// A message on a ticket.
    MessageId
);
id_type!(
    /// An entry of the append-only event log.
    EventId
);
