//! Authentication of API calls: `X-Octopus-ApiKey` (or the `apikey` query parameter) for the
//! built-in administrator or a user with a key of its own (`OctopusState::api_keys`, e.g. the
//! seeded less-privileged "deployer"), `Authorization: Bearer` for access tokens issued by
//! `/token/v1`.
//!
//! Anything else is 401 in Octopus's error format. A service account that is in no
//! permission-granting team may call `/api/users/me` and nothing else (403), as on a real server
//! where a new service account has no permissions until added to a team.
//! Every route's permission ([`permissions::required_permission`]) is decided by
//! [`permissions::holds`] for the caller in the route's space (403 naming it), so a withheld
//! permission or a team role without it is refused before the handler runs.

use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::errors::OctopusError;
use super::permissions;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `Users-N`.
    pub user_id: String,
    /// The user's username (for `LastModifiedBy`).
    pub username: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = OctopusError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| OctopusError::unauthenticated(NOT_LOGGED_IN))
    }
}

const NOT_LOGGED_IN: &str =
    "You must be logged in to perform this action. Please provide a valid API key or log in again.";

fn presented_api_key(request: &Request) -> Option<String> {
    if let Some(v) = request.headers().get("x-octopus-apikey") {
        return v.to_str().ok().map(str::to_string);
    }
    let query = request.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("apikey"))
        .map(|(_, v)| v.into_owned())
}

fn presented_bearer(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The space a request names: the path segment where `route` has `{space}`.
fn space_of(path: &str, route: &str) -> Option<String> {
    let at = route.split('/').position(|part| part == "{space}")?;
    path.split('/').nth(at).map(str::to_string)
}

/// The authentication middleware for everything under `/api` except the root document.
pub async fn require_caller(
    State(app): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = if let Some(key) = presented_api_key(&request) {
        let state = app.read();
        let user_id = match state.api_keys.get(&key) {
            _ if key == app.api_key.expose() => super::ADMIN_USER_ID.to_string(),
            Some(user_id) => user_id.clone(),
            None => return OctopusError::unauthenticated("Invalid API key.").into_response(),
        };
        let Some(user) = state.user(&user_id).filter(|u| u.is_active) else {
            return OctopusError::unauthenticated("Invalid API key.").into_response();
        };
        Caller {
            user_id,
            username: user.username.clone(),
        }
    } else if let Some(token) = presented_bearer(&request) {
        let user_id = {
            let tokens = app.access_tokens.lock().unwrap_or_else(|e| e.into_inner());
            match tokens.get(&token) {
                Some(t) if t.expires > Instant::now() => t.user_id.clone(),
                _ => {
                    return OctopusError::unauthenticated(
                        "The access token is invalid or has expired. Exchange a new OIDC token at /token/v1.",
                    )
                    .into_response();
                }
            }
        };
        let state = app.read();
        let Some(user) = state.user(&user_id) else {
            return OctopusError::unauthenticated(NOT_LOGGED_IN).into_response();
        };
        let path = request.uri().path();
        let own_permissions = path
            .strip_prefix("/api/users/")
            .and_then(|rest| rest.strip_prefix(user_id.as_str()))
            .is_some_and(|rest| rest == "/permissions" || rest == "/permissions/configuration");
        if !state.has_permissions(&user_id) && path != "/api/users/me" && !own_permissions {
            return OctopusError::forbidden("the service account is not a member of any team")
                .into_response();
        }
        Caller {
            user_id,
            username: user.username.clone(),
        }
    } else {
        return OctopusError::unauthenticated(NOT_LOGGED_IN).into_response();
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|r| r.as_str().to_string());
    if let Some(route) = route
        && let Some(permission) = permissions::required_permission(request.method(), &route)
    {
        let space = space_of(request.uri().path(), &route).and_then(|s| app.resolve_space(&s).ok());
        if !permissions::holds(&app.read(), &caller.user_id, permission, space.as_deref()) {
            return OctopusError::forbidden(permission).into_response();
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}
