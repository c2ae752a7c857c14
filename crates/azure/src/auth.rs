//! Signing in to Entra ID and getting access tokens for Graph and ARM, in the order a user
//! meets the options:
//!
//! 1. [`AzureSession::sign_in_interactive`]: authorization code + PKCE (S256) with a one-shot
//!    loopback listener on `127.0.0.1:<free port>` and `redirect_uri=http://localhost:<port>`;
//!    the app/CLI opens the browser through a callback. `offline_access` gives a refresh token,
//!    which is redeemed for each further resource and tenant (Graph and ARM need separate
//!    token requests).
//! 2. [`AzureSession::developer_tools`]: reuse of an Azure CLI / azd login through
//!    `azure_identity` (`DeveloperToolsCredential`; `AzureCliCredential` for a given tenant).
//! 3. [`AzureSession::service_principal`]: a client secret against the token endpoint.
//!
//! plus [`AzureSession::sign_in_device_code`] for a CLI without a browser. The OAuth protocol
//! (PKCE, `state`, the grants, Entra's error answers) is the `oauth2` crate's, in `oauth`;
//! this module owns the loopback listener and the token cache. Tokens (access and refresh)
//! live in memory only, inside [`Secret`]s.
//!
//! Left out: certificates, managed identity, token caches on disk, conditional-access claims
//! challenges.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use octo_oidc_core::events::ProgressSink;
use octo_oidc_core::retry::CancelToken;
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_http::ClientFailure;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{AzureError, Service};
use crate::oauth::{Endpoints, Tokens};
use crate::transport::Transport;

/// Where and as whom to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityConfig {
    /// The authority host, e.g. `https://login.microsoftonline.com` (the sandbox URL in tests).
    pub authority_url: String,
    /// `organizations`, `common`, a tenant id or a domain.
    pub tenant: String,
    /// The public client (application) id.
    pub client_id: String,
}

impl AuthorityConfig {
    /// Entra's global cloud, `organizations`, with the given public client id.
    pub fn organizations(client_id: &str) -> AuthorityConfig {
        AuthorityConfig {
            authority_url: "https://login.microsoftonline.com".to_owned(),
            tenant: "organizations".to_owned(),
            client_id: client_id.to_owned(),
        }
    }

    fn endpoints(&self, tenant: &str) -> Endpoints {
        Endpoints::new(&self.authority_url, tenant, &self.client_id)
    }
}

/// The resource a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Microsoft Graph.
    Graph,
    /// Azure Resource Manager.
    Arm,
}

impl Resource {
    /// The `.default` scope of the resource.
    pub fn default_scope(self) -> &'static str {
        match self {
            Resource::Graph => "https://graph.microsoft.com/.default",
            Resource::Arm => "https://management.azure.com/.default",
        }
    }
}

/// Who is signed in, read from the first access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInAccount {
    /// Home tenant of the sign-in (`tid`).
    pub tenant_id: String,
    /// Object id (`oid`).
    pub object_id: String,
    /// `upn` / `preferred_username`, for users.
    pub user_principal_name: Option<String>,
}

/// What the user must do to finish a device-code sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodePrompt {
    /// The code to type.
    pub user_code: String,
    /// Where to type it.
    pub verification_uri: String,
    /// Entra's own instruction text.
    pub message: String,
}

#[derive(Debug)]
struct CachedToken {
    token: Secret,
    expires: Instant,
}

enum Credential {
    User {
        refresh_token: Mutex<Secret>,
    },
    ServicePrincipal {
        client_secret: Secret,
    },
    DeveloperTools {
        default: Arc<azure_identity::DeveloperToolsCredential>,
        executor: Option<Arc<dyn azure_identity::Executor>>,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::User { .. } => "User",
            Credential::ServicePrincipal { .. } => "ServicePrincipal",
            Credential::DeveloperTools { .. } => "DeveloperTools",
        })
    }
}

#[derive(Debug)]
struct SessionInner {
    authority: AuthorityConfig,
    credential: Credential,
    account: Mutex<Option<SignedInAccount>>,
    cache: Mutex<HashMap<(String, Resource), CachedToken>>,
}

/// A signed-in Azure identity that hands out access tokens per (tenant, resource). Cheap to
/// clone; tokens stay in memory.
#[derive(Debug, Clone)]
pub struct AzureSession {
    inner: Arc<SessionInner>,
    /// Outside the shared part, so a clone can report to its own sink.
    transport: Transport,
}

/// Reads `tid`, `oid` and `upn` from a JWT without verifying it (it came straight from the
/// authority over TLS; only used to know who signed in).
fn account_from_token(token: &str) -> Option<SignedInAccount> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    Some(SignedInAccount {
        tenant_id: claims["tid"].as_str()?.to_owned(),
        object_id: claims["oid"].as_str()?.to_owned(),
        user_principal_name: claims["upn"]
            .as_str()
            .or_else(|| claims["preferred_username"].as_str())
            .map(str::to_owned),
    })
}

fn is_multi_tenant_alias(tenant: &str) -> bool {
    matches!(
        tenant.to_ascii_lowercase().as_str(),
        "organizations" | "common" | "consumers"
    )
}

impl AzureSession {
    fn from_parts(
        transport: Transport,
        authority: AuthorityConfig,
        credential: Credential,
    ) -> AzureSession {
        AzureSession {
            transport,
            inner: Arc::new(SessionInner {
                authority,
                credential,
                account: Mutex::new(None),
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Interactive browser sign-in: auth code + PKCE with a loopback redirect. `open_browser`
    /// receives the authorize URL and must open it (system browser); the sign-in must finish
    /// within `timeout`. The first token is for Graph; ARM is fetched with the refresh token.
    pub async fn sign_in_interactive(
        transport: Transport,
        authority: AuthorityConfig,
        open_browser: impl FnOnce(&str) -> Result<(), String>,
        timeout: Duration,
    ) -> Result<AzureSession, AzureError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| local_error(format!("cannot open a loopback port: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| local_error(e.to_string()))?
            .port();
        let redirect_uri = format!("http://localhost:{port}");
        let scopes = user_scopes();
        let endpoints = authority.endpoints(&authority.tenant);
        let authorization = endpoints.authorize(&redirect_uri, &scopes)?;
        let url = authorization.url;
        let state = authorization.state.secret().clone();
        // A browser that cannot be opened is not the end: the address goes to the notice
        // channel and the listener keeps waiting for someone to open it by hand.
        if let Err(e) = open_browser(url.as_str()) {
            transport.notify(format!(
                "The browser could not be opened ({e}). Open this address to sign in: {url}"
            ));
        }
        let params = tokio::time::timeout(timeout, receive_redirect(listener, state.clone()))
            .await
            .map_err(|_| {
                AzureError::Client(ClientFailure::Refused {
                    code: ErrorCode::Timeout,
                    message: "the browser sign-in did not finish in time".into(),
                    hint: "Start the sign-in again and complete it in the browser window.".into(),
                })
            })??;
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").cloned().unwrap_or_default();
            return Err(AzureError::Token {
                status: 400,
                error: octo_oidc_http::server_text(error),
                aadsts: None,
                description: octo_oidc_http::server_text(&description),
                retry_after: None,
            });
        }
        if params.get("state") != Some(&state) {
            return Err(local_error(
                "the sign-in response does not belong to this sign-in (state mismatch)".into(),
            ));
        }
        let code = params
            .get("code")
            .ok_or_else(|| local_error("the sign-in response has no code".into()))?;
        let tokens = endpoints
            .redeem_code(
                &transport,
                code.clone(),
                &redirect_uri,
                authorization.verifier,
                &scopes,
            )
            .await?;
        AzureSession::from_user_tokens(transport, authority, tokens)
    }

    /// Device-code sign-in for a machine without a browser: `show` receives the code to type
    /// at the verification page; polls until approved, declined or expired.
    pub async fn sign_in_device_code(
        transport: Transport,
        authority: AuthorityConfig,
        show: impl FnOnce(&DeviceCodePrompt),
    ) -> Result<AzureSession, AzureError> {
        let endpoints = authority.endpoints(&authority.tenant);
        let device = endpoints
            .start_device_code(&transport, &user_scopes())
            .await?;
        show(&DeviceCodePrompt {
            user_code: device.user_code().secret().clone(),
            verification_uri: device.verification_uri().to_string(),
            message: device.extra_fields().message.clone().unwrap_or_default(),
        });
        let tokens = endpoints.poll_device_code(&transport, &device).await?;
        AzureSession::from_user_tokens(transport, authority, tokens)
    }

    fn from_user_tokens(
        transport: Transport,
        authority: AuthorityConfig,
        tokens: Tokens,
    ) -> Result<AzureSession, AzureError> {
        let refresh_token = tokens.refresh_token.ok_or_else(|| {
            AzureError::Client(ClientFailure::Unexpected {
                service: Service::Entra,
                operation: "token".into(),
                message: "no refresh_token although offline_access was requested".into(),
            })
        })?;
        let account = account_from_token(tokens.access_token.expose()).ok_or_else(|| {
            AzureError::Client(ClientFailure::Unexpected {
                service: Service::Entra,
                operation: "token".into(),
                message: "the access token carries no tid/oid".into(),
            })
        })?;
        let session = AzureSession::from_parts(
            transport,
            authority,
            Credential::User {
                refresh_token: Mutex::new(refresh_token),
            },
        );
        session.remember(
            &account.tenant_id,
            Resource::Graph,
            tokens.access_token,
            tokens.expires_in,
        );
        *lock(&session.inner.account) = Some(account);
        Ok(session)
    }

    /// A service principal with a client secret (automation). `authority.tenant` must be the
    /// tenant id (or domain) the app lives in; `authority.client_id` is the app's client id.
    pub fn service_principal(
        transport: Transport,
        authority: AuthorityConfig,
        client_secret: Secret,
    ) -> Result<AzureSession, AzureError> {
        if is_multi_tenant_alias(&authority.tenant) {
            return Err(AzureError::Client(ClientFailure::Refused {
                code: ErrorCode::InvalidInput,
                message: format!(
                    "a service principal signs in to one tenant, not '{}'",
                    authority.tenant
                ),
                hint: "Give the tenant id (directory id) the app registration lives in.".into(),
            }));
        }
        if client_secret.is_blank() {
            return Err(AzureError::Client(ClientFailure::Refused {
                code: ErrorCode::InvalidInput,
                message: "the client secret is empty".into(),
                hint: "Paste the secret's value (not its id).".into(),
            }));
        }
        Ok(AzureSession::from_parts(
            transport,
            authority,
            Credential::ServicePrincipal { client_secret },
        ))
    }

    /// Reuses an Azure CLI / Azure Developer CLI login (`az login` / `azd auth login`).
    /// Needs `az` ≥ 2.54 or `azd` on the PATH; tokens are fetched when first needed.
    pub fn developer_tools(transport: Transport) -> Result<AzureSession, AzureError> {
        AzureSession::developer_tools_with_executor(transport, None)
    }

    /// [`AzureSession::developer_tools`] with the process runner `azure_identity` uses to run
    /// `az` / `azd` (`None` = the real one); tests and sandboxes inject their own.
    pub fn developer_tools_with_executor(
        transport: Transport,
        executor: Option<Arc<dyn azure_identity::Executor>>,
    ) -> Result<AzureSession, AzureError> {
        let options = azure_identity::DeveloperToolsCredentialOptions {
            executor: executor.clone(),
        };
        let credential =
            azure_identity::DeveloperToolsCredential::new(Some(options)).map_err(|e| {
                AzureError::Client(ClientFailure::Refused {
                    code: ErrorCode::Unauthenticated,
                    message: format!("the Azure CLI / azd login cannot be used: {e}"),
                    hint:
                        "Run `az login` (or `azd auth login`) first, or sign in with the browser."
                            .into(),
                })
            })?;
        Ok(AzureSession::from_parts(
            transport,
            AuthorityConfig::organizations("04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
            Credential::DeveloperTools {
                default: credential,
                executor,
            },
        ))
    }

    /// The shared transport (retry policy, progress sink).
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The same signed-in session (same tokens) reporting retries to `progress`.
    pub fn reporting_to(&self, progress: Arc<dyn ProgressSink>) -> AzureSession {
        AzureSession {
            inner: self.inner.clone(),
            transport: self.transport.reporting_to(progress),
        }
    }

    /// The same signed-in session whose calls end (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(&self, cancel: CancelToken) -> AzureSession {
        AzureSession {
            inner: self.inner.clone(),
            transport: self.transport.cancelled_by(cancel),
        }
    }

    /// Trades a federated token (`assertion`, e.g. an Octopus OIDC token) for an ARM token of
    /// the app `client_id` in `tenant`, as Octopus does for an Azure OIDC account; the token is
    /// dropped (verify only proves that Entra accepts the assertion). Entra's refusals are
    /// [`AzureError::Token`] with their `AADSTS` number.
    pub async fn exchange_federated_token(
        &self,
        tenant: &str,
        client_id: &str,
        assertion: &Secret,
    ) -> Result<(), AzureError> {
        Endpoints::new(&self.inner.authority.authority_url, tenant, client_id)
            .client_assertion(&self.transport, assertion, Resource::Arm.default_scope())
            .await
            .map(|_| ())
    }

    /// The client id when this is an app-only (service principal) sign-in.
    pub fn app_only_client_id(&self) -> Option<&str> {
        match &self.inner.credential {
            Credential::ServicePrincipal { .. } => Some(&self.inner.authority.client_id),
            _ => None,
        }
    }

    /// Who is signed in; for service principals and developer-tools logins, known after the
    /// first token.
    pub fn account(&self) -> Option<SignedInAccount> {
        lock(&self.inner.account).clone()
    }

    fn remember(&self, tenant: &str, resource: Resource, token: Secret, expires_in: u64) {
        let expires = Instant::now() + Duration::from_secs(expires_in.saturating_sub(300).max(30));
        lock(&self.inner.cache).insert(
            (tenant.to_ascii_lowercase(), resource),
            CachedToken { token, expires },
        );
    }

    fn default_tenant(&self) -> String {
        match &self.inner.credential {
            Credential::ServicePrincipal { .. } => self.inner.authority.tenant.clone(),
            _ => self
                .account()
                .map(|a| a.tenant_id)
                .unwrap_or_else(|| self.inner.authority.tenant.clone()),
        }
    }

    /// An access token for `resource` in `tenant` (`None` = the sign-in's home tenant),
    /// from memory or from the authority.
    pub async fn access_token(
        &self,
        resource: Resource,
        tenant: Option<&str>,
    ) -> Result<Secret, AzureError> {
        let tenant = tenant
            .map(str::to_owned)
            .unwrap_or_else(|| self.default_tenant());
        let key = (tenant.to_ascii_lowercase(), resource);
        if let Some(cached) = lock(&self.inner.cache).get(&key)
            && cached.expires > Instant::now()
        {
            return Ok(cached.token.clone());
        }
        let (token, expires_in) = match &self.inner.credential {
            Credential::User { refresh_token } => {
                self.redeem_refresh_token(refresh_token, &tenant, resource)
                    .await?
            }
            Credential::ServicePrincipal { client_secret } => {
                self.client_credentials(client_secret, &tenant, resource)
                    .await?
            }
            Credential::DeveloperTools { default, executor } => {
                self.developer_tools_token(default, executor, &tenant, resource)
                    .await?
            }
        };
        if lock(&self.inner.account).is_none() {
            *lock(&self.inner.account) = account_from_token(token.expose());
        }
        self.remember(&tenant, resource, token.clone(), expires_in);
        Ok(token)
    }

    async fn redeem_refresh_token(
        &self,
        refresh_token: &Mutex<Secret>,
        tenant: &str,
        resource: Resource,
    ) -> Result<(Secret, u64), AzureError> {
        let current = lock(refresh_token).clone();
        let scopes = [resource.default_scope(), "offline_access"];
        let tokens = self
            .inner
            .authority
            .endpoints(tenant)
            .refresh(&self.transport, &current, &scopes)
            .await?;
        if let Some(rotated) = tokens.refresh_token {
            *lock(refresh_token) = rotated;
        }
        Ok((tokens.access_token, tokens.expires_in))
    }

    async fn client_credentials(
        &self,
        client_secret: &Secret,
        tenant: &str,
        resource: Resource,
    ) -> Result<(Secret, u64), AzureError> {
        let tokens = self
            .inner
            .authority
            .endpoints(tenant)
            .client_credentials(&self.transport, client_secret, resource.default_scope())
            .await?;
        Ok((tokens.access_token, tokens.expires_in))
    }

    async fn developer_tools_token(
        &self,
        default: &Arc<azure_identity::DeveloperToolsCredential>,
        executor: &Option<Arc<dyn azure_identity::Executor>>,
        tenant: &str,
        resource: Resource,
    ) -> Result<(Secret, u64), AzureError> {
        use azure_core::credentials::TokenCredential;
        let scopes = [resource.default_scope()];
        let home = lock(&self.inner.account)
            .as_ref()
            .map(|a| a.tenant_id.clone());
        let specific = !is_multi_tenant_alias(tenant) && home.as_deref() != Some(tenant);
        let result = if specific {
            let options = azure_identity::AzureCliCredentialOptions {
                tenant_id: Some(tenant.to_owned()),
                executor: executor.clone(),
                ..Default::default()
            };
            match azure_identity::AzureCliCredential::new(Some(options)) {
                Ok(cli) => cli.get_token(&scopes, None).await,
                Err(e) => Err(e),
            }
        } else {
            default.get_token(&scopes, None).await
        };
        let token = result.map_err(|e| {
            AzureError::Client(ClientFailure::Refused {
                code: ErrorCode::Unauthenticated,
                message: format!("the Azure CLI / azd login gave no token: {e}"),
                hint: "Run `az login` (or `azd auth login`) again, or sign in with the browser."
                    .into(),
            })
        })?;
        let remaining = token.expires_on - azure_core::time::OffsetDateTime::now_utc();
        let expires_in = u64::try_from(remaining.whole_seconds()).unwrap_or(0);
        Ok((Secret::new(token.token.secret()), expires_in))
    }
}

/// What a user sign-in asks for: Graph first, a refresh token for the other resources, and
/// who signed in.
fn user_scopes() -> [&'static str; 4] {
    [
        Resource::Graph.default_scope(),
        "offline_access",
        "openid",
        "profile",
    ]
}

fn local_error(message: String) -> AzureError {
    AzureError::Client(ClientFailure::Refused {
        code: ErrorCode::Internal,
        message,
        hint: "Try the sign-in again; if it keeps failing, use the device code sign-in.".into(),
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long one browser connection may take to send its request line and headers.
const REDIRECT_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts connections on the loopback listener, each in its own task, until one carries the
/// redirect of this sign-in (`state` matches, with `code` or `error`); returns its query
/// parameters. A request with another `state` (a stale tab, another page probing the port) is
/// answered with an error page and ignored; a slow connection cannot hold the others up.
async fn receive_redirect(
    listener: tokio::net::TcpListener,
    state: String,
) -> Result<HashMap<String, String>, AzureError> {
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel(1);
    let state = Arc::new(state);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted
                    .map_err(|e| local_error(format!("loopback listener failed: {e}")))?;
                let done_tx = done_tx.clone();
                let state = state.clone();
                tokio::spawn(async move {
                    if let Some(params) = answer_redirect(stream, &state).await {
                        let _ = done_tx.send(params).await;
                    }
                });
            }
            Some(params) = done_rx.recv() => return Ok(params),
        }
    }
}

/// Reads one request (within [`REDIRECT_READ_TIMEOUT`]), answers it, and returns its
/// parameters when it is this sign-in's redirect.
async fn answer_redirect(
    mut stream: tokio::net::TcpStream,
    state: &str,
) -> Option<HashMap<String, String>> {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut read = 0;
    let reading = async {
        while read < buffer.len() {
            let n = stream.read(&mut buffer[read..]).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            read += n;
            if buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    };
    if tokio::time::timeout(REDIRECT_READ_TIMEOUT, reading)
        .await
        .is_err()
    {
        return None;
    }
    let request = String::from_utf8_lossy(&buffer[..read]);
    let target = request
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("/");
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let is_redirect = params.contains_key("code") || params.contains_key("error");
    let ours = params.get("state").map(String::as_str) == Some(state);
    let (status, page) = match (is_redirect, ours) {
        (true, true) => (
            "200 OK",
            "<!doctype html><title>Signed in</title><p>Sign-in complete. You can close this window and return to the Octopus OIDC Wizard.</p>",
        ),
        (true, false) => (
            "400 Bad Request",
            "<!doctype html><title>Not this sign-in</title><p>This response does not belong to the sign-in in progress. Use the browser window the wizard opened.</p>",
        ),
        (false, _) => (
            "404 Not Found",
            "<!doctype html><title>Waiting</title><p>Waiting for the sign-in to complete.</p>",
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    (is_redirect && ours).then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_is_read_from_the_token_claims() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"tid":"t-1","oid":"o-1","upn":"a@b.c"}"#);
        let account = account_from_token(&format!("h.{payload}.s")).expect("claims");
        assert_eq!(account.tenant_id, "t-1");
        assert_eq!(account.user_principal_name.as_deref(), Some("a@b.c"));
        assert!(account_from_token("garbage").is_none());
    }

    #[test]
    fn service_principals_need_a_tenant_and_a_secret() {
        let transport = Transport::default();
        let err = AzureSession::service_principal(
            transport.clone(),
            AuthorityConfig::organizations("x"),
            Secret::new("s"),
        )
        .expect_err("organizations");
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        let mut authority = AuthorityConfig::organizations("x");
        authority.tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47".into();
        let err = AzureSession::service_principal(transport, authority, Secret::new(" "))
            .expect_err("blank");
        assert!(
            !format!("{err:?}").contains("Secret("),
            "no secret in errors"
        );
    }
}
