//! The setup commands as a user runs them: the real `octo-oidc` binary against an
//! `octo-oidc sandbox --env-file` process, proven by the sandbox's own state and its request
//! log (`/_sandbox/requests`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{
    Run, SandboxProcess, assert_mentions, azure_setup, github_setup, http_with_body, iam, run,
    scoped_setup, steps,
};

/// The AWS setup of the flow tests: two projects, so the role trusts two subjects.
fn shop_aws() -> String {
    scoped_setup(
        "shop-aws",
        "aws",
        &["customer-portal", "order-portal"],
        &["production"],
        "AWS shop (OIDC)",
        r#"[aws]
role_name = "octopus-shop"
region = "eu-west-1"
managed_policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
"#,
    )
}

#[test]
fn aws_plan_apply_verify_rerun_tamper_repair_teardown() {
    let sandbox = SandboxProcess::start();
    // Someone else's role, there before us: never touched.
    let foreign_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let (status, body) = iam(
        &sandbox,
        &[
            ("Action", "CreateRole"),
            ("RoleName", "unrelated-role"),
            ("AssumeRolePolicyDocument", foreign_policy),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let file = sandbox.write("aws.toml", &shop_aws());
    let file = file.to_str().unwrap();

    let plan = sandbox.cli(&["plan", "--json", file]).expect_code(0);
    let first = steps(&plan.json());
    assert_eq!(
        first,
        [
            ("create".to_string(), "oidc_provider".to_string()),
            ("create".to_string(), "iam_role".to_string()),
            ("create".to_string(), "octopus_account".to_string()),
        ]
    );
    assert_eq!(sandbox.cli(&["plan", "--detailed-exitcode", file]).code, 4);

    let apply = sandbox
        .cli(&["apply", "--yes", "--json", file])
        .expect_code(0);
    let applied = apply.json();
    let provider_arn = applied["report"]["outputs"]["oidc_provider.arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(applied["command"].as_str().unwrap().contains("apply --yes"));

    sandbox.cli(&["verify", file]).expect_code(0);
    assert_eq!(
        sandbox.cli(&["plan", "--detailed-exitcode", file]).code,
        0,
        "second plan: no changes"
    );
    sandbox.clear_requests();
    assert_eq!(sandbox.cli(&["apply", "--yes", file]).code, 0);
    assert!(
        sandbox
            .requests()
            .iter()
            .any(|r| r["service"] == "iam" && r["operation"] == "GetRole"),
        "the rerun looked"
    );
    assert_eq!(sandbox.mutating_requests(), Vec::<String>::new());

    // Tamper: the trust policy loses its `sub` condition (any run of the server may assume it).
    let host = provider_arn.rsplit('/').next().unwrap();
    let loose = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider_arn}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"{host}:aud":"{host}"}}}}}}]}}"#
    );
    let (status, body) = iam(
        &sandbox,
        &[
            ("Action", "UpdateAssumeRolePolicy"),
            ("RoleName", "octopus-shop"),
            ("PolicyDocument", &loose),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let broken = sandbox.cli(&["verify", file]).expect_code(1);
    assert_mentions(
        &broken.stdout,
        &[
            "iam_role 'octopus-shop' drifted",
            "accepted but outside the scope",
        ],
    );
    sandbox.assert_repaired_then_torn_down(file);
    let (status, body) = iam(
        &sandbox,
        &[("Action", "GetRole"), ("RoleName", "unrelated-role")],
    );
    assert_eq!(status, 200, "the unrelated role is still there: {body}");
}

/// Deletes a federated credential the way someone in the portal would: through Graph as
/// the sandbox's administrator.
fn delete_credential(sandbox: &SandboxProcess, app_object_id: &str, name: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use octo_oidc_core::ports::EntraApps;
        let (_, session) = sandbox.azure_admin();
        let graph =
            octo_oidc_azure::graph::GraphEntraApps::new(session, &sandbox.vars["GRAPH_URL"])
                .in_tenant(&sandbox.vars["AZURE_TENANT_ID"]);
        graph
            .delete_federated_credential(app_object_id, name)
            .await
            .unwrap();
    });
}

#[test]
fn azure_plan_apply_verify_rerun_tamper_repair_teardown() {
    let sandbox = SandboxProcess::start();
    let file = sandbox.write("azure.toml", &azure_setup("shop"));
    let file = file.to_str().unwrap();

    let plan = sandbox.cli(&["plan", "--json", file]).expect_code(0);
    let first = steps(&plan.json());
    assert!(first.iter().all(|(a, _)| a == "create"), "{first:?}");
    for kind in [
        "app_registration",
        "service_principal",
        "federated_credential",
        "role_assignment",
        "octopus_account",
    ] {
        assert!(first.iter().any(|(_, k)| k == kind), "{kind} in {first:?}");
    }
    sandbox
        .cli(&["plan", "--detailed-exitcode", file])
        .expect_code(4);

    let apply = sandbox
        .cli(&["apply", "--yes", "--json", file])
        .expect_code(0);
    let applied = apply.json();
    assert!(
        applied["command"]
            .as_str()
            .unwrap()
            .starts_with("octo-oidc apply --yes --sandbox ")
    );
    let app_object_id = applied["report"]["outputs"]["app_registration.object_id"]
        .as_str()
        .unwrap()
        .to_string();

    let verify = sandbox.cli(&["verify", file]).expect_code(0);
    assert_mentions(&verify.stdout, &["Verify passed."]);

    let again = sandbox
        .cli(&["plan", "--detailed-exitcode", "--json", file])
        .expect_code(0);
    assert!(steps(&again.json()).iter().all(|(a, _)| a == "unchanged"));

    sandbox.clear_requests();
    sandbox.cli(&["apply", "--yes", file]).expect_code(0);
    assert!(!sandbox.requests().is_empty(), "the rerun observed");
    assert_eq!(sandbox.mutating_requests(), Vec::<String>::new());

    // Tamper: someone deletes the production credential in the portal.
    let credential = first_credential_named(&again.json(), "project");
    delete_credential(&sandbox, &app_object_id, &credential);
    let broken = sandbox.cli(&["verify", file]).expect_code(1);
    assert_mentions(&broken.stdout, &[&credential, "missing"]);
    sandbox.assert_repaired_then_torn_down(file);
    // The sandbox's own administrator app (not ours) is untouched.
    sandbox.cli(&["status", file]).expect_code(0);
    let admin_still_signs_in = {
        let v = &sandbox.vars;
        !v["AZURE_CLIENT_ID"].is_empty()
    };
    assert!(admin_still_signs_in);
}

fn first_credential_named(plan: &Value, fragment: &str) -> String {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "federated_credential")
        .map(|s| s["name"].as_str().unwrap().to_string())
        .find(|n| n.contains(fragment))
        .unwrap()
}

#[test]
fn github_apply_prints_the_workflow_snippet_and_repairs_a_deleted_identity() {
    let sandbox = SandboxProcess::start();
    // A service account that is not ours, with an identity of its own: left untouched.
    let file = sandbox.write("github.toml", &github_setup("shop"));
    let file = file.to_str().unwrap();
    let plan = sandbox.cli(&["plan", "--json", file]).expect_code(0);
    let kinds: Vec<String> = steps(&plan.json()).into_iter().map(|(_, k)| k).collect();
    assert_eq!(kinds, ["service_account", "oidc_identity"]);
    let identity = &plan.json()["steps"][1]["details"]["spec"];
    assert_eq!(
        identity["issuer"].as_str(),
        Some(sandbox.vars["GITHUB_ISSUER"].as_str()),
        "a GitHub setup trusts the sandbox's GitHub-style issuer"
    );

    let apply = sandbox
        .cli(&["apply", "--yes", "--json", file])
        .expect_code(0);
    let applied = apply.json();
    let outputs = &applied["report"]["outputs"];
    let external_id = outputs["oidc_identity.external_id"].as_str().unwrap();
    let snippet = applied["snippet"].as_str().unwrap();
    assert!(snippet.contains("OctopusDeploy/login"), "{snippet}");
    assert!(snippet.contains("id-token: write"), "{snippet}");
    assert!(snippet.contains(external_id), "{snippet}");
    assert!(snippet.contains(&sandbox.vars["OCTOPUS_URL"]), "{snippet}");

    // Verify trades workflow tokens of the sandbox's GitHub-style issuer at /token/v1: the
    // filter's branch is accepted, another branch, another repository and a pull request not.
    let verify = sandbox.cli(&["verify", "--json", file]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
    let trades: Vec<(String, String)> = trade_checks(&verify)
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap();
            let message = c["message"].as_str().unwrap();
            (
                name.split(' ').next().unwrap().to_string(),
                message.to_string(),
            )
        })
        .collect();
    let subjects: Vec<&str> = trades.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "repo:acme/shop:ref:refs/heads/main",
            "repo:acme/shop:ref:refs/heads/develop",
            "repo:acme/shop-fork:ref:refs/heads/main",
            "repo:acme/shop:pull_request",
        ],
        "{trades:#?}"
    );
    assert_eq!(trades[0].1, "in scope: accepted", "{trades:#?}");
    assert!(
        trades[1..]
            .iter()
            .all(|(_, m)| m.starts_with("outside the scope: rejected")),
        "{trades:#?}"
    );
    assert_eq!(sandbox.cli(&["plan", "--detailed-exitcode", file]).code, 0);
    sandbox.clear_requests();
    assert_eq!(sandbox.cli(&["apply", "--yes", file]).code, 0);
    assert_eq!(sandbox.mutating_requests(), Vec::<String>::new());

    // Tamper: the identity's subject is changed in Octopus → the in-scope run is refused,
    // its sub shown beside the identity's with the first difference marked.
    let sa = outputs["service_account.id"].as_str().unwrap();
    let id = outputs["oidc_identity.identity_id"].as_str().unwrap();
    let path = format!("/api/serviceaccounts/{sa}/oidcidentities/{id}/v1");
    let (status, body) = sandbox.octopus("GET", &path);
    assert_eq!(status, 200, "{body}");
    let mut identity: Value = serde_json::from_str(&body).unwrap();
    identity["Subject"] = "repo:acme/shop:ref:refs/heads/mainline".into();
    identity["ServiceAccountId"] = sa.into();
    let (status, body) = http_with_body(
        &sandbox.vars["OCTOPUS_URL"],
        "PUT",
        &path,
        Some(&sandbox.vars["OCTOPUS_API_KEY"]),
        Some(&identity.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    let broken = sandbox.cli(&["verify", file]);
    assert_eq!(broken.code, 1, "{}", broken.stdout);
    let out = &broken.stdout;
    assert!(
        out.lines().any(|l| l.starts_with(
            "FAIL TokenTrade repo:acme/shop:ref:refs/heads/main (push to main): in scope but rejected"
        )),
        "{out}"
    );
    assert!(
        out.contains("the OIDC identity's subject does not match the run"),
        "{out}"
    );
    assert!(
        out.contains("sub token:   repo:acme/shop:ref:refs/heads/main\n")
            && out.contains("trusted: repo:acme/shop:ref:refs/heads/mainline\n"),
        "{out}"
    );
    let marker = format!(
        "{}^",
        " ".repeat(16 + "repo:acme/shop:ref:refs/heads/main".len())
    );
    assert!(out.lines().any(|l| l == marker), "{out}");
    assert_eq!(sandbox.cli(&["apply", "--yes", file]).code, 0);
    assert_eq!(sandbox.cli(&["verify", file]).code, 0);

    // Tamper: the identity is deleted in Octopus.
    let (status, body) = sandbox.octopus(
        "DELETE",
        &format!("/api/serviceaccounts/{sa}/oidcidentities/{id}/v1"),
    );
    assert!(status < 300, "{status} {body}");
    let broken = sandbox.cli(&["verify", file]).expect_code(1);
    assert_mentions(&broken.stdout, &["oidc_identity"]);
    sandbox.assert_repaired_then_torn_down(file);
}

#[test]
fn another_ci_issuers_trust_is_traded_exactly_and_an_issuer_the_sandbox_does_not_host_is_a_warning()
{
    let sandbox = SandboxProcess::start();
    // "Other issuer" with the sandbox's GitHub-style issuer: an exact subject is minted.
    let setup = |name: &str, issuer: &str| {
        format!(
            "version = 1\nname = \"{name}\"\ntarget = \"github\"\n\n[octopus]\nspace = \"Default\"\n\n\
             [github]\nissuer = \"{issuer}\"\nsubject = \"build:tools:deploy-*\"\nci = \"other\"\n\
             service_account = \"{name}\"\n"
        )
    };
    let hosted = sandbox.write(
        "other.toml",
        &setup("tools-ci", &sandbox.vars["GITHUB_ISSUER"]),
    );
    let hosted = hosted.to_str().unwrap();
    let apply = sandbox.cli(&["apply", "--yes", hosted]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let verify = sandbox.cli(&["verify", "--json", hosted]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
    let trades: Vec<(String, String)> = trade_checks(&verify)
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(trades.len(), 2, "{trades:#?}");
    assert!(
        trades[0].0.starts_with("build:tools:deploy-1 ") && trades[0].1 == "in scope: accepted",
        "{trades:#?}"
    );
    assert!(
        trades[1].0.starts_with("build:tools:deployx1 ")
            && trades[1].1.starts_with("outside the scope: rejected"),
        "{trades:#?}"
    );

    // An issuer the sandbox does not host: nothing to trade, said as a warning.
    let foreign = sandbox.write("gitlab.toml", &setup("tools-gitlab", "https://gitlab.com"));
    let foreign = foreign.to_str().unwrap();
    assert_eq!(sandbox.cli(&["apply", "--yes", foreign]).code, 0);
    let verify = sandbox.cli(&["verify", foreign]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
    assert!(
        verify
            .stdout
            .lines()
            .any(|l| l.starts_with("warn TokenTrade")
                && l.contains(
                    "not traded: the sandbox signs CI tokens only for its GitHub-style issuer"
                )),
        "{}",
        verify.stdout
    );
}

#[test]
fn every_broken_setup_file_exits_2_naming_field_and_fix_with_no_request() {
    let sandbox = SandboxProcess::start();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/it/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "{}", files.len());
    sandbox.clear_requests();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let out = sandbox.cli(&["plan", file.to_str().unwrap()]);
        assert_eq!(
            out.code,
            2,
            "{}: {}{}",
            file.display(),
            out.stdout,
            out.stderr
        );
        for line in text.lines().filter_map(|l| l.strip_prefix("# expect: ")) {
            let (field, fix) = line.split_once(" | ").unwrap();
            assert!(
                out.stderr.contains(&format!("{field}:")) && out.stderr.contains(fix),
                "{}: {field} / {fix} in\n{}",
                file.display(),
                out.stderr
            );
        }
    }
    assert_eq!(sandbox.requests(), Vec::<Value>::new(), "no request at all");
    // A batch: one failure does not stop the others, and the worst code wins.
    let good = sandbox.write("github.toml", &github_setup("shop"));
    let batch = sandbox
        .cli(&[
            "plan",
            "--json",
            files[0].to_str().unwrap(),
            good.to_str().unwrap(),
        ])
        .expect_code(2);
    let lines: Vec<Value> = batch
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["exit_code"], 2);
    assert_eq!(lines[1]["exit_code"], 0);
    assert!(lines[1]["steps"].is_array());
}

#[test]
fn apply_without_yes_off_a_terminal_shows_the_plan_and_exits_2() {
    let sandbox = SandboxProcess::start();
    let file = sandbox.write("github.toml", &github_setup("shop"));
    sandbox.clear_requests();
    let out = sandbox
        .cli(&["apply", file.to_str().unwrap()])
        .expect_code(2);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("create") && all.contains("oidc_identity"),
        "{all}"
    );
    assert!(all.contains("--yes"), "{all}");
    assert_eq!(sandbox.mutating_requests(), Vec::<String>::new());
}

#[test]
fn a_sandbox_that_is_down_is_a_remote_failure_exit_3() {
    let sandbox = SandboxProcess::start();
    let file = sandbox.write("github.toml", &github_setup("shop"));
    let env = std::fs::read_to_string(sandbox.env_file()).unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let moved = env.replace(
        &sandbox.vars["OCTOPUS_URL"],
        &format!("http://127.0.0.1:{port}"),
    );
    let down = sandbox.write("down.env", &moved);
    let out = run(
        &[
            "plan".into(),
            file.display().to_string(),
            "--sandbox".into(),
            down.display().to_string(),
        ],
        &sandbox.data(),
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert_mentions(&out.stderr, &["error:"]);
}

#[test]
fn the_env_file_is_0600_and_names_the_sandbox_credentials() {
    let sandbox = SandboxProcess::start();
    for name in [
        "OCTOPUS_URL",
        "OCTOPUS_API_KEY",
        "GITHUB_ISSUER",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
        "SANDBOX_CA_FILE",
    ] {
        assert!(sandbox.vars.contains_key(name), "{name}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sandbox.env_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn preflight_denial_exits_3_naming_the_permission_and_who_grants_it_with_no_write() {
    let sandbox = SandboxProcess::start();
    let file = sandbox.write("aws.toml", &shop_aws());
    let file = file.to_str().unwrap();
    // The same sandbox, signed in as its read-only AWS user.
    let readonly = sandbox.env_with("AWS_ACCESS_KEY_ID", "AWS_READONLY_ACCESS_KEY_ID");
    let as_readonly = |args: &[&str]| sandbox.cli_with(&readonly, args);

    let plan = as_readonly(&["plan", "--json", file]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let preflight = &plan.json()["preflight"];
    assert_eq!(preflight["blocks_apply"], true, "{preflight}");
    let missing: Vec<String> = preflight["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "missing")
        .map(|c| c["permission"].as_str().unwrap().to_string())
        .collect();
    for action in [
        "iam:CreateOpenIDConnectProvider",
        "iam:CreateRole",
        "iam:TagRole",
        "iam:AttachRolePolicy",
    ] {
        assert!(
            missing.contains(&action.to_string()),
            "{action}: {missing:?}"
        );
    }
    assert!(
        preflight["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["outcome"] == "missing")
            .all(|c| c["who_can_grant"]
                .as_str()
                .is_some_and(|w| w.contains("IAM administrator"))
                && c["caller"]
                    .as_str()
                    .is_some_and(|a| a.ends_with(":user/sandbox-readonly"))),
        "{preflight}"
    );
    // The Octopus side is allowed: the sandbox's key is an administrator's.
    assert!(
        preflight["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["permission"] == "AccountCreate" && c["outcome"] == "granted"),
        "{preflight}"
    );

    sandbox.clear_requests();
    let apply = as_readonly(&["apply", "--yes", file]);
    assert_eq!(apply.code, 3, "{}\n{}", apply.stdout, apply.stderr);
    let out = format!("{}{}", apply.stdout, apply.stderr);
    assert!(out.contains("iam:CreateRole"), "{out}");
    assert!(out.contains("who can grant it"), "{out}");
    assert!(out.contains("IAM administrator of AWS account"), "{out}");
    assert_eq!(sandbox.mutating_requests(), Vec::<String>::new());
    assert!(
        sandbox
            .requests()
            .iter()
            .any(|r| r["operation"] == "SimulatePrincipalPolicy"),
        "the preflight asked IAM"
    );

    // With the flag, apply starts and IAM itself refuses the first write.
    let forced = as_readonly(&["apply", "--yes", "--ignore-preflight", file]);
    assert_eq!(forced.code, 3, "{}\n{}", forced.stdout, forced.stderr);
    assert!(
        format!("{}{}", forced.stdout, forced.stderr).contains("AccessDenied"),
        "{}{}",
        forced.stdout,
        forced.stderr
    );
}

#[test]
fn an_octopus_key_without_account_or_user_rights_exits_3_naming_them_before_any_write() {
    let sandbox = SandboxProcess::start();
    // The same sandbox, with the key of its seeded "deployer" (role Project deployer in
    // Spaces-1: no AccountCreate, no system UserEdit).
    let deployer = sandbox.env_with("OCTOPUS_API_KEY", "OCTOPUS_DEPLOYER_API_KEY");
    let as_deployer = |args: &[&str]| sandbox.cli_with(&deployer, args);
    for (name, text, permission, grantor) in [
        (
            "aws.toml",
            shop_aws(),
            "AccountCreate",
            "a Space Manager of Spaces-1 (Default) or an Octopus administrator",
        ),
        (
            "github.toml",
            github_setup("shop"),
            "UserEdit",
            "an Octopus administrator (a member of Octopus Administrators)",
        ),
    ] {
        let file = sandbox.write(name, &text);
        let file = file.to_str().unwrap();
        let plan = as_deployer(&["plan", "--json", file]);
        assert_eq!(plan.code, 0, "{name}: {}", plan.stderr);
        let preflight = &plan.json()["preflight"];
        assert_eq!(preflight["blocks_apply"], true, "{name}: {preflight}");
        let gap = preflight["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["permission"] == permission)
            .unwrap_or_else(|| panic!("{name}: {preflight}"));
        assert_eq!(gap["outcome"], "missing", "{name}: {gap}");
        assert!(
            gap["caller"]
                .as_str()
                .unwrap()
                .starts_with("deployer (Users-"),
            "{name}: {gap}"
        );

        sandbox.clear_requests();
        let apply = as_deployer(&["apply", "--yes", file]);
        assert_eq!(apply.code, 3, "{name}: {}\n{}", apply.stdout, apply.stderr);
        let out = format!("{}{}", apply.stdout, apply.stderr);
        assert!(out.contains(permission), "{name}: {out}");
        assert!(out.contains("who can grant it"), "{name}: {out}");
        assert!(out.contains(grantor), "{name}: {out}");
        assert_eq!(sandbox.mutating_requests(), Vec::<String>::new(), "{name}");
        assert!(
            sandbox.requests().iter().any(|r| r["operation"]
                .as_str()
                .is_some_and(|o| o.contains("/permissions"))),
            "{name}: the preflight asked Octopus"
        );
    }

    // With the flag, apply starts and the sandbox Octopus itself refuses the first write.
    let file = sandbox.write("aws.toml", &shop_aws());
    let forced = as_deployer(&[
        "apply",
        "--yes",
        "--ignore-preflight",
        file.to_str().unwrap(),
    ]);
    assert_eq!(forced.code, 3, "{}\n{}", forced.stdout, forced.stderr);
    let out = format!("{}{}", forced.stdout, forced.stderr);
    assert!(out.contains("Missing permission: AccountCreate"), "{out}");
}

#[test]
fn azure_preflight_names_app_registration_and_role_assignment_rights_and_writes_nothing() {
    let sandbox = SandboxProcess::start();
    let file = sandbox.write("azure.toml", &azure_setup("shop"));
    let file = file.to_str().unwrap();
    // The admin's plan: every permission granted (Graph app permission, Owner).
    let plan = sandbox.cli(&["plan", "--json", file]).expect_code(0);
    let preflight = &plan.json()["preflight"];
    assert_eq!(preflight["blocks_apply"], false, "{preflight}");
    let granted: Vec<&str> = preflight["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "granted")
        .map(|c| c["permission"].as_str().unwrap())
        .collect();
    assert!(
        granted.contains(&"microsoft.directory/applications/create")
            && granted.contains(&"Microsoft.Authorization/roleAssignments/write"),
        "{preflight}"
    );
    // The seeded reader: Reader and Application.Read.All.
    let env = std::fs::read_to_string(sandbox.env_file()).unwrap();
    let reader = env
        .replace(
            &format!("AZURE_CLIENT_ID={}", sandbox.vars["AZURE_CLIENT_ID"]),
            &format!("AZURE_CLIENT_ID={}", sandbox.vars["AZURE_READER_CLIENT_ID"]),
        )
        .replace(
            &format!(
                "AZURE_CLIENT_SECRET={}",
                sandbox.vars["AZURE_CLIENT_SECRET"]
            ),
            &format!(
                "AZURE_CLIENT_SECRET={}",
                sandbox.vars["AZURE_READER_CLIENT_SECRET"]
            ),
        );
    let reader = sandbox.write("reader.env", &reader);
    sandbox.clear_requests();
    let apply = run(
        &[
            "apply".into(),
            "--yes".into(),
            "--json".into(),
            file.into(),
            "--sandbox".into(),
            reader.display().to_string(),
        ],
        &sandbox.data(),
    );
    assert_eq!(apply.code, 3, "{}\n{}", apply.stdout, apply.stderr);
    let out = apply.json();
    let missing: Vec<(&str, &str)> = out["preflight"]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "missing")
        .map(|c| {
            (
                c["permission"].as_str().unwrap(),
                c["who_can_grant"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert_eq!(missing[0].0, "microsoft.directory/applications/create");
    assert!(
        missing[0].1.contains("Application Developer"),
        "{missing:?}"
    );
    assert_eq!(
        missing[1].0,
        "Microsoft.Authorization/roleAssignments/write"
    );
    assert!(
        missing[1].1.contains("User Access Administrator"),
        "{missing:?}"
    );
    assert_eq!(out["error"]["code"], "permission_denied", "{out}");
    assert_eq!(sandbox.mutating_requests(), Vec::<String>::new());
}

#[test]
fn github_team_membership_is_added_once_and_teardown_removes_only_it() {
    let sandbox = SandboxProcess::start();
    let file = sandbox.write(
        "github-team.toml",
        &format!("{}team = \"Space Managers\"\n", github_setup("shop")),
    );
    let file = file.to_str().unwrap();
    let team_path = "/api/teams/teams-spacemanagers-Spaces-1";
    let members = || {
        let (status, body) = sandbox.octopus("GET", team_path);
        assert_eq!(status, 200, "{body}");
        let team: Value = serde_json::from_str(&body).unwrap();
        team["MemberUserIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let before = members();
    let plan = sandbox.cli(&["plan", "--json", file]).expect_code(0);
    assert_eq!(
        steps(&plan.json()).last().unwrap(),
        &("create".to_string(), "team_membership".to_string())
    );
    let apply = sandbox
        .cli(&["apply", "--yes", "--json", file])
        .expect_code(0);
    let sa = apply.json()["report"]["outputs"]["service_account.id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut expected = before.clone();
    expected.push(sa.clone());
    assert_eq!(members(), expected);
    sandbox.clear_requests();
    assert_eq!(sandbox.cli(&["apply", "--yes", file]).code, 0);
    assert_eq!(sandbox.mutating_requests(), Vec::<String>::new());
    sandbox.cli(&["teardown", "--yes", file]).expect_code(0);
    assert_eq!(members(), before);
}

fn trade_checks(verify: &Run) -> Vec<Value> {
    let json = verify.json();
    json["report"]["checks"]
        .as_array()
        .or_else(|| json["checks"].as_array())
        .unwrap_or_else(|| panic!("{}", verify.stdout))
        .iter()
        .filter(|c| c["area"] == "token_trade")
        .cloned()
        .collect()
}

#[test]
fn verify_trades_sandbox_tokens_and_a_tampered_trust_exits_1_with_the_clouds_cause() {
    let sandbox = SandboxProcess::start();
    // AWS: the provider loses the audience → STS refuses every token (InvalidIdentityToken).
    let aws = sandbox.write("aws.toml", &shop_aws());
    let aws = aws.to_str().unwrap();
    let apply = sandbox
        .cli(&["apply", "--yes", "--json", aws])
        .expect_code(0);
    let provider_arn = apply.json()["report"]["outputs"]["oidc_provider.arn"]
        .as_str()
        .unwrap()
        .to_string();
    let verify = sandbox.cli(&["verify", "--json", aws]).expect_code(0);
    let trades = trade_checks(&verify);
    assert!(
        trades.iter().any(|c| c["message"] == "in scope: accepted")
            && trades.iter().any(|c| c["message"]
                .as_str()
                .unwrap()
                .starts_with("outside the scope: rejected")),
        "{trades:#?}"
    );
    let host = provider_arn.rsplit('/').next().unwrap();
    let (status, body) = iam(
        &sandbox,
        &[
            ("Action", "RemoveClientIDFromOpenIDConnectProvider"),
            ("OpenIDConnectProviderArn", &provider_arn),
            ("ClientID", host),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let broken = sandbox.cli(&["verify", aws]).expect_code(1);
    assert_mentions(
        &broken.stdout,
        &[
            "InvalidIdentityToken",
            "aud token:",
            "STS did not accept the token itself",
        ],
    );

    // Azure: a deleted credential → Entra refuses that run's token (AADSTS700213).
    let azure = sandbox.write("azure.toml", &azure_setup("shop"));
    let azure = azure.to_str().unwrap();
    sandbox
        .cli(&["apply", "--yes", "--json", azure])
        .expect_code(0);
    let verify = sandbox.cli(&["verify", "--json", azure]).expect_code(0);
    assert!(
        trade_checks(&verify)
            .iter()
            .any(|c| c["message"] == "in scope: accepted"),
        "{}",
        verify.stdout
    );
    let plan = sandbox.cli(&["plan", "--json", azure]).json();
    let app_object_id = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "app_registration")
        .and_then(|s| s["id"].as_str())
        .unwrap()
        .to_string();
    let name = first_credential_named(&plan, "production");
    delete_credential(&sandbox, &app_object_id, &name);
    let broken = sandbox.cli(&["verify", azure]).expect_code(1);
    assert_mentions(&broken.stdout, &["AADSTS700213"]);
    assert!(
        broken
            .stdout
            .lines()
            .any(|l| l.starts_with("FAIL TokenTrade") && l.contains("in scope but rejected")),
        "{}",
        broken.stdout
    );
}

fn gcp_setup(project: &str) -> String {
    scoped_setup(
        "shop-gcp",
        "gcp",
        &["customer-portal"],
        &["production"],
        "Google shop (OIDC)",
        &format!(
            r#"[gcp]
project = "{project}"
roles = ["roles/storage.objectViewer"]
"#
        ),
    )
}

/// `POST /api/_sandbox/deployment-tokens`: mints a deployment's token for the account and
/// trades it with Google (STS, then `generateAccessToken` for `email`).
fn deployment_trade(
    sandbox: &SandboxProcess,
    account_id: &str,
    environment: &str,
    email: &str,
) -> Value {
    let body = serde_json::json!({
        "AccountId": account_id,
        "ProjectId": "customer-portal",
        "EnvironmentId": environment,
        "ServiceAccountEmail": email,
    })
    .to_string();
    let (status, answer) = http_with_body(
        &sandbox.vars["OCTOPUS_URL"],
        "POST",
        "/api/_sandbox/deployment-tokens",
        Some(&sandbox.vars["OCTOPUS_API_KEY"]),
        Some(&body),
    );
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[test]
fn gcp_plan_apply_verify_rerun_tamper_repair_teardown() {
    use octo_oidc_core::ports::{GcpLifecycle, GcpPolicyTarget, GoogleCloud};
    let sandbox = SandboxProcess::start();
    let project = sandbox.vars["GCP_PROJECT_ID"].clone();
    let number = sandbox.vars["GCP_PROJECT_NUMBER"].clone();
    let file = sandbox.write("gcp.toml", &gcp_setup(&project));
    let file = file.to_str().unwrap();

    let plan = sandbox.cli(&["plan", "--json", file]).expect_code(0);
    let kinds: Vec<(String, String)> = steps(&plan.json());
    let create = |k: &str| ("create".to_string(), k.to_string());
    // Over an hour needs an organization policy: a warning, not an error.
    let long = sandbox.write(
        "gcp-long.toml",
        &gcp_setup(&project).replace("roles = [", "token_lifetime = 7200\nroles = ["),
    );
    let warned = sandbox
        .cli(&["plan", long.to_str().unwrap()])
        .expect_code(0);
    assert_mentions(
        &warned.stderr,
        &[
            "warning: gcp.token_lifetime:",
            "iam.allowServiceAccountCredentialLifetimeExtension",
        ],
    );
    assert_eq!(
        kinds,
        [
            create("workload_identity_pool"),
            create("workload_identity_provider"),
            create("gcp_service_account"),
            create("workload_identity_binding"),
            create("project_role_binding"),
            create("octopus_account"),
        ]
    );

    let apply = sandbox
        .cli(&["apply", "--yes", "--json", file])
        .expect_code(0);
    let applied = apply.json();
    let email = applied["google_service_account"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        email,
        format!("octo-shop-gcp@{project}.iam.gserviceaccount.com")
    );
    let account_id = applied["report"]["outputs"]["octopus_account.id"]
        .as_str()
        .unwrap()
        .to_string();
    let status = sandbox.cli(&["status", "--json", file]).expect_code(0);
    let items = status.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 6, "{items:?}");
    assert!(
        items
            .iter()
            .all(|i| i["exists"] == true && i["journal"] == "done" && i["action"] == "unchanged"),
        "{items:?}"
    );

    let verify = sandbox.cli(&["verify", file]).expect_code(0);
    // Token trades through the sandbox's Google STS + generateAccessToken: the run in scope
    // is accepted, a near miss refused by the attribute condition.
    assert_mentions(
        &verify.stdout,
        &[
            "TokenTrade space:default:project:customer-portal:environment:production:type:deployment: in scope: accepted",
            "outside the scope: rejected",
            "rejected by the attribute condition",
        ],
    );
    assert_eq!(
        sandbox.cli(&["plan", "--detailed-exitcode", file]).code,
        0,
        "second plan: no changes"
    );
    sandbox.clear_requests();
    sandbox.cli(&["apply", "--yes", file]).expect_code(0);
    assert!(
        sandbox
            .requests()
            .iter()
            .any(|r| r["service"].as_str().is_some_and(|s| s.starts_with("gcp"))),
        "the rerun looked at Google: {:?}",
        sandbox.requests()
    );
    assert_eq!(sandbox.mutating_requests(), Vec::<String>::new());

    // A deployment in scope gets a Google access token; one outside is refused by Google.
    let inside = deployment_trade(&sandbox, &account_id, "production", &email);
    assert_eq!(inside["Exchange"]["Succeeded"], true, "{inside}");
    assert_eq!(
        inside["Exchange"]["Service"], "gcp-iamcredentials",
        "{inside}"
    );
    let outside = deployment_trade(&sandbox, &account_id, "staging", &email);
    assert_eq!(outside["Exchange"]["Succeeded"], false, "{outside}");
    let refusal = outside["Exchange"]["Message"].as_str().unwrap();
    assert!(
        refusal.contains("unauthorized_client")
            && refusal.contains("rejected by the attribute condition"),
        "{refusal}"
    );

    // Tamper: the provider's condition admits every run of the server.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _in_runtime = rt.enter();
    let client = crate::support::google(&sandbox);
    let provider = octo_oidc_core::gcp::ProviderRef {
        project_number: number.clone(),
        pool_id: "octo-shop-gcp".into(),
        provider_id: "octopus".into(),
    };
    rt.block_on(crate::support::set_provider_condition(
        &client,
        &provider,
        "assertion.sub.startsWith('space:')",
    ));
    let broken = sandbox.cli(&["verify", file]).expect_code(1);
    assert_mentions(
        &broken.stdout,
        &[
            "workload_identity_provider",
            "drifted: attribute_condition",
            "startsWith",
        ],
    );
    // The loosened condition lets Google STS accept the run; the binding (the second fence)
    // still refuses to impersonate the service account for it.
    let loose = deployment_trade(&sandbox, &account_id, "staging", &email);
    assert_eq!(loose["Exchange"]["Succeeded"], false, "{loose}");
    assert_eq!(
        loose["Exchange"]["Service"], "gcp-iamcredentials",
        "{loose}"
    );
    sandbox.cli(&["apply", "--yes", file]).expect_code(0);
    assert_eq!(sandbox.cli(&["verify", file]).code, 0);
    let again = deployment_trade(&sandbox, &account_id, "staging", &email);
    assert_eq!(again["Exchange"]["Succeeded"], false, "repaired: {again}");

    let teardown = sandbox.cli(&["teardown", "--yes", file]).expect_code(0);
    assert_mentions(&teardown.stdout, &["soft-deleted for 30 days"]);
    rt.block_on(async {
        let pool = client.find_pool(&number, "octo-shop-gcp").await.unwrap();
        assert!(
            matches!(
                pool.map(|p| p.lifecycle),
                Some(GcpLifecycle::SoftDeleted { .. })
            ),
            "the pool is soft-deleted"
        );
        assert_eq!(client.find_service_account(&email).await.unwrap(), None);
        let bindings = client
            .policy_bindings(&GcpPolicyTarget::Project(project.clone()))
            .await
            .unwrap();
        assert!(
            bindings
                .iter()
                .all(|b| !b.members.iter().any(|m| m.contains(&email))),
            "{bindings:?}"
        );
    });
    let after = sandbox.cli(&["plan", "--json", file]);
    let left = steps(&after.json());
    assert!(
        left.iter()
            .all(|(a, k)| a == "create" || k.starts_with("workload_identity_p")),
        "nothing of ours left but the soft-deleted pool and provider: {}",
        after.stdout
    );
}
