//! One HTTP call to a Google API: [`Transport`] is the shared
//! [`octo_oidc_http::JsonTransport`] (the core's one retry loop on
//! [`octo_oidc_http::TokioTimer`], request timeout, body cap) with [`GoogleApi`], which holds
//! the sign-in and maps failures into [`GcpError`]. `RESOURCE_EXHAUSTED` / 429 (with
//! `Retry-After`), 5xx, dropped connections and timeouts are retried with backoff inside the
//! call's deadline; a host name that does not resolve is tried once more at most. Each attempt
//! asks the sign-in for the current access token, so a refreshed token is used on a retry.
//! Every call here is safe to resend (reads, creates answered by `ALREADY_EXISTS`,
//! etag-guarded policy writes, token exchanges that mint a fresh token each time).
//!
//! Error answers become [`GcpError`]s here. `Transport::reporting_to` and
//! `Transport::cancelled_by` give a connected client a new progress sink or cancellation
//! token.
//!
//! Left out: long-running operations (the client polls them through the same loop) and
//! paging (callers follow `nextPageToken`, which stays on the API's own URL).

use octo_oidc_core::Secret;
use octo_oidc_core::retry::Retry;
use octo_oidc_http::{ErrorAnswer, ErrorBody, JsonApi, JsonTransport};
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

/// The shared JSON transport with Google's sign-in and error mapping. Cheap to clone.
pub type Transport = JsonTransport<GoogleApi>;

/// What Google Cloud adds to [`JsonTransport`]: the sign-in (none for a transport that only
/// exchanges tokens), its services and [`GcpError`].
#[derive(Clone, Default)]
pub struct GoogleApi {
    sign_in: Option<GoogleSignIn>,
}

impl std::fmt::Debug for GoogleApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleApi")
            .field(
                "signed_in",
                &self.sign_in.as_ref().map(GoogleSignIn::source),
            )
            .finish()
    }
}

impl GoogleApi {
    /// Calls signed in with `sign_in` (if any).
    pub fn new(sign_in: Option<GoogleSignIn>) -> GoogleApi {
        GoogleApi { sign_in }
    }

    /// `request` with the credentials `auth` asks for.
    async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        auth: Auth<'_>,
    ) -> Result<reqwest::RequestBuilder, GcpError> {
        Ok(match auth {
            Auth::SignedIn => {
                let sign_in = self.sign_in.as_ref().ok_or_else(|| GcpError::SignIn {
                    message: "this client has no Google sign-in".into(),
                    transient: false,
                })?;
                let token = sign_in.access_token().await?;
                request.bearer_auth(token.expose())
            }
            Auth::Bearer(token) => request.bearer_auth(token.expose()),
            Auth::None => request,
        })
    }
}

impl JsonApi for GoogleApi {
    type Service = Service;
    type Error = GcpError;

    fn service_name(service: Service) -> &'static str {
        service.as_str()
    }

    /// The API envelope, an OAuth answer, or other text as [`GcpError`].
    fn error_answer(service: Service, operation: &str, answer: ErrorAnswer) -> GcpError {
        let ErrorAnswer {
            status: http,
            retry_after,
            body,
        } = answer;
        match body {
            ErrorBody::Envelope { error, message } => GcpError::Api {
                service,
                operation: operation.to_owned(),
                http,
                status: error
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                message,
                retry_after,
            },
            ErrorBody::OAuth {
                error, description, ..
            } => GcpError::OAuth {
                http,
                error,
                description,
                retry_after,
            },
            ErrorBody::Other { message } => GcpError::Api {
                service,
                operation: operation.to_owned(),
                http,
                status: String::new(),
                message,
                retry_after,
            },
        }
    }
}

/// Sends the request `build` makes (again for each attempt, with the credentials `auth` asks
/// for then) and returns the JSON body.
pub(crate) async fn execute(
    transport: &Transport,
    service: Service,
    operation: &str,
    auth: Auth<'_>,
    build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
) -> Result<Value, GcpError> {
    let reply = transport
        .execute_with(service, operation, classify, |http| {
            transport.api().authorize(build(http), auth)
        })
        .await?;
    Ok(reply.body)
}

/// Transient failures under the transient policy; an unresolved host once more at most.
fn classify(error: &GcpError) -> Retry {
    let unresolved = matches!(error, GcpError::Client(failure) if failure.name_not_resolved());
    Retry::by_code(error.code(), unresolved)
}
