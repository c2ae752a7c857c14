//! The sandbox directory's data: tenants, users, applications with their federated and
//! password credentials, service principals, subscriptions, resource groups, role
//! assignments, and the authority's pending grants (auth codes, refresh tokens, device codes).
//!
//! Plain data plus the invariant-keeping mutations the Rust configuration API needs; HTTP
//! validation and wire formats live in the service modules. Everything is serde so the
//! sandbox state file can carry it. Times are Unix milliseconds so they survive a restart.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{EntraAdminError, EntraSeed, NewUser};
use crate::signing::SigningKey;

/// The unique name of the seeded automation administrator app (client-secret sign-in).
pub const ADMIN_APP_UNIQUE_NAME: &str = "octo-oidc-sandbox-admin";
/// The unique name of the seeded read-only automation app (Reader, `Application.Read.All`).
pub const READER_APP_UNIQUE_NAME: &str = "octo-oidc-sandbox-reader";
/// The tenant every seed has.
pub const DEFAULT_TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// A second tenant in the demo seed, where the admin is a guest.
pub const SECOND_TENANT_ID: &str = "5c9f3a1e-0b7d-4c2a-9e4f-8d6b2a1c3e5f";
/// The demo seed's first subscription.
pub const DEFAULT_SUBSCRIPTION_ID: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
/// The demo seed's second subscription.
pub const SECOND_SUBSCRIPTION_ID: &str = "3a4e8c2d-7f10-4b65-9c8e-1d2f3a4b5c6d";
/// The demo admin (Global Administrator, Owner on the demo subscriptions).
pub const DEFAULT_USER: &str = "admin@contoso.onmicrosoft.com";
/// A demo user with no directory role and no Azure role.
pub const LIMITED_USER: &str = "dev@contoso.onmicrosoft.com";
/// Password of the demo users.
pub const DEFAULT_PASSWORD: &str = "Sandbox-Passw0rd!";
/// The wizard's public client id in the sandbox.
pub const WIZARD_CLIENT_ID: &str = "5d3e6b8a-9c1f-4e2d-8a7b-0c6f1e2d3a4b";
/// Azure CLI's first-party public client id.
pub const AZURE_CLI_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// Built-in Azure roles: (name, role definition GUID, description).
pub const BUILT_IN_ROLES: &[(&str, &str, &str)] = &[
    (
        "Owner",
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
    ),
    (
        "Contributor",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
    ),
    (
        "Reader",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "View all resources, but does not allow you to make any changes.",
    ),
    (
        "User Access Administrator",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "Lets you manage user access to Azure resources.",
    ),
    (
        "Role Based Access Control Administrator",
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        "Manage access to Azure resources by assigning roles using Azure RBAC.",
    ),
    (
        "Website Contributor",
        "de139f84-1756-47ae-9be6-808fbbe84772",
        "Lets you manage websites (not web plans), but not access to them.",
    ),
    (
        "Web Plan Contributor",
        "2cc479cb-7b4d-49a8-b449-8c00fd0f0a4b",
        "Manage the web plans for websites. Does not allow you to assign roles in Azure RBAC.",
    ),
];

/// The seeded custom roles (ARM `type` `CustomRole`): (name, role definition GUID,
/// description). Assignable in the seeded subscriptions, like a custom role whose
/// `assignableScopes` name them.
pub const CUSTOM_ROLES: &[(&str, &str, &str)] = &[
    (
        "Octopus Web App Deployer",
        "7b3f2c1a-4d5e-4f60-9a8b-1c2d3e4f5a6b",
        "Deploys web apps and their ARM deployments from Octopus; cannot assign roles.",
    ),
    (
        "Storage Blob Uploader",
        "c5a1e2d3-6b7f-4a80-9c1d-2e3f4a5b6c7d",
        "Reads storage accounts and manages blob containers (for package uploads).",
    ),
];

/// The `type` of a role definition ARM reports.
pub fn role_type(guid: &str) -> &'static str {
    if CUSTOM_ROLES
        .iter()
        .any(|(_, g, _)| g.eq_ignore_ascii_case(guid))
    {
        "CustomRole"
    } else {
        "BuiltInRole"
    }
}

/// Every role definition the sandbox's ARM knows: the built-in roles, then the custom ones.
pub fn role_definitions()
-> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    BUILT_IN_ROLES.iter().chain(CUSTOM_ROLES.iter())
}

/// The `permissions` of a role by its GUID (actions, not-actions): the built-in ones as
/// Azure's built-in roles reference lists them, the custom ones as seeded.
pub fn role_permissions(guid: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    match guid {
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635" => (vec!["*"], vec![]),
        "b24988ac-6180-42a0-ab88-20f7382dd24c" => (
            vec!["*"],
            vec![
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
                "Microsoft.Blueprint/blueprintAssignments/write",
                "Microsoft.Blueprint/blueprintAssignments/delete",
                "Microsoft.Compute/galleries/share/action",
                "Microsoft.Purview/consents/write",
                "Microsoft.Purview/consents/delete",
                "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
                "Microsoft.Subscription/cancel/action",
                "Microsoft.Subscription/enable/action",
            ],
        ),
        "acdd72a7-3385-48ef-bd42-f606fba81ae7" => (vec!["*/read"], vec![]),
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9" => (
            vec!["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
            vec![],
        ),
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168" => (
            vec![
                "Microsoft.Authorization/roleAssignments/write",
                "Microsoft.Authorization/roleAssignments/delete",
                "*/read",
                "Microsoft.Support/*",
            ],
            vec![],
        ),
        "de139f84-1756-47ae-9be6-808fbbe84772" => (
            vec![
                "Microsoft.Authorization/*/read",
                "Microsoft.Web/sites/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
            ],
            vec![],
        ),
        "2cc479cb-7b4d-49a8-b449-8c00fd0f0a4b" => (
            vec![
                "Microsoft.Authorization/*/read",
                "Microsoft.Web/serverFarms/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
            ],
            vec![],
        ),
        "7b3f2c1a-4d5e-4f60-9a8b-1c2d3e4f5a6b" => (
            vec![
                "Microsoft.Web/sites/*",
                "Microsoft.Web/serverFarms/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
            ],
            vec![],
        ),
        "c5a1e2d3-6b7f-4a80-9c1d-2e3f4a5b6c7d" => (
            vec![
                "Microsoft.Storage/storageAccounts/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/*",
            ],
            vec![],
        ),
        _ => (vec![], vec![]),
    }
}

/// Roles whose holders may write role assignments.
pub const RBAC_WRITER_ROLES: &[&str] = &[
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
];

/// Directory role display name → role template id.
pub fn directory_role_template(name: &str) -> Option<&'static str> {
    Some(match name {
        "Global Administrator" => "62e90394-69f5-4237-9190-012177145e10",
        "Application Administrator" => "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Cloud Application Administrator" => "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Application Developer" => "cf1c38e5-3621-4004-a7cb-879624dced7c",
        "Directory Readers" => "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
        _ => return None,
    })
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A random opaque token (auth codes, refresh tokens, secrets).
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A new random GUID.
pub fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub display_name: String,
    pub default_domain: String,
    pub users_can_register_apps: bool,
    /// Object id → application.
    pub applications: BTreeMap<String, Application>,
    /// Object id → service principal.
    pub service_principals: BTreeMap<String, ServicePrincipal>,
    /// Lower-case subscription id → subscription.
    pub subscriptions: BTreeMap<String, Subscription>,
    /// Lower-case assignment name (GUID) → assignment.
    pub role_assignments: BTreeMap<String, RoleAssignment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub password: String,
    pub tenant_ids: Vec<String>,
    pub directory_roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub unique_name: Option<String>,
    pub description: Option<String>,
    /// Free-text notes (`notes`).
    #[serde(default)]
    pub notes: Option<String>,
    /// String tags (`tags`).
    #[serde(default)]
    pub tags: Vec<String>,
    pub sign_in_audience: String,
    pub created_ms: u64,
    /// Object ids of owners (users or service principals).
    pub owners: Vec<String>,
    pub federated_credentials: Vec<FederatedCredential>,
    pub password_credentials: Vec<PasswordCredential>,
    /// Graph application permissions granted (admin-consented).
    pub graph_app_roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FederatedCredential {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    pub secret: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub created_ms: u64,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub subscription_id: String,
    pub display_name: String,
    /// Lower-case name → resource group.
    pub resource_groups: BTreeMap<String, ResourceGroup>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourceGroup {
    pub name: String,
    pub location: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub name: String,
    pub scope: String,
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: String,
    pub created_ms: u64,
    pub created_by: Option<String>,
}

impl RoleAssignment {
    /// The role definition GUID at the end of `role_definition_id`.
    pub fn role_guid(&self) -> &str {
        self.role_definition_id
            .rsplit('/')
            .next()
            .unwrap_or(&self.role_definition_id)
    }
}

/// A pending authorization code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub user_id: String,
    pub tenant_id: String,
    pub scope: String,
    pub expires_ms: u64,
    pub redeemed: bool,
    /// The PKCE verifier the code was redeemed with (kept so tests can prove it never
    /// reaches a log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
}

/// What a refresh token stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub expires_ms: u64,
}

/// A pending device code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceCode {
    pub user_code: String,
    pub client_id: String,
    pub tenant: String,
    pub scope: String,
    pub expires_ms: u64,
    pub approved_user: Option<String>,
}

/// The whole sandbox directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DirectoryState {
    pub tenants: BTreeMap<String, Tenant>,
    /// Object id → user (users may belong to several tenants).
    pub users: BTreeMap<String, User>,
    /// Public client id → registered redirect URIs.
    pub public_clients: BTreeMap<String, Vec<String>>,
    pub auth_codes: BTreeMap<String, AuthCode>,
    pub refresh_tokens: BTreeMap<String, RefreshGrant>,
    /// Device code → pending approval.
    pub device_codes: BTreeMap<String, DeviceCode>,
    pub signing_key: SigningKey,
}

impl DirectoryState {
    pub fn seeded(seed: EntraSeed, signing_key: SigningKey) -> DirectoryState {
        let mut state = DirectoryState {
            tenants: BTreeMap::new(),
            users: BTreeMap::new(),
            public_clients: BTreeMap::new(),
            auth_codes: BTreeMap::new(),
            refresh_tokens: BTreeMap::new(),
            device_codes: BTreeMap::new(),
            signing_key,
        };
        state.add_tenant(DEFAULT_TENANT_ID, "Contoso", "contoso.onmicrosoft.com");
        for client in [WIZARD_CLIENT_ID, AZURE_CLI_CLIENT_ID] {
            state
                .public_clients
                .insert(client.to_owned(), vec!["http://localhost".to_owned()]);
        }
        if seed == EntraSeed::Demo {
            state.seed_demo();
        }
        state
    }

    fn seed_demo(&mut self) {
        self.add_tenant(SECOND_TENANT_ID, "Fabrikam", "fabrikam.onmicrosoft.com");
        let admin = self
            .add_user(NewUser {
                user_principal_name: DEFAULT_USER.to_owned(),
                display_name: "Sandbox Admin".to_owned(),
                password: DEFAULT_PASSWORD.to_owned(),
                tenant_ids: vec![DEFAULT_TENANT_ID.to_owned(), SECOND_TENANT_ID.to_owned()],
                directory_roles: vec!["Global Administrator".to_owned()],
            })
            .unwrap_or_default();
        let _ = self.add_user(NewUser {
            user_principal_name: LIMITED_USER.to_owned(),
            display_name: "Sandbox Developer".to_owned(),
            password: DEFAULT_PASSWORD.to_owned(),
            tenant_ids: vec![DEFAULT_TENANT_ID.to_owned()],
            directory_roles: Vec::new(),
        });
        let subscriptions = [
            (
                DEFAULT_TENANT_ID,
                DEFAULT_SUBSCRIPTION_ID,
                "Contoso Production",
                &[
                    "rg-web-prod",
                    "rg-data-prod",
                    "rg-shared",
                    "NetworkWatcherRG",
                ][..],
            ),
            (
                DEFAULT_TENANT_ID,
                SECOND_SUBSCRIPTION_ID,
                "Contoso Dev/Test",
                &["rg-web-dev", "rg-web-test", "rg-sandbox"][..],
            ),
            (
                SECOND_TENANT_ID,
                "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a",
                "Fabrikam Pay-As-You-Go",
                &["rg-fabrikam"][..],
            ),
        ];
        for (tenant, sub, name, groups) in subscriptions {
            let _ = self.add_subscription(tenant, sub, name);
            for group in groups {
                let _ = self.add_resource_group(sub, group, "westeurope");
            }
            let _ = self.grant_arm_role(&format!("/subscriptions/{sub}"), "Owner", &admin);
        }
    }

    pub fn add_tenant(&mut self, id: &str, display_name: &str, default_domain: &str) {
        self.tenants.entry(id.to_owned()).or_insert_with(|| Tenant {
            id: id.to_owned(),
            display_name: display_name.to_owned(),
            default_domain: default_domain.to_owned(),
            users_can_register_apps: true,
            applications: BTreeMap::new(),
            service_principals: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            role_assignments: BTreeMap::new(),
        });
    }

    /// Resolves a tenant path segment: a tenant id or a verified domain (not
    /// `organizations`/`common`, which callers handle).
    pub fn resolve_tenant(&self, segment: &str) -> Option<&Tenant> {
        self.tenants.get(&segment.to_ascii_lowercase()).or_else(|| {
            self.tenants
                .values()
                .find(|t| t.default_domain.eq_ignore_ascii_case(segment))
        })
    }

    pub fn add_user(&mut self, user: NewUser) -> Result<String, EntraAdminError> {
        if user.tenant_ids.is_empty() {
            return Err(EntraAdminError::Invalid("a user needs a tenant".into()));
        }
        for tenant in &user.tenant_ids {
            if !self.tenants.contains_key(tenant) {
                return Err(EntraAdminError::NotFound(format!("tenant {tenant}")));
            }
        }
        if self.user_by_upn(&user.user_principal_name).is_some() {
            return Err(EntraAdminError::Invalid(format!(
                "user {} exists",
                user.user_principal_name
            )));
        }
        let id = new_guid();
        self.users.insert(
            id.clone(),
            User {
                id: id.clone(),
                user_principal_name: user.user_principal_name,
                display_name: user.display_name,
                password: user.password,
                tenant_ids: user.tenant_ids,
                directory_roles: user.directory_roles,
            },
        );
        Ok(id)
    }

    pub fn user_by_upn(&self, upn: &str) -> Option<&User> {
        self.users
            .values()
            .find(|u| u.user_principal_name.eq_ignore_ascii_case(upn))
    }

    pub fn user_by_upn_mut(&mut self, upn: &str) -> Option<&mut User> {
        self.users
            .values_mut()
            .find(|u| u.user_principal_name.eq_ignore_ascii_case(upn))
    }

    pub fn add_subscription(
        &mut self,
        tenant_id: &str,
        subscription_id: &str,
        display_name: &str,
    ) -> Result<(), EntraAdminError> {
        let tenant = self
            .tenants
            .get_mut(tenant_id)
            .ok_or_else(|| EntraAdminError::NotFound(format!("tenant {tenant_id}")))?;
        tenant
            .subscriptions
            .entry(subscription_id.to_ascii_lowercase())
            .or_insert_with(|| Subscription {
                subscription_id: subscription_id.to_ascii_lowercase(),
                display_name: display_name.to_owned(),
                resource_groups: BTreeMap::new(),
            });
        Ok(())
    }

    pub fn tenant_of_subscription(&self, subscription_id: &str) -> Option<&Tenant> {
        let key = subscription_id.to_ascii_lowercase();
        self.tenants
            .values()
            .find(|t| t.subscriptions.contains_key(&key))
    }

    pub fn add_resource_group(
        &mut self,
        subscription_id: &str,
        name: &str,
        location: &str,
    ) -> Result<(), EntraAdminError> {
        let key = subscription_id.to_ascii_lowercase();
        let sub = self
            .tenants
            .values_mut()
            .find_map(|t| t.subscriptions.get_mut(&key))
            .ok_or_else(|| EntraAdminError::NotFound(format!("subscription {subscription_id}")))?;
        sub.resource_groups
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| ResourceGroup {
                name: name.to_owned(),
                location: location.to_owned(),
            });
        Ok(())
    }

    pub fn grant_arm_role(
        &mut self,
        scope: &str,
        role_name: &str,
        principal_id: &str,
    ) -> Result<(), EntraAdminError> {
        let (_, guid, _) = role_definitions()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(role_name))
            .ok_or_else(|| EntraAdminError::NotFound(format!("role {role_name}")))?;
        let subscription = scope
            .trim_start_matches('/')
            .split('/')
            .nth(1)
            .ok_or_else(|| EntraAdminError::Invalid(format!("scope {scope}")))?
            .to_owned();
        let principal_type = if self.users.contains_key(principal_id) {
            "User"
        } else {
            "ServicePrincipal"
        };
        let tenant = self
            .tenants
            .values_mut()
            .find(|t| {
                t.subscriptions
                    .contains_key(&subscription.to_ascii_lowercase())
            })
            .ok_or_else(|| EntraAdminError::NotFound(format!("subscription {subscription}")))?;
        let name = new_guid();
        tenant.role_assignments.insert(
            name.clone(),
            RoleAssignment {
                name,
                scope: scope.to_owned(),
                role_definition_id: format!(
                    "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
                ),
                principal_id: principal_id.to_owned(),
                principal_type: principal_type.to_owned(),
                created_ms: 0,
                created_by: None,
            },
        );
        Ok(())
    }

    /// The seeded automation administrator of `tenant_id`: an app (unique name
    /// [`ADMIN_APP_UNIQUE_NAME`]) with a service principal, `Application.ReadWrite.All` and
    /// Owner on every subscription of the tenant, created when missing. Returns its client
    /// id and a fresh client secret.
    pub fn ensure_administrator_app(
        &mut self,
        tenant_id: &str,
    ) -> Result<(String, String), EntraAdminError> {
        self.ensure_automation_app(
            tenant_id,
            ADMIN_APP_UNIQUE_NAME,
            "octo-oidc sandbox administrator",
            "Application.ReadWrite.All",
            "Owner",
        )
    }

    /// The seeded read-only automation identity of `tenant_id` (unique name
    /// [`READER_APP_UNIQUE_NAME`]): `Application.Read.All` and Reader on every subscription,
    /// so it can observe but neither register apps nor assign roles (a preflight denial).
    pub fn ensure_reader_app(
        &mut self,
        tenant_id: &str,
    ) -> Result<(String, String), EntraAdminError> {
        self.ensure_automation_app(
            tenant_id,
            READER_APP_UNIQUE_NAME,
            "octo-oidc sandbox reader",
            "Application.Read.All",
            "Reader",
        )
    }

    fn ensure_automation_app(
        &mut self,
        tenant_id: &str,
        unique_name: &str,
        display_name: &str,
        graph_role: &str,
        arm_role: &str,
    ) -> Result<(String, String), EntraAdminError> {
        let tenant = self
            .tenants
            .get_mut(tenant_id)
            .ok_or_else(|| EntraAdminError::NotFound(format!("tenant {tenant_id}")))?;
        let existing = tenant
            .applications
            .values()
            .find(|a| a.unique_name.as_deref() == Some(unique_name))
            .map(|a| a.app_id.clone());
        let app_id = match existing {
            Some(app_id) => app_id,
            None => {
                let (id, app_id, sp_id) = (new_guid(), new_guid(), new_guid());
                tenant.applications.insert(
                    id.clone(),
                    Application {
                        id,
                        app_id: app_id.clone(),
                        display_name: display_name.to_owned(),
                        unique_name: Some(unique_name.to_owned()),
                        description: None,
                        notes: None,
                        tags: Vec::new(),
                        sign_in_audience: "AzureADMyOrg".to_owned(),
                        created_ms: 0,
                        owners: Vec::new(),
                        federated_credentials: Vec::new(),
                        password_credentials: Vec::new(),
                        graph_app_roles: vec![graph_role.to_owned()],
                    },
                );
                tenant.service_principals.insert(
                    sp_id.clone(),
                    ServicePrincipal {
                        id: sp_id.clone(),
                        app_id: app_id.clone(),
                        display_name: display_name.to_owned(),
                        created_ms: 0,
                        tags: Vec::new(),
                    },
                );
                let subscriptions: Vec<String> = tenant.subscriptions.keys().cloned().collect();
                for sub in subscriptions {
                    self.grant_arm_role(&format!("/subscriptions/{sub}"), arm_role, &sp_id)?;
                }
                app_id
            }
        };
        let secret = self.add_client_secret(tenant_id, &app_id)?;
        Ok((app_id, secret))
    }

    pub fn add_client_secret(
        &mut self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<String, EntraAdminError> {
        let app = self
            .tenants
            .get_mut(tenant_id)
            .and_then(|t| t.applications.values_mut().find(|a| a.app_id == app_id))
            .ok_or_else(|| EntraAdminError::NotFound(format!("app {app_id}")))?;
        Ok(add_password(app, None).secret)
    }
}

/// Adds a password credential to an app; returns it (with the secret text).
pub fn add_password(app: &mut Application, display_name: Option<String>) -> PasswordCredential {
    let prefix = random_token(3).replace(['-', '_'], "Q");
    let credential = PasswordCredential {
        key_id: new_guid(),
        display_name,
        secret: format!("{prefix}8Q~{}", random_token(34)),
        start_ms: now_ms(),
        end_ms: now_ms() + 180 * 24 * 3600 * 1000,
    };
    app.password_credentials.push(credential.clone());
    credential
}

/// Whether `scope` equals `ancestor` or lies below it (ARM scopes, case-insensitive).
pub fn scope_within(scope: &str, ancestor: &str) -> bool {
    let scope = scope.trim_end_matches('/').to_ascii_lowercase();
    let ancestor = ancestor.trim_end_matches('/').to_ascii_lowercase();
    ancestor.is_empty()
        || scope == ancestor
        || (scope.starts_with(&ancestor) && scope[ancestor.len()..].starts_with('/'))
}
