//! One HTTP call to a Google API through the core's one retry loop
//! ([`octo_oidc_core::retry::run`] on [`octo_oidc_http::TokioTimer`]): `RESOURCE_EXHAUSTED` / 429 (with
//! `Retry-After`), 5xx, dropped connections and timeouts are retried with backoff inside the
//! call's deadline; a host name that does not resolve is tried once more at most. Each attempt asks the sign-in for the
//! current access token, so a refreshed token is used on a retry. Every call here is safe to
//! resend (reads, creates answered by `ALREADY_EXISTS`, etag-guarded policy writes, token
//! exchanges that mint a fresh token each time).
//!
//! Bodies are read up to [`octo_oidc_http::DEFAULT_BODY_CAP`]; error bodies are parsed into
//! [`GcpError`]. [`Transport::reporting_to`] and [`Transport::cancelled_by`] give a connected
//! client a new progress sink or cancellation token.
//!
//! Left out: long-running operations (the client polls them through the same loop) and
//! paging (callers follow `nextPageToken`, which stays on the API's own URL).

use std::sync::Arc;
use std::time::Duration;

use octo_oidc_core::Secret;
use octo_oidc_core::events::ProgressSink;
use octo_oidc_core::retry::{CancelToken, Retry, RetrySettings};
use octo_oidc_http::{CallLoop, DEFAULT_BODY_CAP};
use serde_json::Value;

use crate::auth::GoogleSignIn;
use crate::error::{GcpError, Service};

/// How a request is authenticated.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// With the signed-in user's access token.
    SignedIn,
    /// With this bearer token (a federated token for `generateAccessToken`).
    Bearer(&'a Secret),
    /// Without credentials (STS).
    None,
}

/// The shared HTTP client, sign-in, retry settings and progress sink. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    sign_in: Option<GoogleSignIn>,
    pub(crate) calls: CallLoop,
    request_timeout: Duration,
    body_cap: usize,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("calls", &self.calls)
            .field("request_timeout", &self.request_timeout)
            .field("body_cap", &self.body_cap)
            .field(
                "signed_in",
                &self.sign_in.as_ref().map(GoogleSignIn::source),
            )
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Default retry settings, a 30-second request timeout, the default body cap, no progress.
    pub fn new(http: reqwest::Client, sign_in: Option<GoogleSignIn>) -> Transport {
        Transport {
            http,
            sign_in,
            calls: CallLoop::default(),
            request_timeout: Duration::from_secs(30),
            body_cap: DEFAULT_BODY_CAP,
        }
    }

    /// Replaces the retry settings (policies and the deadline of one call).
    pub fn with_retry(mut self, retry: RetrySettings) -> Transport {
        self.calls.settings = retry;
        self
    }

    /// Sets the per-request timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Transport {
        self.request_timeout = timeout;
        self
    }

    /// Sets the largest response body read.
    pub fn with_body_cap(mut self, cap: usize) -> Transport {
        self.body_cap = cap;
        self
    }

    /// The same transport reporting retries to `progress`.
    pub fn reporting_to(&self, progress: Arc<dyn ProgressSink>) -> Transport {
        Transport {
            calls: self.calls.reporting_to(progress),
            ..self.clone()
        }
    }

    /// The same transport whose calls end (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(&self, cancel: CancelToken) -> Transport {
        Transport {
            calls: self.calls.cancelled_by(cancel),
            ..self.clone()
        }
    }

    /// Sends the request `build` makes (again for each attempt) and returns the JSON body.
    pub async fn execute(
        &self,
        service: Service,
        operation: &str,
        auth: Auth<'_>,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Value, GcpError> {
        self.calls
            .run(service.as_str(), operation, classify, || {
                self.attempt(service, operation, auth, &build)
            })
            .await
    }

    async fn attempt(
        &self,
        service: Service,
        operation: &str,
        auth: Auth<'_>,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Value, GcpError> {
        let mut request = build(&self.http).timeout(self.request_timeout);
        match auth {
            Auth::SignedIn => {
                let sign_in = self.sign_in.as_ref().ok_or_else(|| GcpError::SignIn {
                    message: "this client has no Google sign-in".into(),
                    transient: false,
                })?;
                let token = sign_in.access_token().await?;
                request = request.bearer_auth(token.expose());
            }
            Auth::Bearer(token) => request = request.bearer_auth(token.expose()),
            Auth::None => {}
        }
        let answer = octo_oidc_http::exchange(request, self.body_cap)
            .await
            .map_err(|error| GcpError::Exchange {
                service,
                operation: operation.to_owned(),
                error,
            })?;
        let status = answer.status;
        let retry_after = octo_oidc_http::retry_after(&answer.headers);
        let body = octo_oidc_http::json_body(&answer.body);
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(parse_error(service, operation, status, retry_after, body))
    }
}

/// Transient failures under the transient policy; an unresolved host once more at most.
fn classify(error: &GcpError) -> Retry {
    let unresolved = matches!(error, GcpError::Exchange { error, .. } if error.name_not_resolved());
    Retry::by_code(error.code(), unresolved)
}

/// The error for a non-2xx response.
fn parse_error(
    service: Service,
    operation: &str,
    http: u16,
    retry_after: Option<Duration>,
    body: Value,
) -> GcpError {
    match &body["error"] {
        Value::Object(error) => GcpError::Api {
            service,
            operation: operation.to_owned(),
            http,
            status: error
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            message: octo_oidc_http::error_text(&body["error"], "message"),
            retry_after,
        },
        Value::String(error) => GcpError::OAuth {
            http,
            error: octo_oidc_http::server_text(error),
            description: octo_oidc_http::error_text(&body, "error_description"),
            retry_after,
        },
        _ => GcpError::Api {
            service,
            operation: operation.to_owned(),
            http,
            status: String::new(),
            message: octo_oidc_http::body_text(body),
            retry_after,
        },
    }
}
