//! Crash and resume through the real binary: `octo-oidc apply --yes` is killed with SIGKILL
//! at every journal boundary (after the n-th record reaches the disk; every request is slowed
//! so the kill lands before the next boundary) and once inside a slow remote call (a
//! latency fault on one mutating request). The rerun converges: exit 0, the next plan has no
//! change, the sandbox holds exactly one of each resource, and the journal's last word on
//! every resource is `done` with the ids that exist.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{SandboxProcess, aws_setup, azure_setup, github_setup};

/// One target's setup and how to count its resources in the sandbox.
struct Target {
    /// The setup file, named by its label (`crash`).
    file: fn(&str) -> String,
    setup: &'static str,
    /// The mutating operation slowed down for the kill inside a remote call.
    slow_operation: (&'static str, &'static str),
    /// Asserts exactly one of each resource exists and returns (kind, id) pairs that the
    /// journal must name.
    live: fn(&SandboxProcess) -> Vec<(&'static str, String)>,
}

fn aws_live(sandbox: &SandboxProcess) -> Vec<(&'static str, String)> {
    assert_eq!(sandbox.iam_roles_named("octopus-crash"), 1, "one role");
    assert_eq!(sandbox.iam_providers(), 1, "one OIDC provider");
    let accounts = sandbox.accounts_named("AWS crash (OIDC)");
    assert_eq!(accounts.len(), 1, "one account: {accounts:?}");
    vec![
        (
            "iam_role",
            "arn:aws:iam::123456789012:role/octopus-crash".to_string(),
        ),
        (
            "oidc_provider",
            "arn:aws:iam::123456789012:oidc-provider/octopus.sandbox.localhost".to_string(),
        ),
        (
            "octopus_account",
            accounts[0]["Id"].as_str().unwrap().to_string(),
        ),
    ]
}

fn azure_live(sandbox: &SandboxProcess) -> Vec<(&'static str, String)> {
    let ours = sandbox.apps_of("crash-azure");
    assert_eq!(ours.len(), 1, "one app registration: {ours:?}");
    let app_id = ours[0]["appId"].as_str().unwrap();
    let object_id = ours[0]["id"].as_str().unwrap().to_string();
    let sps = sandbox.graph_get(&format!("servicePrincipals?$filter=appId eq '{app_id}'"));
    let sps = sps["value"].as_array().unwrap();
    assert_eq!(sps.len(), 1, "one service principal: {sps:?}");
    let fics = sandbox.graph_get(&format!(
        "applications/{object_id}/federatedIdentityCredentials"
    ));
    let names: Vec<&str> = crate::support::each_str(&fics["value"], "name");
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        names.len(),
        "no duplicate credential: {names:?}"
    );
    let accounts = sandbox.accounts_named("Azure crash (OIDC)");
    assert_eq!(accounts.len(), 1, "one account: {accounts:?}");
    assert_eq!(accounts[0]["ClientId"], app_id, "the account names our app");
    vec![
        ("app_registration", object_id),
        (
            "service_principal",
            sps[0]["id"].as_str().unwrap().to_string(),
        ),
        (
            "octopus_account",
            accounts[0]["Id"].as_str().unwrap().to_string(),
        ),
    ]
}

fn github_live(sandbox: &SandboxProcess) -> Vec<(&'static str, String)> {
    let (status, body) = sandbox.octopus("GET", "/api/users/all");
    assert_eq!(status, 200, "{body}");
    let users: Vec<Value> = serde_json::from_str(&body).unwrap();
    let ours: Vec<&Value> = users
        .iter()
        .filter(|u| u["Username"] == "github-crash")
        .collect();
    assert_eq!(ours.len(), 1, "one service account: {body}");
    let sa = ours[0]["Id"].as_str().unwrap().to_string();
    let (status, body) = sandbox.octopus(
        "GET",
        &format!("/api/serviceaccounts/{sa}/oidcidentities/v1?skip=0&take=100"),
    );
    assert_eq!(status, 200, "{body}");
    let identities: Value = serde_json::from_str(&body).unwrap();
    let list = identities["OidcIdentities"].as_array().unwrap();
    assert_eq!(list.len(), 1, "one identity: {identities}");
    vec![
        ("service_account", sa),
        ("oidc_identity", list[0]["Id"].as_str().unwrap().to_string()),
    ]
}

const TARGETS: [Target; 3] = [
    Target {
        file: aws_setup,
        setup: "crash-aws",
        slow_operation: ("iam", "CreateRole"),
        live: aws_live,
    },
    Target {
        file: azure_setup,
        setup: "crash-azure",
        slow_operation: ("graph", "PATCH /applications"),
        live: azure_live,
    },
    Target {
        file: github_setup,
        setup: "crash-gh",
        slow_operation: ("octopus", "POST /api/users"),
        live: github_live,
    },
];

/// Every request slowed by `ms` (so a kill lands between two journal boundaries).
fn slow_everything(sandbox: &SandboxProcess, ms: u64) {
    let rules: Vec<Value> = ["octopus", "entra", "graph", "arm", "iam", "sts"]
        .iter()
        .map(|s| json!({ "service": s, "latency_ms": ms }))
        .collect();
    sandbox.set_faults(&json!({ "rules": rules }));
}

/// The rerun converges and the journal matches what exists.
fn assert_converged(sandbox: &SandboxProcess, target: &Target, file: &str, when: &str) {
    let rerun = sandbox.cli(&["apply", "--yes", "--json", file]);
    assert_eq!(
        rerun.code, 0,
        "{when}: rerun\n{}\n{}",
        rerun.stdout, rerun.stderr
    );
    let plan = sandbox.cli(&["plan", "--detailed-exitcode", "--json", file]);
    assert_eq!(
        plan.code, 0,
        "{when}: no change after the rerun: {}",
        plan.stdout
    );
    let live = (target.live)(sandbox);
    let entries = sandbox.journal_entries(target.setup);
    let steps = plan.json()["steps"].as_array().unwrap().clone();
    for step in &steps {
        let key = (
            step["kind"].as_str().unwrap().to_string(),
            step["name"].as_str().unwrap().to_string(),
        );
        let (phase, ids) = entries
            .get(&key)
            .unwrap_or_else(|| panic!("{when}: {key:?} is not in the journal: {entries:?}"));
        assert_eq!(phase, "done", "{when}: {key:?} last phase");
        for (kind, id) in live.iter().filter(|(k, _)| *k == key.0) {
            let journaled: Vec<&str> = ids
                .as_object()
                .unwrap()
                .values()
                .filter_map(Value::as_str)
                .collect();
            assert!(
                journaled.contains(&id.as_str()),
                "{when}: the journal's {kind} ids {journaled:?} name the live {id}"
            );
        }
    }
    sandbox.clear_requests();
    let again = sandbox.cli(&["apply", "--yes", file]);
    assert_eq!(again.code, 0, "{when}: {}", again.stderr);
    assert_eq!(sandbox.mutating_requests(), Vec::<String>::new(), "{when}");
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn killed_at_every_journal_boundary(target: &Target) {
    killed_at_journal_boundaries(target, |total| (1..total).collect());
}

/// Killed after each record count `at(total)` chooses (of a clean run's `total`).
fn killed_at_journal_boundaries(target: &Target, at: fn(usize) -> Vec<usize>) {
    // A clean run says how many records a whole apply writes.
    let total = {
        let sandbox = SandboxProcess::start();
        let file = sandbox.write("setup.toml", &(target.file)("crash"));
        sandbox
            .cli(&["apply", "--yes", file.to_str().unwrap()])
            .expect_code(0);
        sandbox.journal(target.setup).len()
    };
    assert!(total >= 4, "{total} records");
    for n in at(total) {
        let sandbox = SandboxProcess::start();
        let file = sandbox.write("setup.toml", &(target.file)("crash"));
        let file = file.to_str().unwrap();
        slow_everything(&sandbox, 150);
        let mut child = sandbox.spawn_cli(&["apply", "--yes", file]);
        wait_until(&format!("record {n}"), Duration::from_secs(60), || {
            sandbox.journal(target.setup).len() >= n
        });
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "{}: killed after record {n}",
            target.setup
        );
        let at_kill = sandbox.journal(target.setup).len();
        assert!(at_kill < total, "killed after {n}: the apply had finished");
        sandbox.clear_faults();
        assert_converged(
            &sandbox,
            target,
            file,
            &format!("{} killed after record {n}", target.setup),
        );
    }
}

fn killed_inside_a_slow_call(target: &Target) {
    let sandbox = SandboxProcess::start();
    let file = sandbox.write("setup.toml", &(target.file)("crash"));
    let file = file.to_str().unwrap();
    let (service, operation) = target.slow_operation;
    sandbox.set_faults(&json!({ "rules": [
        { "service": service, "operation": operation, "latency_ms": 3000, "times": 1 }
    ]}));
    sandbox.clear_requests();
    let mut child = sandbox.spawn_cli(&["apply", "--yes", file]);
    wait_until(operation, Duration::from_secs(60), || {
        sandbox
            .requests()
            .iter()
            .any(|r| r["service"] == service && r["operation"] == operation)
    });
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success());
    let entries = sandbox.journal_entries(target.setup);
    assert!(
        entries.values().any(|(phase, _)| phase == "intent"),
        "the slow change is journaled as an intent: {entries:?}"
    );
    // The rerun may race the slow request, which the sandbox still completes.
    sandbox.cli(&["apply", "--yes", file]).expect_code(0);
    std::thread::sleep(Duration::from_millis(3000));
    assert_converged(
        &sandbox,
        target,
        file,
        &format!("{} killed inside {operation}", target.setup),
    );
}

#[test]
fn aws_apply_killed_at_every_boundary_resumes_without_duplicates() {
    killed_at_every_journal_boundary(&TARGETS[0]);
}

#[test]
fn azure_apply_killed_at_every_boundary_resumes_without_duplicates() {
    killed_at_every_journal_boundary(&TARGETS[1]);
}

#[test]
fn github_apply_killed_at_every_boundary_resumes_without_duplicates() {
    killed_at_every_journal_boundary(&TARGETS[2]);
}

/// Two app registrations (`split_apps`, 2 projects × 11 environments): each app with one
/// service principal and no duplicate credential, two Octopus accounts.
fn split_live(sandbox: &SandboxProcess) -> Vec<(&'static str, String)> {
    let ours = sandbox.apps_of("crash-split");
    assert_eq!(ours.len(), 2, "two app registrations: {ours:?}");
    for app in &ours {
        let app_id = app["appId"].as_str().unwrap();
        let sps = sandbox.graph_get(&format!("servicePrincipals?$filter=appId eq '{app_id}'"));
        assert_eq!(
            sps["value"].as_array().unwrap().len(),
            1,
            "one SP per app: {sps}"
        );
        let fics = sandbox.graph_get(&format!(
            "applications/{}/federatedIdentityCredentials",
            app["id"].as_str().unwrap()
        ));
        let mut names: Vec<&str> = crate::support::each_str(&fics["value"], "name");
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "no duplicate credential");
        assert!(count <= 20, "{count} credentials on one app");
    }
    assert_eq!(sandbox.accounts_named("Azure split (OIDC)").len(), 1);
    assert_eq!(sandbox.accounts_named("Azure split (OIDC) (2)").len(), 1);
    Vec::new()
}

fn split_setup(_label: &str) -> String {
    crate::azure_limit::OVER
        .replace("STRATEGY", "split_apps")
        .replace("limit-azure", "crash-split")
        .replace("Azure limit", "Azure split")
}

#[test]
fn split_apps_killed_between_the_two_apps_resume_without_duplicates() {
    let split = Target {
        file: split_setup,
        setup: "crash-split",
        slow_operation: ("graph", "PATCH /applications"),
        live: split_live,
    };
    // Early (one app's records only), half way, and near the end.
    killed_at_journal_boundaries(&split, |total| vec![2, total / 2, total - 2]);
}

#[test]
fn apply_killed_inside_a_slow_remote_call_resumes_without_duplicates() {
    for target in &TARGETS {
        killed_inside_a_slow_call(target);
    }
}
