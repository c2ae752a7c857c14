//! What the faces show about the program and the machine it runs on.

use serde::Serialize;

use crate::keychain::KeychainStatus;

/// The product name.
pub const PRODUCT_NAME: &str = "Octopus OIDC Wizard";

/// The program and whether an API key could be kept on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The product name.
    pub product_name: String,
    /// The version (the workspace version all packages share).
    pub version: String,
    /// Whether an API key could be kept in the OS keychain.
    pub keychain: KeychainStatus,
}
