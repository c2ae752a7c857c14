//! The Google Cloud OIDC account: the core's body (`octo_oidc_core::gcp`) applied through
//! `ensure_account` once, validated by the sandbox server, and its account test and a
//! deployment's token traded with the sandbox's Google STS against the core's trust spec.

use octo_oidc_core::ErrorCode;
use octo_oidc_core::accounts::AccountCommon;
use octo_oidc_core::gcp::{
    GcpTrustInput, GoogleCloudOidcAccount, ProviderRef, google_cloud_oidc_account_body, plan_trust,
};
use octo_oidc_core::ports::{Applied, Octopus, OctopusResource};
use octo_oidc_core::scope::{Inventory, Scope, ScopeSelection, Selection, SubjectKeyConfig};
use octo_oidc_core::subject::{Context, SubjectKey};
use octo_oidc_octopus::{OctopusClientConfig, RestOctopus, ServerUrl};
use octo_oidc_sandbox::{Sandbox, SandboxOptions};
use reqwest::Method;
use serde_json::{Value, json};

async fn call(
    sandbox: &Sandbox,
    base: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut r = sandbox
        .http_client()
        .unwrap()
        .request(method, format!("{base}{path}"))
        .header("X-Octopus-ApiKey", sandbox.api_key().expose())
        .bearer_auth("admin");
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

/// A `POST` of `body` through [`call`].
async fn post(sandbox: &Sandbox, base: &str, path: &str, body: Value) -> Value {
    call(sandbox, base, Method::POST, path, Some(body)).await
}

#[tokio::test]
async fn the_cores_google_account_applies_once_and_its_tokens_are_traded_with_google_sts() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let mut config = OctopusClientConfig::new(ServerUrl::parse(&sandbox.urls().octopus).unwrap());
    config.retry = octo_oidc_core::retry::RetryPolicy::fast();
    config.task_poll_interval = std::time::Duration::from_millis(50);
    let client = RestOctopus::new(config, sandbox.api_key().clone()).unwrap();
    let loaded = client.inventory("Spaces-1").await.unwrap();
    let env = |slug: &str| {
        loaded
            .environments
            .iter()
            .find(|e| e.slug == slug)
            .unwrap()
            .id
            .clone()
    };
    let project = loaded
        .projects
        .iter()
        .find(|p| p.resource.slug == "customer-portal")
        .unwrap()
        .resource
        .id
        .clone();
    let scope = Scope {
        inventory: Inventory::from_space(
            loaded.space.clone().unwrap(),
            OctopusResource {
                id: String::new(),
                name: "Wizard Google".into(),
                slug: "wizard-google".into(),
            },
            loaded.clone(),
            Vec::new(),
        ),
        selection: ScopeSelection {
            contexts: vec![Context::Deployment, Context::AccountTest],
            projects: Selection::Only(vec![project]),
            runbooks: Selection::Only(vec![]),
            environments: Selection::Only(vec![env("production")]),
            tenants: Selection::Only(vec![]),
            untenanted: true,
            targets: Selection::All,
        },
        keys: SubjectKeyConfig {
            deployment: vec![
                SubjectKey::Space,
                SubjectKey::Project,
                SubjectKey::Environment,
            ],
            ..SubjectKeyConfig::default()
        },
    };

    // The Google side, from the core's spec, written to the sandbox Google Cloud directly.
    let gcp = sandbox.urls().gcp.clone().unwrap();
    let number = sandbox.gcp().project_number();
    let provider = ProviderRef {
        project_number: number.clone(),
        pool_id: "octopus".into(),
        provider_id: "octopus-prod".into(),
    };
    let trust = plan_trust(
        &GcpTrustInput {
            provider: provider.clone(),
            issuer: sandbox.urls().octopus_issuer.clone(),
            allowed_audiences: vec![],
        },
        &scope,
    )
    .unwrap();
    let pools = format!("/v1/projects/{number}/locations/global/workloadIdentityPools");
    post(
        &sandbox,
        &gcp,
        &format!("{pools}?workloadIdentityPoolId=octopus"),
        json!({}),
    )
    .await;
    post(
        &sandbox,
        &gcp,
        &format!("{pools}/octopus/providers?workloadIdentityPoolProviderId=octopus-prod"),
        trust.provider_body(),
    )
    .await;
    let project_id = sandbox.gcp().project_id();
    let sa = post(
        &sandbox,
        &gcp,
        &format!("/v1/projects/{project_id}/serviceAccounts"),
        json!({"accountId": "octopus-deployer"}),
    )
    .await;
    let email = sa["email"].as_str().unwrap().to_string();
    let sa_path = format!("/v1/projects/{project_id}/serviceAccounts/{email}");
    let policy = post(
        &sandbox,
        &gcp,
        &format!("{sa_path}:getIamPolicy"),
        json!({}),
    )
    .await;
    post(
        &sandbox,
        &gcp,
        &format!("{sa_path}:setIamPolicy"),
        json!({"policy": {"etag": policy["etag"], "bindings": [
            {"role": trust.binding.role, "members": trust.binding.members}
        ]}}),
    )
    .await;

    // The Octopus side: the core's body, applied once.
    let body = google_cloud_oidc_account_body(
        &GoogleCloudOidcAccount {
            common: AccountCommon {
                name: "Wizard Google".into(),
                description: "Created by the Octopus OIDC Wizard".into(),
                space_id: "Spaces-1".into(),
                slug: Some("wizard-google".into()),
            },
            audience: trust.audience.clone(),
            token_lifetime_secs: 3600,
            custom_claims: vec![],
        },
        &scope,
    )
    .unwrap();
    let created = client.ensure_account("Spaces-1", &body).await.unwrap();
    let Applied::Created(account) = created else {
        panic!("{created:?}");
    };
    assert_eq!(account.body["AccountType"], "GoogleCloudOidcAccount");
    assert_eq!(account.body["TokenLifetimeSeconds"], "3600");
    assert_eq!(account.body["Audience"], provider.default_audience());
    let rerun = client.ensure_account("Spaces-1", &body).await.unwrap();
    assert!(matches!(rerun, Applied::Unchanged(_)), "{rerun:?}");

    // The account test trades its token with Google STS.
    let result = client.test_account("Spaces-1", &account.id).await.unwrap();
    assert!(result.succeeded, "{result:?}");
    assert!(
        result.log.iter().any(|l| l.contains("Google STS")),
        "{:?}",
        result.log
    );

    // A deployment in scope impersonates the service account; one out of scope is refused.
    let octopus = sandbox.urls().octopus.clone();
    let deployment_token = |environment: &'static str| {
        let body = json!({"AccountId": account.id, "ProjectId": "customer-portal",
            "EnvironmentId": environment, "ServiceAccountEmail": email});
        post(&sandbox, &octopus, "/api/_sandbox/deployment-tokens", body)
    };
    let minted = deployment_token("production").await;
    assert_eq!(minted["Exchange"]["Succeeded"], true, "{minted}");
    assert_eq!(
        minted["Exchange"]["Service"], "gcp-iamcredentials",
        "{minted}"
    );
    let other = deployment_token("staging").await;
    assert_eq!(other["Exchange"]["Succeeded"], false, "{other}");
    let message = other["Exchange"]["Message"].as_str().unwrap();
    assert!(message.contains("unauthorized_client"), "{message}");

    // The server checks the lifetime like Octopus does.
    let mut too_long = body.clone();
    too_long["TokenLifetimeSeconds"] = json!("50000");
    let refused = client
        .ensure_account("Spaces-1", &too_long)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidInput, "{refused:?}");
    assert!(
        refused.message.contains("TokenLifetimeSeconds")
            || refused
                .field_errors
                .iter()
                .any(|f| f.problem.contains("TokenLifetimeSeconds")),
        "{refused:?}"
    );
    sandbox.shutdown().await.unwrap();
}
