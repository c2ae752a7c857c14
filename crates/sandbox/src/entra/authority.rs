//! The sandbox Entra ID authority (`login.microsoftonline.com`): discovery, JWKS, the
//! authorize page (auth code + PKCE, loopback redirects), the token endpoint and device code.
//!
//! Token endpoint grants: `authorization_code`, `refresh_token`, device code, and
//! `client_credentials` with a client secret or a client assertion. The client assertion is
//! the workload-identity-federation path: the app's federated credentials are matched on the
//! exact issuer, the assertion is verified for real through the issuer's discovery document
//! and JWKS ([`crate::token_validation::RemoteIssuers`]), then subject and audience are
//! matched exactly (case-sensitive), each failure with the `AADSTS` code Entra uses.
//!
//! Left out: consent prompts, MFA / conditional access, certificates as client credentials,
//! `id_token` response types, `form_post`, sign-out.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};

use super::EntraSandbox;
use super::federation::{Assertion, Credential, Mismatch, match_credential};
use super::model::{
    AuthCode, DeviceCode, DirectoryState, RefreshGrant, User, now_ms, random_token,
};
use super::wire::{
    Envelope, Resource, ScopeSet, aadsts, base_url, injected_fault, mint_access_token,
    parse_scopes, query_map,
};
use crate::token_validation::{RemoteIssuers, TokenRejection, claim_strings};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const AUTH_CODE_LIFETIME_MS: u64 = 10 * 60 * 1000;
const REFRESH_LIFETIME_MS: u64 = 90 * 24 * 3600 * 1000;
const DEVICE_CODE_LIFETIME_SECS: u64 = 900;

pub fn router(sandbox: EntraSandbox) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize_page).post(authorize_submit),
        )
        .route("/{tenant}/oauth2/v2.0/token", axum::routing::post(token))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            axum::routing::post(device_code),
        )
        .route(
            "/devicelogin",
            get(device_login_page).post(device_login_submit),
        )
        .with_state(sandbox)
}

fn authority_base(sandbox: &EntraSandbox, headers: &HeaderMap) -> String {
    base_url(sandbox.config().authority_url.as_deref(), headers)
}

fn is_multi_tenant_alias(segment: &str) -> bool {
    matches!(
        segment.to_ascii_lowercase().as_str(),
        "organizations" | "common" | "consumers"
    )
}

/// Why a user may not sign in at a tenant path segment.
enum TenantRefusal {
    /// No such tenant (AADSTS90002).
    NotFound,
    /// The user is not a member of it (AADSTS50020, with Entra's message).
    NotMember(String),
}

/// The tenant a user signs in to at the path segment `tenant`: their home tenant for the
/// multi-tenant aliases, else the named tenant when they belong to it.
fn sign_in_tenant(
    state: &DirectoryState,
    user: &User,
    tenant: &str,
) -> Result<String, TenantRefusal> {
    if is_multi_tenant_alias(tenant) {
        return Ok(user.tenant_ids[0].clone());
    }
    let t = state
        .resolve_tenant(tenant)
        .ok_or(TenantRefusal::NotFound)?;
    if !user.tenant_ids.contains(&t.id) {
        return Err(TenantRefusal::NotMember(format!(
            "User account '{}' from identity provider 'https://sts.windows.net/{}/' does not exist in tenant '{}' and cannot access the application in that tenant.",
            user.user_principal_name, user.tenant_ids[0], t.display_name
        )));
    }
    Ok(t.id.clone())
}

fn tenant_not_found(segment: &str) -> Response {
    aadsts(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        &format!(
            "Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
        ),
    )
}

async fn discovery(
    State(sandbox): State<EntraSandbox>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let base = authority_base(&sandbox, &headers);
    let issuer_tenant = if is_multi_tenant_alias(&tenant) {
        "{tenantid}".to_owned()
    } else {
        match sandbox.state().resolve_tenant(&tenant) {
            Some(t) => t.id.clone(),
            None => return tenant_not_found(&tenant),
        }
    };
    axum::Json(json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "tid", "oid", "preferred_username", "name"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "msgraph_host": "graph.microsoft.com",
    }))
    .into_response()
}

async fn jwks(State(sandbox): State<EntraSandbox>, Path(tenant): Path<String>) -> Response {
    if !is_multi_tenant_alias(&tenant) && sandbox.state().resolve_tenant(&tenant).is_none() {
        return tenant_not_found(&tenant);
    }
    let jwk = sandbox
        .state()
        .signing_key
        .public_jwk(jsonwebtoken::Algorithm::RS256);
    axum::Json(json!({ "keys": [jwk] })).into_response()
}

// ---- authorize ---------------------------------------------------------------------------

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn error_page(code: u32, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><title>Sign in</title><h1>Sorry, but we're having trouble signing you in.</h1><p id=\"error\">AADSTS{code}: {}</p>",
            html_escape(message)
        )),
    )
        .into_response()
}

/// Whether a requested redirect URI matches a registered one: for `localhost` the port is
/// ignored and the path must match exactly; anything else must match exactly.
pub fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(reg), Ok(req)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    reg.scheme() == "http"
        && req.scheme() == "http"
        && reg.host_str() == Some("localhost")
        && req.host_str() == Some("localhost")
        && reg.path() == req.path()
        && reg.query() == req.query()
}

/// Validates client and redirect URI; `Err` is the error page (never a redirect).
fn check_client(
    state: &DirectoryState,
    params: &BTreeMap<String, String>,
) -> Result<(String, String), Response> {
    let client_id = params.get("client_id").cloned().unwrap_or_default();
    let Some(registered) = state.public_clients.get(&client_id) else {
        return Err(error_page(
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
            ),
        ));
    };
    let redirect_uri = params.get("redirect_uri").cloned().unwrap_or_default();
    if !registered
        .iter()
        .any(|r| redirect_uri_matches(r, &redirect_uri))
    {
        return Err(error_page(
            50011,
            &format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal."
            ),
        ));
    }
    Ok((client_id, redirect_uri))
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return error_page(50011, "The redirect URI is not a valid URL."),
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

fn redirect_error(
    redirect_uri: &str,
    state: Option<&String>,
    error: &str,
    code: u32,
    message: &str,
) -> Response {
    let description = format!("AADSTS{code}: {message}");
    let mut pairs = vec![
        ("error", error),
        ("error_description", description.as_str()),
    ];
    if let Some(state) = state {
        pairs.push(("state", state.as_str()));
    }
    redirect_with(redirect_uri, &pairs)
}

fn login_form(tenant: &str, params: &BTreeMap<String, String>, error: Option<&str>) -> Response {
    let hidden: String = params
        .iter()
        .filter(|(k, _)| k.as_str() != "username" && k.as_str() != "password")
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                html_escape(k),
                html_escape(v)
            )
        })
        .collect();
    let login_hint = params.get("login_hint").map(String::as_str).unwrap_or("");
    let error = error
        .map(|e| format!("<p id=\"error\">{}</p>", html_escape(e)))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><title>Sign in to your account (sandbox)</title><h1>Sign in</h1>{error}\
         <p id=\"sandbox-user\">Sandbox user: <code>{user}</code>, password <code>{password}</code></p>\
         <form method=\"post\" action=\"/{tenant}/oauth2/v2.0/authorize\">{hidden}\
         <label>Email <input name=\"username\" value=\"{}\"></label>\
         <label>Password <input name=\"password\" type=\"password\"></label>\
         <button type=\"submit\">Sign in</button></form>",
        html_escape(login_hint),
        tenant = html_escape(tenant),
        user = html_escape(super::DEFAULT_USER),
        password = html_escape(super::DEFAULT_PASSWORD),
    ))
    .into_response()
}

async fn authorize_page(
    State(sandbox): State<EntraSandbox>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(fault) =
        injected_fault(&sandbox, Envelope::Authority, "entra", "GET authorize").await
    {
        return fault;
    }
    let params = query_map(query.as_deref());
    let auto_user = sandbox.config().auto_approve_user;
    let prepared = {
        let state = sandbox.state();
        prepare_authorize(&state, &tenant, &params)
    };
    if let Err(response) = prepared {
        return response;
    }
    if let Some(user) = auto_user {
        let hint_matches = params
            .get("login_hint")
            .is_none_or(|hint| hint.eq_ignore_ascii_case(&user));
        if hint_matches {
            return complete_sign_in(&sandbox, &tenant, &params, &user, None);
        }
    }
    login_form(&tenant, &params, None)
}

async fn authorize_submit(
    State(sandbox): State<EntraSandbox>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let params = form_map(&body);
    {
        let state = sandbox.state();
        if let Err(response) = prepare_authorize(&state, &tenant, &params) {
            return response;
        }
    }
    let username = params.get("username").cloned().unwrap_or_default();
    let password = params.get("password").cloned().unwrap_or_default();
    complete_sign_in(&sandbox, &tenant, &params, &username, Some(&password))
}

/// Checks tenant, client, redirect URI and the protocol parameters.
fn prepare_authorize(
    state: &DirectoryState,
    tenant: &str,
    params: &BTreeMap<String, String>,
) -> Result<(), Response> {
    if !is_multi_tenant_alias(tenant) && state.resolve_tenant(tenant).is_none() {
        return Err(error_page(90002, &format!("Tenant '{tenant}' not found.")));
    }
    let (_, redirect_uri) = check_client(state, params)?;
    let st = params.get("state");
    if params.get("response_type").map(String::as_str) != Some("code") {
        return Err(redirect_error(
            &redirect_uri,
            st,
            "unsupported_response_type",
            700054,
            "response_type 'code' is the only one this sandbox supports.",
        ));
    }
    match params.get("code_challenge_method").map(String::as_str) {
        None | Some("S256") | Some("plain") => {}
        Some(other) => {
            return Err(redirect_error(
                &redirect_uri,
                st,
                "invalid_request",
                501491,
                &format!(
                    "Invalid size of Code_Challenge parameter or unsupported method '{other}'."
                ),
            ));
        }
    }
    if params.get("scope").is_none_or(|s| s.trim().is_empty()) {
        return Err(redirect_error(
            &redirect_uri,
            st,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        ));
    }
    Ok(())
}

fn complete_sign_in(
    sandbox: &EntraSandbox,
    tenant: &str,
    params: &BTreeMap<String, String>,
    username: &str,
    password: Option<&str>,
) -> Response {
    let mut state = sandbox.state();
    let redirect_uri = params.get("redirect_uri").cloned().unwrap_or_default();
    let Some(user) = state.user_by_upn(username).cloned() else {
        drop(state);
        return login_form(
            tenant,
            params,
            Some("AADSTS50034: The user account does not exist in this directory."),
        );
    };
    if let Some(password) = password
        && password != user.password
    {
        drop(state);
        return login_form(
            tenant,
            params,
            Some("AADSTS50126: Error validating credentials due to invalid username or password."),
        );
    }
    let tenant_id = match sign_in_tenant(&state, &user, tenant) {
        Ok(id) => id,
        Err(TenantRefusal::NotFound) => {
            return error_page(90002, &format!("Tenant '{tenant}' not found."));
        }
        Err(TenantRefusal::NotMember(message)) => return error_page(50020, &message),
    };
    let code = random_token(64);
    state.auth_codes.insert(
        code.clone(),
        AuthCode {
            client_id: params.get("client_id").cloned().unwrap_or_default(),
            redirect_uri: redirect_uri.clone(),
            code_challenge: params.get("code_challenge").map(|c| {
                if params.get("code_challenge_method").map(String::as_str) == Some("plain") {
                    format!("plain:{c}")
                } else {
                    c.clone()
                }
            }),
            user_id: user.id.clone(),
            tenant_id,
            scope: params.get("scope").cloned().unwrap_or_default(),
            expires_ms: now_ms() + AUTH_CODE_LIFETIME_MS,
            redeemed: false,
            code_verifier: None,
        },
    );
    drop(state);
    let mut pairs = vec![("code", code.as_str())];
    if let Some(st) = params.get("state") {
        pairs.push(("state", st.as_str()));
    }
    redirect_with(&redirect_uri, &pairs)
}

// ---- token endpoint ----------------------------------------------------------------------

fn form_map(body: &[u8]) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    map
}

/// The parameters `names` of a token request, in order; Entra's `AADSTS900144` for the first
/// one that is absent.
fn required<'p, const N: usize>(
    params: &'p BTreeMap<String, String>,
    names: [&str; N],
) -> Result<[&'p String; N], Response> {
    let mut values = Vec::with_capacity(N);
    for name in names {
        values.push(params.get(name).ok_or_else(|| missing(name))?);
    }
    Ok(values.try_into().expect("one value per name"))
}

fn missing(parameter: &str) -> Response {
    aadsts(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{parameter}'."),
    )
}

fn invalid_grant(code: u32, message: &str) -> Response {
    aadsts(StatusCode::BAD_REQUEST, "invalid_grant", code, message)
}

async fn token(
    State(sandbox): State<EntraSandbox>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = form_map(&body);
    if let Some((id, secret)) = basic_credentials(&headers) {
        params.entry("client_id".into()).or_insert(id);
        params.entry("client_secret".into()).or_insert(secret);
    }
    let grant_type = params.get("grant_type").cloned().unwrap_or_default();
    if let Some(fault) = injected_fault(
        &sandbox,
        Envelope::Authority,
        "entra",
        &format!("token {grant_type}"),
    )
    .await
    {
        return fault;
    }
    if grant_type.is_empty() {
        return missing("grant_type");
    }
    if !is_multi_tenant_alias(&tenant) && sandbox.state().resolve_tenant(&tenant).is_none() {
        return tenant_not_found(&tenant);
    }
    let base = authority_base(&sandbox, &headers);
    match grant_type.as_str() {
        "authorization_code" => redeem_code(&sandbox, &base, &tenant, &params),
        "refresh_token" => redeem_refresh_token(&sandbox, &base, &tenant, &params),
        DEVICE_CODE_GRANT => redeem_device_code(&sandbox, &base, &params),
        "client_credentials" => client_credentials(&sandbox, &base, &tenant, &params).await,
        other => aadsts(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        ),
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

/// The one resource a token request addresses, or the AADSTS28000 / no-scope error.
fn single_resource(scopes: &ScopeSet, raw: &str) -> Result<Resource, Response> {
    match scopes.resources.as_slice() {
        [one] => Ok(one.clone()),
        [] => Ok(Resource::Graph),
        _ => Err(aadsts(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            28000,
            &format!(
                "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {raw} is not valid."
            ),
        )),
    }
}

fn granted_scope(resource: &Resource, scopes: &ScopeSet) -> String {
    let base = match resource {
        Resource::Graph => "https://graph.microsoft.com".to_owned(),
        Resource::Arm => "https://management.azure.com".to_owned(),
        Resource::Other(id) => id.trim_end_matches('/').to_owned(),
    };
    let permissions: Vec<String> = if scopes.all_default {
        match resource {
            Resource::Graph => vec!["Application.ReadWrite.All".into(), "User.Read".into()],
            Resource::Arm => vec!["user_impersonation".into()],
            Resource::Other(_) => vec![".default".into()],
        }
    } else {
        scopes.permissions.clone()
    };
    permissions
        .iter()
        .map(|p| format!("{base}/{p}"))
        .chain(scopes.offline_access.then(|| "offline_access".to_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Issues the user token response (access token, refresh token when `offline_access`).
fn user_tokens(
    sandbox: &EntraSandbox,
    base: &str,
    tenant_id: &str,
    user_id: &str,
    client_id: &str,
    scope: &str,
    always_refresh: bool,
) -> Response {
    let scopes = parse_scopes(scope);
    let resource = match single_resource(&scopes, scope) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let Some(user) = sandbox.state().users.get(user_id).cloned() else {
        return invalid_grant(50034, "The user account does not exist in this directory.");
    };
    let granted = granted_scope(&resource, &scopes);
    let mut claims = serde_json::Map::new();
    claims.insert("oid".into(), json!(user.id));
    claims.insert("sub".into(), json!(user.id));
    claims.insert("upn".into(), json!(user.user_principal_name));
    claims.insert("preferred_username".into(), json!(user.user_principal_name));
    claims.insert("name".into(), json!(user.display_name));
    claims.insert("appid".into(), json!(client_id));
    claims.insert("azp".into(), json!(client_id));
    claims.insert("idtyp".into(), json!("user"));
    claims.insert(
        "scp".into(),
        json!(
            granted
                .split(' ')
                .filter(|s| *s != "offline_access")
                .map(|s| s.rsplit('/').next().unwrap_or(s))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    );
    let (access_token, expires_in) =
        match mint_access_token(sandbox, base, tenant_id, &resource, claims) {
            Ok(t) => t,
            Err(e) => return aadsts(StatusCode::INTERNAL_SERVER_ERROR, "server_error", 90033, &e),
        };
    let mut body = json!({
        "token_type": "Bearer",
        "scope": granted,
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
    });
    if scopes.offline_access || always_refresh {
        let refresh = format!("1.{}", random_token(120));
        sandbox.state().refresh_tokens.insert(
            refresh.clone(),
            RefreshGrant {
                client_id: client_id.to_owned(),
                user_id: user.id.clone(),
                expires_ms: now_ms() + REFRESH_LIFETIME_MS,
            },
        );
        body["refresh_token"] = json!(refresh);
    }
    if scopes.openid {
        let mut id_claims = serde_json::Map::new();
        id_claims.insert("oid".into(), json!(user.id));
        id_claims.insert("sub".into(), json!(user.id));
        id_claims.insert("preferred_username".into(), json!(user.user_principal_name));
        id_claims.insert("name".into(), json!(user.display_name));
        let client = Resource::Other(client_id.to_owned());
        if let Ok((id_token, _)) = mint_access_token(sandbox, base, tenant_id, &client, id_claims) {
            body["id_token"] = json!(id_token);
        }
    }
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store, no-cache")],
        axum::Json(body),
    )
        .into_response()
}

fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    if let Some(plain) = challenge.strip_prefix("plain:") {
        return plain == verifier;
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()) == challenge
}

fn redeem_code(
    sandbox: &EntraSandbox,
    base: &str,
    tenant: &str,
    params: &BTreeMap<String, String>,
) -> Response {
    let [code, client_id] = match required(params, ["code", "client_id"]) {
        Ok(values) => values,
        Err(missing) => return missing,
    };
    let grant = {
        let mut state = sandbox.state();
        let Some(grant) = state.auth_codes.get_mut(code) else {
            return invalid_grant(
                70000,
                "The provided value for the 'code' parameter is not valid.",
            );
        };
        if grant.redeemed {
            return invalid_grant(
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            );
        }
        if grant.expires_ms < now_ms() {
            return invalid_grant(
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
            );
        }
        if grant.client_id != *client_id {
            return invalid_grant(
                70000,
                "The provided value for the 'code' parameter is not valid. The code was issued to another client.",
            );
        }
        grant.redeemed = true;
        grant.clone()
    };
    if params.get("redirect_uri") != Some(&grant.redirect_uri) {
        return invalid_grant(
            500112,
            "The reply address does not match the reply address used in the authorization request.",
        );
    }
    if let Some(challenge) = &grant.code_challenge {
        let Some(verifier) = params.get("code_verifier") else {
            return missing("code_verifier");
        };
        if !pkce_matches(challenge, verifier) {
            return invalid_grant(
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            );
        }
        if let Some(stored) = sandbox.state().auth_codes.get_mut(code) {
            stored.code_verifier = Some(verifier.clone());
        }
    }
    if !is_multi_tenant_alias(tenant) {
        let matches = sandbox
            .state()
            .resolve_tenant(tenant)
            .is_some_and(|t| t.id == grant.tenant_id);
        if !matches {
            return invalid_grant(
                50148,
                "The code_verifier or authorization code was issued for a different tenant.",
            );
        }
    }
    let scope = params.get("scope").cloned().unwrap_or(grant.scope.clone());
    user_tokens(
        sandbox,
        base,
        &grant.tenant_id,
        &grant.user_id,
        client_id,
        &scope,
        false,
    )
}

fn redeem_refresh_token(
    sandbox: &EntraSandbox,
    base: &str,
    tenant: &str,
    params: &BTreeMap<String, String>,
) -> Response {
    let [refresh, client_id, scope] =
        match required(params, ["refresh_token", "client_id", "scope"]) {
            Ok(values) => values,
            Err(missing) => return missing,
        };
    let (grant, tenant_id) = {
        let state = sandbox.state();
        let Some(grant) = state.refresh_tokens.get(refresh).cloned() else {
            return invalid_grant(9002313, "Invalid request. Request is malformed or invalid.");
        };
        if grant.expires_ms < now_ms() {
            return invalid_grant(700082, "The refresh token has expired due to inactivity.");
        }
        if grant.client_id != *client_id {
            return invalid_grant(
                700005,
                "Provided refresh token is intended for another client.",
            );
        }
        let Some(user) = state.users.get(&grant.user_id) else {
            return invalid_grant(50034, "The user account does not exist in this directory.");
        };
        let tenant_id = match sign_in_tenant(&state, user, tenant) {
            Ok(id) => id,
            Err(TenantRefusal::NotFound) => return tenant_not_found(tenant),
            Err(TenantRefusal::NotMember(message)) => return invalid_grant(50020, &message),
        };
        (grant, tenant_id)
    };
    user_tokens(
        sandbox,
        base,
        &tenant_id,
        &grant.user_id,
        client_id,
        scope,
        true,
    )
}

fn redeem_device_code(
    sandbox: &EntraSandbox,
    base: &str,
    params: &BTreeMap<String, String>,
) -> Response {
    let Some(device_code) = params.get("device_code") else {
        return missing("device_code");
    };
    let auto_user = sandbox.config().auto_approve_user;
    let pending = {
        let mut state = sandbox.state();
        let auto_user_id = auto_user
            .as_deref()
            .and_then(|upn| state.user_by_upn(upn))
            .map(|u| u.id.clone());
        let Some(pending) = state.device_codes.get_mut(device_code) else {
            return invalid_grant(
                70000,
                "The provided value for the input parameter 'device_code' is not valid.",
            );
        };
        if pending.expires_ms < now_ms() {
            return aadsts(
                StatusCode::BAD_REQUEST,
                "expired_token",
                70020,
                "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
            );
        }
        if pending.approved_user.is_none() {
            pending.approved_user = auto_user_id;
            return aadsts(
                StatusCode::BAD_REQUEST,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            );
        }
        let pending = pending.clone();
        state.device_codes.remove(device_code);
        pending
    };
    let client_id = params.get("client_id").cloned().unwrap_or_default();
    if client_id != pending.client_id {
        return invalid_grant(70000, "The device code was issued to another client.");
    }
    let user_id = pending.approved_user.clone().unwrap_or_default();
    let tenant_id = {
        let state = sandbox.state();
        if is_multi_tenant_alias(&pending.tenant) {
            state
                .users
                .get(&user_id)
                .map(|u| u.tenant_ids[0].clone())
                .unwrap_or_default()
        } else {
            state
                .resolve_tenant(&pending.tenant)
                .map(|t| t.id.clone())
                .unwrap_or_default()
        }
    };
    user_tokens(
        sandbox,
        base,
        &tenant_id,
        &user_id,
        &client_id,
        &pending.scope,
        false,
    )
}

async fn device_code(
    State(sandbox): State<EntraSandbox>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = injected_fault(&sandbox, Envelope::Authority, "entra", "devicecode").await
    {
        return fault;
    }
    let params = form_map(&body);
    let [client_id, scope] = match required(&params, ["client_id", "scope"]) {
        Ok(values) => values.map(String::clone),
        Err(missing) => return missing,
    };
    let base = authority_base(&sandbox, &headers);
    let mut state = sandbox.state();
    if !is_multi_tenant_alias(&tenant) && state.resolve_tenant(&tenant).is_none() {
        return tenant_not_found(&tenant);
    }
    if !state.public_clients.contains_key(&client_id) {
        return aadsts(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory."),
        );
    }
    let user_code: String = random_token(40)
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(9)
        .collect::<String>()
        .to_ascii_uppercase();
    let device_code = random_token(96);
    state.device_codes.insert(
        device_code.clone(),
        DeviceCode {
            user_code: user_code.clone(),
            client_id,
            tenant,
            scope,
            expires_ms: now_ms() + DEVICE_CODE_LIFETIME_SECS * 1000,
            approved_user: None,
        },
    );
    let verification_uri = format!("{base}/devicelogin");
    axum::Json(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": DEVICE_CODE_LIFETIME_SECS,
        "interval": 1,
        "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."),
    }))
    .into_response()
}

async fn device_login_page() -> Response {
    Html(
        "<!doctype html><title>Enter code (sandbox)</title><h1>Enter code</h1>\
         <form method=\"post\" action=\"/devicelogin\"><input name=\"user_code\">\
         <input name=\"username\"><input name=\"password\" type=\"password\">\
         <button type=\"submit\">Next</button></form>",
    )
    .into_response()
}

async fn device_login_submit(State(sandbox): State<EntraSandbox>, body: Bytes) -> Response {
    let params = form_map(&body);
    let user_code = params.get("user_code").cloned().unwrap_or_default();
    let username = params.get("username").cloned().unwrap_or_default();
    let password = params.get("password").cloned().unwrap_or_default();
    let password_ok = sandbox
        .state()
        .user_by_upn(&username)
        .is_some_and(|u| u.password == password);
    if !password_ok {
        return error_page(
            50126,
            "Error validating credentials due to invalid username or password.",
        );
    }
    match sandbox.approve_device_code(&user_code, &username) {
        Ok(()) => Html(
            "<!doctype html><p id=\"done\">You have signed in. You may now close this window.</p>",
        )
        .into_response(),
        Err(_) => error_page(70000, "The code you entered is not valid."),
    }
}

// ---- client credentials ------------------------------------------------------------------

async fn client_credentials(
    sandbox: &EntraSandbox,
    base: &str,
    tenant: &str,
    params: &BTreeMap<String, String>,
) -> Response {
    let [client_id, scope] = match required(params, ["client_id", "scope"]) {
        Ok(values) => values.map(String::clone),
        Err(missing) => return missing,
    };
    if is_multi_tenant_alias(tenant) {
        return aadsts(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900023,
            &format!(
                "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain. The client credentials grant needs a specific tenant."
            ),
        );
    }
    let scopes = parse_scopes(&scope);
    let resource = match single_resource(&scopes, &scope) {
        Ok(r) => r,
        Err(response) => return response,
    };
    if !scopes.all_default || scopes.resources.is_empty() {
        return aadsts(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    }
    // Find the app and its service principal in this tenant.
    let (tenant_id, app, sp_id) = {
        let state = sandbox.state();
        let Some(t) = state.resolve_tenant(tenant) else {
            return tenant_not_found(tenant);
        };
        let Some(app) = t
            .applications
            .values()
            .find(|a| a.app_id == client_id)
            .cloned()
        else {
            return aadsts(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                700016,
                &format!(
                    "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                    t.display_name
                ),
            );
        };
        let sp = t
            .service_principals
            .values()
            .find(|sp| sp.app_id == client_id)
            .map(|sp| sp.id.clone());
        (t.id.clone(), app, sp)
    };
    let Some(sp_id) = sp_id else {
        return aadsts(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            7000229,
            &format!(
                "The client application {client_id} is missing service principal in the tenant {tenant_id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
            ),
        );
    };
    if let Some(secret) = params.get("client_secret") {
        let now = now_ms();
        let valid = app
            .password_credentials
            .iter()
            .any(|p| p.secret == *secret && p.end_ms > now);
        if !valid {
            return aadsts(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
    } else if let Some(assertion) = params.get("client_assertion") {
        match params.get("client_assertion_type") {
            Some(t) if t == JWT_BEARER => {}
            Some(other) => {
                return aadsts(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50027,
                    &format!("Invalid client_assertion_type '{other}'; expected '{JWT_BEARER}'."),
                );
            }
            None => {
                return aadsts(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    90014,
                    "The required field 'client_assertion_type' is missing from the credential. Ensure that you have all the necessary parameters for the login request.",
                );
            }
        }
        if let Err(response) = check_federated_assertion(sandbox, &app, assertion).await {
            return response;
        }
    } else {
        return aadsts(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    }
    let mut claims = serde_json::Map::new();
    claims.insert("oid".into(), json!(sp_id));
    claims.insert("sub".into(), json!(sp_id));
    claims.insert("appid".into(), json!(client_id));
    claims.insert("azp".into(), json!(client_id));
    claims.insert("idtyp".into(), json!("app"));
    if resource == Resource::Graph {
        claims.insert("roles".into(), json!(app.graph_app_roles));
    }
    match mint_access_token(sandbox, base, &tenant_id, &resource, claims) {
        Ok((access_token, expires_in)) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-store, no-cache")],
            axum::Json(json!({
                "token_type": "Bearer",
                "expires_in": expires_in,
                "ext_expires_in": expires_in,
                "access_token": access_token,
            })),
        )
            .into_response(),
        Err(e) => aadsts(StatusCode::INTERNAL_SERVER_ERROR, "server_error", 90033, &e),
    }
}

fn invalid_client(code: u32, message: &str) -> Response {
    aadsts(StatusCode::BAD_REQUEST, "invalid_client", code, message)
}

const FIC_DOCS: &str = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

/// The workload-identity-federation check: issuer match, real verification, subject and
/// audience match ([`super::federation`]).
async fn check_federated_assertion(
    sandbox: &EntraSandbox,
    app: &super::model::Application,
    assertion: &str,
) -> Result<(), Response> {
    let unverified = RemoteIssuers::peek(assertion).map_err(|_| {
        aadsts(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        )
    })?;
    let credentials: Vec<Credential<'_>> = app
        .federated_credentials
        .iter()
        .map(|f| Credential {
            issuer: &f.issuer,
            subject: &f.subject,
            audiences: &f.audiences,
        })
        .collect();
    let unverified = match unverified.claims.as_object() {
        Some(map) => map.clone(),
        None => serde_json::Map::new(),
    };
    let issuer = claim_text(&unverified, "iss");
    // Issuer first, before anything is fetched from it (Entra looks the issuer up first).
    match match_credential(&credentials, &OwnedAssertion::of(&unverified).borrowed()) {
        Err(mismatch @ (Mismatch::NoCredentials | Mismatch::Issuer)) => {
            return Err(mismatch_response(mismatch, &unverified));
        }
        Ok(_) | Err(Mismatch::Subject { .. } | Mismatch::Audience { .. }) => {}
    }
    let claims = sandbox
        .inner
        .issuers
        .verify(assertion, &issuer)
        .await
        .map_err(|rejection| assertion_rejection(&issuer, rejection))?;
    match match_credential(&credentials, &OwnedAssertion::of(&claims).borrowed()) {
        Ok(_) => Ok(()),
        Err(mismatch) => Err(mismatch_response(mismatch, &claims)),
    }
}

fn claim_text(claims: &serde_json::Map<String, Value>, name: &str) -> String {
    claims
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The claims [`match_credential`] reads, owned.
struct OwnedAssertion {
    issuer: String,
    subject: String,
    audiences: Vec<String>,
}

impl OwnedAssertion {
    fn of(claims: &serde_json::Map<String, Value>) -> OwnedAssertion {
        OwnedAssertion {
            issuer: claim_text(claims, "iss"),
            subject: claim_text(claims, "sub"),
            audiences: claim_strings(claims, "aud"),
        }
    }

    fn borrowed(&self) -> Assertion<'_> {
        Assertion {
            issuer: &self.issuer,
            subject: &self.subject,
            audiences: &self.audiences,
        }
    }
}

fn mismatch_response(mismatch: Mismatch, claims: &serde_json::Map<String, Value>) -> Response {
    let issuer = claim_text(claims, "iss");
    let subject = claim_text(claims, "sub");
    let audience_text = claim_strings(claims, "aud").join(",");
    let check = "Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.";
    let message = match mismatch {
        Mismatch::NoCredentials => format!(
            "No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{audience_text}'. {FIC_DOCS}"
        ),
        Mismatch::Issuer => format!(
            "No matching federated identity record found for presented assertion issuer '{issuer}'. {check} {FIC_DOCS}"
        ),
        Mismatch::Subject { case_only: true } => format!(
            "No matching federated identity record found for presented assertion subject '{subject}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. {FIC_DOCS}"
        ),
        Mismatch::Subject { case_only: false } => format!(
            "No matching federated identity record found for presented assertion subject '{subject}'. {check} {FIC_DOCS}"
        ),
        Mismatch::Audience { case_only: true } => format!(
            "No matching federated identity record found for presented assertion audience '{audience_text}'. The audience matches with case-insensitive comparison, but not with case-sensitive comparison. {FIC_DOCS}"
        ),
        Mismatch::Audience { case_only: false } => format!(
            "No matching federated identity record found for presented assertion audience '{audience_text}'. {check} {FIC_DOCS}"
        ),
    };
    invalid_client(mismatch.code(), &message)
}

fn assertion_rejection(issuer: &str, rejection: TokenRejection) -> Response {
    match rejection {
        TokenRejection::Malformed(_) => aadsts(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        ),
        TokenRejection::DiscoveryFailed(detail) => invalid_client(
            50166,
            &format!("Request to External OIDC endpoint failed. Issuer '{issuer}': {detail}"),
        ),
        TokenRejection::IssuerMismatch { discovered, token } => invalid_client(
            50166,
            &format!(
                "Request to External OIDC endpoint failed. The issuer '{discovered}' in the OpenID configuration of '{token}' does not match the assertion issuer '{token}'."
            ),
        ),
        TokenRejection::UnknownKey(kid) => invalid_client(
            7000272,
            &format!(
                "The key '{kid}' used to sign the assertion was not found in the JWKS of issuer '{issuer}'."
            ),
        ),
        TokenRejection::BadSignature => {
            invalid_client(700027, "Client assertion failed signature validation.")
        }
        TokenRejection::Expired | TokenRejection::NotYetValid => invalid_client(
            700024,
            "Client assertion is not within its valid time range.",
        ),
        TokenRejection::UnsupportedAlgorithm => invalid_client(
            700027,
            "Client assertion failed signature validation: the signing algorithm is not supported.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_redirects_ignore_the_port_but_not_the_path() {
        assert!(redirect_uri_matches(
            "http://localhost",
            "http://localhost:53121"
        ));
        assert!(redirect_uri_matches(
            "http://localhost",
            "http://localhost:53121/"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost",
            "http://localhost:53121/cb"
        ));
        assert!(redirect_uri_matches(
            "http://localhost/cb",
            "http://localhost:1/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost",
            "http://127.0.0.1:53121"
        ));
        assert!(!redirect_uri_matches(
            "https://app.example/cb",
            "https://app.example/cb2"
        ));
    }

    #[test]
    fn pkce_s256_matches_a_known_pair() {
        assert!(pkce_matches(
            "vkUdBGTqfin0AQyt7-ydwNqDU9kPQ-FS65lyA3S3tio",
            "dBjftJeZ4CVP-mB0unH1R5wP3BvRpqKaEXQ9ZzW81Eo"
        ));
        assert!(!pkce_matches(
            "vkUdBGTqfin0AQyt7-ydwNqDU9kPQ-FS65lyA3S3tio",
            "other"
        ));
    }
}
