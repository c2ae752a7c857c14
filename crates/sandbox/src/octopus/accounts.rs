//! OIDC accounts (`AzureOidc`, `AmazonWebServicesOidcAccount`, `GoogleCloudOidcAccount`): create, get, list, `/all`,
//! modify and delete, as flat JSON, validated the way the server does (required fields, GUID
//! formats, allowed subject keys per list, unique names and slugs, existing environments and
//! tenants), answering 400 with `ErrorMessage` + one `Errors[]` line per problem.
//!
//! Octopus 2026 (from [`AWS_REGION_REQUIRED_FROM`], OctopusDeploy/Issues #9955): an AWS account
//! needs a `Region` ("A region is required when creating or updating AWS accounts") and an
//! `Audience` (`[Required]` on `AmazonWebServicesOidcAccountResource` in OctopusClients); older
//! reported versions accept both absent. `CustomClaims` (string values) round-trip on both
//! account types.
//!
//! `UsernamePassword` accounts are kept too (username, whether a password is set), the one
//! non-OIDC type, so tools can be shown an account with no trust to verify.
//!
//! Deliberately absent: the other account types (a clear 400 says the sandbox does not model
//! them), `usages`, and the legacy unscoped `/api/accounts` routes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use octo_oidc_core::subject::Context;
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::Caller;
use super::errors::OctopusError;
use super::inventory::Listed;
use super::model::{is_valid_slug, now_rfc3339, slugify};
use super::paging::{QueryParams, matches_partial_name, page};
use super::state::OctopusState;

/// `AccountType` of Azure OIDC accounts.
pub const AZURE_OIDC: &str = "AzureOidc";
/// `AccountType` of AWS OIDC accounts.
pub const AWS_OIDC: &str = "AmazonWebServicesOidcAccount";
/// `AccountType` of Google Cloud OIDC accounts.
pub const GOOGLE_OIDC: &str = "GoogleCloudOidcAccount";

/// `AccountType` of username/password accounts (the one non-OIDC type the sandbox keeps, so
/// tools can be shown an account that has no trust to verify).
pub const USERNAME_PASSWORD: &str = "UsernamePassword";

/// Account types a real server knows but the sandbox does not model.
const OTHER_TYPES: [&str; 9] = [
    "None",
    "SshKeyPair",
    "AzureSubscription",
    "AzureServicePrincipal",
    "AmazonWebServicesAccount",
    "AmazonWebServicesRoleAccount",
    "GoogleCloudAccount",
    "Token",
    "GenericOidcAccount",
];

const AZURE_ENVIRONMENTS: [&str; 4] = [
    "AzureCloud",
    "AzureChinaCloud",
    "AzureGermanCloud",
    "AzureUSGovernment",
];
const PARTICIPATION: [&str; 3] = ["Untenanted", "TenantedOrUntenanted", "Tenanted"];

/// The first Octopus version (`major.minor`) whose AWS accounts need `Region` and `Audience`.
pub const AWS_REGION_REQUIRED_FROM: (u32, u32) = (2026, 2);

/// Whether a server reporting `version` (e.g. `2026.3.1452`) requires `Region` and `Audience`
/// on AWS accounts. An unparsable version is treated as current.
pub fn requires_aws_region(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= AWS_REGION_REQUIRED_FROM,
        _ => true,
    }
}

/// Whether `s` looks like an AWS region code (`us-east-1`, `us-gov-west-1`, `eu-central-2`).
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// The message Octopus 2026 gives for an AWS account without a region (Issues #9955).
pub const REGION_REQUIRED: &str = "A region is required when creating or updating AWS accounts.";

/// Whether `s` is a GUID in the 8-4-4-4-12 hex form (braces not accepted).
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_role_arn(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:") else {
        return false;
    };
    let mut parts = rest.splitn(5, ':');
    let (Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && resource
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty())
}

fn string_field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

fn text(body: &Map<String, Value>, name: &str) -> String {
    string_field(body, name).unwrap_or("").trim().to_string()
}

/// Checks one subject-keys list against the keys its context allows
/// ([`super::subject::allowed_keys`], the sandbox's own reading of Octopus's rules).
fn check_keys(
    body: &Map<String, Value>,
    field: &str,
    context: Context,
    label: &str,
    errors: &mut Vec<String>,
) -> Value {
    let allowed = super::subject::allowed_keys(context).unwrap_or_default();
    match body.get(field) {
        None | Some(Value::Null) => json!([]),
        Some(Value::Array(keys)) => {
            let mut out = Vec::new();
            for key in keys {
                match key.as_str() {
                    Some(k) if allowed.contains(&k) => out.push(json!(k)),
                    Some(k) => errors.push(format!(
                        "'{k}' is not a valid {label} subject key. Valid keys are: {}.",
                        allowed.join(", ")
                    )),
                    None => errors.push(format!("{field} must contain only strings.")),
                }
            }
            Value::Array(out)
        }
        Some(_) => {
            errors.push(format!("{field} must be an array of strings."));
            json!([])
        }
    }
}

fn string_list(body: &Map<String, Value>, field: &str, errors: &mut Vec<String>) -> Vec<String> {
    match body.get(field) {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v.as_str() {
                Some(s) => Some(s.to_string()),
                None => {
                    errors.push(format!("{field} must contain only strings."));
                    None
                }
            })
            .collect(),
        Some(_) => {
            errors.push(format!("{field} must be an array of strings."));
            vec![]
        }
    }
}

/// Validates a posted account body and returns the stored form.
///
/// `existing` is the stored account for a modify, `None` for a create.
/// `version` is the Octopus version the sandbox reports (it decides the 2026 AWS rules).
pub fn validate_account(
    state: &OctopusState,
    space_id: &str,
    body: Value,
    existing: Option<&Map<String, Value>>,
    caller: &str,
    version: &str,
) -> Result<Map<String, Value>, OctopusError> {
    let Value::Object(body) = body else {
        return Err(OctopusError::bad_request(
            "The request body must be a JSON object describing the account.",
        ));
    };
    let mut errors = Vec::new();
    let account_type = text(&body, "AccountType");
    if account_type.is_empty() {
        return Err(OctopusError::validation(vec![
            "Please specify the account type (AccountType).".into(),
        ]));
    }
    if let Some(existing) = existing
        && string_field(existing, "AccountType") != Some(account_type.as_str())
    {
        return Err(OctopusError::validation(vec![
            "The account type cannot be changed once the account has been created.".into(),
        ]));
    }
    if ![AZURE_OIDC, AWS_OIDC, GOOGLE_OIDC, USERNAME_PASSWORD].contains(&account_type.as_str()) {
        let message = if OTHER_TYPES.contains(&account_type.as_str()) {
            format!(
                "The sandbox does not model '{account_type}' accounts; only {AZURE_OIDC}, {AWS_OIDC}, {GOOGLE_OIDC} and {USERNAME_PASSWORD}."
            )
        } else {
            format!("'{account_type}' is not a valid account type.")
        };
        return Err(OctopusError::validation(vec![message]));
    }
    let existing_id = existing.and_then(|e| string_field(e, "Id"));
    if let (Some(id), Some(body_id)) = (existing_id, string_field(&body, "Id"))
        && id != body_id
    {
        errors.push(format!(
            "The Id in the body ('{body_id}') does not match the account '{id}'."
        ));
    }
    if let Some(body_space) = string_field(&body, "SpaceId")
        && !body_space.is_empty()
        && body_space != space_id
    {
        errors.push(format!(
            "The SpaceId in the body ('{body_space}') does not match the space in the URL ('{space_id}')."
        ));
    }

    let mut out = Map::new();
    let name = text(&body, "Name");
    if name.is_empty() {
        errors.push("Please provide a name for the account.".into());
    } else if name.chars().count() > 200 {
        errors.push("The account name must be 200 characters or fewer.".into());
    }
    let others = || {
        state.accounts.iter().filter(|a| {
            string_field(a, "SpaceId") == Some(space_id) && string_field(a, "Id") != existing_id
        })
    };
    if !name.is_empty()
        && others().any(|a| string_field(a, "Name").is_some_and(|n| n.eq_ignore_ascii_case(&name)))
    {
        errors.push(format!(
            "An account with the name '{name}' already exists in this space. Please choose a different name."
        ));
    }
    let slug = match string_field(&body, "Slug")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(slug) => {
            if !is_valid_slug(slug) {
                errors.push(format!(
                    "The slug '{slug}' is invalid: use lower-case letters, digits and single hyphens."
                ));
            } else if others().any(|a| string_field(a, "Slug") == Some(slug)) {
                errors.push(format!(
                    "The slug '{slug}' is already in use by another account."
                ));
            }
            slug.to_string()
        }
        None => {
            let base = match existing.and_then(|e| string_field(e, "Slug")) {
                Some(s) => s.to_string(),
                None => slugify(&name),
            };
            let mut candidate = base.clone();
            let mut n = 1;
            while others().any(|a| string_field(a, "Slug") == Some(candidate.as_str())) {
                candidate = format!("{base}-{n}");
                n += 1;
            }
            candidate
        }
    };

    let deployment = check_keys(
        &body,
        "DeploymentSubjectKeys",
        Context::Deployment,
        "deployment",
        &mut errors,
    );
    let health = check_keys(
        &body,
        "HealthCheckSubjectKeys",
        Context::HealthCheck,
        "health check",
        &mut errors,
    );
    let test = check_keys(
        &body,
        "AccountTestSubjectKeys",
        Context::AccountTest,
        "account test",
        &mut errors,
    );

    let environment_ids = string_list(&body, "EnvironmentIds", &mut errors);
    let environments = &state.inventory.environments;
    not_in_space(
        environments,
        space_id,
        &environment_ids,
        "environment",
        &mut errors,
    );
    let tenant_ids = string_list(&body, "TenantIds", &mut errors);
    let tenants = &state.inventory.tenants;
    not_in_space(tenants, space_id, &tenant_ids, "tenant", &mut errors);
    let tenant_tags = string_list(&body, "TenantTags", &mut errors);
    let participation = match string_field(&body, "TenantedDeploymentParticipation") {
        None | Some("") => "Untenanted".to_string(),
        Some(p) if PARTICIPATION.contains(&p) => p.to_string(),
        Some(p) => {
            errors.push(format!(
                "'{p}' is not a valid TenantedDeploymentParticipation (Untenanted, TenantedOrUntenanted, Tenanted)."
            ));
            p.to_string()
        }
    };
    let custom_claims = match body.get("CustomClaims") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(m)) if m.values().all(Value::is_string) => Value::Object(m.clone()),
        Some(_) => {
            errors.push("CustomClaims must be an object whose values are strings.".into());
            json!({})
        }
    };

    out.insert("AccountType".into(), json!(account_type));
    out.insert("Name".into(), json!(name));
    out.insert("Slug".into(), json!(slug));
    out.insert("Description".into(), json!(text(&body, "Description")));
    out.insert("SpaceId".into(), json!(space_id));
    out.insert("EnvironmentIds".into(), json!(environment_ids));
    out.insert("TenantIds".into(), json!(tenant_ids));
    out.insert("TenantTags".into(), json!(tenant_tags));
    out.insert(
        "TenantedDeploymentParticipation".into(),
        json!(participation),
    );
    out.insert("DeploymentSubjectKeys".into(), deployment);
    out.insert("HealthCheckSubjectKeys".into(), health);
    out.insert("AccountTestSubjectKeys".into(), test);
    out.insert("CustomClaims".into(), custom_claims);

    if account_type == USERNAME_PASSWORD {
        let username = text(&body, "Username");
        if username.is_empty() {
            errors.push("Please provide a username.".into());
        }
        out.insert("Username".into(), json!(username));
        // A sensitive value: stored as whether it is set, never returned.
        let has_password = match body.get("Password") {
            Some(Value::Object(p)) => {
                p.get("NewValue")
                    .and_then(Value::as_str)
                    .is_some_and(|v| !v.is_empty())
                    || p.get("HasValue") == Some(&Value::Bool(true))
            }
            Some(Value::String(v)) => !v.is_empty(),
            _ => false,
        };
        out.insert(
            "Password".into(),
            json!({"HasValue": has_password, "NewValue": null}),
        );
    } else if account_type == GOOGLE_OIDC {
        google_fields(&body, &mut out, &mut errors);
    } else if account_type == AZURE_OIDC {
        let guid = |field: &str, missing: &str, errors: &mut Vec<String>| {
            let v = text(&body, field);
            if v.is_empty() {
                errors.push(missing.to_string());
            } else if !is_guid(&v) {
                errors.push(format!("{field} must be a GUID, e.g. 00000000-0000-0000-0000-000000000000; '{v}' is not."));
            }
            v
        };
        let subscription = guid(
            "SubscriptionNumber",
            "Please provide an Azure subscription ID.",
            &mut errors,
        );
        let client = guid(
            "ClientId",
            "Please provide the Azure application (client) ID.",
            &mut errors,
        );
        let tenant = guid(
            "TenantId",
            "Please provide the Azure Active Directory tenant ID.",
            &mut errors,
        );
        let environment = text(&body, "AzureEnvironment");
        let ad = text(&body, "ActiveDirectoryEndpointBaseUri");
        let rm = text(&body, "ResourceManagementEndpointBaseUri");
        if !environment.is_empty() {
            if !AZURE_ENVIRONMENTS.contains(&environment.as_str()) {
                errors.push(format!(
                    "'{environment}' is not a known Azure environment ({}).",
                    AZURE_ENVIRONMENTS.join(", ")
                ));
            }
            for (field, value) in [
                ("ActiveDirectoryEndpointBaseUri", &ad),
                ("ResourceManagementEndpointBaseUri", &rm),
            ] {
                if value.is_empty() {
                    errors.push(format!("{field} is required when AzureEnvironment is set."));
                }
            }
        }
        for (field, value) in [
            ("ActiveDirectoryEndpointBaseUri", &ad),
            ("ResourceManagementEndpointBaseUri", &rm),
        ] {
            if !value.is_empty()
                && url::Url::parse(value)
                    .map(|u| !matches!(u.scheme(), "http" | "https"))
                    .unwrap_or(true)
            {
                errors.push(format!(
                    "{field} must be an absolute http(s) URI; '{value}' is not."
                ));
            }
        }
        out.insert("SubscriptionNumber".into(), json!(subscription));
        out.insert("ClientId".into(), json!(client));
        out.insert("TenantId".into(), json!(tenant));
        out.insert("AzureEnvironment".into(), json!(environment));
        out.insert("ActiveDirectoryEndpointBaseUri".into(), json!(ad));
        out.insert("ResourceManagementEndpointBaseUri".into(), json!(rm));
        let audience = text(&body, "Audience");
        out.insert("Audience".into(), text_or_null(audience));
    } else {
        let role_arn = text(&body, "RoleArn");
        if role_arn.is_empty() {
            errors.push("Please provide the ARN of the IAM role to assume (RoleArn).".into());
        } else if !is_role_arn(&role_arn) {
            errors.push(format!(
                "RoleArn must be an IAM role ARN like arn:aws:iam::123456789012:role/name; '{role_arn}' is not."
            ));
        }
        let duration = seconds_field(&body, "SessionDuration", 900..=43200, &mut errors);
        out.insert("RoleArn".into(), json!(role_arn));
        out.insert("SessionDuration".into(), json!(duration));
        let region = text(&body, "Region");
        let audience = text(&body, "Audience");
        let required = requires_aws_region(version);
        if region.is_empty() {
            if required {
                errors.push(REGION_REQUIRED.into());
            }
        } else if !is_region(&region) {
            errors.push(format!(
                "Region must be an AWS region code like us-east-1; '{region}' is not."
            ));
        }
        if audience.is_empty() && required {
            errors.push(
                "Please provide the audience (Audience): the value the IAM identity provider trusts, by default the Octopus Server's host name.".into(),
            );
        }
        out.insert("Region".into(), json!(region));
        out.insert("Audience".into(), text_or_null(audience));
    }

    if !errors.is_empty() {
        return Err(OctopusError::validation(errors));
    }
    out.insert("LastModifiedOn".into(), json!(now_rfc3339()));
    out.insert("LastModifiedBy".into(), json!(caller));
    Ok(out)
}

/// `GoogleCloudOidcAccount` (OctopusClients `GoogleCloudOidcAccountResource.cs`): `Audience`
/// (trimmed, required: the provider's resource name or an allowed audience) and
/// `TokenLifetimeSeconds` (a string of 600–43200 seconds, default 3600).
fn google_fields(
    body: &Map<String, Value>,
    out: &mut Map<String, Value>,
    errors: &mut Vec<String>,
) {
    let audience = text(body, "Audience");
    if audience.is_empty() {
        errors.push(
            "Please provide the audience: the workload identity pool provider's resource name (//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>) or one of its allowed audiences."
                .into(),
        );
    }
    let lifetime = seconds_field(body, "TokenLifetimeSeconds", 600..=43200, errors);
    out.insert("Audience".into(), json!(audience));
    out.insert("TokenLifetimeSeconds".into(), json!(lifetime));
}

/// A duration field in seconds as Octopus keeps it (a string): a string or number within
/// `range`, `"3600"` when absent or blank; a value of another type or out of range is an error.
fn seconds_field(
    body: &Map<String, Value>,
    key: &str,
    range: std::ops::RangeInclusive<u32>,
    errors: &mut Vec<String>,
) -> String {
    let value = match body.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            errors.push(format!("{key} must be a number of seconds."));
            None
        }
    };
    if let Some(v) = &value {
        match v.parse::<u32>() {
            Ok(secs) if range.contains(&secs) => {}
            _ => errors.push(format!(
                "{key} must be a whole number of seconds between {} and {}; '{v}' is not.",
                range.start(),
                range.end()
            )),
        }
    }
    value.unwrap_or_else(|| "3600".into())
}

/// An error for each of `ids` that names no `what` in the space.
fn not_in_space<T: Listed>(
    items: &[T],
    space_id: &str,
    ids: &[String],
    what: &str,
    errors: &mut Vec<String>,
) {
    for id in ids {
        if !items
            .iter()
            .any(|i| i.space_id() == space_id && i.id() == id)
        {
            errors.push(format!("The {what} '{id}' does not exist in this space."));
        }
    }
}

/// A text field as Octopus keeps an optional one: `null` when empty.
fn text_or_null(text: String) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        json!(text)
    }
}

fn with_links(mut account: Map<String, Value>) -> Value {
    let space = string_field(&account, "SpaceId").unwrap_or("").to_string();
    let id = string_field(&account, "Id").unwrap_or("").to_string();
    account.insert(
        "Links".into(),
        json!({
            "Self": format!("/api/{space}/accounts/{id}"),
            "Usages": format!("/api/{space}/accounts/{id}/usages"),
        }),
    );
    Value::Object(account)
}

/// `POST /api/{space}/accounts` → 201.
pub async fn create(
    State(app): State<AppState>,
    Path(space): Path<String>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let body = parse_json(&body)?;
    let mut state = app.write();
    let mut account = validate_account(
        &state,
        &space_id,
        body,
        None,
        &caller.username,
        &app.config.version,
    )?;
    let id = state.next_id("Accounts");
    account.insert("Id".into(), json!(id));
    state.accounts.push(account.clone());
    Ok((StatusCode::CREATED, axum::Json(with_links(account))).into_response())
}

/// Parses a JSON body into a value, 400 in Octopus's format on failure.
pub fn parse_json(body: &[u8]) -> Result<Value, OctopusError> {
    serde_json::from_slice(body)
        .map_err(|e| OctopusError::bad_request(format!("The request body is not valid JSON: {e}")))
}

/// `GET /api/{space}/accounts/{id}`.
pub async fn get(
    State(app): State<AppState>,
    Path((space, id)): Path<(String, String)>,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let state = app.read();
    let account = state
        .account(&space_id, &id)
        .ok_or_else(OctopusError::not_found)?;
    Ok(axum::Json(with_links(account.clone())).into_response())
}

fn filtered<'a>(
    state: &'a OctopusState,
    space_id: &str,
    q: &QueryParams,
) -> Vec<&'a Map<String, Value>> {
    let types = q.list("accountType");
    let ids = q.list("ids");
    state
        .accounts
        .iter()
        .filter(|a| string_field(a, "SpaceId") == Some(space_id))
        .filter(|a| {
            types.is_empty()
                || types
                    .iter()
                    .any(|t| Some(t.as_str()) == string_field(a, "AccountType"))
        })
        .filter(|a| {
            ids.is_empty()
                || ids
                    .iter()
                    .any(|i| Some(i.as_str()) == string_field(a, "Id"))
        })
        .filter(|a| {
            matches_partial_name(string_field(a, "Name").unwrap_or(""), q.get("partialName"))
        })
        .collect()
}

/// `GET /api/{space}/accounts?skip&take&partialName&accountType&ids`.
pub async fn list(
    State(app): State<AppState>,
    Path(space): Path<String>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let (skip, take) = q.skip_take()?;
    let state = app.read();
    let items = filtered(&state, &space_id, &q);
    let base = format!("/api/{space_id}/accounts");
    Ok(page("Account", &base, &items, skip, take, |a| {
        with_links((*a).clone())
    }))
}

/// `GET /api/{space}/accounts/all`.
pub async fn all(
    State(app): State<AppState>,
    Path(space): Path<String>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let state = app.read();
    let items: Vec<Value> = filtered(&state, &space_id, &q)
        .into_iter()
        .map(|a| with_links(a.clone()))
        .collect();
    Ok(axum::Json(items).into_response())
}

/// `PUT /api/{space}/accounts/{id}` → 200 + resource.
pub async fn modify(
    State(app): State<AppState>,
    Path((space, id)): Path<(String, String)>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let body = parse_json(&body)?;
    let mut state = app.write();
    let existing = state
        .account(&space_id, &id)
        .ok_or_else(OctopusError::not_found)?
        .clone();
    let mut account = validate_account(
        &state,
        &space_id,
        body,
        Some(&existing),
        &caller.username,
        &app.config.version,
    )?;
    account.insert("Id".into(), json!(id));
    if let Some(slot) = state
        .accounts
        .iter_mut()
        .find(|a| string_field(a, "Id") == Some(id.as_str()))
    {
        *slot = account.clone();
    }
    Ok(axum::Json(with_links(account)).into_response())
}

/// `DELETE /api/{space}/accounts/{id}` → 200.
pub async fn delete(
    State(app): State<AppState>,
    Path((space, id)): Path<(String, String)>,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let mut state = app.write();
    let before = state.accounts.len();
    state.accounts.retain(|a| {
        !(string_field(a, "Id") == Some(id.as_str())
            && string_field(a, "SpaceId") == Some(space_id.as_str()))
    });
    if state.accounts.len() == before {
        return Err(OctopusError::not_found());
    }
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_and_arn_shapes() {
        assert!(is_guid("5c5c4a8e-2a0a-4b6e-9d4a-1f2e3d4c5b6a"));
        assert!(!is_guid("5c5c4a8e2a0a4b6e9d4a1f2e3d4c5b6a"));
        assert!(!is_guid("{5c5c4a8e-2a0a-4b6e-9d4a-1f2e3d4c5b6a}"));
        assert!(is_role_arn("arn:aws:iam::123456789012:role/octopus"));
        assert!(is_role_arn(
            "arn:aws-us-gov:iam::123456789012:role/path/octopus"
        ));
        assert!(!is_role_arn("arn:aws:iam::123456789012:oidc-provider/x"));
        assert!(!is_role_arn("arn:aws:iam::1234:role/x"));
    }
}
