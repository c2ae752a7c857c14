//! Octopus OIDC account bodies: the exact flat JSON Octopus expects for `AzureOidc` and
//! `AmazonWebServicesOidcAccount` (octopus-api.md §1–2): `AccountType` and the type-specific
//! fields at the top level next to `Name`; `SessionDuration` a string; the subject keys of
//! each context written out explicitly (the resolved ones, so what the core computed is what
//! Octopus uses); `EnvironmentIds`/`TenantIds`/`TenantedDeploymentParticipation` from the
//! scope so Octopus itself restricts where the account can be used.
//!
//! Octopus 2026 AWS accounts: `Region` is required since April 2026 (OctopusDeploy/Issues
//! #9955; [`account_region`] defaults it from the AWS profile) and `Audience` is `[Required]`
//! in the current OctopusClients; the body always carries both, `Audience` being the value the
//! IAM provider trusts (`AwsProvider::audience` in [`crate::aws::trust`], the issuer's host
//! name). `CustomClaims` are sent when set (string values, e.g. AWS session tags).
//!
//! Deliberately absent: `TenantTags` (the wizard sets none), Generic and Google OIDC accounts,
//! read-only fields (`Id`, `Links`, ...).

use std::collections::BTreeMap;

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
    /// Extra token claims (`CustomClaims`); empty = none sent.
    pub custom_claims: BTreeMap<String, String>,
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
    insert_custom_claims(&mut m, &account.custom_claims);
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
    /// The AWS region, e.g. `us-east-1` (required by Octopus since April 2026; see
    /// [`account_region`] for the default).
    pub region: String,
    /// The audience the IAM OIDC provider trusts (its `ClientIDList` entry and the trust
    /// policy's `:aud`), by default the issuer's host name.
    pub audience: String,
    /// Extra token claims (`CustomClaims`, e.g. `https://aws.amazon.com/tags`); empty = none.
    pub custom_claims: BTreeMap<String, String>,
}

/// The `Region` of an AWS account: what the user typed, else the region of the AWS profile
/// (or connection) in use, else empty (validation then asks for one).
pub fn account_region(typed: &str, profile_region: Option<&str>) -> String {
    match typed.trim() {
        "" => profile_region
            .map(str::trim)
            .unwrap_or_default()
            .to_string(),
        typed => typed.to_string(),
    }
}

fn insert_custom_claims(m: &mut serde_json::Map<String, Value>, claims: &BTreeMap<String, String>) {
    if !claims.is_empty() {
        m.insert("CustomClaims".into(), json!(claims));
    }
}

/// The flat JSON body to POST to `/api/{spaceId}/accounts`, with `Region` and `Audience`.
pub fn aws_oidc_account_body(account: &AwsOidcAccount, scope: &Scope) -> Result<Value, ScopeError> {
    let mut m = common_fields(&account.common, scope)?;
    m.insert("AccountType".into(), json!("AmazonWebServicesOidcAccount"));
    m.insert("RoleArn".into(), json!(account.role_arn));
    m.insert(
        "SessionDuration".into(),
        json!(account.session_duration.to_string()),
    );
    m.insert("Region".into(), json!(account.region));
    m.insert("Audience".into(), json!(account.audience));
    insert_custom_claims(&mut m, &account.custom_claims);
    Ok(Value::Object(m))
}
