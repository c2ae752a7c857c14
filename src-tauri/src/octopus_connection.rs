//! The app's connection to an Octopus Server: signing in with a typed API key, or connecting to
//! the built-in Sandbox's Octopus.
//!
//! Either way the connection check of `octo-oidc-octopus` runs (server version, OIDC support,
//! current user, permissions), the spaces are listed, and the working client is kept in the
//! [`OctopusSlot`] for the later wizard steps. What reaches the UI is an
//! [`OctopusConnectionSummary`]; API keys stay in Rust as `Secret`s and never cross IPC.
//!
//! A typed key is kept in the OS keychain by `login::sign_in` (only after it proved to work);
//! the Sandbox's key never is: it exists only for the sandbox's lifetime.
//!
//! Deliberately absent: reconnecting with a stored key on start-up and signing out.

use std::sync::Arc;

use octo_oidc_core::events::NoProgress;
use octo_oidc_core::{ErrorCode, Problem, Secret};
use octo_oidc_octopus::connection::ConnectionReport;
use octo_oidc_octopus::keychain::{ApiKeySource, ApiKeyStore};
use octo_oidc_octopus::{OctopusClientConfig, RestOctopus, ServerUrl, login};
use octo_oidc_sandbox::Sandbox;
use serde::Serialize;
use specta::Type;
use tauri::async_runtime::Mutex;

use crate::connect_form::{self, ConnectForm};
use crate::ui_error::UiError;

/// The app-wide slot for the connected Octopus client (empty until a connection succeeds).
#[derive(Debug, Default)]
pub struct OctopusSlot(Mutex<Option<RestOctopus>>);

impl OctopusSlot {
    /// The connected client, if any (a cheap clone sharing the HTTP connection pool).
    pub async fn client(&self) -> Option<RestOctopus> {
        self.0.lock().await.clone()
    }

    async fn keep(&self, client: RestOctopus) {
        *self.0.lock().await = Some(client);
    }
}

/// Where the API key of the connection is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyKept {
    /// In the OS keychain, for the next run.
    Keychain,
    /// In memory only, for this session.
    SessionOnly,
}

/// What the UI shows about a working Octopus connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OctopusConnectionSummary {
    /// The normalized server URL.
    pub server_url: String,
    /// The server's version, as it reports it.
    pub server_version: String,
    /// The signed-in user's display name.
    pub user_display_name: String,
    /// The signed-in user's username.
    pub username: String,
    /// Whether the server supports OIDC (generic OIDC accounts / identities).
    pub oidc_supported: bool,
    /// How many spaces the user can see.
    pub space_count: u32,
    /// What the connection check warns about (e.g. missing permissions).
    pub warnings: Vec<String>,
    /// Where the API key is kept.
    pub api_key_kept: ApiKeyKept,
    /// Why the key could not be kept in the keychain, if it could not.
    pub keychain_problem: Option<String>,
}

fn summarize(
    report: &ConnectionReport,
    space_count: usize,
    api_key_kept: ApiKeyKept,
    keychain_problem: Option<&Problem>,
) -> OctopusConnectionSummary {
    let mut warnings = report.warnings.clone();
    warnings.extend(report.missing_permissions.iter().map(|missing| {
        format!(
            "Missing permission {} ({}), needed for {}.",
            missing.permission,
            missing.space_id.as_deref().unwrap_or("system"),
            missing.needed_for
        )
    }));
    OctopusConnectionSummary {
        server_url: report.server_url.clone(),
        server_version: report.version.version.clone(),
        user_display_name: report.user.display_name.clone(),
        username: report.user.username.clone(),
        oidc_supported: report.features.oidc,
        space_count: u32::try_from(space_count).unwrap_or(u32::MAX),
        warnings,
        api_key_kept,
        keychain_problem: keychain_problem.map(|problem| problem.message.clone()),
    }
}

fn to_ui(error: impl Into<Problem>) -> UiError {
    UiError::from(error.into())
}

async fn count_spaces(client: &RestOctopus) -> Result<usize, UiError> {
    client
        .spaces()
        .await
        .map(|spaces| spaces.len())
        .map_err(to_ui)
}

impl OctopusSlot {
    /// Validates the form, signs in (the key is stored in the keychain only once it worked),
    /// keeps the client and summarizes the connection.
    pub async fn connect(&self, form: ConnectForm) -> Result<OctopusConnectionSummary, UiError> {
        let target = connect_form::validate(&form).map_err(UiError::from)?;
        let server = ServerUrl::parse(&target.server_url).map_err(to_ui)?;
        let signed_in = login::sign_in(
            OctopusClientConfig::new(server),
            form.api_key,
            &ApiKeyStore::new(),
            Arc::new(NoProgress),
        )
        .await
        .map_err(UiError::from)?;
        let kept = match signed_in.key_source {
            ApiKeySource::Keychain => ApiKeyKept::Keychain,
            ApiKeySource::SessionOnly | ApiKeySource::Environment => ApiKeyKept::SessionOnly,
        };
        let spaces = count_spaces(&signed_in.client).await?;
        let summary = summarize(
            &signed_in.report,
            spaces,
            kept,
            signed_in.keychain_problem.as_ref(),
        );
        self.keep(signed_in.client).await;
        Ok(summary)
    }

    /// Connects to the running sandbox's Octopus with the sandbox's own key (never stored in
    /// the keychain), keeps the client and summarizes the connection.
    pub async fn connect_sandbox(
        &self,
        sandbox: &Sandbox,
    ) -> Result<OctopusConnectionSummary, UiError> {
        let url = &sandbox.urls().octopus;
        let server = ServerUrl::parse(url).map_err(to_ui)?;
        let mut config = OctopusClientConfig::new(server);
        if url.starts_with("https://") {
            config.ca_bundle_pem = Some(sandbox.ca_pem().as_bytes().to_vec());
        }
        let key: Secret = sandbox.api_key().clone();
        let client = RestOctopus::new(config, key).map_err(to_ui)?;
        let report = client.check_connection().await.map_err(to_ui)?;
        let spaces = count_spaces(&client).await?;
        let summary = summarize(&report, spaces, ApiKeyKept::SessionOnly, None);
        self.keep(client).await;
        Ok(summary)
    }
}

/// The error for connecting to the sandbox Octopus before the sandbox runs.
pub fn sandbox_not_running() -> UiError {
    UiError::from(
        Problem::new(
            ErrorCode::InvalidInput,
            "The built-in Sandbox is not running, so there is no sandbox Octopus to connect to.",
        )
        .with_hint("Start the Sandbox first, then connect."),
    )
}
