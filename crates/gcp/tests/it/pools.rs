//! Project lookup, preflight, pools and providers: idempotent ensures, patches on drift,
//! soft delete and undelete, Google's validation errors surfacing as problems.

use octo_oidc_core::ErrorCode;
use octo_oidc_core::ports::{Applied, GcpLifecycle, GcpRemoval, GoogleCloud};
use octo_oidc_sandbox::faults::{FaultKind, FaultRule};
use octo_oidc_testkit::assert_problem;
use reqwest::Method;
use serde_json::json;

use crate::support::{Gcp, IN_SCOPE};

#[tokio::test]
async fn project_id_resolves_to_its_number_and_preflight_reports_missing_permissions() {
    let gcp = Gcp::start().await;
    let id = gcp.sandbox.gcp().project_id();
    let project = gcp.client.project(&id).await.unwrap();
    assert_eq!(project.project_number, gcp.number);
    assert_eq!(project.project_id, id);
    let by_number = gcp.client.project(&gcp.number).await.unwrap();
    assert_eq!(by_number, project);

    gcp.sandbox
        .gcp()
        .withhold_permission("iam.workloadIdentityPools.create");
    let wanted: Vec<String> = [
        "iam.workloadIdentityPools.create",
        "iam.serviceAccounts.setIamPolicy",
    ]
    .map(String::from)
    .to_vec();
    let granted = gcp.client.granted_permissions(&id, &wanted).await.unwrap();
    assert_eq!(granted, ["iam.serviceAccounts.setIamPolicy"]);

    let missing = gcp
        .client
        .project("someone-elses-project")
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::PermissionDenied, "{missing:?}");
}

#[tokio::test]
async fn ensure_twice_creates_once_then_reports_unchanged() {
    let gcp = Gcp::start().await;
    let pool = gcp.ensure_pool("octopus").await;
    assert!(matches!(pool, Applied::Created(_)), "{pool:?}");
    let pool = gcp.ensure_pool("octopus").await;
    assert!(matches!(pool, Applied::Unchanged(_)), "{pool:?}");
    assert_eq!(
        pool.into_inner().name,
        format!(
            "projects/{}/locations/global/workloadIdentityPools/octopus",
            gcp.number
        )
    );

    let spec = gcp.provider_spec("octopus", "octopus-prod");
    let created = gcp.client.ensure_provider(&spec).await.unwrap();
    assert!(matches!(created, Applied::Created(_)), "{created:?}");
    let again = gcp.client.ensure_provider(&spec).await.unwrap();
    let Applied::Unchanged(provider) = again else {
        panic!("second ensure changed something: {again:?}");
    };
    assert_eq!(provider.trust.issuer_uri, gcp.issuer());
    assert_eq!(
        provider.trust.attribute_mapping,
        spec.trust.attribute_mapping
    );
    assert_eq!(
        provider.trust.attribute_condition,
        spec.trust.attribute_condition
    );
    assert_eq!(provider.lifecycle, GcpLifecycle::Active);
}

#[tokio::test]
async fn drifted_provider_and_pool_are_patched_back_to_the_spec() {
    let gcp = Gcp::start().await;
    let spec = gcp.set_up("octopus", "octopus-prod").await;
    let provider_path = format!(
        "/v1/projects/{}/locations/global/workloadIdentityPools/octopus/providers/octopus-prod",
        gcp.number
    );
    // Someone loosens the condition and adds an audience behind our back.
    gcp.raw(
        Method::PATCH,
        &format!("{provider_path}?updateMask=attributeCondition,oidc.allowedAudiences"),
        Some(json!({"attributeCondition": "true", "oidc": {"allowedAudiences": ["api://anyone"]}})),
    )
    .await;
    let seen = gcp
        .client
        .find_provider(&spec.provider)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.trust.attribute_condition.as_deref(), Some("true"));

    let repaired = gcp.client.ensure_provider(&spec).await.unwrap();
    let Applied::Updated(repaired) = repaired else {
        panic!("drift not repaired: {repaired:?}");
    };
    assert_eq!(
        repaired.trust.attribute_condition,
        spec.trust.attribute_condition
    );
    assert!(repaired.trust.allowed_audiences.is_empty(), "{repaired:?}");
    assert!(matches!(
        gcp.client.ensure_provider(&spec).await.unwrap(),
        Applied::Unchanged(_)
    ));

    let mut renamed = gcp.pool_spec("octopus");
    renamed.display_name = "Octopus (prod)".into();
    let pool = gcp.client.ensure_pool(&renamed).await.unwrap();
    let Applied::Updated(pool) = pool else {
        panic!("pool not patched: {pool:?}");
    };
    assert_eq!(pool.display_name, "Octopus (prod)");
}

#[tokio::test]
async fn soft_deleted_provider_and_pool_are_reported_and_undeleted() {
    let gcp = Gcp::start().await;
    let spec = gcp.set_up("octopus", "octopus-prod").await;

    let removed = gcp.client.delete_provider(&spec.provider).await.unwrap();
    let GcpRemoval::SoftDeleted { expire_time } = removed else {
        panic!("not soft-deleted: {removed:?}");
    };
    assert!(expire_time.is_some(), "Google reports when it purges");
    let again = gcp.client.delete_provider(&spec.provider).await.unwrap();
    assert!(
        matches!(
            again,
            GcpRemoval::AlreadyGone {
                lifecycle: Some(GcpLifecycle::SoftDeleted { .. })
            }
        ),
        "{again:?}"
    );

    // The id cannot be reused: ensure undeletes the provider and keeps the spec.
    let back = gcp.client.ensure_provider(&spec).await.unwrap();
    let Applied::Updated(back) = back else {
        panic!("soft-deleted provider not undeleted: {back:?}");
    };
    assert_eq!(back.lifecycle, GcpLifecycle::Active);
    assert_eq!(
        back.trust.attribute_condition,
        spec.trust.attribute_condition
    );

    // Pools too, explicitly.
    let delete = |pool: &'static str| gcp.client.delete_pool(&gcp.number, pool);
    let undelete = || gcp.client.undelete_pool(&gcp.number, "octopus");
    let removed = delete("octopus").await.unwrap();
    assert!(
        matches!(removed, GcpRemoval::SoftDeleted { .. }),
        "{removed:?}"
    );
    let pool = gcp.client.find_pool(&gcp.number, "octopus").await.unwrap();
    assert!(matches!(
        pool.unwrap().lifecycle,
        GcpLifecycle::SoftDeleted { .. }
    ));
    let undeleted = undelete().await.unwrap();
    assert!(matches!(undeleted, Applied::Updated(_)), "{undeleted:?}");
    let unchanged = undelete().await.unwrap();
    assert!(matches!(unchanged, Applied::Unchanged(_)), "{unchanged:?}");

    let gone = delete("never-made").await.unwrap();
    assert_eq!(gone, GcpRemoval::AlreadyGone { lifecycle: None });
}

#[tokio::test]
async fn googles_validation_errors_become_invalid_input_problems() {
    let gcp = Gcp::start().await;
    gcp.ensure_pool("octopus").await;
    let mut spec = gcp.provider_spec("octopus", "octopus-prod");
    spec.trust.attribute_condition = Some(format!("assertion.sub in ['{IN_SCOPE}'"));
    let p = gcp.client.ensure_provider(&spec).await.unwrap_err();
    assert_problem(&p, ErrorCode::InvalidInput, "INVALID_ARGUMENT");

    let mut bad = gcp.pool_spec("gcp-reserved");
    bad.pool_id = "gcp-reserved".into();
    let p = gcp.client.ensure_pool(&bad).await.unwrap_err();
    assert_eq!(p.code, ErrorCode::InvalidInput, "{p:?}");
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_and_reported() {
    let gcp = Gcp::start().await;
    gcp.sandbox.faults().add(
        FaultRule::for_service("gcp-iam")
            .operation("workloadIdentityPools.create")
            .fault(FaultKind::Throttle {
                retry_after_secs: 0,
            })
            .times(1),
    );
    gcp.sandbox.faults().add(
        FaultRule::for_service("gcp-iam")
            .operation("operations.get")
            .fault(FaultKind::ServerError { status: 503 })
            .times(1),
    );
    let pool = gcp.ensure_pool("octopus").await;
    assert!(matches!(pool, Applied::Created(_)), "{pool:?}");
    let codes: Vec<String> = gcp.retries().into_iter().map(|(_, c)| c).collect();
    assert!(codes.contains(&"rate_limited".to_string()), "{codes:?}");
    assert!(
        codes.contains(&"remote_unavailable".to_string()),
        "{codes:?}"
    );
}
