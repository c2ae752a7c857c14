//! Service accounts and allow policies: idempotent ensures, etag-safe read-modify-write that
//! survives a concurrent change, project roles.

use std::time::Duration;

use octo_oidc_core::ports::{
    Applied, GcpPolicyChange, GcpPolicyTarget, GcpRemoval, GcpServiceAccount,
    GcpServiceAccountSpec, GoogleCloud,
};
use octo_oidc_gcp::client::role_members;
use octo_oidc_sandbox::faults::FaultRule;
use reqwest::Method;
use serde_json::json;

use crate::support::Gcp;

const WIU: &str = "roles/iam.workloadIdentityUser";

/// Ensures the test's service account, `octopus-deployer`.
async fn ensure_deployer(gcp: &Gcp) -> Applied<GcpServiceAccount> {
    let spec = GcpServiceAccountSpec {
        project: gcp.number.clone(),
        account_id: "octopus-deployer".into(),
        display_name: "Octopus Deploy".into(),
        description: "octo-oidc:setup=test".into(),
    };
    gcp.client.ensure_service_account(&spec).await.unwrap()
}

/// The principal of subject `sub` in the pool `octopus`.
fn pool_subject(gcp: &Gcp, sub: &str) -> String {
    format!(
        "principal://iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/octopus/subject/{sub}",
        gcp.number
    )
}

/// `change` sent twice: the first updates the policy, the second finds nothing to do.
async fn change_twice(gcp: &Gcp, target: &GcpPolicyTarget, change: &GcpPolicyChange) {
    let first = gcp.client.change_policy(target, change).await.unwrap();
    assert!(matches!(first, Applied::Updated(_)), "{first:?}");
    let second = gcp.client.change_policy(target, change).await.unwrap();
    assert!(matches!(second, Applied::Unchanged(_)), "{second:?}");
}

#[tokio::test]
async fn service_account_and_binding_ensured_twice_are_unchanged() {
    let gcp = Gcp::start().await;
    let sa = ensure_deployer(&gcp).await;
    let Applied::Created(sa) = sa else {
        panic!("not created: {sa:?}");
    };
    assert_eq!(
        sa.email,
        format!(
            "octopus-deployer@{}.iam.gserviceaccount.com",
            gcp.sandbox.gcp().project_id()
        )
    );
    let again = ensure_deployer(&gcp).await;
    assert!(matches!(again, Applied::Unchanged(_)), "{again:?}");

    let target = GcpPolicyTarget::ServiceAccount(sa.email.clone());
    let member = pool_subject(&gcp, "x");
    let change = GcpPolicyChange {
        add: role_members(WIU, std::slice::from_ref(&member)),
        ..Default::default()
    };
    change_twice(&gcp, &target, &change).await;
    let bindings = gcp.client.policy_bindings(&target).await.unwrap();
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0].members, std::slice::from_ref(&member));

    let removal = GcpPolicyChange {
        remove: role_members(WIU, &[member]),
        ..Default::default()
    };
    assert!(matches!(
        gcp.client.change_policy(&target, &removal).await.unwrap(),
        Applied::Updated(_)
    ));
    assert!(
        gcp.client
            .policy_bindings(&target)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        gcp.client.delete_service_account(&sa.email).await.unwrap(),
        GcpRemoval::Deleted
    );
    assert_eq!(
        gcp.client.delete_service_account(&sa.email).await.unwrap(),
        GcpRemoval::AlreadyGone { lifecycle: None }
    );
    assert!(
        gcp.client
            .find_service_account(&sa.email)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_concurrent_policy_change_is_read_again_and_kept() {
    let gcp = Gcp::start().await;
    let project = gcp.sandbox.gcp().project_id();
    let sa = ensure_deployer(&gcp).await.into_inner();
    // Our setIamPolicy is held back 400 ms; meanwhile someone else writes the policy, so our
    // etag is stale when it arrives and Google answers ABORTED.
    gcp.sandbox.faults().add(
        FaultRule::for_service("gcp-iam")
            .operation("serviceAccounts.setIamPolicy")
            .latency(Duration::from_millis(400))
            .times(1),
    );
    let ours = pool_subject(&gcp, "ours");
    let change = GcpPolicyChange {
        add: role_members(WIU, std::slice::from_ref(&ours)),
        ..Default::default()
    };
    let target = GcpPolicyTarget::ServiceAccount(sa.email.clone());
    let client = gcp.client.clone();
    let ensure = tokio::spawn(async move { client.change_policy(&target, &change).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let path = format!("/v1/projects/{project}/serviceAccounts/{}", sa.email);
    let policy = gcp
        .raw(
            Method::POST,
            &format!("{path}:getIamPolicy"),
            Some(json!({})),
        )
        .await;
    gcp.raw(
        Method::POST,
        &format!("{path}:setIamPolicy"),
        Some(json!({"policy": {"etag": policy["etag"], "bindings": [
            {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:admin@example.com"]}
        ]}})),
    )
    .await;
    let applied = ensure.await.unwrap().unwrap();
    assert!(matches!(applied, Applied::Updated(_)), "{applied:?}");
    let bindings = gcp
        .client
        .policy_bindings(&GcpPolicyTarget::ServiceAccount(sa.email.clone()))
        .await
        .unwrap();
    let roles: Vec<&str> = bindings.iter().map(|b| b.role.as_str()).collect();
    assert!(roles.contains(&WIU), "{bindings:?}");
    assert!(
        roles.contains(&"roles/iam.serviceAccountTokenCreator"),
        "the concurrent writer's binding was lost: {bindings:?}"
    );
    let retried: Vec<(String, String)> = gcp.retries();
    assert!(
        retried
            .iter()
            .any(|(op, code)| op.starts_with("setIamPolicy") && code == "conflict"),
        "{retried:?}"
    );
}

#[tokio::test]
async fn project_roles_are_granted_to_the_service_account() {
    let gcp = Gcp::start().await;
    let sa = ensure_deployer(&gcp).await.into_inner();
    let member = format!("serviceAccount:{}", sa.email);
    let target = GcpPolicyTarget::Project(gcp.sandbox.gcp().project_id());
    let mut add = role_members("roles/storage.objectViewer", std::slice::from_ref(&member));
    add.extend(role_members(
        "roles/run.developer",
        std::slice::from_ref(&member),
    ));
    let change = GcpPolicyChange {
        add,
        ..Default::default()
    };
    change_twice(&gcp, &target, &change).await;
    let bindings = gcp.client.policy_bindings(&target).await.unwrap();
    assert_eq!(bindings.len(), 2, "{bindings:?}");
}
