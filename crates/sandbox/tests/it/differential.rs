//! The core and the sandbox side by side on generated cases: the wizard's decisions (subjects,
//! IAM trust, Entra federated credentials, `*`/`?` patterns) against the sandbox's own
//! readings of the vendors' rules. They must agree; a disagreement means one of them is wrong,
//! and the vendor documents in `shared/reference/` say which.

use std::collections::BTreeMap;

use octo_oidc_core::aws::{AwsProvider, TrustPolicy, trust_policy_json};
use octo_oidc_core::ports::{
    FederatedCredential, OctopusProject, OctopusResource, OctopusRunbook, OctopusTenant,
};
use octo_oidc_core::scope::{Inventory, Scope, ScopeSelection, Selection, SubjectKeyConfig};
use octo_oidc_core::simulate::{AwsProviderConfig, ClaimField, TokenClaims, TrustConfig};
use octo_oidc_core::subject::{Context, SubjectError, SubjectKey, SubjectValues, build_subject};
use octo_oidc_sandbox::aws::trust;
use octo_oidc_sandbox::entra::federation::{Assertion, Credential, Mismatch, match_credential};
use octo_oidc_sandbox::octopus::subject as sandbox_subject;
use octo_oidc_sandbox::wildcard;
use proptest::prelude::*;
use proptest::sample::select;

const CONTEXTS: [Context; 4] = [
    Context::Deployment,
    Context::RunbookRun,
    Context::HealthCheck,
    Context::AccountTest,
];

fn slug() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,6}"
}

/// A run value: a slug, no value, or an empty string (also "no value").
fn run_value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => slug().prop_map(Some),
        2 => Just(None),
        1 => Just(Some(String::new())),
    ]
}

fn run_values() -> impl Strategy<Value = SubjectValues> {
    (
        (run_value(), run_value(), run_value(), run_value()),
        (run_value(), run_value(), run_value(), run_value()),
    )
        .prop_map(
            |((space, project_group, project, runbook), (tenant, environment, target, account))| {
                SubjectValues {
                    space,
                    project_group,
                    project,
                    runbook,
                    tenant,
                    environment,
                    target,
                    account,
                    feed: None,
                }
            },
        )
}

fn key_strings(keys: &[SubjectKey]) -> Vec<&'static str> {
    keys.iter().map(|k| k.as_str()).collect()
}

/// The core's and the sandbox's answers agree: the same subject, or the same refusal.
fn assert_same_subject(
    context: Context,
    keys: &[SubjectKey],
    values: &SubjectValues,
) -> Result<(), TestCaseError> {
    let core = build_subject(context, keys, values);
    let sandbox = sandbox_subject::build_subject(context, &key_strings(keys), values);
    match (&core, &sandbox) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (
            Err(SubjectError::KeyNotAllowed { keys: refused, .. }),
            Err(sandbox_subject::SubjectRefusal::KeysNotAllowed { keys: theirs, .. }),
        ) => {
            let mut ours: Vec<&str> = refused.iter().map(|k| k.as_str()).collect();
            let mut theirs: Vec<&str> = theirs.iter().map(String::as_str).collect();
            ours.sort_unstable();
            theirs.sort_unstable();
            prop_assert_eq!(ours, theirs);
        }
        (Err(SubjectError::Empty { .. }), Err(sandbox_subject::SubjectRefusal::Empty { .. })) => {}
        _ => prop_assert!(
            false,
            "core {core:?} vs sandbox {sandbox:?} for {context} keys {keys:?} values {values:?}"
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random keys (any of Octopus's keys, any order, duplicates, disallowed ones) and run
    /// values in every context the sandbox issues tokens for.
    #[test]
    fn subjects_agree(
        context in select(CONTEXTS.to_vec()),
        keys in prop::collection::vec(select(SubjectKey::ALL.to_vec()), 0..6),
        values in run_values(),
    ) {
        assert_same_subject(context, &keys, &values)?;
        // The per-part claims come from the same values.
        let sandbox_claims = sandbox_subject::context_values(context, &values);
        let parts = values.parts();
        let core_claims: Vec<(&str, &str)> = SubjectKey::ALL
            .into_iter()
            .filter_map(|k| parts.value(context, k).map(|v| (k.claim_name(), v)))
            .collect();
        prop_assert_eq!(core_claims, sandbox_claims);
    }
}

/// The shape of a random space and a random choice over it.
#[derive(Debug, Clone)]
struct ScopeCase {
    scope: Scope,
}

fn selection(n: usize) -> impl Strategy<Value = Option<Vec<bool>>> {
    prop_oneof![
        Just(None),
        prop::collection::vec(any::<bool>(), n).prop_map(Some)
    ]
}

fn chosen(prefix: &str, flags: Option<Vec<bool>>) -> Selection {
    match flags {
        None => Selection::All,
        Some(flags) => Selection::Only(
            flags
                .iter()
                .enumerate()
                .filter(|(_, on)| **on)
                .map(|(i, _)| format!("{prefix}-{i}"))
                .collect(),
        ),
    }
}

const DEPLOYMENT_KEYS: [SubjectKey; 8] = [
    SubjectKey::Space,
    SubjectKey::ProjectGroup,
    SubjectKey::Project,
    SubjectKey::Runbook,
    SubjectKey::Tenant,
    SubjectKey::Environment,
    SubjectKey::Account,
    SubjectKey::Type,
];
const HEALTH_KEYS: [SubjectKey; 4] = [
    SubjectKey::Space,
    SubjectKey::Target,
    SubjectKey::Account,
    SubjectKey::Type,
];
const ACCOUNT_TEST_KEYS: [SubjectKey; 3] =
    [SubjectKey::Space, SubjectKey::Account, SubjectKey::Type];

fn resource(kind: &str, i: usize, stem: &str) -> OctopusResource {
    OctopusResource {
        id: format!("{kind}-{i}"),
        name: format!("{kind} {i}"),
        slug: format!("{stem}-{i}"),
    }
}

fn scope_case() -> impl Strategy<Value = ScopeCase> {
    (1usize..=2, 1usize..=3, 1usize..=3, 0usize..=2, 0usize..=2)
        .prop_flat_map(|(groups, projects, envs, tenants, targets)| {
            (
                (
                    prop::collection::vec(0..groups, projects),
                    prop::collection::vec(0..projects, 0..=3),
                    prop::collection::vec(
                        prop::collection::vec(any::<bool>(), projects * envs),
                        tenants,
                    ),
                    prop::collection::vec(slug(), 8),
                ),
                (
                    prop::collection::vec(
                        select(vec![
                            Context::Deployment,
                            Context::RunbookRun,
                            Context::HealthCheck,
                        ]),
                        0..=3,
                    ),
                    selection(projects),
                    selection(3),
                    selection(envs),
                    selection(tenants),
                    any::<bool>(),
                    selection(targets),
                ),
                (
                    prop::collection::vec(select(DEPLOYMENT_KEYS.to_vec()), 0..=5),
                    prop::collection::vec(select(HEALTH_KEYS.to_vec()), 0..=3),
                    prop::collection::vec(select(ACCOUNT_TEST_KEYS.to_vec()), 0..=2),
                ),
                Just((envs, targets)),
            )
        })
        .prop_map(
            |(
                (group_of, runbook_of, connections, stems),
                selection_parts,
                keys,
                (envs, targets),
            )| {
                let (contexts, projects, runbooks, environments, tenants, untenanted, target_sel) =
                    selection_parts;
                let n_projects = group_of.len();
                let inventory = Inventory {
                    space: resource("Spaces", 1, &stems[0]),
                    account: resource("Accounts", 1, &stems[1]),
                    project_groups: (0..=group_of.iter().copied().max().unwrap_or(0))
                        .map(|g| resource("ProjectGroups", g, &stems[2]))
                        .collect(),
                    projects: group_of
                        .iter()
                        .enumerate()
                        .map(|(i, g)| OctopusProject {
                            resource: resource("Projects", i, &stems[3]),
                            project_group_id: format!("ProjectGroups-{g}"),
                        })
                        .collect(),
                    runbooks: runbook_of
                        .iter()
                        .enumerate()
                        .map(|(i, p)| OctopusRunbook {
                            resource: resource("Runbooks", i, &stems[4]),
                            project_id: format!("Projects-{p}"),
                        })
                        .collect(),
                    environments: (0..envs)
                        .map(|e| resource("Environments", e, &stems[5]))
                        .collect(),
                    tenants: connections
                        .iter()
                        .enumerate()
                        .map(|(t, flags)| OctopusTenant {
                            resource: resource("Tenants", t, &stems[6]),
                            project_environments: (0..n_projects)
                                .map(|p| {
                                    (
                                        format!("Projects-{p}"),
                                        (0..envs)
                                            .filter(|e| flags[p * envs + e])
                                            .map(|e| format!("Environments-{e}"))
                                            .collect(),
                                    )
                                })
                                .collect(),
                        })
                        .collect(),
                    targets: (0..targets)
                        .map(|t| resource("Machines", t, &stems[7]))
                        .collect(),
                };
                let selection = ScopeSelection {
                    contexts,
                    projects: chosen("Projects", projects),
                    runbooks: chosen("Runbooks", runbooks),
                    environments: chosen("Environments", environments),
                    tenants: chosen("Tenants", tenants),
                    untenanted,
                    targets: chosen("Machines", target_sel),
                };
                let (deployment, health_check, account_test) = keys;
                ScopeCase {
                    scope: Scope {
                        inventory,
                        selection,
                        keys: SubjectKeyConfig {
                            deployment,
                            health_check,
                            account_test,
                        },
                    },
                }
            },
        )
}

/// Every run of the scope with the subject the core computes for it and the values the
/// sandbox gets to build its own.
fn runs(scope: &Scope) -> Vec<(Context, String, SubjectValues)> {
    let compiled = scope.compile().expect("generated scopes are valid");
    let inv = &scope.inventory;
    let mut out = Vec::new();
    compiled.for_each_run(|run| {
        let mut subject = String::new();
        compiled.write_run_subject(run, &mut subject);
        let label = compiled.label(run);
        let project_group = label.project.as_ref().and_then(|slug| {
            let project = inv.projects.iter().find(|p| &p.resource.slug == slug)?;
            inv.project_groups
                .iter()
                .find(|g| g.id == project.project_group_id)
                .map(|g| g.slug.clone())
        });
        let values = SubjectValues {
            space: Some(inv.space.slug.clone()),
            project_group,
            project: label.project,
            runbook: label.runbook,
            tenant: label.tenant,
            environment: label.environment,
            target: label.target,
            account: Some(inv.account.slug.clone()),
            feed: None,
        };
        out.push((run.context, subject, values));
    });
    out
}

fn keys_for(scope: &Scope, context: Context) -> Vec<&'static str> {
    key_strings(scope.keys.for_context(context))
}

const ISSUER: &str = "https://octo.example.com";
const ACCOUNT_ID: &str = "123456789012";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/octopus";

/// Tokens near a subject: itself and the small mistakes trust policies must catch.
fn near_subjects(subject: &str) -> Vec<String> {
    let mut out = vec![
        subject.to_string(),
        format!("{subject}:type:deployment"),
        subject.to_uppercase(),
        subject.replacen("space:", "space:x", 1),
        String::new(),
    ];
    if let Some((head, _)) = subject.rsplit_once(':') {
        out.push(head.to_string());
        out.push(format!("{head}:other"));
    }
    out
}

/// The sandbox STS's pipeline for the claims that decide trust: provider by exact URL, `aud`
/// among its client ids, then the trust policy ([`trust::decide`]).
fn sandbox_sts_allows(provider: &AwsProvider, document: &str, claims: &TokenClaims) -> bool {
    if claims.iss != provider.url || claims.aud != provider.audience {
        return false;
    }
    let prefix = provider
        .arn
        .split_once(":oidc-provider/")
        .map(|(_, p)| p)
        .unwrap_or_default();
    let context = BTreeMap::from([
        (format!("{prefix}:sub"), claims.sub.clone()),
        (format!("{prefix}:aud"), claims.aud.clone()),
    ]);
    trust::decide(document, &provider.arn, &context).allowed
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Every run of a random scope: the core's scope enumerator and the sandbox build the
    /// same subject from the same run.
    #[test]
    fn scope_runs_have_the_subjects_the_sandbox_issues(case in scope_case()) {
        let scope = &case.scope;
        for (context, core_subject, values) in runs(scope) {
            let sandbox = sandbox_subject::build_subject(context, &keys_for(scope, context), &values);
            match sandbox {
                Ok(s) => prop_assert_eq!(&core_subject, &s, "{} {:?}", context, values),
                Err(e) => prop_assert!(core_subject.is_empty(), "sandbox refused ({e}), core built {core_subject}"),
            }
        }
    }

    /// The trust policy the core generates for a random scope, evaluated by the core and by
    /// the sandbox STS for the scope's own subjects and near misses.
    #[test]
    fn generated_trust_policies_are_judged_alike(case in scope_case()) {
        let scope = &case.scope;
        let provider = AwsProvider::from_issuer(ISSUER, ACCOUNT_ID).expect("provider");
        let patterns = scope.compile().expect("valid").aws_subject_patterns();
        let document = trust_policy_json(&provider, &patterns);
        let config = TrustConfig::Aws {
            role_arn: ROLE_ARN.into(),
            providers: vec![AwsProviderConfig { url: provider.url.clone(), client_ids: vec![provider.audience.clone()] }],
            trust_policy: document.clone(),
        };
        let compiled = config.compile().expect("compiles");
        let fixed = compiled.with_claims(&provider.url, &provider.audience);
        for (_, subject, _) in runs(scope) {
            for sub in near_subjects(&subject) {
                for aud in [provider.audience.as_str(), "sts.amazonaws.com"] {
                    let claims = TokenClaims { iss: provider.url.clone(), aud: aud.into(), sub: sub.clone() };
                    let sandbox = sandbox_sts_allows(&provider, &document, &claims);
                    let core = compiled.simulate(&claims);
                    prop_assert_eq!(core.accepted, sandbox, "sub {} aud {}: core says {}; policy {}", sub, aud, core.reason, document);
                    if aud == provider.audience {
                        prop_assert_eq!(fixed.accepts(&sub), sandbox, "fast path, sub {}", sub);
                    }
                }
            }
        }
    }
}

const HOST: &str = "o.example";
const PROVIDER_ARN: &str = "arn:aws:iam::123456789012:oidc-provider/o.example";

fn principal() -> impl Strategy<Value = (String, serde_json::Value)> {
    prop_oneof![
        Just((
            "Principal".to_string(),
            serde_json::json!({ "Federated": PROVIDER_ARN })
        )),
        Just((
            "Principal".to_string(),
            serde_json::json!({ "Federated": [PROVIDER_ARN, "arn:aws:iam::123456789012:oidc-provider/b.example"] })
        )),
        Just((
            "Principal".to_string(),
            serde_json::json!({ "Federated": "arn:aws:iam::123456789012:oidc-provider/b.example" })
        )),
        Just(("Principal".to_string(), serde_json::json!("*"))),
        Just(("Principal".to_string(), serde_json::json!({ "AWS": "*" }))),
        Just((
            "Principal".to_string(),
            serde_json::json!({ "Service": "ec2.amazonaws.com" })
        )),
        Just((
            "NotPrincipal".to_string(),
            serde_json::json!({ "Federated": "arn:aws:iam::123456789012:oidc-provider/b.example" })
        )),
        Just((
            "NotPrincipal".to_string(),
            serde_json::json!({ "Federated": PROVIDER_ARN })
        )),
    ]
}

fn action() -> impl Strategy<Value = (String, serde_json::Value)> {
    let one = select(vec![
        "sts:AssumeRoleWithWebIdentity",
        "STS:assumerolewithwebidentity",
        "sts:*",
        "*",
        "sts:AssumeRole",
        "sts:AssumeRole*",
        "sts:Assume?oleWithWebIdentity",
        "sts:TagSession",
    ]);
    (
        prop_oneof![3 => Just("Action"), 1 => Just("NotAction")],
        prop::collection::vec(one, 1..=2),
    )
        .prop_map(|(field, list)| (field.to_string(), serde_json::json!(list)))
}

fn operator() -> impl Strategy<Value = String> {
    (
        select(vec!["", "", "", "ForAnyValue:", "ForAllValues:"]),
        select(vec![
            "StringEquals",
            "StringNotEquals",
            "StringEqualsIgnoreCase",
            "StringNotEqualsIgnoreCase",
            "StringLike",
            "StringNotLike",
            "Null",
            "NumericEquals",
            "ArnLike",
        ]),
        select(vec!["", "", "IfExists"]),
    )
        .prop_map(|(qualifier, base, suffix)| format!("{qualifier}{base}{suffix}"))
}

/// Values and patterns over a small alphabet, so that matches and near misses are common.
fn text() -> impl Strategy<Value = String> {
    "[abAB:*?]{0,4}"
}

fn condition_value() -> impl Strategy<Value = String> {
    prop_oneof![4 => text(), 1 => Just("true".to_string()), 1 => Just("false".to_string())]
}

fn conditions() -> impl Strategy<Value = serde_json::Value> {
    prop::collection::vec(
        (
            operator(),
            select(vec![
                format!("{HOST}:sub"),
                format!("{HOST}:aud"),
                format!("{HOST}:amr"),
                format!("O.EXAMPLE:SUB"),
            ]),
            prop::collection::vec(condition_value(), 1..=3),
        ),
        0..=3,
    )
    .prop_map(|list| {
        let mut operators = serde_json::Map::new();
        for (operator, key, values) in list {
            let entry = operators
                .entry(operator)
                .or_insert_with(|| serde_json::json!({}));
            entry[key] = if values.len() == 1 {
                serde_json::json!(values[0])
            } else {
                serde_json::json!(values)
            };
        }
        serde_json::Value::Object(operators)
    })
}

fn statement() -> impl Strategy<Value = serde_json::Value> {
    (
        prop_oneof![3 => Just("Allow"), 1 => Just("Deny")],
        principal(),
        action(),
        conditions(),
    )
        .prop_map(
            |(effect, (pfield, principal), (afield, action), conditions)| {
                let mut s = serde_json::json!({ "Effect": effect });
                s[pfield] = principal;
                s[afield] = action;
                if conditions.as_object().is_some_and(|c| !c.is_empty()) {
                    s["Condition"] = conditions;
                }
                s
            },
        )
}

fn request_context() -> impl Strategy<Value = BTreeMap<String, String>> {
    (
        prop::option::of("[abAB:]{0,4}"),
        prop::option::of("[abAB:]{0,4}"),
        prop::option::of("[abAB:]{0,4}"),
    )
        .prop_map(|(sub, aud, amr)| {
            let mut context = BTreeMap::new();
            for (name, value) in [("sub", sub), ("aud", aud), ("amr", amr)] {
                if let Some(v) = value {
                    context.insert(format!("{HOST}:{name}"), v);
                }
            }
            context
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// Hand-shaped trust policies (several statements, Allow and Deny, principals, actions
    /// with wildcards, every supported operator with qualifiers and `IfExists`, value lists,
    /// case-variant keys) against random requests, some keys missing.
    #[test]
    fn hand_shaped_trust_policies_are_judged_alike(
        statements in prop::collection::vec(statement(), 1..=3),
        context in request_context(),
    ) {
        let document = serde_json::json!({ "Version": "2012-10-17", "Statement": statements }).to_string();
        let policy = TrustPolicy::parse(&document).expect("the core parses generated policies");
        let core = policy.evaluate_web_identity(PROVIDER_ARN, &context);
        let sandbox = trust::decide(&document, PROVIDER_ARN, &context);
        prop_assert_eq!(core.allowed, sandbox.allowed, "core: {}; sandbox: {}; {}; {:?}", core.reason, sandbox.reason, document, context);
        let lookup = |k: &str| context.iter().find(|(c, _)| c.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str());
        prop_assert_eq!(policy.allows(PROVIDER_ARN, &lookup), sandbox.allowed, "core fast path; {}", document);
    }

    /// `*` / `?` patterns: IAM `StringLike` and Octopus's identity matcher in the core against
    /// the sandbox's matcher.
    #[test]
    fn wildcards_agree(pattern in "[ab:*?é]{0,6}", value in "[ab:é]{0,6}") {
        let sandbox = wildcard::matches(&pattern, &value);
        prop_assert_eq!(octo_oidc_core::aws::string_like(&pattern, &value), sandbox, "StringLike {} {}", pattern, value);
        prop_assert_eq!(octo_oidc_core::github::octopus_subject_matches(&pattern, &value), sandbox, "Octopus {} {}", pattern, value);
    }
}

fn credential() -> impl Strategy<Value = FederatedCredential> {
    (
        select(vec![
            "https://o.example",
            "https://o.example/",
            "https://O.example",
        ]),
        select(vec![
            "space:default:account:a",
            "space:Default:account:a",
            "space:default:account:b",
        ]),
        prop::collection::vec(
            select(vec![
                "api://AzureADTokenExchange",
                "api://azureadtokenexchange",
                "api://other",
            ]),
            1..=2,
        ),
        0u32..1000,
    )
        .prop_map(|(issuer, subject, audiences, n)| FederatedCredential {
            name: format!("fic-{n}"),
            issuer: issuer.into(),
            subject: subject.into(),
            audiences: audiences.into_iter().map(str::to_string).collect(),
            description: None,
        })
}

fn claims() -> impl Strategy<Value = TokenClaims> {
    (
        select(vec![
            "https://o.example",
            "https://o.example/",
            "https://O.example",
            "https://p.example",
        ]),
        select(vec![
            "api://AzureADTokenExchange",
            "api://azureadtokenexchange",
            "api://other",
            "api://none",
        ]),
        select(vec![
            "space:default:account:a",
            "space:Default:account:a",
            "space:default:account:b",
            "space:default",
        ]),
    )
        .prop_map(|(iss, aud, sub)| TokenClaims {
            iss: iss.into(),
            aud: aud.into(),
            sub: sub.into(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Random credential sets and tokens: the core's simulator against the sandbox Entra's
    /// match, including which claim fails and the AADSTS code (the sandbox's case-only codes
    /// refine the core's).
    #[test]
    fn azure_federated_credentials_are_judged_alike(
        credentials in prop::collection::vec(credential(), 0..=4),
        claims in claims(),
    ) {
        let config = TrustConfig::Azure { credentials: credentials.clone() };
        let compiled = config.compile().expect("compiles");
        let core = compiled.simulate(&claims);
        let refs: Vec<Credential<'_>> = credentials
            .iter()
            .map(|c| Credential { issuer: &c.issuer, subject: &c.subject, audiences: &c.audiences })
            .collect();
        let audiences = vec![claims.aud.clone()];
        let sandbox = match_credential(&refs, &Assertion { issuer: &claims.iss, subject: &claims.sub, audiences: &audiences });
        prop_assert_eq!(core.accepted, sandbox.is_ok(), "core: {}; sandbox: {:?}", core.reason, sandbox);
        prop_assert_eq!(compiled.with_claims(&claims.iss, &claims.aud).accepts(&claims.sub), sandbox.is_ok(), "core fast path");
        if let Err(mismatch) = sandbox {
            let (field, code) = match mismatch {
                Mismatch::NoCredentials => (ClaimField::Sub, "AADSTS70021"),
                Mismatch::Issuer => (ClaimField::Iss, "AADSTS700211"),
                Mismatch::Subject { .. } => (ClaimField::Sub, "AADSTS700213"),
                Mismatch::Audience { .. } => (ClaimField::Aud, "AADSTS700212"),
            };
            prop_assert_eq!(core.field, Some(field));
            prop_assert_eq!(core.error.map(|e| e.code), Some(code.to_string()));
        }
    }
}
