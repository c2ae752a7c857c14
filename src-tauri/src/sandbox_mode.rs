//! The built-in Sandbox mode: the app starts the local stand-ins for Octopus, Entra ID /
//! Graph / ARM and IAM / STS (`octo-oidc-sandbox`) inside its own process, on loopback ports,
//! so anyone can walk the whole wizard offline.
//!
//! The running sandbox lives in the app state for the rest of the session; starting it again
//! returns the one already running. What reaches the UI is a [`SandboxSummary`]: where each
//! service listens. The sandbox's API key stays here (it is a `Secret` and never crosses IPC);
//! later wizard steps connect to the sandbox Octopus from the Rust side.
//!
//! Deliberately absent: persistence of sandbox state between app runs (the CLI's
//! `octo-oidc sandbox --state FILE` offers that) and fault injection from the UI.

use octo_oidc_sandbox::{Sandbox, SandboxOptions};
use serde::Serialize;
use specta::Type;
use tauri::async_runtime::Mutex;

use crate::ui_error::UiError;

/// The app-wide slot for the running sandbox.
#[derive(Debug, Default)]
pub struct SandboxSlot(Mutex<Option<Sandbox>>);

/// Where the running sandbox's services listen (all on 127.0.0.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SandboxSummary {
    /// The seed profile the sandbox started with (e.g. `demo`).
    pub profile: String,
    /// The sandbox Octopus Server (HTTP).
    pub octopus_url: String,
    /// The Octopus OIDC issuer, exactly as its discovery document states it.
    pub octopus_issuer: String,
    /// The GitHub Actions-style token issuer.
    pub github_issuer: String,
    /// The Entra ID authority (sign-in and token endpoints), if running.
    pub azure_authority: Option<String>,
    /// Microsoft Graph, if running.
    pub graph_url: Option<String>,
    /// Azure Resource Manager, if running.
    pub arm_url: Option<String>,
    /// The AWS endpoint serving IAM and STS, if running.
    pub aws_endpoint_url: Option<String>,
}

fn summarize(sandbox: &Sandbox, profile: &str) -> SandboxSummary {
    let urls = sandbox.urls();
    SandboxSummary {
        profile: profile.to_string(),
        octopus_url: urls.octopus.clone(),
        octopus_issuer: urls.octopus_issuer.clone(),
        github_issuer: urls.github_issuer.clone(),
        azure_authority: urls.azure_authority.clone(),
        graph_url: urls.graph.clone(),
        arm_url: urls.arm.clone(),
        aws_endpoint_url: urls.aws.clone(),
    }
}

impl SandboxSlot {
    /// Starts the sandbox with the `demo` profile, or returns the one already running.
    pub async fn start(&self) -> Result<SandboxSummary, UiError> {
        let mut slot = self.0.lock().await;
        let options = SandboxOptions::default();
        let profile = options.profile.name();
        if let Some(running) = slot.as_ref() {
            return Ok(summarize(running, profile));
        }
        let sandbox = Sandbox::start(options)
            .await
            .map_err(|error| UiError::from(octo_oidc_core::Problem::from(error)))?;
        let summary = summarize(&sandbox, profile);
        *slot = Some(sandbox);
        Ok(summary)
    }

    /// Holds the slot while the caller uses the running sandbox (`None` if not started).
    pub async fn running(&self) -> impl std::ops::Deref<Target = Option<Sandbox>> + '_ {
        self.0.lock().await
    }

    /// The running sandbox, if any.
    pub async fn status(&self) -> Option<SandboxSummary> {
        let slot = self.0.lock().await;
        slot.as_ref()
            .map(|sandbox| summarize(sandbox, SandboxOptions::default().profile.name()))
    }
}
