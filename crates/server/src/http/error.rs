//! The API's one error type. Every failure a handler can meet becomes an
//! [`ApiError`], and every `ApiError` becomes the same JSON shape with a
//! stable machine `code`, so clients branch on codes, never on messages.
//!
//! Store and core errors are translated here, once: a handler never decides
//! which status a `StoreError` deserves.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_core::TransitionError;
use rapport_core::event::{MessageError, OpenError, PatchError};
use rapport_core::merge::{CustomerMergeError, MergeError};
use rapport_store::{Rejection, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// Everything that can go wrong in a request, with its HTTP status.
#[derive(Debug)]
pub enum ApiError {
    /// 400 `malformed_json`: the body is not JSON we can read (bad syntax,
    /// wrong content type, nested too deeply).
    MalformedJson(String),
    /// 422 `invalid`: the request was read, but a value is not acceptable.
    Invalid {
        /// The offending field (`customer.email`, `sort`, `If-Match`, ...).
        field: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// 422 `idempotency_key_reused`: the Idempotency-Key was used before with another body.
    IdempotencyKeyReused,
    /// 422 `customer_unreachable`: a public reply that no channel can carry
    /// (the customer has no address on the channel asked for, or on any);
    /// nothing was stored.
    CustomerUnreachable {
        /// `channel` when the agent named one, else `null`.
        field: Option<String>,
        /// What is missing and what to do.
        message: String,
    },
    /// 401 `unauthorized`: no token, or one that is unknown or revoked.
    Unauthorized(&'static str),
    /// 403 `forbidden`: the caller's role may not do this.
    Forbidden {
        /// The field the role may not set, when one is to blame.
        field: Option<String>,
        /// What was refused.
        message: String,
    },
    /// 404 `not_found`: no such record, or one the caller may not see.
    NotFound(String),
    /// 405 `method_not_allowed`: the path exists, the method does not.
    MethodNotAllowed,
    /// 409 `illegal_transition`: the status change is not in the lifecycle.
    IllegalTransition(String),
    /// 409 `stale_version`: `If-Match` named a version that is no longer current.
    StaleVersion {
        /// The version the caller sent.
        expected: i64,
        /// The version the ticket is at.
        current: i64,
    },
    /// 409 `ticket_closed`: closed tickets take internal notes only.
    TicketClosed(String),
    /// 409 `conflict`: a unique value (identity, name, email) is taken.
    Conflict(String),
    /// 409 `merge_refused`: the tickets or customers cannot be merged as
    /// they stand (one is closed or was merged before, the tickets belong to
    /// different customers, a customer was erased).
    MergeRefused(String),
    /// 409 `split_refused`: the message cannot start a ticket of its own
    /// (only the customer's messages can).
    SplitRefused(String),
    /// 413 `payload_too_large`: the body is over the configured limit.
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 413 `payload_too_large`: an uploaded file, or the files of a message
    /// together, over their limit; the message names the file and the limit.
    FileTooLarge(String),
    /// 500 `internal`: anything else. The cause is logged, never sent.
    Internal(anyhow::Error),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong, with a stable machine code.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `malformed_json`, `invalid`, `idempotency_key_reused`,
    /// `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`,
    /// `illegal_transition`, `stale_version`, `ticket_closed`, `conflict`,
    /// `merge_refused`, `split_refused`, `payload_too_large` or `internal`.
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// A 422 naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Invalid { field: Some(field.into()), message: message.into() }
    }

    /// A 403 for an action (not a field) the role may not take.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::Forbidden { field: None, message: message.into() }
    }

    /// The status, the machine code and the field of this error.
    fn parts(&self) -> (StatusCode, &'static str, Option<&str>) {
        match self {
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json", None),
            ApiError::Invalid { field, .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", field.as_deref()),
            ApiError::IdempotencyKeyReused => {
                (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", Some("Idempotency-Key"))
            }
            ApiError::CustomerUnreachable { field, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "customer_unreachable", field.as_deref())
            }
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            ApiError::Forbidden { field, .. } => (StatusCode::FORBIDDEN, "forbidden", field.as_deref()),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None),
            ApiError::IllegalTransition(_) => (StatusCode::CONFLICT, "illegal_transition", Some("status")),
            ApiError::StaleVersion { .. } => (StatusCode::CONFLICT, "stale_version", Some("If-Match")),
            ApiError::TicketClosed(_) => (StatusCode::CONFLICT, "ticket_closed", None),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
            ApiError::MergeRefused(_) => (StatusCode::CONFLICT, "merge_refused", None),
            ApiError::SplitRefused(_) => (StatusCode::CONFLICT, "split_refused", None),
            ApiError::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None),
            ApiError::FileTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", Some("files")),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        }
    }

    /// What a page tells a person: the status, the field at fault (when
    /// one is), and the API's own message. An internal error is `None`: the
    /// page shows its opaque error and the cause goes to the log.
    pub fn for_page(&self) -> Option<(StatusCode, Option<&str>, String)> {
        if matches!(self, ApiError::Internal(_)) {
            return None;
        }
        let (status, _, field) = self.parts();
        Some((status, field, self.message()))
    }

    fn message(&self) -> String {
        match self {
            ApiError::MalformedJson(message)
            | ApiError::Invalid { message, .. }
            | ApiError::CustomerUnreachable { message, .. }
            | ApiError::Forbidden { message, .. }
            | ApiError::NotFound(message)
            | ApiError::IllegalTransition(message)
            | ApiError::TicketClosed(message)
            | ApiError::Conflict(message)
            | ApiError::MergeRefused(message)
            | ApiError::SplitRefused(message)
            | ApiError::FileTooLarge(message) => message.clone(),
            ApiError::IdempotencyKeyReused => Rejection::KeyReused.to_string(),
            ApiError::Unauthorized(message) => (*message).to_owned(),
            ApiError::MethodNotAllowed => "this path does not accept that method".to_owned(),
            ApiError::StaleVersion { expected, current } => {
                format!("the ticket has changed since version {expected}; it is now at version {current}")
            }
            ApiError::PayloadTooLarge { limit } => format!("the request body is larger than {limit} bytes"),
            ApiError::Internal(_) => "internal error".to_owned(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = ?cause, "request failed");
        }
        let (status, code, field) = self.parts();
        let body = ErrorBody { error: ErrorDetail { code, message: self.message(), field: field.map(str::to_owned) } };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StoreError::Conflict { constraint } => ApiError::Conflict(conflict_message(&constraint)),
            StoreError::Stale { expected, current } => ApiError::StaleVersion { expected, current },
            StoreError::MissingReference { field } => {
                ApiError::invalid(field, format!("{field} refers to a record that does not exist"))
            }
            StoreError::Rejected(rejection) => rejection.into(),
            StoreError::Other(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> ApiError {
        match rejection {
            Rejection::Open(error @ (OpenError::EmptySubject | OpenError::LongSubject)) => {
                ApiError::invalid("subject", error.to_string())
            }
            Rejection::Patch(PatchError::Transition(error)) | Rejection::Transition(error) => transition(error),
            Rejection::Patch(PatchError::Forbidden { field }) => ApiError::Forbidden {
                field: Some(field.to_owned()),
                message: format!("your role may not change {field}"),
            },
            Rejection::Patch(PatchError::Invalid { field, message }) => ApiError::invalid(field, message),
            Rejection::Message(error @ (MessageError::Closed | MessageError::Merged { .. })) => {
                ApiError::TicketClosed(error.to_string())
            }
            Rejection::KeyReused => ApiError::IdempotencyKeyReused,
            Rejection::NoIdentity => ApiError::invalid("customer", Rejection::NoIdentity.to_string()),
            // Merging something into itself is a mistake in the request, not a state of the records.
            Rejection::Merge(error @ MergeError::SameTicket) => ApiError::invalid("into", error.to_string()),
            Rejection::CustomerMerge(error @ CustomerMergeError::SameCustomer) => {
                ApiError::invalid("into", error.to_string())
            }
            Rejection::Merge(error) => ApiError::MergeRefused(error.to_string()),
            Rejection::CustomerMerge(error) => ApiError::MergeRefused(error.to_string()),
            Rejection::Split(error) => ApiError::SplitRefused(error.to_string()),
            error @ Rejection::NoRoute { .. } => ApiError::invalid("channel", error.to_string()),
            Rejection::Unreachable(error) => ApiError::CustomerUnreachable {
                field: matches!(error, rapport_core::reply::RouteError::RequestedUnreachable { .. })
                    .then(|| "channel".to_owned()),
                message: error.to_string(),
            },
            Rejection::Invalid { field, problem } => ApiError::invalid(field, problem),
            error @ Rejection::LastAdmin => ApiError::Conflict(error.to_string()),
        }
    }
}

fn transition(error: TransitionError) -> ApiError {
    ApiError::IllegalTransition(error.to_string())
}

/// A conflict message that says which value is taken, without echoing SQL.
fn conflict_message(constraint: &str) -> String {
    let constraint = constraint.to_lowercase();
    let what = if constraint.contains("identit") {
        "an identity (email, phone, chat or handle) that is already registered to another customer"
    } else if constraint.contains("email") {
        "an email address that is already taken"
    } else if constraint.contains("name") {
        "a name that is already taken"
    } else {
        "a value that must be unique and is already taken"
    };
    format!("the request conflicts with an existing record: {what}")
}

impl From<anyhow::Error> for ApiError {
    fn from(cause: anyhow::Error) -> ApiError {
        ApiError::Internal(cause)
    }
}
