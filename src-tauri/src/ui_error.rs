//! The one error type the UI sees: a stable code, a message and a hint.
//!
//! Every command returns `Result<T, UiError>`. A `UiError` is built from the core's
//! [`Problem`], so the desktop app, the CLI and the core agree on codes and wording. The code
//! is a string-literal union in TypeScript (`UiErrorCode`), so the UI branches on it with the
//! compiler's help and never on message text. The mapping from [`ErrorCode`] is an exhaustive
//! `match`: a new core code does not compile here until it is given its UI name.

use octo_oidc_core::{ErrorCode, Problem};
use serde::Serialize;
use specta::Type;

/// A stable, machine-readable failure class, mirrored from [`ErrorCode`] (same strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum UiErrorCode {
    /// User input failed validation; see `field_errors`.
    InvalidInput,
    /// The remote service did not accept the credentials.
    Unauthenticated,
    /// The credentials lack a permission.
    PermissionDenied,
    /// A remote object does not exist.
    NotFound,
    /// A remote object conflicts with the request.
    Conflict,
    /// The service asked us to slow down.
    RateLimited,
    /// The service failed or could not be reached.
    RemoteUnavailable,
    /// The operation did not finish within its time budget.
    Timeout,
    /// A just-created object is not visible yet.
    PropagationPending,
    /// A service limit would be exceeded.
    LimitExceeded,
    /// The remote server is too old for the feature.
    UnsupportedVersion,
    /// No OS keychain is reachable.
    KeychainUnavailable,
    /// The issuer document or its keys are unusable.
    IssuerInvalid,
    /// A token was rejected by the trusting side.
    TrustRejected,
    /// A long-running remote task failed.
    TaskFailed,
    /// The user cancelled.
    Cancelled,
    /// A bug in this program.
    Internal,
}

impl From<ErrorCode> for UiErrorCode {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidInput => UiErrorCode::InvalidInput,
            ErrorCode::Unauthenticated => UiErrorCode::Unauthenticated,
            ErrorCode::PermissionDenied => UiErrorCode::PermissionDenied,
            ErrorCode::NotFound => UiErrorCode::NotFound,
            ErrorCode::Conflict => UiErrorCode::Conflict,
            ErrorCode::RateLimited => UiErrorCode::RateLimited,
            ErrorCode::RemoteUnavailable => UiErrorCode::RemoteUnavailable,
            ErrorCode::Timeout => UiErrorCode::Timeout,
            ErrorCode::PropagationPending => UiErrorCode::PropagationPending,
            ErrorCode::LimitExceeded => UiErrorCode::LimitExceeded,
            ErrorCode::UnsupportedVersion => UiErrorCode::UnsupportedVersion,
            ErrorCode::KeychainUnavailable => UiErrorCode::KeychainUnavailable,
            ErrorCode::IssuerInvalid => UiErrorCode::IssuerInvalid,
            ErrorCode::TrustRejected => UiErrorCode::TrustRejected,
            ErrorCode::TaskFailed => UiErrorCode::TaskFailed,
            ErrorCode::Cancelled => UiErrorCode::Cancelled,
            ErrorCode::Internal => UiErrorCode::Internal,
        }
    }
}

/// One invalid form field, as the UI shows it next to the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct UiFieldError {
    /// The field's name (e.g. `octopus.server_url`).
    pub field: String,
    /// What is wrong, in one sentence.
    pub problem: String,
    /// What to do instead, in one sentence.
    pub fix: String,
}

/// A failure as the UI shows it. Never carries a secret: it is built from a [`Problem`],
/// whose messages are written without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct UiError {
    /// Stable classification; the UI branches on this.
    pub code: UiErrorCode,
    /// What went wrong.
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
    /// For `invalid_input`: every invalid field at once (empty otherwise).
    pub field_errors: Vec<UiFieldError>,
}

impl From<Problem> for UiError {
    fn from(problem: Problem) -> Self {
        UiError {
            code: problem.code.into(),
            message: problem.message,
            hint: problem.hint,
            field_errors: problem
                .field_errors
                .into_iter()
                .map(|f| UiFieldError {
                    field: f.field,
                    problem: f.problem,
                    fix: f.fix,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use octo_oidc_core::error::FieldError;

    #[test]
    fn every_code_keeps_the_core_string() {
        let all = [
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
        for code in all {
            let ui = serde_json::to_value(UiErrorCode::from(code)).expect("serializes");
            assert_eq!(ui, serde_json::json!(code.as_str()), "{code:?}");
        }
    }

    #[test]
    fn problem_becomes_ui_error_with_hint_and_fields() {
        let problem = Problem::invalid_input(vec![FieldError {
            field: "octopus.server_url".into(),
            problem: "is empty".into(),
            fix: "enter it".into(),
        }]);
        let ui = UiError::from(problem);
        let json = serde_json::to_value(&ui).expect("serializes");
        assert_eq!(json["code"], "invalid_input");
        assert_eq!(json["message"], "octopus.server_url: is empty");
        assert!(
            json["hint"]
                .as_str()
                .is_some_and(|h| h.contains("nothing was changed"))
        );
        assert_eq!(json["fieldErrors"][0]["field"], "octopus.server_url");
        assert_eq!(json["fieldErrors"][0]["fix"], "enter it");
    }
}
