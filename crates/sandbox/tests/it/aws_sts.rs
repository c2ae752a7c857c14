//! The sandbox STS through the real aws-sdk-sts: GetCallerIdentity, and
//! AssumeRoleWithWebIdentity validating real tokens from an HTTPS issuer (discovery + JWKS),
//! with each rejection real STS gives.
#![allow(clippy::unwrap_used)]

use crate::aws_support;

use std::time::Duration;

use aws_support::*;
use octo_oidc_sandbox::aws::AwsConfig;
use serde_json::json;

const AUD: &str = "octo.example.com";
const SUB: &str = "space:default:project:web:environment:dev";

/// A provider for the test issuer and a role trusting `space:default:project:web:*`.
async fn setup(env: &AwsEnv, provider_url: &str) -> String {
    let arn = env.provider(provider_url, AUD).await;
    let policy = trust_policy(
        &arn,
        AUD,
        &["space:default:project:web:*", "space:default:account:aws"],
    );
    AwsEnv::role_arn(
        env.create_role("octo-deploy", policy)
            .max_session_duration(7200),
    )
    .await
}

fn assume(env: &AwsEnv, role: &str, token: String) -> aws_sdk_sts::operation::assume_role_with_web_identity::builders::AssumeRoleWithWebIdentityFluentBuilder{
    env.sts
        .assume_role_with_web_identity()
        .role_arn(role)
        .role_session_name("octopus")
        .web_identity_token(token)
}

#[tokio::test]
async fn get_caller_identity_reports_the_configured_account() {
    let env = start().await;
    let out = env.sts.get_caller_identity().send().await.unwrap();
    assert_eq!(out.account(), Some(ACCOUNT));
    assert_eq!(
        out.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:user/sandbox").as_str())
    );
}

#[tokio::test]
async fn a_valid_token_is_exchanged_for_credentials() {
    let env = start().await;
    let role = setup(&env, ISSUER).await;
    let token = env.issuer.token(json!({"sub": SUB, "aud": AUD}));
    let out = assume(&env, &role, token)
        .duration_seconds(7200)
        .send()
        .await
        .unwrap();
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert!(!creds.secret_access_key().is_empty());
    assert_eq!(out.subject_from_web_identity_token(), Some(SUB));
    assert_eq!(out.audience(), Some(AUD));
    assert_eq!(out.provider(), Some(ISSUER));
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/octo-deploy/octopus")
    );
    // The account-test subject is allowed too; aud may be an array.
    let token = env
        .issuer
        .token(json!({"sub": "space:default:account:aws", "aud": ["other", AUD]}));
    assume(&env, &role, token).send().await.unwrap();
}

#[tokio::test]
async fn token_rejections() {
    let env = start().await;
    let role = setup(&env, ISSUER).await;
    let check = |token: String, expected: &'static str, text: &'static str| {
        let request = assume(&env, &role, token);
        async move {
            let err = request.send().await.unwrap_err();
            assert_eq!(code(&err), expected, "{}", message(&err));
            assert!(message(&err).contains(text), "{}", message(&err));
        }
    };
    let issuer = &env.issuer;
    check(
        "not-a-jwt".into(),
        "InvalidIdentityToken",
        "not a valid JWT",
    )
    .await;
    // Wrong signature: same kid, different key.
    let forged = TestKey::generate();
    let mut forged_token = issuer.token_with(&forged, json!({"sub": SUB, "aud": AUD}));
    let kid_header = issuer.token(json!({"sub": SUB, "aud": AUD}));
    forged_token = format!(
        "{}.{}",
        kid_header.split('.').next().unwrap(),
        forged_token.split_once('.').unwrap().1
    );
    check(forged_token, "InvalidIdentityToken", "signature").await;
    // Unknown kid.
    check(
        issuer.token_with(&forged, json!({"sub": SUB, "aud": AUD})),
        "InvalidIdentityToken",
        "key id",
    )
    .await;
    // Expired.
    let past = now() - 3600;
    check(
        issuer.token(json!({"sub": SUB, "aud": AUD, "iat": past - 600, "exp": past})),
        "ExpiredTokenException",
        "expired",
    )
    .await;
    // Wrong iss, and the same issuer with a trailing slash.
    check(
        issuer.token(json!({"sub": SUB, "aud": AUD, "iss": "https://elsewhere.example.com"})),
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for https://elsewhere.example.com",
    )
    .await;
    check(
        issuer.token(json!({"sub": SUB, "aud": AUD, "iss": format!("{ISSUER}/")})),
        "InvalidIdentityToken",
        "No OpenIDConnect provider found",
    )
    .await;
    // Wrong aud.
    check(
        issuer.token(json!({"sub": SUB, "aud": "sts.amazonaws.com"})),
        "InvalidIdentityToken",
        "Incorrect token audience",
    )
    .await;
    // Wrong sub (and wrong case).
    check(
        issuer.token(json!({"sub": "space:default:project:api:environment:dev", "aud": AUD})),
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    )
    .await;
    check(
        issuer.token(json!({"sub": SUB.to_uppercase(), "aud": AUD})),
        "AccessDenied",
        "Not authorized",
    )
    .await;

    // Duration above the role's maximum, and below the STS minimum.
    let token = issuer.token(json!({"sub": SUB, "aud": AUD}));
    let assume_for = |seconds| {
        assume(&env, &role, token.clone())
            .duration_seconds(seconds)
            .send()
    };
    let err = assume_for(7201).await.unwrap_err();
    assert_eq!(code(&err), "ValidationError");
    assert_eq!(
        message(&err),
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    );
    let err = assume_for(899).await.unwrap_err();
    assert_eq!(code(&err), "ValidationError");
    // A role that does not exist is just "not authorized".
    let err = assume(&env, &format!("arn:aws:iam::{ACCOUNT}:role/nobody"), token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
}

#[tokio::test]
async fn trailing_slash_issuer_works_when_the_provider_matches_it_exactly() {
    let slash = format!("{ISSUER}/");
    let env = start_with(&slash, AwsConfig::default()).await;
    let role = setup(&env, &slash).await;
    let token = env.issuer.token(json!({"sub": SUB, "aud": AUD}));
    let out = assume(&env, &role, token).send().await.unwrap();
    assert_eq!(out.provider(), Some(slash.as_str()));
    // A token without the slash does not match the registered provider.
    let token = env
        .issuer
        .token(json!({"sub": SUB, "aud": AUD, "iss": ISSUER}));
    let err = assume(&env, &role, token).send().await.unwrap_err();
    assert!(message(&err).contains("No OpenIDConnect provider found"));
}

#[tokio::test]
async fn an_issuer_without_discovery_is_an_idp_communication_error() {
    let env = start().await;
    // Same loopback host, but nothing is served under this path (no DNS, no outside traffic).
    let url = &format!("{ISSUER}/no-discovery-here");
    let arn = env.provider(url, AUD).await;
    let role = AwsEnv::role_arn(env.create_role("r", trust_policy(&arn, AUD, &["*"]))).await;
    let token = env
        .issuer
        .token(json!({"sub": SUB, "aud": AUD, "iss": url}));
    let err = assume(&env, &role, token).send().await.unwrap_err();
    assert_eq!(code(&err), "IDPCommunicationError");
}

#[tokio::test]
async fn a_changed_trust_policy_is_denied_until_it_propagates() {
    let env = start().await;
    let role = setup(&env, ISSUER).await;
    // Wide enough that the update and the first assume fall inside it on a loaded machine.
    let window = Duration::from_secs(2);
    env.sandbox.set_propagation_window(window);
    // The provider itself is new too: wait until it is visible before changing the role.
    tokio::time::sleep(window + Duration::from_millis(50)).await;
    let arn = env.sandbox.provider(ISSUER).unwrap().arn;
    env.iam
        .update_assume_role_policy()
        .role_name("octo-deploy")
        .policy_document(trust_policy(&arn, AUD, &["space:default:*"]))
        .send()
        .await
        .unwrap();
    let token = env.issuer.token(json!({"sub": SUB, "aud": AUD}));
    let err = assume(&env, &role, token.clone()).send().await.unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    tokio::time::sleep(window + Duration::from_millis(50)).await;
    assume(&env, &role, token).send().await.unwrap();
}

#[tokio::test]
async fn the_rust_api_makes_the_same_checks() {
    let env = start().await;
    let role = setup(&env, ISSUER).await;
    let token = env.issuer.token(json!({"sub": SUB, "aud": AUD}));
    let session = env
        .sandbox
        .assume_role_with_web_identity(&role, &token, "account-test", None)
        .await
        .unwrap();
    assert_eq!(session.subject, SUB);
    assert_eq!(
        session.assumed_role_arn,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/octo-deploy/account-test")
    );
    let token = env.issuer.token(json!({"sub": SUB, "aud": "wrong"}));
    let err = env
        .sandbox
        .assume_role_with_web_identity(&role, &token, "account-test", None)
        .await
        .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        ("InvalidIdentityToken", "Incorrect token audience")
    );
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_rejected() {
    // The issuer's discovery says "https://issuer.sandbox.test/" but the provider and the
    // token say "https://issuer.sandbox.test".
    let env = start_with(&format!("{ISSUER}/"), AwsConfig::default()).await;
    let role = setup(&env, ISSUER).await;
    let token = env
        .issuer
        .token(json!({"sub": SUB, "aud": AUD, "iss": ISSUER}));
    let err = assume(&env, &role, token).send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidIdentityToken");
    assert!(
        message(&err).contains("discovery document"),
        "{}",
        message(&err)
    );
}
