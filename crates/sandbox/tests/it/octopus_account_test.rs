//! The account test and deployment tokens traded for real with the sandbox AWS (IAM provider +
//! role set up over the IAM query protocol): success when the trust policy matches the
//! account-test subject, `Failed` with STS's own error when it does not, and a deployment
//! subject verified end to end.
#![allow(clippy::unwrap_used)]

use octo_oidc_sandbox::{Sandbox, SandboxOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::http_support::json_of;
use crate::octopus_support::{api_post, create_account, task_log, wait_for_task};

/// Creates the IAM OIDC provider for the Octopus issuer and a role trusting `subject`.
async fn trust(sandbox: &Sandbox, role: &str, subject: &str) -> String {
    octo_oidc_testkit::aws::role_trusting(
        &sandbox.http_client().unwrap(),
        sandbox.urls().aws.as_deref().unwrap(),
        &sandbox.urls().octopus_issuer,
        octo_oidc_sandbox::tls::OCTOPUS_HOST,
        role,
        subject,
    )
    .await
}

async fn run_test(sandbox: &Sandbox, account_id: &str) -> Value {
    let (status, task) = api_post(
        sandbox,
        "/api/tasks",
        json!({
            "Name": "TestAccount", "Description": "Test account", "SpaceId": "Spaces-1",
            "Arguments": {"AccountId": account_id},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    wait_for_task(sandbox, task["Id"].as_str().unwrap()).await
}

#[tokio::test]
async fn aws_account_test_succeeds_and_fails_for_real() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let good_role = trust(&sandbox, "octopus-good", "space:default:account:aws-good").await;
    let (status, good) = create_account(&sandbox, json!({
            "AccountType": "AmazonWebServicesOidcAccount", "Region": "us-east-1", "Audience": "octopus.sandbox.localhost", "Name": "AWS Good", "RoleArn": good_role,
            "SessionDuration": "3600",
        })).await;
    assert_eq!(status, StatusCode::CREATED, "{good}");
    let task = run_test(&sandbox, good["Id"].as_str().unwrap()).await;
    assert_eq!(task["State"], "Success", "{task}");
    assert_eq!(task["FinishedSuccessfully"], true);

    // The trust policy expects another subject: STS says AccessDenied and the task says so.
    let (_, wrong) = create_account(&sandbox, json!({
        "AccountType": "AmazonWebServicesOidcAccount", "Region": "us-east-1", "Audience": "octopus.sandbox.localhost", "Name": "AWS Wrong", "RoleArn": good_role,
    })).await;
    let task = run_test(&sandbox, wrong["Id"].as_str().unwrap()).await;
    assert_eq!(task["State"], "Failed");
    let message = task["ErrorMessage"].as_str().unwrap();
    assert!(message.contains("AccessDenied"), "{message}");
    let log = task_log(&sandbox, &task).await.join("\n");
    assert!(
        log.contains("space:default:account:aws-wrong") && log.contains("AccessDenied"),
        "{log}"
    );

    // Longer than the role's maximum session (3600 by default): STS ValidationError.
    let long_role = trust(&sandbox, "octopus-long", "space:default:account:aws-long").await;
    let (_, long) = create_account(&sandbox, json!({
            "AccountType": "AmazonWebServicesOidcAccount", "Region": "us-east-1", "Audience": "octopus.sandbox.localhost", "Name": "AWS Long",
            "RoleArn": long_role, "SessionDuration": "7200",
        })).await;
    let task = run_test(&sandbox, long["Id"].as_str().unwrap()).await;
    assert_eq!(task["State"], "Failed");
    assert!(
        task["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("DurationSeconds"),
        "{task}"
    );

    // Deployment subjects end to end: a role trusting one project/environment.
    let deploy_role = trust(
        &sandbox,
        "octopus-deploy",
        "space:default:project:customer-portal:environment:production",
    )
    .await;
    let (_, deployer) = create_account(&sandbox, json!({
        "AccountType": "AmazonWebServicesOidcAccount", "Region": "us-east-1", "Audience": "octopus.sandbox.localhost", "Name": "AWS Deploy", "RoleArn": deploy_role,
        "DeploymentSubjectKeys": ["space", "project", "environment"],
    })).await;
    let (status, minted) = api_post(&sandbox, "/api/_sandbox/deployment-tokens", json!({
        "AccountId": deployer["Id"], "ProjectId": "customer-portal", "EnvironmentId": "production",
    })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(minted["Exchange"]["Succeeded"], true, "{minted}");
    let (_, other_env) = api_post(
        &sandbox,
        "/api/_sandbox/deployment-tokens",
        json!({
            "AccountId": deployer["Id"], "ProjectId": "customer-portal", "EnvironmentId": "staging",
        }),
    )
    .await;
    assert_eq!(other_env["Exchange"]["Succeeded"], false);
    assert!(
        other_env["Exchange"]["Message"]
            .as_str()
            .unwrap()
            .contains("AccessDenied")
    );
    sandbox.shutdown().await.unwrap();
}

/// A Graph access token for the sandbox's admin user (auth code + PKCE, auto-approved).
async fn graph_token(sandbox: &Sandbox) -> String {
    use octo_oidc_sandbox::entra::{DEFAULT_USER, WIZARD_CLIENT_ID};
    const VERIFIER: &str = "dBjftJeZ4CVP-mB0unH1R5wP3BvRpqKaEXQ9ZzW81Eo";
    const CHALLENGE: &str = "vkUdBGTqfin0AQyt7-ydwNqDU9kPQ-FS65lyA3S3tio";
    let authority = sandbox.urls().azure_authority.clone().unwrap();
    let scope = "https://graph.microsoft.com/.default offline_access openid";
    let redirect = "http://localhost:8400";
    sandbox.entra().set_auto_approve_user(Some(DEFAULT_USER));
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(sandbox.ca_pem().as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url =
        url::Url::parse(&format!("{authority}/organizations/oauth2/v2.0/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", WIZARD_CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", scope)
        .append_pair("state", "s")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let body = json_of(
        http.post(format!("{authority}/organizations/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", WIZARD_CLIENT_ID),
                ("code", code.as_str()),
                ("redirect_uri", redirect),
                ("code_verifier", VERIFIER),
                ("scope", scope),
            ]),
    )
    .await;
    body["access_token"].as_str().unwrap().to_string()
}

async fn graph(sandbox: &Sandbox, token: &str, path: &str, body: Value) -> Value {
    let r = sandbox
        .http_client()
        .unwrap()
        .post(format!(
            "{}/v1.0/{path}",
            sandbox.urls().graph.as_deref().unwrap()
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn azure_account_test_succeeds_and_fails_for_real() {
    use octo_oidc_sandbox::entra::DEFAULT_TENANT_ID;
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let token = graph_token(&sandbox).await;
    let app = graph(
        &sandbox,
        &token,
        "applications",
        json!({"displayName": "Octopus"}),
    )
    .await;
    graph(
        &sandbox,
        &token,
        "servicePrincipals",
        json!({"appId": app["appId"]}),
    )
    .await;
    let issuer = sandbox.urls().octopus_issuer.clone();
    graph(&sandbox, &token, &format!("applications/{}/federatedIdentityCredentials", app["id"].as_str().unwrap()), json!({
        "name": "octopus-account-test", "issuer": issuer,
        "subject": "space:default:account:azure-ok", "audiences": ["api://AzureADTokenExchange"],
    }))
    .await;
    let account = |name: &str| {
        json!({
            "AccountType": "AzureOidc", "Name": name,
            "SubscriptionNumber": "3f6a3a2e-1b2c-4d5e-8f90-0a1b2c3d4e5f",
            "ClientId": app["appId"], "TenantId": DEFAULT_TENANT_ID,
        })
    };
    let (status, ok) = create_account(&sandbox, account("Azure OK")).await;
    assert_eq!(status, StatusCode::CREATED, "{ok}");
    let task = run_test(&sandbox, ok["Id"].as_str().unwrap()).await;
    assert_eq!(task["State"], "Success", "{task}");

    // No federated credential for this account's subject: Entra's own AADSTS error.
    let (_, other) = create_account(&sandbox, account("Azure Other")).await;
    let task = run_test(&sandbox, other["Id"].as_str().unwrap()).await;
    assert_eq!(task["State"], "Failed");
    let message = task["ErrorMessage"].as_str().unwrap();
    assert!(message.contains("AADSTS"), "{message}");

    // Entra failing: the task fails with the HTTP status, and passes again afterwards.
    sandbox.faults().add(
        octo_oidc_sandbox::faults::FaultRule::for_service("entra")
            .fault(octo_oidc_sandbox::faults::FaultKind::ServerError { status: 503 })
            .times(1),
    );
    let task = run_test(&sandbox, ok["Id"].as_str().unwrap()).await;
    assert_eq!(task["State"], "Failed");
    assert!(
        task["ErrorMessage"].as_str().unwrap().contains("503"),
        "{task}"
    );
    let task = run_test(&sandbox, ok["Id"].as_str().unwrap()).await;
    assert_eq!(task["State"], "Success", "{task}");
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_aws_account_saved_without_a_region_fails_the_2026_account_test() {
    // Saved by a 2025.4 server (no Region), then tested after an upgrade to 2026.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let old = Sandbox::start(SandboxOptions {
        octopus_version: "2025.4.10333".into(),
        state_file: Some(state.clone()),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let role = trust(&old, "octopus-legacy", "space:default:account:aws-legacy").await;
    let (status, legacy) = create_account(
        &old,
        json!({
            "AccountType": "AmazonWebServicesOidcAccount", "Name": "AWS Legacy",
            "RoleArn": role, "SessionDuration": "3600",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{legacy}");
    let task = run_test(&old, legacy["Id"].as_str().unwrap()).await;
    assert_eq!(task["State"], "Success", "2025.4 tests it: {task}");
    old.shutdown().await.unwrap();

    let upgraded = Sandbox::start(SandboxOptions {
        state_file: Some(state),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let task = run_test(&upgraded, legacy["Id"].as_str().unwrap()).await;
    assert_eq!(task["State"], "Failed", "{task}");
    assert_eq!(
        task["ErrorMessage"],
        "A region is required when creating or updating AWS accounts."
    );
    upgraded.shutdown().await.unwrap();
}
