//! Failure paths of the AWS client against the sandbox's fault injection (moto has none):
//! throttling with `Retry-After`, 5xx, dropped connections, slow responses past the attempt
//! timeout, IAM propagation, quota limits — each retried or reported with the right code, and
//! every retry visible as a progress event.
#![allow(clippy::unwrap_used)]
use octo_oidc_testkit::assert_problem;

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use octo_oidc_aws::SdkIam;
use octo_oidc_core::events::ProgressEvent;
use octo_oidc_core::ports::{Applied, Iam, OidcProviderSpec, RoleSpec};
use octo_oidc_core::retry::RetryPolicy;
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_sandbox::faults::{FaultKind, FaultRule};
use support::{Backend, options, trust_policy, unique};

const AUD: &str = "octo.example.com";

fn provider_spec(url: &str) -> OidcProviderSpec {
    OidcProviderSpec {
        url: url.to_string(),
        client_ids: vec![AUD.to_string()],
        thumbprints: vec![],
        tags: BTreeMap::new(),
    }
}

fn role_spec(name: &str, provider_arn: &str, subjects: &[&str]) -> RoleSpec {
    RoleSpec {
        name: name.to_string(),
        trust_policy: trust_policy(provider_arn, AUD, subjects),
        max_session_duration: 3600,
        description: None,
        managed_policy_arns: vec![],
        inline_policies: BTreeMap::new(),
        tags: BTreeMap::new(),
    }
}

fn retries(events: &[ProgressEvent]) -> Vec<(String, ErrorCode)> {
    events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Retrying {
                operation, code, ..
            } => Some((operation.clone(), *code)),
            _ => None,
        })
        .collect()
}

fn tiny_policy() -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_total_wait: Duration::from_millis(500),
        max_retries: 3,
    }
}

/// The ARN of the provider for `url`, ensured through `client`.
async fn provider_arn(client: &SdkIam, url: &str) -> String {
    let provider = client.ensure_oidc_provider(&provider_spec(url)).await;
    provider.unwrap().into_inner().arn
}

async fn provider(backend: &Backend) -> String {
    let url = format!("https://{}.example.com", unique("f"));
    provider_arn(&backend.client().await, &url).await
}

#[tokio::test]
async fn throttling_is_retried_and_reported() {
    let backend = Backend::sandbox().await;
    let arn = provider(&backend).await;
    backend.faults().add(
        FaultRule::for_service("iam")
            .operation("CreateRole")
            .fault(FaultKind::Throttle {
                retry_after_secs: 0,
            })
            .times(2),
    );
    let client = backend.client().await;
    let created = client
        .ensure_role(&role_spec(&unique("r"), &arn, &["x"]))
        .await
        .unwrap();
    assert!(matches!(created, Applied::Created(_)));
    assert_eq!(
        retries(&backend.events()),
        vec![("CreateRole".to_string(), ErrorCode::RateLimited); 2]
    );
}

#[tokio::test]
async fn persistent_throttling_gives_up_as_rate_limited() {
    let backend = Backend::sandbox().await;
    backend.faults().add(
        FaultRule::for_service("iam")
            .operation("ListOpenIDConnectProviders")
            .fault(FaultKind::Throttle {
                retry_after_secs: 0,
            }),
    );
    let client = backend.client().await.with_retry_policy(tiny_policy());
    let problem = client
        .find_oidc_provider("https://x.example.com")
        .await
        .unwrap_err();
    assert_problem(&problem, ErrorCode::RateLimited, "Throttling");
    assert!(problem.hint.is_some());
    assert_eq!(retries(&backend.events()).len(), 3);
}

#[tokio::test]
async fn retry_after_longer_than_the_budget_is_not_waited_for() {
    let backend = Backend::sandbox().await;
    backend
        .faults()
        .add(
            FaultRule::for_service("iam")
                .operation("GetRole")
                .fault(FaultKind::Throttle {
                    retry_after_secs: 30,
                }),
        );
    let client = backend.client().await.with_retry_policy(tiny_policy());
    let started = std::time::Instant::now();
    let problem = client.find_role("r").await.unwrap_err();
    assert_eq!(problem.code, ErrorCode::RateLimited);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried() {
    let backend = Backend::sandbox().await;
    let faults = backend.faults();
    let client = backend.client().await;
    // One rule at a time: every matching rule counts a request.
    for fault in [
        FaultKind::ServerError { status: 500 },
        FaultKind::ServerError { status: 503 },
        FaultKind::DropConnection,
    ] {
        faults.add(
            FaultRule::for_service("iam")
                .operation("GetRole")
                .fault(fault)
                .times(1),
        );
        assert_eq!(client.find_role(&unique("nobody")).await.unwrap(), None);
    }
    let codes: Vec<_> = retries(&backend.events())
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    assert_eq!(codes, [ErrorCode::RemoteUnavailable; 3]);

    faults.add(
        FaultRule::for_service("iam")
            .operation("GetRole")
            .fault(FaultKind::ServerError { status: 500 }),
    );
    let client = backend.client().await.with_retry_policy(tiny_policy());
    let problem = client.find_role("r").await.unwrap_err();
    assert_problem(&problem, ErrorCode::RemoteUnavailable, "ServiceFailure");
}

#[tokio::test]
async fn slow_responses_time_out_and_are_retried() {
    let backend = Backend::sandbox().await;
    backend.faults().add(
        FaultRule::for_service("iam")
            .operation("ListOpenIDConnectProviders")
            .latency(Duration::from_secs(3))
            .times(1),
    );
    let mut opts = options(&backend.endpoint);
    opts.attempt_timeout = Duration::from_millis(400);
    let client = backend.client_with(opts.clone()).await;
    assert_eq!(
        client
            .find_oidc_provider("https://slow.example.com")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        retries(&backend.events()),
        [("ListOpenIDConnectProviders".to_string(), ErrorCode::Timeout)]
    );

    backend.faults().add(
        FaultRule::for_service("iam")
            .operation("ListOpenIDConnectProviders")
            .latency(Duration::from_secs(3)),
    );
    let client = backend
        .client_with(opts)
        .await
        .with_retry_policy(tiny_policy());
    let problem = client
        .find_oidc_provider("https://slow.example.com")
        .await
        .unwrap_err();
    assert_eq!(problem.code, ErrorCode::Timeout);
}

#[tokio::test]
async fn a_just_created_provider_is_waited_for() {
    let backend = Backend::sandbox().await;
    backend
        .aws_sandbox()
        .set_propagation_window(Duration::from_millis(300));
    let client = backend.client().await;
    let arn = provider_arn(&client, "https://fresh.example.com").await;
    let created = client
        .ensure_role(&role_spec("fresh-role", &arn, &["x"]))
        .await
        .unwrap();
    assert!(matches!(created, Applied::Created(_)));
    let events = retries(&backend.events());
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| *e == ("CreateRole".to_string(), ErrorCode::PropagationPending)),
        "{events:?}"
    );

    // A provider that does not exist at all is a mistake, not propagation: no retries.
    let before = backend.events().len();
    let missing = format!(
        "arn:aws:iam::{}:oidc-provider/missing.example.com",
        support::ACCOUNT
    );
    let problem = client
        .ensure_role(&role_spec("orphan", &missing, &["x"]))
        .await
        .unwrap_err();
    assert_problem(&problem, ErrorCode::InvalidInput, "MalformedPolicyDocument");
    assert_eq!(backend.events().len(), before);
}

#[tokio::test]
async fn trust_policy_over_quota_is_limit_exceeded() {
    let backend = Backend::sandbox().await;
    let arn = provider(&backend).await;
    let subjects: Vec<String> = (0..60)
        .map(|i| format!("space:default:project:project-{i}:*"))
        .collect();
    let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
    let client = backend.client().await;
    assert_eq!(client.trust_policy_size_quota().await.unwrap(), 2048);
    let problem = client
        .ensure_role(&role_spec("long", &arn, &subjects))
        .await
        .unwrap_err();
    assert_problem(&problem, ErrorCode::LimitExceeded, "ACLSizePerRole: 2048");
    assert!(problem.hint.unwrap().contains("quota"));
    backend.aws_sandbox().set_trust_policy_size_quota(4096);
    assert_eq!(client.trust_policy_size_quota().await.unwrap(), 4096);
    client
        .ensure_role(&role_spec("long", &arn, &subjects))
        .await
        .unwrap();
}

#[tokio::test]
async fn simulated_denials_are_reported() {
    let backend = Backend::sandbox().await;
    backend
        .aws_sandbox()
        .set_simulation_denials(["iam:CreateRole"]);
    let client = backend.client().await;
    let (_, caller) = client.caller_identity().await.unwrap();
    let results = client
        .simulate(
            &caller,
            &["iam:CreateOpenIDConnectProvider", "iam:CreateRole"],
        )
        .await
        .unwrap();
    assert_eq!(
        results,
        [
            ("iam:CreateOpenIDConnectProvider".to_string(), true),
            ("iam:CreateRole".to_string(), false)
        ]
    );
}

#[tokio::test]
async fn a_rejected_token_is_trust_rejected_without_retries() {
    let backend = Backend::sandbox().await;
    let client = backend.client().await;
    let problem = client
        .assume_role_with_web_identity(
            &format!("arn:aws:iam::{}:role/nobody", support::ACCOUNT),
            &Secret::new("not-a-jwt"),
            "octo-oidc-test",
        )
        .await
        .unwrap_err();
    assert_eq!(problem.code, ErrorCode::TrustRejected);
    assert!(backend.events().is_empty());
}

#[tokio::test]
async fn the_first_assume_after_a_trust_change_is_retried_until_it_propagates() {
    let issuer = support::issuer::TestIssuer::start("issuer.client.test").await;
    let backend = Backend::sandbox_with_issuers(
        octo_oidc_sandbox::token_validation::RemoteIssuers::new(issuer.http.clone()),
    )
    .await;
    let client = backend.client().await;
    let arn = provider_arn(&client, &issuer.issuer).await;
    let role = client
        .ensure_role(&role_spec("assumed", &arn, &["space:default:*"]))
        .await
        .unwrap()
        .into_inner();
    // From now on IAM changes take 300 ms to reach STS.
    backend
        .aws_sandbox()
        .set_propagation_window(Duration::from_millis(300));
    client
        .ensure_role(&role_spec("assumed", &arn, &["space:default:project:*"]))
        .await
        .unwrap();
    let token = issuer.token(serde_json::json!({"sub": "space:default:project:web", "aud": AUD}));
    let assumed = client
        .assume_role_with_web_identity(&role.arn, &Secret::new(token), "octo-oidc-check")
        .await
        .unwrap();
    assert_eq!(
        assumed.subject.as_deref(),
        Some("space:default:project:web")
    );
    assert_eq!(
        assumed.assumed_role_arn,
        format!(
            "arn:aws:sts::{}:assumed-role/assumed/octo-oidc-check",
            support::ACCOUNT
        )
    );
    // The provider itself was still propagating for the trust update, then the role for
    // the assume: both are retried as propagation.
    let events = retries(&backend.events());
    assert!(events.contains(&(
        "AssumeRoleWithWebIdentity".to_string(),
        ErrorCode::PropagationPending
    )));
    assert!(
        events
            .iter()
            .all(|(_, code)| *code == ErrorCode::PropagationPending),
        "{events:?}"
    );
}
