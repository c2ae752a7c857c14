//! One HTTP call to Entra, Graph or ARM with the shared retry policy: throttling (429 with
//! `Retry-After`), 5xx, dropped connections and timeouts are retried with backoff and jitter
//! inside a bounded total wait, and so are the known propagation errors a call opts into
//! (Graph 404 / `NoBackingApplicationObject` right after an app is created, ARM
//! `PrincipalNotFound`). Each retry is reported as a [`ProgressEvent::Retrying`].
//!
//! Error bodies are parsed here into [`AzureError`]: the Graph/ARM envelope
//! (`{"error":{"code","message","details"}}`) and the OAuth one (`error`, `error_description`,
//! `error_codes`).
//!
//! Left out: authentication (callers pass the bearer token), paging (callers follow links).

use std::sync::Arc;
use std::time::Duration;

use octo_oidc_core::events::{NoProgress, ProgressEvent, ProgressSink};
use octo_oidc_core::retry::RetryPolicy;
use rand::Rng;
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
    retry: RetryPolicy,
    propagation: RetryPolicy,
    request_timeout: Duration,
    progress: Arc<dyn ProgressSink>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("retry", &self.retry)
            .field("propagation", &self.propagation)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for Transport {
    fn default() -> Self {
        Transport::new(reqwest::Client::new())
    }
}

impl Transport {
    /// Default policies (see [`RetryPolicy::default`] and [`RetryPolicy::propagation`]), a
    /// 30-second request timeout and no progress reporting.
    pub fn new(http: reqwest::Client) -> Transport {
        Transport {
            http,
            retry: RetryPolicy::default(),
            propagation: RetryPolicy::propagation(),
            request_timeout: Duration::from_secs(30),
            progress: Arc::new(NoProgress),
        }
    }

    /// Replaces the retry policies (transient failures, propagation errors).
    pub fn with_policies(mut self, retry: RetryPolicy, propagation: RetryPolicy) -> Transport {
        self.retry = retry;
        self.propagation = propagation;
        self
    }

    /// Sets the per-request timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Transport {
        self.request_timeout = timeout;
        self
    }

    /// Reports retries to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn ProgressSink>) -> Transport {
        self.progress = progress;
        self
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
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            let result = self.attempt(service, operation, &build).await;
            let error = match result {
                Ok(reply) => return Ok(reply),
                Err(error) => error,
            };
            let is_propagation = is_propagation_error(&error, propagation);
            if !is_propagation && !error.code().is_transient() {
                return Err(error);
            }
            attempt += 1;
            let policy = if is_propagation {
                &self.propagation
            } else {
                &self.retry
            };
            let jitter: f64 = rand::rng().random();
            let Some(delay) = policy.next_delay(attempt, waited, error.retry_after(), jitter)
            else {
                return Err(error);
            };
            let code = if is_propagation {
                octo_oidc_core::ErrorCode::PropagationPending
            } else {
                error.code()
            };
            tracing::debug!(service = service.as_str(), operation, attempt, ?delay, %error, "retrying");
            self.progress.emit(ProgressEvent::Retrying {
                service: service.as_str().to_owned(),
                operation: operation.to_owned(),
                attempt,
                wait_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                code,
                reason: error.to_string(),
            });
            tokio::time::sleep(delay).await;
            waited += delay;
        }
    }

    async fn attempt(
        &self,
        service: Service,
        operation: &str,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply, AzureError> {
        let transport_error = |e: reqwest::Error| AzureError::Transport {
            service,
            operation: operation.to_owned(),
            message: describe_transport_error(&e),
            timed_out: e.is_timeout(),
        };
        let response = build(&self.http)
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(transport_error)?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if (200..300).contains(&status) {
            return Ok(Reply { status, body });
        }
        Err(parse_error(service, operation, status, &headers, body))
    }
}

fn describe_transport_error(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
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

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Builds the error for a non-2xx response from its body.
pub(crate) fn parse_error(
    service: Service,
    operation: &str,
    status: u16,
    headers: &HeaderMap,
    body: Value,
) -> AzureError {
    let retry_after = retry_after(headers);
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
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            retry_after,
        },
        Value::String(error) => AzureError::Token {
            status,
            error: error.clone(),
            aadsts: body["error_codes"].get(0).and_then(Value::as_u64),
            description: body["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            retry_after,
        },
        _ => AzureError::Api {
            service,
            operation: operation.to_owned(),
            status,
            code: format!("HTTP{status}"),
            detail_code: None,
            message: match body {
                Value::String(text) => text.chars().take(300).collect(),
                Value::Null => String::new(),
                other => other.to_string(),
            },
            retry_after,
        },
    }
}
