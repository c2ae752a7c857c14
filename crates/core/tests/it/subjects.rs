//! Data-driven subject cases (reference examples, defaults per context, untenanted drop,
//! rejected keys), snapshotted with insta.
#![allow(clippy::unwrap_used)]

use octo_oidc_core::subject::{Context, SubjectValues, build_subject, parse_keys};

fn run(context: &str, keys: &str, values: &SubjectValues) -> String {
    let context: Context = context.parse().expect("context");
    let result = parse_keys(keys)
        .map_err(|e| e.to_string())
        .and_then(|keys| build_subject(context, &keys, values).map_err(|e| e.to_string()));
    match result {
        Ok(s) => s,
        Err(e) => format!("ERROR: {e}"),
    }
}

fn full() -> SubjectValues {
    SubjectValues {
        space: Some("default".into()),
        project_group: Some("default-project-group".into()),
        project: Some("deploy-web-app".into()),
        runbook: Some("restart".into()),
        tenant: Some("acme".into()),
        environment: Some("production".into()),
        target: Some("web-01".into()),
        account: Some("my-aws-account".into()),
        feed: Some("ecr".into()),
    }
}

#[test]
fn subjects_table() {
    let untenanted = SubjectValues {
        tenant: None,
        ..full()
    };
    let cases: Vec<(&str, &str, &str, SubjectValues)> = vec![
        (
            "reference: deployment [space,project,runbook,type]",
            "deployment",
            "space,project,runbook,type",
            full(),
        ),
        (
            "reference: runbook run [space,project,runbook,type]",
            "runbook",
            "space,project,runbook,type",
            full(),
        ),
        ("default deployment, tenanted", "deployment", "", full()),
        (
            "default deployment, untenanted drops tenant",
            "deployment",
            "",
            untenanted.clone(),
        ),
        (
            "default runbook run, untenanted",
            "runbook",
            "",
            untenanted.clone(),
        ),
        ("default health check", "health", "", full()),
        ("default account test", "account-test", "", full()),
        ("default feed", "feed", "", full()),
        (
            "keys in any order give the fixed order",
            "deployment",
            "type,environment,tenant,project,space",
            full(),
        ),
        (
            "every deployment key",
            "deployment",
            "space,project-group,project,runbook,tenant,environment,account,type",
            full(),
        ),
        (
            "every runbook key, untenanted",
            "runbook",
            "space,project-group,project,runbook,tenant,environment,account,type",
            untenanted.clone(),
        ),
        (
            "reference: project group in a runbook run",
            "runbook",
            "space,project-group,runbook",
            SubjectValues {
                runbook: Some("jwt".into()),
                ..full()
            },
        ),
        (
            "health with account and type",
            "health",
            "space,account,target,type",
            full(),
        ),
        (
            "account test with type (unconfirmed value)",
            "account-test",
            "space,account,type",
            full(),
        ),
        (
            "coarse keys [space, environment]",
            "deployment",
            "space,environment",
            full(),
        ),
        (
            "duplicate keys count once",
            "deployment",
            "space,space,environment",
            full(),
        ),
        (
            "issue example: no tenant given",
            "deployment",
            "space,project,tenant,environment",
            SubjectValues {
                space: Some("default".into()),
                project: Some("web".into()),
                environment: Some("production".into()),
                ..Default::default()
            },
        ),
        (
            "rejected: target in a deployment",
            "deployment",
            "space,target",
            full(),
        ),
        (
            "rejected: project in an account test",
            "account-test",
            "space,project,environment",
            full(),
        ),
        (
            "rejected: unknown key",
            "deployment",
            "space,projekt",
            full(),
        ),
        (
            "rejected: all keys without value",
            "deployment",
            "tenant",
            untenanted,
        ),
        (
            "rejected: value with a colon",
            "deployment",
            "",
            SubjectValues {
                project: Some("a:b".into()),
                ..full()
            },
        ),
    ];
    let table: Vec<String> = cases
        .iter()
        .map(|(name, ctx, keys, v)| {
            format!(
                "{name}\n  --context {ctx} --keys [{keys}]\n  => {}",
                run(ctx, keys, v)
            )
        })
        .collect();
    insta::assert_snapshot!(table.join("\n"));
}
