//! The sandbox IAM through the real aws-sdk-iam: every operation, and each rejection real IAM
//! gives where moto accepts.
#![allow(clippy::unwrap_used)]

use crate::aws_support;

use std::time::Duration;

use aws_sdk_iam::types::Tag;
use aws_support::*;
use octo_oidc_sandbox::faults::{FaultKind, FaultRule};

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

#[tokio::test]
async fn oidc_provider_lifecycle() {
    let env = start().await;
    let created = env
        .iam
        .create_open_id_connect_provider()
        .url("https://octo.example.com/tenant/a")
        .client_id_list("octo.example.com")
        .thumbprint_list("a".repeat(40))
        .tags(tag("octo-oidc:setup", "s1"))
        .send()
        .await
        .unwrap();
    let arn = created.open_id_connect_provider_arn().unwrap().to_string();
    let get = || {
        env.iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
    };
    assert_eq!(
        arn,
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/octo.example.com/tenant/a")
    );
    assert_eq!(created.tags()[0].key(), "octo-oidc:setup");

    let got = get().await.unwrap();
    assert_eq!(got.url(), Some("octo.example.com/tenant/a"));
    assert_eq!(got.client_id_list(), ["octo.example.com"]);
    assert_eq!(got.thumbprint_list(), ["a".repeat(40)]);
    assert!(got.create_date().is_some());

    let list = env
        .iam
        .list_open_id_connect_providers()
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .collect();
    assert_eq!(arns, [arn.as_str()]);

    // AddClientID is idempotent; RemoveClientID of an absent id is fine.
    for _ in 0..2 {
        env.iam
            .add_client_id_to_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .client_id("second")
            .send()
            .await
            .unwrap();
    }
    for client_id in ["octo.example.com", "never-there"] {
        env.iam
            .remove_client_id_from_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .client_id(client_id)
            .send()
            .await
            .unwrap();
    }
    env.iam
        .update_open_id_connect_provider_thumbprint()
        .open_id_connect_provider_arn(&arn)
        .thumbprint_list("B".repeat(40))
        .send()
        .await
        .unwrap();
    let got = get().await.unwrap();
    assert_eq!(got.client_id_list(), ["second"]);
    assert_eq!(got.thumbprint_list(), ["b".repeat(40)]);

    env.iam
        .tag_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .tags(tag("team", "x"))
        .send()
        .await
        .unwrap();
    env.iam
        .untag_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .tag_keys("OCTO-OIDC:SETUP")
        .send()
        .await
        .unwrap();
    let tags = env
        .iam
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = tags.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["team"]);

    // Delete is idempotent.
    for _ in 0..2 {
        env.iam
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await
            .unwrap();
    }
    let err = get().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchEntity");
    assert_eq!(status(&err), 404);
}

#[tokio::test]
async fn oidc_provider_rejections() {
    let env = start().await;
    let create = |url: &str| {
        env.iam
            .create_open_id_connect_provider()
            .url(url)
            .client_id_list("aud")
    };
    for url in [
        "http://octo.example.com",
        "https://octo.example.com:8443",
        "https://octo.example.com/?a=b",
    ] {
        let err = create(url).send().await.unwrap_err();
        assert_eq!(code(&err), "InvalidInput", "{url}");
        assert_eq!(status(&err), 400);
    }
    // Real IAM's words for a port (every provider, the sandbox's own issuer included).
    let err = create("https://octopus.sandbox.localhost:8443")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidInput");
    assert_eq!(message(&err), "Invalid Open ID Connect Provider URL.");
    let err = create("http://octopus.sandbox.localhost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&err),
        "Invalid Open ID Connect Provider URL. The URL must begin with https://."
    );
    let err = create("https://t.example.com")
        .thumbprint_list("abc")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationError");
    let err = create("https://t.example.com")
        .thumbprint_list("z".repeat(40))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidInput");
    let mut six = create("https://t.example.com");
    for i in 0..6 {
        six = six.thumbprint_list(format!("{i}").repeat(40));
    }
    let err = six.send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidInput");
    assert!(message(&err).contains("5 entries"));
    let mut many = env
        .iam
        .create_open_id_connect_provider()
        .url("https://t.example.com");
    for i in 0..101 {
        many = many.client_id_list(format!("aud-{i}"));
    }
    let err = many.send().await.unwrap_err();
    assert_eq!(code(&err), "LimitExceeded");
    assert!(message(&err).contains("ClientIdsPerOpenIdConnectProvider: 100"));

    env.provider("https://octo.example.com", "aud").await;
    let err = create("https://octo.example.com").send().await.unwrap_err();
    assert_eq!(code(&err), "EntityAlreadyExists");
    assert_eq!(status(&err), 409);
    // Trailing slash and case make distinct URLs, as in IAM.
    env.provider("https://octo.example.com/", "aud").await;

    let err = env
        .iam
        .add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(format!(
            "arn:aws:iam::{ACCOUNT}:oidc-provider/missing.example.com"
        ))
        .client_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchEntity");
}

#[tokio::test]
async fn role_lifecycle_with_policies_and_tags() {
    let env = start().await;
    let arn = env.provider(ISSUER, "octo").await;
    let policy = trust_policy(&arn, "octo", &["space:default:*"]);
    let role = env
        .create_role("octo-deploy", &policy)
        .max_session_duration(7200)
        .description("d")
        .tags(tag("octo-oidc:setup", "s1"))
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap();
    assert_eq!(
        role.arn(),
        format!("arn:aws:iam::{ACCOUNT}:role/octo-deploy")
    );
    assert!(role.role_id().starts_with("AROA"));

    let got = env
        .iam
        .get_role()
        .role_name("OCTO-DEPLOY")
        .send()
        .await
        .unwrap();
    let got = got.role().unwrap();
    let encoded = got.assume_role_policy_document().unwrap();
    assert!(
        encoded.starts_with("%7B%22") && !encoded.contains('"'),
        "GetRole returns the document URL-encoded: {encoded}"
    );
    let decoded = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .unwrap();
    assert_eq!(decoded, policy);
    assert_eq!(got.max_session_duration(), Some(7200));
    assert_eq!(got.tags()[0].value(), "s1");

    env.iam
        .update_role()
        .role_name("octo-deploy")
        .max_session_duration(43200)
        .send()
        .await
        .unwrap();
    let new_policy = trust_policy(&arn, "octo", &["space:default:project:web:*"]);
    env.iam
        .update_assume_role_policy()
        .role_name("octo-deploy")
        .policy_document(&new_policy)
        .send()
        .await
        .unwrap();
    let got = env
        .iam
        .get_role()
        .role_name("octo-deploy")
        .send()
        .await
        .unwrap();
    assert_eq!(got.role().unwrap().max_session_duration(), Some(43200));
    assert!(
        got.role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap()
            .contains("project%3Aweb")
    );

    let attach = |policy: &str| {
        env.iam
            .attach_role_policy()
            .role_name("octo-deploy")
            .policy_arn(policy)
            .send()
    };
    // Attaching twice is fine.
    attach("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .await
        .unwrap();
    attach("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .await
        .unwrap();
    let attached = env
        .iam
        .list_attached_role_policies()
        .role_name("octo-deploy")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 1);
    assert_eq!(
        attached.attached_policies()[0].policy_name(),
        Some("ReadOnlyAccess")
    );
    let err = attach("arn:aws:iam::aws:policy/NotAPolicy")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchEntity");

    let inline = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    env.iam
        .put_role_policy()
        .role_name("octo-deploy")
        .policy_name("read")
        .policy_document(inline)
        .send()
        .await
        .unwrap();
    let names = env
        .iam
        .list_role_policies()
        .role_name("octo-deploy")
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["read"]);
    let got = env
        .iam
        .get_role_policy()
        .role_name("octo-deploy")
        .policy_name("read")
        .send()
        .await
        .unwrap();
    assert_eq!(
        percent_encoding::percent_decode_str(got.policy_document())
            .decode_utf8()
            .unwrap(),
        inline
    );
    let err = env
        .iam
        .put_role_policy()
        .role_name("octo-deploy")
        .policy_name("bad")
        .policy_document("{nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "MalformedPolicyDocument");

    env.iam
        .tag_role()
        .role_name("octo-deploy")
        .tags(tag("team", "a"))
        .send()
        .await
        .unwrap();
    env.iam
        .untag_role()
        .role_name("octo-deploy")
        .tag_keys("octo-oidc:setup")
        .send()
        .await
        .unwrap();
    let tags = env
        .iam
        .list_role_tags()
        .role_name("octo-deploy")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags().iter().map(|t| t.key()).collect::<Vec<_>>(),
        ["team"]
    );

    let roles = env.iam.list_roles().send().await.unwrap();
    assert_eq!(roles.roles().len(), 1);

    // DeleteConflict until managed and inline policies are gone.
    let delete_role = || env.iam.delete_role().role_name("octo-deploy").send();
    let err = delete_role().await.unwrap_err();
    assert_eq!(code(&err), "DeleteConflict");
    assert_eq!(status(&err), 409);
    env.iam
        .detach_role_policy()
        .role_name("octo-deploy")
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let err = delete_role().await.unwrap_err();
    assert_eq!(code(&err), "DeleteConflict");
    env.iam
        .delete_role_policy()
        .role_name("octo-deploy")
        .policy_name("read")
        .send()
        .await
        .unwrap();
    delete_role().await.unwrap();
    let err = env
        .iam
        .get_role()
        .role_name("octo-deploy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchEntity");
    assert!(message(&err).contains("octo-deploy"));
}

#[tokio::test]
async fn role_rejections_moto_lets_through() {
    let env = start().await;
    let arn = env.provider(ISSUER, "octo").await;
    let policy = trust_policy(&arn, "octo", &["space:default:*"]);
    for name in ["a".repeat(65), "with space".into(), "with/slash".into()] {
        let err = env.create_role(&name, &policy).send().await.unwrap_err();
        assert_eq!(code(&err), "ValidationError", "{name}");
    }
    for duration in [3599, 43201] {
        let err = env
            .create_role("r", &policy)
            .max_session_duration(duration)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ValidationError", "{duration}");
    }
    let err = env.create_role("r", "{not json").send().await.unwrap_err();
    assert_eq!(code(&err), "MalformedPolicyDocument");
    let err = env
        .create_role("r", policy.replace("Allow", "Maybe"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "MalformedPolicyDocument");
    let other = trust_policy(
        &format!("arn:aws:iam::{ACCOUNT}:oidc-provider/nobody.example.com"),
        "octo",
        &["x"],
    );
    let err = env.create_role("r", &other).send().await.unwrap_err();
    assert_eq!(code(&err), "MalformedPolicyDocument");
    assert!(message(&err).contains("Invalid principal"));

    let subjects: Vec<String> = (0..60)
        .map(|i| format!("space:default:project:project-number-{i}:*"))
        .collect();
    let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
    let long = trust_policy(&arn, "octo", &subjects);
    assert!(long.len() > 2048);
    let err = env.create_role("r", &long).send().await.unwrap_err();
    assert_eq!(code(&err), "LimitExceeded");
    assert_eq!(
        message(&err),
        "Cannot exceed quota for ACLSizePerRole: 2048"
    );
    assert_eq!(status(&err), 409);
    env.sandbox.set_trust_policy_size_quota(4096);
    env.create_role("long", &long).send().await.unwrap();

    env.create_role("Admins", &policy).send().await.unwrap();
    let err = env.create_role("ADMINS", &policy).send().await.unwrap_err();
    assert_eq!(code(&err), "EntityAlreadyExists");
    assert_eq!(status(&err), 409);

    let err = env
        .iam
        .update_assume_role_policy()
        .role_name("nobody")
        .policy_document(&policy)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchEntity");
    let summary = env.iam.get_account_summary().send().await.unwrap();
    let quota = summary
        .summary_map()
        .unwrap()
        .get(&aws_sdk_iam::types::SummaryKeyType::AssumeRolePolicySizeQuota);
    assert_eq!(quota, Some(&4096));
}

#[tokio::test]
async fn new_provider_is_invisible_to_create_role_during_the_propagation_window() {
    let env = start().await;
    env.sandbox
        .set_propagation_window(Duration::from_millis(400));
    let arn = env.provider(ISSUER, "octo").await;
    let policy = trust_policy(&arn, "octo", &["x"]);
    let err = env.create_role("r", &policy).send().await.unwrap_err();
    assert_eq!(code(&err), "MalformedPolicyDocument");
    tokio::time::sleep(Duration::from_millis(450)).await;
    env.create_role("r", &policy).send().await.unwrap();
}

#[tokio::test]
async fn simulate_principal_policy_allows_by_default_and_reports_configured_denials() {
    let env = start().await;
    let caller = format!("arn:aws:iam::{ACCOUNT}:user/sandbox");
    let run = || {
        env.iam
            .simulate_principal_policy()
            .policy_source_arn(&caller)
            .action_names("iam:CreateRole")
            .action_names("iam:CreateOpenIDConnectProvider")
    };
    let out = run().send().await.unwrap();
    let decisions: Vec<_> = out
        .evaluation_results()
        .iter()
        .map(|r| r.eval_decision().as_str().to_string())
        .collect();
    assert_eq!(decisions, ["allowed", "allowed"]);
    env.sandbox
        .set_simulation_denials(["iam:CreateOpenIDConnectProvider"]);
    let out = run().send().await.unwrap();
    let decisions: Vec<_> = out
        .evaluation_results()
        .iter()
        .map(|r| {
            (
                r.eval_action_name().to_string(),
                r.eval_decision().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(
        decisions[1],
        (
            "iam:CreateOpenIDConnectProvider".to_string(),
            "implicitDeny".to_string()
        )
    );
}

#[tokio::test]
async fn faults_render_as_aws_errors() {
    let env = start().await;
    env.faults
        .add(FaultRule::throttle_once("iam", "ListRoles", 2));
    let err = env.iam.list_roles().send().await.unwrap_err();
    assert_eq!(code(&err), "Throttling");
    assert_eq!(status(&err), 400);
    env.iam.list_roles().send().await.unwrap();
    env.faults.add(
        FaultRule::for_service("iam")
            .fault(FaultKind::ServerError { status: 500 })
            .times(1),
    );
    let err = env.iam.list_roles().send().await.unwrap_err();
    assert_eq!(code(&err), "ServiceFailure");
    assert_eq!(status(&err), 500);
}

#[tokio::test]
async fn state_survives_snapshot_and_restore() {
    let env = start().await;
    let arn = env.provider(ISSUER, "octo").await;
    env.create_role("r", trust_policy(&arn, "octo", &["x"]))
        .send()
        .await
        .unwrap();
    env.iam
        .put_role_policy()
        .role_name("r")
        .policy_name("inline")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let snapshot = env.sandbox.snapshot();
    let other = start().await;
    other.sandbox.restore(snapshot.clone()).unwrap();
    assert_eq!(
        other.sandbox.snapshot(),
        snapshot,
        "the whole state round-trips"
    );

    // And what a client sees is the same, field by field.
    let role = |iam: aws_sdk_iam::Client| async move {
        let role = iam.get_role().role_name("r").send().await.unwrap();
        let role = role.role().unwrap().clone();
        let inline = iam
            .get_role_policy()
            .role_name("r")
            .policy_name("inline")
            .send()
            .await
            .unwrap();
        (
            role.arn().to_string(),
            role.role_id().to_string(),
            role.assume_role_policy_document().map(str::to_string),
            role.max_session_duration(),
            inline.policy_document().to_string(),
        )
    };
    assert_eq!(role(other.iam.clone()).await, role(env.iam.clone()).await);
    let provider = |iam: aws_sdk_iam::Client, arn: String| async move {
        let p = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .unwrap();
        (
            p.url().map(str::to_string),
            p.client_id_list().to_vec(),
            p.thumbprint_list().to_vec(),
            p.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect::<Vec<_>>(),
        )
    };
    let restored = provider(other.iam.clone(), arn.clone()).await;
    assert_eq!(restored, provider(env.iam.clone(), arn.clone()).await);
    assert_eq!(restored.1, vec!["octo".to_string()], "{restored:?}");
}

#[tokio::test]
async fn list_roles_pages_with_marker() {
    let env = start().await;
    let arn = env.provider(ISSUER, "octo").await;
    let policy = trust_policy(&arn, "octo", &["x"]);
    for i in 0..5 {
        env.create_role(format!("paged-{i}"), &policy)
            .send()
            .await
            .unwrap();
    }
    let first = env.iam.list_roles().max_items(2).send().await.unwrap();
    assert!(first.is_truncated());
    assert_eq!(first.roles().len(), 2);
    let roles: Vec<String> = env
        .iam
        .list_roles()
        .max_items(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.role_name().to_string())
        .collect();
    assert_eq!(
        roles,
        ["paged-0", "paged-1", "paged-2", "paged-3", "paged-4"]
    );
}
