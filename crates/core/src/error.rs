//! Stable error codes and the one user-facing problem shape (code, message, hint).
//!
//! Every failure that reaches a person, through the CLI or the desktop app, is a [`Problem`]:
//! a stable machine-readable [`ErrorCode`] (the UI and scripts branch on it, never on text), a
//! message saying what went wrong, and a hint saying what to do about it. Library crates keep
//! their own `thiserror` enums and convert into a `Problem` at their boundary.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A stable, machine-readable classification of a failure.
///
/// The serialized form (`snake_case`) is part of the public contract of the CLI (`--json`
/// output, exit codes) and of the desktop app's IPC: never rename a variant, only add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// User input failed validation; `field_errors` say which fields and how to fix them.
    InvalidInput,
    /// The remote service did not accept the credentials (HTTP 401, expired sign-in).
    Unauthenticated,
    /// The credentials are valid but lack a permission (HTTP 403, missing role or consent).
    PermissionDenied,
    /// A remote object does not exist (HTTP 404, `NoSuchEntity`).
    NotFound,
    /// A remote object conflicts with the request (HTTP 409, duplicate name).
    Conflict,
    /// The service asked us to slow down (HTTP 429, AWS `Throttling`).
    RateLimited,
    /// The service failed or could not be reached (HTTP 5xx, connection refused, DNS).
    RemoteUnavailable,
    /// The operation did not finish within its time budget.
    Timeout,
    /// A just-created object is not visible yet (cloud replication / propagation delay).
    PropagationPending,
    /// A service limit would be exceeded (20 federated credentials, trust policy size, quotas).
    LimitExceeded,
    /// The remote server is older than the feature needs (e.g. Octopus < 2024.1 for OIDC).
    UnsupportedVersion,
    /// No OS keychain is reachable to store or read a secret.
    KeychainUnavailable,
    /// The issuer document or its signing keys are missing or unusable.
    IssuerInvalid,
    /// A token was rejected by the trusting side (wrong iss/aud/sub, signature, expiry).
    TrustRejected,
    /// A long-running remote task (e.g. the Octopus account test) finished unsuccessfully.
    TaskFailed,
    /// The operation was cancelled by the user.
    Cancelled,
    /// A bug in this program; the message should be reported.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order (the desktop UI gets this list generated, to tell a
    /// `UiError` from any other rejection).
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::InvalidInput,
        ErrorCode::Unauthenticated,
        ErrorCode::PermissionDenied,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::RemoteUnavailable,
        ErrorCode::Timeout,
        ErrorCode::PropagationPending,
        ErrorCode::LimitExceeded,
        ErrorCode::UnsupportedVersion,
        ErrorCode::KeychainUnavailable,
        ErrorCode::IssuerInvalid,
        ErrorCode::TrustRejected,
        ErrorCode::TaskFailed,
        ErrorCode::Cancelled,
        ErrorCode::Internal,
    ];

    /// The stable string form, identical to the serialized one.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::RemoteUnavailable => "remote_unavailable",
            ErrorCode::Timeout => "timeout",
            ErrorCode::PropagationPending => "propagation_pending",
            ErrorCode::LimitExceeded => "limit_exceeded",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::KeychainUnavailable => "keychain_unavailable",
            ErrorCode::IssuerInvalid => "issuer_invalid",
            ErrorCode::TrustRejected => "trust_rejected",
            ErrorCode::TaskFailed => "task_failed",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::Internal => "internal",
        }
    }

    /// Whether retrying the same request later may succeed without any change.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited
                | ErrorCode::RemoteUnavailable
                | ErrorCode::Timeout
                | ErrorCode::PropagationPending
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid field: which one, what is wrong with it, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldError {
    /// The field's path as the user knows it (e.g. `octopus.server_url`, `aws.role_name`,
    /// `scope.projects[1]`, `--role-name`). A string on the wire; the desktop forms' own ids
    /// are a closed set (`octo_oidc_app::FormField`).
    pub field: String,
    /// What is wrong, in one sentence.
    pub problem: String,
    /// What to do instead, in one sentence.
    pub fix: String,
}

/// A failure as a person sees it: stable code, message, and a hint for what to do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    /// Stable classification; branch on this, never on `message`.
    pub code: ErrorCode,
    /// What went wrong, including the remote service's own message when there is one.
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
    /// For [`ErrorCode::InvalidInput`]: every invalid field at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_errors: Vec<FieldError>,
}

impl Problem {
    /// A problem with a code and message and no hint.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            hint: None,
            field_errors: Vec::new(),
        }
    }

    /// Adds the hint saying what the user can do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// An [`ErrorCode::InvalidInput`] problem listing every field error.
    pub fn invalid_input(field_errors: Vec<FieldError>) -> Self {
        let message = match field_errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.problem),
            many => format!("{} fields are invalid", many.len()),
        };
        Problem {
            code: ErrorCode::InvalidInput,
            message,
            hint: Some("Fix the listed fields and try again; nothing was changed.".into()),
            field_errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_code_once_with_its_serialized_string() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code:?} listed twice");
            let json = serde_json::to_value(code).expect("serializes");
            assert_eq!(json, serde_json::json!(code.as_str()), "{code:?}");
            let back: ErrorCode = serde_json::from_value(json).expect("deserializes");
            assert_eq!(back, code);
        }
        // A new variant must be added to `ALL`: this match stops compiling until it is
        // handled, and the position check then fails until `ALL` has it too.
        let position = |code: ErrorCode| match code {
            ErrorCode::InvalidInput => 0,
            ErrorCode::Unauthenticated => 1,
            ErrorCode::PermissionDenied => 2,
            ErrorCode::NotFound => 3,
            ErrorCode::Conflict => 4,
            ErrorCode::RateLimited => 5,
            ErrorCode::RemoteUnavailable => 6,
            ErrorCode::Timeout => 7,
            ErrorCode::PropagationPending => 8,
            ErrorCode::LimitExceeded => 9,
            ErrorCode::UnsupportedVersion => 10,
            ErrorCode::KeychainUnavailable => 11,
            ErrorCode::IssuerInvalid => 12,
            ErrorCode::TrustRejected => 13,
            ErrorCode::TaskFailed => 14,
            ErrorCode::Cancelled => 15,
            ErrorCode::Internal => 16,
        };
        for (index, code) in ErrorCode::ALL.into_iter().enumerate() {
            assert_eq!(position(code), index, "{code:?}");
        }
    }
}
