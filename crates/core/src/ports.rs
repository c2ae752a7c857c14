//! Ports: the narrow interfaces through which the core's plans reach the outside world.
//!
//! Each port is named by the role it plays (`Octopus`, `EntraApps`, `AzureRbac`, `Iam`) and is
//! implemented by a provider crate named by mechanism (`RestOctopus`, `GraphEntraApps`,
//! `ArmRbac`, `SdkIam`). Every mutating operation is idempotent and says what it did through
//! [`Applied`], so a rerun of a setup observes "unchanged" and does nothing. Errors are
//! [`Problem`]s with stable codes; transient ones are retried inside the adapter (reported as
//! [`crate::events::ProgressEvent::Retrying`]) before they surface here.
//!
//! The traits use `async fn` (return-position `impl Future`), so the core needs no runtime;
//! adapters must return `Send` futures because the CLI and the app drive them on tokio.
//!
//! Deliberately absent: listing and sign-in details that only the wizard's screens need
//! (those live on the concrete clients), and anything that would let the core see a secret.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

use crate::error::Problem;

/// Result of a port call.
pub type PortResult<T> = Result<T, Problem>;

/// What an idempotent "ensure" operation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "value", rename_all = "snake_case")]
pub enum Applied<T> {
    /// The object did not exist and was created.
    Created(T),
    /// The object existed with different settings and was changed.
    Updated(T),
    /// The object already matched; nothing was sent.
    Unchanged(T),
}

impl<T> Applied<T> {
    /// The resulting object, whatever happened.
    pub fn into_inner(self) -> T {
        match self {
            Applied::Created(v) | Applied::Updated(v) | Applied::Unchanged(v) => v,
        }
    }

    /// Whether a remote change was made.
    pub fn changed(&self) -> bool {
        !matches!(self, Applied::Unchanged(_))
    }
}

/// Something in Octopus with the three identifiers subjects and scopes need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OctopusResource {
    /// E.g. `Projects-42`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Slug (what subject claims use).
    pub slug: String,
}

/// A runbook, which belongs to a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OctopusRunbook {
    /// Id, name, slug.
    #[serde(flatten)]
    pub resource: OctopusResource,
    /// The owning project's id.
    pub project_id: String,
}

/// A project, which belongs to a project group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OctopusProject {
    /// Id, name, slug.
    #[serde(flatten)]
    pub resource: OctopusResource,
    /// The owning project group's id.
    pub project_group_id: String,
}

/// A tenant and the projects/environments it is connected to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OctopusTenant {
    /// Id, name, slug.
    #[serde(flatten)]
    pub resource: OctopusResource,
    /// Project id → environment ids the tenant can be deployed to.
    pub project_environments: BTreeMap<String, Vec<String>>,
}

/// Everything in one space that scope selection needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceInventory {
    /// The space itself.
    pub space: Option<OctopusResource>,
    /// Environments.
    pub environments: Vec<OctopusResource>,
    /// Project groups.
    pub project_groups: Vec<OctopusResource>,
    /// Projects.
    pub projects: Vec<OctopusProject>,
    /// Tenants.
    pub tenants: Vec<OctopusTenant>,
    /// Runbooks.
    pub runbooks: Vec<OctopusRunbook>,
}

/// The Octopus server's identity as seen by the cloud side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Server version, e.g. `2025.4.1234`.
    pub version: String,
    /// `issuer` from `/.well-known/openid-configuration`, verbatim.
    pub issuer: String,
}

/// An Octopus account as stored on the server (flat JSON, see the reference).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OctopusAccount {
    /// E.g. `Accounts-7`.
    pub id: String,
    /// The account's slug (used in `account:` subject parts).
    pub slug: String,
    /// The whole resource as the server returned it.
    pub body: serde_json::Value,
}

/// The end state of an Octopus server task (e.g. the account test).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskResult {
    /// E.g. `ServerTasks-123`.
    pub task_id: String,
    /// Final state: `Success`, `Failed`, `Canceled`, `TimedOut`.
    pub state: String,
    /// Whether the task succeeded.
    pub succeeded: bool,
    /// The server's error message, if any.
    pub error_message: Option<String>,
    /// The task log lines, oldest first.
    pub log: Vec<String>,
}

/// An OIDC identity on an Octopus service account (GitHub Actions → Octopus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcIdentitySpec {
    /// Identity name (≤ 200 chars).
    pub name: String,
    /// Token issuer, e.g. `https://token.actions.githubusercontent.com`.
    pub issuer: String,
    /// Subject, may contain `*` and `?`.
    pub subject: String,
    /// Custom audience; `None` = the service account's ExternalId GUID (what GitHub uses).
    pub audience: Option<String>,
}

/// The Octopus side of a setup.
pub trait Octopus: Send + Sync {
    /// Server version and issuer.
    fn server_info(&self) -> impl Future<Output = PortResult<ServerInfo>> + Send;
    /// Everything scope selection needs in one space.
    fn inventory(&self, space_id: &str) -> impl Future<Output = PortResult<SpaceInventory>> + Send;
    /// Finds an account by exact name.
    fn find_account(
        &self,
        space_id: &str,
        name: &str,
    ) -> impl Future<Output = PortResult<Option<OctopusAccount>>> + Send;
    /// Creates the account, or updates it where it differs from `body` (flat JSON).
    fn ensure_account(
        &self,
        space_id: &str,
        body: &serde_json::Value,
    ) -> impl Future<Output = PortResult<Applied<OctopusAccount>>> + Send;
    /// Deletes an account; a missing one is success.
    fn delete_account(
        &self,
        space_id: &str,
        account_id: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Runs the account test task and follows it to the end.
    fn test_account(
        &self,
        space_id: &str,
        account_id: &str,
    ) -> impl Future<Output = PortResult<TaskResult>> + Send;
    /// Creates or reuses a service account by username; returns its `Users-N` id.
    fn ensure_service_account(
        &self,
        username: &str,
        display_name: &str,
    ) -> impl Future<Output = PortResult<Applied<String>>> + Send;
    /// Creates or updates an OIDC identity (matched by name); returns the service account's
    /// ExternalId GUID (what `OctopusDeploy/login` calls `service_account_id`).
    fn ensure_oidc_identity(
        &self,
        service_account_id: &str,
        identity: &OidcIdentitySpec,
    ) -> impl Future<Output = PortResult<Applied<String>>> + Send;
}

/// An Entra application registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntraApplication {
    /// Directory object id (`id`).
    pub object_id: String,
    /// Client id (`appId`).
    pub app_id: String,
    /// Display name.
    pub display_name: String,
}

/// A service principal (enterprise application) of an app registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePrincipal {
    /// Directory object id (the `principalId` of role assignments).
    pub object_id: String,
    /// The application's client id.
    pub app_id: String,
}

/// A federated identity credential on an app registration (exact match, no wildcards).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FederatedCredential {
    /// 3–120 chars, alphanumeric, `-`, `_`, first char alphanumeric; unique per app.
    pub name: String,
    /// Must equal the token's `iss` exactly (Octopus discovery `issuer`, verbatim).
    pub issuer: String,
    /// Must equal the token's `sub` exactly (case-sensitive).
    pub subject: String,
    /// Exactly one audience, normally `api://AzureADTokenExchange`.
    pub audiences: Vec<String>,
    /// Free text (≤ 600 chars).
    pub description: Option<String>,
}

/// Entra app registrations and their federated credentials (Microsoft Graph).
pub trait EntraApps: Send + Sync {
    /// Creates or finds the app registration with this stable unique name.
    fn ensure_application(
        &self,
        unique_name: &str,
        display_name: &str,
    ) -> impl Future<Output = PortResult<Applied<EntraApplication>>> + Send;
    /// Creates or finds the service principal of an app.
    fn ensure_service_principal(
        &self,
        app_id: &str,
    ) -> impl Future<Output = PortResult<Applied<ServicePrincipal>>> + Send;
    /// Lists the federated credentials of an app (by object id).
    fn list_federated_credentials(
        &self,
        app_object_id: &str,
    ) -> impl Future<Output = PortResult<Vec<FederatedCredential>>> + Send;
    /// Creates or updates one federated credential, matched by name.
    fn ensure_federated_credential(
        &self,
        app_object_id: &str,
        credential: &FederatedCredential,
    ) -> impl Future<Output = PortResult<Applied<FederatedCredential>>> + Send;
    /// Deletes one federated credential by name; a missing one is success.
    fn delete_federated_credential(
        &self,
        app_object_id: &str,
        name: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Deletes an app registration (its service principal goes with it).
    fn delete_application(&self, object_id: &str) -> impl Future<Output = PortResult<()>> + Send;
}

/// An Azure role assignment, named by a deterministic GUID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// E.g. `/subscriptions/{sub}/resourceGroups/{rg}`.
    pub scope: String,
    /// Full role definition id, `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
    pub role_definition_id: String,
    /// Service principal object id.
    pub principal_id: String,
    /// Deterministic assignment GUID (UUIDv5 of scope + role + principal).
    pub name: String,
}

/// Azure role-based access control (ARM).
pub trait AzureRbac: Send + Sync {
    /// Full role definition id for a role name (e.g. `Contributor`) at a scope.
    fn role_definition_id(
        &self,
        scope: &str,
        role_name: &str,
    ) -> impl Future<Output = PortResult<String>> + Send;
    /// Creates the assignment; an existing equal one (`RoleAssignmentExists`) is success.
    fn ensure_role_assignment(
        &self,
        assignment: &RoleAssignment,
    ) -> impl Future<Output = PortResult<Applied<RoleAssignment>>> + Send;
    /// Deletes the assignment; a missing one is success.
    fn delete_role_assignment(
        &self,
        assignment: &RoleAssignment,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// An IAM OIDC identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcProvider {
    /// `arn:aws:iam::<acct>:oidc-provider/<host[/path]>`.
    pub arn: String,
    /// The URL as given at creation (with `https://`).
    pub url: String,
    /// Audiences (ClientIDList).
    pub client_ids: Vec<String>,
    /// Thumbprints (empty unless a private CA is in play).
    pub thumbprints: Vec<String>,
}

/// What an OIDC provider must look like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcProviderSpec {
    /// The Octopus issuer, verbatim, `https://`.
    pub url: String,
    /// Audiences that must be present (the Octopus host name).
    pub client_ids: Vec<String>,
    /// Only for private CAs; empty lets IAM verify against trusted roots.
    pub thumbprints: Vec<String>,
    /// Tags for created providers (e.g. `octo-oidc:setup`).
    pub tags: BTreeMap<String, String>,
}

/// What an IAM role must look like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSpec {
    /// 1–64 chars of `[\w+=,.@-]`.
    pub name: String,
    /// Minified trust policy JSON.
    pub trust_policy: String,
    /// 3600–43200 seconds.
    pub max_session_duration: u32,
    /// Role description.
    pub description: Option<String>,
    /// Managed policy ARNs to attach.
    pub managed_policy_arns: Vec<String>,
    /// Inline policies by name (JSON documents).
    pub inline_policies: BTreeMap<String, String>,
    /// Tags for the role.
    pub tags: BTreeMap<String, String>,
}

/// An IAM role as it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamRole {
    /// Role ARN (what the Octopus account's `RoleArn` needs).
    pub arn: String,
    /// Role name.
    pub name: String,
    /// The trust policy, URL-decoded JSON.
    pub trust_policy: String,
    /// Maximum session duration in seconds.
    pub max_session_duration: u32,
}

/// AWS IAM: OIDC providers and roles.
pub trait Iam: Send + Sync {
    /// The account id and caller ARN of the credentials in use.
    fn caller_identity(&self) -> impl Future<Output = PortResult<(String, String)>> + Send;
    /// Finds the provider registered for exactly this URL.
    fn find_oidc_provider(
        &self,
        url: &str,
    ) -> impl Future<Output = PortResult<Option<OidcProvider>>> + Send;
    /// Creates the provider, or adds missing client ids to the existing one.
    fn ensure_oidc_provider(
        &self,
        spec: &OidcProviderSpec,
    ) -> impl Future<Output = PortResult<Applied<OidcProvider>>> + Send;
    /// Deletes a provider; a missing one is success.
    fn delete_oidc_provider(&self, arn: &str) -> impl Future<Output = PortResult<()>> + Send;
    /// Finds a role by name.
    fn find_role(&self, name: &str) -> impl Future<Output = PortResult<Option<IamRole>>> + Send;
    /// Creates the role or brings its trust policy, duration and policies to the spec.
    fn ensure_role(
        &self,
        spec: &RoleSpec,
    ) -> impl Future<Output = PortResult<Applied<IamRole>>> + Send;
    /// Detaches/deletes the role's policies, then deletes the role; a missing one is success.
    fn delete_role(&self, name: &str) -> impl Future<Output = PortResult<()>> + Send;
}
