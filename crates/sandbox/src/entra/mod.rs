//! The sandbox Entra ID tenant(s): the login authority, Microsoft Graph v1.0 and Azure
//! Resource Manager, sharing one directory state.
//!
//! - [`authority`]: `/{tenant}/oauth2/v2.0/{authorize,token,devicecode}`, discovery and JWKS.
//!   The client-assertion grant validates the assertion for real (discovery + JWKS of the
//!   assertion's issuer through [`RemoteIssuers`], signature, expiry) and matches the app's
//!   federated identity credentials exactly ([`federation`], the sandbox's own reading of
//!   Entra's rules), answering with the real `AADSTS` codes.
//!   Sign-in is auth code + PKCE (S256) with loopback redirects, refresh tokens (one resource
//!   per request, `AADSTS28000` otherwise), device code, and client secrets.
//! - [`graph`]: `/v1.0/me`, directory roles, applications, servicePrincipals and
//!   federatedIdentityCredentials with Graph's validation, alternate keys, upserts, paging and
//!   error envelopes, and the replication window right after an app is created.
//! - [`arm`]: tenants, subscriptions, resource groups, built-in role definitions and role
//!   assignments, with real (simplified) RBAC: writes need Owner / User Access Administrator /
//!   RBAC Administrator at or above the scope.
//!
//! Fault knobs (`Faults::before(service, operation)`): service `entra` with operations
//! `token {grant_type}`, `devicecode`, `GET authorize`; service `graph` with
//! `{METHOD} /{collection}[/{sub-collection}]` (ids and alternate keys dropped), e.g.
//! `POST /applications`, `PATCH /servicePrincipals`,
//! `PATCH /applications/federatedIdentityCredentials`; service `arm` with
//! `{METHOD} {tenants|subscriptions|resourceGroups|roleDefinitions|roleAssignments}`. The
//! `graph` consistency window hides new apps; the `arm` one (or
//! [`EntraConfig::principal_not_found_window`]) hides new service principals from ARM.
//!
//! Deliberately left out: consent (every sign-in is treated as consented), conditional
//! access, multi-tenant app provisioning (an app and its SP live in one tenant), certificates,
//! soft-deleted-object recovery, `$select`/`$expand`/`$orderby`, ARM resources other than
//! subscriptions and resource groups.

// Handlers short-circuit with the finished error response (`Result<T, Response>`); the error
// path is cold and the response is moved once, so boxing it would only add noise.
#![allow(clippy::result_large_err)]

mod arm;
mod authority;
pub mod federation;
mod graph;
mod model;
mod wire;

pub use model::{
    ADMIN_APP_UNIQUE_NAME, AZURE_CLI_CLIENT_ID, BUILT_IN_ROLES, CUSTOM_ROLES, DEFAULT_PASSWORD,
    DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID, DEFAULT_USER, LIMITED_USER, SECOND_SUBSCRIPTION_ID,
    SECOND_TENANT_ID, WIZARD_CLIENT_ID,
};

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::Faults;
use crate::signing::SigningKey;
use crate::token_validation::RemoteIssuers;
use model::{DirectoryState, now_ms};

/// Which data the sandbox directory starts with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntraSeed {
    /// One tenant (`DEFAULT_TENANT_ID`, "Contoso"), a second tenant the admin is a guest in,
    /// two subscriptions with a few resource groups, an admin user (Global Administrator,
    /// Owner on the subscriptions) and a limited user (no directory role, no RBAC role), the
    /// wizard's public client and the Azure CLI client.
    #[default]
    Demo,
    /// The default tenant and the public clients only.
    Empty,
}

/// Settings of the sandbox Entra, Graph and ARM servers.
#[derive(Debug, Clone)]
pub struct EntraConfig {
    /// Public base URL of the authority (e.g. `https://127.0.0.1:4431`); `None` derives
    /// `http://{Host}` from each request.
    pub authority_url: Option<String>,
    /// Public base URL of Graph (for `@odata.nextLink`); `None` = `http://{Host}`.
    pub graph_url: Option<String>,
    /// Public base URL of ARM (for `nextLink`); `None` = `http://{Host}`.
    pub arm_url: Option<String>,
    /// Seed data.
    pub seed: EntraSeed,
    /// Lifetime of issued access tokens.
    pub access_token_lifetime: Duration,
    /// ARM list page size (`nextLink` after that many items).
    pub arm_page_size: usize,
    /// A service principal younger than this is not yet visible to ARM: role assignments
    /// without `principalType` fail with `PrincipalNotFound`. Zero = use the `arm`
    /// consistency window of the fault knobs.
    pub principal_not_found_window: Duration,
    /// When set, the authorize page signs this user in without showing a form, and device
    /// codes are approved for this user on their first poll.
    pub auto_approve_user: Option<String>,
}

impl Default for EntraConfig {
    fn default() -> Self {
        EntraConfig {
            authority_url: None,
            graph_url: None,
            arm_url: None,
            seed: EntraSeed::Demo,
            access_token_lifetime: Duration::from_secs(3600),
            arm_page_size: 100,
            principal_not_found_window: Duration::ZERO,
            auto_approve_user: None,
        }
    }
}

/// A user to add to the directory.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in name, e.g. `alice@contoso.onmicrosoft.com`.
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// Password for the sign-in form / auto-approval.
    pub password: String,
    /// Tenants the user belongs to; the first one is the home tenant.
    pub tenant_ids: Vec<String>,
    /// Directory role display names, e.g. `Application Administrator`.
    pub directory_roles: Vec<String>,
}

/// Errors of the Rust configuration API.
#[derive(Debug, thiserror::Error)]
pub enum EntraAdminError {
    /// The named object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The argument is not acceptable.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Snapshot (de)serialization failed.
    #[error("state: {0}")]
    State(#[from] serde_json::Error),
    /// The signing key could not be created.
    #[error("signing key: {0}")]
    Signing(String),
}

pub(crate) struct Inner {
    pub(crate) config: Mutex<EntraConfig>,
    pub(crate) state: Mutex<DirectoryState>,
    pub(crate) faults: Faults,
    pub(crate) issuers: RemoteIssuers,
}

/// The sandbox Entra ID authority, Graph and ARM, sharing one directory. Cheap to clone.
#[derive(Clone)]
pub struct EntraSandbox {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for EntraSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraSandbox").finish_non_exhaustive()
    }
}

impl EntraSandbox {
    /// Creates the sandbox with its seed data and a fresh signing key.
    ///
    /// # Panics
    /// If no RSA key can be generated (the crypto backend is broken).
    pub fn new(config: EntraConfig, faults: Faults, issuers: RemoteIssuers) -> EntraSandbox {
        let key = SigningKey::generate().expect("RSA key generation works on this platform");
        let state = DirectoryState::seeded(config.seed, key);
        EntraSandbox {
            inner: Arc::new(Inner {
                config: Mutex::new(config),
                state: Mutex::new(state),
                faults,
                issuers,
            }),
        }
    }

    /// The authority: `/{tenant}/oauth2/v2.0/*`, `/{tenant}/v2.0/.well-known/openid-configuration`,
    /// `/{tenant}/discovery/v2.0/keys`, `/devicelogin`.
    pub fn login_router(&self) -> axum::Router {
        authority::router(self.clone())
    }

    /// Microsoft Graph: `/v1.0/...`.
    pub fn graph_router(&self) -> axum::Router {
        graph::router(self.clone())
    }

    /// Azure Resource Manager.
    pub fn arm_router(&self) -> axum::Router {
        arm::router(self.clone())
    }

    /// The whole directory (tenants, users, apps, credentials, assignments, grants, signing
    /// key) as JSON, for the sandbox state file.
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(&*self.state()).unwrap_or(serde_json::Value::Null)
    }

    /// Replaces the directory with a snapshot taken by [`EntraSandbox::snapshot`].
    pub fn restore(&self, value: serde_json::Value) -> Result<(), EntraAdminError> {
        let state: DirectoryState = serde_json::from_value(value)?;
        *self.state() = state;
        Ok(())
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, DirectoryState> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn config(&self) -> EntraConfig {
        self.inner
            .config
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn update_config(&self, change: impl FnOnce(&mut EntraConfig)) {
        let mut config = self
            .inner
            .config
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut config);
    }

    // ---- Rust configuration API (tests, the sandbox host) ---------------------------------

    /// Signs this user in automatically on the authorize page and for device codes.
    pub fn set_auto_approve_user(&self, user_principal_name: Option<&str>) {
        let user = user_principal_name.map(str::to_owned);
        self.update_config(|c| c.auto_approve_user = user);
    }

    /// How long a new service principal stays invisible to ARM (`PrincipalNotFound`).
    pub fn set_principal_not_found_window(&self, window: Duration) {
        self.update_config(|c| c.principal_not_found_window = window);
    }

    /// Sets the ARM list page size.
    pub fn set_arm_page_size(&self, size: usize) {
        self.update_config(|c| c.arm_page_size = size.max(1));
    }

    /// Adds a tenant.
    pub fn add_tenant(&self, tenant_id: &str, display_name: &str, default_domain: &str) {
        self.state()
            .add_tenant(tenant_id, display_name, default_domain);
    }

    /// The tenant-wide "Users can register applications" switch.
    pub fn set_users_can_register_apps(
        &self,
        tenant_id: &str,
        allowed: bool,
    ) -> Result<(), EntraAdminError> {
        let mut state = self.state();
        let tenant = state
            .tenants
            .get_mut(tenant_id)
            .ok_or_else(|| EntraAdminError::NotFound(format!("tenant {tenant_id}")))?;
        tenant.users_can_register_apps = allowed;
        Ok(())
    }

    /// Adds a user; returns the user's object id.
    pub fn add_user(&self, user: NewUser) -> Result<String, EntraAdminError> {
        self.state().add_user(user)
    }

    /// Replaces the directory roles of a user (display names, e.g. `Application Developer`).
    pub fn set_directory_roles(
        &self,
        user_principal_name: &str,
        roles: &[&str],
    ) -> Result<(), EntraAdminError> {
        let mut state = self.state();
        let user = state
            .user_by_upn_mut(user_principal_name)
            .ok_or_else(|| EntraAdminError::NotFound(format!("user {user_principal_name}")))?;
        for role in roles {
            if model::directory_role_template(role).is_none() {
                return Err(EntraAdminError::Invalid(format!(
                    "unknown directory role {role}"
                )));
            }
        }
        user.directory_roles = roles.iter().map(|r| (*r).to_owned()).collect();
        Ok(())
    }

    /// The object id of a user.
    pub fn user_object_id(&self, user_principal_name: &str) -> Option<String> {
        self.state()
            .user_by_upn(user_principal_name)
            .map(|u| u.id.clone())
    }

    /// Adds a subscription to a tenant.
    pub fn add_subscription(
        &self,
        tenant_id: &str,
        subscription_id: &str,
        display_name: &str,
    ) -> Result<(), EntraAdminError> {
        self.state()
            .add_subscription(tenant_id, subscription_id, display_name)
    }

    /// Adds a resource group to a subscription.
    pub fn add_resource_group(
        &self,
        subscription_id: &str,
        name: &str,
        location: &str,
    ) -> Result<(), EntraAdminError> {
        self.state()
            .add_resource_group(subscription_id, name, location)
    }

    /// Grants a built-in role (by name) to a principal at a scope, bypassing ARM.
    pub fn grant_arm_role(
        &self,
        scope: &str,
        role_name: &str,
        principal_id: &str,
    ) -> Result<(), EntraAdminError> {
        self.state().grant_arm_role(scope, role_name, principal_id)
    }

    /// The automation administrator (a service principal that may create apps and assign
    /// roles), created on first use; returns its client id and a fresh client secret.
    pub fn administrator_app(&self, tenant_id: &str) -> Result<(String, String), EntraAdminError> {
        self.state().ensure_administrator_app(tenant_id)
    }

    /// The read-only automation identity (Reader, `Application.Read.All`: it may observe but
    /// not register apps or assign roles), created on first use; its client id and a fresh
    /// client secret.
    pub fn reader_app(&self, tenant_id: &str) -> Result<(String, String), EntraAdminError> {
        self.state().ensure_reader_app(tenant_id)
    }

    /// Every sign-in secret the authority has handed out or received: authorization codes,
    /// refresh tokens and the PKCE verifiers codes were redeemed with (for tests that prove
    /// none of them reaches a log).
    pub fn sign_in_secrets(&self) -> Vec<String> {
        let state = self.state();
        state
            .auth_codes
            .iter()
            .flat_map(|(code, grant)| {
                std::iter::once(code.clone()).chain(grant.code_verifier.clone())
            })
            .chain(state.refresh_tokens.keys().cloned())
            .collect()
    }

    /// Adds a client secret to an app (as `addPassword` would); returns the secret text.
    pub fn add_client_secret(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<String, EntraAdminError> {
        self.state().add_client_secret(tenant_id, app_id)
    }

    /// Grants an app a Graph application permission (`Application.ReadWrite.All` or
    /// `Application.ReadWrite.OwnedBy`), as admin consent would.
    pub fn grant_graph_app_role(
        &self,
        tenant_id: &str,
        app_id: &str,
        permission: &str,
    ) -> Result<(), EntraAdminError> {
        let mut state = self.state();
        let app = state
            .tenants
            .get_mut(tenant_id)
            .and_then(|t| t.applications.values_mut().find(|a| a.app_id == app_id))
            .ok_or_else(|| EntraAdminError::NotFound(format!("app {app_id}")))?;
        if !app.graph_app_roles.iter().any(|p| p == permission) {
            app.graph_app_roles.push(permission.to_owned());
        }
        Ok(())
    }

    /// Registers a public client (e.g. the wizard) with its redirect URIs.
    pub fn add_public_client(&self, client_id: &str, redirect_uris: &[&str]) {
        self.state().public_clients.insert(
            client_id.to_owned(),
            redirect_uris.iter().map(|r| (*r).to_owned()).collect(),
        );
    }

    /// Approves a pending device code for a user (what the user does at `/devicelogin`).
    pub fn approve_device_code(
        &self,
        user_code: &str,
        user_principal_name: &str,
    ) -> Result<(), EntraAdminError> {
        let mut state = self.state();
        let user_id = state
            .user_by_upn(user_principal_name)
            .map(|u| u.id.clone())
            .ok_or_else(|| EntraAdminError::NotFound(format!("user {user_principal_name}")))?;
        let code = state
            .device_codes
            .values_mut()
            .find(|d| d.user_code.eq_ignore_ascii_case(user_code))
            .ok_or_else(|| EntraAdminError::NotFound(format!("device code {user_code}")))?;
        code.approved_user = Some(user_id);
        Ok(())
    }

    /// The applications of a tenant as Graph returns them (for assertions in tests).
    pub fn applications(&self, tenant_id: &str) -> Vec<serde_json::Value> {
        let state = self.state();
        state
            .tenants
            .get(tenant_id)
            .map(|t| {
                t.applications
                    .values()
                    .map(wire::application_json)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The role assignments of a tenant as ARM returns them.
    pub fn role_assignments(&self, tenant_id: &str) -> Vec<serde_json::Value> {
        let state = self.state();
        state
            .tenants
            .get(tenant_id)
            .map(|t| {
                t.role_assignments
                    .values()
                    .map(wire::role_assignment_json)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Makes a service principal look freshly created (for replication-window tests).
    pub fn touch_service_principal(&self, object_id: &str) -> Result<(), EntraAdminError> {
        let mut state = self.state();
        let sp = state
            .tenants
            .values_mut()
            .find_map(|t| t.service_principals.get_mut(object_id))
            .ok_or_else(|| EntraAdminError::NotFound(format!("service principal {object_id}")))?;
        sp.created_ms = now_ms();
        Ok(())
    }
}
