//! One JSON API call through the core's one retry loop, as the Azure (Entra, Graph, ARM) and
//! Google Cloud clients make it: [`JsonTransport`] holds the shared reqwest client, the
//! [`CallLoop`] (policies, deadline, progress sink, cancel token), the per-request timeout and
//! the body cap; each attempt builds its request again, sends it with the timeout, reads the
//! body up to the cap, and hands a 2xx back as a [`JsonReply`] and anything else as an
//! [`ErrorAnswer`] sorted by the shape of its body (the API envelope `{"error":{…}}`, the OAuth
//! answer `{"error":"…","error_description":…}`, or other text; messages cut by
//! [`server_text`]).
//!
//! Each provider says, through [`JsonApi`], only what is its own: the names of its services,
//! its error type (its API's error answers beside the shared [`ClientFailure`]s), and how an
//! error answer becomes that error. Retry
//! decisions stay with the caller (`classify` per call).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use octo_oidc_core::ErrorCode;
use octo_oidc_core::events::ProgressSink;
use octo_oidc_core::retry::{
    CancelToken, Interrupted, Retry, RetryPolicy, RetrySettings, RetryableFailure,
};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use crate::{Answer, CallLoop, DEFAULT_BODY_CAP, ExchangeError, json_body, server_text};

/// What one provider adds to [`JsonTransport`]: its services, its error type and the mapping
/// of failures into it. The value itself travels with the transport (e.g. Google's sign-in).
pub trait JsonApi: Clone + std::fmt::Debug + Send + Sync {
    /// Which of the provider's services a call goes to.
    type Service: Copy + std::fmt::Debug + Send + Sync;
    /// The provider's error: its API's own error answers and the [`ClientFailure`]s.
    type Error: RetryableFailure + From<Interrupted> + From<ClientFailure<Self>> + Send;

    /// The service's name in progress events and errors.
    fn service_name(service: Self::Service) -> &'static str;

    /// The error for a non-2xx answer.
    fn error_answer(service: Self::Service, operation: &str, answer: ErrorAnswer) -> Self::Error;
}

/// What a JSON client's error holds besides its API's own error answers, the same for every
/// provider: no usable answer, an answer without the documented shape, and a refusal the
/// caller can act on (a precondition not met, an interrupted call).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientFailure<A: JsonApi> {
    /// No usable HTTP response (connection refused or dropped, DNS, TLS, timeout), or a
    /// body over the cap.
    #[error("{} {operation}: {error}", A::service_name(*service))]
    Exchange {
        /// The service.
        service: A::Service,
        /// The operation.
        operation: String,
        /// What went wrong.
        error: ExchangeError,
    },
    /// A response that does not have the documented shape.
    #[error("{} {operation}: unexpected response: {message}", A::service_name(*service))]
    Unexpected {
        /// The service.
        service: A::Service,
        /// The operation.
        operation: String,
        /// What was wrong with it.
        message: String,
    },
    /// A precondition the caller can fix (bad input, a limit reached before calling), or an
    /// interrupted call.
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

impl<A: JsonApi> ClientFailure<A> {
    /// A call to `service_label` (e.g. `Azure`) ended by its deadline or cancelled.
    pub fn interrupted(interrupted: &Interrupted, service_label: &str) -> Self {
        ClientFailure::Refused {
            code: interrupted.code(),
            message: interrupted.to_string(),
            hint: crate::interrupted_hint(interrupted, service_label),
        }
    }

    /// The stable code: the exchange failure's, `internal` for an unexpected answer, a
    /// refusal's own.
    pub fn code(&self) -> ErrorCode {
        match self {
            ClientFailure::Exchange { error, .. } => error.code(),
            ClientFailure::Unexpected { .. } => ErrorCode::Internal,
            ClientFailure::Refused { code, .. } => *code,
        }
    }

    /// Whether the host name did not resolve (worth one more attempt at most).
    pub fn name_not_resolved(&self) -> bool {
        matches!(self, ClientFailure::Exchange { error, .. } if error.name_not_resolved())
    }
}

/// A successful answer.
#[derive(Debug)]
pub struct JsonReply {
    /// HTTP status (2xx).
    pub status: u16,
    /// The JSON body (`Null` when empty).
    pub body: Value,
}

/// A non-2xx answer: its status, its `Retry-After`, and its body by shape.
#[derive(Debug)]
pub struct ErrorAnswer {
    /// HTTP status.
    pub status: u16,
    /// The `Retry-After` header.
    pub retry_after: Option<Duration>,
    /// The body.
    pub body: ErrorBody,
}

/// The body of an error answer, by shape.
#[derive(Debug)]
pub enum ErrorBody {
    /// `{"error": {…}}`: the API's error object and its `message` (cut).
    Envelope {
        /// The `error` object.
        error: Map<String, Value>,
        /// Its `message`, cut by [`server_text`] (empty when absent).
        message: String,
    },
    /// `{"error": "…", "error_description": "…"}`: an OAuth error answer.
    OAuth {
        /// `error` (e.g. `invalid_grant`), cut.
        error: String,
        /// `error_description`, cut (empty when absent).
        description: String,
        /// The whole body, for members of the provider's own (Entra's `error_codes`).
        body: Value,
    },
    /// Any other body: its text, cut.
    Other {
        /// The text.
        message: String,
    },
}

impl ErrorAnswer {
    /// Sorts an error answer with JSON body `body` (as [`json_body`] reads it).
    pub fn read(status: u16, headers: &HeaderMap, body: Value) -> ErrorAnswer {
        let body = match &body["error"] {
            Value::Object(error) => ErrorBody::Envelope {
                message: crate::error_text(&body["error"], "message"),
                error: error.clone(),
            },
            Value::String(error) => {
                let error = server_text(error);
                ErrorBody::OAuth {
                    error,
                    description: crate::error_text(&body, "error_description"),
                    body,
                }
            }
            _ => ErrorBody::Other {
                message: crate::body_text(body),
            },
        };
        ErrorAnswer {
            status,
            retry_after: crate::retry_after(headers),
            body,
        }
    }
}

impl Answer {
    /// This answer, read as an error answer (whatever its status).
    pub fn to_error_answer(&self) -> ErrorAnswer {
        ErrorAnswer::read(self.status, &self.headers, json_body(&self.body))
    }
}

/// The shared HTTP client, the retry loop, the request timeout and the body cap of one
/// provider's JSON calls, with the provider's [`JsonApi`] value. Cheap to clone.
#[derive(Clone)]
pub struct JsonTransport<A> {
    api: A,
    http: reqwest::Client,
    calls: CallLoop,
    request_timeout: Duration,
    body_cap: usize,
}

impl<A: std::fmt::Debug> std::fmt::Debug for JsonTransport<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonTransport")
            .field("api", &self.api)
            .field("calls", &self.calls)
            .field("request_timeout", &self.request_timeout)
            .field("body_cap", &self.body_cap)
            .finish_non_exhaustive()
    }
}

impl<A: JsonApi + Default> Default for JsonTransport<A> {
    /// Over the process's client for the default settings ([`crate::build_client`]: platform
    /// roots, no redirects); reqwest's own client only if that cannot be built.
    fn default() -> Self {
        JsonTransport::new(
            crate::build_client(&crate::ClientSettings::default()).unwrap_or_default(),
        )
    }
}

impl<A: JsonApi + Default> JsonTransport<A> {
    /// [`JsonTransport::for_api`] with the provider's default value.
    pub fn new(http: reqwest::Client) -> JsonTransport<A> {
        JsonTransport::for_api(A::default(), http)
    }
}

impl<A: JsonApi> JsonTransport<A> {
    /// Default policies and deadline (see [`RetrySettings::default`]), a 30-second request
    /// timeout, the default body cap and no progress reporting.
    pub fn for_api(api: A, http: reqwest::Client) -> JsonTransport<A> {
        JsonTransport {
            api,
            http,
            calls: CallLoop::default(),
            request_timeout: Duration::from_secs(30),
            body_cap: DEFAULT_BODY_CAP,
        }
    }

    /// Replaces the retry settings (policies and the deadline of one call).
    pub fn with_retry(mut self, retry: RetrySettings) -> Self {
        self.calls.settings = retry;
        self
    }

    /// Replaces the retry policies (transient failures, propagation errors).
    pub fn with_policies(mut self, retry: RetryPolicy, propagation: RetryPolicy) -> Self {
        self.calls.settings.transient = retry;
        self.calls.settings.propagation = propagation;
        self
    }

    /// Sets the overall deadline of one call (all attempts and waits).
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.calls.settings.deadline = deadline;
        self
    }

    /// Sets the per-request timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the largest response body read.
    pub fn with_body_cap(mut self, cap: usize) -> Self {
        self.body_cap = cap;
        self
    }

    /// The same transport reporting retries (and notices) to `progress`: at construction, or
    /// for a connected client's later step.
    pub fn reporting_to(&self, progress: Arc<dyn ProgressSink>) -> Self {
        JsonTransport {
            calls: self.calls.reporting_to(progress),
            ..self.clone()
        }
    }

    /// The same transport whose calls end (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(&self, cancel: CancelToken) -> Self {
        JsonTransport {
            calls: self.calls.cancelled_by(cancel),
            ..self.clone()
        }
    }

    /// Shows a notice to the user on the progress channel (e.g. an address to open by hand).
    pub fn notify(&self, message: String) {
        self.calls.notify(message);
    }

    /// The retry loop the calls run in (for loops of the provider's own, such as polling).
    pub fn calls(&self) -> &CallLoop {
        &self.calls
    }

    /// The provider's value.
    pub fn api(&self) -> &A {
        &self.api
    }

    /// Sends the request `build` makes (again for each attempt) and retries what `classify`
    /// allows.
    pub async fn execute(
        &self,
        service: A::Service,
        operation: &str,
        classify: impl Fn(&A::Error) -> Retry,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<JsonReply, A::Error> {
        self.execute_with(service, operation, classify, |http| {
            std::future::ready(Ok(build(http)))
        })
        .await
    }

    /// [`Self::execute`] for a request that needs an awaited step per attempt (e.g. the
    /// access token current at that attempt).
    pub async fn execute_with<Fut>(
        &self,
        service: A::Service,
        operation: &str,
        classify: impl Fn(&A::Error) -> Retry,
        build: impl Fn(&reqwest::Client) -> Fut,
    ) -> Result<JsonReply, A::Error>
    where
        Fut: Future<Output = Result<reqwest::RequestBuilder, A::Error>>,
    {
        let attempt = || async {
            let answer = self
                .exchange(service, operation, build(&self.http).await?)
                .await?;
            if (200..300).contains(&answer.status) {
                return Ok(JsonReply {
                    status: answer.status,
                    body: json_body(&answer.body),
                });
            }
            Err(A::error_answer(
                service,
                operation,
                answer.to_error_answer(),
            ))
        };
        self.calls
            .run(A::service_name(service), operation, classify, attempt)
            .await
    }

    /// Builds a request on the shared client, for [`Self::exchange`].
    pub fn request(
        &self,
        build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> reqwest::RequestBuilder {
        build(&self.http)
    }

    /// One request with the timeout, its body read up to the cap; any status. No retry.
    pub async fn exchange(
        &self,
        service: A::Service,
        operation: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, A::Error> {
        crate::exchange(request.timeout(self.request_timeout), self.body_cap)
            .await
            .map_err(|error| {
                A::Error::from(ClientFailure::Exchange {
                    service,
                    operation: operation.to_owned(),
                    error,
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: Value) -> ErrorBody {
        ErrorAnswer::read(400, &HeaderMap::new(), body).body
    }

    #[test]
    fn error_bodies_are_sorted_by_shape() {
        let envelope = read(serde_json::json!({"error": {"code": "X", "message": " m "}}));
        assert!(
            matches!(&envelope, ErrorBody::Envelope { error, message } if error["code"] == "X" && message == "m"),
            "{envelope:?}"
        );
        let oauth = read(serde_json::json!({
            "error": "invalid_grant", "error_description": "d", "error_codes": [70021]
        }));
        assert!(
            matches!(&oauth, ErrorBody::OAuth { error, description, body }
                if error == "invalid_grant" && description == "d" && body["error_codes"][0] == 70021),
            "{oauth:?}"
        );
        let text = read(Value::String("bad gateway".into()));
        assert!(
            matches!(&text, ErrorBody::Other { message } if message == "bad gateway"),
            "{text:?}"
        );
        let other = read(serde_json::json!({"error": 5}));
        assert!(
            matches!(&other, ErrorBody::Other { message } if message == r#"{"error":5}"#),
            "{other:?}"
        );
        assert!(matches!(read(Value::Null), ErrorBody::Other { message } if message.is_empty()));
    }
}
