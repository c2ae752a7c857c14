//! [`RestOctopus`]: the Octopus REST client, its configuration, and the
//! [`octo_oidc_core::ports::Octopus`] port on top of the richer concrete API.
//!
//! The concrete operations live in sibling modules as `impl RestOctopus` blocks (connection
//! check, inventory, issuer check, accounts and tasks, service accounts); this module holds the
//! construction and the port's mapping of [`OctopusError`] to [`Problem`].
//!
//! Deliberately absent: any keychain access (see `keychain`); the caller resolves the key and
//! hands it in.

use std::sync::Arc;
use std::time::Duration;

use octo_oidc_core::events::{NoProgress, ProgressSink};
use octo_oidc_core::ports::{
    Applied, ExchangedToken, Octopus, OctopusAccount, OidcIdentities, OidcIdentityIds,
    OidcIdentitySpec, PortResult, ServerInfo, ServiceAccount, SpaceInventory, TaskResult,
};
use octo_oidc_core::retry::{CancelToken, RetryPolicy};
use octo_oidc_core::{ErrorCode, Problem, Secret};
use octo_oidc_http::{debug_ca_bundle, debug_dns_resolver};

use crate::error::OctopusError;
use crate::server_url::ServerUrl;
use crate::transport::{Credential, Transport, build_http_client};

/// How to reach and talk to an Octopus server.
#[derive(Clone)]
pub struct OctopusClientConfig {
    /// The server (normalized).
    pub server_url: ServerUrl,
    /// Extra trusted CA certificates (PEM) for a server behind a private CA. They are added to
    /// the platform's roots; certificate checks are never disabled.
    pub ca_bundle_pem: Option<Vec<u8>>,
    /// Budget for one HTTP request, connect to last body byte.
    pub request_timeout: Duration,
    /// Budget for establishing a connection.
    pub connect_timeout: Duration,
    /// Retry of transient failures.
    pub retry: RetryPolicy,
    /// The most one call may take, every attempt and wait together; a hung call ends with a
    /// `timeout` error naming the call and this deadline.
    pub deadline: Duration,
    /// The largest response body read; a larger one is refused.
    pub body_cap: usize,
    /// The most pages read of one paged collection.
    pub max_pages: usize,
    /// How often a running server task is polled.
    pub task_poll_interval: Duration,
    /// How long a server task is followed before giving up.
    pub task_timeout: Duration,
    /// `take` for paged listing (when a server has no `/all` endpoint).
    pub page_size: u32,
    /// How many pages are fetched at once.
    pub page_concurrency: usize,
    /// Name resolution in place of the system's (`None` = the system resolver).
    pub dns_resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
    /// Host names resolved to fixed addresses instead of through DNS (reqwest's
    /// `ClientBuilder::resolve`): how a client reaches a sandbox's port-less issuer
    /// (`Sandbox::host_overrides`). Empty = DNS for every host.
    pub resolve: Vec<(String, std::net::SocketAddr)>,
}

impl std::fmt::Debug for OctopusClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OctopusClientConfig")
            .field("server_url", &self.server_url.as_key())
            .field("ca_bundle_pem", &debug_ca_bundle(&self.ca_bundle_pem))
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("deadline", &self.deadline)
            .field("body_cap", &self.body_cap)
            .field("max_pages", &self.max_pages)
            .field("task_poll_interval", &self.task_poll_interval)
            .field("task_timeout", &self.task_timeout)
            .field("page_size", &self.page_size)
            .field("page_concurrency", &self.page_concurrency)
            .field("dns_resolver", &debug_dns_resolver(&self.dns_resolver))
            .field("resolve", &self.resolve)
            .finish()
    }
}

impl OctopusClientConfig {
    /// Defaults for a server: 30 s requests, 10 s connects, 1 s task polling, 10 min tasks.
    pub fn new(server_url: ServerUrl) -> Self {
        OctopusClientConfig {
            server_url,
            ca_bundle_pem: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            deadline: Duration::from_secs(300),
            body_cap: octo_oidc_http::DEFAULT_BODY_CAP,
            max_pages: octo_oidc_http::DEFAULT_MAX_PAGES,
            task_poll_interval: Duration::from_secs(1),
            task_timeout: Duration::from_secs(600),
            page_size: 500,
            page_concurrency: 4,
            dns_resolver: None,
            resolve: Vec::new(),
        }
    }
}

/// The Octopus Deploy REST client (API key authentication).
#[derive(Clone)]
pub struct RestOctopus {
    pub(crate) transport: Transport,
    pub(crate) config: Arc<OctopusClientConfig>,
    pub(crate) progress: Arc<dyn ProgressSink>,
}

impl std::fmt::Debug for RestOctopus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestOctopus")
            .field("transport", &self.transport)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RestOctopus {
    /// A client for the server with this API key. Makes no request; see
    /// [`RestOctopus::check_connection`].
    pub fn new(config: OctopusClientConfig, api_key: Secret) -> Result<Self, OctopusError> {
        RestOctopus::with_credential(config, Credential::ApiKey(api_key))
    }

    /// A client with any credential (API key or exchanged access token). Makes no request;
    /// reports nowhere until given a sink with [`RestOctopus::reporting_to`].
    pub fn with_credential(
        config: OctopusClientConfig,
        credential: Credential,
    ) -> Result<Self, OctopusError> {
        let progress: Arc<dyn ProgressSink> = Arc::new(NoProgress);
        let blank = match &credential {
            Credential::ApiKey(s) | Credential::AccessToken(s) => s.is_blank(),
        };
        if blank {
            return Err(OctopusError::InvalidConfig {
                field: "octopus.api_key",
                problem: "the API key is empty".into(),
            });
        }
        let http = build_http_client(&config)?;
        let transport = Transport::new(
            http,
            config.server_url.root().clone(),
            Some(credential),
            config.request_timeout,
            config.retry,
            progress.clone(),
        )
        .with_deadline(config.deadline)
        .with_body_cap(config.body_cap);
        Ok(RestOctopus {
            transport,
            config: Arc::new(config),
            progress,
        })
    }

    /// The same client reporting retries and task progress to `progress` (cheap: the HTTP
    /// client and configuration are shared): right after construction, or so a later step
    /// (an apply) gets its own progress channel.
    pub fn reporting_to(&self, progress: Arc<dyn ProgressSink>) -> Self {
        RestOctopus {
            transport: self.transport.reporting_to(progress.clone()),
            config: self.config.clone(),
            progress,
        }
    }

    /// The same connected client whose calls end (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(&self, cancel: CancelToken) -> Self {
        RestOctopus {
            transport: self.transport.cancelled_by(cancel),
            ..self.clone()
        }
    }

    /// The server this client talks to.
    pub fn server_url(&self) -> &ServerUrl {
        &self.config.server_url
    }
}

fn problem(error: OctopusError) -> Problem {
    error.into()
}

impl Octopus for RestOctopus {
    async fn find_team(
        &self,
        space_id: &str,
        name: &str,
    ) -> PortResult<Option<octo_oidc_core::ports::OctopusTeam>> {
        let teams = self.teams(space_id).await.map_err(problem)?;
        Ok(teams
            .into_iter()
            .filter(|t| t.space_id.as_deref().is_none_or(|s| s == space_id))
            .find(|t| t.name.eq_ignore_ascii_case(name))
            .map(port_team))
    }
    async fn add_team_member(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> PortResult<Applied<octo_oidc_core::ports::OctopusTeam>> {
        let applied = RestOctopus::add_team_member(self, team_id, user_id)
            .await
            .map_err(problem)?;
        Ok(match applied {
            Applied::Unchanged(t) => Applied::Unchanged(port_team(t)),
            Applied::Created(t) | Applied::Updated(t) => Applied::Created(port_team(t)),
        })
    }
    async fn remove_team_member(&self, team_id: &str, user_id: &str) -> PortResult<()> {
        RestOctopus::remove_team_member(self, team_id, user_id)
            .await
            .map_err(problem)
    }
    async fn caller_permissions(&self) -> PortResult<octo_oidc_core::preflight::OctopusGrants> {
        RestOctopus::caller_permissions(self).await.map_err(problem)
    }
    async fn server_info(&self) -> PortResult<ServerInfo> {
        // Independent reads: the version from /api, the issuer from the discovery document.
        let (version, issuer) =
            futures::try_join!(self.server_version(), self.discover_issuer()).map_err(problem)?;
        Ok(ServerInfo {
            version: version.version,
            issuer: issuer.issuer,
        })
    }

    async fn inventory(&self, space_id: &str) -> PortResult<SpaceInventory> {
        self.space_inventory(space_id).await.map_err(problem)
    }

    async fn find_account(&self, space_id: &str, name: &str) -> PortResult<Option<OctopusAccount>> {
        self.find_account_by_name(space_id, name)
            .await
            .map_err(problem)
    }

    async fn ensure_account(
        &self,
        space_id: &str,
        body: &serde_json::Value,
    ) -> PortResult<Applied<OctopusAccount>> {
        self.apply_account(space_id, body).await.map_err(problem)
    }

    async fn create_account(
        &self,
        space_id: &str,
        body: &serde_json::Value,
    ) -> PortResult<Applied<OctopusAccount>> {
        self.create_absent_account(space_id, body)
            .await
            .map_err(problem)
    }

    async fn delete_account(&self, space_id: &str, account_id: &str) -> PortResult<()> {
        self.remove_account(space_id, account_id)
            .await
            .map(|_| ())
            .map_err(problem)
    }

    async fn test_account(&self, space_id: &str, account_id: &str) -> PortResult<TaskResult> {
        self.run_account_test(space_id, account_id)
            .await
            .map_err(problem)
    }

    async fn find_service_account(&self, username: &str) -> PortResult<Option<ServiceAccount>> {
        let user = self.find_user(username).await.map_err(problem)?;
        Ok(user.map(Into::into))
    }

    async fn ensure_service_account(
        &self,
        username: &str,
        display_name: &str,
    ) -> PortResult<Applied<ServiceAccount>> {
        self.apply_service_account(username, display_name)
            .await
            .map(|applied| applied.map(Into::into))
            .map_err(problem)
    }

    async fn delete_service_account(&self, service_account_id: &str) -> PortResult<()> {
        self.remove_user(service_account_id)
            .await
            .map(|_| ())
            .map_err(problem)
    }

    async fn list_oidc_identities(&self, service_account_id: &str) -> PortResult<OidcIdentities> {
        let listed = self
            .oidc_identities(service_account_id)
            .await
            .map_err(problem)?;
        Ok(OidcIdentities {
            external_id: listed.external_id,
            identities: listed.identities.into_iter().map(Into::into).collect(),
        })
    }

    async fn ensure_oidc_identity(
        &self,
        service_account_id: &str,
        identity: &OidcIdentitySpec,
    ) -> PortResult<Applied<OidcIdentityIds>> {
        self.apply_oidc_identity(service_account_id, identity)
            .await
            .map_err(problem)
    }

    async fn delete_oidc_identity(
        &self,
        service_account_id: &str,
        identity_id: &str,
    ) -> PortResult<()> {
        self.remove_oidc_identity(service_account_id, identity_id)
            .await
            .map(|_| ())
            .map_err(problem)
    }

    async fn exchange_id_token(
        &self,
        external_id: &str,
        id_token: &Secret,
    ) -> PortResult<ExchangedToken> {
        match crate::token_exchange::exchange_id_token(&self.config, external_id, id_token).await {
            Ok(token) => Ok(ExchangedToken {
                access_token: token.token,
                expires_in: token.expires_in,
            }),
            // The token endpoint refuses a token it does not trust with a 4xx.
            Err(
                error @ OctopusError::Http {
                    status: 400..=403, ..
                },
            ) => {
                let refused = problem(error);
                Err(Problem::new(ErrorCode::TrustRejected, refused.message).with_hint(
                    "Compare the token's iss, sub and aud with the service account's OIDC identities (issuer and subject must match; the audience is the service account's ExternalId unless the identity sets one).",
                ))
            }
            Err(error) => Err(problem(error)),
        }
    }
}

fn port_team(t: crate::service_accounts::TeamSummary) -> octo_oidc_core::ports::OctopusTeam {
    octo_oidc_core::ports::OctopusTeam {
        id: t.id,
        name: t.name,
        space_id: t.space_id,
        member_user_ids: t.member_user_ids,
        can_change_members: t.can_change_members,
    }
}
