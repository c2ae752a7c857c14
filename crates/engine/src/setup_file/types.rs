//! The setup file's typed form: one struct per TOML table, exactly the public names of the
//! contract (issue 10). These types are the single source of the file's shape: the JSON
//! Schema (`docs/setup-file.schema.json`) is generated from them, and the structural check
//! ([`super::structure`]) walks a file against that schema, so what is documented is what is
//! enforced.
//!
//! Deliberately absent: any secret (API keys come from the keychain or `OCTOPUS_API_KEY`,
//! cloud credentials from the cloud's own sign-in), and the rules on values (see
//! [`super::validate`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only format version so far.
pub const SETUP_FILE_VERSION: u32 = 1;

/// An octo-oidc setup file: one trust relationship between Octopus Deploy and a cloud (or a
/// CI system and Octopus), kept by a person, reviewed and run by `octo-oidc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "octo-oidc setup file")]
pub struct SetupFile {
    /// Format version of this file; always `1`.
    pub version: u32,
    /// The setup's id: 1-40 of `[a-z0-9-]`. Resource names, the `octo-oidc:setup` tag and
    /// the journal derive from it.
    pub name: String,
    /// What is set up.
    pub target: Target,
    /// The Octopus server and space.
    pub octopus: OctopusTable,
    /// Which Octopus runs the account may be used for (aws, azure and gcp targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeTable>,
    /// The account's subject keys per context; Octopus's defaults when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_keys: Option<SubjectKeysTable>,
    /// The Octopus OIDC account (aws, azure and gcp targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountTable>,
    /// The AWS side (target = "aws").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsTable>,
    /// The Azure side (target = "azure").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureTable>,
    /// GitHub Actions or another CI issuer → Octopus (target = "github").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<GitHubTable>,
    /// The Google Cloud side (target = "gcp").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<GcpTable>,
}

/// What a setup establishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Octopus → AWS: IAM OIDC provider, role, Octopus AWS OIDC account.
    Aws,
    /// Octopus → Azure: app registration, federated credentials, role assignment, Octopus
    /// Azure OIDC account.
    Azure,
    /// GitHub Actions (or another CI issuer) → Octopus: service account and OIDC identity.
    Github,
    /// Octopus → Google Cloud: workload identity pool and provider, service account with
    /// `roles/iam.workloadIdentityUser` for the federated principals, project roles, Octopus
    /// Google Cloud OIDC account.
    Gcp,
}

impl Target {
    /// The name as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Aws => "aws",
            Target::Azure => "azure",
            Target::Github => "github",
            Target::Gcp => "gcp",
        }
    }
}

/// `[octopus]`: the server and the space. The API key is never here: it comes from the OS
/// keychain (`octo-oidc login`, the app) or `OCTOPUS_API_KEY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OctopusTable {
    /// The server URL; a pasted console URL (`…/app#/Spaces-1/…`) is reduced to the server.
    /// `http://` only for a loopback address. May be omitted with `--sandbox`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The space: its name, slug or id (`Spaces-N`).
    pub space: String,
}

/// `[scope]`: by slug; `["*"]` = all (including items created later where the cloud can
/// express it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeTable {
    /// Project slugs (deployments and runbook runs).
    #[serde(default)]
    pub projects: Vec<String>,
    /// Environment slugs.
    #[serde(default)]
    pub environments: Vec<String>,
    /// Tenant slugs; `[]` = untenanted deployments only; `["*"]` = every connected tenant.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Whether untenanted runs are trusted too; default: only when `tenants` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untenanted: Option<bool>,
    /// Runbook slugs (runbook runs of the chosen projects); `[]` = none.
    #[serde(default)]
    pub runbooks: Vec<String>,
    /// Deployment target slugs (health checks); `[]` = none.
    #[serde(default)]
    pub health_check_targets: Vec<String>,
}

/// `[subject_keys]`: the account's subject keys per context. The account test
/// ("Save and test") subjects are always trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectKeysTable {
    /// `DeploymentSubjectKeys` (deployments and runbook runs); default
    /// `["space", "project", "tenant", "environment"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::subject_key_list")]
    pub deployment: Option<Vec<String>>,
    /// `HealthCheckSubjectKeys`; default `["space", "target"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::subject_key_list")]
    pub health_check: Option<Vec<String>>,
    /// `AccountTestSubjectKeys`; default `["space", "account"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::subject_key_list")]
    pub account_test: Option<Vec<String>>,
}

/// `[account]`: the Octopus OIDC account. Its environment and tenant restrictions follow
/// the scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountTable {
    /// The account's name in Octopus (at most 200 characters).
    pub name: String,
}

/// `[aws]`: the IAM side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsTable {
    /// The IAM role Octopus assumes (1-64 of letters, digits and `+=,.@_-`).
    pub role_name: String,
    /// The account's default region (e.g. `eu-west-1`; needed for EKS targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The role's maximum session duration and the account's `SessionDuration`, seconds
    /// (3600-43200); default 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<u32>,
    /// Managed policy ARNs attached to the role (at most 20).
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// The shared-config profile to sign in with (SSO included); default: the SDK's chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The account's "Role trust policy length" quota if raised (2048-4096); default 2048.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_policy_quota: Option<u32>,
}

/// `[azure]`: the Entra and RBAC side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AzureTable {
    /// The Entra tenant (directory) id, a GUID.
    pub tenant_id: String,
    /// The subscription id, a GUID.
    pub subscription_id: String,
    /// The role assignment's resource group; default: the whole subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    /// A built-in or custom role name; default `Contributor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The app registration's display name; default `octo-oidc-<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// What to do when the scope needs more than 20 federated credentials (Entra's limit per
    /// app registration); default `one_app` (the plan fails and lists the alternatives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_strategy: Option<CredentialStrategy>,
}

/// `[gcp]`: the Google Cloud side (workload identity federation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GcpTable {
    /// The project id (e.g. `shop-prod`; its number is looked up).
    pub project: String,
    /// The workload identity pool id (4-32 of `[a-z0-9-]`, not `gcp-…`); default
    /// `octo-<name>` (cut to 32 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The pool's OIDC provider id (same rules); default `octopus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The service account Octopus impersonates: an account id (created in the project if
    /// missing) or the email of an existing one; default `octo-<name>` (cut to 30 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Project roles granted to the service account (e.g. `roles/storage.objectViewer`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// The account's `TokenLifetimeSeconds` (600-43200); default 3600. Above 3600 needs the
    /// organization policy `iam.allowServiceAccountCredentialLifetimeExtension`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime: Option<u32>,
    /// The provider's `allowedAudiences` (at most 10); default none: the audience is the
    /// provider's resource name.
    #[serde(default)]
    pub allowed_audiences: Vec<String>,
    /// A credentials file to sign in with (service-account key, authorized user or external
    /// account); default: Application Default Credentials (`gcloud auth application-default
    /// login`, `GOOGLE_APPLICATION_CREDENTIALS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<String>,
}

/// How the credentials of an Azure setup are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStrategy {
    /// One app registration; more than 20 credentials is an error listing the alternatives.
    #[default]
    OneApp,
    /// Use the finest coarser deployment subject keys that fit one app registration.
    CoarserKeys,
    /// Keep the keys; spread the credentials over several app registrations, each with its
    /// own Octopus account.
    SplitApps,
}

/// `[github]`: a CI system's tokens → an Octopus service account. GitHub Actions with
/// `repository` + `filter`, or any other issuer Octopus accepts (GitLab, Buildkite,
/// TeamCity, a custom https issuer) with `issuer` + `subject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitHubTable {
    /// `owner/name` of the GitHub repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Which workflow runs may sign in: `branch:NAME`, `tag:PATTERN`, `environment:NAME`,
    /// `pull_request` or `subject:CUSTOM` (everything after `repo:owner/name:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The Octopus service account's username (created if missing).
    pub service_account: String,
    /// The Octopus team that grants the service account its permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The token issuer; default GitHub.com's. GitHub Enterprise Server:
    /// `https://HOST/_services/token`; other CI systems: their issuer (with `subject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The exact or wildcard (`*`, `?`) subject, for issuers other than GitHub's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Which CI system's snippet to print; default: inferred from the issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiSystem>,
}

/// The CI system whose tokens are trusted (decides the snippet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CiSystem {
    /// GitHub Actions (GitHub.com or Enterprise Server).
    Github,
    /// GitLab CI/CD (`id_tokens`).
    Gitlab,
    /// Buildkite (`buildkite-agent oidc request-token`).
    Buildkite,
    /// TeamCity with the OctopusDeploy TeamCity OIDC plugin.
    Teamcity,
    /// Any other https issuer.
    Other,
}

impl CiSystem {
    /// The name as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            CiSystem::Github => "github",
            CiSystem::Gitlab => "gitlab",
            CiSystem::Buildkite => "buildkite",
            CiSystem::Teamcity => "teamcity",
            CiSystem::Other => "other",
        }
    }
}
