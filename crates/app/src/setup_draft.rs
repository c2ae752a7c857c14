//! The wizard's setup as the user fills it in ([`SetupDraft`]), checked with the engine's
//! setup-file rules and previewed with the engine and the core — so the window validates
//! exactly what a setup file would, and shows what the CLI would plan.
//!
//! [`validate`] turns a draft into the setup file it stands for and runs
//! `octo_oidc_engine::setup_file::parse_setup` on it: every field error comes back at once,
//! named by a [`FormField`] id (indexes such as `[1]` move into the problem text). [`preview`]
//! then computes, from the facts the session read (inventory, issuer), the exact subjects per
//! context, the trust the engine would create (AWS trust policy JSON and its size against the
//! quota; Azure's credential count against 20 and the alternatives), the simulator's matrix
//! over the scope, and the plan against an empty observed state.
//!
//! Deliberately absent: reading anything (the session passes the facts in) and any rule of
//! its own (names, limits and subjects are the engine's and the core's).

use octo_oidc_core::Problem;
use octo_oidc_core::azure::{
    AZURE_AUDIENCE, AzureAlternative, MAX_CREDENTIALS_PER_APP, plan_credentials,
};
use octo_oidc_core::error::{ErrorCode, FieldError};
use octo_oidc_core::ports::OidcIdentitySpec;
use octo_oidc_core::scope::Scope;
use octo_oidc_core::simulate::{AwsProviderConfig, Finding, Rows, TrustConfig, simulate_scope};
use octo_oidc_engine::desired::{
    DesiredResource, DesiredState, SpaceFacts, desired_state, resolve_scope, slugify,
};
use octo_oidc_engine::observed::ObservedState;
use octo_oidc_engine::plan::plan;
use octo_oidc_engine::setup_file::{
    self, AccountTable, AwsTable, AzureTable, GcpTable, GitHubTable, OctopusTable, ScopeTable,
    Setup, SetupFile, SubjectKeysTable, TargetSpec,
};
use serde::{Deserialize, Serialize};

use crate::form_field::FormField;
use crate::run_report::{PlanStepView, count, plan_steps};

/// What the wizard sets up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum DraftTarget {
    /// Octopus → AWS.
    Aws,
    /// Octopus → Azure.
    Azure,
    /// GitHub Actions → Octopus.
    Github,
    /// Octopus → Google Cloud.
    Gcp,
}

/// The scope by slug (`*` = all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DraftScope {
    /// Project slugs.
    pub projects: Vec<String>,
    /// Environment slugs.
    pub environments: Vec<String>,
    /// Tenant slugs (empty: untenanted deployments only).
    pub tenants: Vec<String>,
    /// Runbook slugs.
    pub runbooks: Vec<String>,
    /// Deployment target slugs for health checks.
    pub health_check_targets: Vec<String>,
}

/// Subject keys per context; `None` = Octopus's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DraftSubjectKeys {
    /// Deployments and runbook runs.
    pub deployment: Option<Vec<String>>,
    /// Health checks.
    pub health_check: Option<Vec<String>>,
    /// The account test.
    pub account_test: Option<Vec<String>>,
}

/// The AWS side (empty strings are "not set").
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DraftAws {
    /// The role's name.
    pub role_name: String,
    /// The region of the Octopus account.
    pub region: String,
    /// Session duration in seconds.
    pub session_duration: Option<u32>,
    /// Managed policy ARNs.
    pub managed_policies: Vec<String>,
    /// Shared-config profile.
    pub profile: String,
}

/// The Azure side (empty strings are "not set").
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DraftAzure {
    /// Tenant id (GUID).
    pub tenant_id: String,
    /// Subscription id (GUID).
    pub subscription_id: String,
    /// Resource group (optional).
    pub resource_group: String,
    /// Role name (default Contributor).
    pub role: String,
    /// What to do when the scope needs more than 20 credentials (`None`: one app).
    pub credential_strategy: Option<DraftCredentialStrategy>,
}

/// How an Azure setup fits Entra's 20 credentials per app registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum DraftCredentialStrategy {
    /// One app registration (fails when over the limit).
    OneApp,
    /// Coarser deployment subject keys, chosen by the engine to fit.
    CoarserKeys,
    /// Several app registrations, one Octopus account each.
    SplitApps,
}

/// The GitHub Actions side (empty strings are "not set").
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DraftGithub {
    /// `owner/name`.
    pub repository: String,
    /// `branch:NAME`, `tag:PATTERN`, `environment:NAME`, `pull_request` or `subject:CUSTOM`.
    pub filter: String,
    /// The Octopus service account's username.
    pub service_account: String,
    /// Optional team.
    pub team: String,
    /// Another issuer than GitHub.com: GitHub Enterprise Server (`https://HOST/_services/token`),
    /// GitLab, Buildkite, TeamCity or any https issuer; empty = GitHub.com.
    pub issuer: String,
    /// With another CI issuer: the exact or wildcard (`*`, `?`) subject.
    pub subject: String,
    /// Which CI's snippet: `github`, `gitlab`, `buildkite`, `teamcity`, `other`; empty = inferred.
    pub ci: String,
}

/// The Google Cloud side (empty strings are "not set": the engine's defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DraftGcp {
    /// The project id.
    pub project: String,
    /// The workload identity pool id (default `octo-<name>`).
    pub pool: String,
    /// The pool's OIDC provider id (default `octopus`).
    pub provider: String,
    /// The service account: an id (created when missing) or an existing one's email.
    pub service_account: String,
    /// Project roles granted to the service account.
    pub roles: Vec<String>,
    /// The account's token lifetime in seconds (default 3600).
    pub token_lifetime: Option<u32>,
    /// A credentials file (default: Application Default Credentials).
    pub credentials_file: String,
}

/// Everything the wizard has collected so far. Only the chosen target's section is used.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SetupDraft {
    /// The setup's name.
    pub name: String,
    /// What is set up.
    pub target: DraftTarget,
    /// The space (name, slug or id).
    pub space: String,
    /// The Octopus account's name.
    pub account_name: String,
    /// The scope.
    pub scope: DraftScope,
    /// Subject keys.
    pub subject_keys: DraftSubjectKeys,
    /// AWS.
    pub aws: DraftAws,
    /// Azure.
    pub azure: DraftAzure,
    /// GitHub.
    pub github: DraftGithub,
    /// Google Cloud.
    pub gcp: DraftGcp,
}

/// The subject keys a context allows and the ones Octopus uses by default (the core's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SubjectKeyChoice {
    /// Every key the context accepts, in subject order.
    pub allowed: Vec<String>,
    /// Octopus's defaults.
    pub defaults: Vec<String>,
}

/// `{deployment, health_check, account_test}` → allowed and default keys, for the scope
/// screen's checkboxes (the generated `SUBJECT_KEYS` constant of the UI).
pub fn subject_key_choices() -> std::collections::BTreeMap<String, SubjectKeyChoice> {
    use octo_oidc_core::subject::Context;
    let names = |keys: &[octo_oidc_core::subject::SubjectKey]| {
        keys.iter().map(|k| k.as_str().to_string()).collect()
    };
    [
        ("deployment", Context::Deployment),
        ("health_check", Context::HealthCheck),
        ("account_test", Context::AccountTest),
    ]
    .into_iter()
    .map(|(name, context)| {
        (
            name.to_string(),
            SubjectKeyChoice {
                allowed: names(context.allowed_keys()),
                defaults: names(context.default_keys()),
            },
        )
    })
    .collect()
}

/// A draft that passed the setup-file rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SetupCheck {
    /// Remarks that do not block, one sentence each.
    pub warnings: Vec<String>,
    /// The setup file this draft stands for (what "Save" writes; no secret).
    pub setup_file: String,
}

fn opt(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

fn trimmed(items: &[String]) -> Vec<String> {
    items.iter().map(|item| item.trim().to_string()).collect()
}

/// The setup file a draft stands for.
pub fn setup_file(draft: &SetupDraft, server_url: Option<&str>) -> SetupFile {
    let target = match draft.target {
        DraftTarget::Aws => setup_file::Target::Aws,
        DraftTarget::Azure => setup_file::Target::Azure,
        DraftTarget::Github => setup_file::Target::Github,
        DraftTarget::Gcp => setup_file::Target::Gcp,
    };
    let cloud = draft.target != DraftTarget::Github;
    let keys = &draft.subject_keys;
    let any_keys =
        keys.deployment.is_some() || keys.health_check.is_some() || keys.account_test.is_some();
    SetupFile {
        version: setup_file::SETUP_FILE_VERSION,
        name: draft.name.trim().to_string(),
        target,
        octopus: OctopusTable {
            url: server_url.map(str::to_string),
            space: draft.space.trim().to_string(),
        },
        scope: cloud.then(|| ScopeTable {
            projects: trimmed(&draft.scope.projects),
            environments: trimmed(&draft.scope.environments),
            tenants: trimmed(&draft.scope.tenants),
            untenanted: None,
            runbooks: trimmed(&draft.scope.runbooks),
            health_check_targets: trimmed(&draft.scope.health_check_targets),
        }),
        subject_keys: (cloud && any_keys).then(|| SubjectKeysTable {
            deployment: keys.deployment.clone(),
            health_check: keys.health_check.clone(),
            account_test: keys.account_test.clone(),
        }),
        account: cloud.then(|| AccountTable {
            name: draft.account_name.trim().to_string(),
        }),
        aws: (draft.target == DraftTarget::Aws).then(|| AwsTable {
            role_name: draft.aws.role_name.trim().to_string(),
            region: opt(&draft.aws.region),
            session_duration: draft.aws.session_duration,
            managed_policies: trimmed(&draft.aws.managed_policies),
            profile: opt(&draft.aws.profile),
            trust_policy_quota: None,
        }),
        azure: (draft.target == DraftTarget::Azure).then(|| AzureTable {
            tenant_id: draft.azure.tenant_id.trim().to_string(),
            subscription_id: draft.azure.subscription_id.trim().to_string(),
            resource_group: opt(&draft.azure.resource_group),
            role: opt(&draft.azure.role),
            app_name: None,
            credential_strategy: draft.azure.credential_strategy.map(|s| match s {
                DraftCredentialStrategy::OneApp => setup_file::CredentialStrategy::OneApp,
                DraftCredentialStrategy::CoarserKeys => setup_file::CredentialStrategy::CoarserKeys,
                DraftCredentialStrategy::SplitApps => setup_file::CredentialStrategy::SplitApps,
            }),
        }),
        github: (draft.target == DraftTarget::Github).then(|| GitHubTable {
            repository: opt(&draft.github.repository),
            filter: opt(&draft.github.filter),
            service_account: draft.github.service_account.trim().to_string(),
            team: opt(&draft.github.team),
            issuer: opt(&draft.github.issuer),
            subject: opt(&draft.github.subject),
            ci: {
                use setup_file::CiSystem::*;
                [Github, Gitlab, Buildkite, Teamcity, Other]
                    .into_iter()
                    .find(|ci| ci.as_str() == draft.github.ci.trim())
            },
        }),
        gcp: (draft.target == DraftTarget::Gcp).then(|| GcpTable {
            project: draft.gcp.project.trim().to_string(),
            pool: opt(&draft.gcp.pool),
            provider: opt(&draft.gcp.provider),
            service_account: opt(&draft.gcp.service_account),
            roles: trimmed(&draft.gcp.roles),
            token_lifetime: draft.gcp.token_lifetime,
            allowed_audiences: Vec::new(),
            credentials_file: opt(&draft.gcp.credentials_file),
        }),
    }
}

/// Names each field error by its form field id (`scope.projects[1]` → `scope.projects`, with
/// "item 2" in the problem); errors of no form field keep their path.
fn on_form_fields(mut problem: Problem) -> Problem {
    problem.field_errors = problem
        .field_errors
        .into_iter()
        .map(|error| match FormField::of_path(&error.field) {
            Some(field) if field.id() != error.field => {
                let index = error.field[field.id().len()..]
                    .trim_start_matches('[')
                    .split(']')
                    .next()
                    .and_then(|i| i.parse::<usize>().ok());
                FieldError {
                    field: field.id().to_string(),
                    problem: match index {
                        Some(i) => format!("item {}: {}", i + 1, error.problem),
                        None => error.problem,
                    },
                    fix: error.fix,
                }
            }
            _ => error,
        })
        .collect();
    problem
}

/// The draft checked with the setup-file rules: the validated setup and the check's result,
/// or every field error at once (named by [`FormField`] ids).
pub fn check(draft: &SetupDraft, server_url: Option<&str>) -> Result<(Setup, SetupCheck), Problem> {
    let text = setup_file::write_setup(&setup_file(draft, server_url));
    let parsed = setup_file::parse_setup(&text).map_err(on_form_fields)?;
    let warnings = parsed
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.field, w.message))
        .collect();
    Ok((
        parsed.setup,
        SetupCheck {
            warnings,
            setup_file: text,
        },
    ))
}

/// The draft checked with the setup-file rules (no request is made).
pub fn validate(draft: &SetupDraft) -> Result<SetupCheck, Problem> {
    check(draft, None).map(|(_, result)| result)
}

/// One exact subject the scope produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SubjectLine {
    /// The subject, exactly as Octopus sends it.
    pub subject: String,
    /// The contexts presenting it (`deployment`, `runbook`, `health_check`, `account_test`).
    pub contexts: Vec<String>,
    /// How many intended runs present it.
    pub runs: u32,
}

/// The AWS side of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AwsTrustPreview {
    /// The role's ARN.
    pub role_arn: String,
    /// The OIDC provider's ARN.
    pub provider_arn: String,
    /// The trust policy, pretty-printed.
    pub trust_policy: String,
    /// Its size as IAM counts it (minified, characters).
    pub policy_size: u32,
    /// The quota it was checked against.
    pub quota: u32,
    /// Whether the account id is the connected account's (false: a placeholder until AWS is
    /// connected).
    pub account_id_known: bool,
}

/// One way to fit Azure's 20 credentials per app registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AzureOption {
    /// `coarser_keys` or `split_apps`.
    pub kind: String,
    /// One sentence describing it.
    pub summary: String,
    /// Credentials it needs in all.
    pub credential_count: u32,
    /// Whether it fits.
    pub fits: bool,
}

/// The Azure side of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AzureTrustPreview {
    /// Federated credentials the scope needs with the chosen keys.
    pub credentials_needed: u32,
    /// Entra's limit per app registration.
    pub limit: u32,
    /// App registrations planned.
    pub apps: u32,
    /// The credentials' names and subjects.
    pub credentials: Vec<CredentialLine>,
    /// What to do when over the limit.
    pub alternatives: Vec<AzureOption>,
}

/// One federated credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct CredentialLine {
    /// The credential's name.
    pub name: String,
    /// The subject it trusts.
    pub subject: String,
}

/// The GitHub side of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct CiTrustPreview {
    /// The service account.
    pub service_account: String,
    /// The identity's issuer.
    pub issuer: String,
    /// The identity's subject (exact or wildcard).
    pub subject: String,
}

/// One `attributeMapping` entry: Google attribute ← CEL expression over the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AttributeMappingLine {
    /// `google.subject`, `attribute.space`, …
    pub attribute: String,
    /// The CEL expression.
    pub expression: String,
}

/// One IAM binding: a role for members on a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct IamBindingLine {
    /// Where (`serviceAccounts/EMAIL`, `projects/ID`).
    pub resource: String,
    /// The role.
    pub role: String,
    /// Its members.
    pub members: Vec<String>,
}

/// The Google Cloud side of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct GcpTrustPreview {
    /// The pool's resource name.
    pub pool: String,
    /// The provider's resource name.
    pub provider: String,
    /// `oidc.issuerUri`.
    pub issuer_uri: String,
    /// The audience the Octopus account sends.
    pub audience: String,
    /// `attributeMapping`.
    pub attribute_mapping: Vec<AttributeMappingLine>,
    /// `attributeCondition` (CEL).
    pub attribute_condition: String,
    /// Its length against Google's limit.
    pub condition_length: u32,
    /// Google's limit on `attributeCondition`.
    pub condition_limit: u32,
    /// The service account Octopus impersonates (the step's
    /// `Octopus.Action.GoogleCloud.ServiceAccountEmails`).
    pub service_account_email: String,
    /// Whether the service account is created (false: an existing one is reused).
    pub creates_service_account: bool,
    /// The IAM bindings: `roles/iam.workloadIdentityUser` on the service account, project roles.
    pub bindings: Vec<IamBindingLine>,
    /// Whether the project number is the project's (false: a placeholder until Google Cloud
    /// is connected).
    pub project_number_known: bool,
}

/// One row of the simulator's matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct MatrixLine {
    /// `deployment`, `runbook`, `health_check`, `account_test`.
    pub context: String,
    /// What runs: project / runbook / tenant / environment / target, joined.
    pub run: String,
    /// The subject it presents.
    pub subject: String,
    /// Whether the user intended it.
    pub intended: bool,
    /// Whether the cloud would accept it.
    pub accepted: bool,
    /// `as_intended`, `over_permission`, `under_permission`.
    pub finding: String,
}

/// The simulator's matrix over the whole space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct MatrixPreview {
    /// Runs evaluated.
    pub runs: u32,
    /// Runs intended.
    pub intended: u32,
    /// Runs accepted.
    pub accepted: u32,
    /// Accepted but not intended.
    pub over_permission: u32,
    /// Intended but rejected.
    pub under_permission: u32,
    /// Rows: every difference first, then accepted runs, at most [`MAX_MATRIX_ROWS`].
    pub rows: Vec<MatrixLine>,
}

/// The most matrix rows a preview carries.
pub const MAX_MATRIX_ROWS: usize = 400;

/// Why the trust could not be computed (e.g. an issuer AWS refuses), as the core says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TrustBlocked {
    /// The stable code.
    pub code: ErrorCode,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

/// What a setup would do: subjects, trust, the matrix, the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SetupPreview {
    /// The space it resolved to.
    pub space_name: String,
    /// The Octopus issuer, verbatim.
    pub issuer: String,
    /// The exact subjects the scope produces (cloud targets).
    pub subjects: Vec<SubjectLine>,
    /// AWS.
    pub aws: Option<AwsTrustPreview>,
    /// Azure.
    pub azure: Option<AzureTrustPreview>,
    /// GitHub Actions → Octopus.
    pub ci: Option<CiTrustPreview>,
    /// Google Cloud.
    pub gcp: Option<GcpTrustPreview>,
    /// The simulator's matrix (cloud targets).
    pub matrix: Option<MatrixPreview>,
    /// Set when the trust (and so the matrix and the plan) could not be computed.
    pub trust_blocked: Option<TrustBlocked>,
    /// The plan against an empty remote side (reading what exists comes with the engine's
    /// observe step).
    pub plan: Vec<PlanStepView>,
    /// Whether `plan` compared with what exists (false: everything shows as `create`).
    pub plan_observed: bool,
    /// The setup file (no secret).
    pub setup_file: String,
    /// Non-blocking remarks.
    pub warnings: Vec<String>,
}

/// The AWS account id used when none is connected: previews show it as a placeholder.
pub const PLACEHOLDER_AWS_ACCOUNT: &str = "000000000000";

/// The Google Cloud project number used when none is looked up: previews show it as a
/// placeholder.
pub const PLACEHOLDER_GCP_PROJECT_NUMBER: &str = "000000000000";

/// The Google side of the desired resources, as the trust preview shows it.
fn gcp_preview(desired: &DesiredState, facts: &SpaceFacts) -> Option<GcpTrustPreview> {
    let mut preview: Option<GcpTrustPreview> = None;
    let mut service_account = None;
    let mut bindings = Vec::new();
    for resource in &desired.resources {
        match resource {
            DesiredResource::WorkloadIdentityProvider { spec, .. } => {
                let condition = spec.trust.attribute_condition.clone().unwrap_or_default();
                preview = Some(GcpTrustPreview {
                    pool: spec.provider.pool_name(),
                    provider: spec.provider.provider_name(),
                    issuer_uri: spec.trust.issuer_uri.clone(),
                    audience: spec
                        .trust
                        .allowed_audiences
                        .first()
                        .cloned()
                        .unwrap_or_else(|| spec.provider.default_audience()),
                    attribute_mapping: spec
                        .trust
                        .attribute_mapping
                        .iter()
                        .map(|(attribute, expression)| AttributeMappingLine {
                            attribute: attribute.clone(),
                            expression: expression.clone(),
                        })
                        .collect(),
                    condition_length: count(condition.chars().count()),
                    condition_limit: count(octo_oidc_core::gcp::MAX_CONDITION_CHARS),
                    attribute_condition: condition,
                    service_account_email: String::new(),
                    creates_service_account: false,
                    bindings: Vec::new(),
                    project_number_known: facts
                        .gcp_project
                        .as_ref()
                        .is_some_and(|p| p.project_number != PLACEHOLDER_GCP_PROJECT_NUMBER),
                });
            }
            DesiredResource::GcpServiceAccount { email, spec } => {
                service_account = Some((email.clone(), spec.is_some()));
            }
            DesiredResource::WorkloadIdentityBinding {
                service_account,
                role,
                members,
                ..
            } => bindings.push(IamBindingLine {
                resource: format!("serviceAccounts/{service_account}"),
                role: role.clone(),
                members: members.clone(),
            }),
            DesiredResource::ProjectRoleBinding {
                project,
                role,
                member,
            } => bindings.push(IamBindingLine {
                resource: format!("projects/{project}"),
                role: role.clone(),
                members: vec![member.clone()],
            }),
            _ => {}
        }
    }
    let mut preview = preview?;
    if let Some((email, creates)) = service_account {
        preview.service_account_email = email;
        preview.creates_service_account = creates;
    }
    preview.bindings = bindings;
    Some(preview)
}

fn trust_config(desired: &DesiredState) -> Option<TrustConfig> {
    let mut provider = None;
    let mut role = None;
    // Split apps: a run is trusted when any of the setup's apps trusts it (each app has its own
    // Octopus account, which the simulator does not tell apart).
    let mut credentials = Vec::new();
    for resource in &desired.resources {
        match resource {
            DesiredResource::OidcProvider { spec, .. } => provider = Some(spec.clone()),
            DesiredResource::IamRole { arn, spec, .. } => {
                role = Some((arn.clone(), spec.trust_policy.clone()))
            }
            DesiredResource::FederatedCredential { credential, .. } => {
                credentials.push(credential.clone());
            }
            _ => {}
        }
    }
    if let (Some(provider), Some((role_arn, trust_policy))) = (provider, role) {
        return Some(TrustConfig::Aws {
            role_arn,
            providers: vec![AwsProviderConfig {
                url: provider.url,
                client_ids: provider.client_ids,
            }],
            trust_policy,
        });
    }
    (!credentials.is_empty()).then_some(TrustConfig::Azure { credentials })
}

fn matrix(scope: &Scope, trust: &TrustConfig, issuer: &str) -> Result<MatrixPreview, Problem> {
    let compiled_scope = scope
        .compile()
        .map_err(|e| Problem::new(ErrorCode::InvalidInput, e.to_string()))?;
    let compiled_trust = trust
        .compile()
        .map_err(|e| Problem::new(ErrorCode::Internal, e.to_string()))?;
    let aud = match trust {
        TrustConfig::Azure { .. } => AZURE_AUDIENCE.to_string(),
        _ => trust.default_audience(issuer),
    };
    let m = simulate_scope(&compiled_scope, &compiled_trust, issuer, &aud, Rows::All);
    let mut rows: Vec<MatrixLine> = m
        .rows
        .iter()
        .filter(|row| row.intended || row.accepted)
        .map(|row| {
            let run = [
                row.run.project.as_deref(),
                row.run.runbook.as_deref(),
                row.run.tenant.as_deref(),
                row.run.environment.as_deref(),
                row.run.target.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / ");
            MatrixLine {
                context: row.run.context.as_str().to_string(),
                run,
                subject: row.subject.clone(),
                intended: row.intended,
                accepted: row.accepted,
                finding: match row.finding {
                    Finding::AsIntended => "as_intended",
                    Finding::OverPermission => "over_permission",
                    Finding::UnderPermission => "under_permission",
                }
                .to_string(),
            }
        })
        .collect();
    rows.sort_by_key(|row| row.finding == "as_intended");
    rows.truncate(MAX_MATRIX_ROWS);
    Ok(MatrixPreview {
        runs: count(m.runs),
        intended: count(m.intended),
        accepted: count(m.accepted),
        over_permission: count(m.over_permission),
        under_permission: count(m.under_permission),
        rows,
    })
}

fn azure_option(alternative: &AzureAlternative) -> AzureOption {
    match alternative {
        AzureAlternative::CoarserKeys {
            keys,
            credential_count,
            fits,
        } => AzureOption {
            kind: "coarser_keys".into(),
            summary: format!(
                "Use the deployment subject keys [{}] on the Octopus account: fewer, broader subjects.",
                keys.deployment
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            credential_count: count(*credential_count),
            fits: *fits,
        },
        AzureAlternative::SplitApps { apps } => AzureOption {
            kind: "split_apps".into(),
            summary: format!(
                "Keep the keys and spread the credentials over {} app registrations (one Octopus account each).",
                apps.len()
            ),
            credential_count: count(apps.iter().map(Vec::len).sum::<usize>()),
            fits: true,
        },
    }
}

/// Previews a checked setup over the facts the session read.
pub fn preview(
    setup: &Setup,
    check: SetupCheck,
    facts: &SpaceFacts,
) -> Result<SetupPreview, Problem> {
    let scope = match &setup.spec {
        TargetSpec::Aws(aws) => Some(
            resolve_scope(&aws.scope, facts, &slugify(&aws.scope.account_name))
                .map_err(on_form_fields)?,
        ),
        TargetSpec::Azure(azure) => Some(
            resolve_scope(&azure.scope, facts, &slugify(&azure.scope.account_name))
                .map_err(on_form_fields)?,
        ),
        TargetSpec::Gcp(gcp) => Some(
            resolve_scope(&gcp.scope, facts, &slugify(&gcp.scope.account_name))
                .map_err(on_form_fields)?,
        ),
        TargetSpec::Ci(_) => None,
    };
    let subjects = match &scope {
        Some(scope) => scope
            .subjects()
            .map_err(|e| Problem::new(ErrorCode::InvalidInput, e.to_string()))?
            .into_iter()
            .map(|s| SubjectLine {
                subject: s.subject,
                contexts: s.contexts.iter().map(|c| c.as_str().to_string()).collect(),
                runs: count(s.runs),
            })
            .collect(),
        None => Vec::new(),
    };
    let desired = match desired_state(setup, facts) {
        Ok(desired) => desired,
        Err(problem) if problem.code == ErrorCode::InvalidInput => {
            return Err(on_form_fields(problem));
        }
        Err(problem) => {
            // Over Entra's limit: the count and the core's alternatives, to choose from.
            let azure = match (&setup.spec, &scope) {
                (TargetSpec::Azure(_), Some(scope)) if problem.code == ErrorCode::LimitExceeded => {
                    plan_credentials(scope, &facts.server.issuer, None, &[])
                        .ok()
                        .map(|plan| AzureTrustPreview {
                            credentials_needed: count(plan.total_on_app),
                            limit: count(MAX_CREDENTIALS_PER_APP),
                            apps: 1,
                            credentials: Vec::new(),
                            alternatives: plan.alternatives.iter().map(azure_option).collect(),
                        })
                }
                _ => None,
            };
            return Ok(SetupPreview {
                space_name: facts.space.name.clone(),
                issuer: facts.server.issuer.clone(),
                subjects,
                aws: None,
                azure,
                ci: None,
                gcp: None,
                matrix: None,
                trust_blocked: Some(TrustBlocked {
                    code: problem.code,
                    message: problem.message,
                    hint: problem.hint,
                }),
                plan: Vec::new(),
                plan_observed: false,
                setup_file: check.setup_file,
                warnings: check.warnings,
            });
        }
    };
    let mut aws = None;
    let mut azure_credentials = Vec::new();
    let mut ci = None;
    let mut provider_arn = String::new();
    for resource in &desired.resources {
        match resource {
            DesiredResource::OidcProvider { arn, .. } => provider_arn = arn.clone(),
            DesiredResource::IamRole {
                arn,
                spec,
                policy_size,
                quota,
            } => {
                let pretty = serde_json::from_str::<serde_json::Value>(&spec.trust_policy)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or_else(|_| spec.trust_policy.clone());
                aws = Some(AwsTrustPreview {
                    role_arn: arn.clone(),
                    provider_arn: provider_arn.clone(),
                    trust_policy: pretty,
                    policy_size: count(*policy_size),
                    quota: count(*quota),
                    account_id_known: facts.aws_account_id.as_deref()
                        != Some(PLACEHOLDER_AWS_ACCOUNT),
                });
            }
            DesiredResource::FederatedCredential { credential, .. } => {
                azure_credentials.push(CredentialLine {
                    name: credential.name.clone(),
                    subject: credential.subject.clone(),
                })
            }
            DesiredResource::OidcIdentity {
                service_account,
                spec: OidcIdentitySpec {
                    issuer, subject, ..
                },
            } => {
                ci = Some(CiTrustPreview {
                    service_account: service_account.clone(),
                    issuer: issuer.clone(),
                    subject: subject.clone(),
                })
            }
            _ => {}
        }
    }
    let azure = matches!(setup.spec, TargetSpec::Azure(_)).then(|| {
        let layout = desired.azure.as_ref();
        AzureTrustPreview {
            credentials_needed: count(layout.map_or(azure_credentials.len(), |l| l.needed)),
            limit: count(MAX_CREDENTIALS_PER_APP),
            apps: count(layout.map_or(1, |l| l.apps)),
            alternatives: layout
                .map(|l| l.alternatives.iter().map(azure_option).collect())
                .unwrap_or_default(),
            credentials: azure_credentials,
        }
    });
    // Coarser keys: the account presents (and the matrix checks) subjects with the keys the
    // engine chose.
    let mut scope = scope;
    if let (Some(scope), Some(keys)) = (
        scope.as_mut(),
        desired
            .azure
            .as_ref()
            .and_then(|l| l.chosen_deployment_keys.as_ref()),
    ) {
        scope.keys.deployment = keys.iter().filter_map(|k| k.parse().ok()).collect();
    }
    let matrix = match (&scope, trust_config(&desired)) {
        (Some(scope), Some(trust)) => Some(matrix(scope, &trust, &facts.server.issuer)?),
        _ => None,
    };
    let plan = plan_steps(&plan(&desired, &ObservedState::default()));
    Ok(SetupPreview {
        space_name: facts.space.name.clone(),
        issuer: facts.server.issuer.clone(),
        subjects,
        aws,
        azure,
        ci,
        gcp: gcp_preview(&desired, facts),
        matrix,
        trust_blocked: None,
        plan,
        plan_observed: false,
        setup_file: check.setup_file,
        warnings: check.warnings,
    })
}
