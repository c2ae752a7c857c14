//! The API key in the real OS keychain (Secret Service on Linux).
//!
//! These tests talk to the session's real Secret Service. CI runs them inside
//! `dbus-run-session` with an unlocked gnome-keyring:
//!
//! ```sh
//! dbus-run-session -- sh -c 'export HOME=$(mktemp -d); eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets)"; cargo test -p octo-oidc-octopus'
//! ```
//!
//! (When rustup lives under the real `$HOME`, export `RUSTUP_HOME` and `CARGO_HOME` first so
//! the temporary `HOME` does not hide the toolchain.)
//!
//! Outside such a session they FAIL (a keychain test that passes without a keychain proves
//! nothing). Set `OCTO_OIDC_SKIP_KEYRING_TESTS=1` to skip them explicitly, e.g. on a machine
//! where you only want the HTTP tests. The unavailable-keychain test needs no keychain: it
//! runs itself in a child process pointed at a D-Bus address that does not exist.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use octo_oidc_core::events::NoProgress;
use octo_oidc_core::retry::RetryPolicy;
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_octopus::keychain::{API_KEY_ENV_VAR, ApiKeySource, ApiKeyStore};
use octo_oidc_octopus::login::{SignedIn, reconnect, sign_in};
use octo_oidc_octopus::{OctopusClientConfig, ServerUrl};
use octo_oidc_sandbox::{Sandbox, SandboxOptions};

const SKIP_VAR: &str = "OCTO_OIDC_SKIP_KEYRING_TESTS";
const CHILD_VAR: &str = "OCTO_OIDC_KEYCHAIN_CHILD";

fn skipped() -> bool {
    if std::env::var(SKIP_VAR).as_deref() == Ok("1") {
        eprintln!("{SKIP_VAR}=1: skipping the real-keychain test");
        return true;
    }
    false
}

/// A service name of our own (never the app's `octo-oidc`), so the test never reads or
/// deletes a real key.
fn test_store() -> ApiKeyStore {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let service = format!("octo-oidc-test-{}-{nanos}", std::process::id());
    assert_ne!(service, octo_oidc_octopus::keychain::KEYCHAIN_SERVICE);
    ApiKeyStore::with_service(service)
}

/// Deletes the test's entries when the test ends, also when an assertion fails midway (a
/// panicking test unwinds through this drop), so failed runs leave nothing in the keychain.
struct CleanUp<'a> {
    store: &'a ApiKeyStore,
    servers: Vec<ServerUrl>,
}

impl Drop for CleanUp<'_> {
    fn drop(&mut self) {
        for server in &self.servers {
            if let Err(e) = self.store.delete(server) {
                eprintln!("could not clean up the test entry for {server}: {e}");
            }
        }
    }
}

#[test]
fn api_key_is_stored_read_replaced_and_deleted_in_the_real_secret_service() {
    if skipped() {
        return;
    }
    let store = test_store();
    store.availability().unwrap_or_else(|e| {
        panic!(
            "no OS keychain: {e}. Run inside dbus-run-session with an unlocked gnome-keyring (see this file's docs), or set {SKIP_VAR}=1 to skip"
        )
    });
    let server = ServerUrl::parse("https://Keyring-Test.octopus.app/app#/Spaces-1").expect("url");
    let same_server = ServerUrl::parse("https://keyring-test.octopus.app").expect("url");
    let _clean_up = CleanUp {
        store: &store,
        servers: vec![server.clone()],
    };

    let before = store.load(&server).unwrap_or_else(|e| {
        panic!("the keychain is not usable: {e}. Is the keyring unlocked? ({SKIP_VAR}=1 skips)")
    });
    assert!(before.is_none(), "a fresh service name has no entry");

    let key = Secret::new("API-KEYRINGTEST0000000000000001");
    store.store(&server, &key).expect("store");
    let loaded = store.load(&same_server).expect("load").expect("stored key");
    assert_eq!(
        loaded.expose(),
        key.expose(),
        "the normalized URL finds the entry"
    );

    let replacement = Secret::new("API-KEYRINGTEST0000000000000002");
    store.store(&same_server, &replacement).expect("replace");
    let loaded = store.load(&server).expect("load").expect("stored key");
    assert_eq!(loaded.expose(), replacement.expose());

    let resolved = store.resolve(&server, |_| None).expect("resolve");
    assert_eq!(resolved.source, ApiKeySource::Keychain);
    assert_eq!(resolved.key.expose(), replacement.expose());
    assert!(resolved.keychain_problem.is_none());

    // The environment variable is not consulted while a keychain works.
    let resolved = store
        .resolve(&server, |_| Some("API-FROMENV".into()))
        .expect("resolve");
    assert_eq!(resolved.source, ApiKeySource::Keychain);

    assert!(store.delete(&server).expect("delete"), "there was an entry");
    assert!(
        store.load(&server).expect("load").is_none(),
        "gone after delete"
    );
    assert!(
        !store.delete(&server).expect("delete again"),
        "nothing left"
    );

    let missing = store.resolve(&server, |_| None).expect_err("no key stored");
    assert_eq!(missing.code, ErrorCode::NotFound);
}

fn sandbox_config(sandbox: &Sandbox) -> OctopusClientConfig {
    let mut config = OctopusClientConfig::new(ServerUrl::parse(&sandbox.urls().octopus).unwrap());
    config.retry = RetryPolicy::fast();
    config
}

/// Signs in to the sandbox's Octopus with its own (working) API key.
async fn sign_in_with_its_key(
    sandbox: &Sandbox,
    config: &OctopusClientConfig,
    store: &ApiKeyStore,
) -> SignedIn {
    let key = sandbox.api_key().clone();
    sign_in(config.clone(), key, store, Arc::new(NoProgress))
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_keeps_only_a_working_key_and_reconnect_finds_it() {
    if skipped() {
        return;
    }
    let store = test_store();
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let config = sandbox_config(&sandbox);
    let _clean_up = CleanUp {
        store: &store,
        servers: vec![config.server_url.clone()],
    };

    let wrong = sign_in(
        config.clone(),
        Secret::new("API-WRONGWRONGWRONGWRONGWRONG1"),
        &store,
        Arc::new(NoProgress),
    )
    .await
    .unwrap_err();
    assert_eq!(wrong.code, ErrorCode::Unauthenticated);
    assert!(
        store.load(&config.server_url).unwrap().is_none(),
        "a key that does not work is not stored"
    );

    let signed_in = sign_in_with_its_key(&sandbox, &config, &store).await;
    assert_eq!(signed_in.key_source, ApiKeySource::Keychain);
    assert!(signed_in.keychain_problem.is_none());
    assert_eq!(signed_in.report.user.id, "Users-1");

    let again = reconnect(config.clone(), &store, |_| None, Arc::new(NoProgress))
        .await
        .unwrap();
    assert_eq!(again.key_source, ApiKeySource::Keychain);
    assert_eq!(again.client.current_user().await.unwrap().id, "Users-1");

    assert!(store.delete(&config.server_url).unwrap());
    let gone = reconnect(config, &store, |_| None, Arc::new(NoProgress))
        .await
        .unwrap_err();
    assert_eq!(gone.code, ErrorCode::NotFound);
}

#[test]
fn without_a_keychain_the_env_var_is_used_for_this_run_only() {
    if std::env::var(CHILD_VAR).as_deref() != Ok("1") {
        // Re-run this very test in a child whose session bus does not exist.
        let exe = std::env::current_exe().expect("test binary path");
        let output = Command::new(exe)
            .args([
                "--exact",
                "keychain::without_a_keychain_the_env_var_is_used_for_this_run_only",
                "--nocapture",
            ])
            .env(CHILD_VAR, "1")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/octo-oidc-test-bus",
            )
            .env_remove("XDG_RUNTIME_DIR")
            .output()
            .expect("run the child test");
        assert!(
            output.status.success(),
            "child failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("1 passed"),
            "the child ran the test"
        );
        return;
    }
    let store = test_store();
    let server = ServerUrl::parse("https://no-keychain.octopus.app").expect("url");
    assert!(store.availability().is_err() || store.load(&server).is_err());

    let error = store
        .store(&server, &Secret::new("API-NOTSAVED"))
        .expect_err("nothing to store into");
    let problem = octo_oidc_core::Problem::from(error);
    assert_eq!(problem.code, ErrorCode::KeychainUnavailable);
    assert!(
        problem
            .hint
            .as_deref()
            .is_some_and(|h| h.contains(API_KEY_ENV_VAR))
    );

    let problem = store
        .resolve(&server, |_| None)
        .expect_err("no keychain and no env var");
    assert_eq!(problem.code, ErrorCode::KeychainUnavailable);

    let resolved = store
        .resolve(&server, |name| {
            (name == API_KEY_ENV_VAR).then(|| "API-FROMENVIRONMENT".to_string())
        })
        .expect("env var accepted");
    assert_eq!(resolved.source, ApiKeySource::Environment);
    assert_eq!(resolved.key.expose(), "API-FROMENVIRONMENT");
    assert_eq!(
        resolved.keychain_problem.map(|p| p.code),
        Some(ErrorCode::KeychainUnavailable)
    );

    // The whole sign-in works without a keychain; the key just is not kept.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
        let config = sandbox_config(&sandbox);
        let signed_in = sign_in_with_its_key(&sandbox, &config, &store).await;
        assert_eq!(signed_in.key_source, ApiKeySource::SessionOnly);
        assert_eq!(
            signed_in.keychain_problem.map(|p| p.code),
            Some(ErrorCode::KeychainUnavailable)
        );
        let key = sandbox.api_key().expose().to_string();
        let from_env = reconnect(
            config,
            &store,
            move |name| (name == API_KEY_ENV_VAR).then(|| key.clone()),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
        assert_eq!(from_env.key_source, ApiKeySource::Environment);
        assert_eq!(from_env.report.user.id, "Users-1");
    });
}
