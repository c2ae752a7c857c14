//! AWS SDK errors → the core's [`Problem`]s, classified by the service's error code.
//!
//! Every SDK call's error goes through [`call_failure`], which keeps what the retry loop and
//! the user need: a stable [`ErrorCode`], the AWS error code and message verbatim, the HTTP
//! status, and a `Retry-After` when the service sent one. Deliberately absent: matching on
//! modeled error enums per operation (the codes are the same across operations and are what
//! moto, the sandbox and real AWS agree on).

use std::time::Duration;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use octo_oidc_core::{ErrorCode, Problem};

/// One failed call, classified.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{service} {operation} failed: {detail}")]
pub struct CallFailure {
    /// `iam` or `sts`.
    pub service: &'static str,
    /// The API action, e.g. `CreateRole`.
    pub operation: &'static str,
    /// The stable classification.
    pub code: ErrorCode,
    /// The AWS error code (`NoSuchEntity`), if the service sent one.
    pub aws_code: Option<String>,
    /// The AWS message, or a description of the transport failure.
    pub detail: String,
    /// The service's `Retry-After`, if any.
    pub retry_after: Option<Duration>,
    /// Whether the endpoint's host name did not resolve (retried once at most).
    pub name_not_resolved: bool,
    /// The HTTP status of the answer, when there was one.
    pub status: Option<u16>,
}

impl CallFailure {
    /// Whether the AWS error code is this one.
    pub fn is(&self, aws_code: &str) -> bool {
        self.aws_code.as_deref() == Some(aws_code)
    }

    /// Whether the endpoint does not implement the operation: IAM's `InvalidAction` /
    /// `NotImplemented`, or a server error that carries no AWS error at all (AWS's own server
    /// errors always carry one, `InternalFailure` / `ServiceFailure`; an emulator answers an
    /// action it lacks that way — moto with a bare HTML 500).
    pub fn is_unimplemented(&self) -> bool {
        match self.aws_code.as_deref() {
            Some(code) => matches!(code, "InvalidAction" | "NotImplemented"),
            None => matches!(self.status, Some(500 | 501)),
        }
    }

    /// The user-facing problem, with a hint for the codes a person can act on.
    pub fn into_problem(self) -> Problem {
        Problem {
            hint: hint_for(self.code, self.aws_code.as_deref(), self.operation),
            ..Problem::new(self.code, self.to_string())
        }
    }
}

impl From<CallFailure> for Problem {
    fn from(failure: CallFailure) -> Problem {
        failure.into_problem()
    }
}

/// The stable code of each AWS error code (IAM and STS) that has one.
const AWS_CODES: &[(ErrorCode, &[&str])] = &[
    (
        ErrorCode::RateLimited,
        &[
            "Throttling",
            "ThrottlingException",
            "RequestLimitExceeded",
            "TooManyRequestsException",
        ],
    ),
    (
        ErrorCode::NotFound,
        &["NoSuchEntity", "NoSuchEntityException"],
    ),
    (
        ErrorCode::Conflict,
        &[
            "EntityAlreadyExists",
            "EntityAlreadyExistsException",
            "DeleteConflict",
            "ConcurrentModification",
        ],
    ),
    (
        ErrorCode::LimitExceeded,
        &[
            "LimitExceeded",
            "LimitExceededException",
            "PackedPolicyTooLarge",
        ],
    ),
    (
        ErrorCode::InvalidInput,
        &[
            "MalformedPolicyDocument",
            "InvalidInput",
            "ValidationError",
            "InvalidParameterValue",
            "MissingParameter",
            "PolicyNotAttachable",
            "UnmodifiableEntity",
        ],
    ),
    (
        ErrorCode::PermissionDenied,
        &[
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
        ],
    ),
    (
        ErrorCode::Unauthenticated,
        &[
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "MissingAuthenticationToken",
            "IncompleteSignature",
            "UnrecognizedClientException",
        ],
    ),
    (
        ErrorCode::TrustRejected,
        &[
            "InvalidIdentityToken",
            "ExpiredTokenException",
            "IDPRejectedClaim",
        ],
    ),
    (
        ErrorCode::IssuerInvalid,
        &["IDPCommunicationError", "OpenIdIdpCommunicationError"],
    ),
    (
        ErrorCode::RemoteUnavailable,
        &[
            "ServiceFailure",
            "InternalFailure",
            "ServiceUnavailable",
            "InternalError",
        ],
    ),
];

/// The stable code for an AWS error code (IAM and STS); `internal` for one not in the table.
pub fn classify(aws_code: &str) -> ErrorCode {
    AWS_CODES
        .iter()
        .find(|(_, names)| names.contains(&aws_code))
        .map_or(ErrorCode::Internal, |(code, _)| *code)
}

/// Classifies one SDK error.
pub fn call_failure<E>(
    service: &'static str,
    operation: &'static str,
    error: &SdkError<E, HttpResponse>,
) -> CallFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let retry_after = error
        .raw_response()
        .and_then(|r| r.headers().get("retry-after"))
        .and_then(|v| octo_oidc_http::parse_retry_after(v, std::time::SystemTime::now()));
    let name_not_resolved = octo_oidc_http::is_name_resolution_failure(error);
    // No AWS answer to read: what happened, and the SDK's whole account of it.
    let unanswered = |code, what: String| {
        let context = aws_sdk_iam::error::DisplayErrorContext(error);
        (code, None, format!("{what}: {context}"))
    };
    let (code, aws_code, detail) = match error {
        SdkError::TimeoutError(_) => (
            ErrorCode::Timeout,
            None,
            "the request timed out".to_string(),
        ),
        SdkError::DispatchFailure(failure) => {
            let code = if failure.is_timeout() {
                ErrorCode::Timeout
            } else if failure.is_io() {
                ErrorCode::RemoteUnavailable
            } else if failure.is_user() {
                ErrorCode::Unauthenticated
            } else {
                ErrorCode::RemoteUnavailable
            };
            unanswered(code, "the request could not be sent".to_owned())
        }
        SdkError::ConstructionFailure(_) => unanswered(
            ErrorCode::Unauthenticated,
            "the request could not be built (credentials or configuration)".to_owned(),
        ),
        SdkError::ResponseError(_) => unanswered(
            ErrorCode::RemoteUnavailable,
            format!(
                "the response could not be read (HTTP {})",
                status.map_or_else(|| "?".into(), |s| s.to_string())
            ),
        ),
        _ => match error.code() {
            Some(aws_code) => (
                classify(aws_code),
                Some(aws_code.to_string()),
                format!("{aws_code}: {}", error.message().unwrap_or("(no message)")),
            ),
            None => {
                let server_side = status.is_some_and(|s| s >= 500);
                (
                    if server_side {
                        ErrorCode::RemoteUnavailable
                    } else {
                        ErrorCode::Internal
                    },
                    None,
                    format!(
                        "HTTP {} without an AWS error code{}",
                        status.map_or_else(|| "?".into(), |s| s.to_string()),
                        error
                            .message()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ),
                )
            }
        },
    };
    CallFailure {
        service,
        operation,
        code,
        aws_code,
        detail: octo_oidc_http::server_text(&detail),
        retry_after,
        name_not_resolved,
        status,
    }
}

fn hint_for(code: ErrorCode, aws_code: Option<&str>, operation: &str) -> Option<String> {
    let hint = match (code, aws_code) {
        (_, Some("MalformedPolicyDocument")) => {
            "The policy document was rejected; check the provider ARN in the Federated principal and the JSON."
        }
        (_, Some("LimitExceeded"))
            if operation.contains("Role") || operation.contains("Policy") =>
        {
            "Shorten the trust policy (minified JSON, wildcards) or request a quota increase for 'Role trust policy length'."
        }
        (_, Some("DeleteConflict")) => "Detach and delete the role's policies first.",
        (ErrorCode::PermissionDenied, _) => {
            "The AWS credentials in use lack an IAM permission; use a principal allowed to manage IAM OIDC providers and roles."
        }
        (ErrorCode::Unauthenticated, _) => {
            "Check the AWS credentials (profile, access key, or run `aws sso login`)."
        }
        (ErrorCode::RateLimited | ErrorCode::RemoteUnavailable | ErrorCode::Timeout, _) => {
            "AWS did not answer in time after retries; try again in a minute."
        }
        (ErrorCode::TrustRejected, _) => {
            "The token was rejected: compare its iss/aud/sub with the provider URL, client ids and trust policy."
        }
        (ErrorCode::IssuerInvalid, _) => {
            "AWS could not fetch the issuer's discovery document or keys; they must be reachable over HTTPS from the internet."
        }
        _ => return None,
    };
    Some(hint.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_stable_classes() {
        assert_eq!(classify("Throttling"), ErrorCode::RateLimited);
        assert_eq!(classify("NoSuchEntity"), ErrorCode::NotFound);
        assert_eq!(classify("EntityAlreadyExists"), ErrorCode::Conflict);
        assert_eq!(classify("LimitExceeded"), ErrorCode::LimitExceeded);
        assert_eq!(classify("MalformedPolicyDocument"), ErrorCode::InvalidInput);
        assert_eq!(classify("AccessDenied"), ErrorCode::PermissionDenied);
        assert_eq!(classify("ServiceFailure"), ErrorCode::RemoteUnavailable);
        assert_eq!(classify("InvalidIdentityToken"), ErrorCode::TrustRejected);
        assert_eq!(classify("SomethingNew"), ErrorCode::Internal);
    }

    #[test]
    fn an_action_the_endpoint_lacks_is_told_from_a_server_error() {
        let failure = |aws_code: Option<&str>, status: u16| CallFailure {
            service: "iam",
            operation: "SimulatePrincipalPolicy",
            code: ErrorCode::RemoteUnavailable,
            aws_code: aws_code.map(str::to_string),
            detail: String::new(),
            retry_after: None,
            name_not_resolved: false,
            status: Some(status),
        };
        assert!(failure(None, 500).is_unimplemented());
        assert!(failure(Some("InvalidAction"), 400).is_unimplemented());
        assert!(!failure(Some("ServiceFailure"), 500).is_unimplemented());
        assert!(!failure(Some("AccessDenied"), 403).is_unimplemented());
        assert!(!failure(None, 503).is_unimplemented());
    }
}
