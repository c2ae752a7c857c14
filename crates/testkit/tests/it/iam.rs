use std::collections::BTreeMap;

use octo_oidc_core::ports::{Applied, Iam, OidcProviderSpec, RoleSpec};
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_testkit::FakeIam;
use serde_json::json;

use crate::code;

const ISSUER: &str = "https://octopus.example.test";
const AUD: &str = "octopus.example.test";

fn tags() -> BTreeMap<String, String> {
    BTreeMap::from([("octo-oidc:setup".to_string(), "shop".to_string())])
}

fn provider_spec() -> OidcProviderSpec {
    OidcProviderSpec {
        url: ISSUER.into(),
        client_ids: vec![AUD.into()],
        thumbprints: vec![],
        tags: tags(),
    }
}

fn trust(provider_arn: &str, subject: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{AUD}:aud"): AUD},
                      "StringLike": {format!("{AUD}:sub"): [subject]}}}]})
    .to_string()
}

fn role_spec(trust_policy: String) -> RoleSpec {
    RoleSpec {
        name: "octopus-shop".into(),
        trust_policy,
        max_session_duration: 3600,
        description: Some("octo-oidc:setup=shop".into()),
        managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
        inline_policies: BTreeMap::new(),
        tags: tags(),
    }
}

#[tokio::test]
async fn providers_are_tagged_on_create_and_extended_not_retagged() {
    let iam = FakeIam::new();
    assert_eq!(iam.find_oidc_provider(ISSUER).await.unwrap(), None);
    let created = iam.ensure_oidc_provider(&provider_spec()).await.unwrap();
    let Applied::Created(provider) = created else {
        panic!("expected Created, got {created:?}")
    };
    assert_eq!(
        provider.arn,
        "arn:aws:iam::123456789012:oidc-provider/octopus.example.test"
    );
    assert_eq!(provider.tags, tags());
    assert!(
        !iam.ensure_oidc_provider(&provider_spec())
            .await
            .unwrap()
            .changed()
    );
    let more = OidcProviderSpec {
        client_ids: vec!["other".into()],
        tags: BTreeMap::new(),
        ..provider_spec()
    };
    let updated = iam.ensure_oidc_provider(&more).await.unwrap();
    assert!(
        matches!(updated, Applied::Updated(ref p) if p.client_ids == [AUD, "other"] && p.tags == tags())
    );
    let bad = OidcProviderSpec {
        url: "http://x".into(),
        ..provider_spec()
    };
    assert_eq!(
        code(iam.ensure_oidc_provider(&bad).await),
        ErrorCode::InvalidInput
    );
    iam.delete_oidc_provider(&provider.arn).await.unwrap();
    iam.delete_oidc_provider(&provider.arn).await.unwrap();
    assert!(iam.providers().is_empty());
}

#[tokio::test]
async fn roles_converge_and_keep_what_the_spec_does_not_name() {
    let iam = FakeIam::new();
    let arn = "arn:aws:iam::123456789012:oidc-provider/octopus.example.test";
    let spec = role_spec(trust(arn, "space:default:*"));
    let role = iam.ensure_role(&spec).await.unwrap();
    assert!(
        matches!(role, Applied::Created(ref r) if r.arn == "arn:aws:iam::123456789012:role/octopus-shop")
    );
    // The same policy with other whitespace and key order is the same.
    let reordered: serde_json::Value = serde_json::from_str(&spec.trust_policy).unwrap();
    let same = RoleSpec {
        trust_policy: serde_json::to_string_pretty(&reordered).unwrap(),
        ..spec.clone()
    };
    assert!(!iam.ensure_role(&same).await.unwrap().changed());
    let changed = RoleSpec {
        trust_policy: trust(arn, "space:default:project:web:*"),
        managed_policy_arns: vec!["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into()],
        inline_policies: BTreeMap::from([(
            "logs".to_string(),
            "{\"Version\":\"2012-10-17\"}".to_string(),
        )]),
        tags: BTreeMap::new(),
        ..spec.clone()
    };
    let updated = iam.ensure_role(&changed).await.unwrap().into_inner();
    assert_eq!(
        updated.managed_policy_arns.len(),
        2,
        "the earlier policy stays attached"
    );
    assert_eq!(updated.tags, tags(), "tags are not rewritten on update");
    let found = iam.find_role("octopus-shop").await.unwrap().unwrap();
    assert_eq!(found, updated);
    assert_eq!(found.inline_policies.len(), 1);
    let too_long = RoleSpec {
        max_session_duration: 60,
        ..spec.clone()
    };
    assert_eq!(
        code(iam.ensure_role(&too_long).await),
        ErrorCode::InvalidInput
    );
    iam.delete_role("octopus-shop").await.unwrap();
    iam.delete_role("octopus-shop").await.unwrap();
    assert_eq!(iam.find_role("octopus-shop").await.unwrap(), None);
}

#[tokio::test]
async fn assume_role_with_web_identity_follows_the_trust_policy() {
    let iam = FakeIam::new();
    let provider = iam
        .ensure_oidc_provider(&provider_spec())
        .await
        .unwrap()
        .into_inner();
    let role = iam
        .ensure_role(&role_spec(trust(
            &provider.arn,
            "space:default:project:web:*",
        )))
        .await
        .unwrap()
        .into_inner();
    let key = octo_oidc_testkit::TestKey::generate();
    let token = |iss: &str, sub: &str, aud: &str| {
        Secret::new(key.mint(
            jsonwebtoken::Algorithm::PS256,
            &json!({"iss": iss, "sub": sub, "aud": aud, "exp": 4_000_000_000u64}),
        ))
    };
    let assumed = iam
        .assume_role_with_web_identity(
            &role.arn,
            &token(ISSUER, "space:default:project:web:environment:prod", AUD),
            "verify",
        )
        .await
        .unwrap();
    assert_eq!(
        assumed.assumed_role_arn,
        "arn:aws:sts::123456789012:assumed-role/octopus-shop/verify"
    );
    assert_eq!(
        assumed.subject.as_deref(),
        Some("space:default:project:web:environment:prod")
    );
    let outside = token(ISSUER, "space:default:project:api:environment:prod", AUD);
    assert_eq!(
        code(
            iam.assume_role_with_web_identity(&role.arn, &outside, "v")
                .await
        ),
        ErrorCode::PermissionDenied
    );
    let wrong_aud = token(ISSUER, "space:default:project:web:x", "elsewhere");
    assert_eq!(
        code(
            iam.assume_role_with_web_identity(&role.arn, &wrong_aud, "v")
                .await
        ),
        ErrorCode::TrustRejected
    );
    let unknown_issuer = token(
        "https://other.example.test",
        "space:default:project:web:x",
        AUD,
    );
    assert_eq!(
        code(
            iam.assume_role_with_web_identity(&role.arn, &unknown_issuer, "v")
                .await
        ),
        ErrorCode::TrustRejected
    );
    let expired = Secret::new(key.mint(
        jsonwebtoken::Algorithm::PS256,
        &json!({"iss": ISSUER, "sub": "space:default:project:web:x", "aud": AUD, "exp": 1}),
    ));
    assert_eq!(
        code(
            iam.assume_role_with_web_identity(&role.arn, &expired, "v")
                .await
        ),
        ErrorCode::TrustRejected
    );
    assert_eq!(
        code(
            iam.assume_role_with_web_identity(
                "arn:aws:iam::123456789012:role/none",
                &token(ISSUER, "space:default:project:web:x", AUD),
                "v"
            )
            .await
        ),
        ErrorCode::PermissionDenied
    );
    assert!(
        iam.log()
            .calls()
            .iter()
            .filter(|c| c.operation == "assume_role_with_web_identity")
            .all(|c| !c.changed)
    );
}
