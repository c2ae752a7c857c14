//! One HTTP call to Entra, Graph or ARM: [`Transport`] is the shared
//! [`octo_oidc_http::JsonTransport`] (the core's one retry loop on
//! [`octo_oidc_http::TokioTimer`], request timeout, body cap) with [`AzureApi`], which maps
//! its failures into [`AzureError`]. Throttling (429 with `Retry-After`, seconds or HTTP-date),
//! 5xx, dropped connections and timeouts are retried with backoff and jitter inside a bounded
//! total wait and an overall deadline per call, and so are the known propagation errors a call
//! opts into (Graph 404 / `NoBackingApplicationObject` right after an app is created, ARM
//! `PrincipalNotFound`; [`classify`]). A host name that does not resolve is tried once more at
//! most; a non-idempotent request (the authorization-code redemption, sent by `oauth` through
//! [`send_oauth`] with `Resend::Never`) is never resent. Each retry is reported as a
//! progress event on the transport's sink; `Transport::reporting_to` gives a connected
//! client a new one.
//!
//! Error answers are mapped here into [`AzureError`]: the Graph/ARM envelope
//! (`{"error":{"code","message","details"}}`) and the OAuth one (`error`,
//! `error_description`, `error_codes`), messages cut to [`octo_oidc_http::MAX_SERVER_TEXT`]
//! characters.
//!
//! Left out: authentication (callers pass the bearer token), paging (callers follow links
//! under [`octo_oidc_http::NextLinks`]).

use std::time::Duration;

use octo_oidc_core::retry::{Interrupted, Retry, RetryableFailure};
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_http::{ClientFailure, ErrorAnswer, ErrorBody, JsonApi, JsonTransport};
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

/// The shared JSON transport with Azure's error mapping. Cheap to clone.
pub type Transport = JsonTransport<AzureApi>;

/// What Azure adds to [`JsonTransport`]: its services and [`AzureError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AzureApi;

impl JsonApi for AzureApi {
    type Service = Service;
    type Error = AzureError;

    fn service_name(service: Service) -> &'static str {
        service.as_str()
    }

    /// The API envelope, an OAuth answer, or other text as [`AzureError`].
    fn error_answer(service: Service, operation: &str, answer: ErrorAnswer) -> AzureError {
        let ErrorAnswer {
            status,
            retry_after,
            body,
        } = answer;
        match body {
            ErrorBody::Envelope { error, message } => AzureError::Api {
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
                message,
                retry_after,
            },
            ErrorBody::OAuth {
                error,
                description,
                body,
            } => AzureError::Token {
                status,
                error,
                aadsts: body["error_codes"].get(0).and_then(Value::as_u64),
                description,
                retry_after,
            },
            ErrorBody::Other { message } => AzureError::Api {
                service,
                operation: operation.to_owned(),
                status,
                code: format!("HTTP{status}"),
                detail_code: None,
                message,
                retry_after,
            },
        }
    }
}

/// `method url` with the bearer `token` and, if given, the JSON `body`: how every Graph and
/// ARM request starts.
pub(crate) fn bearer_request(
    http: &reqwest::Client,
    method: &reqwest::Method,
    url: &str,
    token: &Secret,
    body: Option<&Value>,
) -> reqwest::RequestBuilder {
    let request = http
        .request(method.clone(), url)
        .bearer_auth(token.expose());
    match body {
        Some(body) => request.json(body),
        None => request,
    }
}

/// Sends a request the `oauth2` crate built to the Entra token endpoint, through the same
/// loop, deadline and body cap as every other call. Throttling, 5xx and transport failures
/// stay [`AzureError`]s (retried unless `resend` is [`Resend::Never`]); an OAuth error
/// answer (`{"error": "invalid_grant", ...}`) is handed back as a response, for `oauth2`
/// to read as its typed error.
pub(crate) async fn send_oauth(
    transport: &Transport,
    operation: &str,
    resend: Resend,
    request: &oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, AzureError> {
    let classify_oauth = |error: &AzureError| match resend {
        Resend::Never => Retry::Never,
        Resend::WhenTransient => classify(error, Propagation::None),
    };
    let entra = Service::Entra.as_str();
    transport
        .calls()
        .run(entra, operation, classify_oauth, || async {
            let sent = transport.request(|http| {
                http.request(request.method().clone(), request.uri().to_string())
                    .headers(request.headers().clone())
                    .body(request.body().clone())
            });
            let answer = transport.exchange(Service::Entra, operation, sent).await?;
            if !(200..300).contains(&answer.status) {
                let error =
                    AzureApi::error_answer(Service::Entra, operation, answer.to_error_answer());
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
pub(crate) fn classify(error: &AzureError, propagation: Propagation) -> Retry {
    if is_propagation_error(error, propagation) {
        return Retry::Propagation;
    }
    let unresolved = matches!(error, AzureError::Client(failure) if failure.name_not_resolved());
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
        ClientFailure::interrupted(&interrupted, "Azure").into()
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
