//! `scope.tenants = ["*"]` (every connected tenant) next to untenanted deployments. Azure's
//! credentials are exact: the tenants' connected project/environment pairs only. AWS trusts
//! `tenant:*` per project and environment (IAM `StringLike`; "all" includes tenants connected
//! later), which never matches an untenanted subject (it has no tenant part). Untenanted runs
//! are trusted only with `untenanted = true`, on both clouds.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use octo_oidc_core::Secret;
use octo_oidc_engine::desired::DesiredResource;
use octo_oidc_engine::observe::Observation;

use crate::support::{AWS, AZURE, ISSUER, World, setup};

fn deployment_subjects(o: &Observation) -> Vec<String> {
    let mut out: Vec<String> = o
        .desired
        .resources
        .iter()
        .flat_map(|r| match r {
            DesiredResource::OctopusAccount { subjects, .. } => subjects.clone(),
            _ => Vec::new(),
        })
        .filter(|s| s.contains(":project:"))
        .collect();
    out.sort();
    out
}

fn with_tenants(base: &str, extra: &str) -> String {
    base.replace(
        "environments = [\"staging\", \"production\"]",
        &format!("environments = [\"staging\", \"production\"]\n{extra}"),
    )
}

const ACME_WEB_PRODUCTION: &str = "space:default:project:web:tenant:acme:environment:production";

/// The subject `subject(project, environment)` of every project and environment in the scope,
/// sorted.
fn per_project_environment(subject: impl Fn(&str, &str) -> String) -> Vec<String> {
    let mut v: Vec<String> = ["api", "web"]
        .iter()
        .flat_map(|p| ["production", "staging"].iter().map(|e| subject(p, e)))
        .collect();
    v.sort();
    v
}

fn untenanted() -> Vec<String> {
    per_project_environment(|p, e| format!("space:default:project:{p}:environment:{e}"))
}

fn tenant_patterns() -> Vec<String> {
    per_project_environment(|p, e| format!("space:default:project:{p}:tenant:*:environment:{e}"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn every_tenant_alone_trusts_only_tenanted_runs() {
    let w = World::new();
    let azure = w
        .observe(&setup(&with_tenants(AZURE, "tenants = [\"*\"]")))
        .await;
    assert_eq!(deployment_subjects(&azure), [ACME_WEB_PRODUCTION]);
    let aws = w
        .observe(&setup(&with_tenants(AWS, "tenants = [\"*\"]")))
        .await;
    assert_eq!(deployment_subjects(&aws), tenant_patterns());
}

#[tokio::test]
async fn every_tenant_and_untenanted_trusts_both_and_nothing_else() {
    let w = World::new();
    let both = "tenants = [\"*\"]\nuntenanted = true";
    let azure = w.observe(&setup(&with_tenants(AZURE, both))).await;
    let mut expected = untenanted();
    expected.push(ACME_WEB_PRODUCTION.to_string());
    assert_eq!(deployment_subjects(&azure), sorted(expected));
    let aws = w.observe(&setup(&with_tenants(AWS, both))).await;
    let mut expected = untenanted();
    expected.extend(tenant_patterns());
    assert_eq!(deployment_subjects(&aws), sorted(expected));
}

#[tokio::test]
async fn the_aws_trust_policy_of_every_tenant_refuses_untenanted_runs_and_other_environments() {
    let w = World::new();
    let s = setup(&with_tenants(AWS, "tenants = [\"*\"]"));
    let o = w.observe(&s).await;
    let report = w.apply(&s).await;
    assert!(report.is_complete(), "{:?}", report.problem);
    let role_arn = report.outputs["iam_role.arn"].clone();
    let host = ISSUER.trim_start_matches("https://");
    let trade = |sub: &str| {
        let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let token = Secret::new(format!(
            "{}.{}.sig",
            part(serde_json::json!({"alg": "RS256"})),
            part(serde_json::json!({"iss": ISSUER, "sub": sub, "aud": host}))
        ));
        let iam = w.iam.clone();
        let role_arn = role_arn.clone();
        async move {
            octo_oidc_core::ports::Iam::assume_role_with_web_identity(&iam, &role_arn, &token, "t")
                .await
                .is_ok()
        }
    };
    assert!(
        trade(ACME_WEB_PRODUCTION).await,
        "the connected tenant's run"
    );
    for outside in untenanted() {
        assert!(
            !trade(&outside).await,
            "untenanted {outside} must be refused"
        );
    }
    assert!(
        trade("space:default:project:api:tenant:later:environment:production").await,
        "every tenant: one connected later is trusted too"
    );
    assert!(
        !trade("space:default:project:web:tenant:acme:environment:dev").await,
        "an environment outside the scope"
    );
    assert_eq!(deployment_subjects(&o), tenant_patterns());
}
