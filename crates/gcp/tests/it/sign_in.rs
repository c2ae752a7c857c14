//! Sign-in through google-cloud-auth: key files of each kind, refusals as problems.

use octo_oidc_core::{ErrorCode, Problem, Secret};
use octo_oidc_gcp::GoogleSignIn;

use crate::support::service_account_key;

#[tokio::test]
async fn a_service_account_key_signs_in_without_a_network_call() {
    let sign_in = GoogleSignIn::from_json(&service_account_key()).unwrap();
    assert_eq!(sign_in.source(), "service-account key");
    let token = sign_in.access_token().await.unwrap();
    // A self-signed JWT (three parts), made locally from the key.
    assert_eq!(token.expose().split('.').count(), 3);
}

#[tokio::test]
async fn a_key_file_on_disk_is_read_and_unusable_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    std::fs::write(&path, service_account_key().expose()).unwrap();
    assert!(GoogleSignIn::from_file(&path).is_ok());

    let unknown = GoogleSignIn::from_json(&Secret::new(r#"{"type":"api_key"}"#)).unwrap_err();
    let p = Problem::from(unknown);
    assert_eq!(p.code, ErrorCode::Unauthenticated);
    assert!(p.hint.unwrap().contains("application-default login"));
    let not_json = GoogleSignIn::from_json(&Secret::new("nope")).unwrap_err();
    assert!(!not_json.to_string().contains("nope"), "{not_json}");
    let missing = GoogleSignIn::from_file(&dir.path().join("absent.json")).unwrap_err();
    assert_eq!(Problem::from(missing).code, ErrorCode::Unauthenticated);
}

#[tokio::test]
async fn an_authorized_user_file_builds_credentials() {
    // What `gcloud auth application-default login` writes (the refresh happens on first use).
    let json = Secret::new(
        r#"{"type":"authorized_user","client_id":"id.apps.googleusercontent.com","client_secret":"s","refresh_token":"r"}"#,
    );
    let sign_in = GoogleSignIn::from_json(&json).unwrap();
    assert_eq!(sign_in.source(), "authorized user");
}
