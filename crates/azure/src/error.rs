//! Failures of Entra / Graph / ARM calls, and their mapping to the core's [`Problem`].
//!
//! The mapping branches on the service's own `error.code` (Graph, ARM), the detail code
//! (`NoBackingApplicationObject`), the OAuth `error` and the `AADSTS` number, never on the
//! message text; the server's message is carried into the problem verbatim.
//!
//! Left out: localisation of hints.

use std::time::Duration;

use octo_oidc_core::{ErrorCode, Problem};

/// Which Azure service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The Entra ID authority (token endpoint).
    Entra,
    /// Microsoft Graph.
    Graph,
    /// Azure Resource Manager.
    Arm,
}

impl Service {
    /// The name used in progress events and fault knobs.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Entra => "entra",
            Service::Graph => "graph",
            Service::Arm => "arm",
        }
    }
}

/// A failed Azure call.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// Graph or ARM answered with an error envelope.
    #[error("{} {operation} failed: HTTP {status} {code}: {message}", service.as_str())]
    Api {
        /// The service.
        service: Service,
        /// E.g. `PATCH applications(uniqueName)`.
        operation: String,
        /// HTTP status.
        status: u16,
        /// `error.code`.
        code: String,
        /// `error.details[0].code`, if any (Graph's `NoBackingApplicationObject`).
        detail_code: Option<String>,
        /// `error.message`, verbatim.
        message: String,
        /// The `Retry-After` header.
        retry_after: Option<Duration>,
    },
    /// The authority rejected a token request.
    #[error("sign-in failed: {error}: {description}")]
    Token {
        /// HTTP status.
        status: u16,
        /// OAuth `error`, e.g. `invalid_grant`.
        error: String,
        /// The first of `error_codes` (the `AADSTS` number).
        aadsts: Option<u64>,
        /// `error_description`, verbatim.
        description: String,
        /// The `Retry-After` header.
        retry_after: Option<Duration>,
    },
    /// No usable HTTP response (connection refused or dropped, DNS, TLS, timeout).
    #[error("{} {operation}: {message}", service.as_str())]
    Transport {
        /// The service.
        service: Service,
        /// The operation.
        operation: String,
        /// What went wrong.
        message: String,
        /// Whether the request timed out.
        timed_out: bool,
        /// Whether the host name did not resolve (retried once at most).
        name_not_resolved: bool,
    },
    /// A response that does not have the documented shape.
    #[error("{} {operation}: unexpected response: {message}", service.as_str())]
    Unexpected {
        /// The service.
        service: Service,
        /// The operation.
        operation: String,
        /// What was wrong with it.
        message: String,
    },
    /// A precondition the caller can fix (bad input, limit reached before calling).
    #[error("{message}")]
    Refused {
        /// The stable code.
        code: ErrorCode,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
}

/// AADSTS codes that mean the trust itself (federated credential, issuer, keys) rejected the
/// token, as opposed to a sign-in or configuration problem.
const TRUST_CODES: &[u64] = &[
    70021, 700211, 700212, 7002121, 700213, 7002138, 50166, 90061, 7000272, 700024, 700027, 50027,
];

impl AzureError {
    /// The stable classification.
    pub fn code(&self) -> ErrorCode {
        match self {
            AzureError::Api {
                status,
                code,
                detail_code,
                ..
            } => {
                if detail_code.as_deref() == Some("NoBackingApplicationObject")
                    || code == "PrincipalNotFound"
                {
                    return ErrorCode::PropagationPending;
                }
                match (*status, code.as_str()) {
                    (_, "Directory_ResourceSizeExceeded" | "Directory_QuotaExceeded") => {
                        ErrorCode::LimitExceeded
                    }
                    (401, _) => ErrorCode::Unauthenticated,
                    (403, _) => ErrorCode::PermissionDenied,
                    (404, _) => ErrorCode::NotFound,
                    (409, _) => ErrorCode::Conflict,
                    (429, _) => ErrorCode::RateLimited,
                    (408, _) => ErrorCode::Timeout,
                    (500..=599, _) => ErrorCode::RemoteUnavailable,
                    _ => ErrorCode::InvalidInput,
                }
            }
            AzureError::Token {
                status,
                error,
                aadsts,
                ..
            } => {
                if *status == 429 {
                    ErrorCode::RateLimited
                } else if *status >= 500 || error == "temporarily_unavailable" {
                    ErrorCode::RemoteUnavailable
                } else if aadsts.is_some_and(|c| TRUST_CODES.contains(&c)) {
                    ErrorCode::TrustRejected
                } else if aadsts == &Some(28000) {
                    ErrorCode::Internal
                } else {
                    ErrorCode::Unauthenticated
                }
            }
            AzureError::Transport { timed_out, .. } => {
                if *timed_out {
                    ErrorCode::Timeout
                } else {
                    ErrorCode::RemoteUnavailable
                }
            }
            AzureError::Unexpected { .. } => ErrorCode::Internal,
            AzureError::Refused { code, .. } => *code,
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AzureError::Api { retry_after, .. } | AzureError::Token { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The Graph/ARM `error.code` or the OAuth error, if any.
    pub fn service_code(&self) -> Option<&str> {
        match self {
            AzureError::Api { code, .. } => Some(code),
            AzureError::Token { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The `AADSTS` number of a token error.
    pub fn aadsts(&self) -> Option<u64> {
        match self {
            AzureError::Token { aadsts, .. } => *aadsts,
            _ => None,
        }
    }

    fn hint(&self) -> Option<String> {
        let hint = match (self, self.code()) {
            (AzureError::Refused { hint, .. }, _) => return Some(hint.clone()),
            (
                AzureError::Api {
                    service: Service::Graph,
                    ..
                },
                ErrorCode::PermissionDenied,
            ) => {
                "Sign in as a user with the Application Administrator or Cloud Application Administrator role (or the app's owner), or ask an administrator to create the app registration."
            }
            (
                AzureError::Api {
                    service: Service::Arm,
                    ..
                },
                ErrorCode::PermissionDenied,
            ) => {
                "Role assignments need Owner, User Access Administrator or Role Based Access Control Administrator on the scope; ask someone who has it, or pick a scope where you do."
            }
            (_, ErrorCode::Unauthenticated) => "Sign in to Azure again.",
            (_, ErrorCode::TrustRejected) => {
                "Compare the federated credential's issuer, subject and audience with the Octopus token exactly (case and trailing slash matter); new credentials can take a few minutes to apply."
            }
            (_, ErrorCode::PropagationPending) => {
                "Entra has not replicated the new object yet; run the setup again in a few minutes (it is safe to repeat)."
            }
            (_, ErrorCode::RateLimited | ErrorCode::RemoteUnavailable | ErrorCode::Timeout) => {
                "Azure is busy or unreachable; try again later (the setup is safe to repeat)."
            }
            (_, ErrorCode::LimitExceeded) => {
                "An app registration holds at most 20 federated credentials: use coarser subject keys or split the scope across several app registrations."
            }
            _ => return None,
        };
        Some(hint.to_owned())
    }
}

impl From<AzureError> for Problem {
    fn from(error: AzureError) -> Problem {
        Problem {
            hint: error.hint(),
            ..Problem::new(error.code(), error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str, detail: Option<&str>) -> AzureError {
        AzureError::Api {
            service: Service::Graph,
            operation: "op".into(),
            status,
            code: code.into(),
            detail_code: detail.map(str::to_owned),
            message: "server says".into(),
            retry_after: None,
        }
    }

    #[test]
    fn codes_come_from_service_codes_not_messages() {
        assert_eq!(
            api(
                400,
                "Request_BadRequest",
                Some("NoBackingApplicationObject")
            )
            .code(),
            ErrorCode::PropagationPending
        );
        assert_eq!(
            api(400, "PrincipalNotFound", None).code(),
            ErrorCode::PropagationPending
        );
        assert_eq!(
            api(403, "Directory_ResourceSizeExceeded", None).code(),
            ErrorCode::LimitExceeded
        );
        assert_eq!(
            api(403, "Authorization_RequestDenied", None).code(),
            ErrorCode::PermissionDenied
        );
        assert_eq!(
            api(409, "RoleAssignmentExists", None).code(),
            ErrorCode::Conflict
        );
        assert_eq!(
            api(429, "TooManyRequests", None).code(),
            ErrorCode::RateLimited
        );
        assert_eq!(
            api(503, "serviceNotAvailable", None).code(),
            ErrorCode::RemoteUnavailable
        );
        let token = |aadsts| AzureError::Token {
            status: 400,
            error: "invalid_client".into(),
            aadsts: Some(aadsts),
            description: "d".into(),
            retry_after: None,
        };
        assert_eq!(token(700213).code(), ErrorCode::TrustRejected);
        assert_eq!(token(7000215).code(), ErrorCode::Unauthenticated);
        let problem = Problem::from(api(403, "Authorization_RequestDenied", None));
        assert!(problem.message.contains("server says"));
        assert!(problem.hint.is_some());
    }
}
