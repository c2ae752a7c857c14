//! Property tests over randomly generated spaces, selections and keys:
//! - the AWS patterns the core generates admit exactly the intended subjects, checked with
//!   the simulator over the space plus one new item per dimension (created "later");
//! - the simulator never marks a run outside the selection as intended, and its fast matrix
//!   path agrees with the one-token path;
//! - Azure credential sets hold exactly the intended subjects, with valid unique names;
//! - credential names are always valid and unique; `string_like` agrees with a reference.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use octo_oidc_core::aws::{AwsProvider, string_like, trust_policy_json};
use octo_oidc_core::azure::{credential_names, is_valid_credential_name, plan_credentials};
use octo_oidc_core::ports::{OctopusProject, OctopusResource, OctopusRunbook, OctopusTenant};
use octo_oidc_core::scope::{Inventory, Scope, ScopeSelection, Selection, SubjectKeyConfig};
use octo_oidc_core::simulate::{
    AwsProviderConfig, Finding, Rows, TokenClaims, TrustConfig, simulate_scope,
};
use octo_oidc_core::subject::{Context, SubjectKey};
use proptest::prelude::*;

const ISSUER: &str = "https://example.octopus.app";

fn res(prefix: &str, i: usize, slug: &str) -> OctopusResource {
    OctopusResource {
        id: format!("{prefix}-{i}"),
        name: slug.to_string(),
        slug: slug.to_string(),
    }
}

/// A generated case: sizes, connections, selection and keys.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    projects: usize,
    runbooks: Vec<usize>, // owning project of each runbook
    envs: usize,
    tenants: Vec<Vec<(usize, Vec<usize>)>>, // per tenant: (project, envs)
    targets: usize,
    sel_projects: Option<Vec<usize>>,
    sel_runbooks: Option<Vec<usize>>,
    sel_envs: Option<Vec<usize>>,
    sel_tenants: Option<Vec<usize>>,
    sel_targets: Option<Vec<usize>>,
    untenanted: bool,
    contexts: Vec<Context>,
    deployment_keys: Vec<SubjectKey>,
    health_keys: Vec<SubjectKey>,
    account_test_keys: Vec<SubjectKey>,
}

fn subset(n: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n)
}

fn selection(n: usize) -> impl Strategy<Value = Option<Vec<usize>>> {
    prop_oneof![Just(None), subset(n).prop_map(Some)]
}

fn keys(optional: Vec<SubjectKey>) -> impl Strategy<Value = Vec<SubjectKey>> {
    let n = optional.len();
    proptest::sample::subsequence(optional, 0..=n).prop_map(|mut k| {
        if !k.is_empty() {
            k.insert(0, SubjectKey::Space);
        }
        k
    })
}

pub(crate) fn case() -> impl Strategy<Value = Case> {
    (1usize..4, 1usize..4, 0usize..3, 0usize..3)
        .prop_flat_map(|(projects, envs, n_tenants, targets)| {
            let runbooks = proptest::collection::vec(0..projects, 0..3);
            let tenants = proptest::collection::vec(
                proptest::collection::vec((0..projects, subset(envs)), 0..=projects),
                n_tenants,
            );
            (
                Just((projects, envs, targets)),
                runbooks,
                tenants,
                (
                    selection(projects),
                    selection(envs),
                    selection(n_tenants),
                    selection(targets),
                ),
                any::<bool>(),
                proptest::sample::subsequence(
                    vec![
                        Context::Deployment,
                        Context::RunbookRun,
                        Context::HealthCheck,
                    ],
                    0..=3,
                ),
                (
                    keys(vec![
                        SubjectKey::ProjectGroup,
                        SubjectKey::Project,
                        SubjectKey::Runbook,
                        SubjectKey::Tenant,
                        SubjectKey::Environment,
                        SubjectKey::Account,
                        SubjectKey::Type,
                    ]),
                    keys(vec![
                        SubjectKey::Target,
                        SubjectKey::Account,
                        SubjectKey::Type,
                    ]),
                    keys(vec![SubjectKey::Account, SubjectKey::Type]),
                ),
            )
        })
        .prop_flat_map(
            |((projects, envs, targets), runbooks, tenants, sels, untenanted, contexts, ks)| {
                let n_runbooks = runbooks.len();
                (
                    Just((
                        projects, envs, targets, runbooks, tenants, sels, untenanted, contexts, ks,
                    )),
                    selection(n_runbooks),
                )
            },
        )
        .prop_map(
            |(
                (projects, envs, targets, runbooks, tenants, sels, untenanted, contexts, ks),
                sel_runbooks,
            )| Case {
                projects,
                runbooks,
                envs,
                tenants,
                targets,
                sel_projects: sels.0,
                sel_runbooks,
                sel_envs: sels.1,
                sel_tenants: sels.2,
                sel_targets: sels.3,
                untenanted,
                contexts,
                deployment_keys: ks.0,
                health_keys: ks.1,
                account_test_keys: ks.2,
            },
        )
}

fn sel(prefix: &str, s: &Option<Vec<usize>>) -> Selection {
    match s {
        None => Selection::All,
        Some(ids) => Selection::Only(ids.iter().map(|i| format!("{prefix}-{i}")).collect()),
    }
}

/// The scope of a case; `extra` adds one new project (with a runbook), runbook on project 0,
/// environment, tenant (connected everywhere) and target, as if created after the setup;
/// `full` connects every tenant to every project and environment and adds a runbook to every
/// project.
pub(crate) fn build(c: &Case, extra: bool) -> Scope {
    build_with(c, extra, false)
}

fn build_with(c: &Case, extra: bool, full: bool) -> Scope {
    let add = usize::from(extra);
    let projects: Vec<OctopusProject> = (0..c.projects + add)
        .map(|i| OctopusProject {
            resource: res("Projects", i, &format!("p{i}")),
            project_group_id: format!("ProjectGroups-{}", i % 2),
        })
        .collect();
    let mut runbooks: Vec<OctopusRunbook> = c
        .runbooks
        .iter()
        .enumerate()
        .map(|(i, &p)| OctopusRunbook {
            resource: res("Runbooks", i, &format!("r{i}")),
            project_id: format!("Projects-{p}"),
        })
        .collect();
    if extra {
        for (k, p) in [0, c.projects].into_iter().enumerate() {
            let i = c.runbooks.len() + k;
            runbooks.push(OctopusRunbook {
                resource: res("Runbooks", i, &format!("r{i}")),
                project_id: format!("Projects-{p}"),
            });
        }
    }
    if full {
        // `Selection::All` on runbooks includes runbooks added to any project later.
        for p in 0..c.projects + add {
            let i = runbooks.len();
            runbooks.push(OctopusRunbook {
                resource: res("Runbooks", i, &format!("r{i}")),
                project_id: format!("Projects-{p}"),
            });
        }
    }
    let envs = c.envs + add;
    let mut tenants: Vec<OctopusTenant> = c
        .tenants
        .iter()
        .enumerate()
        .map(|(i, conns)| {
            let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (p, es) in conns {
                map.entry(format!("Projects-{p}"))
                    .or_default()
                    .extend(es.iter().map(|e| format!("Environments-{e}")));
            }
            if full {
                for p in 0..c.projects + add {
                    map.insert(
                        format!("Projects-{p}"),
                        (0..envs).map(|e| format!("Environments-{e}")).collect(),
                    );
                }
            } else if extra {
                // Existing tenants get connected to the new project and environment too.
                for p in 0..c.projects + 1 {
                    map.entry(format!("Projects-{p}"))
                        .or_default()
                        .push(format!("Environments-{}", c.envs));
                }
            }
            OctopusTenant {
                resource: res("Tenants", i, &format!("t{i}")),
                project_environments: map,
            }
        })
        .collect();
    if extra {
        let i = c.tenants.len();
        tenants.push(OctopusTenant {
            resource: res("Tenants", i, &format!("t{i}")),
            project_environments: (0..c.projects + 1)
                .map(|p| {
                    (
                        format!("Projects-{p}"),
                        (0..envs).map(|e| format!("Environments-{e}")).collect(),
                    )
                })
                .collect(),
        });
    }
    Scope {
        inventory: Inventory {
            space: res("Spaces", 1, "default"),
            account: res("Accounts", 1, "cloud"),
            project_groups: vec![res("ProjectGroups", 0, "g0"), res("ProjectGroups", 1, "g1")],
            projects,
            runbooks,
            environments: (0..envs)
                .map(|i| res("Environments", i, &format!("e{i}")))
                .collect(),
            tenants,
            targets: (0..c.targets + add)
                .map(|i| res("Machines", i, &format!("m{i}")))
                .collect(),
        },
        selection: ScopeSelection {
            contexts: c.contexts.clone(),
            projects: sel("Projects", &c.sel_projects),
            runbooks: sel("Runbooks", &c.sel_runbooks),
            environments: sel("Environments", &c.sel_envs),
            tenants: sel("Tenants", &c.sel_tenants),
            untenanted: c.untenanted,
            targets: sel("Machines", &c.sel_targets),
        },
        keys: SubjectKeyConfig {
            deployment: c.deployment_keys.clone(),
            health_check: c.health_keys.clone(),
            account_test: c.account_test_keys.clone(),
        },
    }
}

fn aws_trust(patterns: &[String]) -> (TrustConfig, String) {
    let provider = AwsProvider::from_issuer(ISSUER, "111122223333").unwrap();
    let cfg = TrustConfig::Aws {
        role_arn: "arn:aws:iam::111122223333:role/octopus".into(),
        providers: vec![AwsProviderConfig {
            url: ISSUER.into(),
            client_ids: vec![provider.audience.clone()],
        }],
        trust_policy: trust_policy_json(&provider, patterns),
    };
    (cfg, provider.audience)
}

/// Independent oracle: is the run (by slugs) inside the selection?
fn oracle(c: &Case, scope: &Scope, row: &octo_oidc_core::simulate::MatrixRow) -> bool {
    let num = |s: &Option<String>| s.as_ref().map(|v| v[1..].parse::<usize>().unwrap());
    let chosen = |s: &Option<Vec<usize>>, i: Option<usize>| match (s, i) {
        (_, None) | (None, _) => true,
        (Some(ids), Some(i)) => ids.contains(&i),
    };
    let r = &row.run;
    let tenant_ok = match num(&r.tenant) {
        None => c.untenanted,
        Some(t) => chosen(&c.sel_tenants, Some(t)),
    };
    let ctx_ok = r.context == Context::AccountTest || scope.selection.contexts.contains(&r.context);
    ctx_ok
        && match r.context {
            Context::Deployment => {
                chosen(&c.sel_projects, num(&r.project))
                    && chosen(&c.sel_envs, num(&r.environment))
                    && tenant_ok
            }
            Context::RunbookRun => {
                chosen(&c.sel_projects, num(&r.project))
                    && chosen(&c.sel_runbooks, num(&r.runbook))
                    && chosen(&c.sel_envs, num(&r.environment))
                    && tenant_ok
            }
            Context::HealthCheck => chosen(&c.sel_targets, num(&r.target)),
            Context::AccountTest => true,
            Context::Feed => false,
        }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn aws_patterns_admit_exactly_the_intended_subjects(c in case()) {
        let scope = build(&c, false);
        let compiled = scope.compile().unwrap();
        let patterns = compiled.aws_subject_patterns();
        let (cfg, aud) = aws_trust(&patterns);
        let trust = cfg.compile().unwrap();
        // Every intended subject of today's space is admitted.
        for s in compiled.subjects() {
            let v = trust.simulate(&TokenClaims { iss: ISSUER.into(), aud: aud.clone(), sub: s.subject.clone() });
            prop_assert!(v.accepted, "intended {} rejected by {:?}: {}", s.subject, patterns, v.reason);
        }
        // Over the space plus items (and tenant connections) created later, whatever is
        // admitted is the subject of a run inside the selection. The selection is a product of
        // per-dimension choices; which tenant is connected where is Octopus's business, so the
        // intended subjects are those of the selection with every tenant connected everywhere.
        let later = build(&c, true);
        let later_compiled = later.compile().unwrap();
        let product = build_with(&c, true, true);
        let intended: BTreeSet<String> = product.subjects().unwrap().into_iter().map(|s| s.subject).collect();
        let m = simulate_scope(&later_compiled, &trust, ISSUER, &aud, Rows::All);
        for row in &m.rows {
            if row.accepted {
                prop_assert!(intended.contains(&row.subject), "{} admitted by {:?} but not intended", row.subject, patterns);
            }
        }
    }

    #[test]
    fn simulator_never_marks_outside_runs_as_intended(c in case()) {
        let later = build(&c, true);
        let compiled = later.compile().unwrap();
        let today = build(&c, false);
        let azure = plan_credentials(&today, ISSUER, None, &[]).unwrap();
        let cfg = TrustConfig::Azure { credentials: azure.to_create.clone() };
        let trust = cfg.compile().unwrap();
        let m = simulate_scope(&compiled, &trust, ISSUER, "api://AzureADTokenExchange", Rows::All);
        prop_assert_eq!(m.rows.len() as u64, m.runs);
        for row in &m.rows {
            prop_assert_eq!(row.intended, oracle(&c, &later, row), "{:?}", row);
            let one = trust.simulate(&TokenClaims { iss: ISSUER.into(), aud: "api://AzureADTokenExchange".into(), sub: row.subject.clone() });
            prop_assert_eq!(one.accepted, row.accepted);
            let expected = match (row.intended, row.accepted) {
                (false, true) => Finding::OverPermission,
                (true, false) => Finding::UnderPermission,
                _ => Finding::AsIntended,
            };
            prop_assert_eq!(row.finding, expected);
        }
    }

    #[test]
    fn azure_credentials_are_exactly_the_intended_subjects(c in case()) {
        let scope = build(&c, false);
        let plan = plan_credentials(&scope, ISSUER, None, &[]).unwrap();
        let subjects: BTreeSet<String> = scope.subjects().unwrap().into_iter().map(|s| s.subject).collect();
        let creds: BTreeSet<String> = plan.to_create.iter().map(|f| f.subject.clone()).collect();
        prop_assert_eq!(&creds, &subjects);
        prop_assert_eq!(plan.to_create.len(), subjects.len());
        let names: BTreeSet<&str> = plan.to_create.iter().map(|f| f.name.as_str()).collect();
        prop_assert_eq!(names.len(), plan.to_create.len());
        prop_assert!(plan.to_create.iter().all(|f| is_valid_credential_name(&f.name)));
        prop_assert_eq!(plan.fits, subjects.len() <= 20);
    }

    #[test]
    fn credential_names_are_valid_and_unique(subjects in proptest::collection::btree_set(".{0,200}", 0..40),
                                            taken in proptest::collection::btree_set("[a-z0-9-]{3,20}", 0..5)) {
        let subjects: Vec<String> = subjects.into_iter().collect();
        let names = credential_names(&subjects, &taken);
        prop_assert_eq!(names.len(), subjects.len());
        let unique: BTreeSet<&String> = names.iter().collect();
        prop_assert_eq!(unique.len(), names.len());
        for n in &names {
            prop_assert!(is_valid_credential_name(n), "{}", n);
            prop_assert!(!taken.contains(n));
        }
    }

    #[test]
    fn string_like_agrees_with_reference(pattern in "[ab:*?]{0,8}", value in "[ab:]{0,10}") {
        prop_assert_eq!(string_like(&pattern, &value), reference_like(pattern.as_bytes(), value.as_bytes()));
    }
}

fn reference_like(p: &[u8], v: &[u8]) -> bool {
    match (p.first(), v.first()) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some(b'*'), _) => {
            reference_like(&p[1..], v) || (!v.is_empty() && reference_like(p, &v[1..]))
        }
        (Some(b'?'), Some(_)) => reference_like(&p[1..], &v[1..]),
        (Some(c), Some(d)) if c == d => reference_like(&p[1..], &v[1..]),
        _ => false,
    }
}
