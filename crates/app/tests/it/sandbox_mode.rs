//! The built-in Sandbox in a session: start once, status, its Octopus, stop.

use octo_oidc_core::ErrorCode;
use octo_oidc_testkit::assert_problem;

use crate::support::{session, session_with_env, test_service};

#[tokio::test]
async fn the_sandbox_starts_once_connects_its_octopus_and_stops() {
    let session = session();
    assert_eq!(session.sandbox_status(), None);
    let early = session
        .connect_sandbox_octopus()
        .await
        .expect_err("not running");
    assert_problem(&early, ErrorCode::InvalidInput, "Sandbox is not running");

    let started = session.start_sandbox().await.expect("starts");
    assert_eq!(started.profile, "demo");
    assert!(
        started.octopus_url.starts_with("http://127.0.0.1:"),
        "{started:?}"
    );
    assert_eq!(
        session.start_sandbox().await.unwrap(),
        started,
        "one sandbox"
    );
    assert_eq!(session.sandbox_status(), Some(started.clone()));

    let summary = session.connect_sandbox_octopus().await.expect("connects");
    assert_eq!(
        summary.server_url,
        started.octopus_url.trim_end_matches('/')
    );
    assert_eq!(summary.api_key_kept, octo_oidc_app::ApiKeyKept::SessionOnly);
    assert_eq!(summary.keychain_problem, None);
    assert!(
        summary.oidc_supported && summary.space_count >= 1,
        "{summary:?}"
    );
    assert!(
        !format!("{summary:?} {started:?}").contains("API-"),
        "a key crossed"
    );
    let inventory = session.load_inventory("Spaces-1").await.expect("inventory");
    assert!(!inventory.projects.is_empty());

    assert!(session.stop_sandbox().await.expect("stops"));
    assert_eq!(session.sandbox_status(), None);
    assert!(
        session.octopus_client().is_none(),
        "the sandbox connection outlived it"
    );
    assert!(
        !session.stop_sandbox().await.unwrap(),
        "nothing left to stop"
    );
    let gone = reqwest::get(format!("{}/api", started.octopus_url)).await;
    assert!(gone.is_err(), "the sandbox still answers: {gone:?}");

    let restarted = session.start_sandbox().await.expect("starts again");
    session
        .connect_sandbox_octopus()
        .await
        .expect("connects again");
    assert!(session.stop_sandbox().await.unwrap());
    assert_eq!(restarted.profile, "demo");
}

#[tokio::test]
async fn the_sandbox_profile_comes_from_the_environment() {
    let empty = session_with_env(
        &test_service(),
        &[("OCTO_OIDC_SANDBOX_PROFILE", " empty ".into())],
    );
    let started = empty.start_sandbox().await.expect("starts");
    assert_eq!(started.profile, "empty");
    empty.connect_sandbox_octopus().await.expect("connects");
    let inventory = empty.load_inventory("Spaces-1").await.expect("inventory");
    assert!(inventory.projects.is_empty(), "{:?}", inventory.projects);
    assert!(empty.stop_sandbox().await.unwrap());

    let unknown = session_with_env(
        &test_service(),
        &[("OCTO_OIDC_SANDBOX_PROFILE", "huge".into())],
    );
    let problem = unknown.start_sandbox().await.expect_err("unknown profile");
    assert_problem(
        &problem,
        ErrorCode::InvalidInput,
        "OCTO_OIDC_SANDBOX_PROFILE",
    );
    let [field] = problem.field_errors.as_slice() else {
        panic!("one field error: {problem:#?}");
    };
    assert_eq!(field.field, "OCTO_OIDC_SANDBOX_PROFILE");
    assert!(field.problem.contains("'huge'"), "{field:?}");
    assert!(field.fix.contains("demo, empty or large"), "{field:?}");
    assert_eq!(unknown.sandbox_status(), None, "nothing started");
}
