//! Verify: an in-scope Octopus token is exchanged at STS and impersonates the service
//! account; an out-of-scope one is refused with Google's own error.

use octo_oidc_core::ErrorCode;
use octo_oidc_core::ports::{GcpPolicyChange, GcpPolicyTarget, GcpServiceAccountSpec, GoogleCloud};
use octo_oidc_gcp::client::role_members;
use octo_oidc_testkit::assert_problem;

use crate::support::{Gcp, IN_SCOPE, OUT_OF_SCOPE};

async fn bound_service_account(gcp: &Gcp, pool: &str) -> String {
    let sa = gcp
        .client
        .ensure_service_account(&GcpServiceAccountSpec {
            project: gcp.sandbox.gcp().project_id(),
            account_id: "octopus-deployer".into(),
            display_name: "Octopus".into(),
            description: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let member = format!(
        "principal://iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/{pool}/subject/{IN_SCOPE}",
        gcp.number
    );
    gcp.client
        .change_policy(
            &GcpPolicyTarget::ServiceAccount(sa.email.clone()),
            &GcpPolicyChange {
                add: role_members("roles/iam.workloadIdentityUser", &[member]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    sa.email
}

#[tokio::test]
async fn in_scope_token_becomes_a_service_account_access_token() {
    let gcp = Gcp::start().await;
    let spec = gcp.set_up("octopus", "octopus-prod").await;
    let email = bound_service_account(&gcp, "octopus").await;
    let audience = spec.provider.clone();
    let audience = octo_oidc_core::gcp::ProviderRef::default_audience(&audience);

    let federated = gcp
        .client
        .exchange_token(&audience, &gcp.token(IN_SCOPE, &audience))
        .await
        .unwrap();
    assert!(!federated.is_blank());
    let access = gcp
        .client
        .generate_access_token(&federated, &email, 3600)
        .await
        .unwrap();
    assert!(!access.token.is_blank());
    assert!(!access.expire_time.is_empty());
    assert_eq!(format!("{:?}", access.token), "Secret([redacted])");

    // Over an hour needs the org policy; Google's refusal comes back as a problem.
    let long = gcp
        .client
        .generate_access_token(&federated, &email, 7200)
        .await
        .unwrap_err();
    assert_eq!(long.code, ErrorCode::InvalidInput, "{long:?}");
    assert!(
        long.message
            .contains("allowServiceAccountCredentialLifetimeExtension")
    );
}

#[tokio::test]
async fn out_of_scope_token_is_refused_with_googles_error() {
    let gcp = Gcp::start().await;
    let spec = gcp.set_up("octopus", "octopus-prod").await;
    let audience = spec.provider.default_audience();
    let refused = gcp
        .client
        .exchange_token(&audience, &gcp.token(OUT_OF_SCOPE, &audience))
        .await
        .unwrap_err();
    assert_problem(&refused, ErrorCode::TrustRejected, "unauthorized_client");
    assert!(
        refused.message.contains("attribute condition"),
        "{}",
        refused.message
    );

    let wrong_audience = gcp
        .client
        .exchange_token(&audience, &gcp.token(IN_SCOPE, "api://somewhere-else"))
        .await
        .unwrap_err();
    assert_problem(&wrong_audience, ErrorCode::TrustRejected, "invalid_grant");

    let no_provider = gcp
        .client
        .exchange_token(
            &gcp.provider("octopus", "missing").default_audience(),
            &gcp.token(IN_SCOPE, &audience),
        )
        .await
        .unwrap_err();
    assert!(
        no_provider.message.contains("invalid_target"),
        "{}",
        no_provider.message
    );
    // A refusal is final: the exchange was not retried (operation polls are reported too).
    let exchanges: Vec<_> = gcp
        .retries()
        .into_iter()
        .filter(|(op, _)| op.contains("token"))
        .collect();
    assert!(exchanges.is_empty(), "{exchanges:?}");
}
