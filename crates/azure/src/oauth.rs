//! The OAuth 2.0 protocol of the Entra sign-in, done by the `oauth2` crate: the authorize URL
//! with PKCE (S256) and a random `state`, and the authorization-code, device-code,
//! refresh-token and client-credentials grants.
//!
//! `oauth2`'s own HTTP client is reqwest 0.12 (ours is 0.13), so its requests go through
//! [`TokenEndpoint`], an [`oauth2::AsyncHttpClient`] over our [`Transport`]: the one retry
//! loop, the per-call deadline and the body cap apply, and the code redemption is sent once
//! ([`Resend::Never`]). Entra's error answers are read as the typed [`EntraErrorResponse`]
//! (or `oauth2`'s `DeviceCodeErrorResponse` while polling) and mapped to
//! [`AzureError::Token`], keeping the `AADSTS` number.
//!
//! Left out: token revocation and introspection (Entra has neither for public clients).

use std::sync::Mutex;

use oauth2::basic::{
    BasicErrorResponseType, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenResponse,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    DeviceCodeErrorResponse, DeviceCodeErrorResponseType, EndpointNotSet, EndpointSet,
    ErrorResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardRevocableToken, TokenResponse as _, TokenUrl,
};
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_http::ClientFailure;
use serde::{Deserialize, Serialize};

use crate::error::{AzureError, Service};
use crate::transport::{Resend, Transport, send_oauth};

/// Entra's OAuth error body: the standard fields plus `error_codes` (the `AADSTS` numbers).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct EntraErrorResponse {
    error: BasicErrorResponseType,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u64>,
}

impl std::fmt::Display for EntraErrorResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(description) = &self.error_description {
            write!(f, ": {description}")?;
        }
        Ok(())
    }
}

impl ErrorResponse for EntraErrorResponse {}

/// Entra's extra field in the device authorization answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct DeviceCodeMessage {
    /// The instruction text to show (it names the page and the code).
    #[serde(default)]
    pub message: Option<String>,
}

impl oauth2::ExtraDeviceAuthorizationFields for DeviceCodeMessage {}

/// The device authorization answer as Entra sends it.
pub(crate) type DeviceAuthorization = oauth2::DeviceAuthorizationResponse<DeviceCodeMessage>;

/// An `oauth2` client with Entra's error type; which endpoints are set is in the type.
type EntraClient<HasAuth, HasDevice, HasToken> = oauth2::Client<
    EntraErrorResponse,
    BasicTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuth,
    HasDevice,
    EndpointNotSet,
    EndpointNotSet,
    HasToken,
>;

/// What a token endpoint returned.
pub(crate) struct Tokens {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in: u64,
}

impl From<BasicTokenResponse> for Tokens {
    fn from(response: BasicTokenResponse) -> Tokens {
        Tokens {
            access_token: Secret::new(response.access_token().secret()),
            refresh_token: response.refresh_token().map(|r| Secret::new(r.secret())),
            expires_in: response.expires_in().map_or(3600, |d| d.as_secs()),
        }
    }
}

/// The endpoints of one tenant's authority and the public client asking.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    authority_url: String,
    tenant: String,
    client_id: String,
}

/// An authorize URL with its `state` and PKCE verifier, kept until the redirect.
#[derive(Debug)]
pub(crate) struct Authorization {
    pub url: url::Url,
    pub state: CsrfToken,
    pub verifier: PkceCodeVerifier,
}

impl Endpoints {
    pub(crate) fn new(authority_url: &str, tenant: &str, client_id: &str) -> Endpoints {
        Endpoints {
            authority_url: authority_url.trim_end_matches('/').to_owned(),
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}/oauth2/v2.0/{path}", self.authority_url, self.tenant)
    }

    fn token_client(
        &self,
    ) -> Result<EntraClient<EndpointNotSet, EndpointNotSet, EndpointSet>, AzureError> {
        Ok(EntraClient::new(ClientId::new(self.client_id.clone()))
            // Entra reads the client id (and a secret) from the form body.
            .set_auth_type(oauth2::AuthType::RequestBody)
            .set_token_uri(TokenUrl::new(self.url("token")).map_err(invalid_authority)?))
    }

    /// The authorize URL for a code + PKCE (S256) sign-in redirecting to `redirect_uri`.
    pub(crate) fn authorize(
        &self,
        redirect_uri: &str,
        scopes: &[&str],
    ) -> Result<Authorization, AzureError> {
        let client = self
            .token_client()?
            .set_auth_uri(AuthUrl::new(self.url("authorize")).map_err(invalid_authority)?)
            .set_redirect_uri(
                RedirectUrl::new(redirect_uri.to_owned()).map_err(invalid_authority)?,
            );
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(as_scopes(scopes))
            .set_pkce_challenge(challenge)
            .add_extra_param("response_mode", "query")
            .add_extra_param("prompt", "select_account")
            .url();
        Ok(Authorization {
            url,
            state,
            verifier,
        })
    }

    /// Redeems the authorization code, sent exactly once (the code is single-use: a resend
    /// after a lost answer would fail with `invalid_grant` and hide the real error).
    pub(crate) async fn redeem_code(
        &self,
        transport: &Transport,
        code: String,
        redirect_uri: &str,
        verifier: PkceCodeVerifier,
        scopes: &[&str],
    ) -> Result<Tokens, AzureError> {
        let operation = "token authorization_code";
        let client = self.token_client()?.set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_owned()).map_err(invalid_authority)?,
        );
        let endpoint = TokenEndpoint::new(transport, operation, Resend::Never);
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .add_extra_param("scope", scopes.join(" "));
        endpoint.tokens(request.request_async(&endpoint)).await
    }

    /// A new access token for `scopes` from a refresh token.
    pub(crate) async fn refresh(
        &self,
        transport: &Transport,
        refresh_token: &Secret,
        scopes: &[&str],
    ) -> Result<Tokens, AzureError> {
        let client = self.token_client()?;
        let endpoint = TokenEndpoint::new(transport, "token refresh_token", Resend::WhenTransient);
        let refresh_token = RefreshToken::new(refresh_token.expose().to_owned());
        let request = client
            .exchange_refresh_token(&refresh_token)
            .add_scopes(as_scopes(scopes));
        endpoint.tokens(request.request_async(&endpoint)).await
    }

    /// An app-only access token for `scope` with the client secret.
    pub(crate) async fn client_credentials(
        &self,
        transport: &Transport,
        client_secret: &Secret,
        scope: &str,
    ) -> Result<Tokens, AzureError> {
        let client = self
            .token_client()?
            .set_client_secret(ClientSecret::new(client_secret.expose().to_owned()));
        let endpoint =
            TokenEndpoint::new(transport, "token client_credentials", Resend::WhenTransient);
        let request = client
            .exchange_client_credentials()
            .add_scope(Scope::new(scope.to_owned()));
        endpoint.tokens(request.request_async(&endpoint)).await
    }

    /// An app-only token for `scope` with a federated client assertion (`client_assertion_type`
    /// jwt-bearer): the workload identity federation exchange Octopus makes.
    pub(crate) async fn client_assertion(
        &self,
        transport: &Transport,
        assertion: &Secret,
        scope: &str,
    ) -> Result<Tokens, AzureError> {
        let client = self.token_client()?;
        let endpoint =
            TokenEndpoint::new(transport, "token client_assertion", Resend::WhenTransient);
        let request = client
            .exchange_client_credentials()
            .add_scope(Scope::new(scope.to_owned()))
            .add_extra_param(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .add_extra_param("client_assertion", assertion.expose().to_owned());
        endpoint.tokens(request.request_async(&endpoint)).await
    }

    /// Starts a device-code sign-in: the code to show and what to poll with.
    pub(crate) async fn start_device_code(
        &self,
        transport: &Transport,
        scopes: &[&str],
    ) -> Result<DeviceAuthorization, AzureError> {
        let client = self.token_client()?.set_device_authorization_url(
            DeviceAuthorizationUrl::new(self.url("devicecode")).map_err(invalid_authority)?,
        );
        let endpoint = TokenEndpoint::new(transport, "devicecode", Resend::WhenTransient);
        client
            .exchange_device_code()
            .add_scopes(as_scopes(scopes))
            .request_async(&endpoint)
            .await
            .map_err(|e| endpoint.failure(e, entra_error))
    }

    /// Polls the token endpoint until the user approves, declines or the code expires
    /// (`authorization_pending` and `slow_down` are handled by `oauth2`). A failure that is
    /// not an OAuth answer (after the transport's own retries) ends the polling at once.
    pub(crate) async fn poll_device_code(
        &self,
        transport: &Transport,
        device: &DeviceAuthorization,
    ) -> Result<Tokens, AzureError> {
        let client = self.token_client()?;
        let endpoint = TokenEndpoint::new(transport, "token device_code", Resend::WhenTransient);
        let polling = client.exchange_device_access_token(device).request_async(
            &endpoint,
            tokio::time::sleep,
            None,
        );
        tokio::select! {
            biased;
            _ = endpoint.failed.notified() => Err(endpoint.take_failure().unwrap_or_else(|| {
                local("the device code polling stopped without an answer")
            })),
            result = polling => result
                .map(Tokens::from)
                .map_err(|e| endpoint.failure(e, device_code_error)),
        }
    }
}

/// The `oauth2` crate's HTTP client for one token operation: our transport, with its retries,
/// deadline and body cap, and whether a transient failure may be resent.
struct TokenEndpoint<'t> {
    transport: &'t Transport,
    operation: &'static str,
    resend: Resend,
    /// The status of the last error answer handed to `oauth2` (its typed errors carry none).
    last_status: Mutex<u16>,
    /// The last failure that was not an OAuth answer, for the device-code polling (which
    /// `oauth2` would otherwise keep repeating until the code expires).
    failure: Mutex<Option<AzureError>>,
    failed: tokio::sync::Notify,
}

impl<'t> TokenEndpoint<'t> {
    fn new(transport: &'t Transport, operation: &'static str, resend: Resend) -> Self {
        TokenEndpoint {
            transport,
            operation,
            resend,
            last_status: Mutex::new(400),
            failure: Mutex::new(None),
            failed: tokio::sync::Notify::new(),
        }
    }

    async fn send(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, AzureError> {
        match send_oauth(self.transport, self.operation, self.resend, &request).await {
            Ok(response) => {
                *lock(&self.last_status) = response.status().as_u16();
                Ok(response)
            }
            Err(error) => {
                let copy = error.clone();
                *lock(&self.failure) = Some(copy);
                self.failed.notify_one();
                Err(error)
            }
        }
    }

    /// Awaits a token request sent through this endpoint: the tokens, or the failure as
    /// [`Self::failure`] maps it with Entra's typed error answer.
    async fn tokens(
        &self,
        request: impl Future<
            Output = Result<BasicTokenResponse, RequestTokenError<AzureError, EntraErrorResponse>>,
        >,
    ) -> Result<Tokens, AzureError> {
        request
            .await
            .map(Tokens::from)
            .map_err(|e| self.failure(e, entra_error))
    }

    fn take_failure(&self) -> Option<AzureError> {
        lock(&self.failure).take()
    }

    /// Maps an `oauth2` failure: our transport's error as it was, the typed error answer
    /// through `server`, a malformed answer as `Unexpected` (without its body: it may hold
    /// a token).
    fn failure<TE: ErrorResponse>(
        &self,
        error: RequestTokenError<AzureError, TE>,
        server: impl FnOnce(u16, TE) -> AzureError,
    ) -> AzureError {
        match error {
            RequestTokenError::Request(error) => error,
            RequestTokenError::ServerResponse(answer) => server(*lock(&self.last_status), answer),
            RequestTokenError::Parse(error, _body) => {
                AzureError::Client(ClientFailure::Unexpected {
                    service: Service::Entra,
                    operation: self.operation.to_owned(),
                    message: format!(
                        "the answer does not have the documented shape (at `{}`)",
                        error.path()
                    ),
                })
            }
            RequestTokenError::Other(message) => AzureError::Client(ClientFailure::Unexpected {
                service: Service::Entra,
                operation: self.operation.to_owned(),
                message: octo_oidc_http::server_text(&message),
            }),
        }
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenEndpoint<'_> {
    type Error = AzureError;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<oauth2::HttpResponse, AzureError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// Scope names as `oauth2` takes them.
fn as_scopes<'a>(scopes: &'a [&str]) -> impl Iterator<Item = Scope> + 'a {
    scopes.iter().map(|s| Scope::new((*s).to_owned()))
}

/// Entra's typed error answer as [`AzureError::Token`].
fn entra_error(status: u16, answer: EntraErrorResponse) -> AzureError {
    let description = answer.error_description.unwrap_or_default();
    AzureError::Token {
        status,
        error: octo_oidc_http::server_text(answer.error.as_ref()),
        aadsts: answer
            .error_codes
            .first()
            .copied()
            .or_else(|| aadsts_in(&description)),
        description: octo_oidc_http::server_text(&description),
        retry_after: None,
    }
}

/// A device-code polling error: an expiry `oauth2` decided locally (no `AADSTS` number)
/// is a timeout; anything the server said is [`AzureError::Token`].
fn device_code_error(status: u16, answer: DeviceCodeErrorResponse) -> AzureError {
    let description = answer.error_description().cloned().unwrap_or_default();
    let aadsts = aadsts_in(&description);
    if *answer.error() == DeviceCodeErrorResponseType::ExpiredToken && aadsts.is_none() {
        return AzureError::Client(ClientFailure::Refused {
            code: ErrorCode::Timeout,
            message: "the device code expired before the sign-in was completed".into(),
            hint: "Start the sign-in again and enter the code promptly.".into(),
        });
    }
    AzureError::Token {
        status,
        error: octo_oidc_http::server_text(answer.error().as_ref()),
        aadsts,
        description: octo_oidc_http::server_text(&description),
        retry_after: None,
    }
}

/// The number of a description that starts `AADSTS70016: ...` (Entra's descriptions do).
fn aadsts_in(description: &str) -> Option<u64> {
    let digits: String = description
        .trim_start()
        .strip_prefix("AADSTS")?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn invalid_authority(error: url::ParseError) -> AzureError {
    AzureError::Client(ClientFailure::Refused {
        code: ErrorCode::InvalidInput,
        message: format!("invalid authority URL: {error}"),
        hint: "Give the authority as https://login.microsoftonline.com (or your cloud's).".into(),
    })
}

fn local(message: &str) -> AzureError {
    AzureError::Client(ClientFailure::Refused {
        code: ErrorCode::Internal,
        message: message.to_owned(),
        hint: "Try the sign-in again.".into(),
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_numbers_are_read_from_descriptions() {
        assert_eq!(
            aadsts_in("AADSTS70016: OAuth 2.0 device flow error."),
            Some(70016)
        );
        assert_eq!(aadsts_in("This device code has expired."), None);
    }

    #[test]
    fn entra_error_bodies_keep_the_aadsts_code() {
        let answer: EntraErrorResponse = serde_json::from_str(
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#,
        )
        .expect("entra error body");
        let error = entra_error(401, answer);
        assert_eq!(error.aadsts(), Some(7000215));
        assert_eq!(error.service_code(), Some("invalid_client"));
        assert!(error.to_string().contains("AADSTS7000215"));
    }
}
