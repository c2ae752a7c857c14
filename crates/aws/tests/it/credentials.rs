//! Credentials: profiles from shared config/credentials files (static, SSO, assume-role,
//! credential_process), a typed access key, and the exact `aws sso login` hint for an SSO
//! profile without a valid login.
#![allow(clippy::unwrap_used)]

use crate::support;

use octo_oidc_aws::{
    AwsConnection, ConnectOptions, CredentialSource, ProfileFilePaths, ProfileKind, list_profiles,
};
use octo_oidc_core::{ErrorCode, Secret};
use support::Backend;

fn files(dir: &tempfile::TempDir) -> ProfileFilePaths {
    let config = dir.path().join("config");
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &config,
        "[default]\nregion = eu-west-1\n\n\
         [profile dev-sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Admin\nregion = us-east-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n\
         [profile deploy]\nrole_arn = arn:aws:iam::111122223333:role/deploy\nsource_profile = default\n\n\
         [profile proc]\ncredential_process = /bin/false\n",
    )
    .unwrap();
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = default-secret\n\n\
         [static-only]\naws_access_key_id = AKIDSTATIC\naws_secret_access_key = static-secret\n",
    )
    .unwrap();
    ProfileFilePaths {
        config: Some(config),
        credentials: Some(credentials),
    }
}

#[tokio::test]
async fn profiles_are_listed_with_their_kind() {
    let dir = tempfile::tempdir().unwrap();
    let profiles = list_profiles(&files(&dir)).await.unwrap();
    let summary: Vec<_> = profiles.iter().map(|p| (p.name.as_str(), p.kind)).collect();
    assert_eq!(
        summary,
        [
            ("default", ProfileKind::StaticKeys),
            ("deploy", ProfileKind::AssumeRole),
            ("dev-sso", ProfileKind::Sso),
            ("proc", ProfileKind::CredentialProcess),
            ("static-only", ProfileKind::StaticKeys),
        ]
    );
    let sso = profiles.iter().find(|p| p.name == "dev-sso").unwrap();
    assert_eq!(sso.sso.as_deref(), Some("corp"));
    assert_eq!(profiles[0].region.as_deref(), Some("eu-west-1"));
}

/// A connection through `profile` of the test's profile files, to the backend's endpoint.
async fn connect_profile(
    backend: &Backend,
    dir: &tempfile::TempDir,
    profile: &str,
) -> AwsConnection {
    let mut options = ConnectOptions::new(CredentialSource::Profile(profile.into()))
        .with_endpoint(&backend.endpoint);
    options.profile_files = files(dir);
    AwsConnection::connect(options).await.unwrap()
}

#[tokio::test]
async fn a_static_profile_connects_and_reports_the_caller() {
    let backend = Backend::sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let connection = connect_profile(&backend, &dir, "static-only").await;
    let identity = connection.caller_identity().await.unwrap();
    assert_eq!(identity.account, support::ACCOUNT);
    assert_eq!(
        identity.arn,
        format!("arn:aws:iam::{}:user/sandbox", support::ACCOUNT)
    );
}

#[tokio::test]
async fn an_sso_profile_without_a_valid_login_names_the_command_to_run() {
    let backend = Backend::sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let connection = connect_profile(&backend, &dir, "dev-sso").await;
    assert_eq!(connection.sso_profile(), Some("dev-sso"));
    let problem = connection.caller_identity().await.unwrap_err();
    assert_eq!(problem.code, ErrorCode::Unauthenticated, "{problem:?}");
    assert_eq!(
        problem.hint.as_deref(),
        Some("Run: aws sso login --profile dev-sso")
    );
}

#[tokio::test]
async fn unknown_profiles_and_blank_keys_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = ConnectOptions::new(CredentialSource::Profile("nope".into()));
    options.profile_files = files(&dir);
    assert_eq!(
        AwsConnection::connect(options).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
    let blank = ConnectOptions::new(CredentialSource::AccessKey {
        access_key_id: "AKID".into(),
        secret_access_key: Secret::new("  "),
        session_token: None,
    });
    assert_eq!(
        AwsConnection::connect(blank).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
}

#[tokio::test]
async fn a_typed_key_never_shows_in_debug_output() {
    let backend = Backend::sandbox().await;
    let options = ConnectOptions::new(CredentialSource::AccessKey {
        access_key_id: "AKIDTYPED".into(),
        secret_access_key: Secret::new("TYPED-SECRET-VALUE"),
        session_token: Some(Secret::new("TYPED-SESSION-TOKEN")),
    })
    .with_endpoint(&backend.endpoint);
    let shown = format!("{options:?}");
    assert!(!shown.contains("TYPED-SECRET-VALUE") && !shown.contains("TYPED-SESSION-TOKEN"));
    let connection = AwsConnection::connect(options).await.unwrap();
    assert!(!format!("{connection:?}").contains("TYPED-SECRET-VALUE"));
    assert_eq!(
        connection.caller_identity().await.unwrap().account,
        support::ACCOUNT
    );
}
