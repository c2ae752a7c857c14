//! One HTTP call to Entra, Graph or ARM through the core's one retry loop
//! ([`octo_oidc_core::retry::run`] on [`octo_oidc_http::TokioTimer`]): throttling (429 with `Retry-After`,
//! seconds or HTTP-date), 5xx, dropped connections and timeouts are retried with backoff and
//! jitter inside a bounded total wait and an overall deadline per call, and so are the known
//! propagation errors a call opts into (Graph 404 / `NoBackingApplicationObject` right after
//! an app is created, ARM `PrincipalNotFound`). A host name that does not resolve is tried
//! once more at most; a non-idempotent request (the authorization-code redemption, sent by
//! `oauth` through `Transport::send_oauth` with `Resend::Never`) is never resent. Each retry is reported as a [`ProgressEvent`] on the
//! transport's sink; [`Transport::reporting_to`] gives a connected client a new one.
//!
//! Bodies are read up to a cap ([`octo_oidc_http::DEFAULT_BODY_CAP`]). Error bodies are parsed
//! here into [`AzureError`]: the Graph/ARM envelope (`{"error":{"code","message","details"}}`)
//! and the OAuth one (`error`, `error_description`, `error_codes`), messages cut to
//! [`octo_oidc_http::MAX_SERVER_TEXT`] characters.
//!
//! Left out: authentication (callers pass the bearer token), paging (callers follow links
//! under [`octo_oidc_http::NextLinks`]).

use std::sync::Arc;
use std::time::Duration;

use octo_oidc_core::ErrorCode;
use octo_oidc_core::events::ProgressSink;
use octo_oidc_core::retry::{CancelToken, Interrupted, Retry, RetryPolicy, RetryableFailure};
use octo_oidc_http::{Answer, CallLoop, DEFAULT_BODY_CAP};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::error::{AzureError, Service};

/// Which propagation errors a call may wait out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// None: only throttling, 5xx and transport failures are retried.
    None,
    /// Graph `Request_ResourceNotFound` (404) and `NoBackingApplicationObject` (400): the
    /// object was just created and has not replicated yet.
    GraphReplication,
    /// ARM `PrincipalNotFound`: the service principal is not visible to ARM yet.
    ArmPrincipal,
}

/// A successful response.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status (2xx).
    pub status: u16,
    /// The JSON body (`Null` when empty).
    pub body: Value,
}

/// The shared HTTP client with retry settings and the progress sink. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    pub(crate) http: reqwest::Client,
    calls: CallLoop,
    request_timeout: Duration,
    body_cap: usize,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("calls", &self.calls)
            .field("request_timeout", &self.request_timeout)
            .field("body_cap", &self.body_cap)
            .finish_non_exhaustive()
    }
}

impl Default for Transport {
    /// Over the process's client for the default settings ([`octo_oidc_http::build_client`]:
    /// platform roots, no redirects); reqwest's own client only if that cannot be built.
    fn default() -> Self {
        Transport::new(
            octo_oidc_http::build_client(&octo_oidc_http::ClientSettings::default())
                .unwrap_or_default(),
        )
    }
}

impl Transport {
    /// Default policies and deadline (see [`octo_oidc_core::retry::RetrySettings::default`]),
    /// a 30-second request timeout, the default body cap and no progress reporting.
    pub fn new(http: reqwest::Client) -> Transport {
        Transport {
            http,
            calls: CallLoop::default(),
            request_timeout: Duration::from_secs(30),
            body_cap: DEFAULT_BODY_CAP,
        }
    }

    /// Replaces the retry policies (transient failures, propagation errors).
    pub fn with_policies(mut self, retry: RetryPolicy, propagation: RetryPolicy) -> Transport {
        self.calls.settings.transient = retry;
        self.calls.settings.propagation = propagation;
        self
    }

    /// Sets the overall deadline of one call (all attempts and waits).
    pub fn with_deadline(mut self, deadline: Duration) -> Transport {
        self.calls.settings.deadline = deadline;
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

    /// The same transport reporting retries (and notices) to `progress`: at construction, or
    /// for a connected client's later step.
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

    /// Shows a notice to the user on the progress channel (e.g. an address to open by hand).
    pub(crate) fn notify(&self, message: String) {
        self.calls.notify(message);
    }

    /// Sends the request built by `build` (called again for each attempt) and retries what
    /// the policy allows.
    pub async fn execute(
        &self,
        service: Service,
        operation: &str,
        propagation: Propagation,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply, AzureError> {
        self.run(
            service,
            operation,
            |error| classify(error, propagation),
            &build,
        )
        .await
    }

    async fn run(
        &self,
        service: Service,
        operation: &str,
        classify: impl Fn(&AzureError) -> Retry,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply, AzureError> {
        self.calls
            .run(service.as_str(), operation, classify, || {
                self.attempt(service, operation, build)
            })
            .await
    }

    async fn attempt(
        &self,
        service: Service,
        operation: &str,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply, AzureError> {
        let answer = self.exchange(service, operation, build).await?;
        let body = octo_oidc_http::json_body(&answer.body);
        if (200..300).contains(&answer.status) {
            return Ok(Reply {
                status: answer.status,
                body,
            });
        }
        Err(parse_error(
            service,
            operation,
            answer.status,
            &answer.headers,
            body,
        ))
    }

    /// One request and its body, read up to the cap; any status.
    async fn exchange(
        &self,
        service: Service,
        operation: &str,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answer, AzureError> {
        let request = build(&self.http).timeout(self.request_timeout);
        octo_oidc_http::exchange(request, self.body_cap)
            .await
            .map_err(|error| AzureError::Exchange {
                service,
                operation: operation.to_owned(),
                error,
            })
    }

    /// Sends a request the `oauth2` crate built to the Entra token endpoint, through the same
    /// loop, deadline and body cap as every other call. Throttling, 5xx and transport failures
    /// stay [`AzureError`]s (retried unless `resend` is [`Resend::Never`]); an OAuth error
    /// answer (`{"error": "invalid_grant", ...}`) is handed back as a response, for `oauth2`
    /// to read as its typed error.
    pub(crate) async fn send_oauth(
        &self,
        operation: &str,
        resend: Resend,
        request: &oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, AzureError> {
        let build = |http: &reqwest::Client| {
            http.request(request.method().clone(), request.uri().to_string())
                .headers(request.headers().clone())
                .body(request.body().clone())
        };
        let classify_oauth = |error: &AzureError| match resend {
            Resend::Never => Retry::Never,
            Resend::WhenTransient => classify(error, Propagation::None),
        };
        let entra = Service::Entra.as_str();
        self.calls
            .run(entra, operation, classify_oauth, || async {
                let answer = self.exchange(Service::Entra, operation, &build).await?;
                if !(200..300).contains(&answer.status) {
                    let error = parse_error(
                        Service::Entra,
                        operation,
                        answer.status,
                        &answer.headers,
                        octo_oidc_http::json_body(&answer.body),
                    );
                    let oauth_answer = matches!(error, AzureError::Token { .. })
                        && classify(&error, Propagation::None) == Retry::Never;
                    if !oauth_answer {
                        return Err(error);
                    }
                }
                let mut response = oauth2::HttpResponse::new(answer.body.to_vec());
                *response.status_mut() = oauth2::http::StatusCode::from_u16(answer.status)
                    .unwrap_or(oauth2::http::StatusCode::BAD_GATEWAY);
                *response.headers_mut() = answer.headers;
                Ok(response)
            })
            .await
    }
}

/// Whether a token request may be sent again after a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resend {
    /// Refresh, client credentials, device code: repeating them is harmless.
    WhenTransient,
    /// The authorization-code redemption: the code is single-use.
    Never,
}

/// How a failed attempt is retried: known propagation errors the call opted into under the
/// propagation policy, an unresolved host once more at most, other transient failures under
/// the transient policy.
fn classify(error: &AzureError, propagation: Propagation) -> Retry {
    if is_propagation_error(error, propagation) {
        return Retry::Propagation;
    }
    let unresolved =
        matches!(error, AzureError::Exchange { error, .. } if error.name_not_resolved());
    Retry::by_code(error.code(), unresolved)
}

impl RetryableFailure for AzureError {
    fn code(&self) -> ErrorCode {
        AzureError::code(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        AzureError::retry_after(self)
    }
}

impl From<Interrupted> for AzureError {
    fn from(interrupted: Interrupted) -> Self {
        AzureError::Refused {
            code: interrupted.code(),
            message: interrupted.to_string(),
            hint: octo_oidc_http::interrupted_hint(&interrupted, "Azure"),
        }
    }
}

fn is_propagation_error(error: &AzureError, propagation: Propagation) -> bool {
    match (propagation, error) {
        (
            Propagation::GraphReplication,
            AzureError::Api {
                status,
                code,
                detail_code,
                ..
            },
        ) => {
            (*status == 404 && code == "Request_ResourceNotFound")
                || detail_code.as_deref() == Some("NoBackingApplicationObject")
        }
        (Propagation::ArmPrincipal, AzureError::Api { code, .. }) => code == "PrincipalNotFound",
        _ => false,
    }
}

/// Builds the error for a non-2xx response from its body.
pub(crate) fn parse_error(
    service: Service,
    operation: &str,
    status: u16,
    headers: &HeaderMap,
    body: Value,
) -> AzureError {
    let retry_after = octo_oidc_http::retry_after(headers);
    match &body["error"] {
        Value::Object(error) => AzureError::Api {
            service,
            operation: operation.to_owned(),
            status,
            code: error
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("Unknown")
                .to_owned(),
            detail_code: error
                .get("details")
                .and_then(|d| d.get(0))
                .and_then(|d| d.get("code"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            message: octo_oidc_http::error_text(&body["error"], "message"),
            retry_after,
        },
        Value::String(error) => AzureError::Token {
            status,
            error: octo_oidc_http::server_text(error),
            aadsts: body["error_codes"].get(0).and_then(Value::as_u64),
            description: octo_oidc_http::error_text(&body, "error_description"),
            retry_after,
        },
        _ => AzureError::Api {
            service,
            operation: operation.to_owned(),
            status,
            code: format!("HTTP{status}"),
            detail_code: None,
            message: octo_oidc_http::body_text(body),
            retry_after,
        },
    }
}
