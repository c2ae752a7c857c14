//! Octopus's error body and the sandbox's API error type.
//!
//! Every API failure is answered as the real server does: an HTTP status and the `Error` body
//! `{ErrorMessage, Errors[], FullException, HelpText, HelpLink, ParsedHelpLinks, Details}`.
//! `/token/v1` has its own RFC 8693-style errors (see `identities`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API failure rendered in Octopus's error format.
#[derive(Debug, Clone)]
pub struct OctopusError {
    /// HTTP status.
    pub status: StatusCode,
    /// `ErrorMessage`.
    pub message: String,
    /// `Errors[]` (one line per validation failure).
    pub errors: Vec<String>,
    /// `Retry-After` seconds, for throttling faults.
    pub retry_after_secs: Option<u64>,
}

impl OctopusError {
    /// 400 with the standard validation message and the individual errors.
    pub fn validation(errors: Vec<String>) -> Self {
        OctopusError {
            status: StatusCode::BAD_REQUEST,
            message: "There was a problem with your request.".to_string(),
            errors,
            retry_after_secs: None,
        }
    }

    /// 400 with one message that is also the only error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        let message = message.into();
        OctopusError {
            status: StatusCode::BAD_REQUEST,
            errors: vec![message.clone()],
            message,
            retry_after_secs: None,
        }
    }

    /// 404 for a missing resource.
    pub fn not_found() -> Self {
        OctopusError {
            status: StatusCode::NOT_FOUND,
            message: "The resource you requested was not found.".to_string(),
            errors: vec![],
            retry_after_secs: None,
        }
    }

    /// 401 for a missing or wrong API key / token.
    pub fn unauthenticated(message: &str) -> Self {
        OctopusError {
            status: StatusCode::UNAUTHORIZED,
            message: message.to_string(),
            errors: vec![message.to_string()],
            retry_after_secs: None,
        }
    }

    /// 403 for a caller without permissions.
    pub fn forbidden(permission: &str) -> Self {
        let message = format!(
            "You do not have permission to perform this action. Please contact your Octopus administrator. Missing permission: {permission}"
        );
        OctopusError {
            status: StatusCode::FORBIDDEN,
            errors: vec![message.clone()],
            message,
            retry_after_secs: None,
        }
    }

    /// An injected fault (429 / 5xx) in Octopus's format.
    pub fn injected(status: StatusCode, retry_after_secs: Option<u64>) -> Self {
        let message = if status == StatusCode::TOO_MANY_REQUESTS {
            "Too many requests. Please retry later.".to_string()
        } else {
            format!(
                "The server encountered an error ({}).",
                status.canonical_reason().unwrap_or("error")
            )
        };
        OctopusError {
            status,
            errors: vec![message.clone()],
            message,
            retry_after_secs,
        }
    }
}

impl IntoResponse for OctopusError {
    fn into_response(self) -> Response {
        let body = json!({
            "ErrorMessage": self.message,
            "Errors": self.errors,
            "FullException": null,
            "HelpText": null,
            "HelpLink": null,
            "ParsedHelpLinks": [],
            "Details": null,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
