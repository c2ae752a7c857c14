//! The HTTP layer under every Octopus call: one `reqwest` client (rustls, optional private CA,
//! timeouts), the `X-Octopus-ApiKey` header, Octopus error bodies, and retries.
//!
//! Retries go through the core's one loop ([`octo_oidc_core::retry::run`], driven by
//! [`octo_oidc_http::TokioTimer`]): exponential backoff with jitter, `Retry-After` (seconds or HTTP-date),
//! a bounded total wait and an overall deadline per call; each retry is reported on the
//! transport's progress sink (replace it per use with [`Transport::reporting_to`]). Only
//! transient failures are retried, and a request that may already have changed something on
//! the server is not resent blindly: GET/PUT/DELETE are retried on any transient failure, POST
//! only when the server said it did not act (429, 502, 503, 504) or the connection was never
//! made. A host name that does not resolve is tried once more at most.
//!
//! Bodies are read up to a cap ([`octo_oidc_http::DEFAULT_BODY_CAP`]); server messages in
//! errors are cut to [`octo_oidc_http::MAX_SERVER_TEXT`] characters.
//!
//! The API key goes out only to the configured server (anonymous requests, e.g. the issuer's
//! `jwks_uri` on another host, go without it), marked sensitive so the HTTP stack's own logs
//! never print it. Log lines name the method, path and status, nothing else.
//!
//! Deliberately absent: any way to disable certificate checks.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use octo_oidc_core::Secret;
use octo_oidc_core::events::ProgressSink;
use octo_oidc_core::retry::{
    CancelToken, Interrupted, Retry, RetryPolicy, RetrySettings, RetryableFailure,
};
use octo_oidc_http::{CallLoop, ClientSettings, DEFAULT_BODY_CAP, ExchangeError};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::OctopusClientConfig;
use crate::error::{OctopusError, server_message};

/// The service name used in progress events and fault rules.
pub const SERVICE: &str = "octopus";

/// Header carrying the API key.
const API_KEY_HEADER: &str = "X-Octopus-ApiKey";

/// How requests authenticate.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An API key (`X-Octopus-ApiKey`), what people use.
    ApiKey(Secret),
    /// An access token from the OIDC token exchange (`Authorization: Bearer`), what GitHub
    /// Actions gets through `OctopusDeploy/login`.
    AccessToken(Secret),
}

/// Builds the shared reqwest client ([`octo_oidc_http::build_client`]; no redirects: Octopus
/// redirects are not part of the API, and one to another host must not get the API key).
pub(crate) fn build_http_client(
    config: &OctopusClientConfig,
) -> Result<reqwest::Client, OctopusError> {
    octo_oidc_http::build_client(&ClientSettings {
        ca_bundle_pem: config.ca_bundle_pem.clone(),
        request_timeout: config.request_timeout,
        connect_timeout: config.connect_timeout,
        follow_redirects: false,
        dns_resolver: config.dns_resolver.clone(),
        resolve: config.resolve.clone(),
    })
    .map_err(|e| OctopusError::InvalidConfig {
        field: "octopus.ca_bundle",
        problem: e.to_string(),
    })
}

/// The shared HTTP machinery of a client.
#[derive(Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    /// The server URL with a trailing slash, so `join("api/...")` stays under a virtual dir.
    base: Url,
    /// `None` for a transport that only makes anonymous requests.
    credential: Option<Credential>,
    timeout: Duration,
    calls: CallLoop,
    body_cap: usize,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base.as_str())
            .field("credential", &self.credential)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// One request: what to send and how to describe it.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: Url,
    pub query: &'a [(&'a str, String)],
    pub body: Option<Vec<u8>>,
    /// Send the API key (only ever to the configured server).
    pub authenticated: bool,
}

impl std::fmt::Debug for Call<'_> {
    /// Method and path only: bodies may carry tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Call({} {})", self.method, self.url.path())
    }
}

impl Transport {
    pub(crate) fn new(
        http: reqwest::Client,
        base: Url,
        credential: Option<Credential>,
        timeout: Duration,
        retry: RetryPolicy,
        progress: Arc<dyn ProgressSink>,
    ) -> Self {
        Transport {
            http,
            base,
            credential,
            timeout,
            calls: CallLoop::new(RetrySettings {
                transient: retry,
                ..RetrySettings::default()
            })
            .reporting_to(progress),
            body_cap: DEFAULT_BODY_CAP,
        }
    }

    /// The overall deadline of one call (all attempts and waits).
    pub(crate) fn with_deadline(mut self, deadline: Duration) -> Self {
        self.calls.settings.deadline = deadline;
        self
    }

    /// The largest response body read.
    pub(crate) fn with_body_cap(mut self, cap: usize) -> Self {
        self.body_cap = cap;
        self
    }

    /// The same transport reporting retries to `progress`.
    pub(crate) fn reporting_to(&self, progress: Arc<dyn ProgressSink>) -> Self {
        Transport {
            calls: self.calls.reporting_to(progress),
            ..self.clone()
        }
    }

    /// The same transport ending its calls when `cancel` fires.
    pub(crate) fn cancelled_by(&self, cancel: CancelToken) -> Self {
        Transport {
            calls: self.calls.cancelled_by(cancel),
            ..self.clone()
        }
    }

    /// An absolute URL under the server for a relative path like `api/spaces/all`.
    pub(crate) fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        {
            // Percent-encode each segment (ids are plain, names are not used in paths).
            let mut segments = url
                .path_segments_mut()
                .expect("http(s) base URLs always have path segments");
            segments.pop_if_empty();
            for segment in path.split('/').filter(|s| !s.is_empty()) {
                segments.push(segment);
            }
        }
        url
    }

    /// Sends the call with retries; returns the successful response body.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<(StatusCode, Bytes), OctopusError> {
        let operation = format!("{} {}", call.method, call.url.path());
        self.calls
            .run(
                SERVICE,
                &operation,
                |error| classify(&call.method, error),
                || self.send_once(&call, &operation),
            )
            .await
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
        operation: &str,
    ) -> Result<(StatusCode, Bytes), OctopusError> {
        let mut request = self
            .http
            .request(call.method.clone(), call.url.clone())
            .header(ACCEPT, "application/json");
        if !call.query.is_empty() {
            request = request.query(call.query);
        }
        if call.authenticated {
            let Some(credential) = &self.credential else {
                return Err(OctopusError::InvalidConfig {
                    field: "octopus.api_key",
                    problem: "no API key was given".into(),
                });
            };
            let (name, value) = match credential {
                Credential::ApiKey(key) => (API_KEY_HEADER, key.expose().to_string()),
                Credential::AccessToken(token) => {
                    (AUTHORIZATION.as_str(), format!("Bearer {}", token.expose()))
                }
            };
            let mut value =
                HeaderValue::from_str(&value).map_err(|_| OctopusError::InvalidConfig {
                    field: "octopus.api_key",
                    problem: "the credential contains characters that cannot be sent in a header"
                        .into(),
                })?;
            value.set_sensitive(true);
            request = request.header(name, value);
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        tracing::trace!(%operation, "sending Octopus request");
        let answer = octo_oidc_http::exchange(request, self.body_cap)
            .await
            .map_err(|e| self.exchange_error(operation, e))?;
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let retry_after = octo_oidc_http::retry_after(&answer.headers);
        let location = answer
            .headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = answer.body;
        tracing::debug!(%operation, status = status.as_u16(), bytes = body.len(), "Octopus response");
        if status.is_success() {
            return Ok((status, body));
        }
        if status.is_redirection() {
            let location = location.unwrap_or_else(|| "another address".to_string());
            return Err(OctopusError::Http {
                operation: operation.to_string(),
                status: status.as_u16(),
                message: format!(
                    "the server redirects to {location}; use that address as the server URL"
                ),
                errors: vec![],
                retry_after: None,
            });
        }
        let (message, errors) = server_message(status.as_u16(), &body);
        Err(OctopusError::Http {
            operation: operation.to_string(),
            status: status.as_u16(),
            message,
            errors,
            retry_after,
        })
    }

    fn exchange_error(&self, operation: &str, error: ExchangeError) -> OctopusError {
        match error {
            ExchangeError::Transport {
                timed_out: true, ..
            } => OctopusError::Timeout {
                operation: operation.to_string(),
                timeout: self.timeout,
            },
            ExchangeError::Transport {
                message,
                before_sending,
                name_not_resolved,
                ..
            } => OctopusError::Unreachable {
                operation: operation.to_string(),
                detail: message,
                before_sending,
                name_not_resolved,
            },
            ExchangeError::TooLarge(detail) => OctopusError::UnexpectedResponse {
                operation: operation.to_string(),
                detail,
            },
        }
    }

    /// One call with a JSON answer, decoded.
    async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
        authenticated: bool,
    ) -> Result<T, OctopusError> {
        let (_, answer) = self
            .send(Call {
                method: method.clone(),
                url: url.clone(),
                query,
                body,
                authenticated,
            })
            .await?;
        decode(&method, &url, &answer)
    }

    /// GET with the API key, JSON-decoded.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, OctopusError> {
        self.call_json(Method::GET, self.url(path), query, None, true)
            .await
    }

    /// A request with a JSON body and the API key, JSON-decoded answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, OctopusError> {
        let body = encode(body)?;
        self.call_json(method, self.url(path), &[], Some(body), true)
            .await
    }

    /// DELETE with the API key; the body is ignored.
    pub(crate) async fn delete(&self, path: &str) -> Result<(), OctopusError> {
        self.send(Call {
            method: Method::DELETE,
            url: self.url(path),
            query: &[],
            body: None,
            authenticated: true,
        })
        .await
        .map(|_| ())
    }

    /// An anonymous POST of a JSON body to any URL, JSON-decoded answer.
    pub(crate) async fn post_anonymous<T: DeserializeOwned>(
        &self,
        url: Url,
        body: &impl Serialize,
    ) -> Result<T, OctopusError> {
        let body = encode(body)?;
        self.call_json(Method::POST, url, &[], Some(body), false)
            .await
    }

    /// An anonymous GET of any URL (discovery documents, JWKS), JSON-decoded.
    pub(crate) async fn get_anonymous<T: DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<T, OctopusError> {
        self.call_json(Method::GET, url, &[], None, false).await
    }
}

/// A request body as JSON.
fn encode(body: &impl Serialize) -> Result<Vec<u8>, OctopusError> {
    serde_json::to_vec(body).map_err(|e| OctopusError::InvalidConfig {
        field: "request",
        problem: format!("could not encode the request: {e}"),
    })
}

/// Decodes a JSON body, naming the request in the error.
pub(crate) fn decode<T: DeserializeOwned>(
    method: &Method,
    url: &Url,
    body: &[u8],
) -> Result<T, OctopusError> {
    serde_json::from_slice(body).map_err(|e| OctopusError::UnexpectedResponse {
        operation: format!("{method} {}", url.path()),
        detail: e.to_string(),
    })
}

/// Whether a failed request may be sent again.
fn may_retry(method: &Method, error: &OctopusError) -> bool {
    if !error.code().is_transient() {
        return false;
    }
    let idempotent = matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    );
    if idempotent {
        return true;
    }
    match error {
        OctopusError::Http { status, .. } => matches!(status, 429 | 502 | 503 | 504),
        OctopusError::Unreachable { before_sending, .. } => *before_sending,
        _ => false,
    }
}

/// How a failure of this request is retried.
fn classify(method: &Method, error: &OctopusError) -> Retry {
    if !may_retry(method, error) {
        return Retry::Never;
    }
    match error {
        OctopusError::Unreachable {
            name_not_resolved: true,
            ..
        } => Retry::Once,
        _ => Retry::Transient,
    }
}

impl RetryableFailure for OctopusError {
    fn code(&self) -> octo_oidc_core::ErrorCode {
        OctopusError::code(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        OctopusError::retry_after(self)
    }
}

impl From<Interrupted> for OctopusError {
    fn from(interrupted: Interrupted) -> Self {
        match interrupted {
            Interrupted::DeadlineExceeded {
                operation,
                deadline,
                ..
            } => OctopusError::Timeout {
                operation,
                timeout: deadline,
            },
            Interrupted::Cancelled { operation, .. } => OctopusError::Cancelled { operation },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> OctopusError {
        OctopusError::Http {
            operation: "x".into(),
            status,
            message: String::new(),
            errors: vec![],
            retry_after: None,
        }
    }

    #[test]
    fn post_is_resent_only_when_the_server_certainly_did_not_act() {
        let timeout = OctopusError::Timeout {
            operation: "x".into(),
            timeout: Duration::from_secs(1),
        };
        let refused = OctopusError::Unreachable {
            operation: "x".into(),
            detail: String::new(),
            before_sending: true,
            name_not_resolved: false,
        };
        let cases = [
            (Method::POST, http(429), true),
            (Method::POST, http(503), true),
            (Method::POST, http(500), false),
            (Method::POST, timeout, false),
            (Method::POST, refused, true),
            // Idempotent requests: every transient failure and nothing else.
            (Method::GET, http(500), true),
            (Method::PUT, http(429), true),
            (Method::GET, http(401), false),
            (Method::GET, http(404), false),
            (Method::DELETE, http(409), false),
        ];
        for (method, error, resent) in cases {
            assert_eq!(may_retry(&method, &error), resent, "{method} {error:?}");
        }
    }
}
