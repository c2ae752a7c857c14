//! The sandbox Microsoft Graph v1.0: `/me` and its directory roles, `/organization`,
//! applications (incl. `addPassword`), servicePrincipals and federatedIdentityCredentials.
//!
//! Routing is by hand (one fallback handler) because OData alternate keys such as
//! `applications(appId='…')` live inside a path segment. Behaviour follows the Graph docs:
//! 201 on POST, `PATCH` + `Prefer: create-if-missing` → 201/204 (404 without the header),
//! 204 on DELETE, `$filter` with `eq`, `$top` (1–999, default 100) with `@odata.nextLink`,
//! the federated-credential limits and validation, and `Request_ResourceNotFound` /
//! `NoBackingApplicationObject` while a new app is inside the `graph` consistency window.
//! Writes need a directory role, ownership of the app, or (app-only tokens) an
//! `Application.ReadWrite.*` permission, else 403 `Authorization_RequestDenied`.
//!
//! Left out: `$select`/`$expand`/`$orderby`/`$search`/`$count`, owners endpoints, users other
//! than `/me`, soft-deleted items, certificates (`keyCredentials`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::EntraSandbox;
use super::model::{
    Application, FederatedCredential, ServicePrincipal, Tenant, add_password,
    directory_role_template, new_guid, now_ms,
};
use super::wire::{
    BearerRejection, Caller, Envelope, Reply, Resource, application_json, base_url,
    federated_credential_json, graph_error, graph_error_with_details, injected_fault,
    parse_eq_filter, percent_decode, query_map, rfc3339, service_principal_json, split_key_segment,
    validate_bearer,
};

const MAX_FEDERATED_CREDENTIALS: usize = 20;
const MAX_FIC_FIELD: usize = 600;
const ADMIN_ROLES: &[&str] = &[
    "Global Administrator",
    "Application Administrator",
    "Cloud Application Administrator",
];
const APPLICATION_PROPERTIES: &[&str] = &[
    "displayName",
    "description",
    "signInAudience",
    "tags",
    "notes",
    "identifierUris",
    "web",
    "publicClient",
    "spa",
    "requiredResourceAccess",
    "uniqueName",
    "@odata.type",
];

pub fn router(sandbox: EntraSandbox) -> Router {
    Router::new().fallback(dispatch).with_state(sandbox)
}

/// One request as the handlers see it.
struct Request {
    method: Method,
    segments: Vec<String>,
    query: std::collections::BTreeMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
    base: String,
    path: String,
}

impl Request {
    fn prefer_create(&self) -> bool {
        self.headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|p| p.trim().eq_ignore_ascii_case("create-if-missing"))
            })
    }

    fn json_body(&self) -> Result<serde_json::Map<String, Value>, Response> {
        if self.body.is_empty() {
            return Ok(serde_json::Map::new());
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            )),
        }
    }
}

fn not_found(id: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

fn bad_request(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

fn invalid_property(property: &str, resource: &str) -> Response {
    bad_request(&format!(
        "Invalid value specified for property '{property}' of resource '{resource}'."
    ))
}

fn denied() -> Response {
    graph_error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

fn no_route(method: &Method, path: &str) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("Resource not found for the segment '{path}' with method {method}."),
    )
}

async fn dispatch(
    State(sandbox): State<EntraSandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let raw_path = uri.path();
    let Some(rest) = raw_path.strip_prefix("/v1.0/") else {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid version: only v1.0 is served by the sandbox.",
        ));
    };
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let operation = operation_name(&method, &segments);
    if let Some(fault) = injected_fault(&sandbox, Envelope::Graph, "graph", &operation).await {
        return Err(fault);
    }
    let caller = validate_bearer(&sandbox, &headers, &Resource::Graph).map_err(bearer_rejected)?;
    let base = base_url(sandbox.config().graph_url.as_deref(), &headers);
    let request = Request {
        method,
        segments,
        query: query_map(uri.query()),
        headers,
        body,
        base,
        path: rest.to_owned(),
    };
    route(&sandbox, &caller, &request)
}

/// A stable operation name for the fault knobs, e.g. `POST /applications`,
/// `PATCH /applications/federatedIdentityCredentials`.
fn operation_name(method: &Method, segments: &[String]) -> String {
    let names: Vec<&str> = segments
        .iter()
        .enumerate()
        .filter(|(i, s)| i % 2 == 0 || s.contains('('))
        .map(|(_, s)| split_key_segment(s).0)
        .collect();
    format!("{method} /{}", names.join("/"))
}

fn bearer_rejected(rejection: BearerRejection) -> Response {
    let message = match rejection {
        BearerRejection::Missing => "Access token is empty.".to_owned(),
        BearerRejection::Expired => "Lifetime validation failed, the token is expired.".to_owned(),
        BearerRejection::WrongAudience(aud) => {
            format!("Access token validation failure. Invalid audience '{aud}'.")
        }
        BearerRejection::Invalid(_) => "Access token validation failure.".to_owned(),
    };
    graph_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        &message,
    )
}

fn route(sandbox: &EntraSandbox, caller: &Caller, req: &Request) -> Reply {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let first = segs
        .first()
        .map(|s| split_key_segment(s))
        .unwrap_or(("", None));
    let collection = first.0.to_ascii_lowercase();
    match (collection.as_str(), &first.1, segs.len()) {
        ("me", None, _) => me(sandbox, caller, req, &segs[1..]),
        ("organization", None, 1) if req.method == Method::GET => organization(sandbox, caller),
        ("applications", None, 1) => match req.method {
            Method::GET => list_applications(sandbox, caller, req),
            Method::POST => create_application(sandbox, caller, req),
            _ => Err(no_route(&req.method, &req.path)),
        },
        ("applications", None, _) => {
            application_item(sandbox, caller, req, AppKey::Id(segs[1]), &segs[2..])
        }
        ("applications", Some((key, value)), _) => {
            let app_key = match key.as_str() {
                "appId" => AppKey::AppId(value),
                "uniqueName" => AppKey::UniqueName(value),
                _ => return Err(no_route(&req.method, &req.path)),
            };
            application_item(sandbox, caller, req, app_key, &segs[1..])
        }
        ("serviceprincipals", None, 1) => match req.method {
            Method::GET => list_service_principals(sandbox, caller, req),
            Method::POST => create_service_principal(sandbox, caller, req),
            _ => Err(no_route(&req.method, &req.path)),
        },
        ("serviceprincipals", None, 2) => {
            service_principal_item(sandbox, caller, req, SpKey::Id(segs[1]))
        }
        ("policies", None, 2)
            if segs[1].eq_ignore_ascii_case("authorizationPolicy") && req.method == Method::GET =>
        {
            authorization_policy(sandbox, caller, req)
        }
        ("serviceprincipals", Some((key, value)), 1)
            if key == "appId" && value == GRAPH_APP_ID && req.method == Method::GET =>
        {
            graph_service_principal(sandbox, caller)
        }
        ("serviceprincipals", Some((key, value)), 2)
            if key == "appId"
                && segs[1].eq_ignore_ascii_case("appRoleAssignments")
                && req.method == Method::GET =>
        {
            app_role_assignments(sandbox, caller, req, value)
        }
        ("serviceprincipals", Some((key, value)), 1) if key == "appId" => {
            service_principal_item(sandbox, caller, req, SpKey::AppId(value))
        }
        _ => Err(no_route(&req.method, &req.path)),
    }
}

// ---- preflight: the tenant's app-creation policy, app permissions -------------------------

/// Microsoft Graph's application id (the resource of Graph app permissions).
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Graph application permissions the sandbox knows: (value, app role id), the ids from the
/// Microsoft Graph permissions reference.
const GRAPH_APP_ROLES: &[(&str, &str)] = &[
    (
        "Application.Read.All",
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    ),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    ),
    (
        "Application.ReadWrite.OwnedBy",
        "18a4783c-866b-4cc7-a460-3d5e5662c884",
    ),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
];

fn graph_sp_id(tenant_id: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("{tenant_id}:{GRAPH_APP_ID}").as_bytes(),
    )
    .to_string()
}

/// `GET /policies/authorizationPolicy`: the tenant's default user permissions
/// (`allowedToCreateApps` = whether users may register applications).
fn authorization_policy(sandbox: &EntraSandbox, caller: &Caller, req: &Request) -> Reply {
    let tenant = tenant_snapshot(sandbox, caller)?;
    Ok(axum::Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#policies/authorizationPolicy/$entity", req.base),
        "id": "authorizationPolicy",
        "displayName": "Authorization Policy",
        "allowInvitesFrom": "everyone",
        "defaultUserRolePermissions": {
            "allowedToCreateApps": tenant.users_can_register_apps,
            "allowedToCreateSecurityGroups": true,
            "allowedToCreateTenants": true,
            "allowedToReadOtherUsers": true,
        },
    }))
    .into_response())
}

/// `GET /servicePrincipals(appId='00000003-…')`: Microsoft Graph's own service principal
/// with the app roles (application permissions) it defines.
fn graph_service_principal(sandbox: &EntraSandbox, caller: &Caller) -> Reply {
    let tenant = tenant_snapshot(sandbox, caller)?;
    let roles: Vec<Value> = GRAPH_APP_ROLES
        .iter()
        .map(|(value, id)| json!({ "id": id, "value": value, "allowedMemberTypes": ["Application"], "isEnabled": true }))
        .collect();
    Ok(axum::Json(json!({
        "id": graph_sp_id(&tenant.id),
        "appId": GRAPH_APP_ID,
        "displayName": "Microsoft Graph",
        "appRoles": roles,
    }))
    .into_response())
}

/// `GET /servicePrincipals(appId='…')/appRoleAssignments`: the Graph application permissions
/// granted to an app's service principal.
fn app_role_assignments(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    app_id: &str,
) -> Reply {
    let tenant = tenant_snapshot(sandbox, caller)?;
    let Some(sp) = tenant
        .service_principals
        .values()
        .find(|sp| sp.app_id == app_id)
    else {
        return Err(not_found(app_id));
    };
    let granted = tenant
        .applications
        .values()
        .find(|a| a.app_id == app_id)
        .map(|a| a.graph_app_roles.clone())
        .unwrap_or_default();
    let resource = graph_sp_id(&tenant.id);
    let items: Vec<Value> = granted
        .iter()
        .filter_map(|name| GRAPH_APP_ROLES.iter().find(|(v, _)| v == name))
        .map(|(_, role_id)| {
            json!({
                "id": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{}:{role_id}", sp.id).as_bytes()).to_string(),
                "appRoleId": role_id,
                "principalId": sp.id,
                "principalType": "ServicePrincipal",
                "principalDisplayName": sp.display_name,
                "resourceId": resource,
                "resourceDisplayName": "Microsoft Graph",
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#servicePrincipals('{}')/appRoleAssignments", req.base, sp.id),
        "value": items,
    }))
    .into_response())
}

// ---- /me, /organization ------------------------------------------------------------------

fn me(sandbox: &EntraSandbox, caller: &Caller, req: &Request, rest: &[&str]) -> Reply {
    if caller.app_id.is_some() {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        ));
    }
    if req.method != Method::GET {
        return Err(no_route(&req.method, &req.path));
    }
    let state = sandbox.state();
    let Some(user) = state.users.get(&caller.object_id) else {
        return Err(not_found(&caller.object_id));
    };
    let context = format!("{}/v1.0/$metadata", req.base);
    match rest {
        [] => Ok(axum::Json(json!({
            "@odata.context": format!("{context}#users/$entity"),
            "id": user.id,
            "displayName": user.display_name,
            "userPrincipalName": user.user_principal_name,
            "mail": user.user_principal_name,
            "givenName": null,
            "surname": null,
            "jobTitle": null,
            "businessPhones": [],
            "preferredLanguage": "en-US",
        }))
        .into_response()),
        [relation] | [relation, _]
            if relation.eq_ignore_ascii_case("memberOf")
                || relation.eq_ignore_ascii_case("transitiveMemberOf") =>
        {
            if let [_, cast] = rest
                && !cast.eq_ignore_ascii_case("microsoft.graph.directoryRole")
            {
                return Err(no_route(&req.method, &req.path));
            }
            let roles: Vec<Value> = user
                .directory_roles
                .iter()
                .filter_map(|name| {
                    let template = directory_role_template(name)?;
                    Some(json!({
                        "@odata.type": "#microsoft.graph.directoryRole",
                        "id": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{}:{template}", caller.tenant_id).as_bytes()).to_string(),
                        "deletedDateTime": null,
                        "description": null,
                        "displayName": name,
                        "roleTemplateId": template,
                    }))
                })
                .collect();
            Ok(axum::Json(json!({
                "@odata.context": format!("{context}#directoryObjects"),
                "value": roles,
            }))
            .into_response())
        }
        _ => Err(no_route(&req.method, &req.path)),
    }
}

fn organization(sandbox: &EntraSandbox, caller: &Caller) -> Reply {
    let state = sandbox.state();
    let Some(tenant) = state.tenants.get(&caller.tenant_id) else {
        return Err(not_found(&caller.tenant_id));
    };
    Ok(axum::Json(json!({
        "value": [{
            "id": tenant.id,
            "displayName": tenant.display_name,
            "verifiedDomains": [{ "name": tenant.default_domain, "isDefault": true, "isInitial": true, "type": "Managed" }],
            "tenantType": "AAD",
        }]
    }))
    .into_response())
}

// ---- authorization -----------------------------------------------------------------------

enum Need<'a> {
    Read,
    CreateApplication,
    ManageApplication(&'a Application),
}

fn authorize(
    sandbox: &EntraSandbox,
    tenant: &Tenant,
    caller: &Caller,
    need: Need<'_>,
) -> Result<(), Response> {
    let allowed = match &caller.app_id {
        Some(app_id) => {
            let permissions: Vec<String> = tenant
                .applications
                .values()
                .find(|a| a.app_id == *app_id)
                .map(|a| a.graph_app_roles.clone())
                .unwrap_or_default();
            let all = permissions.iter().any(|p| p == "Application.ReadWrite.All");
            let owned_by = permissions
                .iter()
                .any(|p| p == "Application.ReadWrite.OwnedBy");
            match need {
                Need::Read => {
                    all || owned_by || permissions.iter().any(|p| p == "Application.Read.All")
                }
                Need::CreateApplication => all || owned_by,
                Need::ManageApplication(app) => {
                    all || (owned_by && app.owners.contains(&caller.object_id))
                }
            }
        }
        None => {
            let state = sandbox.state();
            let roles = state
                .users
                .get(&caller.object_id)
                .map(|u| u.directory_roles.clone())
                .unwrap_or_default();
            drop(state);
            let admin = roles.iter().any(|r| ADMIN_ROLES.contains(&r.as_str()));
            match need {
                Need::Read => true,
                Need::CreateApplication => {
                    admin
                        || tenant.users_can_register_apps
                        || roles.iter().any(|r| r == "Application Developer")
                }
                Need::ManageApplication(app) => admin || app.owners.contains(&caller.object_id),
            }
        }
    };
    if allowed { Ok(()) } else { Err(denied()) }
}

fn with_tenant<T>(
    sandbox: &EntraSandbox,
    caller: &Caller,
    f: impl FnOnce(&mut Tenant) -> T,
) -> Result<T, Response> {
    let mut state = sandbox.state();
    let tenant = state
        .tenants
        .get_mut(&caller.tenant_id)
        .ok_or_else(|| not_found(&caller.tenant_id))?;
    Ok(f(tenant))
}

fn tenant_snapshot(sandbox: &EntraSandbox, caller: &Caller) -> Result<Tenant, Response> {
    with_tenant(sandbox, caller, |t| t.clone())
}

/// The caller's tenant, once the caller may read applications and service principals in it.
fn readable_tenant(sandbox: &EntraSandbox, caller: &Caller) -> Result<Tenant, Response> {
    let tenant = tenant_snapshot(sandbox, caller)?;
    authorize(sandbox, &tenant, caller, Need::Read)?;
    Ok(tenant)
}

fn replicating(sandbox: &EntraSandbox, created_ms: u64) -> bool {
    let window = sandbox.inner.faults.consistency_window("graph");
    now_ms().saturating_sub(created_ms) < window.as_millis() as u64
}

// ---- paging ------------------------------------------------------------------------------

fn page(req: &Request, collection: &str, items: Vec<Value>) -> Reply {
    let top = match req.query.get("$top") {
        None => 100,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=999).contains(&n) => n,
            _ => {
                return Err(bad_request(&format!(
                    "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
                )));
            }
        },
    };
    let skip = req
        .query
        .get("$skiptoken")
        .and_then(|t| t.strip_prefix("X'"))
        .and_then(|t| t.strip_suffix('\''))
        .and_then(|t| usize::from_str_radix(t, 16).ok())
        .unwrap_or(0);
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(skip).take(top).collect();
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#{collection}", req.base),
        "value": value,
    });
    if skip + top < total {
        let mut next = url::Url::parse(&format!("{}/v1.0/{}", req.base, req.path))
            .unwrap_or_else(|_| url::Url::parse("http://127.0.0.1/").expect("static URL parses"));
        {
            let mut pairs = next.query_pairs_mut();
            for (k, v) in &req.query {
                if k != "$skiptoken" && k != "$top" {
                    pairs.append_pair(k, v);
                }
            }
            pairs.append_pair("$top", &top.to_string());
            pairs.append_pair("$skiptoken", &format!("X'{:X}'", skip + top));
        }
        body["@odata.nextLink"] = json!(next.as_str());
    }
    Ok(axum::Json(body).into_response())
}

/// A collection `$filter` may test: its resource name in errors, and each property it may
/// test with how to read it from an item.
struct Filterable<T: 'static> {
    resource: &'static str,
    properties: &'static [(&'static str, ReadProperty<T>)],
}

/// Reads one filterable property of an item (`None` when the item has no value for it).
type ReadProperty<T> = fn(&T) -> Option<&str>;

const APPLICATIONS: Filterable<Application> = Filterable {
    resource: "application",
    properties: &[
        ("displayName", |a| Some(a.display_name.as_str())),
        ("appId", |a| Some(a.app_id.as_str())),
        ("uniqueName", |a| a.unique_name.as_deref()),
        ("id", |a| Some(a.id.as_str())),
    ],
};
const FEDERATED_CREDENTIALS: Filterable<FederatedCredential> = Filterable {
    resource: "federatedIdentityCredential",
    properties: &[
        ("name", |f| Some(f.name.as_str())),
        ("subject", |f| Some(f.subject.as_str())),
        ("issuer", |f| Some(f.issuer.as_str())),
    ],
};
const SERVICE_PRINCIPALS: Filterable<ServicePrincipal> = Filterable {
    resource: "servicePrincipal",
    properties: &[
        ("appId", |sp| Some(sp.app_id.as_str())),
        ("displayName", |sp| Some(sp.display_name.as_str())),
        ("id", |sp| Some(sp.id.as_str())),
    ],
};

/// A page (see [`page`]) of the `items` that pass the request's `$filter` (`eq` clauses joined
/// by `and`, each on a property of `filterable`), each shown by `json`; 400
/// `Request_UnsupportedQuery` for any other filter.
fn filtered_page<'t, T>(
    req: &Request,
    collection: &str,
    filterable: &Filterable<T>,
    items: impl IntoIterator<Item = &'t T>,
    json: impl Fn(&T) -> Value,
) -> Reply {
    let resource = filterable.resource;
    let mut tests = Vec::new();
    if let Some(filter) = req.query.get("$filter") {
        let clauses = parse_eq_filter(filter).ok_or_else(|| {
            graph_error(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                &format!("Unsupported or invalid query filter clause specified for resource '{resource}': {filter}"),
            )
        })?;
        for clause in clauses {
            let Some((_, read)) = filterable
                .properties
                .iter()
                .find(|(name, _)| *name == clause.property)
            else {
                return Err(graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    &format!(
                        "Unsupported or invalid query filter clause specified for property '{}' of resource '{resource}'.",
                        clause.property
                    ),
                ));
            };
            tests.push((read, clause.value));
        }
    }
    let shown = items
        .into_iter()
        .filter(|item| {
            tests
                .iter()
                .all(|(read, value)| read(item) == Some(value.as_str()))
        })
        .map(json)
        .collect();
    page(req, collection, shown)
}

// ---- applications ------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum AppKey<'a> {
    Id(&'a str),
    AppId(&'a str),
    UniqueName(&'a str),
}

impl AppKey<'_> {
    fn find<'t>(&self, tenant: &'t Tenant) -> Option<&'t Application> {
        match self {
            AppKey::Id(id) => tenant.applications.get(*id),
            AppKey::AppId(app_id) => tenant.applications.values().find(|a| a.app_id == *app_id),
            AppKey::UniqueName(name) => tenant.applications.values().find(|a| {
                a.unique_name
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(name))
            }),
        }
    }

    fn text(&self) -> &str {
        match self {
            AppKey::Id(s) | AppKey::AppId(s) | AppKey::UniqueName(s) => s,
        }
    }
}

fn list_applications(sandbox: &EntraSandbox, caller: &Caller, req: &Request) -> Reply {
    let tenant = readable_tenant(sandbox, caller)?;
    filtered_page(
        req,
        "applications",
        &APPLICATIONS,
        tenant.applications.values(),
        application_json,
    )
}

/// Validates application properties in a POST/PATCH body; returns (displayName, description).
fn application_fields(
    body: &serde_json::Map<String, Value>,
    require_name: bool,
) -> Result<(Option<String>, Option<Option<String>>), Response> {
    for key in body.keys() {
        if !APPLICATION_PROPERTIES.contains(&key.as_str()) {
            return Err(bad_request(&format!(
                "Property '{key}' does not exist on type 'microsoft.graph.application'. Make sure to only use property names that are defined by the type."
            )));
        }
    }
    let display_name = match body.get("displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 256 => Some(s.clone()),
        None if !require_name => None,
        _ => return Err(invalid_property("displayName", "Application")),
    };
    let description = match body.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.len() <= 1024 => Some(Some(s.clone())),
        _ => return Err(invalid_property("description", "Application")),
    };
    Ok((display_name, description))
}

/// `notes` (string ≤ 1024 or null) and `tags` (strings ≤ 256 each) when the body has them.
struct ApplicationMarks {
    notes: Option<Option<String>>,
    tags: Option<Vec<String>>,
}

impl ApplicationMarks {
    fn from_body(body: &serde_json::Map<String, Value>) -> Result<ApplicationMarks, Response> {
        let notes = match body.get("notes") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) if s.len() <= 1024 => Some(Some(s.clone())),
            _ => return Err(invalid_property("notes", "Application")),
        };
        let tags = match body.get("tags") {
            None => None,
            Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(items)) => {
                let tags: Option<Vec<String>> = items
                    .iter()
                    .map(|t| t.as_str().filter(|t| t.len() <= 256).map(str::to_owned))
                    .collect();
                match tags {
                    Some(tags) => Some(tags),
                    None => return Err(invalid_property("tags", "Application")),
                }
            }
            _ => return Err(invalid_property("tags", "Application")),
        };
        Ok(ApplicationMarks { notes, tags })
    }

    fn apply(self, app: &mut Application) {
        if let Some(notes) = self.notes {
            app.notes = notes;
        }
        if let Some(tags) = self.tags {
            app.tags = tags;
        }
    }
}

fn new_application(
    caller: &Caller,
    display_name: String,
    unique_name: Option<String>,
    description: Option<String>,
) -> Application {
    Application {
        id: new_guid(),
        app_id: new_guid(),
        display_name,
        unique_name,
        description,
        notes: None,
        tags: Vec::new(),
        sign_in_audience: "AzureADMyOrg".to_owned(),
        created_ms: now_ms(),
        owners: vec![caller.object_id.clone()],
        federated_credentials: Vec::new(),
        password_credentials: Vec::new(),
        graph_app_roles: Vec::new(),
    }
}

fn created(req: &Request, collection: &str, mut value: Value) -> Reply {
    value["@odata.context"] = json!(format!("{}/v1.0/$metadata#{collection}/$entity", req.base));
    Ok((StatusCode::CREATED, axum::Json(value)).into_response())
}

fn create_application(sandbox: &EntraSandbox, caller: &Caller, req: &Request) -> Reply {
    let body = req.json_body()?;
    let (display_name, description) = application_fields(&body, true)?;
    let unique_name = match body.get("uniqueName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => return Err(invalid_property("uniqueName", "Application")),
    };
    let marks = ApplicationMarks::from_body(&body)?;
    let snapshot = tenant_snapshot(sandbox, caller)?;
    authorize(sandbox, &snapshot, caller, Need::CreateApplication)?;
    let result = with_tenant(sandbox, caller, |tenant| {
        if let Some(unique) = &unique_name
            && AppKey::UniqueName(unique).find(tenant).is_some()
        {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                "Request_MultipleObjectsWithSameKeyValue",
                &format!(
                    "Another object with the same value for property uniqueName already exists: '{unique}'."
                ),
            ));
        }
        let mut app = new_application(
            caller,
            display_name.unwrap_or_default(),
            unique_name.clone(),
            description.flatten(),
        );
        marks.apply(&mut app);
        let json = application_json(&app);
        tenant.applications.insert(app.id.clone(), app);
        Ok(json)
    });
    match result {
        Ok(Ok(json)) => created(req, "applications", json),
        Ok(Err(r)) | Err(r) => Err(r),
    }
}

fn application_item(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    key: AppKey<'_>,
    rest: &[&str],
) -> Reply {
    match rest {
        [] => match req.method {
            Method::GET => get_application(sandbox, caller, key),
            Method::PATCH => patch_application(sandbox, caller, req, key),
            Method::DELETE => delete_application(sandbox, caller, key),
            _ => Err(no_route(&req.method, &req.path)),
        },
        [action] if action.eq_ignore_ascii_case("addPassword") && req.method == Method::POST => {
            add_password_route(sandbox, caller, req, key)
        }
        [fics, tail @ ..] => {
            let (name, fic_key) = split_key_segment(fics);
            if !name.eq_ignore_ascii_case("federatedIdentityCredentials") {
                return Err(no_route(&req.method, &req.path));
            }
            let fic_key = match (fic_key, tail) {
                (None, []) => None,
                (None, [id_or_name]) => Some(FicKey::IdOrName((*id_or_name).to_owned())),
                (Some((k, v)), []) if k == "name" => Some(FicKey::Name(v)),
                _ => return Err(no_route(&req.method, &req.path)),
            };
            federated_credentials(sandbox, caller, req, key, fic_key)
        }
    }
}

/// Finds a visible (replicated) application, or the 404 Graph gives.
/// The application `key` names, visible (replicated) in the caller's tenant, once the caller
/// may read it, or with `manage` change it.
fn visible_app(
    sandbox: &EntraSandbox,
    caller: &Caller,
    key: AppKey<'_>,
    manage: bool,
) -> Result<Application, Response> {
    let tenant = tenant_snapshot(sandbox, caller)?;
    let app = find_visible(sandbox, &tenant, key)?;
    let need = if manage {
        Need::ManageApplication(&app)
    } else {
        Need::Read
    };
    authorize(sandbox, &tenant, caller, need)?;
    Ok(app)
}

fn find_visible(
    sandbox: &EntraSandbox,
    tenant: &Tenant,
    key: AppKey<'_>,
) -> Result<Application, Response> {
    match key.find(tenant) {
        Some(app) if !replicating(sandbox, app.created_ms) => Ok(app.clone()),
        _ => Err(not_found(key.text())),
    }
}

fn get_application(sandbox: &EntraSandbox, caller: &Caller, key: AppKey<'_>) -> Reply {
    let tenant = readable_tenant(sandbox, caller)?;
    let app = find_visible(sandbox, &tenant, key)?;
    Ok(axum::Json(application_json(&app)).into_response())
}

fn patch_application(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    key: AppKey<'_>,
) -> Reply {
    let body = req.json_body()?;
    let tenant = tenant_snapshot(sandbox, caller)?;
    let existing = match key {
        // The upsert key resolves without waiting for replication.
        AppKey::UniqueName(_) => key.find(&tenant).cloned(),
        _ => find_visible(sandbox, &tenant, key).ok(),
    };
    match existing {
        Some(app) => {
            if body
                .get("uniqueName")
                .is_some_and(|u| u.as_str() != app.unique_name.as_deref())
            {
                return Err(bad_request(
                    "Property 'uniqueName' is read-only once set and cannot be changed.",
                ));
            }
            let (display_name, description) = application_fields(&body, false)?;
            let marks = ApplicationMarks::from_body(&body)?;
            authorize(sandbox, &tenant, caller, Need::ManageApplication(&app))?;
            let _ = with_tenant(sandbox, caller, |t| {
                if let Some(stored) = t.applications.get_mut(&app.id) {
                    if let Some(name) = display_name {
                        stored.display_name = name;
                    }
                    if let Some(description) = description {
                        stored.description = description;
                    }
                    marks.apply(stored);
                }
            });
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        None => {
            let AppKey::UniqueName(unique) = key else {
                return Err(not_found(key.text()));
            };
            if !req.prefer_create() {
                return Err(not_found(unique));
            }
            let (display_name, description) = application_fields(&body, true)?;
            let marks = ApplicationMarks::from_body(&body)?;
            authorize(sandbox, &tenant, caller, Need::CreateApplication)?;
            let mut app = new_application(
                caller,
                display_name.unwrap_or_default(),
                Some(unique.to_owned()),
                description.flatten(),
            );
            marks.apply(&mut app);
            let json = application_json(&app);
            let _ = with_tenant(sandbox, caller, |t| {
                t.applications.insert(app.id.clone(), app)
            });
            created(req, "applications", json)
        }
    }
}

fn delete_application(sandbox: &EntraSandbox, caller: &Caller, key: AppKey<'_>) -> Reply {
    let app = visible_app(sandbox, caller, key, true)?;
    let _ = with_tenant(sandbox, caller, |t| {
        t.applications.remove(&app.id);
        t.service_principals.retain(|_, sp| sp.app_id != app.app_id);
    });
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn add_password_route(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    key: AppKey<'_>,
) -> Reply {
    let body = req.json_body()?;
    let display_name = body
        .get("passwordCredential")
        .and_then(|p| p.get("displayName"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let app = visible_app(sandbox, caller, key, true)?;
    let credential = with_tenant(sandbox, caller, |t| {
        t.applications
            .get_mut(&app.id)
            .map(|stored| add_password(stored, display_name))
    });
    match credential? {
        Some(p) => Ok(axum::Json(json!({
            "@odata.context": format!("{}/v1.0/$metadata#microsoft.graph.passwordCredential", req.base),
            "customKeyIdentifier": null,
            "displayName": p.display_name,
            "endDateTime": rfc3339(p.end_ms / 1000 * 1000),
            "hint": p.secret.chars().take(3).collect::<String>(),
            "keyId": p.key_id,
            "secretText": p.secret,
            "startDateTime": rfc3339(p.start_ms / 1000 * 1000),
        }))
        .into_response()),
        None => Err(not_found(key.text())),
    }
}

// ---- federated identity credentials ------------------------------------------------------

#[derive(Debug, Clone)]
enum FicKey {
    IdOrName(String),
    Name(String),
}

fn valid_fic_name(name: &str) -> bool {
    let len = name.chars().count();
    (3..=120).contains(&len)
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The validated writable fields of a federated credential body (`None` = not given).
struct FicFields {
    issuer: Option<String>,
    subject: Option<String>,
    audiences: Option<Vec<String>>,
    description: Option<Option<String>>,
}

fn fic_fields(body: &serde_json::Map<String, Value>) -> Result<FicFields, Response> {
    const RESOURCE: &str = "FederatedIdentityCredential";
    for key in body.keys() {
        if ![
            "name",
            "issuer",
            "subject",
            "audiences",
            "description",
            "@odata.type",
        ]
        .contains(&key.as_str())
        {
            return Err(bad_request(&format!(
                "Property '{key}' does not exist on type 'microsoft.graph.federatedIdentityCredential'."
            )));
        }
    }
    let text = |key: &str| -> Result<Option<String>, Response> {
        match body.get(key) {
            None => Ok(None),
            Some(Value::String(s))
                if !s.trim().is_empty() && s.chars().count() <= MAX_FIC_FIELD =>
            {
                Ok(Some(s.clone()))
            }
            _ => Err(invalid_property(key, RESOURCE)),
        }
    };
    let audiences = match body.get("audiences") {
        None => None,
        Some(Value::Array(items)) => {
            let values: Option<Vec<String>> = items
                .iter()
                .map(|v| {
                    v.as_str()
                        .filter(|s| !s.trim().is_empty() && s.chars().count() <= MAX_FIC_FIELD)
                        .map(str::to_owned)
                })
                .collect();
            match values {
                Some(values) if values.len() == 1 => Some(values),
                _ => return Err(invalid_property("audiences", RESOURCE)),
            }
        }
        Some(_) => return Err(invalid_property("audiences", RESOURCE)),
    };
    let description = match body.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_FIC_FIELD => Some(Some(s.clone())),
        Some(_) => return Err(invalid_property("description", RESOURCE)),
    };
    Ok(FicFields {
        issuer: text("issuer")?,
        subject: text("subject")?,
        audiences,
        description,
    })
}

fn federated_credentials(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    app_key: AppKey<'_>,
    fic_key: Option<FicKey>,
) -> Reply {
    let needs_write = req.method != Method::GET;
    let app = visible_app(sandbox, caller, app_key, needs_write)?;
    let find = |key: &FicKey| -> Option<FederatedCredential> {
        app.federated_credentials
            .iter()
            .find(|f| match key {
                FicKey::IdOrName(k) => f.id == *k || f.name == *k,
                FicKey::Name(n) => f.name == *n,
            })
            .cloned()
    };
    match (&req.method, fic_key) {
        (&Method::GET, None) => filtered_page(
            req,
            &format!("applications('{}')/federatedIdentityCredentials", app.id),
            &FEDERATED_CREDENTIALS,
            &app.federated_credentials,
            federated_credential_json,
        ),
        (&Method::POST, None) => {
            let body = req.json_body()?;
            let name = match body.get("name") {
                Some(Value::String(n)) if valid_fic_name(n) => n.clone(),
                _ => return Err(invalid_property("name", "FederatedIdentityCredential")),
            };
            create_fic(sandbox, caller, req, &app, &name, &body)
        }
        (&Method::GET, Some(key)) => match find(&key) {
            Some(fic) => Ok(axum::Json(federated_credential_json(&fic)).into_response()),
            None => Err(not_found(match &key {
                FicKey::IdOrName(k) | FicKey::Name(k) => k,
            })),
        },
        (&Method::DELETE, Some(key)) => match find(&key) {
            Some(fic) => {
                let _ = with_tenant(sandbox, caller, |t| {
                    if let Some(stored) = t.applications.get_mut(&app.id) {
                        stored.federated_credentials.retain(|f| f.id != fic.id);
                    }
                });
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            None => Err(not_found(match &key {
                FicKey::IdOrName(k) | FicKey::Name(k) => k,
            })),
        },
        (&Method::PATCH, Some(key)) => {
            let body = req.json_body()?;
            match find(&key) {
                Some(existing) => update_fic(sandbox, caller, &app, &existing, &body),
                None => match key {
                    FicKey::Name(name) if req.prefer_create() => {
                        if body
                            .get("name")
                            .is_some_and(|n| n.as_str() != Some(name.as_str()))
                        {
                            return Err(bad_request(
                                "The name in the request body must match the name in the URL.",
                            ));
                        }
                        if !valid_fic_name(&name) {
                            return Err(invalid_property("name", "FederatedIdentityCredential"));
                        }
                        create_fic(sandbox, caller, req, &app, &name, &body)
                    }
                    FicKey::Name(k) | FicKey::IdOrName(k) => Err(not_found(&k)),
                },
            }
        }
        _ => Err(no_route(&req.method, &req.path)),
    }
}

fn create_fic(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    app: &Application,
    name: &str,
    body: &serde_json::Map<String, Value>,
) -> Reply {
    let fields = fic_fields(body)?;
    let (Some(issuer), Some(subject), Some(audiences)) =
        (fields.issuer, fields.subject, fields.audiences)
    else {
        let missing = if body.get("issuer").is_none() {
            "issuer"
        } else if body.get("subject").is_none() {
            "subject"
        } else {
            "audiences"
        };
        return Err(invalid_property(missing, "FederatedIdentityCredential"));
    };
    if app.federated_credentials.iter().any(|f| f.name == name) {
        return Err(graph_error(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            &format!("FederatedIdentityCredential with name {name} already exists."),
        ));
    }
    if app
        .federated_credentials
        .iter()
        .any(|f| f.issuer == issuer && f.subject == subject)
    {
        return Err(bad_request(
            "Combination of issuer and subject must be unique. A FederatedIdentityCredential with the same issuer and subject already exists.",
        ));
    }
    if app.federated_credentials.len() >= MAX_FEDERATED_CREDENTIALS {
        return Err(graph_error(
            StatusCode::FORBIDDEN,
            "Directory_ResourceSizeExceeded",
            "Size of object exceeded limit. Please reduce the number of values and retry your request. An application can have at most 20 federated identity credentials.",
        ));
    }
    let fic = FederatedCredential {
        id: new_guid(),
        name: name.to_owned(),
        issuer,
        subject,
        audiences,
        description: fields.description.flatten(),
    };
    let json = federated_credential_json(&fic);
    let _ = with_tenant(sandbox, caller, |t| {
        if let Some(stored) = t.applications.get_mut(&app.id) {
            stored.federated_credentials.push(fic);
        }
    });
    created(
        req,
        &format!("applications('{}')/federatedIdentityCredentials", app.id),
        json,
    )
}

fn update_fic(
    sandbox: &EntraSandbox,
    caller: &Caller,
    app: &Application,
    existing: &FederatedCredential,
    body: &serde_json::Map<String, Value>,
) -> Reply {
    if body
        .get("name")
        .is_some_and(|n| n.as_str() != Some(existing.name.as_str()))
    {
        return Err(bad_request(
            "Property 'name' is read-only and cannot be changed.",
        ));
    }
    let fields = fic_fields(body)?;
    let mut updated = existing.clone();
    if let Some(issuer) = fields.issuer {
        updated.issuer = issuer;
    }
    if let Some(subject) = fields.subject {
        updated.subject = subject;
    }
    if let Some(audiences) = fields.audiences {
        updated.audiences = audiences;
    }
    if let Some(description) = fields.description {
        updated.description = description;
    }
    if app
        .federated_credentials
        .iter()
        .any(|f| f.id != updated.id && f.issuer == updated.issuer && f.subject == updated.subject)
    {
        return Err(bad_request(
            "Combination of issuer and subject must be unique. A FederatedIdentityCredential with the same issuer and subject already exists.",
        ));
    }
    let _ = with_tenant(sandbox, caller, |t| {
        if let Some(stored) = t.applications.get_mut(&app.id)
            && let Some(slot) = stored
                .federated_credentials
                .iter_mut()
                .find(|f| f.id == updated.id)
        {
            *slot = updated;
        }
    });
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- service principals ------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum SpKey<'a> {
    Id(&'a str),
    AppId(&'a str),
}

fn sp_json(tenant: &Tenant, sp: &ServicePrincipal) -> Value {
    let app_name = tenant
        .applications
        .values()
        .find(|a| a.app_id == sp.app_id)
        .map(|a| a.display_name.clone())
        .unwrap_or_else(|| sp.display_name.clone());
    service_principal_json(sp, &app_name, &tenant.id)
}

fn list_service_principals(sandbox: &EntraSandbox, caller: &Caller, req: &Request) -> Reply {
    let tenant = readable_tenant(sandbox, caller)?;
    filtered_page(
        req,
        "servicePrincipals",
        &SERVICE_PRINCIPALS,
        tenant.service_principals.values(),
        |sp| sp_json(&tenant, sp),
    )
}

fn no_backing_application(app_id: &str) -> Response {
    let message = format!(
        "The appId '{app_id}' of the service principal does not reference a valid application object."
    );
    graph_error_with_details(
        StatusCode::BAD_REQUEST,
        "Request_BadRequest",
        &message,
        vec![
            json!({ "code": "NoBackingApplicationObject", "message": message, "target": "appId" }),
        ],
    )
}

/// Creates the SP for `app_id` after the checks Graph makes.
fn insert_service_principal(
    sandbox: &EntraSandbox,
    caller: &Caller,
    tenant: &Tenant,
    app_id: &str,
    tags: Vec<String>,
) -> Result<Value, Response> {
    let app = match tenant.applications.values().find(|a| a.app_id == app_id) {
        Some(app) if !replicating(sandbox, app.created_ms) => app.clone(),
        _ => return Err(no_backing_application(app_id)),
    };
    authorize(sandbox, tenant, caller, Need::ManageApplication(&app))?;
    if tenant
        .service_principals
        .values()
        .any(|sp| sp.app_id == app_id)
    {
        return Err(graph_error(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property appId already exists.",
        ));
    }
    let sp = ServicePrincipal {
        id: new_guid(),
        app_id: app_id.to_owned(),
        display_name: app.display_name.clone(),
        created_ms: now_ms(),
        tags,
    };
    let json = sp_json(tenant, &sp);
    with_tenant(sandbox, caller, |t| {
        t.service_principals.insert(sp.id.clone(), sp)
    })?;
    Ok(json)
}

fn sp_tags(body: &serde_json::Map<String, Value>) -> Vec<String> {
    body.get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn create_service_principal(sandbox: &EntraSandbox, caller: &Caller, req: &Request) -> Reply {
    let body = req.json_body()?;
    let Some(app_id) = body.get("appId").and_then(Value::as_str).map(str::to_owned) else {
        return Err(invalid_property("appId", "ServicePrincipal"));
    };
    let tenant = tenant_snapshot(sandbox, caller)?;
    let json = insert_service_principal(sandbox, caller, &tenant, &app_id, sp_tags(&body))?;
    created(req, "servicePrincipals", json)
}

fn service_principal_item(
    sandbox: &EntraSandbox,
    caller: &Caller,
    req: &Request,
    key: SpKey<'_>,
) -> Reply {
    let tenant = tenant_snapshot(sandbox, caller)?;
    let existing = tenant
        .service_principals
        .values()
        .find(|sp| match key {
            SpKey::Id(id) => sp.id == id,
            SpKey::AppId(app_id) => sp.app_id == app_id,
        })
        .cloned();
    let key_text = match key {
        SpKey::Id(s) | SpKey::AppId(s) => s,
    };
    match (&req.method, existing) {
        (&Method::GET, Some(sp)) => {
            authorize(sandbox, &tenant, caller, Need::Read)?;
            Ok(axum::Json(sp_json(&tenant, &sp)).into_response())
        }
        (&Method::GET, None) => Err(not_found(key_text)),
        (&Method::PATCH, Some(sp)) => {
            let body = req.json_body()?;
            if let Some(app) = tenant.applications.values().find(|a| a.app_id == sp.app_id) {
                authorize(sandbox, &tenant, caller, Need::ManageApplication(app))?;
            }
            let tags = sp_tags(&body);
            if body.contains_key("tags") {
                let _ = with_tenant(sandbox, caller, |t| {
                    if let Some(stored) = t.service_principals.get_mut(&sp.id) {
                        stored.tags = tags;
                    }
                });
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (&Method::PATCH, None) => match key {
            SpKey::AppId(app_id) if req.prefer_create() => {
                let body = req.json_body()?;
                let json =
                    insert_service_principal(sandbox, caller, &tenant, app_id, sp_tags(&body))?;
                created(req, "servicePrincipals", json)
            }
            _ => Err(not_found(key_text)),
        },
        (&Method::DELETE, Some(sp)) => {
            if let Some(app) = tenant.applications.values().find(|a| a.app_id == sp.app_id) {
                authorize(sandbox, &tenant, caller, Need::ManageApplication(app))?;
            }
            let _ = with_tenant(sandbox, caller, |t| t.service_principals.remove(&sp.id));
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (&Method::DELETE, None) => Err(not_found(key_text)),
        _ => Err(no_route(&req.method, &req.path)),
    }
}
