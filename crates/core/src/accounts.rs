//! Octopus OIDC account bodies: the exact flat JSON Octopus expects for `AzureOidc` and
//! `AmazonWebServicesOidcAccount` (octopus-api.md §1–2): `AccountType` and the type-specific
//! fields at the top level next to `Name`; `SessionDuration` a string; the subject keys of
//! each context written out explicitly (the resolved ones, so what the core computed is what
//! Octopus uses); `EnvironmentIds`/`TenantIds`/`TenantedDeploymentParticipation` from the
//! scope so Octopus itself restricts where the account can be used.
//!
//! Deliberately absent: `CustomClaims` and `TenantTags` (the wizard sets neither), Generic and
//! Google OIDC accounts, read-only fields (`Id`, `Links`, ...).

use serde_json::{Value, json};

use crate::azure::AZURE_AUDIENCE;
use crate::scope::{Scope, ScopeError};
use crate::subject::{Context, SubjectKey};

/// Fields every OIDC account shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCommon {
    /// Account name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Space id, e.g. `Spaces-1`.
    pub space_id: String,
    /// Slug (the `account:` value); `None` lets Octopus derive it from the name.
    pub slug: Option<String>,
}

/// Azure cloud of an `AzureOidc` account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AzureCloud {
    /// Global Azure (sent as empty strings, Octopus's default).
    Global,
    /// `AzureChinaCloud`.
    China,
    /// `AzureGermanCloud`.
    Germany,
    /// `AzureUSGovernment`.
    UsGovernment,
}

impl AzureCloud {
    /// `(AzureEnvironment, ActiveDirectoryEndpointBaseUri, ResourceManagementEndpointBaseUri)`.
    fn fields(self) -> (&'static str, &'static str, &'static str) {
        match self {
            AzureCloud::Global => ("", "", ""),
            AzureCloud::China => (
                "AzureChinaCloud",
                "https://login.chinacloudapi.cn/",
                "https://management.chinacloudapi.cn/",
            ),
            AzureCloud::Germany => (
                "AzureGermanCloud",
                "https://login.microsoftonline.de/",
                "https://management.microsoftazure.de/",
            ),
            AzureCloud::UsGovernment => (
                "AzureUSGovernment",
                "https://login.microsoftonline.us/",
                "https://management.usgovcloudapi.net/",
            ),
        }
    }
}

fn keys(scope: &Scope, context: Context) -> Result<Vec<&'static str>, ScopeError> {
    Ok(scope
        .keys
        .resolve(context)?
        .keys()
        .map(SubjectKey::as_str)
        .collect())
}

pub(crate) fn common_fields(
    common: &AccountCommon,
    scope: &Scope,
) -> Result<serde_json::Map<String, Value>, ScopeError> {
    let sel = &scope.selection;
    let tenanted = match &sel.tenants {
        crate::scope::Selection::All => true,
        crate::scope::Selection::Only(ids) => !ids.is_empty(),
    };
    let participation = match (tenanted, sel.untenanted) {
        (true, true) => "TenantedOrUntenanted",
        (true, false) => "Tenanted",
        (false, _) => "Untenanted",
    };
    let mut m = serde_json::Map::new();
    m.insert("Name".into(), json!(common.name));
    m.insert("Description".into(), json!(common.description));
    m.insert("SpaceId".into(), json!(common.space_id));
    if let Some(slug) = &common.slug {
        m.insert("Slug".into(), json!(slug));
    }
    m.insert(
        "DeploymentSubjectKeys".into(),
        json!(keys(scope, Context::Deployment)?),
    );
    m.insert(
        "HealthCheckSubjectKeys".into(),
        json!(keys(scope, Context::HealthCheck)?),
    );
    m.insert(
        "AccountTestSubjectKeys".into(),
        json!(keys(scope, Context::AccountTest)?),
    );
    m.insert("EnvironmentIds".into(), json!(sel.environments.ids()));
    m.insert("TenantIds".into(), json!(sel.tenants.ids()));
    m.insert("TenantTags".into(), json!([]));
    m.insert(
        "TenantedDeploymentParticipation".into(),
        json!(participation),
    );
    Ok(m)
}

/// An `AzureOidc` account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureOidcAccount {
    /// Shared fields.
    pub common: AccountCommon,
    /// Subscription GUID (`SubscriptionNumber`).
    pub subscription_id: String,
    /// App registration client id (`ClientId`).
    pub client_id: String,
    /// Entra tenant id (`TenantId`).
    pub tenant_id: String,
    /// Cloud.
    pub cloud: AzureCloud,
    /// Audience; `None` = `api://AzureADTokenExchange`.
    pub audience: Option<String>,
}

/// The flat JSON body to POST to `/api/{spaceId}/accounts`.
pub fn azure_oidc_account_body(
    account: &AzureOidcAccount,
    scope: &Scope,
) -> Result<Value, ScopeError> {
    let mut m = common_fields(&account.common, scope)?;
    let (env, ad, rm) = account.cloud.fields();
    m.insert("AccountType".into(), json!("AzureOidc"));
    m.insert("SubscriptionNumber".into(), json!(account.subscription_id));
    m.insert("ClientId".into(), json!(account.client_id));
    m.insert("TenantId".into(), json!(account.tenant_id));
    m.insert("AzureEnvironment".into(), json!(env));
    m.insert("ActiveDirectoryEndpointBaseUri".into(), json!(ad));
    m.insert("ResourceManagementEndpointBaseUri".into(), json!(rm));
    m.insert(
        "Audience".into(),
        json!(account.audience.as_deref().unwrap_or(AZURE_AUDIENCE)),
    );
    Ok(Value::Object(m))
}

/// An `AmazonWebServicesOidcAccount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsOidcAccount {
    /// Shared fields.
    pub common: AccountCommon,
    /// The IAM role ARN (not the provider's).
    pub role_arn: String,
    /// Seconds; set it to the role's `MaxSessionDuration`.
    pub session_duration: u32,
    /// Optional region (needed for EKS targets).
    pub region: Option<String>,
}

/// The flat JSON body to POST to `/api/{spaceId}/accounts` (no `Audience`: Octopus always
/// uses the server's host name for AWS).
pub fn aws_oidc_account_body(account: &AwsOidcAccount, scope: &Scope) -> Result<Value, ScopeError> {
    let mut m = common_fields(&account.common, scope)?;
    m.insert("AccountType".into(), json!("AmazonWebServicesOidcAccount"));
    m.insert("RoleArn".into(), json!(account.role_arn));
    m.insert(
        "SessionDuration".into(),
        json!(account.session_duration.to_string()),
    );
    if let Some(region) = &account.region {
        m.insert("Region".into(), json!(region));
    }
    Ok(Value::Object(m))
}
