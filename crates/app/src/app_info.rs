//! What the faces show about the program. Whether the machine has a keychain is a question of
//! its own ([`crate::keychain::probe`], D-Bus round trips), asked only where a key is entered.

use serde::Serialize;

/// The product name.
pub const PRODUCT_NAME: &str = "Octopus OIDC Wizard";

/// The program: known without any call out of the process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The product name.
    pub product_name: String,
    /// The version (the workspace version all packages share).
    pub version: String,
}
