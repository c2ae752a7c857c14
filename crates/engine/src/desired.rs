//! The desired state: from a validated [`Setup`] and the facts the observe step reads (the
//! space's inventory, the server's issuer, the AWS account id, the Azure role's definition
//! id), every resource the setup must have, in dependency order, computed with the core's
//! generators: AWS provider + role (tagged `octo-oidc:setup`) + account body; Azure app
//! registration(s) + service principal + federated credentials + role assignment + account
//! body; CI → Octopus service account + OIDC identity (+ team membership) + snippet.
//!
//! Values only known after apply (an app's client id, a service principal's object id) are
//! left as references to the resource that will have them; the plan fills them from the
//! observed state where the resource exists.
//!
//! Deliberately absent: reading anything (the facts are passed in) and comparing with what
//! exists ([`crate::plan`]).

use std::collections::BTreeSet;

use octo_oidc_core::Problem;
use octo_oidc_core::accounts::{
    AccountCommon, AwsOidcAccount, AzureCloud, AzureOidcAccount, aws_oidc_account_body,
    azure_oidc_account_body,
};
use octo_oidc_core::aws::{AwsError, AwsProvider, plan_role};
use octo_oidc_core::azure::{
    AzureAlternative, AzureError, MAX_CREDENTIALS_PER_APP, credential_names, plan_credentials,
};
use octo_oidc_core::error::{ErrorCode, FieldError};
use octo_oidc_core::ports::{
    FederatedCredential, GcpPoolSpec, GcpProject, GcpProviderSpec, GcpServiceAccountSpec,
    OctopusResource, OidcIdentitySpec, OidcProviderSpec, RoleSpec, ServerInfo, SpaceInventory,
};
use octo_oidc_core::scope::{Inventory, Scope, ScopeError, ScopeSelection, Selection};
use octo_oidc_core::subject::Context;
use serde::{Deserialize, Serialize};

use crate::ownership;
use crate::setup_file::structure::did_you_mean;
use crate::setup_file::{
    AwsSetup, AzureSetup, CiSetup, CiSystem, CloudScope, CredentialStrategy, Setup, SlugSelection,
    Target, TargetSpec,
};

/// What the observe step knows before planning (read through the ports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceFacts {
    /// Server version and issuer (`Octopus::server_info`).
    pub server: ServerInfo,
    /// The server's root URL (for snippets).
    pub server_url: String,
    /// The setup's space, resolved from its name, slug or id.
    pub space: OctopusResource,
    /// The space's inventory (`Octopus::inventory`).
    pub inventory: SpaceInventory,
    /// Deployment targets (health checks). SEAM: moves into `SpaceInventory` when the ports
    /// lane adds them there.
    pub targets: Vec<OctopusResource>,
    /// The AWS account id of the credentials in use (`Iam::caller_identity`); aws only.
    pub aws_account_id: Option<String>,
    /// The role's full definition id (`AzureRbac::role_definition_id`); azure only.
    pub azure_role_definition_id: Option<String>,
    /// The Google Cloud project, its id and NUMBER (`GoogleCloud::project`); gcp only.
    pub gcp_project: Option<GcpProject>,
}

/// The kinds of resource a setup manages (the plan's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// IAM OIDC identity provider.
    OidcProvider,
    /// IAM role.
    IamRole,
    /// Entra app registration.
    AppRegistration,
    /// Entra service principal.
    ServicePrincipal,
    /// Federated identity credential on an app registration.
    FederatedCredential,
    /// Azure RBAC role assignment.
    RoleAssignment,
    /// Octopus OIDC account.
    OctopusAccount,
    /// Octopus service account.
    ServiceAccount,
    /// OIDC identity on a service account.
    OidcIdentity,
    /// Membership of the service account in a team.
    TeamMembership,
    /// Google Cloud workload identity pool.
    WorkloadIdentityPool,
    /// OIDC provider of a workload identity pool.
    WorkloadIdentityProvider,
    /// Google Cloud service account.
    GcpServiceAccount,
    /// `roles/iam.workloadIdentityUser` on the service account for the pool's principals.
    WorkloadIdentityBinding,
    /// A project role granted to the service account.
    ProjectRoleBinding,
}

impl ResourceKind {
    /// The stable name (`oidc_provider`, `iam_role`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::OidcProvider => "oidc_provider",
            ResourceKind::IamRole => "iam_role",
            ResourceKind::AppRegistration => "app_registration",
            ResourceKind::ServicePrincipal => "service_principal",
            ResourceKind::FederatedCredential => "federated_credential",
            ResourceKind::RoleAssignment => "role_assignment",
            ResourceKind::OctopusAccount => "octopus_account",
            ResourceKind::ServiceAccount => "service_account",
            ResourceKind::OidcIdentity => "oidc_identity",
            ResourceKind::TeamMembership => "team_membership",
            ResourceKind::WorkloadIdentityPool => "workload_identity_pool",
            ResourceKind::WorkloadIdentityProvider => "workload_identity_provider",
            ResourceKind::GcpServiceAccount => "gcp_service_account",
            ResourceKind::WorkloadIdentityBinding => "workload_identity_binding",
            ResourceKind::ProjectRoleBinding => "project_role_binding",
        }
    }
}

/// One resource as the setup wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DesiredResource {
    /// The IAM OIDC provider for the issuer.
    OidcProvider {
        /// Its ARN (derived from the issuer and account id).
        arn: String,
        /// What it must look like.
        spec: OidcProviderSpec,
    },
    /// The IAM role Octopus assumes.
    IamRole {
        /// Its ARN.
        arn: String,
        /// What it must look like (trust policy minified, tags, policies).
        spec: RoleSpec,
        /// Trust policy size.
        policy_size: usize,
        /// The quota it was checked against.
        quota: usize,
    },
    /// An Entra app registration.
    AppRegistration {
        /// The stable `uniqueName` it is found by.
        unique_name: String,
        /// Display name.
        display_name: String,
        /// Tags (the setup's mark).
        tags: Vec<String>,
    },
    /// The service principal of an app registration.
    ServicePrincipal {
        /// The app's unique name.
        app: String,
    },
    /// A federated identity credential.
    FederatedCredential {
        /// The app's unique name.
        app: String,
        /// The credential.
        credential: FederatedCredential,
    },
    /// The role assignment of an app's service principal.
    RoleAssignment {
        /// The app's unique name.
        app: String,
        /// ARM scope.
        scope: String,
        /// Role name.
        role: String,
        /// Full role definition id, if known.
        role_definition_id: Option<String>,
    },
    /// An Octopus OIDC account.
    OctopusAccount {
        /// Name.
        name: String,
        /// Slug (the `account:` subject value).
        slug: String,
        /// The flat JSON body (`ClientId` empty while `client_id_of` is pending).
        body: serde_json::Value,
        /// Azure: the app whose client id goes into `ClientId`.
        client_id_of: Option<String>,
        /// The subjects this account's runs present (its cloud trusts exactly these).
        subjects: Vec<String>,
    },
    /// An Octopus service account.
    ServiceAccount {
        /// Username.
        username: String,
        /// Display name on create.
        display_name: String,
    },
    /// An OIDC identity on the service account.
    OidcIdentity {
        /// The service account's username.
        service_account: String,
        /// Name, issuer, subject, audience.
        spec: OidcIdentitySpec,
    },
    /// The service account as a member of a team.
    TeamMembership {
        /// Team name.
        team: String,
        /// The service account's username.
        service_account: String,
    },
    /// A workload identity pool (its description carries the setup's mark).
    WorkloadIdentityPool {
        /// What it must look like.
        spec: GcpPoolSpec,
    },
    /// The pool's OIDC provider: issuer, audiences, mapping, condition.
    WorkloadIdentityProvider {
        /// What it must look like.
        spec: GcpProviderSpec,
        /// The exact subjects the condition admits.
        subjects: Vec<String>,
    },
    /// The service account Octopus impersonates.
    GcpServiceAccount {
        /// Its email.
        email: String,
        /// What to create when missing; `None` = the setup names an existing account by
        /// email (reused, never created).
        spec: Option<GcpServiceAccountSpec>,
    },
    /// `roles/iam.workloadIdentityUser` on the service account for the pool's principals.
    WorkloadIdentityBinding {
        /// The service account's email.
        service_account: String,
        /// The role.
        role: String,
        /// The members (`principal://…/subject/…`), sorted.
        members: Vec<String>,
        /// The pool's resource name: members under it that are not wanted are removed.
        pool: String,
    },
    /// A project role for the service account.
    ProjectRoleBinding {
        /// The project id.
        project: String,
        /// The role.
        role: String,
        /// `serviceAccount:<email>`.
        member: String,
    },
}

impl DesiredResource {
    /// The resource's kind.
    pub fn kind(&self) -> ResourceKind {
        match self {
            DesiredResource::OidcProvider { .. } => ResourceKind::OidcProvider,
            DesiredResource::IamRole { .. } => ResourceKind::IamRole,
            DesiredResource::AppRegistration { .. } => ResourceKind::AppRegistration,
            DesiredResource::ServicePrincipal { .. } => ResourceKind::ServicePrincipal,
            DesiredResource::FederatedCredential { .. } => ResourceKind::FederatedCredential,
            DesiredResource::RoleAssignment { .. } => ResourceKind::RoleAssignment,
            DesiredResource::OctopusAccount { .. } => ResourceKind::OctopusAccount,
            DesiredResource::ServiceAccount { .. } => ResourceKind::ServiceAccount,
            DesiredResource::OidcIdentity { .. } => ResourceKind::OidcIdentity,
            DesiredResource::TeamMembership { .. } => ResourceKind::TeamMembership,
            DesiredResource::WorkloadIdentityPool { .. } => ResourceKind::WorkloadIdentityPool,
            DesiredResource::WorkloadIdentityProvider { .. } => {
                ResourceKind::WorkloadIdentityProvider
            }
            DesiredResource::GcpServiceAccount { .. } => ResourceKind::GcpServiceAccount,
            DesiredResource::WorkloadIdentityBinding { .. } => {
                ResourceKind::WorkloadIdentityBinding
            }
            DesiredResource::ProjectRoleBinding { .. } => ResourceKind::ProjectRoleBinding,
        }
    }

    /// The name a person recognizes it by.
    pub fn name(&self) -> String {
        match self {
            DesiredResource::OidcProvider { spec, .. } => spec.url.clone(),
            DesiredResource::IamRole { spec, .. } => spec.name.clone(),
            DesiredResource::AppRegistration { display_name, .. } => display_name.clone(),
            DesiredResource::ServicePrincipal { app } => app.clone(),
            DesiredResource::FederatedCredential { credential, .. } => credential.name.clone(),
            DesiredResource::RoleAssignment { role, scope, .. } => format!("{role} on {scope}"),
            DesiredResource::OctopusAccount { name, .. } => name.clone(),
            DesiredResource::ServiceAccount { username, .. } => username.clone(),
            DesiredResource::OidcIdentity { spec, .. } => spec.name.clone(),
            DesiredResource::TeamMembership {
                team,
                service_account,
            } => {
                format!("{service_account} in {team}")
            }
            DesiredResource::WorkloadIdentityPool { spec } => {
                format!(
                    "projects/{}/locations/global/workloadIdentityPools/{}",
                    spec.project_number, spec.pool_id
                )
            }
            DesiredResource::WorkloadIdentityProvider { spec, .. } => spec.provider.provider_name(),
            DesiredResource::GcpServiceAccount { email, .. } => email.clone(),
            DesiredResource::WorkloadIdentityBinding {
                service_account,
                role,
                ..
            } => format!("{role} on {service_account}"),
            DesiredResource::ProjectRoleBinding { project, role, .. } => {
                crate::google::project_binding_name(project, role)
            }
        }
    }
}

/// How an Azure setup's credentials are laid out, when the limit mattered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AzureLayout {
    /// Credentials the scope needs with the file's keys.
    pub needed: usize,
    /// Entra's limit per app registration.
    pub limit: usize,
    /// The strategy used.
    pub strategy: CredentialStrategy,
    /// The deployment keys used, when `coarser_keys` chose them.
    pub chosen_deployment_keys: Option<Vec<String>>,
    /// Number of app registrations.
    pub apps: usize,
    /// Every alternative, as the core computes them.
    pub alternatives: Vec<AzureAlternative>,
}

/// The CI → Octopus output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiOutput {
    /// Which CI system.
    pub ci: CiSystem,
    /// The Octopus server the snippet signs in to.
    pub server_url: String,
}

/// Everything a setup must have, in dependency order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredState {
    /// The setup's name.
    pub setup: String,
    /// Its target.
    pub target: Target,
    /// The space.
    pub space: OctopusResource,
    /// Resources, dependencies first.
    pub resources: Vec<DesiredResource>,
    /// Azure: the layout when the scope needs more than one app could hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureLayout>,
    /// CI targets: what the snippet needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiOutput>,
}

/// The Octopus-style slug of a name: lower-case ASCII letters and digits, other runs → `-`.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The name of the OIDC identity a CI setup creates.
pub fn identity_name(setup: &str) -> String {
    format!("octo-oidc-{setup}")
}

/// The unique name of a setup's `n`-th app registration (1-based).
pub fn app_unique_name(setup: &str, n: usize) -> String {
    match n {
        1 => format!("octo-oidc-{setup}"),
        n => format!("octo-oidc-{setup}-{n}"),
    }
}

fn numbered(base: &str, n: usize, with_parens: bool) -> String {
    match (n, with_parens) {
        (1, _) => base.to_string(),
        (n, true) => format!("{base} ({n})"),
        (n, false) => format!("{base}-{n}"),
    }
}

pub(crate) fn internal(message: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::Internal, message)
}

fn items_of(
    inv: &SpaceInventory,
    targets: &[OctopusResource],
    what: &str,
) -> Vec<(String, String)> {
    let pair = |r: &OctopusResource| (r.id.clone(), r.slug.clone());
    match what {
        "projects" => inv.projects.iter().map(|p| pair(&p.resource)).collect(),
        "environments" => inv.environments.iter().map(pair).collect(),
        "tenants" => inv.tenants.iter().map(|t| pair(&t.resource)).collect(),
        "health_check_targets" => targets.iter().map(pair).collect(),
        _ => Vec::new(),
    }
}

/// The ids for the slugs `sel` lists in `scope.{list}` (one of [`items_of`]'s lists); each
/// unknown slug is a field error naming a `what`.
fn resolve(
    list: &str,
    what: &str,
    sel: &SlugSelection,
    facts: &SpaceFacts,
    errors: &mut Vec<FieldError>,
) -> Selection {
    let field = format!("scope.{list}");
    let items = items_of(&facts.inventory, &facts.targets, list);
    let space = facts.space.name.as_str();
    match sel {
        SlugSelection::All => Selection::All,
        SlugSelection::Only(slugs) => Selection::Only(
            slugs
                .iter()
                .enumerate()
                .filter_map(|(i, slug)| match items.iter().find(|(_, s)| s == slug) {
                    Some((id, _)) => Some(id.clone()),
                    None => {
                        let fix = match did_you_mean(slug, items.iter().map(|(_, s)| s.as_str())) {
                            Some(m) => format!("Did you mean \"{m}\"? Use the slug Octopus shows."),
                            None => {
                                "Use the slug Octopus shows for it (Settings of the item).".into()
                            }
                        };
                        errors.push(FieldError {
                            field: format!("{field}[{i}]"),
                            problem: format!("no {what} with slug '{slug}' in space {space}"),
                            fix,
                        });
                        None
                    }
                })
                .collect(),
        ),
    }
}

/// The core's scope for a cloud setup: slugs resolved against the inventory (every unknown
/// slug is a field error with a "did you mean").
pub fn resolve_scope(
    scope: &CloudScope,
    facts: &SpaceFacts,
    account_slug: &str,
) -> Result<Scope, Problem> {
    let inv = &facts.inventory;
    let space = facts.space.name.as_str();
    let mut errors = Vec::new();
    let mut slugs_of = |field, what, slugs| resolve(field, what, slugs, facts, &mut errors);
    let projects = slugs_of("projects", "project", &scope.projects);
    let environments = slugs_of("environments", "environment", &scope.environments);
    let tenants = slugs_of("tenants", "tenant", &scope.tenants);
    let targets = slugs_of("health_check_targets", "deployment target", &scope.targets);
    let runbook_items: Vec<(String, String)> = inv
        .runbooks
        .iter()
        .filter(|r| projects.contains(&r.project_id))
        .map(|r| (r.resource.id.clone(), r.resource.slug.clone()))
        .collect();
    let runbooks = match &scope.runbooks {
        SlugSelection::All => Selection::All,
        SlugSelection::Only(slugs) => {
            let mut ids = Vec::new();
            for (i, slug) in slugs.iter().enumerate() {
                let found: Vec<&String> = runbook_items
                    .iter()
                    .filter(|(_, s)| s == slug)
                    .map(|(id, _)| id)
                    .collect();
                if found.is_empty() {
                    errors.push(FieldError {
                        field: format!("scope.runbooks[{i}]"),
                        problem: format!("no runbook with slug '{slug}' in the listed projects of space {space}"),
                        fix: match did_you_mean(slug, runbook_items.iter().map(|(_, s)| s.as_str())) {
                            Some(m) => format!("Did you mean \"{m}\"?"),
                            None => "List the runbook's project in scope.projects and use the runbook's slug.".into(),
                        },
                    });
                }
                ids.extend(found.into_iter().cloned());
            }
            Selection::Only(ids)
        }
    };
    if !errors.is_empty() {
        return Err(Problem::invalid_input(errors));
    }
    let mut contexts = Vec::new();
    if !scope.projects.is_empty() {
        contexts.push(Context::Deployment);
    }
    if !scope.runbooks.is_empty() {
        contexts.push(Context::RunbookRun);
    }
    if !scope.targets.is_empty() {
        contexts.push(Context::HealthCheck);
    }
    let account = OctopusResource {
        id: String::new(),
        name: scope.account_name.clone(),
        slug: account_slug.to_string(),
    };
    Ok(Scope {
        inventory: Inventory::from_space(
            facts.space.clone(),
            account,
            inv.clone(),
            facts.targets.clone(),
        ),
        selection: ScopeSelection {
            contexts,
            projects,
            runbooks,
            environments,
            tenants,
            untenanted: scope.untenanted,
            targets,
        },
        keys: scope.keys.clone(),
    })
}

pub(crate) fn scope_problem(e: ScopeError) -> Problem {
    Problem::invalid_input(vec![FieldError {
        field: "scope".into(),
        problem: e.to_string(),
        fix: "Check the scope's slugs and subject keys against the space.".into(),
    }])
}

fn subjects_of(scope: &Scope) -> Result<Vec<String>, Problem> {
    Ok(scope
        .subjects()
        .map_err(scope_problem)?
        .into_iter()
        .map(|s| s.subject)
        .collect())
}

/// Computes the desired state of a validated setup.
pub fn desired_state(setup: &Setup, facts: &SpaceFacts) -> Result<DesiredState, Problem> {
    let mut state = DesiredState {
        setup: setup.name.clone(),
        target: setup.file.target,
        space: facts.space.clone(),
        resources: Vec::new(),
        azure: None,
        ci: None,
    };
    match &setup.spec {
        TargetSpec::Aws(aws) => desired_aws(setup, aws, facts, &mut state)?,
        TargetSpec::Azure(azure) => desired_azure(setup, azure, facts, &mut state)?,
        TargetSpec::Ci(ci) => desired_ci(ci, facts, &mut state),
        TargetSpec::Gcp(gcp) => crate::google::desired(setup, gcp, facts, &mut state)?,
    }
    Ok(state)
}

pub(crate) fn common(setup: &Setup, name: &str, slug: &str, facts: &SpaceFacts) -> AccountCommon {
    AccountCommon {
        name: name.to_string(),
        description: ownership::octopus_description(&setup.name),
        space_id: facts.space.id.clone(),
        slug: Some(slug.to_string()),
    }
}

fn desired_aws(
    setup: &Setup,
    aws: &AwsSetup,
    facts: &SpaceFacts,
    state: &mut DesiredState,
) -> Result<(), Problem> {
    let account_id = facts
        .aws_account_id
        .as_deref()
        .ok_or_else(|| internal("the AWS account id was not observed before planning"))?;
    let slug = slugify(&aws.scope.account_name);
    let scope = resolve_scope(&aws.scope, facts, &slug)?;
    let provider = AwsProvider::from_issuer(&facts.server.issuer, account_id).map_err(|e| {
        Problem::new(ErrorCode::IssuerInvalid, e.to_string()).with_hint(
            "AWS needs the Octopus issuer on https port 443; check Octopus's Server URI and its /.well-known/openid-configuration.",
        )
    })?;
    let plan = plan_role(
        &scope,
        &provider,
        &aws.role_name,
        aws.session_duration,
        aws.trust_policy_quota,
    )
    .map_err(aws_problem)?;
    let tags = ownership::aws_tags(&setup.name);
    let mut role = plan.role;
    role.managed_policy_arns = aws.managed_policies.clone();
    role.tags = tags.clone();
    let role_arn = role_arn(account_id, &aws.role_name);
    let body = aws_oidc_account_body(
        &AwsOidcAccount {
            common: common(setup, &aws.scope.account_name, &slug, facts),
            role_arn: role_arn.clone(),
            session_duration: aws.session_duration,
            // Octopus 2026 refuses an AWS account without a region; an empty one is caught
            // there (the setup file's `aws.region` is still optional).
            region: aws.region.clone().unwrap_or_default(),
            audience: provider.audience.clone(),
            custom_claims: Default::default(),
        },
        &scope,
    )
    .map_err(scope_problem)?;
    state.resources = vec![
        DesiredResource::OidcProvider {
            arn: provider.arn.clone(),
            spec: provider.spec(tags),
        },
        DesiredResource::IamRole {
            arn: role_arn,
            spec: role,
            policy_size: plan.policy_size,
            quota: plan.quota,
        },
        DesiredResource::OctopusAccount {
            name: aws.scope.account_name.clone(),
            slug,
            body,
            client_id_of: None,
            subjects: plan.patterns,
        },
    ];
    Ok(())
}

/// The ARN of the role `name` (path `/`) in AWS account `account_id`.
pub(crate) fn role_arn(account_id: &str, name: &str) -> String {
    format!("arn:aws:iam::{account_id}:role/{name}")
}

fn aws_problem(e: AwsError) -> Problem {
    match e {
        AwsError::PolicyTooLarge {
            size,
            quota,
            ref alternatives,
        } => {
            let options: Vec<String> = alternatives
                .iter()
                .filter(|a| a.fits)
                .map(|a| {
                    format!(
                        "[{}] ({} characters)",
                        keys_text(&a.keys.deployment),
                        a.size
                    )
                })
                .collect();
            let fix = if options.is_empty() {
                "Narrow the scope, or raise the \"Role trust policy length\" quota (aws.trust_policy_quota, up to 4096).".to_string()
            } else {
                format!(
                    "Use coarser keys, e.g. deployment = {}; or raise aws.trust_policy_quota (up to 4096).",
                    options.join(" or ")
                )
            };
            Problem {
                code: ErrorCode::LimitExceeded,
                message: format!(
                    "the trust policy would be {size} characters; the quota is {quota}"
                ),
                hint: Some(fix.clone()),
                field_errors: vec![FieldError {
                    field: "subject_keys.deployment".into(),
                    problem: format!(
                        "gives a trust policy of {size} characters, over the quota of {quota}"
                    ),
                    fix,
                }],
            }
        }
        other => Problem::new(ErrorCode::InvalidInput, other.to_string()),
    }
}

fn keys_text(keys: &[octo_oidc_core::SubjectKey]) -> String {
    keys.iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn azure_problem(e: AzureError) -> Problem {
    match e {
        AzureError::Scope(s) => scope_problem(s),
        other => Problem::new(ErrorCode::IssuerInvalid, other.to_string()),
    }
}

fn desired_azure(
    setup: &Setup,
    azure: &AzureSetup,
    facts: &SpaceFacts,
    state: &mut DesiredState,
) -> Result<(), Problem> {
    let slug = slugify(&azure.scope.account_name);
    let mut scope = resolve_scope(&azure.scope, facts, &slug)?;
    let issuer = facts.server.issuer.as_str();
    let first = plan_credentials(&scope, issuer, None, &[]).map_err(azure_problem)?;
    let needed = first.to_create.len();
    let alternatives = match first.fits {
        true => Vec::new(),
        false => first.alternatives.clone(),
    };
    let mut apps: Vec<AppLayout> = Vec::new();
    let mut chosen_keys = None;
    if first.fits {
        apps.push(AppLayout {
            credentials: first.to_create,
            account_name: azure.scope.account_name.clone(),
            account_slug: slug.clone(),
            scope,
        });
    } else {
        match azure.credential_strategy {
            CredentialStrategy::OneApp => return Err(over_limit(needed, &alternatives)),
            CredentialStrategy::CoarserKeys => {
                let keys = alternatives
                    .iter()
                    .find_map(|a| match a {
                        AzureAlternative::CoarserKeys {
                            keys, fits: true, ..
                        } => Some(keys.clone()),
                        _ => None,
                    })
                    .ok_or_else(|| over_limit(needed, &alternatives))?;
                chosen_keys = Some(keys.deployment.iter().map(|k| k.to_string()).collect());
                scope.keys = keys;
                let plan = plan_credentials(&scope, issuer, None, &[]).map_err(azure_problem)?;
                apps.push(AppLayout {
                    credentials: plan.to_create,
                    account_name: azure.scope.account_name.clone(),
                    account_slug: slug.clone(),
                    scope,
                });
            }
            CredentialStrategy::SplitApps => {
                apps = split_apps(
                    &scope,
                    &first.to_create,
                    &azure.scope.account_name,
                    &slug,
                    issuer,
                )?;
            }
        }
    }
    if !first.fits {
        state.azure = Some(AzureLayout {
            needed,
            limit: MAX_CREDENTIALS_PER_APP,
            strategy: azure.credential_strategy,
            chosen_deployment_keys: chosen_keys,
            apps: apps.len(),
            alternatives,
        });
    }
    let assignment_scope = azure.assignment_scope();
    let mut resources = Vec::new();
    let mut accounts = Vec::new();
    for (n, layout) in apps.into_iter().enumerate() {
        let AppLayout {
            credentials,
            account_name,
            account_slug,
            scope: app_scope,
        } = layout;
        let n = n + 1;
        let app = app_unique_name(&setup.name, n);
        resources.push(DesiredResource::AppRegistration {
            unique_name: app.clone(),
            display_name: numbered(&azure.app_name, n, false),
            tags: vec![ownership::entra_tag(&setup.name)],
        });
        resources.push(DesiredResource::ServicePrincipal { app: app.clone() });
        let subjects = credentials.iter().map(|c| c.subject.clone()).collect();
        for credential in credentials {
            resources.push(DesiredResource::FederatedCredential {
                app: app.clone(),
                credential,
            });
        }
        resources.push(DesiredResource::RoleAssignment {
            app: app.clone(),
            scope: assignment_scope.clone(),
            role: azure.role.clone(),
            role_definition_id: facts.azure_role_definition_id.clone(),
        });
        let body = azure_oidc_account_body(
            &AzureOidcAccount {
                common: common(setup, &account_name, &account_slug, facts),
                subscription_id: azure.subscription_id.clone(),
                client_id: String::new(),
                tenant_id: azure.tenant_id.clone(),
                cloud: AzureCloud::Global,
                audience: None,
                custom_claims: Default::default(),
            },
            &app_scope,
        )
        .map_err(scope_problem)?;
        accounts.push(DesiredResource::OctopusAccount {
            name: account_name,
            slug: account_slug,
            body,
            client_id_of: Some(app),
            subjects,
        });
    }
    resources.extend(accounts);
    state.resources = resources;
    Ok(())
}

/// One app registration's share of an Azure setup, with the Octopus account that uses it.
struct AppLayout {
    credentials: Vec<FederatedCredential>,
    account_name: String,
    account_slug: String,
    scope: Scope,
}

fn over_limit(needed: usize, alternatives: &[AzureAlternative]) -> Problem {
    let mut options = Vec::new();
    for a in alternatives {
        match a {
            AzureAlternative::CoarserKeys {
                keys,
                credential_count,
                fits,
            } => options.push(format!(
                "coarser_keys with deployment = [{}]: {credential_count} credentials{}",
                keys_text(&keys.deployment),
                if *fits { " (fits)" } else { " (does not fit)" }
            )),
            AzureAlternative::SplitApps { apps } => options.push(format!(
                "split_apps: {} app registrations and as many Octopus accounts",
                apps.len()
            )),
        }
    }
    let fix = format!(
        "Set [azure] credential_strategy = \"coarser_keys\" or \"split_apps\" (or narrow the scope). Alternatives: {}.",
        options.join("; ")
    );
    Problem {
        code: ErrorCode::LimitExceeded,
        message: format!(
            "the scope needs {needed} federated credentials; an app registration holds at most {MAX_CREDENTIALS_PER_APP}"
        ),
        hint: Some(fix.clone()),
        field_errors: vec![FieldError {
            field: "azure.credential_strategy".into(),
            problem: format!(
                "is \"one_app\", but the scope needs {needed} credentials (limit {MAX_CREDENTIALS_PER_APP})"
            ),
            fix,
        }],
    }
}

/// The subjects of `scope` that only the account test uses, in the scope's order.
fn account_test_subjects(scope: &Scope) -> Result<Vec<String>, Problem> {
    Ok(scope
        .subjects()
        .map_err(scope_problem)?
        .into_iter()
        .filter(|s| s.contexts.iter().all(|c| *c == Context::AccountTest))
        .map(|s| s.subject)
        .collect())
}

/// Spreads the credentials over several apps: each app holds up to 19 of the scope's
/// non-account-test credentials plus the account test of its own Octopus account.
fn split_apps(
    scope: &Scope,
    all: &[FederatedCredential],
    account_name: &str,
    slug: &str,
    issuer: &str,
) -> Result<Vec<AppLayout>, Problem> {
    let own_test: BTreeSet<String> = account_test_subjects(scope)?.into_iter().collect();
    let shared: Vec<&FederatedCredential> = all
        .iter()
        .filter(|c| !own_test.contains(&c.subject))
        .collect();
    let per_app = MAX_CREDENTIALS_PER_APP - 1;
    let mut out = Vec::new();
    for (i, chunk) in shared.chunks(per_app).enumerate() {
        let n = i + 1;
        let account_slug = numbered(slug, n, false);
        let mut app_scope = scope.clone();
        app_scope.inventory.account.slug = account_slug.clone();
        app_scope.inventory.account.name = numbered(account_name, n, true);
        let test_subjects = account_test_subjects(&app_scope)?;
        let mut credentials: Vec<FederatedCredential> =
            chunk.iter().map(|c| (*c).clone()).collect();
        let taken: BTreeSet<String> = credentials.iter().map(|c| c.name.clone()).collect();
        for (subject, name) in test_subjects
            .iter()
            .zip(credential_names(&test_subjects, &taken))
        {
            let template = all
                .first()
                .cloned()
                .ok_or_else(|| internal("no credential to split"))?;
            credentials.push(FederatedCredential {
                name,
                issuer: issuer.to_string(),
                subject: subject.clone(),
                audiences: template.audiences.clone(),
                description: Some("Octopus Deploy OIDC (account-test)".into()),
            });
        }
        out.push(AppLayout {
            credentials,
            account_name: numbered(account_name, n, true),
            account_slug,
            scope: app_scope,
        });
    }
    Ok(out)
}

fn desired_ci(ci: &CiSetup, facts: &SpaceFacts, state: &mut DesiredState) {
    state.resources.push(DesiredResource::ServiceAccount {
        username: ci.service_account.clone(),
        display_name: ownership::service_account_display_name(&ci.service_account, &state.setup),
    });
    state.resources.push(DesiredResource::OidcIdentity {
        service_account: ci.service_account.clone(),
        spec: OidcIdentitySpec {
            name: identity_name(&state.setup),
            issuer: ci.issuer.clone(),
            subject: ci.subject.clone(),
            audience: None,
        },
    });
    if let Some(team) = &ci.team {
        state.resources.push(DesiredResource::TeamMembership {
            team: team.clone(),
            service_account: ci.service_account.clone(),
        });
    }
    state.ci = Some(CiOutput {
        ci: ci.ci,
        server_url: facts.server_url.clone(),
    });
}

/// The subjects of a scope (for previews), sorted.
pub fn scope_subjects(scope: &Scope) -> Result<Vec<String>, Problem> {
    subjects_of(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_like_octopus() {
        assert_eq!(slugify("AWS production (OIDC)"), "aws-production-oidc");
        assert_eq!(slugify("  Dev/Test  "), "dev-test");
        assert_eq!(numbered("acct", 2, true), "acct (2)");
        assert_eq!(app_unique_name("shop", 2), "octo-oidc-shop-2");
    }
}
