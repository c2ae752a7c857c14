//! One HTTP call to a Google API through the core's one retry loop
//! ([`octo_oidc_core::retry::run`] on [`TokioTimer`]): `RESOURCE_EXHAUSTED` / 429 (with
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
use octo_oidc_core::events::{NoProgress, ProgressSink};
use octo_oidc_core::retry::{self, CancelToken, Operation, Retry, RetrySettings};
use octo_oidc_http::{BodyError, DEFAULT_BODY_CAP, TokioTimer};
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
    pub(crate) retry: RetrySettings,
    request_timeout: Duration,
    body_cap: usize,
    pub(crate) progress: Arc<dyn ProgressSink>,
    pub(crate) cancel: Option<CancelToken>,
    pub(crate) timer: TokioTimer,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("retry", &self.retry)
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
            retry: RetrySettings::default(),
            request_timeout: Duration::from_secs(30),
            body_cap: DEFAULT_BODY_CAP,
            progress: Arc::new(NoProgress),
            cancel: None,
            timer: TokioTimer::default(),
        }
    }

    /// Replaces the retry settings (policies and the deadline of one call).
    pub fn with_retry(mut self, retry: RetrySettings) -> Transport {
        self.retry = retry;
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
            progress,
            ..self.clone()
        }
    }

    /// The same transport whose calls end (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(&self, cancel: CancelToken) -> Transport {
        Transport {
            cancel: Some(cancel),
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
        let run = Operation {
            service: service.as_str(),
            name: operation,
            settings: &self.retry,
            timer: &self.timer,
            progress: &octo_oidc_http::LoggedProgress(self.progress.as_ref()),
            cancel: self.cancel.as_ref(),
        };
        retry::run(run, classify, || {
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
        let transport_error = |e: reqwest::Error| GcpError::Transport {
            service,
            operation: operation.to_owned(),
            message: octo_oidc_http::describe_error_chain(&e),
            timed_out: e.is_timeout(),
            name_not_resolved: octo_oidc_http::is_name_resolution_failure(&e),
        };
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let retry_after = octo_oidc_http::retry_after(response.headers());
        let bytes = octo_oidc_http::read_body(response, self.body_cap)
            .await
            .map_err(|e| match e {
                BodyError::Transport(e) => transport_error(e),
                too_large @ BodyError::TooLarge { .. } => GcpError::Unexpected {
                    service,
                    operation: operation.to_owned(),
                    message: too_large.to_string(),
                },
            })?;
        let text = String::from_utf8_lossy(&bytes);
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
        };
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(parse_error(service, operation, status, retry_after, body))
    }
}

/// Transient failures under the transient policy; an unresolved host once more at most.
fn classify(error: &GcpError) -> Retry {
    if matches!(
        error,
        GcpError::Transport {
            name_not_resolved: true,
            ..
        }
    ) {
        return Retry::Once;
    }
    if error.code().is_transient() {
        Retry::Transient
    } else {
        Retry::Never
    }
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
            message: octo_oidc_http::server_text(
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            retry_after,
        },
        Value::String(error) => GcpError::OAuth {
            http,
            error: octo_oidc_http::server_text(error),
            description: octo_oidc_http::server_text(
                body["error_description"].as_str().unwrap_or_default(),
            ),
            retry_after,
        },
        _ => GcpError::Api {
            service,
            operation: operation.to_owned(),
            http,
            status: String::new(),
            message: match body {
                Value::String(text) => octo_oidc_http::server_text(&text),
                Value::Null => String::new(),
                other => octo_oidc_http::server_text(&other.to_string()),
            },
            retry_after,
        },
    }
}
