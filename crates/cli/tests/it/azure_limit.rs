//! Azure over Entra's 20-credentials-per-app limit through the CLI: a scope needing 23
//! credentials (2 projects × 11 environments + the account test) is refused with the
//! alternatives when the file keeps `one_app` — from the file alone (exit 2, no request) when
//! the listed slugs already count over, by the plan against the inventory (exit 3) when only
//! live state tells (`*`) —, and the strategy chosen in the file is applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use crate::support::{SandboxProcess, assert_mentions};

/// 2 projects × 11 environments + the account test = 23 credentials (`STRATEGY` to fill in).
pub(crate) const OVER: &str = r#"version = 1
name = "limit-azure"
target = "azure"

[octopus]
space = "Default"

[scope]
projects = ["customer-portal", "order-portal"]
environments = ["development", "test", "qa", "staging", "production", "uat", "integration",
  "performance", "pre-production", "disaster-recovery", "sandbox"]

[subject_keys]
deployment = ["space", "project", "environment"]

[account]
name = "Azure limit (OIDC)"

[azure]
tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
subscription_id = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
role = "Contributor"
credential_strategy = "STRATEGY"
"#;

fn kinds(plan: &Value, kind: &str) -> usize {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .count()
}

#[test]
fn twenty_three_credentials_plan_the_alternatives_and_apply_the_chosen_one() {
    let sandbox = SandboxProcess::start();
    // 2 projects × 11 environments, untenanted: over the limit by the file alone → exit 2
    // naming the field and the alternatives, with no request at all.
    let one = sandbox.write("one.toml", &OVER.replace("STRATEGY", "one_app"));
    sandbox.clear_requests();
    let refused = sandbox.cli(&["plan", one.to_str().unwrap()]).expect_code(2);
    assert_mentions(
        &refused.stderr,
        &[
            "azure.credential_strategy:",
            "at least 23 federated credentials",
        ],
    );
    assert!(
        refused.stderr.contains("coarser_keys") && refused.stderr.contains("split_apps"),
        "the alternatives are listed: {}",
        refused.stderr
    );
    assert_eq!(sandbox.requests(), Vec::<Value>::new(), "no request");

    // With every environment (`*`) the count needs the inventory: refused by the plan
    // (`limit_exceeded`, exit 3), still before any write, with each alternative's count.
    let live = sandbox.write(
        "live.toml",
        &OVER.replace("STRATEGY", "one_app").replace(
            r#"environments = ["development", "test", "qa", "staging", "production", "uat", "integration",
  "performance", "pre-production", "disaster-recovery", "sandbox"]"#,
            r#"environments = ["*"]"#,
        ),
    );
    let refused = sandbox
        .cli(&["plan", live.to_str().unwrap()])
        .expect_code(3);
    assert_mentions(
        &refused.stderr,
        &[
            "azure.credential_strategy:",
            "coarser_keys with deployment =",
            "split_apps:",
        ],
    );
    assert_eq!(sandbox.mutating_requests(), Vec::<String>::new());

    let coarser = sandbox.write(
        "coarser.toml",
        &OVER
            .replace("STRATEGY", "coarser_keys")
            .replace("limit-azure", "limit-coarse")
            .replace("Azure limit", "Azure coarse"),
    );
    let plan = sandbox
        .cli(&["plan", "--json", coarser.to_str().unwrap()])
        .expect_code(0);
    let plan = plan.json();
    assert_eq!(kinds(&plan, "app_registration"), 1, "{plan}");
    assert!(kinds(&plan, "federated_credential") <= 20, "{plan}");
    sandbox
        .cli(&["apply", "--yes", coarser.to_str().unwrap()])
        .expect_code(0);
}

#[test]
fn split_apps_applies_two_app_registrations_and_converges() {
    let sandbox = SandboxProcess::start();
    let split = sandbox.write("split.toml", &OVER.replace("STRATEGY", "split_apps"));
    let split = split.to_str().unwrap();
    let plan = sandbox.cli(&["plan", "--json", split]).expect_code(0);
    let plan = plan.json();
    assert_eq!(kinds(&plan, "app_registration"), 2, "{plan}");
    assert_eq!(kinds(&plan, "octopus_account"), 2, "{plan}");
    assert!(kinds(&plan, "federated_credential") >= 23, "{plan}");
    sandbox.cli(&["apply", "--yes", split]).expect_code(0);
    sandbox
        .cli(&["plan", "--detailed-exitcode", split])
        .expect_code(0);
    let ours = sandbox.apps_of("limit-azure");
    assert_eq!(ours.len(), 2, "two app registrations: {ours:?}");
}

#[test]
fn init_writes_a_valid_setup_from_flags_and_names_what_is_missing_off_a_terminal() {
    let sandbox = SandboxProcess::start();
    let out = sandbox.dir.path().join("init.toml");
    let init = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "init",
            "--output",
            out.to_str().unwrap(),
            "--name",
            "init-gh",
            "--target",
            "github",
            "--space",
            "Default",
            "--repository",
            "acme/shop",
            "--filter",
            "branch:main",
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|a| a.to_string()));
        crate::support::run(&args, &sandbox.data())
    };
    let missing = init(&[]);
    assert_eq!(missing.code, 2, "{}{}", missing.stdout, missing.stderr);
    assert_mentions(&missing.stderr, &["github.service_account", "fix:"]);
    assert!(!out.exists(), "nothing written for an incomplete setup");
    let written = init(&["--service-account", "github-init"]);
    assert_eq!(written.code, 0, "{}{}", written.stdout, written.stderr);
    let plan = sandbox.cli(&["plan", "--detailed-exitcode", out.to_str().unwrap()]);
    assert_eq!(
        plan.code, 4,
        "the written file plans: {}{}",
        plan.stdout, plan.stderr
    );
    let apply = sandbox
        .cli(&["apply", "--yes", out.to_str().unwrap()])
        .expect_code(0);
    assert_mentions(
        &apply.stdout,
        &[
            "Equivalent non-interactive command:",
            "octo-oidc apply --yes --sandbox",
        ],
    );
}

/// `split_apps` torn down and listed per app: the two apps' role assignments share a name, and
/// a credential named like one of the first app's is added to the second by hand; `status`
/// lists each resource with its app (the journal's word on the first app's credential is not
/// read as the second's), `teardown` deletes each credential from its own app and keeps the
/// second app for a credential of another issuer.
#[test]
fn split_apps_status_and_teardown_tell_each_app_apart() {
    let sandbox = SandboxProcess::start();
    let split = sandbox.write("split.toml", &OVER.replace("STRATEGY", "split_apps"));
    let split = split.to_str().unwrap();
    sandbox.cli(&["apply", "--yes", split]).expect_code(0);
    let mut apps = sandbox.apps_of("limit-azure");
    apps.sort_by_key(|a| a["uniqueName"].as_str().unwrap().to_string());
    let [first, second] = &apps[..] else {
        panic!("two apps: {apps:#?}")
    };
    let unique = |a: &Value| a["uniqueName"].as_str().unwrap().to_string();
    let credentials = |a: &Value| {
        sandbox.graph_get(&format!(
            "applications/{}/federatedIdentityCredentials",
            a["id"].as_str().unwrap()
        ))["value"]
            .as_array()
            .unwrap()
            .clone()
    };
    let shared = credentials(first)[0].clone();
    let post = |a: &Value, name: &str, issuer: &str, subject: &str| {
        sandbox.graph(
            "POST",
            &format!(
                "applications/{}/federatedIdentityCredentials",
                a["id"].as_str().unwrap()
            ),
            Some(serde_json::json!({
                "name": name, "issuer": issuer, "subject": subject,
                "audiences": shared["audiences"],
            })),
        )
    };
    post(
        second,
        shared["name"].as_str().unwrap(),
        shared["issuer"].as_str().unwrap(),
        "space:default:project:gone:environment:gone",
    );
    post(
        second,
        "someone-elses",
        "https://ci.example.com",
        "anything",
    );

    let status = sandbox.cli(&["status", "--json", split]).expect_code(0);
    let items = status.json()["items"].as_array().unwrap().clone();
    let of = |kind: &str, name: &str| -> Vec<(String, Value)> {
        items
            .iter()
            .filter(|i| i["kind"] == kind && i["name"] == name)
            .map(|i| (i["app"].as_str().unwrap_or("").to_string(), i.clone()))
            .collect()
    };
    let same_name = of("federated_credential", shared["name"].as_str().unwrap());
    let apps_listed: Vec<&str> = same_name.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        apps_listed,
        [unique(first), unique(second)],
        "{}",
        status.stdout
    );
    assert_eq!(same_name[0].1["journal"], "done", "{:#}", same_name[0].1);
    assert_eq!(same_name[1].1["action"], "delete", "{:#}", same_name[1].1);
    assert!(
        same_name[1].1.get("journal").is_none(),
        "the journal never touched the second app's copy: {:#}",
        same_name[1].1
    );
    let assignments: Vec<String> = items
        .iter()
        .filter(|i| i["kind"] == "role_assignment")
        .map(|i| i["app"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(assignments, [unique(first), unique(second)]);
    let text = sandbox.cli(&["status", split]).expect_code(0);
    assert!(
        text.stdout
            .contains(&format!("(in app {})", unique(second))),
        "{}",
        text.stdout
    );

    let teardown = sandbox
        .cli(&["teardown", "--yes", "--json", split])
        .expect_code(0);
    let report = teardown.json();
    let deleted: Vec<(String, String)> = report["report"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "federated_credential" && i["name"] == shared["name"])
        .map(|i| {
            (
                i["app"].as_str().unwrap().to_string(),
                i["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        deleted,
        [
            (unique(first), "deleted".to_string()),
            (unique(second), "deleted".to_string())
        ],
        "{}",
        teardown.stdout
    );
    let left = sandbox.apps_of("limit-azure");
    assert_eq!(left.len(), 1, "the second app stays: {left:#?}");
    assert_eq!(unique(&left[0]), unique(second));
    let names: Vec<String> = credentials(&left[0])
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["someone-elses"],
        "only the other issuer's credential"
    );
}
