//! Failures of Google Cloud calls and their mapping to the core's [`Problem`].
//!
//! Google answers two shapes: the API error `{"error":{"code","message","status"}}` (IAM,
//! Resource Manager, IAM Credentials; `status` is the canonical code such as
//! `PERMISSION_DENIED` or `ABORTED`) and the OAuth error `{"error","error_description"}` of the
//! STS token endpoint. The mapping branches on the canonical code and the OAuth `error`, never
//! on the message, which is carried verbatim (cut to [`octo_oidc_http::MAX_SERVER_TEXT`]).
//!
//! Left out: localisation of hints.

use std::time::Duration;

use octo_oidc_core::retry::{Interrupted, RetryableFailure};
use octo_oidc_core::{ErrorCode, Problem};
use octo_oidc_http::ClientFailure;

use crate::transport::GoogleApi;

/// Which Google API answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Sign-in (`google-cloud-auth`).
    Auth,
    /// IAM v1 (pools, providers, service accounts).
    Iam,
    /// Cloud Resource Manager (projects).
    ResourceManager,
    /// Security Token Service.
    Sts,
    /// IAM Service Account Credentials.
    IamCredentials,
}

impl Service {
    /// The name used in progress events and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Auth => "google-auth",
            Service::Iam => "gcp-iam",
            Service::ResourceManager => "gcp-crm",
            Service::Sts => "gcp-sts",
            Service::IamCredentials => "gcp-iamcredentials",
        }
    }
}

/// A failed Google Cloud call.
#[derive(Debug, thiserror::Error)]
pub enum GcpError {
    /// An API answered with `google.rpc.Status`.
    #[error("{} {operation} failed: HTTP {http} {status}: {message}", service.as_str())]
    Api {
        /// The service.
        service: Service,
        /// E.g. `PATCH workloadIdentityPools/octopus/providers/octopus-prod`.
        operation: String,
        /// HTTP status.
        http: u16,
        /// Canonical code, e.g. `PERMISSION_DENIED`.
        status: String,
        /// The message, verbatim.
        message: String,
        /// `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// STS refused the exchange with an OAuth error.
    #[error("Google STS refused the token: {error}: {description}")]
    OAuth {
        /// HTTP status.
        http: u16,
        /// `invalid_grant`, `unauthorized_client`, `invalid_target`, `invalid_request`, …
        error: String,
        /// `error_description`, verbatim.
        description: String,
        /// `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Sign-in failed (no Application Default Credentials, an unusable key file, a refused
    /// refresh).
    #[error("Google sign-in failed: {message}")]
    SignIn {
        /// What went wrong.
        message: String,
        /// Whether the library says a retry may help.
        transient: bool,
    },
    /// A long-running operation is not done yet (polled again by the core's loop).
    #[error("{} operation {name} is not done yet", service.as_str())]
    OperationPending {
        /// The service.
        service: Service,
        /// The operation's name.
        name: String,
    },
    /// No usable answer, an unexpected one, or a refusal (shared by the JSON clients).
    #[error(transparent)]
    Client(#[from] ClientFailure<GoogleApi>),
}

impl GcpError {
    /// The stable classification.
    pub fn code(&self) -> ErrorCode {
        match self {
            GcpError::Api { http, status, .. } => match status.as_str() {
                "UNAUTHENTICATED" => ErrorCode::Unauthenticated,
                "PERMISSION_DENIED" => ErrorCode::PermissionDenied,
                "NOT_FOUND" => ErrorCode::NotFound,
                "ALREADY_EXISTS" | "ABORTED" => ErrorCode::Conflict,
                "RESOURCE_EXHAUSTED" => ErrorCode::RateLimited,
                "UNAVAILABLE" | "INTERNAL" => ErrorCode::RemoteUnavailable,
                "DEADLINE_EXCEEDED" => ErrorCode::Timeout,
                "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => {
                    ErrorCode::InvalidInput
                }
                _ => octo_oidc_http::status_code(*http),
            },
            GcpError::OAuth { http, error, .. } => {
                octo_oidc_http::oauth_unavailable(*http, error).unwrap_or(ErrorCode::TrustRejected)
            }
            GcpError::SignIn { transient, .. } => {
                if *transient {
                    ErrorCode::RemoteUnavailable
                } else {
                    ErrorCode::Unauthenticated
                }
            }
            GcpError::Client(failure) => failure.code(),
            GcpError::OperationPending { .. } => ErrorCode::PropagationPending,
        }
    }

    /// The canonical code (`ABORTED`, `NOT_FOUND`, …) or the OAuth `error`, if any.
    pub fn service_code(&self) -> Option<&str> {
        match self {
            GcpError::Api { status, .. } => Some(status),
            GcpError::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether this is the API error with canonical code `status`.
    pub fn is_status(&self, wanted: &str) -> bool {
        matches!(self, GcpError::Api { status, .. } if status == wanted)
    }

    fn hint(&self) -> Option<String> {
        let hint = match (self, self.code()) {
            (GcpError::Client(ClientFailure::Refused { hint, .. }), _) => {
                return Some(hint.clone());
            }
            (GcpError::SignIn { .. }, _) => {
                "Run `gcloud auth application-default login`, or point GOOGLE_APPLICATION_CREDENTIALS at a service-account key or external-account file."
            }
            (_, ErrorCode::Unauthenticated) => {
                "Sign in to Google Cloud again (`gcloud auth application-default login`)."
            }
            (_, ErrorCode::PermissionDenied) => {
                "The signed-in principal needs roles/iam.workloadIdentityPoolAdmin, roles/iam.serviceAccountAdmin and roles/resourcemanager.projectIamAdmin on the project (or an owner to run the setup)."
            }
            (GcpError::OAuth { .. }, ErrorCode::TrustRejected) => {
                "Compare the provider's issuer, allowed audiences, attribute mapping and condition with the Octopus token; the condition must admit the token's subject."
            }
            (_, ErrorCode::RateLimited | ErrorCode::RemoteUnavailable | ErrorCode::Timeout) => {
                "Google Cloud is busy or unreachable; try again later (the setup is safe to repeat)."
            }
            (_, ErrorCode::PropagationPending) => {
                "Google has not finished the change yet; run the step again in a minute (it is safe to repeat)."
            }
            _ => return None,
        };
        Some(hint.to_owned())
    }
}

impl RetryableFailure for GcpError {
    fn code(&self) -> ErrorCode {
        GcpError::code(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            GcpError::Api { retry_after, .. } | GcpError::OAuth { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<Interrupted> for GcpError {
    fn from(interrupted: Interrupted) -> Self {
        ClientFailure::interrupted(&interrupted, "Google Cloud").into()
    }
}

impl From<GcpError> for Problem {
    fn from(error: GcpError) -> Problem {
        Problem {
            hint: error.hint(),
            ..Problem::new(error.code(), error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(http: u16, status: &str) -> GcpError {
        GcpError::Api {
            service: Service::Iam,
            operation: "x".into(),
            http,
            status: status.into(),
            message: "m".into(),
            retry_after: None,
        }
    }

    #[test]
    fn canonical_codes_decide_over_http_statuses() {
        let cases = [
            (409, "ABORTED", ErrorCode::Conflict),
            (403, "PERMISSION_DENIED", ErrorCode::PermissionDenied),
            (400, "FAILED_PRECONDITION", ErrorCode::InvalidInput),
            (429, "RESOURCE_EXHAUSTED", ErrorCode::RateLimited),
            (503, "", ErrorCode::RemoteUnavailable),
        ];
        for (http, status, expected) in cases {
            assert_eq!(api(http, status).code(), expected, "{http} {status}");
        }
        let refused = GcpError::OAuth {
            http: 401,
            error: "unauthorized_client".into(),
            description: "rejected by the attribute condition".into(),
            retry_after: None,
        };
        assert_eq!(refused.code(), ErrorCode::TrustRejected);
        let p = Problem::from(refused);
        assert!(p.message.contains("unauthorized_client"), "{}", p.message);
        assert!(p.hint.is_some());
    }
}
