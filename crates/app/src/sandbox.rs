//! The built-in Sandbox: the local stand-ins for Octopus, Entra ID / Graph / ARM and IAM / STS
//! (`octo-oidc-sandbox`), started in this process on loopback ports.
//!
//! Two ways to run it, one start: the desktop app keeps one in its [`crate::Session`] (started
//! on demand, only its URLs reach the UI as a [`SandboxSummary`]; its API key and CA stay in
//! this crate), and `octo-oidc sandbox` serves one for other processes ([`serve`] →
//! [`ServedSandbox`], whose `NAME=value` lines the CLI prints: handing out the made-up key is
//! that command's purpose).
//!
//! Deliberately absent: fault injection from the UI (the sandbox's `/_sandbox/faults`
//! endpoint does that) and persistence for the desktop's sandbox (the CLI's `--state` has it).

use octo_oidc_core::error::FieldError;
use octo_oidc_core::{Problem, Secret};
use octo_oidc_sandbox::seed::{SeedProfile, UnknownProfile};
use octo_oidc_sandbox::{Sandbox, SandboxOptions};
use serde::Serialize;

/// The environment variable that picks the desktop app's Sandbox seed: `demo` (the default),
/// `empty`, or `large` (10,000 projects, 500 environments, 5,000 tenants: to try and measure
/// the wizard at that size; `make bench-keystroke` uses it). `octo-oidc sandbox --profile` is
/// the CLI's way to the same choice.
pub const PROFILE_ENV: &str = "OCTO_OIDC_SANDBOX_PROFILE";

/// The seed profile for the desktop app's Sandbox from [`PROFILE_ENV`]'s value (unset or
/// empty: the default); an unknown name is a field error naming the variable.
pub fn profile_from_env(value: Option<&str>) -> Result<SeedProfile, Problem> {
    match value.map(str::trim) {
        None | Some("") => Ok(SeedProfile::default()),
        Some(name) => name.parse().map_err(|e: UnknownProfile| {
            Problem::invalid_input(vec![FieldError {
                field: PROFILE_ENV.into(),
                problem: format!("{e}."),
                fix: format!("Set {PROFILE_ENV} to demo, empty or large, or unset it for demo."),
            }])
        }),
    }
}

/// Where the running sandbox's services listen (all on 127.0.0.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
    /// The endpoint serving the Google Cloud APIs, if running.
    pub gcp_url: Option<String>,
    /// The seeded Google Cloud project's id (a Google Cloud setup names it).
    pub gcp_project_id: Option<String>,
}

pub(crate) fn summarize(sandbox: &Sandbox, profile: &str) -> SandboxSummary {
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
        gcp_url: urls.gcp.clone(),
        gcp_project_id: urls.gcp.is_some().then(|| sandbox.gcp().project_id()),
    }
}

/// What connecting to a sandbox's Octopus needs, copied out of the session's slot so no lock
/// is held while the connection check runs.
#[derive(Debug, Clone)]
pub(crate) struct SandboxOctopusAccess {
    /// Which start of the sandbox this belongs to (a stop or restart changes it).
    pub generation: u64,
    /// The Octopus URL the desktop uses.
    pub url: String,
    /// The sandbox's own administrator key (never stored in the keychain).
    pub api_key: Secret,
    /// The sandbox's test CA, for its HTTPS listeners.
    pub ca_pem: String,
}

/// A running sandbox held by the session, with the profile it started with.
#[derive(Debug)]
pub(crate) struct RunningSandbox {
    pub generation: u64,
    pub profile: &'static str,
    pub sandbox: Sandbox,
}

impl RunningSandbox {
    pub fn summary(&self) -> SandboxSummary {
        summarize(&self.sandbox, self.profile)
    }

    pub fn octopus_access(&self) -> SandboxOctopusAccess {
        SandboxOctopusAccess {
            generation: self.generation,
            url: self.sandbox.urls().octopus.clone(),
            api_key: self.sandbox.api_key().clone(),
            ca_pem: self.sandbox.ca_pem().to_string(),
        }
    }
}

pub(crate) async fn start(options: SandboxOptions) -> Result<Sandbox, Problem> {
    Sandbox::start(options).await.map_err(Problem::from)
}

/// A sandbox served for other processes (`octo-oidc sandbox`).
#[derive(Debug)]
pub struct ServedSandbox {
    sandbox: Sandbox,
}

/// Starts a sandbox to serve other processes until [`ServedSandbox::shutdown`].
pub async fn serve(options: SandboxOptions) -> Result<ServedSandbox, Problem> {
    Ok(ServedSandbox {
        sandbox: start(options).await?,
    })
}

impl ServedSandbox {
    /// One `NAME=value` pair per endpoint, in a fixed order, including the sandbox's made-up
    /// `OCTOPUS_API_KEY` (what `octo-oidc sandbox` prints).
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        self.sandbox.env_vars()
    }

    /// The test CA certificate (PEM) clients must trust for the HTTPS listeners.
    pub fn ca_pem(&self) -> &str {
        self.sandbox.ca_pem()
    }

    /// Where the services listen.
    pub fn summary(&self, profile: &str) -> SandboxSummary {
        summarize(&self.sandbox, profile)
    }

    /// Stops every listener and writes the state file, if one was given.
    pub async fn shutdown(self) -> Result<(), Problem> {
        self.sandbox.shutdown().await.map_err(Problem::from)
    }
}
