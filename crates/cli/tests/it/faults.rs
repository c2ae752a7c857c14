//! Faults through the CLI: the sandbox's fault rules (`PUT /_sandbox/faults`) on every
//! request a whole apply sends — added latency, 429 + `Retry-After`, 5xx, dropped
//! connections — and its propagation windows (Entra's new service principal not yet
//! visible, IAM's new provider not yet usable and new role not yet assumable). Every flow
//! converges; a fault that outlasts `--deadline` fails with exit 3 and a clear error, and
//! the rerun after the fault is cleared converges from the journal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{SandboxProcess, aws_setup, azure_setup, github_setup};

/// Every (service, operation) a clean apply of `file` sends, in first-seen order.
fn operations_of(file: &str) -> Vec<(String, String)> {
    let sandbox = SandboxProcess::start();
    let path = sandbox.write("setup.toml", file);
    sandbox.clear_requests();
    sandbox
        .cli(&["apply", "--yes", path.to_str().unwrap()])
        .expect_code(0);
    let mut seen = BTreeSet::new();
    sandbox
        .requests()
        .into_iter()
        .map(|r| {
            (
                r["service"].as_str().unwrap().to_string(),
                r["operation"].as_str().unwrap().to_string(),
            )
        })
        .filter(|op| seen.insert(op.clone()))
        .collect()
}

/// The apply converged: nothing left to change and the trust verifies.
fn assert_converged(sandbox: &SandboxProcess, file: &str, when: &str) {
    let plan = sandbox.cli(&["plan", "--detailed-exitcode", file]);
    assert_eq!(plan.code, 0, "{when}: {}{}", plan.stdout, plan.stderr);
    let verify = sandbox.cli(&["verify", file]);
    assert_eq!(verify.code, 0, "{when}: {}{}", verify.stdout, verify.stderr);
}

/// One fault on the first request of every operation the flow sends.
fn every_operation_faulted_once(file: &str, fault: Value, latency_ms: u64) {
    let operations = operations_of(file);
    assert!(operations.len() >= 5, "{operations:?}");
    let sandbox = SandboxProcess::start();
    let path = sandbox.write("setup.toml", file);
    let path = path.to_str().unwrap();
    let rules: Vec<Value> = operations
        .iter()
        .map(|(service, operation)| {
            let mut rule = json!({
                "service": service, "operation": operation, "latency_ms": latency_ms, "times": 1
            });
            if !fault.is_null() {
                rule["fault"] = fault.clone();
            }
            rule
        })
        .collect();
    sandbox.set_faults(&json!({ "rules": rules }));
    let when = format!("{fault} on each of {} operations", operations.len());
    let apply = sandbox.cli(&["apply", "--yes", path]);
    // A create that is not idempotent (an Octopus POST) is never resent after a dropped
    // connection or a 500 (the server may have made it): the apply stops with the step's
    // intent journaled, and the rerun finds or makes it.
    let maybe_done = fault["kind"] == "drop_connection" || fault["status"] == 500;
    let mut apply = apply;
    let mut reruns = 0;
    while maybe_done && apply.code == 3 {
        assert!(
            apply.stderr.contains("failed create")
                && apply.stderr.contains("run apply again to resume"),
            "{when}: {}",
            apply.stderr
        );
        // Each rerun may meet the next create's one fault.
        reruns += 1;
        assert!(reruns <= 4, "{when}: still failing after {reruns} reruns");
        apply = sandbox.cli(&["apply", "--yes", path]);
    }
    assert_eq!(apply.code, 0, "{when}: {}{}", apply.stdout, apply.stderr);
    let left = sandbox.faults()["rules"].as_array().unwrap().len();
    assert!(
        left < operations.len(),
        "{when}: the faults were hit ({left} left)"
    );
    assert_converged(&sandbox, path, &when);
}

fn every_fault_kind(file: &str) {
    every_operation_faulted_once(file, Value::Null, 200);
    every_operation_faulted_once(
        file,
        json!({ "kind": "throttle", "retry_after_secs": 1 }),
        0,
    );
    every_operation_faulted_once(file, json!({ "kind": "server_error", "status": 503 }), 0);
    every_operation_faulted_once(file, json!({ "kind": "server_error", "status": 500 }), 0);
    every_operation_faulted_once(file, json!({ "kind": "drop_connection" }), 0);
}

#[test]
fn aws_apply_converges_through_latency_throttling_5xx_and_dropped_connections() {
    every_fault_kind(&aws_setup("faults"));
}

#[test]
fn azure_apply_converges_through_latency_throttling_5xx_and_dropped_connections() {
    every_fault_kind(&azure_setup("faults"));
}

#[test]
fn github_apply_converges_through_latency_throttling_5xx_and_dropped_connections() {
    every_fault_kind(&github_setup("faults"));
}

#[test]
fn propagation_windows_new_principal_provider_and_role_are_waited_out() {
    for file in [azure_setup("faults"), aws_setup("faults")] {
        let sandbox = SandboxProcess::start();
        let path = sandbox.write("setup.toml", &file);
        let path = path.to_str().unwrap();
        sandbox.set_faults(&json!({
            "rules": [],
            "consistency_windows_ms": { "graph": 2000, "arm": 2000, "iam": 2000, "sts": 2000 }
        }));
        let apply = sandbox.cli(&["apply", "--yes", path]).expect_code(0);
        assert!(
            apply.stderr.contains("retrying"),
            "a propagation error was retried: {}",
            apply.stderr
        );
        // The new role / principal becomes usable once its window has passed.
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert_converged(&sandbox, path, "after the propagation windows");
    }
}

#[test]
fn a_fault_outlasting_the_deadline_is_exit_3_and_the_rerun_resumes() {
    for (file, setup, service, operation, kind) in [
        (
            aws_setup("faults"),
            "faults-aws",
            "iam",
            "CreateRole",
            "iam_role",
        ),
        (
            azure_setup("faults"),
            "faults-azure",
            "arm",
            "PUT roleAssignments",
            "role_assignment",
        ),
        (
            github_setup("faults"),
            "faults-gh",
            "octopus",
            "POST /api/serviceaccounts/{sa}/oidcidentities/create/v1",
            "oidc_identity",
        ),
    ] {
        let sandbox = SandboxProcess::start();
        let path = sandbox.write("setup.toml", &file);
        let path = path.to_str().unwrap();
        sandbox.set_faults(&json!({ "rules": [
            { "service": service, "operation": operation,
              "fault": { "kind": "server_error", "status": 503 } }
        ]}));
        let started = std::time::Instant::now();
        let apply = sandbox.cli(&["apply", "--yes", "--deadline", "3", path]);
        assert_eq!(
            apply.code, 3,
            "{operation}: {}{}",
            apply.stdout, apply.stderr
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{operation}: stopped near its deadline"
        );
        assert!(
            apply.stderr.contains("error:")
                && apply.stderr.contains("run apply again to resume")
                && apply.stderr.contains(kind),
            "{operation}: a clear error naming the step: {}",
            apply.stderr
        );
        let entries = sandbox.journal_entries(setup);
        let last = entries
            .iter()
            .find(|((k, _), _)| k == kind)
            .map(|(_, (phase, _))| phase.clone());
        assert_eq!(last.as_deref(), Some("intent"), "{operation}: {entries:?}");
        sandbox.clear_faults();
        let rerun = sandbox.cli(&["apply", "--yes", path]);
        assert_eq!(rerun.code, 0, "{operation}: {}", rerun.stderr);
        assert!(
            sandbox
                .journal_entries(setup)
                .values()
                .all(|(phase, _)| phase == "done"),
            "{operation}: the journal is closed"
        );
        assert_converged(&sandbox, path, operation);
    }
}
