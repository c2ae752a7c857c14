//! The one error type the UI sees: the core's stable [`ErrorCode`], a message, a hint and the
//! core's [`FieldError`]s.
//!
//! Every command returns `Result<T, UiError>`, built from the [`Problem`] the application
//! crate returns, so the desktop app, the CLI and the core agree on codes and wording. The
//! code and field error types are the core's own, exported to TypeScript through the core's
//! `specta` feature: there is no copy to keep in step.

use octo_oidc_core::error::FieldError;
use octo_oidc_core::{ErrorCode, Problem};
use serde::Serialize;
use specta::Type;

/// A failure as the UI shows it. Never carries a secret: it is built from a [`Problem`],
/// whose messages are written without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct UiError {
    /// Stable classification; the UI branches on this.
    pub code: ErrorCode,
    /// What went wrong.
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
    /// For `invalid_input`: every invalid field at once (empty otherwise).
    pub field_errors: Vec<FieldError>,
}

impl From<Problem> for UiError {
    fn from(problem: Problem) -> Self {
        UiError {
            code: problem.code,
            message: problem.message,
            hint: problem.hint,
            field_errors: problem.field_errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_keeps_the_core_string() {
        for code in ErrorCode::ALL {
            let ui = UiError::from(Problem::new(code, "x"));
            let json = serde_json::to_value(&ui).expect("serializes");
            assert_eq!(json["code"], serde_json::json!(code.as_str()), "{code:?}");
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
        assert_eq!(json["fieldErrors"][0]["problem"], "is empty");
        assert_eq!(json["fieldErrors"][0]["fix"], "enter it");
    }
}
