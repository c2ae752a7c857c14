//! Snapshots of everything the wizard would create for a reference scope: Azure credential
//! sets (within and over the limit), the AWS provider and trust policy, Octopus account
//! bodies, the simulator matrix, and the GitHub identity and workflow snippet.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use octo_oidc_core::accounts::{
    AccountCommon, AwsOidcAccount, AzureCloud, AzureOidcAccount, aws_oidc_account_body,
    azure_oidc_account_body,
};
use octo_oidc_core::aws::trust::AwsError;
use octo_oidc_core::aws::{AwsProvider, plan_role};
use octo_oidc_core::azure::{plan_credentials, role_assignment};
use octo_oidc_core::github::{
    GitHubFilter, GitHubRepo, SubjectForm, oidc_identity, workflow_snippet,
};
use octo_oidc_core::ports::{
    FederatedCredential, OctopusProject, OctopusResource, OctopusRunbook, OctopusTenant,
};
use octo_oidc_core::scope::{Inventory, Scope, ScopeSelection, Selection, SubjectKeyConfig};
use octo_oidc_core::simulate::{AwsProviderConfig, Rows, TrustConfig, simulate_scope};
use octo_oidc_core::subject::{Context, SubjectKey};

const ISSUER: &str = "https://example.octopus.app/";

pub(crate) fn res(id: &str, slug: &str) -> OctopusResource {
    OctopusResource {
        id: id.into(),
        name: slug.into(),
        slug: slug.into(),
    }
}

pub(crate) fn only(ids: &[&str]) -> Selection {
    Selection::Only(ids.iter().map(|s| s.to_string()).collect())
}

/// The reference inventory: space `default`, the account `account`, projects
/// `first_project` (with the runbook `restart`) and `api`, environments `first_environment`
/// and `production`, the tenant `acme` (the first project in production), the target
/// `web-01`.
pub(crate) fn inventory(account: &str, first_project: &str, first_environment: &str) -> Inventory {
    Inventory {
        space: res("Spaces-1", "default"),
        account: res("Accounts-1", account),
        project_groups: vec![res("ProjectGroups-1", "default-project-group")],
        projects: vec![
            OctopusProject {
                resource: res("Projects-1", first_project),
                project_group_id: "ProjectGroups-1".into(),
            },
            OctopusProject {
                resource: res("Projects-2", "api"),
                project_group_id: "ProjectGroups-1".into(),
            },
        ],
        runbooks: vec![OctopusRunbook {
            resource: res("Runbooks-1", "restart"),
            project_id: "Projects-1".into(),
        }],
        environments: vec![
            res("Environments-1", first_environment),
            res("Environments-2", "production"),
        ],
        tenants: vec![OctopusTenant {
            resource: res("Tenants-1", "acme"),
            project_environments: BTreeMap::from([(
                "Projects-1".into(),
                vec!["Environments-2".into()],
            )]),
        }],
        targets: vec![res("Machines-1", "web-01")],
    }
}

pub(crate) fn reference_scope() -> Scope {
    Scope {
        inventory: inventory("cloud-prod", "deploy-web-app", "development"),
        selection: ScopeSelection {
            contexts: vec![
                Context::Deployment,
                Context::RunbookRun,
                Context::HealthCheck,
            ],
            projects: only(&["Projects-1"]),
            runbooks: Selection::All,
            environments: only(&["Environments-2"]),
            tenants: Selection::All,
            untenanted: true,
            targets: only(&["Machines-1"]),
        },
        keys: SubjectKeyConfig::default(),
    }
}

#[test]
fn reference_scope_subjects() {
    insta::assert_json_snapshot!(reference_scope().subjects().unwrap());
}

#[test]
fn azure_credentials_for_the_reference_scope() {
    let existing = vec![FederatedCredential {
        name: "github-main".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
        subject: "repo:acme/web:ref:refs/heads/main".into(),
        audiences: vec!["api://AzureADTokenExchange".into()],
        description: None,
    }];
    insta::assert_json_snapshot!(
        plan_credentials(&reference_scope(), ISSUER, None, &existing).unwrap()
    );
}

#[test]
fn azure_over_the_limit_proposes_alternatives() {
    let mut scope = reference_scope();
    scope.inventory.environments = (1..=12)
        .map(|i| res(&format!("Environments-{i}"), &format!("env-{i:02}")))
        .collect();
    scope.selection.environments = Selection::All;
    scope.selection.projects = Selection::All;
    scope.selection.contexts = vec![Context::Deployment];
    // 2 projects × 12 environments untenanted = 24, acme on deploy-web-app in env-02, the
    // account test: 26, plus 5 already on the app.
    let existing: Vec<FederatedCredential> = (0..5)
        .map(|i| FederatedCredential {
            name: format!("other-{i}"),
            issuer: "https://other.example".into(),
            subject: format!("s{i}"),
            audiences: vec!["api://AzureADTokenExchange".into()],
            description: None,
        })
        .collect();
    let plan = plan_credentials(&scope, ISSUER, None, &existing).unwrap();
    assert!(!plan.fits);
    assert_eq!(plan.total_on_app, 5 + 26);
    insta::assert_json_snapshot!(plan.alternatives);
}

#[test]
fn aws_role_for_the_reference_scope() {
    let provider = AwsProvider::from_issuer(ISSUER, "111122223333").unwrap();
    let plan = plan_role(
        &reference_scope(),
        &provider,
        "octopus-deploy-web-app",
        3600,
        None,
    )
    .unwrap();
    insta::assert_json_snapshot!(plan);
}

#[test]
fn aws_role_with_all_environments_uses_wildcards() {
    let mut scope = reference_scope();
    scope.selection.environments = Selection::All;
    scope.keys.deployment = vec![
        SubjectKey::Space,
        SubjectKey::Project,
        SubjectKey::Environment,
        SubjectKey::Type,
    ];
    scope.selection.tenants = only(&[]);
    let provider = AwsProvider::from_issuer("https://example.octopus.app", "111122223333").unwrap();
    let plan = plan_role(&scope, &provider, "octopus", 7200, Some(4096)).unwrap();
    insta::assert_json_snapshot!(plan.patterns);
}

#[test]
fn aws_policy_too_large_lists_alternatives() {
    let mut scope = reference_scope();
    scope.inventory.projects = (1..=40)
        .map(|i| OctopusProject {
            resource: res(&format!("Projects-{i}"), &format!("project-number-{i:02}")),
            project_group_id: "ProjectGroups-1".into(),
        })
        .collect();
    scope.inventory.runbooks.clear();
    scope.selection.projects = Selection::Only((1..=40).map(|i| format!("Projects-{i}")).collect());
    let provider = AwsProvider::from_issuer(ISSUER, "111122223333").unwrap();
    match plan_role(&scope, &provider, "octopus", 3600, None).unwrap_err() {
        AwsError::PolicyTooLarge {
            size,
            quota,
            alternatives,
        } => {
            assert!(size > quota);
            insta::assert_json_snapshot!(alternatives);
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn octopus_account_bodies() {
    let scope = reference_scope();
    let common = AccountCommon {
        name: "Cloud (production)".into(),
        description: "Created by the Octopus OIDC Wizard".into(),
        space_id: "Spaces-1".into(),
        slug: Some("cloud-prod".into()),
    };
    let azure = azure_oidc_account_body(
        &AzureOidcAccount {
            common: common.clone(),
            subscription_id: "00000000-0000-0000-0000-000000000001".into(),
            client_id: "00000000-0000-0000-0000-000000000002".into(),
            tenant_id: "00000000-0000-0000-0000-000000000003".into(),
            cloud: AzureCloud::Global,
            audience: None,
            custom_claims: Default::default(),
        },
        &scope,
    )
    .unwrap();
    let aws = aws_oidc_account_body(
        &AwsOidcAccount {
            common,
            role_arn: "arn:aws:iam::111122223333:role/octopus-deploy-web-app".into(),
            session_duration: 3600,
            region: "eu-west-1".into(),
            audience: "example.octopus.app".into(),
            custom_claims: [(
                "https://aws.amazon.com/tags".to_string(),
                r#"{"principal_tags":{"team":["web"]},"transitive_tag_keys":["team"]}"#.to_string(),
            )]
            .into(),
        },
        &scope,
    )
    .unwrap();
    assert_eq!(aws["SessionDuration"], "3600");
    assert_eq!(aws["Region"], "eu-west-1");
    assert_eq!(aws["Audience"], "example.octopus.app");
    assert!(azure.get("CustomClaims").is_none(), "no claims, no field");
    insta::assert_json_snapshot!("azure_oidc_account", azure);
    insta::assert_json_snapshot!("aws_oidc_account", aws);
}

#[test]
fn matrix_flags_coarse_keys() {
    let mut scope = reference_scope();
    scope.keys.deployment = vec![SubjectKey::Space, SubjectKey::Environment];
    let plan = plan_credentials(&scope, ISSUER, None, &[]).unwrap();
    let cfg = TrustConfig::Azure {
        credentials: plan.to_create,
    };
    let trust = cfg.compile().unwrap();
    let compiled = scope.compile().unwrap();
    let m = simulate_scope(
        &compiled,
        &trust,
        ISSUER,
        "api://AzureADTokenExchange",
        Rows::Differences,
    );
    insta::assert_json_snapshot!(m);
}

#[test]
fn aws_matrix_for_generated_policy_has_no_differences() {
    let scope = reference_scope();
    let provider = AwsProvider::from_issuer(ISSUER, "111122223333").unwrap();
    let plan = plan_role(&scope, &provider, "octopus", 3600, None).unwrap();
    let cfg = TrustConfig::Aws {
        role_arn: "arn:aws:iam::111122223333:role/octopus".into(),
        providers: vec![AwsProviderConfig {
            url: provider.url.clone(),
            client_ids: vec![provider.audience.clone()],
        }],
        trust_policy: plan.role.trust_policy,
    };
    let trust = cfg.compile().unwrap();
    let compiled = scope.compile().unwrap();
    let m = simulate_scope(&compiled, &trust, ISSUER, &provider.audience, Rows::None);
    assert_eq!((m.over_permission, m.under_permission), (0, 0));
    assert_eq!(m.accepted, m.intended);
}

#[test]
fn github_identity_snippet_and_role_assignment() {
    let repo = GitHubRepo {
        owner: "acme".into(),
        name: "web".into(),
        owner_id: Some(1234),
        repo_id: Some(5678),
    };
    let identity = oidc_identity(
        "acme-web-production",
        &repo,
        &GitHubFilter::Environment("production".into()),
        SubjectForm::Immutable,
        None,
    )
    .unwrap();
    insta::assert_json_snapshot!(identity);
    insta::assert_snapshot!(workflow_snippet(
        "https://my.octopus.app/",
        "6f2b1a3c-0000-4000-8000-000000000001"
    ));
    let ra = role_assignment(
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/web",
        "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
        "11111111-2222-3333-4444-555555555555",
    );
    insta::assert_json_snapshot!(ra);
}
