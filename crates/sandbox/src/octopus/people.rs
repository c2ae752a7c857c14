//! Users (people and service accounts), teams, and the OIDC identities of service accounts.
//!
//! - `/api/users`: create (with `IsService`), list (`isServiceAccount`, `filter`, `skip`, `take`),
//!   `/all`, get, delete, `/me`.
//! - `/api/teams`: list, `/all`, get, create, modify (`MemberUserIds`).
//! - `/api/serviceaccounts/{id}/oidcidentities/...v1`: create, list (`skip` and `take` required),
//!   get, modify (200-char caps on Name/Issuer/Subject), delete. Each service account has an
//!   `ExternalId` GUID, the default audience of its identities.
//!
//! Deliberately absent: passwords, API keys for users, scoped user roles.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::accounts::parse_json;
use super::auth::Caller;
use super::errors::OctopusError;
use super::model::{OidcIdentity, Team, User, now_rfc3339, slugify};
use super::paging::{QueryParams, matches_partial_name, page};
use super::state::OctopusState;
use crate::json_fields::str_field;

/// A system-wide collection (`/api/users`, `/api/teams`): where the state keeps it and how an
/// item is named and shown.
pub trait SystemWide: Sized + 'static {
    /// Its items.
    fn items(state: &OctopusState) -> &[Self];
    /// `Id`.
    fn id(&self) -> &str;
    /// The wire form.
    fn resource(&self) -> Value;
}

/// `SystemWide` for a model type kept in `state.$field`.
macro_rules! system_wide {
    ($t:ty, $field:ident) => {
        impl SystemWide for $t {
            fn items(state: &OctopusState) -> &[Self] {
                &state.$field
            }
            fn id(&self) -> &str {
                &self.id
            }
            fn resource(&self) -> Value {
                <$t>::resource(self)
            }
        }
    };
}
system_wide!(User, users);
system_wide!(Team, teams);

/// `GET /api/users/all`, `GET /api/teams/all`.
pub async fn all<T: SystemWide>(State(app): State<AppState>) -> Response {
    let state = app.read();
    axum::Json(T::items(&state).iter().map(T::resource).collect::<Vec<_>>()).into_response()
}

/// `GET /api/users/{id}`, `GET /api/teams/{id}`.
pub async fn get_one<T: SystemWide>(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, OctopusError> {
    let state = app.read();
    T::items(&state)
        .iter()
        .find(|i| i.id() == id)
        .map(|i| axum::Json(i.resource()).into_response())
        .ok_or_else(OctopusError::not_found)
}

// ---- users ----

/// `GET /api/users/me`.
pub async fn me(State(app): State<AppState>, caller: Caller) -> Result<Response, OctopusError> {
    let state = app.read();
    let user = state
        .user(&caller.user_id)
        .ok_or_else(OctopusError::not_found)?;
    Ok(axum::Json(user.resource()).into_response())
}

/// `POST /api/users` → 201.
pub async fn create_user(
    State(app): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    let body = parse_json(&body)?;
    let username = str_field(&body, "Username")
        .unwrap_or("")
        .trim()
        .to_string();
    let display_name = str_field(&body, "DisplayName")
        .unwrap_or("")
        .trim()
        .to_string();
    let is_service = body
        .get("IsService")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut errors = Vec::new();
    if username.is_empty() {
        errors.push("Please provide a username.".to_string());
    } else if username.chars().count() > 64 {
        errors.push("The username must be 64 characters or fewer.".to_string());
    }
    if display_name.is_empty() {
        errors.push("Please provide a display name.".to_string());
    } else if display_name.chars().count() > 64 {
        errors.push("The display name must be 64 characters or fewer.".to_string());
    }
    let email = str_field(&body, "EmailAddress")
        .map(str::trim)
        .filter(|e| !e.is_empty());
    if let Some(e) = email
        && (!e.contains('@') || e.chars().count() > 256)
    {
        errors.push(format!("'{e}' is not a valid email address."));
    }
    let mut state = app.write();
    if !username.is_empty()
        && state
            .users
            .iter()
            .any(|u| u.username.eq_ignore_ascii_case(&username))
    {
        errors.push(format!(
            "A user with the username '{username}' already exists."
        ));
    }
    if !errors.is_empty() {
        return Err(OctopusError::validation(errors));
    }
    let user = User {
        id: state.next_id("Users"),
        username,
        display_name,
        email_address: email.map(str::to_string),
        is_service,
        is_active: body
            .get("IsActive")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        external_id: is_service.then(|| uuid::Uuid::new_v4().to_string()),
        created: now_rfc3339(),
    };
    let resource = user.resource();
    state.users.push(user);
    Ok((StatusCode::CREATED, axum::Json(resource)).into_response())
}

fn user_matches(user: &User, q: &QueryParams) -> Result<bool, OctopusError> {
    let service = q.flag("isServiceAccount")?;
    Ok(service.is_none_or(|s| s == user.is_service)
        && q.get("filter").is_none_or(|f| {
            matches_partial_name(&user.username, Some(f))
                || matches_partial_name(&user.display_name, Some(f))
                || user
                    .email_address
                    .as_deref()
                    .is_some_and(|e| matches_partial_name(e, Some(f)))
        }))
}

/// `GET /api/users?isServiceAccount&filter&skip&take`.
pub async fn list_users(
    State(app): State<AppState>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let (skip, take) = q.skip_take()?;
    let state = app.read();
    let mut items = Vec::new();
    for user in &state.users {
        if user_matches(user, &q)? {
            items.push(user);
        }
    }
    Ok(page("User", "/api/users", &items, skip, take, |u| {
        u.resource()
    }))
}

/// `DELETE /api/users/{id}`: removes the user, its team memberships and OIDC identities.
pub async fn delete_user(
    State(app): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Response, OctopusError> {
    if id == caller.user_id {
        return Err(OctopusError::bad_request(
            "You cannot delete your own user account.",
        ));
    }
    let mut state = app.write();
    if state.user(&id).is_none() {
        return Err(OctopusError::not_found());
    }
    state.users.retain(|u| u.id != id);
    for team in &mut state.teams {
        team.member_user_ids.retain(|m| *m != id);
    }
    state.oidc_identities.retain(|i| i.service_account_id != id);
    Ok(StatusCode::OK.into_response())
}

// ---- teams ----

/// `GET /api/teams?partialName&ids&skip&take`.
pub async fn list_teams(
    State(app): State<AppState>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let (skip, take) = q.skip_take()?;
    let ids = q.list("ids");
    let state = app.read();
    let items: Vec<&Team> = state
        .teams
        .iter()
        .filter(|t| ids.is_empty() || ids.contains(&t.id))
        .filter(|t| matches_partial_name(&t.name, q.get("partialName")))
        .collect();
    Ok(page("Team", "/api/teams", &items, skip, take, |t| {
        t.resource()
    }))
}

fn member_ids(body: &Value, state: &OctopusState, errors: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    match body.get("MemberUserIds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str() {
                    Some(id) if state.user(id).is_some() => {
                        if !out.iter().any(|o| o == id) {
                            out.push(id.to_string());
                        }
                    }
                    Some(id) => errors.push(format!("The user '{id}' does not exist.")),
                    None => errors.push("MemberUserIds must contain only strings.".into()),
                }
            }
        }
        Some(_) => errors.push("MemberUserIds must be an array of user ids.".into()),
    }
    out
}

/// `POST /api/teams` → 201.
pub async fn create_team(
    State(app): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    let body = parse_json(&body)?;
    let name = str_field(&body, "Name").unwrap_or("").trim().to_string();
    let mut state = app.write();
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push("Please provide a name for the team.".into());
    } else if state
        .teams
        .iter()
        .any(|t| t.name.eq_ignore_ascii_case(&name))
    {
        errors.push(format!("A team with the name '{name}' already exists."));
    }
    let members = member_ids(&body, &state, &mut errors);
    if !errors.is_empty() {
        return Err(OctopusError::validation(errors));
    }
    let team = Team {
        id: state.next_id("Teams"),
        slug: slugify(&name),
        name,
        description: str_field(&body, "Description").unwrap_or("").to_string(),
        space_id: str_field(&body, "SpaceId").map(str::to_string),
        member_user_ids: members,
        can_change_members: true,
        grants_permissions: true,
        role: None,
    };
    let resource = team.resource();
    state.teams.push(team);
    Ok((StatusCode::CREATED, axum::Json(resource)).into_response())
}

/// `PUT /api/teams/{id}`: name, description and `MemberUserIds`.
pub async fn modify_team(
    State(app): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    let body = parse_json(&body)?;
    let mut state = app.write();
    let Some(index) = state.teams.iter().position(|t| t.id == id) else {
        return Err(OctopusError::not_found());
    };
    let mut errors = Vec::new();
    let members = member_ids(&body, &state, &mut errors);
    let team = &state.teams[index];
    if !team.can_change_members
        && body.get("MemberUserIds").is_some()
        && members != team.member_user_ids
    {
        errors.push(format!(
            "The members of the '{}' team cannot be changed.",
            team.name
        ));
    }
    let name = str_field(&body, "Name")
        .map(str::trim)
        .unwrap_or(&team.name)
        .to_string();
    if name.is_empty() {
        errors.push("Please provide a name for the team.".into());
    }
    if !errors.is_empty() {
        return Err(OctopusError::validation(errors));
    }
    let team = &mut state.teams[index];
    if team.can_change_members {
        team.member_user_ids = members;
        team.name = name;
        if let Some(d) = str_field(&body, "Description") {
            team.description = d.to_string();
        }
    }
    Ok(axum::Json(team.resource()).into_response())
}

// ---- OIDC identities ----

fn service_account(state: &OctopusState, id: &str) -> Result<User, OctopusError> {
    let user = state.user(id).ok_or_else(OctopusError::not_found)?;
    if !user.is_service {
        return Err(OctopusError::bad_request(format!(
            "The user '{id}' is not a service account; OIDC identities can only be added to service accounts."
        )));
    }
    Ok(user.clone())
}

struct IdentityInput {
    name: String,
    issuer: String,
    subject: String,
    audience: Option<String>,
}

/// The most characters an identity's Issuer or Subject may have (swagger
/// `ModifyServiceAccountOidcIdentityCommandV1`; enforced on create as well).
pub const MAX_IDENTITY_FIELD_CHARS: usize = 200;

/// Validates an identity body for create and modify: required fields, Name/Issuer/Subject at
/// most 200 characters, an absolute `https://` issuer ("The issuer URL must be HTTPS").
fn identity_input(body: &Value, url_account: &str) -> Result<IdentityInput, OctopusError> {
    let mut errors = Vec::new();
    let mut required = |field: &str| {
        let v = str_field(body, field).unwrap_or("").trim().to_string();
        if v.is_empty() {
            errors.push(format!("The {field} field is required."));
        }
        v
    };
    let name = required("Name");
    let issuer = required("Issuer");
    let subject = required("Subject");
    let account = required("ServiceAccountId");
    if !account.is_empty() && account != url_account {
        errors.push(format!(
            "The ServiceAccountId '{account}' does not match the service account in the URL ('{url_account}')."
        ));
    }
    if name.chars().count() > 200 {
        errors.push("The field Name must be a string with a maximum length of 200.".into());
    }
    let max = MAX_IDENTITY_FIELD_CHARS;
    for (field, v) in [("Issuer", &issuer), ("Subject", &subject)] {
        if v.chars().count() > max {
            errors.push(format!(
                "The field {field} must be a string with a maximum length of {max}."
            ));
        }
    }
    match url::Url::parse(&issuer) {
        _ if issuer.is_empty() => {}
        Err(_) => errors.push(format!("The Issuer '{issuer}' is not a valid URL.")),
        Ok(url) if url.scheme() != "https" => {
            errors.push("The issuer URL must be HTTPS.".into());
        }
        Ok(_) => {}
    }
    if !errors.is_empty() {
        return Err(OctopusError::validation(errors));
    }
    let audience = str_field(body, "Audience")
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    Ok(IdentityInput {
        name,
        issuer,
        subject,
        audience,
    })
}

/// `POST /api/serviceaccounts/{sa}/oidcidentities/create/v1` → 201 `{"Id": ...}`.
pub async fn create_identity(
    State(app): State<AppState>,
    Path(account_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    let body = parse_json(&body)?;
    let mut state = app.write();
    service_account(&state, &account_id)?;
    let input = identity_input(&body, &account_id)?;
    let id = state.next_id("OidcIdentities");
    state.oidc_identities.push(OidcIdentity {
        id: id.clone(),
        service_account_id: account_id,
        name: input.name,
        issuer: input.issuer,
        subject: input.subject,
        audience: input.audience,
    });
    Ok((StatusCode::CREATED, axum::Json(json!({ "Id": id }))).into_response())
}

/// `GET /api/serviceaccounts/{sa}/oidcidentities/v1?skip&take` (both required).
pub async fn list_identities(
    State(app): State<AppState>,
    Path(account_id): Path<String>,
    q: QueryParams,
) -> Result<Response, OctopusError> {
    let skip = q.number("skip")?;
    let take = q.number("take")?;
    let (Some(skip), Some(take)) = (skip, take) else {
        let mut errors = Vec::new();
        if skip.is_none() {
            errors.push("The skip parameter is required.".to_string());
        }
        if take.is_none() {
            errors.push("The take parameter is required.".to_string());
        }
        return Err(OctopusError::validation(errors));
    };
    let state = app.read();
    let account = service_account(&state, &account_id)?;
    let identities: Vec<Value> = state
        .oidc_identities
        .iter()
        .filter(|i| i.service_account_id == account_id)
        .collect::<Vec<_>>()
        .iter()
        .skip(skip)
        .take(take)
        .map(|i| i.resource())
        .collect();
    let count = state
        .oidc_identities
        .iter()
        .filter(|i| i.service_account_id == account_id)
        .count();
    Ok(axum::Json(json!({
        "ServerUrl": app.config.public_url,
        "ExternalId": account.external_id,
        "OidcIdentities": identities,
        "Count": count,
    }))
    .into_response())
}

/// `GET /api/serviceaccounts/{sa}/oidcidentities/{id}/v1`.
pub async fn get_identity(
    State(app): State<AppState>,
    Path((account_id, id)): Path<(String, String)>,
) -> Result<Response, OctopusError> {
    let state = app.read();
    service_account(&state, &account_id)?;
    let identity = state
        .oidc_identities
        .iter()
        .find(|i| i.id == id && i.service_account_id == account_id)
        .ok_or_else(OctopusError::not_found)?;
    Ok(axum::Json(identity.resource()).into_response())
}

/// `PUT /api/serviceaccounts/{sa}/oidcidentities/{id}/v1` → 200 `{}`.
pub async fn modify_identity(
    State(app): State<AppState>,
    Path((account_id, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, OctopusError> {
    let body = parse_json(&body)?;
    let mut state = app.write();
    service_account(&state, &account_id)?;
    let index = state
        .oidc_identities
        .iter()
        .position(|i| i.id == id && i.service_account_id == account_id)
        .ok_or_else(OctopusError::not_found)?;
    match str_field(&body, "Id") {
        None | Some("") => {
            return Err(OctopusError::validation(vec![
                "The Id field is required.".into(),
            ]));
        }
        Some(body_id) if body_id != id => {
            return Err(OctopusError::validation(vec![format!(
                "The Id '{body_id}' does not match the identity in the URL ('{id}')."
            )]));
        }
        Some(_) => {}
    }
    let input = identity_input(&body, &account_id)?;
    let identity = &mut state.oidc_identities[index];
    identity.name = input.name;
    identity.issuer = input.issuer;
    identity.subject = input.subject;
    identity.audience = input.audience;
    Ok(axum::Json(json!({})).into_response())
}

/// `DELETE /api/serviceaccounts/{sa}/oidcidentities/{id}/v1` → 200 `{}`.
pub async fn delete_identity(
    State(app): State<AppState>,
    Path((account_id, id)): Path<(String, String)>,
) -> Result<Response, OctopusError> {
    let mut state = app.write();
    service_account(&state, &account_id)?;
    let before = state.oidc_identities.len();
    state
        .oidc_identities
        .retain(|i| !(i.id == id && i.service_account_id == account_id));
    if state.oidc_identities.len() == before {
        return Err(OctopusError::not_found());
    }
    Ok(axum::Json(json!({})).into_response())
}
