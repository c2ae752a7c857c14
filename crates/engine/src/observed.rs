//! The observed state: what exists remotely, as the observe step will read it through the
//! core's ports. One plain struct per resource kind, `None`/empty when absent, carrying the
//! tags, notes or descriptions that mark a resource as a setup's ([`crate::ownership`]).
//!
//! Deliberately absent: how it is read ([`crate::observe`], over `octo_oidc_core::ports`);
//! this module only fixes the shape the plan compares against.

use octo_oidc_core::ports::{
    EntraApplication, FederatedCredential, GcpBinding, GcpPool, GcpProvider, GcpServiceAccount,
    IamRole, OctopusAccount, OctopusTeam, OidcIdentity, OidcProvider, RoleAssignment,
    ServicePrincipal,
};
use serde::{Deserialize, Serialize};

/// Everything the plan needs to know about what exists, for one setup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedState {
    /// Octopus accounts found by the desired accounts' exact names.
    #[serde(default)]
    pub octopus_accounts: Vec<OctopusAccount>,
    /// The IAM OIDC provider registered for the issuer's URL, with its tags.
    #[serde(default)]
    pub oidc_provider: Option<OidcProvider>,
    /// The IAM role with the setup's role name (description, tags and attached policies
    /// included: what the plan compares).
    #[serde(default)]
    pub iam_role: Option<IamRole>,
    /// Entra app registrations found by the setup's unique names.
    #[serde(default)]
    pub apps: Vec<ObservedApp>,
    /// Role assignments of the setup's service principals (any scope, any role).
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignment>,
    /// The Octopus service account with the setup's username.
    #[serde(default)]
    pub service_account: Option<ObservedServiceAccount>,
    /// The OIDC identities of that service account.
    #[serde(default)]
    pub oidc_identities: Vec<OidcIdentity>,
    /// The Octopus team named by the setup.
    #[serde(default)]
    pub team: Option<OctopusTeam>,
    /// The Google Cloud side (gcp targets).
    #[serde(default)]
    pub gcp: ObservedGcp,
}

/// The Google Cloud resources of a setup, found by the ids the setup gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedGcp {
    /// The workload identity pool, active or soft-deleted (its description carries the mark).
    #[serde(default)]
    pub pool: Option<GcpPool>,
    /// The pool's provider, active or soft-deleted.
    #[serde(default)]
    pub provider: Option<GcpProvider>,
    /// The service account.
    #[serde(default)]
    pub service_account: Option<GcpServiceAccount>,
    /// The service account's allow-policy bindings.
    #[serde(default)]
    pub service_account_bindings: Vec<GcpBinding>,
    /// The project's allow-policy bindings.
    #[serde(default)]
    pub project_bindings: Vec<GcpBinding>,
}

/// An Entra app registration with its service principal and federated credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedApp {
    /// Object id, client id, display name.
    pub application: EntraApplication,
    /// Its `uniqueName` (what the setup finds it by).
    pub unique_name: String,
    /// Its `tags` (the setup's mark: `octo-oidc:setup:<name>`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its service principal, if one exists.
    #[serde(default)]
    pub service_principal: Option<ServicePrincipal>,
    /// Its federated identity credentials.
    #[serde(default)]
    pub federated_credentials: Vec<FederatedCredential>,
}

/// An Octopus service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedServiceAccount {
    /// `Users-N`.
    pub id: String,
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// The ExternalId GUID (`service_account_id` of `OctopusDeploy/login`).
    #[serde(default)]
    pub external_id: Option<String>,
    /// The setup that created it, from the mark in its display name
    /// ([`crate::ownership::setup_of_display_name`]); `None` = not created by a setup.
    #[serde(default)]
    pub created_by: Option<String>,
}
