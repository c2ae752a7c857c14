//! [`ArmRbac`]: Azure Resource Manager listing (tenants, subscriptions, resource groups,
//! role definitions) and role assignments, implementing [`AzureRbac`].
//!
//! Role assignments are named by the core's deterministic GUID (UUIDv5 of scope + role +
//! principal), always sent with `principalType: ServicePrincipal` (so a brand-new SP does not
//! hit the replication check), looked up before writing (a rerun sends nothing), and a 409
//! `RoleAssignmentExists` (the same grant under another name) is success once a list
//! confirms it. `find_role_assignment` reads one assignment by scope and name (404 → `None`). `PrincipalNotFound` is waited out by the transport's propagation policy.
//!
//! `caller_permissions` reads ARM's permission list at a scope for the preflight.
//!
//! Left out: management-group scopes in listings, deny assignments.

use octo_oidc_core::ports::{Applied, AzureRbac, PortResult, RoleAssignment};
use octo_oidc_core::{ErrorCode, Problem};
use octo_oidc_http::{ClientFailure, JsonReply, json_string, json_strings};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::{AzureSession, Resource};
use crate::error::{AzureError, Service};
use crate::transport::{Propagation, bearer_request, classify};

const TENANTS_API: &str = "2022-12-01";
const RESOURCE_GROUPS_API: &str = "2021-04-01";
const AUTHORIZATION_API: &str = "2022-04-01";

/// An Entra tenant the signed-in user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureTenant {
    /// Tenant (directory) id.
    pub tenant_id: String,
    /// Display name.
    pub display_name: String,
    /// Default domain.
    pub default_domain: String,
}

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Subscription id (GUID).
    pub subscription_id: String,
    /// Display name.
    pub display_name: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// `Enabled`, `Disabled`, …
    pub state: String,
}

/// A resource group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceGroup {
    /// Full id, `/subscriptions/{sub}/resourceGroups/{name}`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Location.
    pub location: String,
}

/// A role definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDefinition {
    /// Full id (`…/providers/Microsoft.Authorization/roleDefinitions/{guid}`).
    pub id: String,
    /// The role's GUID.
    pub name: String,
    /// E.g. `Contributor`.
    pub role_name: String,
    /// `BuiltInRole` or `CustomRole`.
    pub role_type: String,
    /// What the role allows, in Azure's words.
    pub description: String,
}

fn definition_from(d: &Value) -> RoleDefinition {
    let property = |name: &str| {
        d["properties"][name]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    RoleDefinition {
        id: json_string(d, "id"),
        name: json_string(d, "name"),
        role_name: property("roleName"),
        role_type: property("type"),
        description: property("description"),
    }
}

/// ARM for one tenant (each tenant needs its own token).
#[derive(Debug, Clone)]
pub struct ArmRbac {
    session: AzureSession,
    arm_url: String,
    tenant: Option<String>,
}

/// `{scope}/providers/Microsoft.Authorization/{resource}` with the API version and, if given,
/// an OData `$filter` (encoded here).
fn authorization_path(scope: &str, resource: &str, filter: Option<&str>) -> String {
    let filter = filter
        .map(|f| {
            let encoded: String = url::form_urlencoded::byte_serialize(f.as_bytes()).collect();
            format!("$filter={encoded}&")
        })
        .unwrap_or_default();
    format!(
        "{}/providers/Microsoft.Authorization/{resource}?{filter}api-version={AUTHORIZATION_API}",
        scope.trim_end_matches('/')
    )
}

impl ArmRbac {
    /// ARM at `arm_url` (e.g. `https://management.azure.com`) in the session's home tenant.
    pub fn new(session: AzureSession, arm_url: &str) -> ArmRbac {
        ArmRbac {
            session,
            arm_url: arm_url.trim_end_matches('/').to_owned(),
            tenant: None,
        }
    }

    /// Works in `tenant_id` (the tenant of the subscriptions to touch).
    pub fn in_tenant(mut self, tenant_id: &str) -> ArmRbac {
        self.tenant = Some(tenant_id.to_owned());
        self
    }

    /// The same client reporting retries to `progress` (cheap; tokens are shared), so a
    /// connected client reports its retries on the channel of a later step.
    pub fn reporting_to(
        &self,
        progress: std::sync::Arc<dyn octo_oidc_core::events::ProgressSink>,
    ) -> ArmRbac {
        ArmRbac {
            session: self.session.reporting_to(progress),
            ..self.clone()
        }
    }

    /// The same client whose calls end (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(&self, cancel: octo_oidc_core::retry::CancelToken) -> ArmRbac {
        ArmRbac {
            session: self.session.cancelled_by(cancel),
            ..self.clone()
        }
    }

    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        operation: &str,
        propagation: Propagation,
    ) -> Result<JsonReply, AzureError> {
        let token = self
            .session
            .access_token(Resource::Arm, self.tenant.as_deref())
            .await?;
        let url = if path_and_query.starts_with("http") {
            path_and_query.to_owned()
        } else {
            format!("{}{path_and_query}", self.arm_url)
        };
        self.session
            .transport()
            .execute(
                Service::Arm,
                operation,
                |e| classify(e, propagation),
                |http| bearer_request(http, &method, &url, &token, body),
            )
            .await
    }

    /// Follows `nextLink` until the last page: only on ARM's own origin (the bearer token
    /// never goes elsewhere) and at most [`octo_oidc_http::DEFAULT_MAX_PAGES`] pages.
    async fn list(&self, path_and_query: &str, operation: &str) -> Result<Vec<Value>, AzureError> {
        let refused = |message: String| {
            AzureError::Client(ClientFailure::Unexpected {
                service: Service::Arm,
                operation: operation.to_owned(),
                message,
            })
        };
        let api = url::Url::parse(&self.arm_url)
            .map_err(|e| refused(format!("the ARM URL is not a URL: {e}")))?;
        let links = octo_oidc_http::NextLinks::new(&api, octo_oidc_http::DEFAULT_MAX_PAGES);
        let fetch = |page: String| async move {
            self.call(Method::GET, &page, None, operation, Propagation::None)
                .await
                .map(|reply| reply.body)
        };
        let first = path_and_query.to_owned();
        links
            .read_all(first, "nextLink", fetch, |e| refused(e.to_string()))
            .await
    }

    /// [`Self::list`], each item read by `read`.
    async fn list_as<T>(
        &self,
        path_and_query: &str,
        operation: &str,
        read: impl Fn(&Value) -> T,
    ) -> Result<Vec<T>, AzureError> {
        let items = self.list(path_and_query, operation).await?;
        Ok(items.iter().map(read).collect())
    }

    /// Tenants the signed-in identity belongs to.
    pub async fn list_tenants(&self) -> Result<Vec<AzureTenant>, Problem> {
        let path = format!("/tenants?api-version={TENANTS_API}");
        let tenants = self.list_as(&path, "GET tenants", |t| AzureTenant {
            tenant_id: json_string(t, "tenantId"),
            display_name: json_string(t, "displayName"),
            default_domain: json_string(t, "defaultDomain"),
        });
        Ok(tenants.await?)
    }

    /// Subscriptions visible in this tenant.
    pub async fn list_subscriptions(&self) -> Result<Vec<Subscription>, Problem> {
        let path = format!("/subscriptions?api-version={TENANTS_API}");
        let subscriptions = self.list_as(&path, "GET subscriptions", |s| Subscription {
            subscription_id: json_string(s, "subscriptionId"),
            display_name: json_string(s, "displayName"),
            tenant_id: json_string(s, "tenantId"),
            state: json_string(s, "state"),
        });
        Ok(subscriptions.await?)
    }

    /// All resource groups of a subscription (every page).
    pub async fn list_resource_groups(
        &self,
        subscription_id: &str,
    ) -> Result<Vec<ResourceGroup>, Problem> {
        let path = format!(
            "/subscriptions/{subscription_id}/resourcegroups?api-version={RESOURCE_GROUPS_API}"
        );
        let groups = self.list_as(&path, "GET resourceGroups", |g| ResourceGroup {
            id: json_string(g, "id"),
            name: json_string(g, "name"),
            location: json_string(g, "location"),
        });
        Ok(groups.await?)
    }

    /// The role definition named `role_name` (e.g. `Contributor`) at `scope`.
    pub async fn role_definition_by_name(
        &self,
        scope: &str,
        role_name: &str,
    ) -> Result<RoleDefinition, Problem> {
        let filter = format!("roleName eq '{}'", role_name.replace('\'', "''"));
        let path = authorization_path(scope, "roleDefinitions", Some(&filter));
        let mut found = self
            .list_as(&path, "GET roleDefinitions", definition_from)
            .await?;
        found.retain(|d| d.role_name.eq_ignore_ascii_case(role_name));
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Problem::new(
                ErrorCode::NotFound,
                format!("no role named '{role_name}' is defined at {scope}"),
            )
            .with_hint("Check the role's name (e.g. Contributor, Reader, Website Contributor).")),
            _ => Err(Problem::new(
                ErrorCode::Conflict,
                format!("several roles are named '{role_name}' at {scope}"),
            )
            .with_hint("Give the role definition id instead of its name.")),
        }
    }

    /// Every role definition assignable at `scope` (built-in and custom; every page), sorted
    /// by name, for the wizard's role picker.
    pub async fn list_role_definitions(&self, scope: &str) -> Result<Vec<RoleDefinition>, Problem> {
        let path = authorization_path(scope, "roleDefinitions", None);
        let mut roles = self
            .list_as(&path, "GET roleDefinitions", definition_from)
            .await?;
        roles.sort_by_key(|r| r.role_name.to_lowercase());
        Ok(roles)
    }

    /// Role assignments at, above or below `scope` for one principal.
    pub async fn list_role_assignments(
        &self,
        scope: &str,
        principal_id: &str,
    ) -> Result<Vec<RoleAssignment>, Problem> {
        let filter = format!("principalId eq '{principal_id}'");
        let path = authorization_path(scope, "roleAssignments", Some(&filter));
        Ok(self
            .list_as(&path, "GET roleAssignments", assignment_from)
            .await?)
    }

    fn assignment_path(scope: &str, name: &str) -> String {
        authorization_path(scope, &format!("roleAssignments/{name}"), None)
    }
}

fn assignment_from(value: &Value) -> RoleAssignment {
    let properties = &value["properties"];
    RoleAssignment {
        scope: json_string(properties, "scope"),
        role_definition_id: json_string(properties, "roleDefinitionId"),
        principal_id: json_string(properties, "principalId"),
        name: json_string(value, "name"),
    }
}

fn role_guid(role_definition_id: &str) -> String {
    role_definition_id
        .rsplit('/')
        .next()
        .unwrap_or(role_definition_id)
        .to_ascii_lowercase()
}

fn same_grant(a: &RoleAssignment, b: &RoleAssignment) -> bool {
    a.scope
        .trim_end_matches('/')
        .eq_ignore_ascii_case(b.scope.trim_end_matches('/'))
        && role_guid(&a.role_definition_id) == role_guid(&b.role_definition_id)
        && a.principal_id.eq_ignore_ascii_case(&b.principal_id)
}

impl AzureRbac for ArmRbac {
    /// `GET {scope}/providers/Microsoft.Authorization/permissions`: the caller's effective
    /// actions and not-actions at the scope (every page).
    async fn caller_permissions(
        &self,
        scope: &str,
    ) -> PortResult<Vec<octo_oidc_core::preflight::RbacPermission>> {
        let path = authorization_path(scope, "permissions", None);
        let items = self.list(&path, "GET permissions").await?;
        Ok(items
            .iter()
            .map(|p| octo_oidc_core::preflight::RbacPermission {
                actions: json_strings(p, "actions"),
                not_actions: json_strings(p, "notActions"),
            })
            .collect())
    }

    async fn role_definition_id(&self, scope: &str, role_name: &str) -> PortResult<String> {
        Ok(self.role_definition_by_name(scope, role_name).await?.id)
    }

    async fn find_role_assignment(
        &self,
        scope: &str,
        name: &str,
    ) -> PortResult<Option<RoleAssignment>> {
        let path = Self::assignment_path(scope, name);
        match self
            .call(
                Method::GET,
                &path,
                None,
                "GET roleAssignments",
                Propagation::None,
            )
            .await
        {
            Ok(reply) => Ok(Some(assignment_from(&reply.body))),
            Err(AzureError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn ensure_role_assignment(
        &self,
        assignment: &RoleAssignment,
    ) -> PortResult<Applied<RoleAssignment>> {
        let named = self
            .find_role_assignment(&assignment.scope, &assignment.name)
            .await?;
        if let Some(existing) = named {
            if same_grant(&existing, assignment) {
                return Ok(Applied::Unchanged(assignment.clone()));
            }
            return Err(Problem::new(
                ErrorCode::Conflict,
                format!(
                    "the role assignment '{}' exists for another principal or role ({} / {})",
                    assignment.name, existing.principal_id, existing.role_definition_id
                ),
            )
            .with_hint("Delete that assignment (e.g. left over from a deleted service principal) and run again."));
        }
        let put = self.put_assignment(assignment).await;
        self.created(assignment, put).await
    }

    async fn create_role_assignment(
        &self,
        assignment: &RoleAssignment,
    ) -> PortResult<Applied<RoleAssignment>> {
        match self.put_assignment(assignment).await {
            // Its name is taken by another grant (e.g. a deleted principal's): the reading
            // ensure says whose.
            Err(AzureError::Api {
                status: 409, code, ..
            }) if code != "RoleAssignmentExists" => self.ensure_role_assignment(assignment).await,
            put => self.created(assignment, put).await,
        }
    }

    async fn delete_role_assignment(&self, assignment: &RoleAssignment) -> PortResult<()> {
        match self
            .call(
                Method::DELETE,
                &Self::assignment_path(&assignment.scope, &assignment.name),
                None,
                "DELETE roleAssignments",
                Propagation::None,
            )
            .await
        {
            Ok(_) | Err(AzureError::Api { status: 404, .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl ArmRbac {
    /// `PUT` the assignment (retrying while the principal is not yet visible to ARM).
    async fn put_assignment(&self, assignment: &RoleAssignment) -> Result<JsonReply, AzureError> {
        let body = json!({
            "properties": {
                "roleDefinitionId": assignment.role_definition_id,
                "principalId": assignment.principal_id,
                "principalType": "ServicePrincipal",
            }
        });
        self.call(
            Method::PUT,
            &Self::assignment_path(&assignment.scope, &assignment.name),
            Some(&body),
            "PUT roleAssignments",
            Propagation::ArmPrincipal,
        )
        .await
    }

    /// What a `PUT` of `assignment` did: created, or (`RoleAssignmentExists`: the same grant
    /// under another name) the existing grant, found by listing.
    async fn created(
        &self,
        assignment: &RoleAssignment,
        put: Result<JsonReply, AzureError>,
    ) -> PortResult<Applied<RoleAssignment>> {
        match put {
            Ok(_) => Ok(Applied::Created(assignment.clone())),
            Err(AzureError::Api { code, .. }) if code == "RoleAssignmentExists" => {
                let existing = self
                    .list_role_assignments(&assignment.scope, &assignment.principal_id)
                    .await?;
                match existing.into_iter().find(|e| same_grant(e, assignment)) {
                    Some(found) => Ok(Applied::Unchanged(found)),
                    None => Err(Problem::new(
                        ErrorCode::Conflict,
                        "ARM says the role assignment exists, but no matching assignment is listed",
                    )
                    .with_hint("Wait a minute (ARM caches role assignments) and run again.")),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}
