//! The meaning check of a setup file that has the right shape: names, GUIDs, ARNs, regions,
//! URLs, limits, what each target needs and forbids, and a scope that trusts something.
//! Every rule is the core's ([`octo_oidc_core::validate::Validator`]) where one exists; this
//! module only says which field gets which rule and turns the file into a [`Setup`].
//!
//! Deliberately absent: anything that needs the live space (does the project `web` exist?);
//! that is checked against the inventory when the desired state is computed.

use std::collections::BTreeSet;

use octo_oidc_core::gcp::DEFAULT_TOKEN_LIFETIME_SECS;
use octo_oidc_core::github::{GITHUB_ISSUER, GitHubFilter, GitHubRepo};
use octo_oidc_core::scope::SubjectKeyConfig;
use octo_oidc_core::subject::{Context, KeySet, SubjectKey};
use octo_oidc_core::validate::Validator;

use super::server_url::octopus_server_url;
use super::types::*;

/// The longest list the scope accepts per dimension.
pub const MAX_SCOPE_ITEMS: usize = 10_000;
/// IAM's hard limit of managed policies per role (the default quota is 10).
pub const MAX_MANAGED_POLICIES: usize = 20;
/// IAM's default quota of managed policies per role.
pub const DEFAULT_MANAGED_POLICY_QUOTA: usize = 10;
/// Octopus caps an OIDC identity's issuer and subject at 200 characters.
pub const MAX_IDENTITY_FIELD_CHARS: usize = 200;
/// The longest Octopus account name.
pub const MAX_ACCOUNT_NAME_CHARS: usize = 200;
/// The longest setup name.
pub const MAX_SETUP_NAME_CHARS: usize = 40;
/// The role Azure setups assign when the file names none.
pub const DEFAULT_AZURE_ROLE: &str = "Contributor";
/// The session duration AWS setups use when the file names none.
pub const DEFAULT_SESSION_DURATION: u32 = 3600;

/// A validated setup: the file as written plus the typed, checked values the engine uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The file as written (for writing back).
    pub file: SetupFile,
    /// The setup's id.
    pub name: String,
    /// The Octopus server root (normalized), if given.
    pub octopus_url: Option<String>,
    /// The space (name, slug or `Spaces-N`).
    pub space: String,
    /// What the target needs.
    pub spec: TargetSpec,
}

/// The validated, target-specific part of a setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// Octopus → AWS.
    Aws(AwsSetup),
    /// Octopus → Azure.
    Azure(AzureSetup),
    /// A CI issuer (GitHub Actions or another) → Octopus.
    Ci(CiSetup),
    /// Octopus → Google Cloud.
    Gcp(GcpSetup),
}

impl TargetSpec {
    /// The scope and account of a cloud target (`None` for CI targets).
    pub fn cloud_scope(&self) -> Option<&CloudScope> {
        match self {
            TargetSpec::Aws(a) => Some(&a.scope),
            TargetSpec::Azure(a) => Some(&a.scope),
            TargetSpec::Gcp(g) => Some(&g.scope),
            TargetSpec::Ci(_) => None,
        }
    }
}

/// All, or exactly these slugs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlugSelection {
    /// `["*"]`.
    All,
    /// Exactly these slugs (may be empty).
    Only(Vec<String>),
}

impl SlugSelection {
    /// Whether nothing is chosen.
    pub fn is_empty(&self) -> bool {
        matches!(self, SlugSelection::Only(v) if v.is_empty())
    }
}

/// The scope and account of a cloud setup (aws, azure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudScope {
    /// Projects.
    pub projects: SlugSelection,
    /// Environments.
    pub environments: SlugSelection,
    /// Tenants.
    pub tenants: SlugSelection,
    /// Whether untenanted runs are trusted.
    pub untenanted: bool,
    /// Runbooks.
    pub runbooks: SlugSelection,
    /// Health-check targets.
    pub targets: SlugSelection,
    /// Subject keys (empty = Octopus's defaults).
    pub keys: SubjectKeyConfig,
    /// The Octopus account's name.
    pub account_name: String,
}

/// A validated AWS setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSetup {
    /// Scope and account.
    pub scope: CloudScope,
    /// Role name.
    pub role_name: String,
    /// Region.
    pub region: Option<String>,
    /// Session duration, seconds.
    pub session_duration: u32,
    /// Managed policy ARNs.
    pub managed_policies: Vec<String>,
    /// Shared-config profile.
    pub profile: Option<String>,
    /// Trust policy quota.
    pub trust_policy_quota: Option<usize>,
}

/// A validated Azure setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureSetup {
    /// Scope and account.
    pub scope: CloudScope,
    /// Tenant GUID.
    pub tenant_id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Resource group, if the assignment is narrower than the subscription.
    pub resource_group: Option<String>,
    /// Role name.
    pub role: String,
    /// App registration display name.
    pub app_name: String,
    /// What to do over 20 credentials.
    pub credential_strategy: CredentialStrategy,
}

impl AzureSetup {
    /// The role assignment's ARM scope.
    pub fn assignment_scope(&self) -> String {
        match &self.resource_group {
            Some(rg) => format!(
                "/subscriptions/{}/resourceGroups/{rg}",
                self.subscription_id
            ),
            None => format!("/subscriptions/{}", self.subscription_id),
        }
    }
}

/// A validated Google Cloud setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpSetup {
    /// Scope and account.
    pub scope: CloudScope,
    /// The project id (or number) as written.
    pub project: String,
    /// Workload identity pool id.
    pub pool: String,
    /// Provider id.
    pub provider: String,
    /// The service account: an account id, or an email.
    pub service_account: String,
    /// Project roles for the service account.
    pub roles: Vec<String>,
    /// `TokenLifetimeSeconds`.
    pub token_lifetime: u32,
    /// `allowedAudiences`.
    pub allowed_audiences: Vec<String>,
    /// A credentials file to sign in with (default: Application Default Credentials).
    pub credentials_file: Option<String>,
}

impl GcpSetup {
    /// The service account's email: as written, or `<id>@<project id>.iam.gserviceaccount.com`.
    pub fn service_account_email(&self, project_id: &str) -> String {
        match self.service_account.contains('@') {
            true => self.service_account.clone(),
            false => format!(
                "{}@{project_id}.iam.gserviceaccount.com",
                self.service_account
            ),
        }
    }
}

/// The default pool id of setup `name`: `octo-<name>`, cut to 32 characters.
pub fn default_gcp_pool(name: &str) -> String {
    cut_id(&format!("octo-{name}"), 32)
}

/// The default provider id.
pub const DEFAULT_GCP_PROVIDER: &str = "octopus";

/// The default service account id of setup `name`: `octo-<name>`, cut to 30 characters.
pub fn default_gcp_service_account(name: &str) -> String {
    cut_id(&format!("octo-{name}"), 30)
}

fn cut_id(id: &str, max: usize) -> String {
    let cut: String = id.chars().take(max).collect();
    cut.trim_end_matches('-').to_string()
}

/// A validated CI → Octopus setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiSetup {
    /// Which CI system (decides the snippet).
    pub ci: CiSystem,
    /// Token issuer.
    pub issuer: String,
    /// Exact or wildcard subject.
    pub subject: String,
    /// For GitHub's form: the repository and filter the subject came from.
    pub github: Option<(GitHubRepo, GitHubFilter)>,
    /// Service account username.
    pub service_account: String,
    /// Team granting permissions.
    pub team: Option<String>,
}

/// Whether `name` is a valid setup name: 1-40 of `[a-z0-9-]`.
pub fn is_valid_setup_name(name: &str) -> bool {
    (1..=MAX_SETUP_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parses a `[github] filter`: `branch:NAME`, `tag:PATTERN`, `environment:NAME`,
/// `pull_request`, `subject:CUSTOM`.
pub fn parse_filter(filter: &str) -> Result<GitHubFilter, String> {
    let filter = filter.trim();
    if filter == "pull_request" {
        return Ok(GitHubFilter::PullRequest);
    }
    let (kind, value) = filter
        .split_once(':')
        .ok_or_else(|| format!("'{filter}' has no kind"))?;
    if value.is_empty() {
        return Err(format!("'{filter}' has no value after '{kind}:'"));
    }
    match kind {
        "branch" => Ok(GitHubFilter::Branch(value.to_string())),
        "tag" => Ok(GitHubFilter::Tag(value.to_string())),
        "environment" if !value.contains(':') => Ok(GitHubFilter::Environment(value.to_string())),
        "environment" => Err("an environment name cannot contain ':'".to_string()),
        "subject" => Ok(GitHubFilter::Custom(value.to_string())),
        other => Err(format!("'{other}' is not a filter kind")),
    }
}

/// The CI system an issuer belongs to, when the file does not say.
pub fn infer_ci(issuer: &str) -> CiSystem {
    let host = issuer
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or_default();
    if issuer == GITHUB_ISSUER || issuer.ends_with("/_services/token") {
        CiSystem::Github
    } else if host == "gitlab.com" || host.starts_with("gitlab.") {
        CiSystem::Gitlab
    } else if host == "agent.buildkite.com" {
        CiSystem::Buildkite
    } else {
        CiSystem::Other
    }
}

fn not_for(v: &mut Validator, field: &str, present: bool, target: Target) {
    if present {
        v.error(
            field,
            format!("is not used by target = \"{}\"", target.as_str()),
            format!("Remove the [{field}] section, or change target."),
        );
    }
}

fn required<'a, T>(
    v: &mut Validator,
    removed: &BTreeSet<String>,
    field: &str,
    value: Option<&'a T>,
    target: Target,
) -> Option<&'a T> {
    if value.is_none() && !removed.contains(field) {
        v.error(
            field,
            format!("is missing; target = \"{}\" needs it", target.as_str()),
            format!("Add a [{field}] section (see docs/setup-file.md)."),
        );
    }
    value
}

/// Checks the meaning of every field; `removed` lists the paths the structural check
/// already reported (they are not reported again as missing).
pub fn check(file: &SetupFile, removed: &BTreeSet<String>, v: &mut Validator) -> Option<Setup> {
    if file.version != SETUP_FILE_VERSION && !removed.contains("version") {
        v.error(
            "version",
            format!("version {} is not supported", file.version),
            format!("Write version = {SETUP_FILE_VERSION}."),
        );
    }
    if !is_valid_setup_name(&file.name) {
        v.error(
            "name",
            format!("'{}' is not a valid setup name", file.name),
            "Use 1-40 lower-case letters, digits and '-', e.g. name = \"shop-aws-prod\".",
        );
    }
    let octopus_url = file
        .octopus
        .url
        .as_deref()
        .and_then(|u| octopus_server_url(v, "octopus.url", u));
    v.name("octopus.space", &file.octopus.space, 200);

    if removed.contains("target") {
        // The target is unreadable (already reported): its checks would guess.
        return None;
    }
    // A cloud section the target does not use is an error (it would be silently ignored).
    let sections = [
        ("aws", file.aws.is_some(), Target::Aws),
        ("azure", file.azure.is_some(), Target::Azure),
        ("github", file.github.is_some(), Target::Github),
        ("gcp", file.gcp.is_some(), Target::Gcp),
    ];
    for (section, present, owner) in sections {
        if owner != file.target {
            not_for(v, section, present, file.target);
        }
    }
    let spec = match file.target {
        Target::Gcp => {
            let scope = cloud_scope(file, removed, v, Target::Gcp);
            let gcp = required(v, removed, "gcp", file.gcp.as_ref(), Target::Gcp);
            let gcp = gcp.map(|g| gcp_setup(&file.name, g, v));
            scope.zip(gcp).map(|(scope, mut gcp)| {
                gcp.scope = scope;
                TargetSpec::Gcp(gcp)
            })
        }
        Target::Aws => {
            let scope = cloud_scope(file, removed, v, Target::Aws);
            let aws = required(v, removed, "aws", file.aws.as_ref(), Target::Aws);
            let aws = aws.map(|a| aws_setup(a, v));
            scope.zip(aws).map(|(scope, mut aws)| {
                aws.scope = scope;
                TargetSpec::Aws(aws)
            })
        }
        Target::Azure => {
            let scope = cloud_scope(file, removed, v, Target::Azure);
            let azure = required(v, removed, "azure", file.azure.as_ref(), Target::Azure);
            match (scope, azure.map(|a| azure_setup(&file.name, a, v))) {
                (Some(scope), Some(mut azure)) => {
                    let uses_account = |c: Context| {
                        scope
                            .keys
                            .resolve(c)
                            .is_ok_and(|k| k.contains(SubjectKey::Account))
                    };
                    if azure.credential_strategy == CredentialStrategy::SplitApps
                        && (uses_account(Context::Deployment) || uses_account(Context::HealthCheck))
                    {
                        v.error(
                            "azure.credential_strategy",
                            "\"split_apps\" cannot be used when the deployment or health-check subject keys include \"account\" (each app's account would need its own copy of every subject)",
                            "Remove \"account\" from subject_keys.deployment and subject_keys.health_check, or use \"coarser_keys\".",
                        );
                    }
                    azure.scope = scope;
                    Some(TargetSpec::Azure(azure))
                }
                _ => None,
            }
        }
        Target::Github => {
            not_for(v, "scope", file.scope.is_some(), Target::Github);
            not_for(
                v,
                "subject_keys",
                file.subject_keys.is_some(),
                Target::Github,
            );
            not_for(v, "account", file.account.is_some(), Target::Github);
            required(v, removed, "github", file.github.as_ref(), Target::Github)
                .and_then(|g| ci_setup(g, removed, v))
                .map(TargetSpec::Ci)
        }
    };
    let spec = spec?;
    if !v.errors().is_empty() {
        return None;
    }
    Some(Setup {
        file: file.clone(),
        name: file.name.clone(),
        octopus_url,
        space: file.octopus.space.clone(),
        spec,
    })
}

fn selection(v: &mut Validator, field: &str, items: &[String]) -> SlugSelection {
    v.limit(
        field,
        items.len(),
        MAX_SCOPE_ITEMS,
        "Use [\"*\"] for all instead of listing every item.",
    );
    if items.iter().any(|i| i == "*") {
        if items.len() > 1 {
            v.error(
                field,
                "mixes \"*\" with slugs",
                "Use either [\"*\"] (all) or a list of slugs.",
            );
        }
        return SlugSelection::All;
    }
    let mut seen = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{field}[{i}]");
        v.slug(&path, item);
        if !seen.insert(item.as_str()) {
            v.error(
                &path,
                format!("'{item}' is listed twice"),
                "Remove the duplicate.",
            );
        }
    }
    SlugSelection::Only(items.to_vec())
}

fn keys(
    v: &mut Validator,
    field: &str,
    context: Context,
    list: Option<&Vec<String>>,
) -> Vec<SubjectKey> {
    let Some(list) = list else {
        return Vec::new();
    };
    let keys: Vec<SubjectKey> = list.iter().filter_map(|k| k.parse().ok()).collect();
    if list.is_empty() {
        v.warn(
            field,
            "is empty, which means Octopus's default keys; remove it to say so",
        );
    }
    if let Err(e) = KeySet::resolve(context, &keys) {
        let allowed: Vec<&str> = context.allowed_keys().iter().map(|k| k.as_str()).collect();
        v.error(
            field,
            e.to_string(),
            format!("Use only: {}.", allowed.join(", ")),
        );
    }
    keys
}

fn cloud_scope(
    file: &SetupFile,
    removed: &BTreeSet<String>,
    v: &mut Validator,
    target: Target,
) -> Option<CloudScope> {
    let scope = required(v, removed, "scope", file.scope.as_ref(), target);
    let account = required(v, removed, "account", file.account.as_ref(), target);
    if let Some(a) = account {
        v.name("account.name", &a.name, MAX_ACCOUNT_NAME_CHARS);
    }
    let sk = file.subject_keys.clone().unwrap_or_default();
    let keys = SubjectKeyConfig {
        deployment: keys(
            v,
            "subject_keys.deployment",
            Context::Deployment,
            sk.deployment.as_ref(),
        ),
        health_check: keys(
            v,
            "subject_keys.health_check",
            Context::HealthCheck,
            sk.health_check.as_ref(),
        ),
        account_test: keys(
            v,
            "subject_keys.account_test",
            Context::AccountTest,
            sk.account_test.as_ref(),
        ),
    };
    let s = scope?;
    let projects = selection(v, "scope.projects", &s.projects);
    let environments = selection(v, "scope.environments", &s.environments);
    let tenants = selection(v, "scope.tenants", &s.tenants);
    let runbooks = selection(v, "scope.runbooks", &s.runbooks);
    let targets = selection(v, "scope.health_check_targets", &s.health_check_targets);
    let untenanted = s.untenanted.unwrap_or(tenants.is_empty());
    let lists = [
        "projects",
        "environments",
        "tenants",
        "untenanted",
        "runbooks",
        "health_check_targets",
    ];
    if lists
        .iter()
        .any(|l| removed.contains(&format!("scope.{l}")))
    {
        // A list was unreadable (already reported): the whole-scope checks would guess.
        return None;
    }
    if projects.is_empty() && runbooks.is_empty() && targets.is_empty() {
        v.error(
            "scope",
            "is empty: the account would be trusted for nothing but its own test",
            "List projects and environments (deployments), runbooks, or health_check_targets.",
        );
    }
    if !projects.is_empty() && environments.is_empty() {
        v.error(
            "scope.environments",
            "is empty, so no deployment or runbook run of the listed projects can use the account",
            "List the environment slugs, or [\"*\"] for all.",
        );
    }
    if !runbooks.is_empty() && projects.is_empty() {
        v.error(
            "scope.projects",
            "is empty, but runbooks are listed: runbook runs belong to projects",
            "List the projects whose runbooks may use the account.",
        );
    }
    if !projects.is_empty() && tenants.is_empty() && !untenanted {
        v.error(
            "scope.untenanted",
            "is false while no tenant is listed, so no deployment can use the account",
            "List tenants, or set untenanted = true.",
        );
    }
    Some(CloudScope {
        projects,
        environments,
        tenants,
        untenanted,
        runbooks,
        targets,
        keys,
        account_name: account.map(|a| a.name.clone()).unwrap_or_default(),
    })
}

fn empty_scope() -> CloudScope {
    CloudScope {
        projects: SlugSelection::Only(Vec::new()),
        environments: SlugSelection::Only(Vec::new()),
        tenants: SlugSelection::Only(Vec::new()),
        untenanted: true,
        runbooks: SlugSelection::Only(Vec::new()),
        targets: SlugSelection::Only(Vec::new()),
        keys: SubjectKeyConfig::default(),
        account_name: String::new(),
    }
}

fn aws_setup(a: &AwsTable, v: &mut Validator) -> AwsSetup {
    v.role_name("aws.role_name", &a.role_name);
    if let Some(r) = &a.region {
        v.aws_region("aws.region", r);
    }
    let session_duration = a.session_duration.unwrap_or(DEFAULT_SESSION_DURATION);
    if a.session_duration.is_some() {
        v.session_duration("aws.session_duration", session_duration);
    }
    v.limit(
        "aws.managed_policies",
        a.managed_policies.len(),
        MAX_MANAGED_POLICIES,
        "Attach at most 20 managed policies (IAM's hard limit); combine them into a customer managed policy.",
    );
    if a.managed_policies.len() > DEFAULT_MANAGED_POLICY_QUOTA {
        v.warn(
            "aws.managed_policies",
            "more than 10 managed policies needs a raised IAM quota (\"Managed policies per role\")",
        );
    }
    let mut seen = BTreeSet::new();
    for (i, p) in a.managed_policies.iter().enumerate() {
        let field = format!("aws.managed_policies[{i}]");
        v.policy_arn(&field, p);
        if !seen.insert(p.as_str()) {
            v.error(
                &field,
                format!("'{p}' is listed twice"),
                "Remove the duplicate.",
            );
        }
    }
    if let Some(p) = &a.profile {
        v.name("aws.profile", p, 128);
    }
    if let Some(q) = a.trust_policy_quota {
        v.trust_policy_quota("aws.trust_policy_quota", q as usize);
    }
    AwsSetup {
        scope: empty_scope(),
        role_name: a.role_name.clone(),
        region: a.region.clone(),
        session_duration,
        managed_policies: a.managed_policies.clone(),
        profile: a.profile.clone(),
        trust_policy_quota: a.trust_policy_quota.map(|q| q as usize),
    }
}

fn gcp_setup(name: &str, g: &GcpTable, v: &mut Validator) -> GcpSetup {
    let pool = g.pool.clone().unwrap_or_else(|| default_gcp_pool(name));
    let provider = g
        .provider
        .clone()
        .unwrap_or_else(|| DEFAULT_GCP_PROVIDER.to_string());
    let service_account = g
        .service_account
        .clone()
        .unwrap_or_else(|| default_gcp_service_account(name));
    let token_lifetime = g.token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS);
    octo_oidc_core::gcp::check_names(v, &g.project, &service_account, &g.roles);
    octo_oidc_core::gcp::check_input(v, &pool, &provider, &g.allowed_audiences, token_lifetime);
    if let Some(f) = &g.credentials_file {
        v.name("gcp.credentials_file", f, 4096);
    }
    GcpSetup {
        scope: empty_scope(),
        project: g.project.clone(),
        pool,
        provider,
        service_account,
        roles: g.roles.clone(),
        token_lifetime,
        allowed_audiences: g.allowed_audiences.clone(),
        credentials_file: g.credentials_file.clone(),
    }
}

fn azure_setup(name: &str, a: &AzureTable, v: &mut Validator) -> AzureSetup {
    v.guid("azure.tenant_id", &a.tenant_id)
        .guid("azure.subscription_id", &a.subscription_id);
    if let Some(rg) = &a.resource_group {
        v.resource_group("azure.resource_group", rg);
    }
    if let Some(role) = &a.role {
        v.name("azure.role", role, 512);
    }
    if let Some(app) = &a.app_name {
        v.name("azure.app_name", app, 120);
    }
    AzureSetup {
        scope: empty_scope(),
        tenant_id: a.tenant_id.to_ascii_lowercase(),
        subscription_id: a.subscription_id.to_ascii_lowercase(),
        resource_group: a.resource_group.clone(),
        role: a
            .role
            .clone()
            .unwrap_or_else(|| DEFAULT_AZURE_ROLE.to_string()),
        app_name: a
            .app_name
            .clone()
            .unwrap_or_else(|| format!("octo-oidc-{name}")),
        credential_strategy: a.credential_strategy.unwrap_or_default(),
    }
}

fn repository(v: &mut Validator, field: &str, value: &str) -> Option<GitHubRepo> {
    let ok_owner = |o: &str| {
        (1..=39).contains(&o.len())
            && o.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !o.starts_with('-')
    };
    let ok_name = |n: &str| {
        (1..=100).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && n != "."
            && n != ".."
    };
    match value.split_once('/') {
        Some((owner, name)) if ok_owner(owner) && ok_name(name) => Some(GitHubRepo {
            owner: owner.to_string(),
            name: name.to_string(),
            owner_id: None,
            repo_id: None,
        }),
        _ => {
            v.error(
                field,
                format!("'{value}' is not a GitHub repository"),
                "Write owner/name, e.g. repository = \"acme/shop\" (not the URL).",
            );
            None
        }
    }
}

fn ci_setup(g: &GitHubTable, removed: &BTreeSet<String>, v: &mut Validator) -> Option<CiSetup> {
    v.name("github.service_account", &g.service_account, 200);
    if let Some(t) = &g.team {
        v.name("github.team", t, 200);
    }
    let issuer = g
        .issuer
        .clone()
        .unwrap_or_else(|| GITHUB_ISSUER.to_string());
    if g.issuer.is_some() {
        v.https_url("github.issuer", &issuer).length(
            "github.issuer",
            &issuer,
            MAX_IDENTITY_FIELD_CHARS,
        );
    }
    let github_form = g.repository.is_some() || g.filter.is_some();
    if g.subject.is_none() && removed.contains("github.subject") {
        return None;
    }
    let (subject, github) = match (&g.subject, github_form) {
        (Some(_), true) => {
            v.error(
                "github.subject",
                "is given together with repository/filter",
                "Use repository + filter for GitHub Actions, or subject (with issuer) for another CI system, not both.",
            );
            return None;
        }
        (Some(subject), false) => {
            if subject.trim().is_empty() || subject.chars().any(char::is_whitespace) {
                v.error(
                    "github.subject",
                    "is empty or contains whitespace",
                    "Write the token's exact subject; use * or ? as wildcards.",
                );
            }
            (subject.clone(), None)
        }
        (None, _) => {
            let missing = |v: &mut Validator, f: &str, fix: &str| {
                if !removed.contains(f) {
                    v.error(f, "is missing", fix);
                }
            };
            if g.repository.is_none() {
                missing(
                    v,
                    "github.repository",
                    "Add repository = \"owner/name\" (or subject = \"…\" for another CI issuer).",
                );
            }
            if g.filter.is_none() {
                missing(
                    v,
                    "github.filter",
                    "Add filter = \"branch:main\" (or tag:…, environment:…, pull_request, subject:…).",
                );
            }
            let repo = g
                .repository
                .as_deref()
                .and_then(|r| repository(v, "github.repository", r));
            let filter = g.filter.as_deref().and_then(|f| match parse_filter(f) {
                Ok(f) => Some(f),
                Err(problem) => {
                    v.error(
                        "github.filter",
                        problem,
                        "Use branch:NAME, tag:PATTERN, environment:NAME, pull_request or subject:CUSTOM.",
                    );
                    None
                }
            });
            let (repo, filter) = (repo?, filter?);
            match octo_oidc_core::github::github_subject(
                &repo,
                &filter,
                octo_oidc_core::github::SubjectForm::Classic,
            ) {
                Ok(s) => (s, Some((repo, filter))),
                Err(e) => {
                    v.error("github.filter", e.to_string(), "Give the filter a value.");
                    return None;
                }
            }
        }
    };
    v.length("github.subject", &subject, MAX_IDENTITY_FIELD_CHARS);
    if github.is_none() && g.issuer.is_none() && !removed.contains("github.issuer") {
        v.warn(
            "github.issuer",
            "not given: the subject is trusted for GitHub.com's issuer",
        );
    }
    Some(CiSetup {
        ci: g.ci.unwrap_or_else(|| infer_ci(&issuer)),
        issuer,
        subject,
        github,
        service_account: g.service_account.clone(),
        team: g.team.clone(),
    })
}
