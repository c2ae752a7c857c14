//! Failures of Entra / Graph / ARM calls, and their mapping to the core's [`Problem`].
//!
//! The mapping branches on the service's own `error.code` (Graph, ARM), the detail code
//! (`NoBackingApplicationObject`), the OAuth `error` and the `AADSTS` number, never on the
//! message text; the server's message is carried into the problem verbatim.
//!
//! Left out: localisation of hints.

use std::time::Duration;

use octo_oidc_core::{ErrorCode, Problem};
use octo_oidc_http::ClientFailure;

use crate::transport::AzureApi;

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
#[derive(Debug, Clone, thiserror::Error)]
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
    /// No usable answer, an unexpected one, or a refusal (shared by the JSON clients).
    #[error(transparent)]
    Client(#[from] ClientFailure<AzureApi>),
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
                match code.as_str() {
                    "Directory_ResourceSizeExceeded" | "Directory_QuotaExceeded" => {
                        ErrorCode::LimitExceeded
                    }
                    _ => octo_oidc_http::status_code(*status),
                }
            }
            AzureError::Token {
                status,
                error,
                aadsts,
                ..
            } => octo_oidc_http::oauth_unavailable(*status, error).unwrap_or(match aadsts {
                Some(c) if TRUST_CODES.contains(c) => ErrorCode::TrustRejected,
                Some(28000) => ErrorCode::Internal,
                _ => ErrorCode::Unauthenticated,
            }),
            AzureError::Client(failure) => failure.code(),
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
            (AzureError::Client(ClientFailure::Refused { hint, .. }), _) => {
                return Some(hint.clone());
            }
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
        use ErrorCode::*;
        let cases = [
            (
                400,
                "Request_BadRequest",
                Some("NoBackingApplicationObject"),
                PropagationPending,
            ),
            (400, "PrincipalNotFound", None, PropagationPending),
            (403, "Directory_ResourceSizeExceeded", None, LimitExceeded),
            (403, "Authorization_RequestDenied", None, PermissionDenied),
            (409, "RoleAssignmentExists", None, Conflict),
            (429, "TooManyRequests", None, RateLimited),
            (503, "serviceNotAvailable", None, RemoteUnavailable),
        ];
        for (status, code, detail, expected) in cases {
            assert_eq!(
                api(status, code, detail).code(),
                expected,
                "{status} {code}"
            );
        }
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
