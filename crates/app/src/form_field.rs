//! The ids of the desktop forms' inputs: a closed set, so the Rust validation and the Svelte
//! screens name fields the same way (the TypeScript union `FormField` and the constant
//! `FORM_FIELDS` are generated from this enum).
//!
//! On the wire a [`FieldError`](octo_oidc_core::error::FieldError)'s `field` stays a string
//! path (setup files report paths like `aws.role_name` or `scope.projects[1]`); a form's own
//! errors always carry one of these ids.

use serde::{Deserialize, Serialize};

/// One input of a desktop form. The serialized form is the field id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum FormField {
    /// Connect to Octopus: the server URL.
    #[serde(rename = "octopus.server_url")]
    OctopusServerUrl,
    /// Connect to Octopus: the API key.
    #[serde(rename = "octopus.api_key")]
    OctopusApiKey,
    /// The setup's name (`[a-z0-9-]`, 1–40).
    #[serde(rename = "name")]
    SetupName,
    /// Scope: the space (name, slug or `Spaces-N`).
    #[serde(rename = "octopus.space")]
    OctopusSpace,
    /// The Octopus account's name.
    #[serde(rename = "account.name")]
    AccountName,
    /// Scope: projects (slugs, or `*`).
    #[serde(rename = "scope.projects")]
    ScopeProjects,
    /// Scope: environments (slugs, or `*`).
    #[serde(rename = "scope.environments")]
    ScopeEnvironments,
    /// Scope: tenants (slugs, `*`, or none for untenanted only).
    #[serde(rename = "scope.tenants")]
    ScopeTenants,
    /// Scope: runbooks (slugs).
    #[serde(rename = "scope.runbooks")]
    ScopeRunbooks,
    /// Scope: deployment targets for health checks (slugs).
    #[serde(rename = "scope.health_check_targets")]
    ScopeHealthCheckTargets,
    /// Subject keys of deployments and runbook runs.
    #[serde(rename = "subject_keys.deployment")]
    SubjectKeysDeployment,
    /// Subject keys of health checks.
    #[serde(rename = "subject_keys.health_check")]
    SubjectKeysHealthCheck,
    /// Subject keys of the account test.
    #[serde(rename = "subject_keys.account_test")]
    SubjectKeysAccountTest,
    /// AWS: the IAM role's name.
    #[serde(rename = "aws.role_name")]
    AwsRoleName,
    /// AWS: the region the Octopus account uses.
    #[serde(rename = "aws.region")]
    AwsRegion,
    /// AWS: the session duration in seconds.
    #[serde(rename = "aws.session_duration")]
    AwsSessionDuration,
    /// AWS: managed policy ARNs attached to the role.
    #[serde(rename = "aws.managed_policies")]
    AwsManagedPolicies,
    /// AWS: the shared-config profile.
    #[serde(rename = "aws.profile")]
    AwsProfile,
    /// Azure: the Entra tenant id.
    #[serde(rename = "azure.tenant_id")]
    AzureTenantId,
    /// Azure: the subscription id.
    #[serde(rename = "azure.subscription_id")]
    AzureSubscriptionId,
    /// Azure: the optional resource group.
    #[serde(rename = "azure.resource_group")]
    AzureResourceGroup,
    /// Azure: the role to assign.
    #[serde(rename = "azure.role")]
    AzureRole,
    /// GitHub: the repository (`owner/name`).
    #[serde(rename = "github.repository")]
    GithubRepository,
    /// GitHub: which workflow runs (branch, tag, environment, pull request, custom).
    #[serde(rename = "github.filter")]
    GithubFilter,
    /// GitHub: the Octopus service account.
    #[serde(rename = "github.service_account")]
    GithubServiceAccount,
    /// GitHub: the optional team granting the service account its permissions.
    #[serde(rename = "github.team")]
    GithubTeam,
    /// CI issuers: the issuer URL (empty: GitHub.com).
    #[serde(rename = "github.issuer")]
    GithubIssuer,
    /// CI issuers: the exact or wildcard subject (other issuers than GitHub).
    #[serde(rename = "github.subject")]
    GithubSubject,
    /// CI issuers: which CI's snippet.
    #[serde(rename = "github.ci")]
    GithubCi,
    /// Azure sign-in: a service principal's client id (not part of the setup file).
    #[serde(rename = "azure.sign_in.client_id")]
    AzureSignInClientId,
    /// Azure sign-in: a service principal's client secret (memory only, never in a file).
    #[serde(rename = "azure.sign_in.client_secret")]
    AzureSignInClientSecret,
    /// AWS sign-in: a typed access key id (not part of the setup file).
    #[serde(rename = "aws.sign_in.access_key_id")]
    AwsSignInAccessKeyId,
    /// AWS sign-in: a typed secret access key (memory only, never in a file).
    #[serde(rename = "aws.sign_in.secret_access_key")]
    AwsSignInSecretAccessKey,
    /// Google Cloud: the project id.
    #[serde(rename = "gcp.project")]
    GcpProject,
    /// Google Cloud: the workload identity pool id.
    #[serde(rename = "gcp.pool")]
    GcpPool,
    /// Google Cloud: the pool's OIDC provider id.
    #[serde(rename = "gcp.provider")]
    GcpProvider,
    /// Google Cloud: the service account (an id, or an existing one's email).
    #[serde(rename = "gcp.service_account")]
    GcpServiceAccount,
    /// Google Cloud: project roles for the service account.
    #[serde(rename = "gcp.roles")]
    GcpRoles,
    /// Google Cloud: the account's token lifetime in seconds.
    #[serde(rename = "gcp.token_lifetime")]
    GcpTokenLifetime,
    /// Google Cloud: a credentials file (default: Application Default Credentials).
    #[serde(rename = "gcp.credentials_file")]
    GcpCredentialsFile,
}

impl FormField {
    /// Every form field.
    pub const ALL: [FormField; 40] = [
        FormField::OctopusServerUrl,
        FormField::OctopusApiKey,
        FormField::SetupName,
        FormField::OctopusSpace,
        FormField::AccountName,
        FormField::ScopeProjects,
        FormField::ScopeEnvironments,
        FormField::ScopeTenants,
        FormField::ScopeRunbooks,
        FormField::ScopeHealthCheckTargets,
        FormField::SubjectKeysDeployment,
        FormField::SubjectKeysHealthCheck,
        FormField::SubjectKeysAccountTest,
        FormField::AwsRoleName,
        FormField::AwsRegion,
        FormField::AwsSessionDuration,
        FormField::AwsManagedPolicies,
        FormField::AwsProfile,
        FormField::AzureTenantId,
        FormField::AzureSubscriptionId,
        FormField::AzureResourceGroup,
        FormField::AzureRole,
        FormField::GithubRepository,
        FormField::GithubFilter,
        FormField::GithubServiceAccount,
        FormField::GithubTeam,
        FormField::GithubIssuer,
        FormField::GithubSubject,
        FormField::GithubCi,
        FormField::AzureSignInClientId,
        FormField::AzureSignInClientSecret,
        FormField::AwsSignInAccessKeyId,
        FormField::AwsSignInSecretAccessKey,
        FormField::GcpProject,
        FormField::GcpPool,
        FormField::GcpProvider,
        FormField::GcpServiceAccount,
        FormField::GcpRoles,
        FormField::GcpTokenLifetime,
        FormField::GcpCredentialsFile,
    ];

    /// The field id, exactly as serialized (e.g. `octopus.server_url`).
    pub fn id(self) -> &'static str {
        match self {
            FormField::OctopusServerUrl => "octopus.server_url",
            FormField::OctopusApiKey => "octopus.api_key",
            FormField::SetupName => "name",
            FormField::OctopusSpace => "octopus.space",
            FormField::AccountName => "account.name",
            FormField::ScopeProjects => "scope.projects",
            FormField::ScopeEnvironments => "scope.environments",
            FormField::ScopeTenants => "scope.tenants",
            FormField::ScopeRunbooks => "scope.runbooks",
            FormField::ScopeHealthCheckTargets => "scope.health_check_targets",
            FormField::SubjectKeysDeployment => "subject_keys.deployment",
            FormField::SubjectKeysHealthCheck => "subject_keys.health_check",
            FormField::SubjectKeysAccountTest => "subject_keys.account_test",
            FormField::AwsRoleName => "aws.role_name",
            FormField::AwsRegion => "aws.region",
            FormField::AwsSessionDuration => "aws.session_duration",
            FormField::AwsManagedPolicies => "aws.managed_policies",
            FormField::AwsProfile => "aws.profile",
            FormField::AzureTenantId => "azure.tenant_id",
            FormField::AzureSubscriptionId => "azure.subscription_id",
            FormField::AzureResourceGroup => "azure.resource_group",
            FormField::AzureRole => "azure.role",
            FormField::GithubRepository => "github.repository",
            FormField::GithubFilter => "github.filter",
            FormField::GithubServiceAccount => "github.service_account",
            FormField::GithubTeam => "github.team",
            FormField::GithubIssuer => "github.issuer",
            FormField::GithubSubject => "github.subject",
            FormField::GithubCi => "github.ci",
            FormField::AzureSignInClientId => "azure.sign_in.client_id",
            FormField::AzureSignInClientSecret => "azure.sign_in.client_secret",
            FormField::AwsSignInAccessKeyId => "aws.sign_in.access_key_id",
            FormField::AwsSignInSecretAccessKey => "aws.sign_in.secret_access_key",
            FormField::GcpProject => "gcp.project",
            FormField::GcpPool => "gcp.pool",
            FormField::GcpProvider => "gcp.provider",
            FormField::GcpServiceAccount => "gcp.service_account",
            FormField::GcpRoles => "gcp.roles",
            FormField::GcpTokenLifetime => "gcp.token_lifetime",
            FormField::GcpCredentialsFile => "gcp.credentials_file",
        }
    }

    /// The form field a setup-file path belongs to: `aws.managed_policies[1]` →
    /// `aws.managed_policies`; `None` for a path no form shows (`(file)`, `version`).
    pub fn of_path(path: &str) -> Option<FormField> {
        let base = path.split('[').next().unwrap_or(path);
        FormField::ALL.into_iter().find(|field| field.id() == base)
    }

    /// The name the UI uses for the field in `FORM_FIELDS` (`octopus.server_url` →
    /// `octopusServerUrl`).
    pub fn key(self) -> String {
        let mut key = String::new();
        for (index, word) in self.id().split(['.', '_']).enumerate() {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                if index == 0 {
                    key.push(first);
                } else {
                    key.extend(first.to_uppercase());
                }
                key.push_str(chars.as_str());
            }
        }
        key
    }

    /// `{key: id}` for every field: the generated `FORM_FIELDS` constant of the UI.
    pub fn by_key() -> std::collections::BTreeMap<String, FormField> {
        FormField::ALL
            .into_iter()
            .map(|field| (field.key(), field))
            .collect()
    }
}

impl std::fmt::Display for FormField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_serialized_form_and_keys_are_camel_case() {
        for field in FormField::ALL {
            let json = serde_json::to_value(field).expect("serializes");
            assert_eq!(json, serde_json::json!(field.id()), "{field:?}");
        }
        assert_eq!(FormField::OctopusServerUrl.key(), "octopusServerUrl");
        assert_eq!(FormField::OctopusApiKey.key(), "octopusApiKey");
        assert_eq!(FormField::AwsRoleName.key(), "awsRoleName");
        assert_eq!(
            FormField::of_path("aws.managed_policies[1]"),
            Some(FormField::AwsManagedPolicies)
        );
        assert_eq!(FormField::of_path("(file)"), None);
        assert_eq!(
            FormField::by_key().len(),
            FormField::ALL.len(),
            "keys collide"
        );
    }
}
