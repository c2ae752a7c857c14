//! The sandbox Azure Resource Manager: `/tenants`, `/subscriptions`, resource groups, the
//! built-in role definitions and role assignments, with ARM's CloudError envelope, required
//! `api-version`, `nextLink` paging and bearer-token checks (audience, expiry, tenant of the
//! subscription).
//!
//! Authorization is real but small: reads need any role assignment at or above the scope,
//! role-assignment writes need Owner, User Access Administrator or RBAC Administrator at or
//! above it (else 403 `AuthorizationFailed`). A service principal younger than the configured
//! window is not yet visible: assignments without `principalType` fail with 400
//! `PrincipalNotFound`.
//!
//! Left out: management-group scopes, custom roles, deny assignments, conditions, resources
//! below resource groups (accepted as scopes, not validated), classic administrators.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::EntraSandbox;
use super::model::{
    DEFAULT_SUBSCRIPTION_ID, RBAC_WRITER_ROLES, RoleAssignment, SECOND_SUBSCRIPTION_ID, Tenant,
    now_ms, role_definitions, role_permissions, role_type, scope_within,
};
use super::wire::{
    BearerRejection, Caller, Envelope, Reply, Resource, arm_error, base_url, injected_fault,
    parse_eq_filter, percent_decode, query_map, role_assignment_json, validate_bearer,
};

const AUTHZ_PROVIDER: &str = "/providers/microsoft.authorization/";

pub fn router(sandbox: EntraSandbox) -> Router {
    Router::new().fallback(dispatch).with_state(sandbox)
}

struct Request {
    method: Method,
    path: String,
    query: std::collections::BTreeMap<String, String>,
    body: Bytes,
    base: String,
}

fn bearer_rejected(rejection: BearerRejection) -> Response {
    let (code, message) = match rejection {
        BearerRejection::Missing => (
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".to_owned(),
        ),
        BearerRejection::Expired => (
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.".to_owned(),
        ),
        BearerRejection::WrongAudience(aud) => (
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
            ),
        ),
        BearerRejection::Invalid(detail) => (
            "InvalidAuthenticationToken",
            format!("The access token is invalid: {detail}."),
        ),
    };
    arm_error(StatusCode::UNAUTHORIZED, code, &message)
}

fn operation_name(method: &Method, path: &str) -> String {
    let lower = path.to_ascii_lowercase();
    let kind = if lower.contains("/roleassignments") {
        "roleAssignments"
    } else if lower.contains("/roledefinitions") {
        "roleDefinitions"
    } else if lower.contains("/resourcegroups") {
        "resourceGroups"
    } else if lower.starts_with("/subscriptions") {
        "subscriptions"
    } else if lower.starts_with("/tenants") {
        "tenants"
    } else {
        "other"
    };
    format!("{method} {kind}")
}

async fn dispatch(
    State(sandbox): State<EntraSandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let path = percent_decode(uri.path());
    let operation = operation_name(&method, &path);
    if let Some(fault) = injected_fault(&sandbox, Envelope::Arm, "arm", &operation).await {
        return Err(fault);
    }
    let caller = validate_bearer(&sandbox, &headers, &Resource::Arm).map_err(bearer_rejected)?;
    let query = query_map(uri.query());
    if !query.contains_key("api-version") {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    }
    let request = Request {
        method,
        path: path.trim_end_matches('/').to_owned(),
        query,
        body,
        base: base_url(sandbox.config().arm_url.as_deref(), &headers),
    };
    route(&sandbox, &caller, &request)
}

fn no_route(req: &Request) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "InvalidResourceType",
        &format!(
            "The resource type could not be found for the request {} '{}'.",
            req.method, req.path
        ),
    )
}

fn route(sandbox: &EntraSandbox, caller: &Caller, req: &Request) -> Reply {
    let lower = req.path.to_ascii_lowercase();
    if let Some(index) = lower.rfind(AUTHZ_PROVIDER) {
        let scope = &req.path[..index];
        let rest: Vec<&str> = req.path[index + AUTHZ_PROVIDER.len()..]
            .split('/')
            .collect();
        return match rest.as_slice() {
            [kind] if kind.eq_ignore_ascii_case("roleDefinitions") && req.method == Method::GET => {
                list_role_definitions(sandbox, caller, req, scope)
            }
            [kind, id]
                if kind.eq_ignore_ascii_case("roleDefinitions") && req.method == Method::GET =>
            {
                get_role_definition(sandbox, caller, scope, id)
            }
            [kind] if kind.eq_ignore_ascii_case("permissions") && req.method == Method::GET => {
                list_permissions(sandbox, caller, req, scope)
            }
            [kind] if kind.eq_ignore_ascii_case("roleAssignments") && req.method == Method::GET => {
                list_role_assignments(sandbox, caller, req, scope)
            }
            [kind, name] if kind.eq_ignore_ascii_case("roleAssignments") => match req.method {
                Method::PUT => put_role_assignment(sandbox, caller, req, scope, name),
                Method::GET => get_role_assignment(sandbox, caller, scope, name),
                Method::DELETE => delete_role_assignment(sandbox, caller, scope, name),
                _ => Err(no_route(req)),
            },
            _ => Err(no_route(req)),
        };
    }
    let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let lower_segments: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower_refs: Vec<&str> = lower_segments.iter().map(String::as_str).collect();
    if req.method != Method::GET {
        return Err(no_route(req));
    }
    match lower_refs.as_slice() {
        ["tenants"] => list_tenants(sandbox, caller, req),
        ["subscriptions"] => list_subscriptions(sandbox, caller, req),
        ["subscriptions", _] => get_subscription(sandbox, caller, segments[1]),
        ["subscriptions", _, "resourcegroups"] => {
            list_resource_groups(sandbox, caller, req, segments[1])
        }
        ["subscriptions", _, "resourcegroups", _] => {
            get_resource_group(sandbox, caller, segments[1], segments[3])
        }
        _ => Err(no_route(req)),
    }
}

// ---- scopes, tenants, authorization ------------------------------------------------------

/// A parsed ARM scope inside a subscription.
struct Scope {
    subscription_id: String,
    resource_group: Option<String>,
    /// The scope as given, without trailing slash.
    text: String,
}

fn parse_scope(scope: &str) -> Result<Scope, Response> {
    let segments: Vec<&str> = scope.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [s, sub, rest @ ..] if s.eq_ignore_ascii_case("subscriptions") => {
            let resource_group = match rest {
                [] => None,
                [rg, name, ..] if rg.eq_ignore_ascii_case("resourceGroups") => {
                    Some((*name).to_owned())
                }
                _ => {
                    return Err(arm_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidScope",
                        &format!("The scope '{scope}' is not valid."),
                    ));
                }
            };
            Ok(Scope {
                subscription_id: sub.to_ascii_lowercase(),
                resource_group,
                text: format!("/{}", segments.join("/")),
            })
        }
        _ => Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidScope",
            &format!(
                "The scope '{scope}' is not supported by the sandbox; use a subscription or resource group scope."
            ),
        )),
    }
}

/// The tenant owning the scope's subscription, after the existence and token-tenant checks.
fn tenant_for_scope(
    sandbox: &EntraSandbox,
    caller: &Caller,
    scope: &Scope,
) -> Result<Tenant, Response> {
    let state = sandbox.state();
    let Some(tenant) = state.tenant_of_subscription(&scope.subscription_id) else {
        return Err(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!(
                "The subscription '{}' could not be found.",
                scope.subscription_id
            ),
        ));
    };
    if tenant.id != caller.tenant_id {
        return Err(arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenTenant",
            &format!(
                "The access token is from the wrong issuer 'https://sts.windows.net/{}/'. It must match the tenant 'https://sts.windows.net/{}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.",
                caller.tenant_id, tenant.id, tenant.id
            ),
        ));
    }
    if let Some(rg) = &scope.resource_group {
        let exists = tenant
            .subscriptions
            .get(&scope.subscription_id)
            .is_some_and(|s| s.resource_groups.contains_key(&rg.to_ascii_lowercase()));
        if !exists {
            return Err(arm_error(
                StatusCode::NOT_FOUND,
                "ResourceGroupNotFound",
                &format!("Resource group '{rg}' could not be found."),
            ));
        }
    }
    Ok(tenant.clone())
}

fn authorization_failed(caller: &Caller, action: &str, scope: &str) -> Response {
    let client = caller
        .user_principal_name
        .clone()
        .or_else(|| caller.app_id.clone())
        .unwrap_or_else(|| caller.object_id.clone());
    arm_error(
        StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        &format!(
            "The client '{client}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            caller.object_id
        ),
    )
}

/// Whether the caller holds a role (any role if `roles` is empty) at or above `scope`.
fn holds_role(tenant: &Tenant, caller: &Caller, scope: &str, roles: &[&str]) -> bool {
    tenant.role_assignments.values().any(|ra| {
        ra.principal_id == caller.object_id
            && scope_within(scope, &ra.scope)
            && (roles.is_empty() || roles.contains(&ra.role_guid()))
    })
}

/// The ARM actions the sandbox authorizes, as named in `AuthorizationFailed` errors.
const READ_SUBSCRIPTIONS: &str = "Microsoft.Resources/subscriptions/read";
const READ_RESOURCE_GROUPS: &str = "Microsoft.Resources/subscriptions/resourceGroups/read";
const READ_ROLE_DEFINITIONS: &str = "Microsoft.Authorization/roleDefinitions/read";
const READ_ROLE_ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments/read";
const WRITE_ROLE_ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments/write";
const DELETE_ROLE_ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments/delete";

/// Parses `scope`, finds the caller's tenant for it, and requires a role there that allows
/// `action` (any role for a `…/read`, else one that may write role assignments): the
/// preamble of every ARM request on a scope.
fn authorized_scope(
    sandbox: &EntraSandbox,
    caller: &Caller,
    scope: &str,
    action: &str,
) -> Result<(Scope, Tenant), Response> {
    let scope = parse_scope(scope)?;
    let tenant = tenant_for_scope(sandbox, caller, &scope)?;
    let roles = if action.ends_with("/read") {
        &[][..]
    } else {
        RBAC_WRITER_ROLES
    };
    if !holds_role(&tenant, caller, &scope.text, roles) {
        return Err(authorization_failed(caller, action, &scope.text));
    }
    Ok((scope, tenant))
}

// ---- paging ------------------------------------------------------------------------------

fn arm_page(sandbox: &EntraSandbox, req: &Request, items: Vec<Value>, top: Option<usize>) -> Reply {
    let page_size = top
        .unwrap_or(usize::MAX)
        .min(sandbox.config().arm_page_size)
        .max(1);
    let skip = req
        .query
        .get("$skiptoken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(skip).take(page_size).collect();
    let mut body = json!({ "value": value });
    if skip + page_size < total {
        let mut next = url::Url::parse(&format!("{}{}", req.base, req.path))
            .unwrap_or_else(|_| url::Url::parse("http://127.0.0.1/").expect("static URL parses"));
        {
            let mut pairs = next.query_pairs_mut();
            for (k, v) in &req.query {
                if k != "$skiptoken" {
                    pairs.append_pair(k, v);
                }
            }
            pairs.append_pair("$skiptoken", &(skip + page_size).to_string());
        }
        body["nextLink"] = json!(next.as_str());
    }
    Ok(axum::Json(body).into_response())
}

// ---- tenants, subscriptions, resource groups ---------------------------------------------

fn list_tenants(sandbox: &EntraSandbox, caller: &Caller, req: &Request) -> Reply {
    let state = sandbox.state();
    let tenant_ids: Vec<String> = match state.users.get(&caller.object_id) {
        Some(user) if caller.app_id.is_none() => user.tenant_ids.clone(),
        _ => vec![caller.tenant_id.clone()],
    };
    let items: Vec<Value> = tenant_ids
        .iter()
        .filter_map(|id| state.tenants.get(id))
        .map(|t| {
            json!({
                "id": format!("/tenants/{}", t.id),
                "tenantId": t.id,
                "countryCode": "US",
                "displayName": t.display_name,
                "domains": [t.default_domain],
                "tenantCategory": "Home",
                "defaultDomain": t.default_domain,
                "tenantType": "AAD",
            })
        })
        .collect();
    drop(state);
    arm_page(sandbox, req, items, None)
}

fn subscription_json(tenant_id: &str, sub: &super::model::Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", sub.subscription_id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub.subscription_id,
        "tenantId": tenant_id,
        "displayName": sub.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

fn list_subscriptions(sandbox: &EntraSandbox, caller: &Caller, req: &Request) -> Reply {
    let state = sandbox.state();
    let items: Vec<Value> = state
        .tenants
        .get(&caller.tenant_id)
        .map(|tenant| {
            tenant
                .subscriptions
                .values()
                .filter(|sub| {
                    let scope = format!("/subscriptions/{}", sub.subscription_id);
                    tenant.role_assignments.values().any(|ra| {
                        ra.principal_id == caller.object_id
                            && (scope_within(&ra.scope, &scope) || scope_within(&scope, &ra.scope))
                    })
                })
                .map(|sub| subscription_json(&tenant.id, sub))
                .collect()
        })
        .unwrap_or_default();
    drop(state);
    arm_page(sandbox, req, items, None)
}

fn get_subscription(sandbox: &EntraSandbox, caller: &Caller, subscription_id: &str) -> Reply {
    let (scope, tenant) = authorized_scope(
        sandbox,
        caller,
        &format!("/subscriptions/{subscription_id}"),
        READ_SUBSCRIPTIONS,
    )?;
    match tenant.subscriptions.get(&scope.subscription_id) {
        Some(sub) => Ok(axum::Json(subscription_json(&tenant.id, sub)).into_response()),
        None => Err(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            "The subscription could not be found.",
        )),
    }
}

fn resource_group_json(subscription_id: &str, rg: &super::model::ResourceGroup) -> Value {
    json!({
        "id": format!("/subscriptions/{subscription_id}/resourceGroups/{}", rg.name),
        "name": rg.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": rg.location,
        "properties": { "provisioningState": "Succeeded" }
    })
}

fn list_resource_groups(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    subscription_id: &str,
) -> Reply {
    let (scope, tenant) = authorized_scope(
        sandbox,
        caller,
        &format!("/subscriptions/{subscription_id}"),
        READ_RESOURCE_GROUPS,
    )?;
    let top = match req.query.get("$top").map(|t| t.parse::<usize>()) {
        None => None,
        Some(Ok(n)) if n >= 1 => Some(n),
        Some(_) => {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidTopParameter",
                "The value of the $top query parameter must be a positive integer.",
            ));
        }
    };
    let items: Vec<Value> = tenant
        .subscriptions
        .get(&scope.subscription_id)
        .map(|sub| {
            sub.resource_groups
                .values()
                .map(|rg| resource_group_json(&sub.subscription_id, rg))
                .collect()
        })
        .unwrap_or_default();
    arm_page(sandbox, req, items, top)
}

fn get_resource_group(
    sandbox: &EntraSandbox,
    caller: &Caller,
    subscription_id: &str,
    name: &str,
) -> Reply {
    let (scope, tenant) = authorized_scope(
        sandbox,
        caller,
        &format!("/subscriptions/{subscription_id}/resourceGroups/{name}"),
        READ_RESOURCE_GROUPS,
    )?;
    let rg = tenant
        .subscriptions
        .get(&scope.subscription_id)
        .and_then(|s| s.resource_groups.get(&name.to_ascii_lowercase()));
    match rg {
        Some(rg) => Ok(axum::Json(resource_group_json(&scope.subscription_id, rg)).into_response()),
        None => Err(arm_error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            &format!("Resource group '{name}' could not be found."),
        )),
    }
}

// ---- role definitions --------------------------------------------------------------------

fn role_definition_json(
    subscription_id: &str,
    (name, guid, description): &(&str, &str, &str),
) -> Value {
    let role_type = role_type(guid);
    // A built-in role is assignable everywhere; a custom one where its definition says.
    let assignable: Vec<String> = if role_type == "CustomRole" {
        [DEFAULT_SUBSCRIPTION_ID, SECOND_SUBSCRIPTION_ID]
            .iter()
            .map(|s| format!("/subscriptions/{s}"))
            .collect()
    } else {
        vec!["/".to_string()]
    };
    json!({
        "id": format!("/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": guid,
        "properties": {
            "roleName": name,
            "type": role_type,
            "description": description,
            "assignableScopes": assignable,
            "permissions": [{ "actions": role_permissions(guid).0, "notActions": role_permissions(guid).1, "dataActions": [], "notDataActions": [] }],
            "createdOn": "2015-02-02T21:55:09.8806423Z",
            "updatedOn": "2021-11-11T20:13:47.8628684Z",
            "createdBy": null,
            "updatedBy": null
        }
    })
}

fn list_role_definitions(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    scope: &str,
) -> Reply {
    let (scope, _) = authorized_scope(sandbox, caller, scope, READ_ROLE_DEFINITIONS)?;
    let clauses = match req.query.get("$filter") {
        None => Vec::new(),
        Some(filter) => match parse_eq_filter(filter) {
            Some(c)
                if c.iter()
                    .all(|c| c.property == "roleName" || c.property == "type") =>
            {
                c
            }
            _ => {
                return Err(arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidFilterInQueryString",
                    &format!("The filter '{filter}' is not supported."),
                ));
            }
        },
    };
    let items: Vec<Value> = role_definitions()
        .filter(|(name, guid, _)| {
            clauses.iter().all(|c| match c.property.as_str() {
                "roleName" => name.eq_ignore_ascii_case(&c.value),
                _ => c.value == role_type(guid),
            })
        })
        .map(|role| role_definition_json(&scope.subscription_id, role))
        .collect();
    arm_page(sandbox, req, items, None)
}

fn get_role_definition(sandbox: &EntraSandbox, caller: &Caller, scope: &str, id: &str) -> Reply {
    let scope = parse_scope(scope)?;
    tenant_for_scope(sandbox, caller, &scope)?;
    match role_definitions().find(|(_, guid, _)| guid.eq_ignore_ascii_case(id)) {
        Some(role) => {
            Ok(axum::Json(role_definition_json(&scope.subscription_id, role)).into_response())
        }
        None => Err(arm_error(
            StatusCode::NOT_FOUND,
            "RoleDefinitionDoesNotExist",
            &format!("The specified role definition with ID '{id}' does not exist."),
        )),
    }
}

// ---- role assignments --------------------------------------------------------------------

fn principal_not_found(principal_id: &str, tenant_id: &str) -> Response {
    arm_error(
        StatusCode::BAD_REQUEST,
        "PrincipalNotFound",
        &format!(
            "Principal {} does not exist in the directory {tenant_id}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
            principal_id.replace('-', "")
        ),
    )
}

fn principal_window(sandbox: &EntraSandbox) -> Duration {
    let configured = sandbox.config().principal_not_found_window;
    if configured.is_zero() {
        sandbox.inner.faults.consistency_window("arm")
    } else {
        configured
    }
}

fn put_role_assignment(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    scope_text: &str,
    name: &str,
) -> Reply {
    if uuid::Uuid::parse_str(name).is_err() {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRoleAssignmentId",
            &format!(
                "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
            ),
        ));
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                &format!("The request content was invalid and could not be deserialized: '{e}'."),
            ));
        }
    };
    let properties = &body["properties"];
    let (Some(role_definition_id), Some(principal_id)) = (
        properties["roleDefinitionId"].as_str(),
        properties["principalId"].as_str(),
    ) else {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "The request content was invalid: 'properties.roleDefinitionId' and 'properties.principalId' are required.",
        ));
    };
    let principal_type = properties["principalType"].as_str();
    let (scope, tenant) = authorized_scope(sandbox, caller, scope_text, WRITE_ROLE_ASSIGNMENTS)?;
    let role_guid = role_definition_id.rsplit('/').next().unwrap_or_default();
    let role_path_ok = role_definition_id
        .to_ascii_lowercase()
        .contains("/providers/microsoft.authorization/roledefinitions/");
    if !role_path_ok || !role_definitions().any(|(_, g, _)| g.eq_ignore_ascii_case(role_guid)) {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "RoleDefinitionDoesNotExist",
            &format!("The specified role definition with ID '{role_guid}' does not exist."),
        ));
    }
    // The principal as the directory (and ARM's replica of it) sees it.
    let actual_type = if sandbox.state().users.contains_key(principal_id) {
        Some(("User", 0))
    } else {
        tenant
            .service_principals
            .get(principal_id)
            .map(|sp| ("ServicePrincipal", sp.created_ms))
    };
    let Some((actual_type, created_ms)) = actual_type else {
        return Err(principal_not_found(principal_id, &tenant.id));
    };
    let young = now_ms().saturating_sub(created_ms) < principal_window(sandbox).as_millis() as u64;
    match principal_type {
        None if young => return Err(principal_not_found(principal_id, &tenant.id)),
        Some(given) if !given.eq_ignore_ascii_case(actual_type) => {
            return Err(arm_error(
                StatusCode::BAD_REQUEST,
                "UnmatchedPrincipalType",
                &format!(
                    "The PrincipalId '{}' has type '{actual_type}' , which is different from specified PrincipalType '{given}'.",
                    principal_id.replace('-', "")
                ),
            ));
        }
        _ => {}
    }
    let key = name.to_ascii_lowercase();
    let same_target = |ra: &RoleAssignment| {
        ra.scope.eq_ignore_ascii_case(&scope.text)
            && ra.role_guid().eq_ignore_ascii_case(role_guid)
            && ra.principal_id.eq_ignore_ascii_case(principal_id)
    };
    if let Some(existing) = tenant.role_assignments.get(&key) {
        if same_target(existing) {
            return Ok((
                StatusCode::CREATED,
                axum::Json(role_assignment_json(existing)),
            )
                .into_response());
        }
        return Err(arm_error(
            StatusCode::CONFLICT,
            "RoleAssignmentUpdateNotPermitted",
            "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
        ));
    }
    if tenant.role_assignments.values().any(same_target) {
        return Err(arm_error(
            StatusCode::CONFLICT,
            "RoleAssignmentExists",
            "The role assignment already exists.",
        ));
    }
    let assignment = RoleAssignment {
        name: key.clone(),
        scope: scope.text.clone(),
        role_definition_id: role_definition_id.to_owned(),
        principal_id: principal_id.to_owned(),
        principal_type: actual_type.to_owned(),
        created_ms: now_ms(),
        created_by: Some(caller.object_id.clone()),
    };
    let json = role_assignment_json(&assignment);
    if let Some(t) = sandbox.state().tenants.get_mut(&tenant.id) {
        t.role_assignments.insert(key, assignment);
    }
    Ok((StatusCode::CREATED, axum::Json(json)).into_response())
}

fn find_assignment<'t>(
    tenant: &'t Tenant,
    scope: &Scope,
    name: &str,
) -> Option<&'t RoleAssignment> {
    tenant
        .role_assignments
        .get(&name.to_ascii_lowercase())
        .filter(|ra| ra.scope.eq_ignore_ascii_case(&scope.text))
}

fn get_role_assignment(
    sandbox: &EntraSandbox,
    caller: &Caller,
    scope_text: &str,
    name: &str,
) -> Reply {
    let (scope, tenant) = authorized_scope(sandbox, caller, scope_text, READ_ROLE_ASSIGNMENTS)?;
    match find_assignment(&tenant, &scope, name) {
        Some(ra) => Ok(axum::Json(role_assignment_json(ra)).into_response()),
        None => Err(arm_error(
            StatusCode::NOT_FOUND,
            "RoleAssignmentNotFound",
            &format!("The role assignment '{name}' is not found."),
        )),
    }
}

fn delete_role_assignment(
    sandbox: &EntraSandbox,
    caller: &Caller,
    scope_text: &str,
    name: &str,
) -> Reply {
    let (scope, tenant) = authorized_scope(sandbox, caller, scope_text, DELETE_ROLE_ASSIGNMENTS)?;
    match find_assignment(&tenant, &scope, name) {
        Some(ra) => {
            let json = role_assignment_json(ra);
            if let Some(t) = sandbox.state().tenants.get_mut(&tenant.id) {
                t.role_assignments.remove(&name.to_ascii_lowercase());
            }
            Ok(axum::Json(json).into_response())
        }
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

fn list_role_assignments(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    scope_text: &str,
) -> Reply {
    let (scope, tenant) = authorized_scope(sandbox, caller, scope_text, READ_ROLE_ASSIGNMENTS)?;
    let mut at_scope_only = false;
    let mut principal: Option<String> = None;
    if let Some(filter) = req.query.get("$filter") {
        let mut rest = filter.trim().to_owned();
        if let Some(stripped) = rest.strip_prefix("atScope()") {
            at_scope_only = true;
            rest = stripped
                .trim_start()
                .trim_start_matches("and")
                .trim()
                .to_owned();
        }
        if let Some(inner) = rest
            .strip_prefix("assignedTo(")
            .and_then(|r| r.strip_suffix(')'))
        {
            principal = Some(inner.trim_matches('\'').to_owned());
        } else if !rest.is_empty() {
            match parse_eq_filter(&rest) {
                Some(clauses) if clauses.len() == 1 && clauses[0].property == "principalId" => {
                    principal = Some(clauses[0].value.clone());
                }
                _ => {
                    return Err(arm_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidFilterInQueryString",
                        &format!("The filter '{filter}' is not supported."),
                    ));
                }
            }
        }
    }
    let items: Vec<Value> = tenant
        .role_assignments
        .values()
        .filter(|ra| {
            let above = scope_within(&scope.text, &ra.scope);
            let below = scope_within(&ra.scope, &scope.text);
            (above || (!at_scope_only && below))
                && principal
                    .as_deref()
                    .is_none_or(|p| ra.principal_id.eq_ignore_ascii_case(p))
        })
        .map(role_assignment_json)
        .collect();
    arm_page(sandbox, req, items, None)
}

// ---- permissions -------------------------------------------------------------------------

/// `GET {scope}/providers/Microsoft.Authorization/permissions`: one entry per role the caller
/// holds at or above the scope (its actions and not-actions); no role, no entry. Which action
/// the entries allow is the caller's to work out, as with ARM.
fn list_permissions(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    scope_text: &str,
) -> Reply {
    let scope = parse_scope(scope_text)?;
    let tenant = tenant_for_scope(sandbox, caller, &scope)?;
    let items: Vec<Value> = tenant
        .role_assignments
        .values()
        .filter(|ra| ra.principal_id == caller.object_id && scope_within(&scope.text, &ra.scope))
        .map(|ra| {
            let (actions, not_actions) = role_permissions(ra.role_guid());
            json!({ "actions": actions, "notActions": not_actions, "dataActions": [], "notDataActions": [] })
        })
        .collect();
    arm_page(sandbox, req, items, None)
}
