//! The single mapping from service errors to `tonic::Status`.
//!
//! Services define their own `thiserror` enums and convert them into [`ApiError`], which
//! picks the gRPC code, a stable machine-readable reason (sent as `google.rpc.ErrorInfo`),
//! field violations (`google.rpc.BadRequest`) and the log level: client errors are logged
//! at `warn`, server errors at `error` with their cause, which never reaches the client.

use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every Égide error.
pub const ERROR_DOMAIN: &str = "egide";

/// One bad field of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field path, e.g. `finess` or `identifier`.
    pub field: String,
    /// What is wrong with it, for a developer.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// An error on its way to a gRPC client.
#[derive(Debug)]
pub struct ApiError {
    code: Code,
    reason: &'static str,
    message: String,
    violations: Vec<FieldViolation>,
    metadata: Vec<(&'static str, String)>,
    retry_after: Option<std::time::Duration>,
    source: Option<anyhow::Error>,
}

impl ApiError {
    /// An error with an explicit code, stable reason and message.
    pub fn new(code: Code, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            violations: Vec::new(),
            metadata: Vec::new(),
            retry_after: None,
            source: None,
        }
    }

    /// Tells the client when to retry (`google.rpc.RetryInfo`).
    pub fn with_retry_after(mut self, delay: std::time::Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// `FAILED_PRECONDITION`: the resource is not in a state that allows the request.
    pub fn failed_precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(Code::FailedPrecondition, reason, message)
    }

    /// `PERMISSION_DENIED`.
    pub fn permission_denied(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(Code::PermissionDenied, reason, message)
    }

    /// `RESOURCE_EXHAUSTED`: a limit was reached.
    pub fn resource_exhausted(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(Code::ResourceExhausted, reason, message)
    }

    /// Adds field violations (any code), e.g. which traits did not match.
    pub fn with_violations(mut self, violations: Vec<FieldViolation>) -> Self {
        self.violations.extend(violations);
        self
    }

    /// Adds a key to the `ErrorInfo` metadata (a stable sub-code, never a secret).
    pub fn with_metadata(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.metadata.push((key, value.into()));
        self
    }

    /// Keeps `source` for the server log (never sent to the client).
    pub fn with_source(mut self, source: impl Into<anyhow::Error>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// `INVALID_ARGUMENT` with field violations (reason `invalid_argument`).
    pub fn invalid_argument(violations: Vec<FieldViolation>) -> Self {
        let message = match violations.as_slice() {
            [one] => format!("invalid {}: {}", one.field, one.description),
            _ => format!("{} invalid fields", violations.len()),
        };
        Self {
            violations,
            ..Self::new(Code::InvalidArgument, "invalid_argument", message)
        }
    }

    /// `INVALID_ARGUMENT` for one field.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::invalid_argument(vec![FieldViolation::new(field, description)])
    }

    /// `NOT_FOUND`.
    pub fn not_found(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, reason, message)
    }

    /// `ALREADY_EXISTS`.
    pub fn already_exists(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(Code::AlreadyExists, reason, message)
    }

    /// `UNAVAILABLE`: a dependency is down; the client may retry.
    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(
                Code::Unavailable,
                "unavailable",
                "temporarily unavailable, retry",
            )
        }
    }

    /// `INTERNAL`: a bug or an unexpected failure. The cause is logged, never sent.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(Code::Internal, "internal", "internal error")
        }
    }

    /// The gRPC code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The stable reason.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The field violations.
    pub fn violations(&self) -> &[FieldViolation] {
        &self.violations
    }

    fn is_server_error(&self) -> bool {
        matches!(
            self.code,
            Code::Internal | Code::Unavailable | Code::DataLoss | Code::Unknown
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.reason)
    }
}

impl std::error::Error for ApiError {}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        if error.is_server_error() {
            tracing::error!(code = ?error.code, reason = error.reason, cause = ?error.source, "request failed");
        } else {
            tracing::warn!(code = ?error.code, reason = error.reason, message = %error.message, "request refused");
        }
        let metadata: std::collections::HashMap<String, String> = error
            .metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let mut details = ErrorDetails::with_error_info(error.reason, ERROR_DOMAIN, metadata);
        for v in &error.violations {
            details.add_bad_request_violation(v.field.clone(), v.description.clone());
        }
        if let Some(delay) = error.retry_after {
            details.set_retry_info(Some(delay));
        }
        Status::with_error_details(error.code, error.message, details)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    /// Lost connections and pool time-outs are `UNAVAILABLE` (retry); anything else is a
    /// bug or a broken schema: `INTERNAL`.
    fn from(error: sea_orm::DbErr) -> Self {
        use sea_orm::DbErr;
        match error {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::unavailable(error),
            _ => Self::internal(error),
        }
    }
}

/// Reads the stable reason and field violations back from a `Status` (clients, tests).
pub fn decode(status: &Status) -> (Option<String>, Vec<FieldViolation>) {
    let details = status.get_error_details();
    let reason = details.error_info().map(|i| i.reason.clone());
    let violations = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| FieldViolation::new(v.field.clone(), v.description.clone()))
                .collect()
        })
        .unwrap_or_default();
    (reason, violations)
}

/// The retry delay a `Status` carries (RetryInfo), if any.
pub fn retry_after(status: &Status) -> Option<std::time::Duration> {
    status.get_error_details().retry_info()?.retry_delay
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_round_trips_reason_and_fields() {
        let status: Status = ApiError::invalid_argument(vec![
            FieldViolation::new("finess", "check key: expected 3, got 4"),
            FieldViolation::new("name", "empty"),
        ])
        .into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let (reason, violations) = decode(&status);
        assert_eq!(reason.as_deref(), Some("invalid_argument"));
        assert_eq!(violations.len(), 2);
        assert_eq!(violations[0].field, "finess");
        assert_eq!(violations[1].description, "empty");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status: Status = ApiError::internal(anyhow::anyhow!("password=hunter2")).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
        assert_eq!(decode(&status).0.as_deref(), Some("internal"));
    }
}
