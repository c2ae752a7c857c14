//! Whether the keychain answers: the probe matches the machine.

use octo_oidc_app::{KeychainStatus, Session};

/// `make test` runs the tests inside a D-Bus session with an unlocked gnome-keyring and sets
/// `OCTO_OIDC_EXPECT_KEYCHAIN=1`; there the probe must find it. Run bare (no D-Bus session)
/// it must report the keychain unavailable with a reason, and must not panic or hang.
#[tokio::test]
async fn the_probe_matches_the_environment() {
    let session = Session::new();
    let info = session.app_info();
    assert_eq!(info.product_name, "Octopus OIDC Wizard");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    let status = session.keychain_status().await;
    if std::env::var("OCTO_OIDC_EXPECT_KEYCHAIN").as_deref() == Ok("1") {
        assert_eq!(status, KeychainStatus::Available);
    } else if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(
            matches!(&status, KeychainStatus::Unavailable { reason } if !reason.is_empty()),
            "{status:?}"
        );
    } else {
        // A developer desktop: either answer is legitimate, but it must answer with a reason.
        if let KeychainStatus::Unavailable { reason } = &status {
            assert!(!reason.is_empty());
        }
    }
}
