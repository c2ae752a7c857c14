//! The AWS client (`SdkIam`, `AwsConnection`) against both the sandbox and moto: every port
//! operation, idempotent second runs, and the error mapping both backends agree on. Where
//! moto differs from IAM (unimplemented AddClientID) the test states what each does.
#![allow(clippy::unwrap_used)]
use octo_oidc_testkit::assert_problem;

use crate::support;

use std::collections::BTreeMap;

use octo_oidc_aws::SdkIam;
use octo_oidc_core::ErrorCode;
use octo_oidc_core::ports::{Applied, Iam, OidcProvider, OidcProviderSpec, RoleSpec};
use support::{Backend, Kind, trust_policy, unique};

const AUD: &str = "octo.example.com";

fn provider_spec(url: &str, setup: &str) -> OidcProviderSpec {
    OidcProviderSpec {
        url: url.to_string(),
        client_ids: vec![AUD.to_string()],
        thumbprints: vec![],
        tags: BTreeMap::from([("octo-oidc:setup".to_string(), setup.to_string())]),
    }
}

/// `ensure_oidc_provider` for the test's provider at `url` (setup `s1`).
async fn ensure_provider(client: &SdkIam, url: &str) -> Applied<OidcProvider> {
    client
        .ensure_oidc_provider(&provider_spec(url, "s1"))
        .await
        .unwrap()
}

/// A provider someone else made (with the raw SDK, untagged): its ARN.
async fn raw_provider(backend: &Backend, url: &str, client_id: &str) -> String {
    let created = backend
        .raw
        .create_open_id_connect_provider()
        .url(url)
        .client_id_list(client_id)
        .send()
        .await
        .unwrap();
    created.open_id_connect_provider_arn().unwrap().to_string()
}

fn role_spec(name: &str, provider_arn: &str, subjects: &[&str]) -> RoleSpec {
    octo_oidc_testkit::aws::role_spec(name, trust_policy(provider_arn, AUD, subjects), "s1")
}

async fn caller_identity(backend: Backend) {
    let client = backend.client().await;
    let (account, arn) = client.caller_identity().await.unwrap();
    assert_eq!(account, support::ACCOUNT);
    assert!(arn.starts_with("arn:aws:"), "{arn}");
}

async fn provider_get_or_create_is_idempotent(backend: Backend) {
    let client = backend.client().await;
    let url = format!("https://{}.example.com", unique("octo"));
    assert_eq!(client.find_oidc_provider(&url).await.unwrap(), None);
    let created = ensure_provider(&client, &url).await;
    let Applied::Created(provider) = created else {
        panic!("expected Created, got {created:?}")
    };
    assert_eq!(
        provider.arn,
        format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            support::ACCOUNT,
            &url[8..]
        )
    );

    let found = client.find_oidc_provider(&url).await.unwrap().unwrap();
    assert_eq!(found.arn, provider.arn);
    assert_eq!(found.url, url);
    assert_eq!(found.client_ids, [AUD]);
    assert!(found.thumbprints.is_empty());
    let tags = backend
        .raw
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(&provider.arn)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "octo-oidc:setup" && t.value() == "s1")
    );

    // The second run changes nothing.
    let again = ensure_provider(&client, &url).await;
    assert!(
        matches!(again, Applied::Unchanged(ref p) if p.arn == provider.arn),
        "{again:?}"
    );

    // A URL differing only by a trailing slash is another provider.
    assert_eq!(
        client.find_oidc_provider(&format!("{url}/")).await.unwrap(),
        None
    );

    client.delete_oidc_provider(&provider.arn).await.unwrap();
    client.delete_oidc_provider(&provider.arn).await.unwrap();
    assert_eq!(client.find_oidc_provider(&url).await.unwrap(), None);
}

async fn missing_audience_is_added_or_reported(backend: Backend) {
    let client = backend.client().await;
    let url = format!("https://{}.example.com/tenant/a", unique("aud"));
    let arn = raw_provider(&backend, &url, "other-audience").await;
    let result = client
        .ensure_oidc_provider(&provider_spec(&url, "s1"))
        .await;
    match backend.kind {
        Kind::Sandbox => {
            let Applied::Updated(provider) = result.unwrap() else {
                panic!("expected Updated")
            };
            assert_eq!(provider.arn, arn);
            assert_eq!(provider.client_ids, ["other-audience", AUD]);
            let again = ensure_provider(&client, &url).await;
            assert!(!again.changed());
        }
        Kind::Moto => {
            // moto 5.2.5 does not implement AddClientIDToOpenIDConnectProvider (HTTP 500):
            // the client checks with Get and reports what to do instead of retrying.
            let problem = result.unwrap_err();
            assert_eq!(problem.code, ErrorCode::RemoteUnavailable);
            assert!(problem.hint.unwrap().contains(AUD));
            assert!(
                backend.events().is_empty(),
                "an unimplemented operation is not retried"
            );
        }
    }
    client.delete_oidc_provider(&arn).await.unwrap();
}

async fn existing_provider_found_by_exact_url(backend: Backend) {
    let client = backend.client().await;
    let host = format!("{}.example.com", unique("exact"));
    let with_slash = format!("https://{host}/");
    let without = format!("https://{host}");
    let arn_slash = raw_provider(&backend, &with_slash, AUD).await;
    let arn_plain = raw_provider(&backend, &without, AUD).await;
    for (url, arn) in [(&with_slash, &arn_slash), (&without, &arn_plain)] {
        let found = client.find_oidc_provider(url).await.unwrap().unwrap();
        assert_eq!(&found.arn, arn, "{url}");
    }
    // ensure on an existing provider created elsewhere: found, not re-created, not tagged.
    let ensured = client
        .ensure_oidc_provider(&provider_spec(&with_slash, "s2"))
        .await
        .unwrap();
    assert!(matches!(ensured, Applied::Unchanged(ref p) if p.arn == arn_slash));
    let tags = backend
        .raw
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(&arn_slash)
        .send()
        .await
        .unwrap();
    assert!(tags.tags().is_empty());
}

async fn role_create_update_and_second_run(backend: Backend) {
    let client = backend.client().await;
    let url = format!("https://{}.example.com", unique("role"));
    let provider = ensure_provider(&client, &url).await.into_inner();
    let name = unique("octo-role");
    let spec = role_spec(
        &name,
        &provider.arn,
        &["space:default:project:web:*", "space:default:account:aws"],
    );

    let diff = client.role_diff(&spec).await.unwrap();
    assert_eq!(diff.existing_arn, None);
    assert!(diff.trust_policy_changes);

    let Applied::Created(role) = client.ensure_role(&spec).await.unwrap() else {
        panic!("expected Created")
    };
    assert_eq!(
        role.arn,
        format!("arn:aws:iam::{}:role/{name}", support::ACCOUNT)
    );
    let found = client.find_role(&name).await.unwrap().unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&found.trust_policy).unwrap(),
        serde_json::from_str::<serde_json::Value>(&spec.trust_policy).unwrap()
    );
    let attached = backend
        .raw
        .list_attached_role_policies()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attached.attached_policies()[0].policy_arn(),
        Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
    );
    let inline = backend
        .raw
        .list_role_policies()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(inline.policy_names(), ["octo-read"]);
    let tags = backend
        .raw
        .list_role_tags()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "octo-oidc:setup"));

    // Second run: nothing changes and the diff is empty.
    assert!(client.role_diff(&spec).await.unwrap().is_empty());
    let again = client.ensure_role(&spec).await.unwrap();
    assert!(matches!(again, Applied::Unchanged(_)), "{again:?}");

    // A new subject pattern and a longer session: updated, diff shows before/after.
    let mut wider = role_spec(&name, &provider.arn, &["space:default:*"]);
    wider.max_session_duration = 7200;
    let diff = client.role_diff(&wider).await.unwrap();
    assert!(diff.trust_policy_changes);
    assert!(diff.trust_policy_before.unwrap().contains("project:web"));
    assert!(diff.trust_policy_after.contains("space:default:*"));
    assert_eq!(
        (
            diff.max_session_duration_before,
            diff.max_session_duration_after
        ),
        (Some(3600), 7200)
    );
    let Applied::Updated(role) = client.ensure_role(&wider).await.unwrap() else {
        panic!("expected Updated")
    };
    assert_eq!(role.max_session_duration, 7200);
    let found = client.find_role(&name).await.unwrap().unwrap();
    assert!(found.trust_policy.contains("space:default:*"));
    assert_eq!(found.max_session_duration, 7200);
    assert!(matches!(
        client.ensure_role(&wider).await.unwrap(),
        Applied::Unchanged(_)
    ));

    // Delete detaches and deletes policies first; a second delete is fine.
    client.delete_role(&name).await.unwrap();
    client.delete_role(&name).await.unwrap();
    assert_eq!(client.find_role(&name).await.unwrap(), None);
    client.delete_oidc_provider(&provider.arn).await.unwrap();
}

async fn missing_things_map_to_not_found(backend: Backend) {
    let client = backend.client().await;
    assert_eq!(client.find_role(&unique("nobody")).await.unwrap(), None);
    let url = format!("https://{}.example.com", unique("nf"));
    let provider = ensure_provider(&client, &url).await.into_inner();
    let mut spec = role_spec(&unique("nf-role"), &provider.arn, &["x"]);
    spec.managed_policy_arns = vec!["arn:aws:iam::aws:policy/NoSuchPolicyAnywhere".into()];
    let problem = client.ensure_role(&spec).await.unwrap_err();
    assert_problem(&problem, ErrorCode::NotFound, "NoSuchEntity");
    client.delete_role(&spec.name).await.unwrap();
}

async fn invalid_specs_are_refused_before_sending(backend: Backend) {
    let client = backend.client().await;
    // moto would accept all of these; the client checks IAM's rules itself.
    let problem = client
        .ensure_oidc_provider(&provider_spec("http://insecure.example.com", "s"))
        .await
        .unwrap_err();
    assert_eq!(problem.code, ErrorCode::InvalidInput);
    let mut spec = role_spec(
        "bad name",
        "arn:aws:iam::123456789012:oidc-provider/x.example.com",
        &["x"],
    );
    spec.max_session_duration = 43201;
    let problem = client.ensure_role(&spec).await.unwrap_err();
    assert_eq!(problem.code, ErrorCode::InvalidInput);
    assert_eq!(problem.field_errors.len(), 2);
}

on_both_backends!(
    caller_identity,
    provider_get_or_create_is_idempotent,
    missing_audience_is_added_or_reported,
    existing_provider_found_by_exact_url,
    role_create_update_and_second_run,
    missing_things_map_to_not_found,
    invalid_specs_are_refused_before_sending,
);

async fn trust_policy_quota_is_read_from_the_account_summary(backend: Backend) {
    let client = backend.client().await;
    assert_eq!(client.trust_policy_size_quota().await.unwrap(), 2048);
}

on_both_backends!(trust_policy_quota_is_read_from_the_account_summary);

async fn lookups_return_tags_and_policies_for_drift(backend: Backend) {
    let client = backend.client().await;
    let url = format!("https://{}.drift.example.com", unique("p"));
    let setup = unique("setup");
    let provider = client
        .ensure_oidc_provider(&provider_spec(&url, &setup))
        .await
        .unwrap()
        .into_inner();
    let found = client.find_oidc_provider(&url).await.unwrap().unwrap();
    assert_eq!(found.arn, provider.arn);
    assert_eq!(found.tags.get("octo-oidc:setup"), Some(&setup), "{found:?}");

    let name = unique("drift");
    let spec = role_spec(&name, &provider.arn, &["space:default:*"]);
    let created = client.ensure_role(&spec).await.unwrap().into_inner();
    let role = client.find_role(&name).await.unwrap().unwrap();
    assert_eq!(role.arn, created.arn);
    assert_eq!(role.tags, spec.tags, "tags are readable on find");
    assert_eq!(role.description, spec.description);
    assert_eq!(role.managed_policy_arns, spec.managed_policy_arns);
    assert_eq!(role.inline_policies.len(), 1);
    assert!(
        super::support::same_json_text(
            &role.inline_policies["octo-read"],
            &spec.inline_policies["octo-read"]
        ),
        "{role:?}"
    );
    // ensure reports the same picture as find.
    let again = client.ensure_role(&spec).await.unwrap();
    assert!(!again.changed());
    assert_eq!(
        again.into_inner().managed_policy_arns,
        role.managed_policy_arns
    );

    client.delete_role(&name).await.unwrap();
    assert_eq!(client.find_role(&name).await.unwrap(), None);
    client.delete_oidc_provider(&provider.arn).await.unwrap();
    assert_eq!(client.find_oidc_provider(&url).await.unwrap(), None);
}

on_both_backends!(lookups_return_tags_and_policies_for_drift);

async fn managed_policies_are_listed_across_pages_with_paths_and_sorted(backend: Backend) {
    let client = backend.client().await;
    let policies = client.list_policies().await.unwrap();
    let read_only = policies
        .iter()
        .find(|p| p.arn == "arn:aws:iam::aws:policy/ReadOnlyAccess")
        .expect("ReadOnlyAccess is listed");
    assert_eq!(read_only.name, "ReadOnlyAccess");
    assert!(read_only.aws_managed);
    assert!(
        policies
            .iter()
            .any(|p| p.arn == "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
        "policies under a path are listed"
    );
    assert!(
        policies.windows(2).all(|w| w[0].name <= w[1].name),
        "sorted by name"
    );
}

on_both_backends!(managed_policies_are_listed_across_pages_with_paths_and_sorted);

/// The `create_*` paths (sent without a lookup, for what observe found absent) meet a
/// provider and a role that exist after all (a race, a resumed crash): each converges as
/// its `ensure_*` would (`EntityAlreadyExists` → the reading ensure), with no duplicate.
async fn creates_of_objects_that_exist_after_all_converge(backend: Backend) {
    let client = backend.client().await;
    let url = format!("https://{}.example.com", unique("race"));
    let created = client
        .create_oidc_provider(&provider_spec(&url, "s1"))
        .await
        .unwrap();
    let Applied::Created(provider) = created else {
        panic!("an absent provider is created: {created:?}")
    };
    let again = client
        .create_oidc_provider(&provider_spec(&url, "s1"))
        .await
        .unwrap();
    assert!(
        matches!(again, Applied::Unchanged(ref p) if p.arn == provider.arn),
        "{again:?}"
    );

    let name = unique("race-role");
    let spec = role_spec(&name, &provider.arn, &["space:default:project:web"]);
    let created = client.create_role(&spec).await.unwrap();
    assert!(matches!(created, Applied::Created(_)), "{created:?}");
    assert_eq!(
        created.value().managed_policy_arns,
        spec.managed_policy_arns
    );
    let again = client.create_role(&spec).await.unwrap();
    assert!(!again.changed(), "{again:?}");
    assert_eq!(again.value().arn, created.value().arn);
    let mut widened = spec.clone();
    widened.max_session_duration = 7200;
    let updated = client.create_role(&widened).await.unwrap();
    assert!(matches!(updated, Applied::Updated(_)), "{updated:?}");
    let found = client.find_role(&name).await.unwrap().unwrap();
    assert_eq!(found.max_session_duration, 7200);

    client.delete_role(&name).await.unwrap();
    client.delete_oidc_provider(&provider.arn).await.unwrap();
}

on_both_backends!(creates_of_objects_that_exist_after_all_converge);
