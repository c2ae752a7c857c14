//! Identity-based policies of the sandbox's principals and IAM's decision for one request:
//! what `SimulatePrincipalPolicy` reports and what the IAM endpoint enforces for a caller
//! that has policies.
//!
//! Written from AWS's policy evaluation logic (IAM User Guide, "Policy evaluation logic";
//! aws-api.md): an explicit `Deny` in any statement that matches wins (`explicitDeny`); else
//! an `Allow` that matches allows (`allowed`); else the request is implicitly denied
//! (`implicitDeny`). A statement matches when its `Action` (or not its `NotAction`) matches
//! the action — case-insensitively, with `*`/`?` — and its `Resource` (or not its
//! `NotResource`) matches the resource ARN — case-sensitively, with `*`/`?`. `Action` and
//! `Resource` may be a string or a list; `Statement` may be one object or a list.
//!
//! Deliberately absent: conditions, permissions boundaries, SCPs, session policies and
//! resource-based policies (the sandbox's principals have none).

use serde_json::Value;

use crate::wildcard;

/// IAM's answer for one action on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` matched and no `Deny` did.
    Allowed,
    /// A `Deny` matched.
    ExplicitDeny,
    /// Nothing matched.
    ImplicitDeny,
}

impl Decision {
    /// The `EvalDecision` wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::ExplicitDeny => "explicitDeny",
            Decision::ImplicitDeny => "implicitDeny",
        }
    }
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn any_action(patterns: &[&str], action: &str) -> bool {
    let action = action.to_ascii_lowercase();
    patterns
        .iter()
        .any(|p| wildcard::matches(&p.to_ascii_lowercase(), &action))
}

fn any_resource(patterns: &[&str], resource: &str) -> bool {
    patterns.iter().any(|p| wildcard::matches(p, resource))
}

fn statement_matches(statement: &Value, action: &str, resource: &str) -> bool {
    let action_ok = match statement.get("NotAction") {
        Some(not) => !any_action(&strings(not), action),
        None => any_action(&strings(&statement["Action"]), action),
    };
    let resource_ok = match statement.get("NotResource") {
        Some(not) => !any_resource(&strings(not), resource),
        None => any_resource(&strings(&statement["Resource"]), resource),
    };
    action_ok && resource_ok
}

/// IAM's decision for `action` on `resource` under these policy documents (JSON).
pub fn decide(policies: &[String], action: &str, resource: &str) -> Decision {
    let mut allowed = false;
    for document in policies {
        let Ok(doc) = serde_json::from_str::<Value>(document) else {
            continue;
        };
        let statements = match &doc["Statement"] {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for statement in &statements {
            if !statement_matches(statement, action, resource) {
                continue;
            }
            match statement["Effect"].as_str() {
                Some("Deny") => return Decision::ExplicitDeny,
                Some("Allow") => allowed = true,
                _ => {}
            }
        }
    }
    match allowed {
        true => Decision::Allowed,
        false => Decision::ImplicitDeny,
    }
}

/// The read-only principal's policy: IAM reads, the simulator and `GetCallerIdentity`.
pub const READ_ONLY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadIam","Effect":"Allow","Action":["iam:Get*","iam:List*","iam:SimulatePrincipalPolicy","sts:GetCallerIdentity"],"Resource":"*"}]}"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts IAM's decision for each (action, resource) under `policies`.
    fn assert_decisions(policies: &[&str], cases: &[(&str, &str, Decision)]) {
        let policies: Vec<String> = policies.iter().map(|p| p.to_string()).collect();
        for (action, resource, expected) in cases {
            assert_eq!(
                decide(&policies, action, resource),
                *expected,
                "{action} on {resource}"
            );
        }
    }

    #[test]
    fn deny_beats_allow_and_nothing_is_implicit_deny() {
        let policies = [
            r#"{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
            r#"{"Statement":{"Effect":"Deny","Action":"iam:DeleteRole","Resource":"arn:aws:iam::1:role/keep-*"}}"#,
        ];
        assert_decisions(
            &policies,
            &[
                ("iam:CreateRole", "arn:aws:iam::1:role/x", Decision::Allowed),
                (
                    "IAM:deleterole",
                    "arn:aws:iam::1:role/keep-me",
                    Decision::ExplicitDeny,
                ),
                ("sts:AssumeRole", "*", Decision::ImplicitDeny),
            ],
        );
    }

    #[test]
    fn the_read_only_policy_reads_but_does_not_write() {
        assert_decisions(
            &[READ_ONLY_POLICY],
            &[
                ("iam:GetRole", "arn:aws:iam::1:role/r", Decision::Allowed),
                (
                    "iam:CreateRole",
                    "arn:aws:iam::1:role/r",
                    Decision::ImplicitDeny,
                ),
            ],
        );
        let not_action = r#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#;
        assert_decisions(
            &[not_action],
            &[
                ("iam:CreateRole", "*", Decision::ImplicitDeny),
                ("s3:GetObject", "*", Decision::Allowed),
            ],
        );
    }
}
