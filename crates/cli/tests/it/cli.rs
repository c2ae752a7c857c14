//! Runs the real `octo-oidc` binary.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Output};

fn octo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_octo-oidc"))
        .args(args)
        .output()
        .unwrap()
}

/// `octo-oidc simulate --config CONFIG --iss ISS ARGS`.
fn simulate(config: &str, iss: &str, args: &[&str]) -> Output {
    let mut all = vec!["simulate", "--config", config, "--iss", iss];
    all.extend_from_slice(args);
    octo(&all)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn file(content: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(content.as_bytes()).unwrap();
    f
}

#[test]
fn subject_issue_example_drops_the_missing_tenant() {
    let o = octo(&[
        "subject",
        "--context",
        "deployment",
        "--keys",
        "space,project,tenant,environment",
        "--space",
        "default",
        "--project",
        "web",
        "--environment",
        "production",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "space:default:project:web:environment:production\n"
    );
}

#[test]
fn subject_reference_runbook_example_and_defaults() {
    let o = octo(&[
        "subject",
        "--context",
        "runbook",
        "--keys",
        "type,runbook,project,space",
        "--space",
        "default",
        "--project",
        "deploy-web-app",
        "--runbook",
        "restart",
    ]);
    assert_eq!(
        stdout(&o),
        "space:default:project:deploy-web-app:runbook:restart:type:runbook\n"
    );
    let o = octo(&[
        "subject",
        "--context",
        "account-test",
        "--space",
        "default",
        "--account",
        "aws-prod",
    ]);
    assert_eq!(stdout(&o), "space:default:account:aws-prod\n");
    let o = octo(&[
        "subject",
        "--context",
        "health",
        "--space",
        "default",
        "--target",
        "web-01",
    ]);
    assert_eq!(stdout(&o), "space:default:target:web-01\n");
}

#[test]
fn subject_key_not_allowed_is_an_error() {
    let o = octo(&[
        "subject",
        "--context",
        "account-test",
        "--keys",
        "space,environment",
        "--space",
        "default",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("key 'environment' is not allowed for account-test subjects"),
        "{}",
        stderr(&o)
    );
    let o = octo(&["subject", "--context", "nope", "--space", "default"]);
    assert!(!o.status.success());
    let o = octo(&["subject", "--keys", "space,projekt", "--space", "default"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown subject key 'projekt'"));
}

const AZURE: &str = r#"{"kind":"azure","credentials":[{"name":"prod","issuer":"https://example.octopus.app/",
  "subject":"space:default:project:web:environment:production","audiences":["api://AzureADTokenExchange"]}]}"#;

#[test]
fn simulate_one_token_against_azure() {
    let cfg = file(AZURE);
    let path = cfg.path().to_str().unwrap();
    let o = simulate(
        path,
        "https://example.octopus.app/",
        &["--sub", "space:default:project:web:environment:production"],
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).starts_with("accepted: matches federated credential 'prod'"));
    let o = simulate(
        path,
        "https://example.octopus.app",
        &["--sub", "x", "--json"],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["error"]["code"], "AADSTS700211");
    assert_eq!(v["field"], "iss");
}

#[test]
fn simulate_aws_policy_given_as_object() {
    let cfg = file(
        r#"{"kind":"aws","role_arn":"arn:aws:iam::111122223333:role/octopus",
        "providers":[{"url":"https://example.octopus.app","client_ids":["example.octopus.app"]}],
        "trust_policy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
          "Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/example.octopus.app"},
          "Action":"sts:AssumeRoleWithWebIdentity",
          "Condition":{"StringEquals":{"example.octopus.app:aud":"example.octopus.app"},
                       "StringLike":{"example.octopus.app:sub":["space:default:project:web:*","space:default:account:aws"]}}}]}}"#,
    );
    let path = cfg.path().to_str().unwrap();
    let ok = simulate(
        path,
        "https://example.octopus.app",
        &["--sub", "space:default:account:aws"],
    );
    assert!(ok.status.success(), "{}{}", stdout(&ok), stderr(&ok));
    let denied = simulate(
        path,
        "https://example.octopus.app",
        &["--sub", "space:default:project:api:environment:dev"],
    );
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        stdout(&denied).contains("service error: AccessDenied"),
        "{}",
        stdout(&denied)
    );
    let bad_aud = simulate(
        path,
        "https://example.octopus.app",
        &["--aud", "sts.amazonaws.com", "--sub", "x"],
    );
    assert!(stdout(&bad_aud).contains("Incorrect token audience"));
}

#[test]
fn simulate_whole_scope_flags_over_permission() {
    let cfg = file(&AZURE.replace("project:web:", ""));
    // Coarse keys [space, environment]: the credential for production also admits `api`.
    let scope = file(
        r#"{"inventory":{"space":{"id":"Spaces-1","name":"Default","slug":"default"},
            "account":{"id":"Accounts-1","name":"Azure","slug":"azure"},
            "projects":[{"id":"Projects-1","name":"Web","slug":"web","project_group_id":"ProjectGroups-1"},
                        {"id":"Projects-2","name":"Api","slug":"api","project_group_id":"ProjectGroups-1"}],
            "environments":[{"id":"Environments-1","name":"Production","slug":"production"}]},
          "selection":{"contexts":["deployment"],"projects":{"only":["Projects-1"]},"runbooks":"all",
            "environments":"all","tenants":{"only":[]},"untenanted":true,"targets":"all"},
          "keys":{"deployment":["space","environment"]}}"#,
    );
    let o = octo(&[
        "simulate",
        "--config",
        cfg.path().to_str().unwrap(),
        "--scope",
        scope.path().to_str().unwrap(),
        "--iss",
        "https://example.octopus.app/",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(m["runs"], 3); // two deployments and the account test
    assert_eq!(m["over_permission"], 1);
    assert_eq!(m["under_permission"], 1); // the account test has no credential
    let flagged: Vec<&str> = crate::support::each_str(&m["rows"], "finding");
    assert_eq!(flagged, vec!["over_permission", "under_permission"]);
}
