//! Desired state and plans, data-driven: each scenario is a setup file from `valid/` (or
//! edited from one), the fixture space below, and an observed state (nothing, everything as
//! applied, or as applied and then tampered with); its rendered text and JSON are snapshots.

use std::collections::BTreeMap;

use octo_oidc_core::ErrorCode;
use octo_oidc_core::azure::role_assignment;
use octo_oidc_core::ports::{
    EntraApplication, IamRole, OctopusAccount, OctopusProject, OctopusResource, OctopusRunbook,
    OctopusTeam, OctopusTenant, OidcIdentity, OidcProvider, ServerInfo, ServicePrincipal,
    SpaceInventory,
};
use octo_oidc_engine::desired::{DesiredResource, DesiredState, SpaceFacts, desired_state};
use octo_oidc_engine::observed::{ObservedApp, ObservedServiceAccount, ObservedState};
use octo_oidc_engine::plan::{Action, Plan, plan};
use octo_oidc_engine::render::{plan_json, plan_text};
use octo_oidc_engine::setup_file::{Setup, parse_setup};
use serde_json::json;

use crate::toml_files;

fn res(id: &str, name: &str, slug: &str) -> OctopusResource {
    OctopusResource {
        id: id.into(),
        name: name.into(),
        slug: slug.into(),
    }
}

/// The fixture space: 2 projects, 8 environments, 3 tenants (connected to `web` in staging
/// and production, or production only), a runbook, a target. `web` + `api` in every
/// environment needs 23 subjects (Entra's limit is 20).
fn facts() -> SpaceFacts {
    let envs = [
        "dev",
        "test",
        "staging",
        "production",
        "dr",
        "perf",
        "uat",
        "demo",
    ];
    SpaceFacts {
        server: ServerInfo { version: "2025.4.1".into(), issuer: "https://octopus.example.com".into() },
        server_url: "https://octopus.example.com".into(),
        space: res("Spaces-1", "Default", "default"),
        inventory: SpaceInventory {
            space: Some(res("Spaces-1", "Default", "default")),
            environments: envs
                .iter()
                .enumerate()
                .map(|(i, e)| res(&format!("Environments-{}", i + 1), e, e))
                .collect(),
            project_groups: vec![res("ProjectGroups-1", "Default Project Group", "default-project-group")],
            projects: ["web", "api"]
                .iter()
                .enumerate()
                .map(|(i, p)| OctopusProject {
                    resource: res(&format!("Projects-{}", i + 1), p, p),
                    project_group_id: "ProjectGroups-1".into(),
                })
                .collect(),
            tenants: [("acme", &["Environments-3", "Environments-4"][..]), ("globex", &["Environments-3", "Environments-4"]), ("initech", &["Environments-4"])]
                .iter()
                .enumerate()
                .map(|(i, (t, envs))| OctopusTenant {
                    resource: res(&format!("Tenants-{}", i + 1), t, t),
                    project_environments: BTreeMap::from([(
                        "Projects-1".to_string(),
                        envs.iter().map(|e| e.to_string()).collect(),
                    )]),
                })
                .collect(),
            runbooks: vec![OctopusRunbook {
                resource: res("Runbooks-1", "Restart web", "restart-web"),
                project_id: "Projects-1".into(),
            }],
            deployment_targets: vec![res("Machines-1", "web-01", "web-01")],
        },
        targets: vec![res("Machines-1", "web-01", "web-01")],
        aws_account_id: Some("111122223333".into()),
        azure_role_definition_id: Some(
            "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c".into(),
        ),
        gcp_project: Some(octo_oidc_core::ports::GcpProject {
            project_id: "shop-prod".into(),
            project_number: "123456789012".into(),
        }),
    }
}

fn setup(name: &str, edits: &[(&str, &str)]) -> Setup {
    let mut text = toml_files("valid")
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap()
        .1;
    for (from, to) in edits {
        assert!(text.contains(from), "{name}: '{from}' not in the file");
        text = text.replacen(from, to, 1);
    }
    parse_setup(&text)
        .unwrap_or_else(|p| panic!("{name}: {p:#?}"))
        .setup
}

/// What the remote side looks like after a perfect apply of `desired` (written the way the
/// services return it: the trust policy pretty-printed, ids assigned).
fn as_applied(desired: &DesiredState) -> ObservedState {
    use octo_oidc_core::ports::{
        GcpBinding, GcpLifecycle, GcpPool, GcpProvider, GcpServiceAccount,
    };
    let mut o = ObservedState::default();
    let mut app_ids = BTreeMap::new();
    for (n, r) in desired.resources.iter().enumerate() {
        match r {
            DesiredResource::OidcProvider { arn, spec } => {
                o.oidc_provider = Some(OidcProvider {
                    arn: arn.clone(),
                    url: spec.url.clone(),
                    client_ids: spec.client_ids.clone(),
                    thumbprints: vec![],
                    tags: spec.tags.clone(),
                })
            }
            DesiredResource::IamRole { arn, spec, .. } => {
                let pretty = serde_json::to_string_pretty(
                    &serde_json::from_str::<serde_json::Value>(&spec.trust_policy).unwrap(),
                )
                .unwrap();
                o.iam_role = Some(IamRole {
                    arn: arn.clone(),
                    name: spec.name.clone(),
                    trust_policy: pretty,
                    max_session_duration: spec.max_session_duration,
                    description: spec.description.clone(),
                    tags: spec.tags.clone(),
                    managed_policy_arns: spec.managed_policy_arns.iter().rev().cloned().collect(),
                    inline_policies: spec.inline_policies.clone(),
                })
            }
            DesiredResource::AppRegistration {
                unique_name,
                display_name,
                tags,
            } => {
                let app_id = format!("00000000-0000-4000-8000-{n:012}");
                app_ids.insert(unique_name.clone(), app_id.clone());
                o.apps.push(ObservedApp {
                    application: EntraApplication {
                        object_id: format!("obj-{n}"),
                        app_id: app_id.clone(),
                        display_name: display_name.clone(),
                        unique_name: Some(unique_name.clone()),
                        notes: tags.first().cloned(),
                        tags: tags.clone(),
                    },
                    unique_name: unique_name.clone(),
                    tags: tags.clone(),
                    service_principal: Some(ServicePrincipal {
                        object_id: format!("sp-{n}"),
                        app_id,
                    }),
                    federated_credentials: vec![],
                })
            }
            DesiredResource::ServicePrincipal { .. } => {}
            DesiredResource::FederatedCredential { app, credential } => o
                .apps
                .iter_mut()
                .find(|a| &a.unique_name == app)
                .unwrap()
                .federated_credentials
                .push(credential.clone()),
            DesiredResource::RoleAssignment {
                app,
                scope,
                role_definition_id,
                ..
            } => {
                let sp = o
                    .apps
                    .iter()
                    .find(|a| &a.unique_name == app)
                    .unwrap()
                    .service_principal
                    .clone()
                    .unwrap();
                o.role_assignments.push(role_assignment(
                    scope,
                    role_definition_id.as_ref().unwrap(),
                    &sp.object_id,
                ));
            }
            DesiredResource::OctopusAccount {
                slug,
                body,
                client_id_of,
                ..
            } => {
                let mut body = body.clone();
                if let Some(app) = client_id_of {
                    body["ClientId"] = json!(app_ids[app]);
                }
                body["Id"] = json!(format!("Accounts-{n}"));
                o.octopus_accounts.push(OctopusAccount {
                    id: format!("Accounts-{n}"),
                    slug: slug.clone(),
                    body,
                });
            }
            DesiredResource::ServiceAccount {
                username,
                display_name,
            } => {
                o.service_account = Some(ObservedServiceAccount {
                    id: "Users-7".into(),
                    username: username.clone(),
                    display_name: display_name.clone(),
                    external_id: Some("6f2b1a3c-0000-4000-8000-000000000001".into()),
                    created_by: Some(desired.setup.clone()),
                })
            }
            DesiredResource::OidcIdentity { spec, .. } => o.oidc_identities.push(OidcIdentity {
                id: "OidcIdentities-3".into(),
                spec: spec.clone(),
            }),
            DesiredResource::TeamMembership { team, .. } => {
                o.team = Some(OctopusTeam {
                    id: "Teams-2".into(),
                    name: team.clone(),
                    space_id: Some("Spaces-1".into()),
                    member_user_ids: vec!["Users-7".into()],
                    can_change_members: true,
                })
            }
            DesiredResource::WorkloadIdentityPool { spec } => {
                o.gcp.pool = Some(GcpPool {
                    name: r.name(),
                    display_name: spec.display_name.clone(),
                    description: spec.description.clone(),
                    disabled: false,
                    lifecycle: GcpLifecycle::Active,
                })
            }
            DesiredResource::WorkloadIdentityProvider { spec, .. } => {
                o.gcp.provider = Some(GcpProvider {
                    name: r.name(),
                    display_name: spec.display_name.clone(),
                    description: spec.description.clone(),
                    disabled: false,
                    lifecycle: GcpLifecycle::Active,
                    trust: spec.trust.clone(),
                })
            }
            DesiredResource::GcpServiceAccount { email, spec } => {
                // A setup naming an email reuses an account made by hand.
                let (display_name, description) = spec
                    .clone()
                    .map_or(("Deployer".into(), String::new()), |s| {
                        (s.display_name, s.description)
                    });
                o.gcp.service_account = Some(GcpServiceAccount {
                    email: email.clone(),
                    unique_id: "100000000000000000042".into(),
                    display_name,
                    description,
                })
            }
            DesiredResource::WorkloadIdentityBinding { role, members, .. } => {
                o.gcp.service_account_bindings.push(GcpBinding {
                    role: role.clone(),
                    members: members.iter().rev().cloned().collect(),
                })
            }
            DesiredResource::ProjectRoleBinding { role, member, .. } => {
                o.gcp.project_bindings.push(GcpBinding {
                    role: role.clone(),
                    members: vec!["user:owner@example.com".into(), member.clone()],
                })
            }
        }
    }
    o
}

struct Scenario {
    name: &'static str,
    file: &'static str,
    edits: Vec<(&'static str, &'static str)>,
    observed: fn(&DesiredState) -> ObservedState,
    /// Expected counts: create, update, unchanged, delete, conflict.
    counts: [usize; 5],
}

/// The Azure setup widened to every environment of both projects (over the credential limit),
/// with `strategy` as its `credential_strategy` line, against an empty tenant.
fn azure_over_limit(name: &'static str, strategy: &'static str, counts: [usize; 5]) -> Scenario {
    Scenario {
        name,
        file: "azure",
        edits: vec![
            ("projects = [\"web\"]", "projects = [\"web\", \"api\"]"),
            (
                "environments = [\"staging\", \"production\"]",
                "environments = [\"*\"]",
            ),
            ("credential_strategy = \"one_app\"", strategy),
        ],
        observed: nothing,
        counts,
    }
}

fn nothing(_: &DesiredState) -> ObservedState {
    ObservedState::default()
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "aws-first-run",
            file: "aws",
            edits: vec![],
            observed: nothing,
            counts: [3, 0, 0, 0, 0],
        },
        Scenario {
            name: "aws-second-run",
            file: "aws",
            edits: vec![],
            observed: as_applied,
            counts: [0, 0, 3, 0, 0],
        },
        Scenario {
            name: "aws-tampered",
            file: "aws",
            edits: vec![],
            observed: |d| {
                let mut o = as_applied(d);
                let role = o.iam_role.as_mut().unwrap();
                let mut policy: serde_json::Value =
                    serde_json::from_str(&role.trust_policy).unwrap();
                policy["Statement"][0]["Condition"]
                    .as_object_mut()
                    .unwrap()
                    .remove("StringLike");
                role.trust_policy = policy.to_string();
                role.max_session_duration = 7200;
                role.managed_policy_arns
                    .push("arn:aws:iam::aws:policy/AdministratorAccess".into());
                o.octopus_accounts[0].body["EnvironmentIds"] = json!([]);
                o
            },
            counts: [0, 2, 1, 0, 0],
        },
        Scenario {
            name: "aws-not-ours",
            file: "aws",
            edits: vec![],
            observed: |d| {
                let mut o = as_applied(d);
                o.oidc_provider.as_mut().unwrap().tags.clear();
                o.iam_role.as_mut().unwrap().tags.clear();
                o.octopus_accounts[0].body["Description"] = json!("made by hand");
                o
            },
            counts: [0, 0, 1, 0, 2],
        },
        Scenario {
            name: "aws-other-setup-role",
            file: "aws",
            edits: vec![],
            observed: |d| {
                let mut o = as_applied(d);
                o.iam_role
                    .as_mut()
                    .unwrap()
                    .tags
                    .insert("octo-oidc:setup".into(), "billing-aws".into());
                o.oidc_provider.as_mut().unwrap().client_ids = vec!["sts.amazonaws.com".into()];
                o
            },
            counts: [0, 1, 1, 0, 1],
        },
        Scenario {
            name: "azure-first-run",
            file: "azure",
            edits: vec![],
            observed: nothing,
            counts: [13, 0, 0, 0, 0],
        },
        Scenario {
            name: "azure-second-run",
            file: "azure",
            edits: vec![],
            observed: as_applied,
            counts: [0, 0, 13, 0, 0],
        },
        Scenario {
            name: "azure-scope-narrowed",
            file: "azure",
            edits: vec![],
            observed: |d| {
                let mut o = as_applied(d);
                let app = &mut o.apps[0];
                let mut stale = app.federated_credentials[0].clone();
                stale.name = "space-default-project-web-environment-dev-1a2b3c4d".into();
                stale.subject = "space:default:project:web:environment:dev".into();
                app.federated_credentials.push(stale);
                let mut foreign = app.federated_credentials[0].clone();
                foreign.name = "added-by-hand".into();
                foreign.issuer = "https://token.actions.githubusercontent.com".into();
                app.federated_credentials.push(foreign);
                app.federated_credentials.remove(1);
                let mut old = o.role_assignments[0].clone();
                old.scope = "/subscriptions/11111111-2222-3333-4444-555555555555".into();
                old.name = "5e0b9a52-0000-5000-8000-000000000000".into();
                o.role_assignments.push(old);
                o
            },
            counts: [1, 0, 12, 2, 1],
        },
        Scenario {
            name: "azure-lost-service-principal",
            file: "azure",
            edits: vec![],
            observed: |d| {
                let mut o = as_applied(d);
                o.apps[0].service_principal = None;
                o.role_assignments.clear();
                o.octopus_accounts[0].body["ClientId"] = json!("someone-else");
                o
            },
            counts: [2, 1, 10, 0, 0],
        },
        azure_over_limit(
            "azure-over-limit-coarser-keys",
            "credential_strategy = \"coarser_keys\"",
            [22, 0, 0, 0, 0],
        ),
        azure_over_limit(
            "azure-over-limit-split-apps",
            "credential_strategy = \"split_apps\"",
            [32, 0, 0, 0, 0],
        ),
        Scenario {
            name: "github-first-run",
            file: "github",
            edits: vec![],
            observed: |_| ObservedState {
                team: Some(OctopusTeam {
                    id: "Teams-2".into(),
                    name: "Deployers".into(),
                    space_id: Some("Spaces-1".into()),
                    member_user_ids: vec!["Users-1".into()],
                    can_change_members: true,
                }),
                ..ObservedState::default()
            },
            counts: [3, 0, 0, 0, 0],
        },
        Scenario {
            name: "github-second-run",
            file: "github",
            edits: vec![],
            observed: as_applied,
            counts: [0, 0, 3, 0, 0],
        },
        Scenario {
            name: "github-existing-service-account-no-team",
            file: "github",
            edits: vec![],
            observed: |d| {
                let mut o = as_applied(d);
                o.service_account.as_mut().unwrap().created_by = None;
                o.oidc_identities[0].spec.subject = "repo:acme/shop:*".into();
                o.team = None;
                o
            },
            counts: [0, 1, 1, 0, 1],
        },
        Scenario {
            name: "gitlab-first-run",
            file: "gitlab",
            edits: vec![],
            observed: nothing,
            counts: [2, 0, 0, 0, 0],
        },
        Scenario {
            name: "buildkite-first-run",
            file: "buildkite",
            edits: vec![],
            observed: nothing,
            counts: [2, 0, 0, 0, 0],
        },
    ]
}

fn counts(p: &Plan) -> [usize; 5] {
    let s = p.summary;
    [s.create, s.update, s.unchanged, s.delete, s.conflict]
}

#[test]
fn scenarios_plan_as_expected() {
    for sc in scenarios() {
        let setup = setup(sc.file, &sc.edits);
        let desired =
            desired_state(&setup, &facts()).unwrap_or_else(|p| panic!("{}: {p:#?}", sc.name));
        let observed = (sc.observed)(&desired);
        let plan = plan(&desired, &observed);
        assert_eq!(
            counts(&plan),
            sc.counts,
            "{}:\n{}",
            sc.name,
            plan_text(&plan)
        );
        for (i, step) in plan.steps.iter().enumerate() {
            assert!(
                step.depends_on.iter().all(|&d| d < i),
                "{}: step {i} depends on a later step",
                sc.name
            );
        }
        insta::assert_snapshot!(format!("{}-text", sc.name), plan_text(&plan));
        insta::assert_snapshot!(
            format!("{}-json", sc.name),
            serde_json::to_string_pretty(&plan_json(&plan)).unwrap()
        );
    }
}

#[test]
fn json_steps_carry_action_kind_and_name() {
    let setup = setup("aws", &[]);
    let desired = desired_state(&setup, &facts()).unwrap();
    let json = plan_json(&plan(&desired, &ObservedState::default()));
    let steps = json["steps"].as_array().unwrap();
    let triples: Vec<(&str, &str, &str)> = steps
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap(),
                s["kind"].as_str().unwrap(),
                s["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        triples,
        vec![
            ("create", "oidc_provider", "https://octopus.example.com"),
            ("create", "iam_role", "octopus-shop-prod"),
            ("create", "octopus_account", "AWS production (OIDC)"),
        ]
    );
    // The account needs only the role ARN, known before the role exists: it goes beside
    // the role, after the provider.
    assert_eq!(steps[2]["depends_on"], json!([0]));
}

#[test]
fn the_role_is_tagged_and_trusts_exactly_the_scope() {
    let desired = desired_state(&setup("aws", &[]), &facts()).unwrap();
    let DesiredResource::IamRole { spec, arn, .. } = &desired.resources[1] else {
        panic!()
    };
    assert_eq!(
        spec.tags.get("octo-oidc:setup").map(String::as_str),
        Some("shop-aws-prod")
    );
    assert_eq!(arn, "arn:aws:iam::111122223333:role/octopus-shop-prod");
    assert!(
        spec.trust_policy
            .contains("space:default:project:web:environment:production")
    );
    assert!(
        spec.trust_policy
            .contains("space:default:account:aws-production-oidc")
    );
    let DesiredResource::OctopusAccount { body, .. } = &desired.resources[2] else {
        panic!()
    };
    assert_eq!(body["RoleArn"], json!(arn));
    assert_eq!(body["EnvironmentIds"], json!(["Environments-4"]));
    assert!(
        body["Description"]
            .as_str()
            .unwrap()
            .ends_with("octo-oidc:setup=shop-aws-prod")
    );
}

#[test]
fn over_the_limit_with_one_app_names_the_alternatives() {
    let setup = setup(
        "azure",
        &[
            ("projects = [\"web\"]", "projects = [\"web\", \"api\"]"),
            (
                "environments = [\"staging\", \"production\"]",
                "environments = [\"*\"]",
            ),
        ],
    );
    let problem = desired_state(&setup, &facts()).unwrap_err();
    assert_eq!(problem.code, ErrorCode::LimitExceeded);
    assert_eq!(problem.field_errors[0].field, "azure.credential_strategy");
    let fix = &problem.field_errors[0].fix;
    assert!(
        fix.contains("coarser_keys with deployment = [\"space\", \"project\", \"environment\"]"),
        "{fix}"
    );
    assert!(fix.contains("split_apps: 2 app registrations"), "{fix}");
}

#[test]
fn split_apps_keep_every_app_within_the_limit_and_cover_the_scope() {
    let setup = setup(
        "azure",
        &[
            ("projects = [\"web\"]", "projects = [\"web\", \"api\"]"),
            (
                "environments = [\"staging\", \"production\"]",
                "environments = [\"*\"]",
            ),
            (
                "credential_strategy = \"one_app\"",
                "credential_strategy = \"split_apps\"",
            ),
        ],
    );
    let desired = desired_state(&setup, &facts()).unwrap();
    let layout = desired.azure.as_ref().unwrap();
    assert!(layout.needed > 20, "{}", layout.needed);
    let mut per_app: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in &desired.resources {
        if let DesiredResource::FederatedCredential { app, credential } = r {
            per_app.entry(app).or_default().push(&credential.subject);
        }
    }
    assert_eq!(per_app.len(), 2);
    assert!(per_app.values().all(|s| s.len() <= 20));
    let accounts: Vec<(&str, &str)> = desired
        .resources
        .iter()
        .filter_map(|r| match r {
            DesiredResource::OctopusAccount { name, slug, .. } => {
                Some((name.as_str(), slug.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        accounts,
        vec![
            ("Azure production (OIDC)", "azure-production-oidc"),
            ("Azure production (OIDC) (2)", "azure-production-oidc-2")
        ]
    );
    assert!(
        per_app["octo-oidc-shop-azure-prod-2"]
            .contains(&"space:default:account:azure-production-oidc-2")
    );
    let all: usize = per_app.values().map(Vec::len).sum();
    assert_eq!(
        all,
        layout.needed + 1,
        "every subject once, plus the second account's test"
    );
}

#[test]
fn unknown_slugs_are_field_errors_with_did_you_mean() {
    let setup = setup(
        "aws",
        &[(
            "projects = [\"web\", \"api\"]",
            "projects = [\"web\", \"apii\"]",
        )],
    );
    let problem = desired_state(&setup, &facts()).unwrap_err();
    assert_eq!(problem.code, ErrorCode::InvalidInput);
    assert_eq!(problem.field_errors.len(), 1);
    assert_eq!(problem.field_errors[0].field, "scope.projects[1]");
    assert!(problem.field_errors[0].fix.contains("\"api\""));
}

#[test]
fn a_second_plan_after_apply_has_no_changes_for_every_valid_file() {
    for (name, text) in toml_files("valid") {
        let setup = parse_setup(&text).unwrap().setup;
        let desired = desired_state(&setup, &facts()).unwrap_or_else(|p| panic!("{name}: {p:#?}"));
        let p = plan(&desired, &as_applied(&desired));
        assert!(!p.has_changes(), "{name}:\n{}", plan_text(&p));
        assert!(
            p.steps.iter().all(|s| s.action == Action::Unchanged),
            "{name}"
        );
    }
}
