//! Ports: the narrow interfaces through which the core's plans reach the outside world.
//!
//! Each port is named by the role it plays (`Octopus`, `EntraApps`, `AzureRbac`, `Iam`) and is
//! implemented by a provider crate named by mechanism (`RestOctopus`, `GraphEntraApps`,
//! `ArmRbac`, `SdkIam`). The engine needs three kinds of call from each, and every port has
//! them:
//!
//! - **lookups** (`find_*`, `list_*`): what exists now, with what the engine compares to see
//!   drift (tags, notes, descriptions, attached policies); a missing object is `Ok(None)`;
//! - **ensures** (`ensure_*`): idempotent; each says what it did through [`Applied`], so a
//!   rerun of a setup observes "unchanged" and sends nothing;
//! - **creates** (`create_*`): the same contract as the matching `ensure_*`, for an object a
//!   lookup has just found absent, so the adapter may create it without looking again. The
//!   default is the `ensure_*`; an adapter that overrides it sends the create directly and,
//!   when the service refuses it (the object exists after all: a race, a resumed crash),
//!   falls back to its `ensure_*`, so idempotency and resume stay exactly those of `ensure_*`;
//! - **deletes** (`delete_*`): a missing object is success, so a teardown can be rerun.
//!
//! Verify also trades tokens through the ports: [`Octopus::exchange_id_token`] (`/token/v1`)
//! and [`Iam::assume_role_with_web_identity`] (STS).
//!
//! Resources a setup creates carry its id ([`SETUP_TAG`], [`setup_mark`]) so teardown and
//! drift detection do not depend on a journal alone: AWS providers and roles get the tag
//! `octo-oidc:setup=<id>` through their specs' `tags`, Entra applications get it in `notes`
//! and `tags` ([`ApplicationSpec`]), Octopus accounts in their `Description` (part of the
//! account body), service accounts in their display name. Marks are written on create only:
//! an object that already existed is never marked, so a cleanup by mark cannot delete
//! something the setup did not create.
//!
//! Errors are [`Problem`]s with stable codes; transient ones are retried inside the adapter
//! (reported as [`crate::events::ProgressEvent::Retrying`]) before they surface here.
//!
//! The traits use `async fn` (return-position `impl Future`), so the core needs no runtime;
//! adapters must return `Send` futures because the CLI and the app drive them on tokio.
//! In-memory fakes of every port live in the `octo-oidc-testkit` crate.
//!
//! Deliberately absent: listing and sign-in details that only the wizard's screens need
//! (those live on the concrete clients). Secrets cross a port only as [`Secret`] (the tokens
//! verify trades), never as plain strings.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;

use crate::error::Problem;
use crate::secret::Secret;

/// Result of a port call.
pub type PortResult<T> = Result<T, Problem>;

/// The tag key (AWS) and mark prefix (Entra notes and tags, Octopus descriptions) that names
/// the setup a resource belongs to.
pub const SETUP_TAG: &str = "octo-oidc:setup";

/// The mark a resource of setup `setup_id` carries in free text and string tags:
/// `octo-oidc:setup=<setup_id>`.
pub fn setup_mark(setup_id: &str) -> String {
    format!("{SETUP_TAG}={setup_id}")
}

/// The setup id in a text that carries a [`setup_mark`] (the first one), if any.
pub fn marked_setup(text: &str) -> Option<&str> {
    let prefix = format!("{SETUP_TAG}=");
    let start = text.find(&prefix)? + prefix.len();
    let id = &text[start..];
    let end = id
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(id.len());
    Some(&id[..end]).filter(|id| !id.is_empty())
}

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

    /// The resulting object, borrowed.
    pub fn value(&self) -> &T {
        match self {
            Applied::Created(v) | Applied::Updated(v) | Applied::Unchanged(v) => v,
        }
    }

    /// Whether a remote change was made.
    pub fn changed(&self) -> bool {
        !matches!(self, Applied::Unchanged(_))
    }

    /// The same outcome around another value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Applied<U> {
        match self {
            Applied::Created(v) => Applied::Created(f(v)),
            Applied::Updated(v) => Applied::Updated(f(v)),
            Applied::Unchanged(v) => Applied::Unchanged(f(v)),
        }
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
    /// Deployment targets (machines), for health-check subjects (`target:<slug>`).
    pub deployment_targets: Vec<OctopusResource>,
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

/// An Octopus user found by username: normally a service account; `is_service == false`
/// means a person holds the username (a conflict, never turned into a service account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccount {
    /// `Users-N`.
    pub id: String,
    /// Login name (unique, compared case-insensitively as Octopus does).
    pub username: String,
    /// Display name (carries the [`setup_mark`] of the setup that created it).
    pub display_name: String,
    /// Whether the user is a service account.
    pub is_service: bool,
}

/// An OIDC identity as it exists on a service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcIdentity {
    /// The identity's id (what deletes it).
    pub id: String,
    /// Name, issuer, subject, audience.
    #[serde(flatten)]
    pub spec: OidcIdentitySpec,
}

/// A service account's OIDC identities and its ExternalId GUID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcIdentities {
    /// The `ExternalId` GUID (`service_account_id` of `OctopusDeploy/login`, the default
    /// audience).
    pub external_id: String,
    /// Every identity, in the server's order.
    pub identities: Vec<OidcIdentity>,
}

/// What identifies an ensured OIDC identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcIdentityIds {
    /// The identity's id.
    pub identity_id: String,
    /// The service account's ExternalId GUID.
    pub external_id: String,
}

/// An Octopus access token from the `/token/v1` exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangedToken {
    /// The bearer token (one hour).
    pub access_token: Secret,
    /// Lifetime in seconds, as the server says.
    pub expires_in: Option<u64>,
}

/// An Octopus team (of a space, or a system team) and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OctopusTeam {
    /// `Teams-N` (or a built-in id such as `teams-administrators`).
    pub id: String,
    /// Name.
    pub name: String,
    /// The team's space; `None` = a system team.
    pub space_id: Option<String>,
    /// Member user ids.
    pub member_user_ids: Vec<String>,
    /// Whether members can be changed (not for "Everyone").
    pub can_change_members: bool,
}

async fn unsupported<T>(what: String) -> PortResult<T> {
    Err(Problem::new(crate::ErrorCode::Internal, what))
}

/// The Octopus side of a setup.
pub trait Octopus: Send + Sync {
    /// Server version and issuer.
    fn server_info(&self) -> impl Future<Output = PortResult<ServerInfo>> + Send;
    /// Everything scope selection needs in one space, deployment targets included.
    fn inventory(&self, space_id: &str) -> impl Future<Output = PortResult<SpaceInventory>> + Send;
    /// Finds an account by exact name (the body shows its `Description` mark).
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
    /// [`Octopus::ensure_account`] for an account a lookup has just found absent (see the
    /// module's "creates"); the default is `ensure_account`.
    fn create_account(
        &self,
        space_id: &str,
        body: &serde_json::Value,
    ) -> impl Future<Output = PortResult<Applied<OctopusAccount>>> + Send {
        self.ensure_account(space_id, body)
    }
    /// Deletes an account; a missing one is success.
    fn delete_account(
        &self,
        space_id: &str,
        account_id: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// The ids of the deployment targets that use the account (`GET
    /// /api/{space}/accounts/{id}/usages`, its `Targets`: cloud targets whose endpoint signs
    /// in with it, so their health checks present its tokens).
    fn account_targets(
        &self,
        space_id: &str,
        account_id: &str,
    ) -> impl Future<Output = PortResult<Vec<String>>> + Send;
    /// Runs the account test task and follows it to the end.
    fn test_account(
        &self,
        space_id: &str,
        account_id: &str,
    ) -> impl Future<Output = PortResult<TaskResult>> + Send;
    /// Finds the user with this username (service account or not).
    fn find_service_account(
        &self,
        username: &str,
    ) -> impl Future<Output = PortResult<Option<ServiceAccount>>> + Send;
    /// Creates a service account, or reuses the one with this username as it is; a person
    /// with the username is a conflict.
    fn ensure_service_account(
        &self,
        username: &str,
        display_name: &str,
    ) -> impl Future<Output = PortResult<Applied<ServiceAccount>>> + Send;
    /// Deletes a service account (`Users-N`); a missing one is success.
    fn delete_service_account(
        &self,
        service_account_id: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// The OIDC identities of a service account and its ExternalId.
    fn list_oidc_identities(
        &self,
        service_account_id: &str,
    ) -> impl Future<Output = PortResult<OidcIdentities>> + Send;
    /// Creates or updates an OIDC identity (matched by name).
    fn ensure_oidc_identity(
        &self,
        service_account_id: &str,
        identity: &OidcIdentitySpec,
    ) -> impl Future<Output = PortResult<Applied<OidcIdentityIds>>> + Send;
    /// Deletes one OIDC identity; a missing one is success.
    fn delete_oidc_identity(
        &self,
        service_account_id: &str,
        identity_id: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Trades an ID token whose audience is the service account's ExternalId for an Octopus
    /// access token at the server's `token_endpoint`, as `OctopusDeploy/login` does. A
    /// refused token is [`crate::ErrorCode::TrustRejected`] with the server's reason.
    fn exchange_id_token(
        &self,
        external_id: &str,
        id_token: &Secret,
    ) -> impl Future<Output = PortResult<ExchangedToken>> + Send;
    /// Preflight: every permission the API key's user holds, per space and system-wide
    /// (`/api/users/{id}/permissions`; needs no space, so it is read beside the space's
    /// lookup). Adapters that cannot read them keep the default, which says so (preflight
    /// then warns instead of deciding).
    fn caller_permissions(
        &self,
    ) -> impl Future<Output = PortResult<crate::preflight::OctopusGrants>> + Send {
        async move {
            Err(Problem::new(
                crate::ErrorCode::Internal,
                "this Octopus client cannot read the user's permissions",
            ))
        }
    }
    /// Finds the team named `name` (case-insensitive) among the space's teams and the system
    /// teams.
    fn find_team(
        &self,
        space_id: &str,
        name: &str,
    ) -> impl Future<Output = PortResult<Option<OctopusTeam>>> + Send {
        unsupported(format!(
            "this Octopus client cannot look up team '{name}' in {space_id}"
        ))
    }
    /// Adds a user to a team: `Created` when the membership was added, `Unchanged` when the
    /// user was a member already; a team whose members cannot change is a conflict.
    fn add_team_member(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> impl Future<Output = PortResult<Applied<OctopusTeam>>> + Send {
        unsupported(format!(
            "this Octopus client cannot add {user_id} to team {team_id}"
        ))
    }
    /// Removes a user from a team; a user who is not a member is success.
    fn remove_team_member(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> impl Future<Output = PortResult<()>> + Send {
        unsupported(format!(
            "this Octopus client cannot remove {user_id} from team {team_id}"
        ))
    }
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
    /// The stable unique name it is upserted by (`uniqueName`), if it has one.
    pub unique_name: Option<String>,
    /// Free-text notes (a setup's apps carry its [`setup_mark`] here).
    pub notes: Option<String>,
    /// String tags (a setup's apps carry its [`setup_mark`] here too).
    pub tags: Vec<String>,
}

/// What an app registration must look like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationSpec {
    /// Stable unique name (`uniqueName`), derived from the setup id; read-only once set.
    pub unique_name: String,
    /// Display name (kept in line on every ensure).
    pub display_name: String,
    /// Notes written when the app is created.
    pub notes: Option<String>,
    /// Tags written when the app is created.
    pub tags: Vec<String>,
}

impl ApplicationSpec {
    /// A spec without notes or tags.
    pub fn named(unique_name: &str, display_name: &str) -> ApplicationSpec {
        ApplicationSpec {
            unique_name: unique_name.to_string(),
            display_name: display_name.to_string(),
            notes: None,
            tags: Vec::new(),
        }
    }

    /// The same spec marked as setup `setup_id`'s (notes and tags carry [`setup_mark`]).
    pub fn marked(mut self, setup_id: &str) -> ApplicationSpec {
        self.notes = Some(setup_mark(setup_id));
        self.tags = vec![setup_mark(setup_id)];
        self
    }
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
    /// Finds the app registration with this unique name.
    fn find_application(
        &self,
        unique_name: &str,
    ) -> impl Future<Output = PortResult<Option<EntraApplication>>> + Send;
    /// Finds the app registration with this client id (`appId`), e.g. the one an existing
    /// Octopus account names.
    fn find_application_by_client_id(
        &self,
        client_id: &str,
    ) -> impl Future<Output = PortResult<Option<EntraApplication>>> + Send;
    /// Creates the app registration (with the spec's notes and tags), or finds it by unique
    /// name and brings its display name to the spec. An existing app keeps its own notes and
    /// tags.
    fn ensure_application(
        &self,
        spec: &ApplicationSpec,
    ) -> impl Future<Output = PortResult<Applied<EntraApplication>>> + Send;
    /// [`EntraApps::ensure_application`] for an app a lookup has just found absent (see the
    /// module's "creates"); the default is `ensure_application`.
    fn create_application(
        &self,
        spec: &ApplicationSpec,
    ) -> impl Future<Output = PortResult<Applied<EntraApplication>>> + Send {
        self.ensure_application(spec)
    }
    /// Deletes an app registration by object id (its service principal goes with it); a
    /// missing one is success.
    fn delete_application(&self, object_id: &str) -> impl Future<Output = PortResult<()>> + Send;
    /// Finds the service principal of an app (by client id).
    fn find_service_principal(
        &self,
        app_id: &str,
    ) -> impl Future<Output = PortResult<Option<ServicePrincipal>>> + Send;
    /// Creates or finds the service principal of an app.
    fn ensure_service_principal(
        &self,
        app_id: &str,
    ) -> impl Future<Output = PortResult<Applied<ServicePrincipal>>> + Send;
    /// [`EntraApps::ensure_service_principal`] for a principal a lookup has just found
    /// absent (see the module's "creates"); the default is `ensure_service_principal`.
    fn create_service_principal(
        &self,
        app_id: &str,
    ) -> impl Future<Output = PortResult<Applied<ServicePrincipal>>> + Send {
        self.ensure_service_principal(app_id)
    }
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
    /// [`EntraApps::ensure_federated_credential`] for a credential a lookup has just found
    /// absent by name (see the module's "creates"); the default is
    /// `ensure_federated_credential`.
    fn create_federated_credential(
        &self,
        app_object_id: &str,
        credential: &FederatedCredential,
    ) -> impl Future<Output = PortResult<Applied<FederatedCredential>>> + Send {
        self.ensure_federated_credential(app_object_id, credential)
    }
    /// Deletes one federated credential by name; a missing one is success.
    fn delete_federated_credential(
        &self,
        app_object_id: &str,
        name: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Verify: trades `assertion` (an Octopus OIDC token) for a token of the app `client_id`
    /// at the authority (`client_assertion` jwt-bearer), as Octopus does. Entra's refusal is
    /// [`crate::ErrorCode::TrustRejected`] with its `AADSTS` code in the message.
    fn exchange_federated_token(
        &self,
        client_id: &str,
        assertion: &Secret,
    ) -> impl Future<Output = PortResult<()>> + Send {
        let _ = assertion;
        let message = format!("this Entra client cannot trade tokens for app {client_id}");
        async move { Err(Problem::new(crate::ErrorCode::Internal, message)) }
    }
    /// Preflight: who the caller is and what would let it register applications (its
    /// directory roles or app permissions, the tenant's app-creation policy).
    fn app_creation_rights(
        &self,
    ) -> impl Future<Output = PortResult<crate::preflight::AppCreationRights>> + Send {
        async {
            Err(Problem::new(
                crate::ErrorCode::Internal,
                "this Entra client cannot read app-creation rights",
            ))
        }
    }
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
    /// Finds the assignment named `name` (its GUID) at exactly `scope`.
    fn find_role_assignment(
        &self,
        scope: &str,
        name: &str,
    ) -> impl Future<Output = PortResult<Option<RoleAssignment>>> + Send;
    /// Creates the assignment; an existing equal one (`RoleAssignmentExists`) is success.
    fn ensure_role_assignment(
        &self,
        assignment: &RoleAssignment,
    ) -> impl Future<Output = PortResult<Applied<RoleAssignment>>> + Send;
    /// [`AzureRbac::ensure_role_assignment`] for an assignment a lookup has just found
    /// absent (see the module's "creates"); the default is `ensure_role_assignment`.
    fn create_role_assignment(
        &self,
        assignment: &RoleAssignment,
    ) -> impl Future<Output = PortResult<Applied<RoleAssignment>>> + Send {
        self.ensure_role_assignment(assignment)
    }
    /// Deletes the assignment; a missing one is success.
    fn delete_role_assignment(
        &self,
        assignment: &RoleAssignment,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Preflight: the caller's permissions at `scope` (ARM
    /// `{scope}/providers/Microsoft.Authorization/permissions`).
    fn caller_permissions(
        &self,
        scope: &str,
    ) -> impl Future<Output = PortResult<Vec<crate::preflight::RbacPermission>>> + Send {
        let message = format!("this Azure RBAC client cannot read permissions at {scope}");
        async move { Err(Problem::new(crate::ErrorCode::Internal, message)) }
    }
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
    /// Tags (a setup's providers carry `octo-oidc:setup=<id>`).
    pub tags: BTreeMap<String, String>,
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
    /// Tags written when the provider is created (e.g. [`SETUP_TAG`]).
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
    /// Tags written when the role is created (e.g. [`SETUP_TAG`]).
    pub tags: BTreeMap<String, String>,
}

/// An IAM role as it exists, with what drift detection compares.
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
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Attached managed policy ARNs.
    pub managed_policy_arns: Vec<String>,
    /// Inline policies by name (URL-decoded JSON documents).
    pub inline_policies: BTreeMap<String, String>,
}

/// A successful `AssumeRoleWithWebIdentity` (the temporary credentials are dropped: verify
/// only proves that the trust works).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssumedRole {
    /// `arn:aws:sts::<acct>:assumed-role/<role>/<session>`.
    pub assumed_role_arn: String,
    /// The token's `sub` as STS read it.
    pub subject: Option<String>,
    /// The audience STS matched.
    pub audience: Option<String>,
}

/// AWS IAM (OIDC providers and roles) and STS.
pub trait Iam: Send + Sync {
    /// The account id and caller ARN of the credentials in use.
    fn caller_identity(&self) -> impl Future<Output = PortResult<(String, String)>> + Send;
    /// Finds the provider registered for exactly this URL (with its tags).
    fn find_oidc_provider(
        &self,
        url: &str,
    ) -> impl Future<Output = PortResult<Option<OidcProvider>>> + Send;
    /// Creates the provider (tagged), or adds missing client ids to the existing one.
    fn ensure_oidc_provider(
        &self,
        spec: &OidcProviderSpec,
    ) -> impl Future<Output = PortResult<Applied<OidcProvider>>> + Send;
    /// [`Iam::ensure_oidc_provider`] for a provider a lookup has just found absent (see the
    /// module's "creates"); the default is `ensure_oidc_provider`.
    fn create_oidc_provider(
        &self,
        spec: &OidcProviderSpec,
    ) -> impl Future<Output = PortResult<Applied<OidcProvider>>> + Send {
        self.ensure_oidc_provider(spec)
    }
    /// Deletes a provider; a missing one is success.
    fn delete_oidc_provider(&self, arn: &str) -> impl Future<Output = PortResult<()>> + Send;
    /// Finds a role by name, with its tags and policies.
    fn find_role(&self, name: &str) -> impl Future<Output = PortResult<Option<IamRole>>> + Send;
    /// Creates the role (tagged) or brings its trust policy, duration and policies to the spec.
    fn ensure_role(
        &self,
        spec: &RoleSpec,
    ) -> impl Future<Output = PortResult<Applied<IamRole>>> + Send;
    /// [`Iam::ensure_role`] for a role a lookup has just found absent (see the module's
    /// "creates"); the default is `ensure_role`.
    fn create_role(
        &self,
        spec: &RoleSpec,
    ) -> impl Future<Output = PortResult<Applied<IamRole>>> + Send {
        self.ensure_role(spec)
    }
    /// Detaches/deletes the role's policies, then deletes the role; a missing one is success.
    fn delete_role(&self, name: &str) -> impl Future<Output = PortResult<()>> + Send;
    /// The names of every role whose trust policy names the provider `provider_arn` as a
    /// `Federated` principal (teardown deletes a provider only when no role trusts it).
    /// Adapters that cannot list roles keep the default, which says so (teardown then
    /// leaves the provider and says why).
    fn roles_trusting_provider(
        &self,
        provider_arn: &str,
    ) -> impl Future<Output = PortResult<Vec<String>>> + Send {
        let message = format!("this IAM client cannot list the roles that trust {provider_arn}");
        async move { Err(Problem::new(crate::ErrorCode::Internal, message)) }
    }
    /// Trades a web-identity token for a session on `role_arn` (STS). A refused token is
    /// [`crate::ErrorCode::TrustRejected`] or `PermissionDenied` with STS's reason.
    fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        token: &Secret,
        session_name: &str,
    ) -> impl Future<Output = PortResult<AssumedRole>> + Send;
    /// Preflight: `SimulatePrincipalPolicy` for `principal_arn` on each `(action, resource)`.
    fn simulate_principal_policy(
        &self,
        principal_arn: &str,
        requests: &[(String, String)],
    ) -> impl Future<Output = PortResult<Vec<crate::preflight::IamDecision>>> + Send {
        let message = format!("this IAM client cannot simulate the policies of {principal_arn}");
        let _ = requests;
        async move { Err(Problem::new(crate::ErrorCode::Internal, message)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_name_their_setup_and_are_found_in_free_text() {
        assert_eq!(setup_mark("shop-aws-prod"), "octo-oidc:setup=shop-aws-prod");
        assert_eq!(
            marked_setup("Created by octo-oidc:setup=shop-aws-prod; do not edit"),
            Some("shop-aws-prod")
        );
        assert_eq!(marked_setup("octo-oidc:setup="), None);
        assert_eq!(marked_setup("made by hand"), None);
        let spec = ApplicationSpec::named("u", "d").marked("s1");
        assert_eq!(spec.notes.as_deref(), Some("octo-oidc:setup=s1"));
        assert_eq!(spec.tags, ["octo-oidc:setup=s1"]);
    }

    #[test]
    fn applied_keeps_its_outcome_through_map() {
        let applied = Applied::Created(2).map(|v| v * 10);
        assert_eq!(applied, Applied::Created(20));
        assert!(applied.changed());
        assert_eq!(*Applied::Unchanged(3).value(), 3);
        assert!(!Applied::Unchanged(()).changed());
    }
}

// ---- Google Cloud (lane gcp-client) ---------------------------------------------------------

/// A Google Cloud project: its id and its NUMBER (resource names and principals use the number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpProject {
    /// The project id, e.g. `my-project`.
    pub project_id: String,
    /// The project number, e.g. `123456789012`.
    pub project_number: String,
}

/// Whether a workload identity pool or provider is usable or soft-deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum GcpLifecycle {
    /// `ACTIVE`.
    Active,
    /// `DELETED`: kept for 30 days, its id not reusable until undeleted or purged.
    SoftDeleted {
        /// When Google purges it for good (`expireTime`, RFC 3339), if it said.
        expire_time: Option<String>,
    },
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum GcpRemoval {
    /// It did not exist, or was already soft-deleted (nothing was sent).
    AlreadyGone {
        /// Its state when found soft-deleted (`None` = absent).
        lifecycle: Option<GcpLifecycle>,
    },
    /// It was deleted now and is soft-deleted.
    SoftDeleted {
        /// When Google purges it for good, if it said.
        expire_time: Option<String>,
    },
    /// It was deleted now (resources without soft delete, e.g. service accounts).
    Deleted,
}

/// What a workload identity pool must look like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpPoolSpec {
    /// The project NUMBER.
    pub project_number: String,
    /// 4–32 of `[a-z0-9-]`, not `gcp-…`.
    pub pool_id: String,
    /// `displayName` (≤ 32 characters).
    pub display_name: String,
    /// `description` (≤ 256 characters; carries the ownership mark).
    pub description: String,
}

/// A workload identity pool as it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpPool {
    /// `projects/{number}/locations/global/workloadIdentityPools/{pool}`.
    pub name: String,
    /// `displayName`.
    pub display_name: String,
    /// `description`.
    pub description: String,
    /// `disabled`.
    pub disabled: bool,
    /// Active or soft-deleted.
    pub lifecycle: GcpLifecycle,
}

/// What an OIDC workload identity pool provider trusts: the issuer, the audiences, and how
/// a token's claims become (and are admitted as) Google attributes. The same in the spec and
/// in the provider as it exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpOidcTrust {
    /// `oidc.issuerUri`.
    pub issuer_uri: String,
    /// `oidc.allowedAudiences` (empty = the provider's resource name).
    pub allowed_audiences: Vec<String>,
    /// `oidc.jwksJson` (for an issuer Google cannot reach).
    pub jwks_json: Option<String>,
    /// `attributeMapping`.
    pub attribute_mapping: BTreeMap<String, String>,
    /// `attributeCondition`.
    pub attribute_condition: Option<String>,
}

/// What an OIDC workload identity pool provider must look like (the core's
/// [`crate::gcp::GcpTrustSpec`] gives mapping, condition and audiences).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpProviderSpec {
    /// The provider (project number, pool id, provider id).
    pub provider: crate::gcp::ProviderRef,
    /// `displayName` (≤ 32 characters).
    pub display_name: String,
    /// `description` (≤ 256 characters).
    pub description: String,
    /// Issuer, audiences, JWKS, attribute mapping and condition.
    #[serde(flatten)]
    pub trust: GcpOidcTrust,
}

/// An OIDC workload identity pool provider as it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpProvider {
    /// `…/workloadIdentityPools/{pool}/providers/{provider}`.
    pub name: String,
    /// `displayName`.
    pub display_name: String,
    /// `description`.
    pub description: String,
    /// `disabled`.
    pub disabled: bool,
    /// Active or soft-deleted.
    pub lifecycle: GcpLifecycle,
    /// Issuer, audiences, JWKS, attribute mapping and condition.
    #[serde(flatten)]
    pub trust: GcpOidcTrust,
}

/// What a service account must look like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpServiceAccountSpec {
    /// The project id or number.
    pub project: String,
    /// `accountId` (6–30 of `[a-z0-9-]`, the part before `@`).
    pub account_id: String,
    /// `displayName`.
    pub display_name: String,
    /// `description` (carries the ownership mark).
    pub description: String,
}

/// A service account as it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpServiceAccount {
    /// `…@{project}.iam.gserviceaccount.com`.
    pub email: String,
    /// `uniqueId`.
    pub unique_id: String,
    /// `displayName`.
    pub display_name: String,
    /// `description`.
    pub description: String,
}

/// One role binding of an allow policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpBinding {
    /// E.g. `roles/iam.workloadIdentityUser`.
    pub role: String,
    /// Members, e.g. `principal://iam.googleapis.com/projects/…/subject/…`.
    pub members: Vec<String>,
}

/// Where an allow policy lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum GcpPolicyTarget {
    /// A service account, by email.
    ServiceAccount(String),
    /// A project, by id or number.
    Project(String),
}

/// A change to an allow policy: members to add to and to remove from roles. Applied as one
/// etag-safe read-modify-write (a concurrent change makes it read and apply again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpPolicyChange {
    /// Role → members that must be bound.
    pub add: BTreeMap<String, Vec<String>>,
    /// Role → members that must not be bound.
    pub remove: BTreeMap<String, Vec<String>>,
}

/// A service-account access token from `generateAccessToken`.
#[derive(Debug, Clone)]
pub struct GcpAccessToken {
    /// The token (never logged).
    pub token: crate::Secret,
    /// `expireTime` (RFC 3339).
    pub expire_time: String,
}

/// Google Cloud: project lookup, permission preflight, workload identity pools and providers,
/// service accounts, allow policies, and the token exchange that verifies a setup.
pub trait GoogleCloud: Send + Sync {
    /// The project by id or number (`projects.get`).
    fn project(&self, project: &str) -> impl Future<Output = PortResult<GcpProject>> + Send;
    /// Which of `permissions` the caller holds on the project (`testIamPermissions`).
    fn granted_permissions(
        &self,
        project: &str,
        permissions: &[String],
    ) -> impl Future<Output = PortResult<Vec<String>>> + Send;
    /// The pool, active or soft-deleted.
    fn find_pool(
        &self,
        project_number: &str,
        pool_id: &str,
    ) -> impl Future<Output = PortResult<Option<GcpPool>>> + Send;
    /// Creates the pool, undeletes a soft-deleted one, and patches display name / description.
    fn ensure_pool(
        &self,
        spec: &GcpPoolSpec,
    ) -> impl Future<Output = PortResult<Applied<GcpPool>>> + Send;
    /// Deletes the pool (soft delete); a missing or already deleted one is reported as such.
    fn delete_pool(
        &self,
        project_number: &str,
        pool_id: &str,
    ) -> impl Future<Output = PortResult<GcpRemoval>> + Send;
    /// Undeletes a soft-deleted pool; an active one is `Unchanged`.
    fn undelete_pool(
        &self,
        project_number: &str,
        pool_id: &str,
    ) -> impl Future<Output = PortResult<Applied<GcpPool>>> + Send;
    /// The provider, active or soft-deleted.
    fn find_provider(
        &self,
        provider: &crate::gcp::ProviderRef,
    ) -> impl Future<Output = PortResult<Option<GcpProvider>>> + Send;
    /// Creates the provider, undeletes a soft-deleted one, and patches what differs from spec.
    fn ensure_provider(
        &self,
        spec: &GcpProviderSpec,
    ) -> impl Future<Output = PortResult<Applied<GcpProvider>>> + Send;
    /// Deletes the provider (soft delete).
    fn delete_provider(
        &self,
        provider: &crate::gcp::ProviderRef,
    ) -> impl Future<Output = PortResult<GcpRemoval>> + Send;
    /// Undeletes a soft-deleted provider; an active one is `Unchanged`.
    fn undelete_provider(
        &self,
        provider: &crate::gcp::ProviderRef,
    ) -> impl Future<Output = PortResult<Applied<GcpProvider>>> + Send;
    /// The service account by email.
    fn find_service_account(
        &self,
        email: &str,
    ) -> impl Future<Output = PortResult<Option<GcpServiceAccount>>> + Send;
    /// Creates the service account or brings display name / description to the spec.
    fn ensure_service_account(
        &self,
        spec: &GcpServiceAccountSpec,
    ) -> impl Future<Output = PortResult<Applied<GcpServiceAccount>>> + Send;
    /// Deletes the service account; a missing one is `AlreadyGone`.
    fn delete_service_account(
        &self,
        email: &str,
    ) -> impl Future<Output = PortResult<GcpRemoval>> + Send;
    /// The bindings of an allow policy.
    fn policy_bindings(
        &self,
        target: &GcpPolicyTarget,
    ) -> impl Future<Output = PortResult<Vec<GcpBinding>>> + Send;
    /// Applies `change` (etag-safe read-modify-write); `Unchanged` when nothing had to move.
    fn change_policy(
        &self,
        target: &GcpPolicyTarget,
        change: &GcpPolicyChange,
    ) -> impl Future<Output = PortResult<Applied<Vec<GcpBinding>>>> + Send;
    /// STS: trades an Octopus token for a federated access token (`audience` = the provider's
    /// resource name or an allowed audience's provider). Google's refusals are
    /// `trust_rejected` with its OAuth `error` and `error_description` in the message.
    fn exchange_token(
        &self,
        audience: &str,
        subject_token: &crate::Secret,
    ) -> impl Future<Output = PortResult<crate::Secret>> + Send;
    /// `generateAccessToken` for the service account with a federated token.
    fn generate_access_token(
        &self,
        federated_token: &crate::Secret,
        email: &str,
        lifetime_secs: u32,
    ) -> impl Future<Output = PortResult<GcpAccessToken>> + Send;
}
