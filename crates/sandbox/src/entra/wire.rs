//! Wire-level pieces shared by the authority, Graph and ARM: error envelopes (AADSTS,
//! Graph, ARM), JSON shapes of directory objects, access-token minting and validation,
//! resource identifiers, OData `$filter` clauses, URL decoding, and fault rendering.
//!
//! Left out: anything service-specific about routing or authorization.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::EntraSandbox;
use super::model::{Application, FederatedCredential, RoleAssignment, ServicePrincipal, now_ms};
use crate::faults::FaultKind as Fault;

/// Graph's own application id (a resource identifier of Graph).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Graph's canonical resource URI (the `aud` of Graph tokens).
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// ARM's canonical resource URI.
pub const ARM_RESOURCE: &str = "https://management.azure.com/";
/// Azure Service Management's application id.
pub const ARM_APP_ID: &str = "797f4846-ba00-4fd7-ba43-dac1f8f63013";

/// RFC 3339 time for `ms` Unix milliseconds.
pub fn rfc3339(ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Which service a token resource identifier names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Graph,
    Arm,
    Other(String),
}

impl Resource {
    pub fn from_identifier(identifier: &str) -> Resource {
        let trimmed = identifier.trim_end_matches('/').to_ascii_lowercase();
        match trimmed.as_str() {
            "https://graph.microsoft.com" | GRAPH_APP_ID => Resource::Graph,
            "https://management.azure.com" | "https://management.core.windows.net" | ARM_APP_ID => {
                Resource::Arm
            }
            _ => Resource::Other(identifier.to_owned()),
        }
    }

    /// The `aud` claim of tokens for this resource.
    pub fn audience(&self) -> String {
        match self {
            Resource::Graph => GRAPH_RESOURCE.to_owned(),
            Resource::Arm => ARM_RESOURCE.to_owned(),
            Resource::Other(id) => id.clone(),
        }
    }
}

/// Scopes of a token request, split into the resource they address and the permission
/// part. OIDC scopes (`openid`, `profile`, `email`, `offline_access`) are set aside.
#[derive(Debug, Clone, Default)]
pub struct ScopeSet {
    pub resources: Vec<Resource>,
    pub permissions: Vec<String>,
    pub offline_access: bool,
    pub openid: bool,
    pub all_default: bool,
}

pub fn parse_scopes(scope: &str) -> ScopeSet {
    let mut set = ScopeSet {
        all_default: true,
        ..ScopeSet::default()
    };
    for item in scope.split_whitespace() {
        match item {
            "offline_access" => set.offline_access = true,
            "openid" => set.openid = true,
            "profile" | "email" => {}
            _ => {
                let (resource, permission) = match item.rfind('/') {
                    Some(i) if item.contains("://") || item[..i].len() == 36 => {
                        (Resource::from_identifier(&item[..i]), &item[i + 1..])
                    }
                    Some(i) if !item[..i].contains(':') => {
                        (Resource::from_identifier(&item[..i]), &item[i + 1..])
                    }
                    _ => (Resource::Graph, item),
                };
                if permission != ".default" {
                    set.all_default = false;
                }
                set.permissions.push(permission.to_owned());
                if !set.resources.contains(&resource) {
                    set.resources.push(resource);
                }
            }
        }
    }
    set
}

/// Who called Graph or ARM, from a validated access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: String,
    pub object_id: String,
    /// `Some(appId)` for app-only tokens.
    pub app_id: Option<String>,
    pub user_principal_name: Option<String>,
}

/// Why Graph/ARM rejected the bearer token.
#[derive(Debug)]
pub enum BearerRejection {
    Missing,
    Invalid(String),
    Expired,
    WrongAudience(String),
}

/// Mints an access token with the sandbox authority's key.
pub fn mint_access_token(
    sandbox: &EntraSandbox,
    issuer_base: &str,
    tenant_id: &str,
    resource: &Resource,
    mut claims: serde_json::Map<String, Value>,
) -> Result<(String, u64), String> {
    let lifetime = sandbox.config().access_token_lifetime.as_secs();
    let now = now_ms() / 1000;
    claims.insert("aud".into(), json!(resource.audience()));
    claims.insert(
        "iss".into(),
        json!(format!("{issuer_base}/{tenant_id}/v2.0")),
    );
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(now + lifetime));
    claims.insert("tid".into(), json!(tenant_id));
    claims.insert("ver".into(), json!("2.0"));
    claims.insert("uti".into(), json!(super::model::random_token(22)));
    let state = sandbox.state();
    let token = state
        .signing_key
        .mint(Algorithm::RS256, &Value::Object(claims))
        .map_err(|e| e.to_string())?;
    Ok((token, lifetime))
}

/// Validates a bearer token minted by this sandbox for `resource`.
pub fn validate_bearer(
    sandbox: &EntraSandbox,
    headers: &HeaderMap,
    resource: &Resource,
) -> Result<Caller, BearerRejection> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(BearerRejection::Missing)?;
    let jwk = sandbox.state().signing_key.public_jwk(Algorithm::RS256);
    let n = jwk["n"].as_str().unwrap_or_default();
    let e = jwk["e"].as_str().unwrap_or_default();
    let key = DecodingKey::from_rsa_components(n, e)
        .map_err(|e| BearerRejection::Invalid(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => BearerRejection::Expired,
            _ => BearerRejection::Invalid(e.to_string()),
        })?;
    let claims = data.claims;
    let aud = claims
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if Resource::from_identifier(aud) != *resource {
        return Err(BearerRejection::WrongAudience(aud.to_owned()));
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let tenant_id = text("tid").ok_or_else(|| BearerRejection::Invalid("no tid".into()))?;
    let object_id = text("oid").ok_or_else(|| BearerRejection::Invalid("no oid".into()))?;
    let is_app = text("idtyp").as_deref() == Some("app");
    Ok(Caller {
        tenant_id,
        object_id,
        app_id: if is_app { text("appid") } else { None },
        user_principal_name: text("upn"),
    })
}

// ---- error envelopes -------------------------------------------------------------------

/// An OAuth error from the authority, in Entra's body shape.
pub fn aadsts(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let now = OffsetDateTime::now_utc();
    let timestamp = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, no_store(), axum::Json(body)).into_response()
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    )]
}

/// A Graph error envelope.
pub fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    graph_error_with_details(status, code, message, Vec::new())
}

/// A Graph error envelope with `details[]`.
pub fn graph_error_with_details(
    status: StatusCode,
    code: &str,
    message: &str,
    details: Vec<Value>,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut error = json!({
        "code": code,
        "message": message,
        "innerError": {
            "date": rfc3339(now_ms() / 1000 * 1000).trim_end_matches('Z').to_owned() + "Z",
            "request-id": request_id,
            "client-request-id": request_id,
        }
    });
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// An ARM CloudError envelope.
pub fn arm_error(status: StatusCode, code: &str, message: &str) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    (
        status,
        [
            ("x-ms-request-id", request_id.clone()),
            ("x-ms-correlation-request-id", request_id),
        ],
        axum::Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// What a Graph or ARM handler answers: `Err` is an error response in the API's own
/// envelope, so `?` ends the request with it.
pub type Reply = Result<Response, Response>;

/// Which envelope a fault is rendered in.
#[derive(Debug, Clone, Copy)]
pub enum Envelope {
    Authority,
    Graph,
    Arm,
}

/// Applies the fault knobs for (`service`, `operation`): `Some(response)` when the request
/// must fail (throttled, server error, dropped connection).
pub async fn injected_fault(
    sandbox: &EntraSandbox,
    envelope: Envelope,
    service: &str,
    operation: &str,
) -> Option<Response> {
    let fault = sandbox.inner.faults.before(service, operation).await?;
    Some(match fault {
        Fault::Throttle { retry_after_secs } => {
            let mut response = match envelope {
                Envelope::Authority => aadsts(
                    StatusCode::TOO_MANY_REQUESTS,
                    "temporarily_unavailable",
                    90033,
                    "A transient error has occurred. Please try again.",
                ),
                Envelope::Graph => graph_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "Too many requests. Please retry after the time in the Retry-After header.",
                ),
                Envelope::Arm => arm_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "The request is being throttled as the limit has been reached for operation type.",
                ),
            };
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Fault::ServerError { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            match envelope {
                Envelope::Authority => aadsts(
                    status,
                    "server_error",
                    90033,
                    "A transient error has occurred. Please try again.",
                ),
                Envelope::Graph => graph_error(
                    status,
                    server_error_code(status, "serviceNotAvailable", "generalException"),
                    "The service is temporarily unavailable.",
                ),
                Envelope::Arm => arm_error(
                    status,
                    server_error_code(status, "ServiceUnavailable", "InternalServerError"),
                    "The server encountered an internal error. Please retry the request.",
                ),
            }
        }
        Fault::DropConnection => crate::faults::dropped_connection(),
    })
}

// ---- JSON shapes -----------------------------------------------------------------------

pub fn application_json(app: &Application) -> Value {
    json!({
        "id": app.id,
        "appId": app.app_id,
        "displayName": app.display_name,
        "uniqueName": app.unique_name,
        "description": app.description,
        "signInAudience": app.sign_in_audience,
        "createdDateTime": rfc3339(app.created_ms / 1000 * 1000),
        "deletedDateTime": null,
        "identifierUris": [],
        "notes": app.notes,
        "tags": app.tags,
        "keyCredentials": [],
        "passwordCredentials": app.password_credentials.iter().map(|p| json!({
            "customKeyIdentifier": null,
            "displayName": p.display_name,
            "endDateTime": rfc3339(p.end_ms / 1000 * 1000),
            "hint": p.secret.chars().take(3).collect::<String>(),
            "keyId": p.key_id,
            "secretText": null,
            "startDateTime": rfc3339(p.start_ms / 1000 * 1000),
        })).collect::<Vec<_>>(),
        "publicClient": { "redirectUris": [] },
        "web": { "redirectUris": [], "homePageUrl": null, "logoutUrl": null },
        "requiredResourceAccess": [],
    })
}

pub fn service_principal_json(
    sp: &ServicePrincipal,
    app_display_name: &str,
    tenant_id: &str,
) -> Value {
    json!({
        "id": sp.id,
        "appId": sp.app_id,
        "displayName": sp.display_name,
        "appDisplayName": app_display_name,
        "appOwnerOrganizationId": tenant_id,
        "accountEnabled": true,
        "servicePrincipalType": "Application",
        "servicePrincipalNames": [sp.app_id],
        "signInAudience": "AzureADMyOrg",
        "tags": sp.tags,
        "deletedDateTime": null,
    })
}

pub fn federated_credential_json(fic: &FederatedCredential) -> Value {
    json!({
        "id": fic.id,
        "name": fic.name,
        "issuer": fic.issuer,
        "subject": fic.subject,
        "audiences": fic.audiences,
        "description": fic.description,
    })
}

pub fn role_assignment_json(ra: &RoleAssignment) -> Value {
    let scope = ra.scope.trim_end_matches('/');
    json!({
        "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{}", ra.name),
        "type": "Microsoft.Authorization/roleAssignments",
        "name": ra.name,
        "properties": {
            "roleDefinitionId": ra.role_definition_id,
            "principalId": ra.principal_id,
            "principalType": ra.principal_type,
            "scope": if scope.is_empty() { "/" } else { scope },
            "condition": null,
            "conditionVersion": null,
            "createdOn": rfc3339(ra.created_ms / 1000 * 1000),
            "updatedOn": rfc3339(ra.created_ms / 1000 * 1000),
            "createdBy": ra.created_by,
            "updatedBy": ra.created_by,
            "delegatedManagedIdentityResourceId": null,
            "description": null,
        }
    })
}

// ---- URLs and queries ------------------------------------------------------------------

/// Percent-decodes a URL path or component (invalid escapes are kept as they are).
pub fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(value) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parameters (form-decoded); the first occurrence of a name wins.
pub fn query_map(query: Option<&str>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    if let Some(query) = query {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    map
}

/// `http://{Host}` unless a public base URL is configured.
pub fn base_url(configured: Option<&str>, headers: &HeaderMap) -> String {
    if let Some(base) = configured {
        return base.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// One clause of an OData `$filter`: `prop eq 'value'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqClause {
    pub property: String,
    pub value: String,
}

/// Parses `a eq 'x' and b eq 'y'` (string literals with `''` escapes). `None` = unsupported.
pub fn parse_eq_filter(filter: &str) -> Option<Vec<EqClause>> {
    let mut clauses = Vec::new();
    let mut rest = filter.trim();
    loop {
        let (property, after) = rest.split_once(char::is_whitespace)?;
        let after = after.trim_start();
        let after = after.strip_prefix("eq")?.trim_start();
        let mut chars = after.char_indices();
        if chars.next()?.1 != '\'' {
            return None;
        }
        let mut value = String::new();
        let mut end = None;
        let body = &after[1..];
        let mut iter = body.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if c == '\'' {
                if matches!(iter.peek(), Some((_, '\''))) {
                    value.push('\'');
                    iter.next();
                } else {
                    end = Some(i + 2);
                    break;
                }
            } else {
                value.push(c);
            }
        }
        let end = end?;
        clauses.push(EqClause {
            property: property.to_owned(),
            value,
        });
        rest = after[end..].trim_start();
        if rest.is_empty() {
            return Some(clauses);
        }
        rest = rest.strip_prefix("and")?.trim_start();
    }
}

/// The `(key='value')` alternate-key suffix of a Graph path segment, e.g.
/// `applications(appId='…')` → `("applications", Some(("appId", "…")))`.
pub fn split_key_segment(segment: &str) -> (&str, Option<(String, String)>) {
    if let Some(open) = segment.find('(')
        && segment.ends_with(')')
    {
        let inner = &segment[open + 1..segment.len() - 1];
        if let Some((key, value)) = inner.split_once('=') {
            let value = value.trim();
            if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
                let value = value[1..value.len() - 1].replace("''", "'");
                return (&segment[..open], Some((key.trim().to_owned(), value)));
            }
        }
        return (&segment[..open], Some((String::new(), inner.to_owned())));
    }
    (segment, None)
}

/// A server error's code: `unavailable` for a 503, `other` for any other status.
fn server_error_code(
    status: StatusCode,
    unavailable: &'static str,
    other: &'static str,
) -> &'static str {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        unavailable
    } else {
        other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_with_escapes_and_conjunctions() {
        assert_eq!(
            parse_eq_filter("displayName eq 'O''Brien app' and appId eq 'x'"),
            Some(vec![
                EqClause {
                    property: "displayName".into(),
                    value: "O'Brien app".into()
                },
                EqClause {
                    property: "appId".into(),
                    value: "x".into()
                }
            ])
        );
        assert_eq!(parse_eq_filter("startswith(displayName,'a')"), None);
        assert_eq!(parse_eq_filter("name eq 'unterminated"), None);
    }

    #[test]
    fn scopes_name_their_resource() {
        let set = parse_scopes("https://graph.microsoft.com/.default offline_access openid");
        assert_eq!(set.resources, vec![Resource::Graph]);
        assert!(set.offline_access && set.all_default);
        let mixed = parse_scopes(
            "https://graph.microsoft.com/.default https://management.azure.com//.default",
        );
        assert_eq!(mixed.resources, vec![Resource::Graph, Resource::Arm]);
        assert_eq!(parse_scopes("User.Read").resources, vec![Resource::Graph]);
        assert_eq!(
            parse_scopes("api://AzureADTokenExchange/.default").resources,
            vec![Resource::Other("api://AzureADTokenExchange".into())]
        );
    }

    #[test]
    fn key_segments_and_percent_decoding() {
        assert_eq!(
            split_key_segment("applications(appId='a''b')"),
            ("applications", Some(("appId".into(), "a'b".into())))
        );
        assert_eq!(split_key_segment("applications"), ("applications", None));
        assert_eq!(percent_decode("a%27b%20c%2"), "a'b c%2");
    }
}
