//! Whether an OS keychain answers, so the faces can say where an API key will be kept.
//!
//! The probe is [`ApiKeyStore::probe`] under the one service name
//! ([`octo_oidc_octopus::keychain::KEYCHAIN_SERVICE`]): a lookup of an entry that is never
//! written, run on the blocking pool (D-Bus round trips). Nothing is stored or read back.

use octo_oidc_octopus::keychain::ApiKeyStore;
use serde::Serialize;

/// Whether secrets can be kept in the OS keychain on this machine, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KeychainStatus {
    /// The OS keychain answered a lookup.
    Available,
    /// No OS keychain answered; `reason` is the platform's own message.
    Unavailable {
        /// Why, as reported by the platform store.
        reason: String,
    },
}

/// Asks the store whether it answers.
pub async fn probe(store: &ApiKeyStore) -> KeychainStatus {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || store.probe()).await {
        Ok(Ok(())) => KeychainStatus::Available,
        Ok(Err(error)) => KeychainStatus::Unavailable {
            reason: error.to_string(),
        },
        Err(error) => KeychainStatus::Unavailable {
            reason: format!("the keychain check stopped unexpectedly: {error}"),
        },
    }
}
