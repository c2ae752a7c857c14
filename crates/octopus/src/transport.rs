//! The HTTP layer under every Octopus call: one `reqwest` client (rustls, optional private CA,
//! timeouts), the `X-Octopus-ApiKey` header, Octopus error bodies, and retries.
//!
//! Retries follow [`RetryPolicy`] (exponential backoff with jitter, honouring `Retry-After`,
//! bounded in total) and each one is reported as [`ProgressEvent::Retrying`]. Only transient
//! failures are retried, and a request that may already have changed something on the server
//! is not resent blindly: GET/PUT/DELETE are retried on any transient failure, POST only when
//! the server said it did not act (429, 502, 503, 504) or the connection was never made.
//!
//! `Retry-After` is read in its seconds form (what Octopus and the sandbox send); an HTTP-date
//! form falls back to the computed backoff.
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
use octo_oidc_core::events::{ProgressEvent, ProgressSink};
use octo_oidc_core::retry::RetryPolicy;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

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

/// How the HTTP client is built.
#[derive(Debug, Clone)]
pub(crate) struct HttpSettings {
    /// Extra trusted roots (PEM bundle) for servers behind a private CA; merged with the
    /// platform's roots.
    pub ca_bundle_pem: Option<Vec<u8>>,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Host names resolved to fixed addresses instead of through DNS.
    pub resolve: Vec<(String, std::net::SocketAddr)>,
}

/// Builds the shared reqwest client. Certificate verification stays on, always.
pub(crate) fn build_http_client(settings: &HttpSettings) -> Result<reqwest::Client, OctopusError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .user_agent(concat!("octo-oidc/", env!("CARGO_PKG_VERSION")))
        // Octopus redirects are not part of the API; a redirect to another host must not get
        // the API key, so follow none.
        .redirect(reqwest::redirect::Policy::none());
    for (host, addr) in &settings.resolve {
        builder = builder.resolve(host, *addr);
    }
    if let Some(pem) = &settings.ca_bundle_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            OctopusError::InvalidConfig {
                field: "octopus.ca_bundle",
                problem: format!("the CA bundle is not valid PEM: {e}"),
            }
        })?;
        if certs.is_empty() {
            return Err(OctopusError::InvalidConfig {
                field: "octopus.ca_bundle",
                problem: "the CA bundle contains no certificate".into(),
            });
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| OctopusError::InvalidConfig {
        field: "octopus.ca_bundle",
        problem: format!("could not set up TLS: {e}"),
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
    retry: RetryPolicy,
    progress: Arc<dyn ProgressSink>,
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
            retry,
            progress,
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
        let mut attempt: u32 = 0;
        let mut waited = Duration::ZERO;
        loop {
            let result = self.send_once(&call, &operation).await;
            let error = match result {
                Ok(ok) => return Ok(ok),
                Err(error) => error,
            };
            if !may_retry(&call.method, &error) {
                return Err(error);
            }
            attempt += 1;
            let jitter: f64 = rand::random();
            let Some(wait) = self
                .retry
                .next_delay(attempt, waited, error.retry_after(), jitter)
            else {
                return Err(error);
            };
            let code = error.code();
            tracing::debug!(%operation, attempt, wait_ms = wait.as_millis() as u64, %code, "retrying Octopus request");
            self.progress.emit(ProgressEvent::Retrying {
                service: SERVICE.to_string(),
                operation: operation.clone(),
                attempt,
                wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                code,
                reason: error.to_string(),
            });
            tokio::time::sleep(wait).await;
            waited += wait;
        }
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
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(operation, &e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(operation, &e))?;
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

    fn transport_error(&self, operation: &str, error: &reqwest::Error) -> OctopusError {
        if error.is_timeout() {
            return OctopusError::Timeout {
                operation: operation.to_string(),
                timeout: self.timeout,
            };
        }
        OctopusError::Unreachable {
            operation: operation.to_string(),
            detail: describe_error_chain(error),
            before_sending: error.is_connect(),
        }
    }

    /// GET with the API key, JSON-decoded.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, OctopusError> {
        let url = self.url(path);
        let (_, body) = self
            .send(Call {
                method: Method::GET,
                url: url.clone(),
                query,
                body: None,
                authenticated: true,
            })
            .await?;
        decode(&Method::GET, &url, &body)
    }

    /// A request with a JSON body and the API key, JSON-decoded answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, OctopusError> {
        let url = self.url(path);
        let body = serde_json::to_vec(body).map_err(|e| OctopusError::InvalidConfig {
            field: "request",
            problem: format!("could not encode the request: {e}"),
        })?;
        let (_, answer) = self
            .send(Call {
                method: method.clone(),
                url: url.clone(),
                query: &[],
                body: Some(body),
                authenticated: true,
            })
            .await?;
        decode(&method, &url, &answer)
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
        let body = serde_json::to_vec(body).map_err(|e| OctopusError::InvalidConfig {
            field: "request",
            problem: format!("could not encode the request: {e}"),
        })?;
        let (_, answer) = self
            .send(Call {
                method: Method::POST,
                url: url.clone(),
                query: &[],
                body: Some(body),
                authenticated: false,
            })
            .await?;
        decode(&Method::POST, &url, &answer)
    }

    /// An anonymous GET of any URL (discovery documents, JWKS), JSON-decoded.
    pub(crate) async fn get_anonymous<T: DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<T, OctopusError> {
        let authenticated = false;
        let (_, body) = self
            .send(Call {
                method: Method::GET,
                url: url.clone(),
                query: &[],
                body: None,
                authenticated,
            })
            .await?;
        decode(&Method::GET, &url, &body)
    }
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

/// The error and its sources in one line (reqwest's top-level message alone is vague).
fn describe_error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
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
        assert!(may_retry(&Method::POST, &http(429)));
        assert!(may_retry(&Method::POST, &http(503)));
        assert!(!may_retry(&Method::POST, &http(500)));
        assert!(!may_retry(
            &Method::POST,
            &OctopusError::Timeout {
                operation: "x".into(),
                timeout: Duration::from_secs(1)
            }
        ));
        assert!(may_retry(
            &Method::POST,
            &OctopusError::Unreachable {
                operation: "x".into(),
                detail: String::new(),
                before_sending: true
            }
        ));
    }

    #[test]
    fn idempotent_requests_retry_every_transient_failure_and_nothing_else() {
        assert!(may_retry(&Method::GET, &http(500)));
        assert!(may_retry(&Method::PUT, &http(429)));
        assert!(!may_retry(&Method::GET, &http(401)));
        assert!(!may_retry(&Method::GET, &http(404)));
        assert!(!may_retry(&Method::DELETE, &http(409)));
    }
}
