//! `octo-oidc verify --account`: an Octopus OIDC account that exists, verified from the
//! account itself — one made by `apply`, and ones made by hand through the sandbox's own
//! HTTP APIs (Octopus, IAM, Graph), never by the engine — with exit codes 0 / 1 / 2.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::support::{SandboxProcess, assert_mentions, iam};

/// The account of the sandbox's issuer host (`https://octopus.sandbox.localhost`).
const HOST: &str = "octopus.sandbox.localhost";
const AWS_ACCOUNT: &str = "123456789012";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SUBSCRIPTION: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";

/// A setup whose scope is exactly what its account can be used for: every project in
/// `environments`, untenanted (the tenant key keeps tenanted runs apart).
fn setup(target: &str, label: &str, environments: &str, cloud: &str) -> String {
    format!(
        r#"version = 1
name = "{label}"
target = "{target}"

[octopus]
space = "Default"

[scope]
projects = ["*"]
environments = [{environments}]

[subject_keys]
deployment = ["space", "tenant", "environment"]

[account]
name = "{label} (OIDC)"

{cloud}
"#
    )
}

/// Writes [`setup`] to `TARGET.toml` in the sandbox's folder.
fn write_setup(
    sb: &SandboxProcess,
    target: &str,
    label: &str,
    environments: &str,
    cloud: &str,
) -> std::path::PathBuf {
    sb.write(
        &format!("{target}.toml"),
        &setup(target, label, environments, cloud),
    )
}

fn checks(out: &Value) -> Vec<Value> {
    out["checks"].as_array().cloned().unwrap_or_default()
}

#[test]
fn accounts_made_by_apply_verify_by_name_and_by_id() {
    let sb = SandboxProcess::start();
    let aws = write_setup(
        &sb,
        "aws",
        "qa-aws",
        r#""production""#,
        "[aws]\nrole_name = \"octopus-qa\"\nregion = \"eu-west-1\"",
    );
    let azure = write_setup(
        &sb,
        "azure",
        "qa-azure",
        r#""production", "staging""#,
        &format!(
            "[azure]\ntenant_id = \"{TENANT}\"\nsubscription_id = \"{SUBSCRIPTION}\"\nrole = \"Contributor\""
        ),
    );
    for file in [&aws, &azure] {
        sb.cli(&["apply", "--yes", file.to_str().unwrap()])
            .expect_code(0);
    }

    let by_name = sb
        .cli(&["verify", "--account", "qa-aws (OIDC)"])
        .expect_code(0);
    assert_mentions(
        &by_name.stdout,
        &[
            "Verify passed.",
            "info Cloud ownership: role octopus-qa: role octopus-qa carries the mark of the octo-oidc setup 'qa-aws'",
        ],
    );
    assert!(
        by_name
            .stdout
            .contains("ok   AccountTest qa-aws (OIDC): the account test")
    );

    let id = sb.accounts_named("qa-azure (OIDC)")[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let by_id = sb
        .cli(&["verify", "--account", &id, "--space", "Default", "--json"])
        .expect_code(0);
    let out = by_id.json();
    assert_eq!(out["exit_code"], 0);
    assert_eq!(out["verdict"], "passed");
    assert_eq!(out["account_id"], id.as_str());
    assert_eq!(out["account_type"], "AzureOidc");
    let all = checks(&out);
    let area = |a: &str| all.iter().filter(|c| c["area"] == a).count();
    assert!(
        area("simulation") >= 1 && area("account_test") == 1,
        "{out}"
    );
    assert!(
        all.iter()
            .any(|c| c["area"] == "token_trade" && c["passed"] == true),
        "in the sandbox the account's runs are traded with Entra: {out}"
    );
}

#[test]
fn a_hand_made_aws_account_whose_trust_is_too_wide_exits_1_naming_it() {
    let sb = SandboxProcess::start();
    let issuer = sb.vars["OCTOPUS_ISSUER"].clone();
    let (status, body) = iam(
        &sb,
        &[
            ("Action", "CreateOpenIDConnectProvider"),
            ("Url", &issuer),
            ("ClientIDList.member.1", HOST),
            (
                "ThumbprintList.member.1",
                "0000000000000000000000000000000000000000",
            ),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{AWS_ACCOUNT}:oidc-provider/{HOST}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {format!("{HOST}:aud"): HOST},
                "StringLike": {format!("{HOST}:sub"): "space:default:*"}
            }
        }]
    });
    let (status, body) = iam(
        &sb,
        &[
            ("Action", "CreateRole"),
            ("RoleName", "hand-made-deployer"),
            ("AssumeRolePolicyDocument", &policy.to_string()),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let production = sb.environment_id("production");
    sb.octopus_json(
        "POST",
        "/api/Spaces-1/accounts",
        &json!({
            "AccountType": "AmazonWebServicesOidcAccount",
            "Name": "Hand-made AWS",
            "RoleArn": format!("arn:aws:iam::{AWS_ACCOUNT}:role/hand-made-deployer"),
            "Audience": HOST,
            "Region": "eu-west-1",
            "SessionDuration": "3600",
            "EnvironmentIds": [production],
            "TenantedDeploymentParticipation": "Untenanted",
            "DeploymentSubjectKeys": ["space", "tenant", "environment"],
        }),
    );

    let run = sb
        .cli(&["verify", "--account", "Hand-made AWS"])
        .expect_code(1);
    let out = &run.stdout;
    assert!(
        out.contains("FAIL Simulation Hand-made AWS: space:default:environment:staging: accepted but outside the scope"),
        "{out}"
    );
    assert!(
        out.contains("fix: Narrow the role's trust policy (its sub condition) to the account's environments and tenants"),
        "{out}"
    );
    assert!(
        out.contains("role hand-made-deployer has no octo-oidc mark"),
        "{out}"
    );
    assert!(out.contains("ok   AccountTest Hand-made AWS"), "{out}");
    assert!(
        !out.contains("octo-oidc apply"),
        "no apply fix for an account not ours: {out}"
    );
    assert!(out.contains("Verify found"), "{out}");
}

#[test]
fn a_hand_made_azure_account_missing_a_credential_exits_1_naming_it() {
    let sb = SandboxProcess::start();
    let issuer = sb.vars["OCTOPUS_ISSUER"].clone();
    let app = sb.graph(
        "POST",
        "applications",
        Some(json!({"displayName": "hand-made-deployer"})),
    );
    let (object_id, client_id) = (
        app["id"].as_str().unwrap().to_string(),
        app["appId"].as_str().unwrap().to_string(),
    );
    sb.graph(
        "POST",
        "servicePrincipals",
        Some(json!({"appId": client_id})),
    );
    // Production and the account test only: the account may also deploy to staging.
    for (name, subject) in [
        ("production", "space:default:environment:production"),
        ("test", "space:default:account:hand-made-azure"),
    ] {
        sb.graph(
            "POST",
            &format!("applications/{object_id}/federatedIdentityCredentials"),
            Some(json!({
                "name": name,
                "issuer": issuer,
                "subject": subject,
                "audiences": ["api://AzureADTokenExchange"],
            })),
        );
    }
    let environments = [
        sb.environment_id("production"),
        sb.environment_id("staging"),
    ];
    sb.octopus_json(
        "POST",
        "/api/Spaces-1/accounts",
        &json!({
            "AccountType": "AzureOidc",
            "Name": "Hand-made Azure",
            "Slug": "hand-made-azure",
            "SubscriptionNumber": SUBSCRIPTION,
            "ClientId": client_id,
            "TenantId": TENANT,
            "Audience": "api://AzureADTokenExchange",
            "EnvironmentIds": environments,
            "TenantedDeploymentParticipation": "Untenanted",
            "DeploymentSubjectKeys": ["space", "tenant", "environment"],
        }),
    );

    let run = sb
        .cli(&["verify", "--account", "Hand-made Azure", "--json"])
        .expect_code(1);
    let out = run.json();
    assert_eq!(out["verdict"], "problems_found");
    let all = checks(&out);
    let failed: Vec<&Value> = all
        .iter()
        .filter(|c| c["passed"] == false && c["blocking"] == true)
        .collect();
    assert!(
        failed.iter().any(|c| c["area"] == "simulation"
            && c["message"]
                .as_str()
                .unwrap()
                .starts_with("space:default:environment:staging: in the scope but rejected")),
        "{out}"
    );
    assert!(
        failed
            .iter()
            .all(|c| c["message"].as_str().unwrap().contains("staging")),
        "only staging is missing: {out}"
    );
    let missing = failed.iter().find(|c| c["area"] == "simulation").unwrap();
    assert_eq!(
        missing["comparison"]["trusted"],
        "space:default:environment:production"
    );
    assert!(
        missing["fix"]
            .as_str()
            .unwrap()
            .starts_with("Add the run's subject to the app's federated credentials"),
        "{out}"
    );
}

#[test]
fn unknown_and_non_oidc_accounts_exit_2_before_any_cloud_call() {
    let sb = SandboxProcess::start();
    sb.octopus_json(
        "POST",
        "/api/Spaces-1/accounts",
        &json!({
            "AccountType": "UsernamePassword",
            "Name": "Legacy login",
            "Username": "deployer",
            "Password": {"HasValue": true, "NewValue": "not-a-real-password"},
        }),
    );
    sb.clear_requests();

    let unknown = sb
        .cli(&["verify", "--account", "No such account"])
        .expect_code(2);
    assert_mentions(
        &unknown.stderr,
        &["account: no account named or with id 'No such account' in space Default"],
    );

    let legacy = sb
        .cli(&["verify", "--account", "Legacy login", "--json"])
        .expect_code(2);
    let out = legacy.json();
    let field = &out["error"]["field_errors"][0];
    assert_eq!(field["field"], "account");
    assert!(
        field["problem"]
            .as_str()
            .unwrap()
            .contains("type UsernamePassword, not an OIDC account"),
        "{out}"
    );
    assert!(
        field["fix"].as_str().unwrap().contains("AzureOidc"),
        "{out}"
    );
    assert!(!out.to_string().contains("not-a-real-password"));

    let services: Vec<String> = sb
        .requests()
        .into_iter()
        .map(|r| r["service"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        services.iter().all(|s| s == "octopus"),
        "only Octopus was asked: {services:?}"
    );
    assert!(sb.mutating_requests().is_empty());

    let both = sb.cli(&["verify", "setup.toml", "--account", "Legacy login"]);
    assert_eq!(both.code, 2, "{}", both.stderr);
    assert_mentions(&both.stderr, &["cannot be used with"]);
}

/// A Google Cloud OIDC account made by apply, verified by name with the service account its
/// steps impersonate: it passes (the sandbox's STS and `generateAccessToken` trade its runs);
/// once the provider's attribute condition (changed through Google's API behind the
/// account's back) excludes staging, one of the account's environments, verify exits 1
/// naming staging.
#[test]
fn a_google_account_verifies_and_a_condition_excluding_its_environment_exits_1() {
    let sb = SandboxProcess::start();
    let project = sb.vars["GCP_PROJECT_ID"].clone();
    let number = sb.vars["GCP_PROJECT_NUMBER"].clone();
    let file = write_setup(
        &sb,
        "gcp",
        "qa-gcp",
        r#""production", "staging""#,
        &format!("[gcp]\nproject = \"{project}\"\nroles = [\"roles/storage.objectViewer\"]"),
    );
    let applied = sb
        .cli(&["apply", "--yes", "--json", file.to_str().unwrap()])
        .expect_code(0);
    let email = applied.json()["google_service_account"]
        .as_str()
        .unwrap()
        .to_string();
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "--account", "qa-gcp (OIDC)"];
        args.extend_from_slice(extra);
        sb.cli(&args)
    };

    let missing = verify(&[]);
    assert_eq!(missing.code, 2, "{}{}", missing.stdout, missing.stderr);
    assert_mentions(&missing.stderr, &["gcp.service_account"]);

    let passed = verify(&["--gcp-service-account", &email, "--json"]);
    assert_eq!(passed.code, 0, "{}{}", passed.stdout, passed.stderr);
    let out = passed.json();
    assert_eq!(out["verdict"], "passed", "{out}");
    assert_eq!(out["account_type"], "GoogleCloudOidcAccount");
    let all = checks(&out);
    assert!(
        all.iter().any(|c| c["area"] == "token_trade"
            && c["passed"] == true
            && c["name"] == "space:default:environment:staging"),
        "the account's staging runs are traded with Google: {out}"
    );
    assert!(
        all.iter()
            .any(|c| c["area"] == "account_test" && c["passed"] == true),
        "{out}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let _in_runtime = rt.enter();
    let client = crate::support::google(&sb);
    let provider = octo_oidc_core::gcp::ProviderRef {
        project_number: number,
        pool_id: "octo-qa-gcp".into(),
        provider_id: "octopus".into(),
    };
    rt.block_on(crate::support::set_provider_condition(
        &client,
        &provider,
        "!assertion.sub.contains(':environment:staging')",
    ));
    let failed = verify(&["--gcp-service-account", &email]);
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    let text = &failed.stdout;
    let fails: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        fails.iter().any(|l| l.starts_with("FAIL Simulation")
            && l.contains("environment:staging")
            && l.contains("in the scope but rejected")),
        "{text}"
    );
    assert!(
        fails.iter().all(|l| l.contains("staging")),
        "only staging is excluded: {text}"
    );
    assert!(
        !text.contains("octo-oidc apply"),
        "fixes say what to change by hand: {text}"
    );
}

/// The deployment targets that use an account are part of the scope verify derives: a
/// Kubernetes target signing in with an AWS account made by apply (whose setup listed no
/// health-check target) shows in the account's usages, and verify --account exits 1 naming
/// the target's health-check subject; once the setup lists the target and apply widens the
/// trust, verify --account passes.
#[test]
fn health_checks_of_the_targets_using_the_account_are_in_its_scope() {
    let sb = SandboxProcess::start();
    let text = setup(
        "aws",
        "qa-hc",
        r#""production""#,
        "[aws]\nrole_name = \"octopus-qa-hc\"\nregion = \"eu-west-1\"",
    );
    let file = sb.write("aws.toml", &text);
    let file = file.to_str().unwrap();
    sb.cli(&["apply", "--yes", file]).expect_code(0);
    let account_id = sb.accounts_named("qa-hc (OIDC)")[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let production = sb.environment_id("production");
    let target = sb.octopus_json(
        "POST",
        "/api/Spaces-1/machines",
        &json!({
            "Name": "EKS production",
            "Roles": ["eks"],
            "EnvironmentIds": [production],
            "Endpoint": {
                "CommunicationStyle": "Kubernetes",
                "ClusterUrl": "https://eks.example.com",
                "Authentication": {
                    "AuthenticationType": "KubernetesAws",
                    "AccountId": account_id,
                    "ClusterName": "production",
                    "AssumeRole": false,
                    "UseInstanceRole": false,
                },
            },
        }),
    );
    assert_eq!(target["Slug"], "eks-production", "{target}");
    let (status, usages) = sb.octopus(
        "GET",
        &format!("/api/Spaces-1/accounts/{account_id}/usages"),
    );
    assert_eq!(status, 200, "{usages}");
    let usages: Value = serde_json::from_str(&usages).unwrap();
    assert_eq!(usages["Targets"][0]["TargetId"], target["Id"], "{usages}");

    let run = sb
        .cli(&["verify", "--account", "qa-hc (OIDC)"])
        .expect_code(1);
    let fails: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .collect();
    assert!(
        fails.iter().any(|l| l.starts_with(
            "FAIL Simulation qa-hc (OIDC): space:default:target:eks-production: in the scope but rejected"
        )),
        "{}",
        run.stdout
    );
    assert!(
        fails.iter().all(|l| l.contains("target:eks-production")),
        "only the target's health check is missing: {}",
        run.stdout
    );

    let widened = text.replace(
        "[subject_keys]",
        "health_check_targets = [\"eks-production\"]\n\n[subject_keys]",
    );
    let file = sb.write("aws.toml", &widened);
    sb.cli(&["apply", "--yes", file.to_str().unwrap()])
        .expect_code(0);
    let passed = sb
        .cli(&["verify", "--account", "qa-hc (OIDC)", "--json"])
        .expect_code(0);
    let simulation: Vec<Value> = checks(&passed.json())
        .into_iter()
        .filter(|c| c["area"] == "simulation")
        .collect();
    assert!(
        simulation.iter().all(|c| c["passed"] == true),
        "{simulation:#?}"
    );
}
