//! Refusals, with a stable code, an HTTP status and a message a person can act on.

use domain::ApplyError;
use law::Decision;
use serde::Serialize;
use store::StoreError;

/// Why a request was refused. `code` is stable snake_case; `status` is the HTTP status.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceError {
    #[serde(skip)]
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// The law's decision, when the law refused the action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Box<Decision>>,
}

impl ServiceError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ServiceError { status, code, message: message.into(), decision: None }
    }

    /// A record that does not exist, or that the caller may not know exists.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(404, "not_found", format!("no {kind} {id:?} is visible to you"))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(422, "invalid_request", message)
    }

    pub fn denied_by_law(action: &str, decision: Decision) -> Self {
        let why: Vec<String> = decision
            .reasons
            .iter()
            .filter(|r| r.kind == law::ReasonKind::Deny)
            .map(|r| format!("{} ({}): {}", r.rule_id, r.citation, r.explanation))
            .collect();
        ServiceError {
            status: 403,
            code: "denied_by_law",
            message: format!("the law does not permit {action}: {}", why.join("; ")),
            decision: Some(Box::new(decision)),
        }
    }

    /// The database cannot be reached now; the request changed nothing and may be retried.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "unavailable", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }
}

impl From<ApplyError> for ServiceError {
    fn from(e: ApplyError) -> Self {
        match &e {
            ApplyError::Unknown { kind, id } => Self::not_found(kind, id),
            ApplyError::Duplicate { .. } => Self::new(409, "already_exists", e.to_string()),
            ApplyError::Transition(_) => Self::new(409, "invalid_transition", e.to_string()),
            ApplyError::Invalid(_) => Self::invalid(e.to_string()),
            ApplyError::Storage(_) => Self::internal(e.to_string()),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(a) | StoreError::RejectedAt { source: a, .. } => a.into(),
            StoreError::IdempotencyConflict { key } => Self::new(
                409,
                "idempotency_key_reused",
                format!("Idempotency-Key {key:?} was already used for a different request; use a new key"),
            ),
            StoreError::Invalid(m) => Self::invalid(m),
            StoreError::Unavailable(m) => Self::unavailable(m),
            StoreError::Pg(e) if e.is_closed() => Self::unavailable(format!("the database connection closed: {e}")),
            other => Self::internal(other.to_string()),
        }
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServiceError {}
