//! What a working Octopus connection looks like to the faces: an
//! [`OctopusConnectionSummary`] (version, user, spaces, warnings, where the key is kept),
//! never a key. [`crate::Session`] makes the connections; this module names the results.

use octo_oidc_core::Problem;
use octo_oidc_octopus::connection::ConnectionReport;
use octo_oidc_octopus::keychain::ApiKeySource;
use serde::Serialize;

/// Where the API key of the connection is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyKept {
    /// In the OS keychain, for the next run.
    Keychain,
    /// In memory only, for this session.
    SessionOnly,
}

impl From<ApiKeySource> for ApiKeyKept {
    fn from(source: ApiKeySource) -> Self {
        match source {
            ApiKeySource::Keychain => ApiKeyKept::Keychain,
            ApiKeySource::SessionOnly | ApiKeySource::Environment => ApiKeyKept::SessionOnly,
        }
    }
}

/// What the faces show about a working Octopus connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
    /// Why the key could not be kept in (or read from) the keychain, if it could not.
    pub keychain_problem: Option<String>,
}

/// The result of signing out of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SignedOut {
    /// The normalized server URL.
    pub server_url: String,
    /// Whether a stored key was deleted from the keychain (false: there was none).
    pub key_forgotten: bool,
    /// Whether the session's connection to this server was closed.
    pub disconnected: bool,
}

pub(crate) fn summarize(
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
        space_count: crate::run_report::count(space_count),
        warnings,
        api_key_kept,
        keychain_problem: keychain_problem.map(|problem| problem.message.clone()),
    }
}
