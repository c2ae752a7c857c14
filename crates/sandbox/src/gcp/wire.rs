//! Google's two error shapes and the small pieces of its REST conventions the sandbox uses.
//!
//! Google APIs answer `{"error":{"code":<http>,"message":"…","status":"<CANONICAL_CODE>"}}`
//! (the `Status` message of the API design guide); the STS token endpoint answers OAuth 2.0
//! errors `{"error":"invalid_grant","error_description":"…"}` (RFC 6749 §5.2, RFC 8693).
//! Durations are strings of seconds with an `s` suffix (`"3600s"`), timestamps RFC 3339 UTC.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A Google API error (`google.rpc.Status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleError {
    /// HTTP status.
    pub http: StatusCode,
    /// Canonical code, e.g. `INVALID_ARGUMENT`.
    pub status: &'static str,
    /// The message.
    pub message: String,
}

impl GoogleError {
    fn new(http: StatusCode, status: &'static str, message: impl Into<String>) -> Self {
        GoogleError {
            http,
            status,
            message: message.into(),
        }
    }

    /// 400 `INVALID_ARGUMENT`.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    /// 400 `FAILED_PRECONDITION`.
    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", message)
    }

    /// 401 `UNAUTHENTICATED`, Google's wording.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
    }

    /// 403 `PERMISSION_DENIED`: `Permission '<p>' denied on resource (or it may not exist).`
    pub fn permission_denied(permission: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            format!("Permission '{permission}' denied on resource (or it may not exist)."),
        )
    }

    /// 404 `NOT_FOUND`.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Requested entity was not found. ({what})"),
        )
    }

    /// 409 `ALREADY_EXISTS`.
    pub fn already_exists() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "ALREADY_EXISTS",
            "Requested entity already exists",
        )
    }

    /// 409 `ABORTED` (a `setIamPolicy` with a stale etag).
    pub fn concurrent_policy_change() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "ABORTED",
            "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
        )
    }

    /// 405/404 for a path no method serves.
    pub fn no_such_method(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Method not found: {method} {path}"),
        )
    }

    /// 429 `RESOURCE_EXHAUSTED`.
    pub fn quota() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'.",
        )
    }

    /// A 5xx (`UNAVAILABLE` for 503, else `INTERNAL`).
    pub fn server(http: StatusCode) -> Self {
        if http == StatusCode::SERVICE_UNAVAILABLE {
            Self::new(http, "UNAVAILABLE", "The service is currently unavailable.")
        } else {
            Self::new(http, "INTERNAL", "Internal error encountered.")
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"error": {"code": self.http.as_u16(), "message": self.message, "status": self.status}})
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        (self.http, axum::Json(self.body())).into_response()
    }
}

/// An OAuth 2.0 error from the STS token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// HTTP status (400 or 401).
    pub http: StatusCode,
    /// `invalid_grant`, `invalid_target`, `invalid_request`, `unauthorized_client`, …
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
}

impl OAuthError {
    /// A 400 with this error and description.
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            http: if error == "unauthorized_client" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            },
            error,
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (
            self.http,
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response()
    }
}

/// RFC 3339 UTC with `Z` (`2026-12-01T10:00:00Z`).
pub fn timestamp(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// `"3600s"` / `"3600.5s"` → whole seconds.
pub fn parse_duration(value: &str) -> Option<i64> {
    let secs = value.strip_suffix('s')?;
    let whole = secs.split('.').next()?;
    whole.parse::<i64>().ok().filter(|s| *s >= 0)
}
