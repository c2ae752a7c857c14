//! Whether an OS keychain is reachable, so the UI can say where an API key will be kept.
//!
//! The probe looks up an entry that is never written (`octo-oidc-wizard` / `reachability-probe`):
//! "found" or "no such entry" both prove the keychain answered; anything else (no D-Bus
//! session, no Secret Service, a locked or refused store) means it is not usable. Nothing is
//! stored or read back. Storing API keys is the Octopus client's job, not this module's.

use serde::Serialize;
use specta::Type;

/// The keychain service name under which this app's entries live.
pub const SERVICE: &str = "octo-oidc-wizard";
const PROBE_USER: &str = "reachability-probe";

/// Whether secrets can be kept in the OS keychain on this machine, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
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

/// Asks the platform's default credential store for a probe entry. Blocking (D-Bus on Linux):
/// call it off the UI thread.
pub fn probe() -> KeychainStatus {
    // The store's own start-up error says why (e.g. no D-Bus session bus); `Entry::new` would
    // only say that no default store is set.
    if let Err(error) = keyring::Entry::store_status() {
        return KeychainStatus::Unavailable {
            reason: error.to_string(),
        };
    }
    let entry = match keyring::Entry::new(SERVICE, PROBE_USER) {
        Ok(entry) => entry,
        Err(error) => {
            return KeychainStatus::Unavailable {
                reason: error.to_string(),
            };
        }
    };
    match entry.get_password() {
        Ok(_) | Err(keyring::Error::NoEntry) => KeychainStatus::Available,
        Err(error) => KeychainStatus::Unavailable {
            reason: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `make test` runs the tests inside a D-Bus session with an unlocked gnome-keyring and sets
    /// `OCTO_OIDC_EXPECT_KEYCHAIN=1`; there the probe must find it. Run bare (no D-Bus session)
    /// it must report the keychain unavailable with a reason, and must not panic or hang.
    #[test]
    fn probe_matches_the_environment() {
        let status = probe();
        match std::env::var("OCTO_OIDC_EXPECT_KEYCHAIN").as_deref() {
            Ok("1") => assert_eq!(status, KeychainStatus::Available),
            _ if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() => {
                assert!(
                    matches!(&status, KeychainStatus::Unavailable { reason } if !reason.is_empty()),
                    "{status:?}"
                );
            }
            // A developer desktop: either answer is legitimate, but it must answer.
            _ => {}
        }
    }
}
