//! Errors of the Octopus client and their conversion into the user-facing [`Problem`].
//!
//! [`OctopusError`] keeps what went wrong in a form the client can act on (HTTP status, the
//! server's own `ErrorMessage` and `Errors[]`, `Retry-After`); [`From<OctopusError> for
//! Problem`] maps it to a stable [`ErrorCode`] with the server's message and a hint. The
//! request's API key is never part of an error: requests are described by method and path only.
//!
//! Deliberately absent: retry decisions (see `transport`), keychain errors (see `keychain`).

use std::time::Duration;

use octo_oidc_core::{ErrorCode, Problem};
use serde::Deserialize;

/// Something that went wrong talking to an Octopus server.
#[derive(Debug, thiserror::Error)]
pub enum OctopusError {
    /// The server answered with an error status.
    #[error("{operation}: Octopus answered HTTP {status}: {message}")]
    Http {
        /// What we were doing, e.g. `GET /api/Spaces-1/accounts`.
        operation: String,
        /// The HTTP status code.
        status: u16,
        /// The server's `ErrorMessage` joined with its `Errors[]`, or the raw body's start.
        message: String,
        /// The server's `Errors[]`, one entry per validation problem.
        errors: Vec<String>,
        /// `Retry-After` (seconds form), when the server sent one.
        retry_after: Option<Duration>,
    },
    /// The server could not be reached (DNS, connection refused, TLS, connection dropped).
    #[error("{operation}: could not reach the Octopus server: {detail}")]
    Unreachable {
        /// What we were doing.
        operation: String,
        /// The transport's description (contains no headers).
        detail: String,
        /// Whether the request certainly never reached the server (safe to resend a POST).
        before_sending: bool,
        /// Whether the server's host name did not resolve (retried once at most).
        name_not_resolved: bool,
    },
    /// The caller cancelled the operation.
    #[error("{operation}: cancelled")]
    Cancelled {
        /// What we were doing.
        operation: String,
    },
    /// The request did not complete within the configured timeout.
    #[error("{operation}: no answer from the Octopus server within {timeout:?}")]
    Timeout {
        /// What we were doing.
        operation: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// The server answered 2xx but the body was not what an Octopus server sends.
    #[error("{operation}: unexpected response from the server: {detail}")]
    UnexpectedResponse {
        /// What we were doing.
        operation: String,
        /// What did not parse.
        detail: String,
    },
    /// The client's own configuration is unusable (bad URL, unreadable CA bundle).
    #[error("{field}: {problem}")]
    InvalidConfig {
        /// The configuration field, e.g. `octopus.server_url`.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The server is older than the feature needs.
    #[error("Octopus Server {found} is too old: {feature} needs {needed} or newer")]
    UnsupportedVersion {
        /// The server's version string.
        found: String,
        /// The minimum version, e.g. `2024.1`.
        needed: String,
        /// What needs it.
        feature: String,
    },
    /// An existing object conflicts with what was asked for and cannot be changed in place.
    #[error("{0}")]
    Conflict(String),
    /// The OIDC discovery document or its keys are unusable.
    #[error("{0}")]
    IssuerInvalid(String),
    /// A server task did not finish within the time budget.
    #[error("task {task_id} did not finish within {waited:?} (last state {state})")]
    TaskTimeout {
        /// `ServerTasks-N`.
        task_id: String,
        /// The last state seen.
        state: String,
        /// How long we followed it.
        waited: Duration,
    },
}

impl OctopusError {
    /// The stable code this error maps to.
    pub fn code(&self) -> ErrorCode {
        match self {
            OctopusError::Http { status, .. } => code_for_status(*status),
            OctopusError::Unreachable { .. } => ErrorCode::RemoteUnavailable,
            OctopusError::Cancelled { .. } => ErrorCode::Cancelled,
            OctopusError::Timeout { .. } | OctopusError::TaskTimeout { .. } => ErrorCode::Timeout,
            OctopusError::UnexpectedResponse { .. } => ErrorCode::RemoteUnavailable,
            OctopusError::InvalidConfig { .. } => ErrorCode::InvalidInput,
            OctopusError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            OctopusError::Conflict(_) => ErrorCode::Conflict,
            OctopusError::IssuerInvalid(_) => ErrorCode::IssuerInvalid,
        }
    }

    /// The HTTP status, for errors the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            OctopusError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            OctopusError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn hint(&self) -> Option<String> {
        let hint = match self {
            OctopusError::Http { status, .. } => match status {
                400 => {
                    "The server rejected the request; the message above says which field. Nothing was changed by this request."
                }
                401 => {
                    "Check the API key: it may be mistyped, expired or revoked. Create a new one under your Octopus profile → API keys."
                }
                403 => {
                    "The API key's user lacks a permission for this; ask an Octopus administrator to add the user to a team that has it."
                }
                404 => {
                    "Check the server URL, the space and the id; the object may have been deleted."
                }
                409 => {
                    "Something with the same name already exists; choose another name or reuse the existing object."
                }
                429 => "The server is throttling requests; wait a little and try again.",
                500..=599 => {
                    "The Octopus server failed; try again in a moment, and check the server's logs if it persists."
                }
                _ => return None,
            },
            OctopusError::Unreachable {
                name_not_resolved: true,
                ..
            } => {
                "The server's host name does not resolve; check the spelling of the server URL and your DNS/VPN."
            }
            OctopusError::Cancelled { .. } => return None,
            OctopusError::Unreachable { .. } => {
                "Check the server URL, your network/VPN and, for a private CA, the CA bundle."
            }
            OctopusError::Timeout { .. } => {
                "The server is slow or unreachable; try again, or raise the request timeout."
            }
            OctopusError::UnexpectedResponse { .. } => {
                "Check that the URL points at an Octopus Server (not a proxy or login page)."
            }
            OctopusError::InvalidConfig { .. } => return None,
            OctopusError::UnsupportedVersion { .. } => {
                "Upgrade Octopus Server (OIDC accounts and service-account OIDC identities need 2024.1 or newer)."
            }
            OctopusError::Conflict(_) => {
                "Choose another name, or remove the existing object in Octopus first."
            }
            OctopusError::IssuerInvalid(_) => {
                "Check the server's OIDC issuer (Configuration → Settings → Authentication → OIDC Issuer Url) and that /.well-known/jwks serves RSA keys."
            }
            OctopusError::TaskTimeout { .. } => {
                "The task may still be queued behind others; check Tasks in the Octopus web portal."
            }
        };
        Some(hint.to_string())
    }
}

/// The stable error code for an HTTP error status from Octopus.
pub fn code_for_status(status: u16) -> ErrorCode {
    match status {
        300..=399 | 400 | 422 => ErrorCode::InvalidInput,
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::PermissionDenied,
        404 | 410 => ErrorCode::NotFound,
        409 => ErrorCode::Conflict,
        408 => ErrorCode::Timeout,
        429 => ErrorCode::RateLimited,
        500..=599 => ErrorCode::RemoteUnavailable,
        _ => ErrorCode::Internal,
    }
}

impl From<OctopusError> for Problem {
    fn from(error: OctopusError) -> Self {
        Problem {
            hint: error.hint(),
            ..Problem::new(error.code(), error.to_string())
        }
    }
}

/// The Octopus error body (`{"ErrorMessage": .., "Errors": [..], ..}`), only the fields we show.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(rename = "ErrorMessage", default)]
    error_message: Option<String>,
    #[serde(rename = "Errors", default)]
    errors: Option<Vec<String>>,
    /// The token endpoint answers RFC 8693 style.
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// The server's message and `Errors[]` from an error response body.
///
/// Falls back to the start of the raw body (or the status's reason phrase) when the body is not
/// Octopus's JSON error shape, so the user always sees what the server said.
pub(crate) fn server_message(status: u16, body: &[u8]) -> (String, Vec<String>) {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    // Server text is cut before it reaches a Problem: at most 20 entries, each trimmed.
    let errors: Vec<String> = parsed
        .errors
        .unwrap_or_default()
        .iter()
        .take(20)
        .map(|e| octo_oidc_http::server_text(e))
        .collect();
    let main = parsed
        .error_message
        .or(parsed.error_description)
        .or(parsed.error)
        .filter(|m| !m.trim().is_empty());
    let message = match main {
        Some(main) => {
            let extra: Vec<&str> = errors
                .iter()
                .map(String::as_str)
                .filter(|e| *e != main)
                .collect();
            if extra.is_empty() {
                main
            } else {
                format!("{main} ({})", extra.join("; "))
            }
        }
        None if !errors.is_empty() => errors.join("; "),
        None => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                reason_phrase(status).to_string()
            } else {
                octo_oidc_http::server_text(text)
            }
        }
    };
    (octo_oidc_http::server_text(&message), errors)
}

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("no message")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octopus_error_body_gives_message_and_errors() {
        let body = br#"{"ErrorMessage":"There was a problem with your request.","Errors":["Name must be unique","Please provide an Azure subscription ID."]}"#;
        let (message, errors) = server_message(400, body);
        assert_eq!(
            message,
            "There was a problem with your request. (Name must be unique; Please provide an Azure subscription ID.)"
        );
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn non_json_body_falls_back_to_text_then_reason() {
        assert_eq!(
            server_message(502, b"Bad gateway from proxy").0,
            "Bad gateway from proxy"
        );
        assert_eq!(server_message(503, b"").0, "Service Unavailable");
    }

    #[test]
    fn statuses_map_to_stable_codes_with_hints() {
        for (status, code) in [
            (400, ErrorCode::InvalidInput),
            (401, ErrorCode::Unauthenticated),
            (403, ErrorCode::PermissionDenied),
            (404, ErrorCode::NotFound),
            (409, ErrorCode::Conflict),
            (429, ErrorCode::RateLimited),
            (500, ErrorCode::RemoteUnavailable),
            (503, ErrorCode::RemoteUnavailable),
        ] {
            let problem = Problem::from(OctopusError::Http {
                operation: "GET /api".into(),
                status,
                message: "server said so".into(),
                errors: vec![],
                retry_after: None,
            });
            assert_eq!(problem.code, code, "status {status}");
            assert!(problem.message.contains("server said so"));
            assert!(problem.hint.is_some(), "status {status} has a hint");
        }
    }
}
