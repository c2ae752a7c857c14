//! [`FakeGoogleCloud`]: soft delete and undelete, policy changes, and the token exchange's
//! own checks (issuer, audience, the `assertion.sub in [...]` condition, the binding).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use octo_oidc_core::gcp::{ProviderRef, WORKLOAD_IDENTITY_USER};
use octo_oidc_core::ports::{
    Applied, GcpLifecycle, GcpOidcTrust, GcpPolicyChange, GcpPolicyTarget, GcpPoolSpec,
    GcpProviderSpec, GcpRemoval, GcpServiceAccountSpec, GoogleCloud,
};
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_testkit::FakeGoogleCloud;
use serde_json::json;

use crate::code;

const ISSUER: &str = "https://octopus.example.test";
const SUB: &str = "space:default:project:web:environment:production";

fn provider() -> ProviderRef {
    ProviderRef {
        project_number: "123456789012".into(),
        pool_id: "octo".into(),
        provider_id: "octopus".into(),
    }
}

fn token(iss: &str, aud: &str, sub: &str) -> Secret {
    let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    Secret::new(format!(
        "{}.{}.sig",
        part(json!({"alg": "RS256"})),
        part(json!({"iss": iss, "aud": aud, "sub": sub}))
    ))
}

async fn with_trust(fake: &FakeGoogleCloud) {
    let pool = GcpPoolSpec {
        project_number: "123456789012".into(),
        pool_id: "octo".into(),
        display_name: "Octopus".into(),
        description: "octo-oidc:setup=t".into(),
    };
    assert!(matches!(
        fake.ensure_pool(&pool).await.unwrap(),
        Applied::Created(_)
    ));
    let spec = GcpProviderSpec {
        provider: provider(),
        display_name: "Octopus".into(),
        description: "octo-oidc:setup=t".into(),
        trust: GcpOidcTrust {
            issuer_uri: ISSUER.into(),
            allowed_audiences: vec![],
            jwks_json: None,
            attribute_mapping: BTreeMap::from([("google.subject".into(), "assertion.sub".into())]),
            attribute_condition: Some(format!("assertion.sub in ['{SUB}']")),
        },
    };
    assert!(fake.ensure_provider(&spec).await.unwrap().changed());
    assert!(!fake.ensure_provider(&spec).await.unwrap().changed());
    let sa = GcpServiceAccountSpec {
        project: "octopus-sandbox".into(),
        account_id: "deployer".into(),
        display_name: "d".into(),
        description: "x".into(),
    };
    fake.ensure_service_account(&sa).await.unwrap();
}

#[tokio::test]
async fn soft_deleted_pools_keep_their_id_until_undeleted() {
    let fake = FakeGoogleCloud::default();
    with_trust(&fake).await;
    let removal = fake.delete_pool("123456789012", "octo").await.unwrap();
    assert!(matches!(removal, GcpRemoval::SoftDeleted { .. }));
    assert!(matches!(
        fake.delete_pool("123456789012", "octo").await.unwrap(),
        GcpRemoval::AlreadyGone { lifecycle: Some(_) }
    ));
    assert!(matches!(
        fake.find_provider(&provider())
            .await
            .unwrap()
            .unwrap()
            .lifecycle,
        GcpLifecycle::SoftDeleted { .. }
    ));
    assert!(
        fake.undelete_pool("123456789012", "octo")
            .await
            .unwrap()
            .changed()
    );
    assert_eq!(
        fake.find_pool("123456789012", "octo")
            .await
            .unwrap()
            .unwrap()
            .lifecycle,
        GcpLifecycle::Active
    );
    assert_eq!(fake.log().changes().len(), 5);
}

#[tokio::test]
async fn the_exchange_checks_issuer_audience_condition_and_binding() {
    let fake = FakeGoogleCloud::default();
    with_trust(&fake).await;
    let aud = provider().default_audience();
    let email = "deployer@octopus-sandbox.iam.gserviceaccount.com";
    let refused = |r: Result<Secret, octo_oidc_core::Problem>| {
        let p = r.expect_err("refused");
        assert_eq!(p.code, ErrorCode::TrustRejected);
        p.message
    };
    assert!(
        refused(
            fake.exchange_token(&aud, &token("https://other", &aud, SUB))
                .await
        )
        .contains("ISSUER")
    );
    assert!(
        refused(fake.exchange_token(&aud, &token(ISSUER, "x", SUB)).await).contains("audience")
    );
    assert!(
        refused(
            fake.exchange_token(&aud, &token(ISSUER, &aud, "space:x"))
                .await
        )
        .contains("attribute condition")
    );
    let federated = fake
        .exchange_token(&aud, &token(ISSUER, &format!("https:{aud}"), SUB))
        .await
        .unwrap();
    assert_eq!(
        code(fake.generate_access_token(&federated, email, 3600).await),
        ErrorCode::PermissionDenied
    );
    let target = GcpPolicyTarget::ServiceAccount(email.into());
    let change = GcpPolicyChange {
        add: BTreeMap::from([(
            WORKLOAD_IDENTITY_USER.to_string(),
            vec![provider().principal(SUB)],
        )]),
        ..Default::default()
    };
    assert!(
        fake.change_policy(&target, &change)
            .await
            .unwrap()
            .changed()
    );
    assert!(
        !fake
            .change_policy(&target, &change)
            .await
            .unwrap()
            .changed()
    );
    assert!(
        fake.generate_access_token(&federated, email, 3600)
            .await
            .is_ok()
    );
    let removal = GcpPolicyChange {
        remove: change.add.clone(),
        ..Default::default()
    };
    fake.change_policy(&target, &removal).await.unwrap();
    assert!(
        fake.bindings(&target).is_empty(),
        "empty bindings are dropped"
    );
}
