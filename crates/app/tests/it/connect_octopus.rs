//! Connecting to an Octopus Server with a typed key: validation before any request, sign-in,
//! where the key is kept, reconnecting, signing out.

use octo_oidc_app::{ApiKeyKept, ConnectForm, KeychainStatus};
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_sandbox::{Sandbox, SandboxOptions};

use crate::support::{
    CountingListener, keychain_expected, session, session_with_env, test_service,
};

fn form(url: &str, key: &str) -> ConnectForm {
    ConnectForm {
        server_url: url.into(),
        api_key: Secret::new(key),
    }
}

const WELL_FORMED_KEY: &str = "API-ABCDEFGHIJKLMNOPQRSTUVWXYZ12";

#[tokio::test]
async fn plain_http_to_a_host_that_is_not_loopback_is_a_field_error_and_sends_nothing() {
    let listener = CountingListener::start().await;
    let session = session();
    let port = listener.port;
    for url in [
        // 0.0.0.0 reaches this machine's listeners, so a request would be counted.
        format!("http://0.0.0.0:{port}"),
        format!("http://127.evil.test:{port}"),
        format!("http://localhost.evil.test:{port}/app#/Spaces-1"),
        format!("http://127.0.0.1.evil.test:{port}"),
    ] {
        let problem = session
            .connect_octopus(form(&url, WELL_FORMED_KEY))
            .await
            .expect_err(&url);
        assert_eq!(problem.code, ErrorCode::InvalidInput, "{url}: {problem:?}");
        assert_eq!(problem.field_errors.len(), 1, "{url}: {problem:?}");
        let field = &problem.field_errors[0];
        assert_eq!(field.field, "octopus.server_url", "{url}");
        assert!(field.problem.contains("unencrypted"), "{url}: {field:?}");
        assert!(field.fix.contains("https://"), "{url}: {field:?}");
    }
    assert_eq!(
        listener.connections(),
        0,
        "a request left before validation"
    );
    assert!(session.octopus_connection().is_none());
}

#[tokio::test]
async fn a_malformed_form_lists_every_field_and_sends_nothing() {
    let listener = CountingListener::start().await;
    let session = session();
    let problem = session
        .connect_octopus(form(&format!("http://0.0.0.0:{}", listener.port), "nope"))
        .await
        .expect_err("invalid");
    let fields: Vec<&str> = problem
        .field_errors
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(fields, ["octopus.server_url", "octopus.api_key"]);
    assert!(!format!("{problem:?}").contains("nope"), "the key leaked");
    assert_eq!(listener.connections(), 0);
}

#[tokio::test]
async fn a_typed_key_signs_in_and_a_pasted_console_url_is_fine() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let service = test_service();
    let session = session_with_env(&service, &[]);
    let key = sandbox.api_key().expose().to_string();
    let pasted = format!("{}/app#/Spaces-1/projects", sandbox.urls().octopus);
    let summary = session
        .connect_octopus(form(&pasted, &key))
        .await
        .expect("signs in");
    assert_eq!(
        summary.server_url,
        sandbox.urls().octopus.trim_end_matches('/')
    );
    assert!(!summary.server_version.is_empty());
    assert!(summary.oidc_supported);
    assert!(summary.space_count >= 1);
    let keychain = session.keychain_status().await;
    match (&keychain, summary.api_key_kept) {
        (KeychainStatus::Available, ApiKeyKept::Keychain) => {
            assert_eq!(summary.keychain_problem, None)
        }
        (KeychainStatus::Unavailable { .. }, ApiKeyKept::SessionOnly) => {
            assert!(summary.keychain_problem.is_some(), "{summary:?}");
            assert!(
                !keychain_expected(),
                "make test promised a keychain: {keychain:?}"
            );
        }
        other => panic!("keychain {other:?} does not match where the key went"),
    }
    assert!(
        !format!("{summary:?}").contains(&key),
        "the key is in the summary"
    );
    assert_eq!(session.octopus_connection(), Some(summary.clone()));
    let client = session.octopus_client().expect("client kept");
    assert_eq!(
        client.spaces().await.unwrap().len() as u32,
        summary.space_count
    );

    let inventory = session.load_inventory("Default").await.expect("inventory");
    assert_eq!(inventory.space.map(|s| s.id).as_deref(), Some("Spaces-1"));
    assert!(!inventory.environments.is_empty());
    let missing = session
        .load_inventory("No Such Space")
        .await
        .expect_err("missing");
    assert_eq!(missing.code, ErrorCode::NotFound);

    // Leave no key behind.
    let signed_out = session.sign_out(&pasted).await.expect("signs out");
    assert!(signed_out.disconnected);
    assert_eq!(
        signed_out.key_forgotten,
        summary.api_key_kept == ApiKeyKept::Keychain
    );
    assert!(session.octopus_client().is_none());
}

#[tokio::test]
async fn a_wrong_key_is_unauthenticated_and_not_kept() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let session = session();
    let wrong = "API-WRONGWRONGWRONGWRONGWRONG1";
    let problem = session
        .connect_octopus(form(&sandbox.urls().octopus, wrong))
        .await
        .expect_err("wrong key");
    assert_eq!(problem.code, ErrorCode::Unauthenticated, "{problem:?}");
    assert!(!format!("{problem:?}").contains("WRONGWRONG"));
    assert!(session.octopus_connection().is_none());
    let again = session
        .reconnect_octopus(&sandbox.urls().octopus)
        .await
        .expect_err("nothing was stored");
    assert!(
        [ErrorCode::NotFound, ErrorCode::KeychainUnavailable].contains(&again.code),
        "{again:?}"
    );
}

#[tokio::test]
async fn reconnecting_finds_the_stored_key_or_octopus_api_key() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let service = test_service();
    let key = sandbox.api_key().expose().to_string();
    let url = sandbox.urls().octopus.clone();
    let first = session_with_env(&service, &[]);
    let signed_in = first.connect_octopus(form(&url, &key)).await.unwrap();

    // A later run: its own session, the same keychain service, OCTOPUS_API_KEY set.
    let later = session_with_env(&service, &[("OCTOPUS_API_KEY", key.clone())]);
    let reconnected = later.reconnect_octopus(&url).await.expect("reconnects");
    assert_eq!(reconnected.server_url, signed_in.server_url);
    match signed_in.api_key_kept {
        // Kept in the keychain: found there, whatever the environment says.
        ApiKeyKept::Keychain => {
            assert_eq!(reconnected.api_key_kept, ApiKeyKept::Keychain);
            let out = later.sign_out(&url).await.unwrap();
            assert!(out.key_forgotten && out.disconnected, "{out:?}");
            let gone = later.reconnect_octopus(&url).await.expect_err("forgotten");
            assert_eq!(gone.code, ErrorCode::NotFound, "{gone:?}");
        }
        // No keychain: OCTOPUS_API_KEY for this run only, and the reason is shown.
        ApiKeyKept::SessionOnly => {
            assert!(!keychain_expected());
            assert_eq!(reconnected.api_key_kept, ApiKeyKept::SessionOnly);
            assert!(reconnected.keychain_problem.is_some(), "{reconnected:?}");
            let without = session_with_env(&service, &[]);
            let problem = without.reconnect_octopus(&url).await.expect_err("no key");
            assert_eq!(problem.code, ErrorCode::KeychainUnavailable, "{problem:?}");
            let out = later.sign_out(&url).await.unwrap();
            assert!(!out.key_forgotten && out.disconnected, "{out:?}");
        }
    }
}

#[tokio::test]
async fn reconnecting_checks_the_url_first() {
    let listener = CountingListener::start().await;
    let session = session_with_env(
        &test_service(),
        &[("OCTOPUS_API_KEY", WELL_FORMED_KEY.into())],
    );
    let problem = session
        .reconnect_octopus(&format!("http://0.0.0.0:{}", listener.port))
        .await
        .expect_err("plain http");
    assert_eq!(problem.field_errors[0].field, "octopus.server_url");
    let problem = session.sign_out("").await.expect_err("empty");
    assert_eq!(problem.code, ErrorCode::InvalidInput);
    assert_eq!(listener.connections(), 0);
}
