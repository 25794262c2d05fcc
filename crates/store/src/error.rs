//! The store's one error type. Driver errors are classified once, here, so no
//! caller ever mistakes a database failure for "not found".

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist (names what was looked for).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique or foreign-key constraint refused the write.
    #[error("conflict on {constraint}")]
    Conflict {
        /// The constraint, as the database reports it.
        constraint: String,
    },
    /// The ticket's version is not the one the caller expected.
    #[error("ticket has changed since version {expected}; it is now at version {current}")]
    Stale {
        /// The version the caller sent.
        expected: i64,
        /// The version in the store.
        current: i64,
    },
    /// A referenced record (team, owner, organization) does not exist.
    #[error("{field} refers to a record that does not exist")]
    MissingReference {
        /// The field holding the reference.
        field: &'static str,
    },
    /// Core refused the change (illegal transition, forbidden field, ...).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The database or the connection failed.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(db_error) = &error {
            if db_error.is_unique_violation() {
                return StoreError::Conflict {
                    constraint: db_error
                        .constraint()
                        .map(str::to_owned)
                        .unwrap_or_else(|| db_error.message().to_owned()),
                };
            }
            if db_error.is_foreign_key_violation() {
                // The callers that write references know which field it was
                // (`tickets::reference_error`); unnamed, it is still a reference.
                return StoreError::MissingReference { field: "reference" };
            }
        }
        if let sqlx::Error::RowNotFound = error {
            return StoreError::NotFound("row");
        }
        StoreError::Other(anyhow::Error::new(error))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> StoreError {
        StoreError::Other(anyhow::Error::new(error).context("encoding or decoding a JSON column"))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> StoreError {
        StoreError::Other(anyhow::Error::new(error).context("running database migrations"))
    }
}

/// A change that the domain rules refuse.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// Opening the ticket failed (blank subject, ...).
    #[error(transparent)]
    Open(#[from] rapport_core::event::OpenError),
    /// The patch breaks a rule.
    #[error(transparent)]
    Patch(#[from] rapport_core::event::PatchError),
    /// The message cannot be added.
    #[error(transparent)]
    Message(#[from] rapport_core::event::MessageError),
    /// The status change is not in the lifecycle.
    #[error(transparent)]
    Transition(#[from] rapport_core::TransitionError),
    /// The idempotency key was used before for a different request.
    #[error("this Idempotency-Key was already used with a different request body")]
    KeyReused,
    /// A customer reference with no identity.
    #[error("a customer needs at least one of email, phone, chat or handle")]
    NoIdentity,
    /// The tickets cannot be merged.
    #[error(transparent)]
    Merge(#[from] rapport_core::merge::MergeError),
    /// The customers cannot be merged.
    #[error(transparent)]
    CustomerMerge(#[from] rapport_core::merge::CustomerMergeError),
    /// The message cannot be split out.
    #[error(transparent)]
    Split(#[from] rapport_core::merge::SplitError),
    /// A value the request named is unusable (an unknown calendar, a team
    /// that does not exist, a calendar still in use...).
    #[error("{field}: {problem}")]
    Invalid {
        /// The field's path in the request.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The reply cannot go out on the channel the agent chose.
    #[error("the customer cannot be reached on {channel}: they have no address there, or no adapter sends on it yet")]
    NoRoute {
        /// The channel asked for.
        channel: rapport_core::Channel,
    },
    /// The change would leave no active admin, and nobody could manage the
    /// help desk again.
    #[error("this would leave no active admin: make another agent an admin first")]
    LastAdmin,
    /// An agent's public reply that no channel can carry (core's `reply::route`).
    #[error("{0}")]
    Unreachable(rapport_core::reply::RouteError),
}
