//! A user's effective permissions: `GET /api/users/{id}/permissions` and
//! `/permissions/configuration` (also under `/api/{space}/…` and `/api/spaces/{space}/…`),
//! answered as the swagger's `UserPermissionSetResource`.
//!
//! The sandbox's permission model is per team: a member of a permission-granting system team
//! (space `None`, e.g. "Octopus Administrators") holds [`TEAM_SPACE_PERMISSIONS`] in every
//! space and [`TEAM_SYSTEM_PERMISSIONS`] system-wide; a member of a space team holds
//! [`TEAM_SPACE_PERMISSIONS`] in that space only, or the permissions of the team's user role
//! ([`USER_ROLES`], e.g. the seeded "Project deployers" team's "Project deployer"); "Everyone"
//! grants nothing. Every authenticated request is decided by [`holds`] over the same grants
//! (403 naming the missing permission); `me` stands for the caller in the permission routes. Permissions
//! named in [`OctopusState::withheld_permissions`](super::state::OctopusState) are withheld
//! from everyone (set from Rust with [`OctopusSandbox::withhold_permission`](super::OctopusSandbox::withhold_permission)),
//! so tests can reproduce a user who lacks one; the endpoints that need a withheld permission
//! ([`required_permission`]) answer 403 naming it.
//! Deliberately absent: user roles and restrictions to environments/projects/tenants (always
//! empty).

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::errors::OctopusError;
use super::state::OctopusState;

/// Space permissions every member of a permission-granting team holds (in the team's space,
/// or in every space for a system team).
pub const TEAM_SPACE_PERMISSIONS: &[&str] = &[
    "AccountCreate",
    "AccountDelete",
    "AccountEdit",
    "AccountView",
    "DeploymentView",
    "EnvironmentView",
    "LifecycleView",
    "MachineCreate",
    "MachineView",
    "ProcessView",
    "ProjectGroupView",
    "ProjectView",
    "RunbookView",
    "SpaceView",
    "TaskCancel",
    "TaskCreate",
    "TaskView",
    "TeamEdit",
    "TeamView",
    "TenantView",
    "UserView",
    "VariableView",
];

/// System permissions every member of a permission-granting system team holds.
pub const TEAM_SYSTEM_PERMISSIONS: &[&str] = &[
    "AdministerSystem",
    "ConfigureServer",
    "EventView",
    "SpaceCreate",
    "SpaceView",
    "TaskCreate",
    "TaskView",
    "TeamCreate",
    "TeamEdit",
    "TeamView",
    "UserEdit",
    "UserInvite",
    "UserRoleView",
    "UserView",
];

/// The built-in user roles a space team may grant instead of the full
/// [`TEAM_SPACE_PERMISSIONS`] (Octopus's "Project deployer": see and deploy, but no account,
/// task or team changes).
pub const USER_ROLES: &[(&str, &[&str])] = &[(
    "Project deployer",
    &[
        "AccountView",
        "DeploymentCreate",
        "DeploymentView",
        "EnvironmentView",
        "LifecycleView",
        "MachineView",
        "ProcessView",
        "ProjectGroupView",
        "ProjectView",
        "RunbookView",
        "SpaceView",
        "TaskView",
        "TeamView",
        "TenantView",
        "UserView",
        "VariableView",
    ],
)];

/// What a team's role grants in its space(s).
fn role_permissions(role: Option<&str>) -> &'static [&'static str] {
    match role {
        None => TEAM_SPACE_PERMISSIONS,
        Some(name) => USER_ROLES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[], |(_, p)| *p),
    }
}

/// A user's effective permissions: per space permission the spaces it holds it in, the
/// system permissions, and the teams (wire form) they come from.
struct Grants {
    space: BTreeMap<&'static str, BTreeSet<String>>,
    system: BTreeSet<&'static str>,
    teams: Vec<Value>,
}

fn grants(state: &OctopusState, user_id: &str, only_space: Option<&str>) -> Grants {
    let withheld = &state.withheld_permissions;
    let mut out = Grants {
        space: BTreeMap::new(),
        system: BTreeSet::new(),
        teams: Vec::new(),
    };
    for team in &state.teams {
        let member = team.member_user_ids.iter().any(|m| m == user_id);
        let everyone = team.id == "teams-everyone";
        if !(member || everyone) {
            continue;
        }
        if let (Some(only), Some(team_space)) = (only_space, team.space_id.as_deref())
            && only != team_space
        {
            continue;
        }
        out.teams.push(json!({
            "Id": team.id, "Name": team.name, "SpaceId": team.space_id,
            "ExternalSecurityGroups": [], "IsDirectlyAssigned": member,
        }));
        if !team.grants_permissions || !member {
            continue;
        }
        let spaces: Vec<&str> = match team.space_id.as_deref() {
            Some(space) => vec![space],
            None => state
                .inventory
                .spaces
                .iter()
                .map(|s| s.id.as_str())
                .collect(),
        };
        for space in spaces
            .into_iter()
            .filter(|s| only_space.is_none_or(|o| o == *s))
        {
            for permission in role_permissions(team.role.as_deref()) {
                if !withheld.contains(*permission) {
                    out.space
                        .entry(permission)
                        .or_default()
                        .insert(space.to_string());
                }
            }
        }
        if team.space_id.is_none() && team.role.is_none() {
            out.system.extend(
                TEAM_SYSTEM_PERMISSIONS
                    .iter()
                    .filter(|p| !withheld.contains(**p)),
            );
        }
    }
    out
}

/// Whether `user_id` holds `permission`: system-wide, or in `space_id` (a space's route), or
/// in some space (a route without one). Decided from the same grants the permissions
/// endpoints answer with.
pub fn holds(
    state: &OctopusState,
    user_id: &str,
    permission: &str,
    space_id: Option<&str>,
) -> bool {
    let g = grants(state, user_id, None);
    g.system.contains(permission)
        || g.space
            .get(permission)
            .is_some_and(|spaces| space_id.is_none_or(|s| spaces.contains(s)))
}

/// The `UserPermissionSetResource` of `user_id`; `only_space` limits the space permissions
/// (and the teams) to one space, as the space-scoped URL forms do.
pub fn permission_set(state: &OctopusState, user_id: &str, only_space: Option<&str>) -> Value {
    let g = grants(state, user_id, only_space);
    let space_permissions: BTreeMap<&str, Vec<Value>> = g
        .space
        .into_iter()
        .map(|(permission, spaces)| {
            let restrictions = spaces
                .into_iter()
                .map(|space| {
                    json!({
                        "SpaceId": space,
                        "RestrictedToEnvironmentIds": [],
                        "RestrictedToProjectIds": [],
                        "RestrictedToProjectGroupIds": [],
                        "RestrictedToTenantIds": [],
                    })
                })
                .collect();
            (permission, restrictions)
        })
        .collect();
    json!({
        "Id": user_id,
        "SpacePermissions": space_permissions,
        "SystemPermissions": g.system,
        "Teams": g.teams,
        "IsPermissionsComplete": true,
        "IsTeamsComplete": true,
        "LastModifiedBy": null,
        "LastModifiedOn": null,
        "Links": {
            "Self": format!("/api/users/{user_id}/permissions"),
            "Export": format!("/api/users/{user_id}/permissions/export"),
        },
    })
}

/// Whether `caller` may read another user's permissions (own permissions are always readable).
fn may_read(state: &OctopusState, caller: &Caller, user_id: &str) -> bool {
    caller.user_id == user_id || state.has_permissions(&caller.user_id)
}

fn answer(
    app: &AppState,
    caller: &Caller,
    user_id: &str,
    only_space: Option<&str>,
) -> Result<Response, OctopusError> {
    let state = app.read();
    if state.user(user_id).is_none() {
        return Err(OctopusError::not_found());
    }
    if !may_read(&state, caller, user_id) {
        return Err(OctopusError::forbidden("UserView"));
    }
    Ok(axum::Json(permission_set(&state, user_id, only_space)).into_response())
}

/// `GET /api/users/{id}/permissions[/configuration]`.
pub async fn user_permissions(
    State(app): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Response, OctopusError> {
    let id = if id == "me" {
        caller.user_id.clone()
    } else {
        id
    };
    answer(&app, &caller, &id, None)
}

/// `GET /api/{space}/users/{id}/permissions[/configuration]`: space permissions of one space.
pub async fn user_permissions_in_space(
    State(app): State<AppState>,
    Path((space, id)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response, OctopusError> {
    let space_id = app.resolve_space(&space)?;
    let id = if id == "me" {
        caller.user_id.clone()
    } else {
        id
    };
    answer(&app, &caller, &id, Some(&space_id))
}

/// The permission a route needs (`route` is axum's matched path, e.g.
/// `/api/{space}/accounts/{id}`); `None` for routes anyone authenticated may call (the root
/// document, `/api/users/me`, a user's permissions).
pub fn required_permission(method: &Method, route: &str) -> Option<&'static str> {
    if route == "/api/spaces/{space}"
        || route.starts_with("/api/spaces/all")
        || route == "/api/spaces"
    {
        return Some("SpaceView");
    }
    let rest = route
        .strip_prefix("/api/spaces/{space}")
        .or_else(|| route.strip_prefix("/api/{space}"))
        .or_else(|| route.strip_prefix("/api"))?;
    let collection = rest.trim_start_matches('/').split('/').next().unwrap_or("");
    let get = method == Method::GET;
    Some(match collection {
        "accounts" => match *method {
            Method::GET => "AccountView",
            Method::POST => "AccountCreate",
            Method::DELETE => "AccountDelete",
            _ => "AccountEdit",
        },
        "tasks" if get => "TaskView",
        "tasks" => "TaskCreate",
        "environments" => "EnvironmentView",
        "projectgroups" => "ProjectGroupView",
        "projects" if rest.contains("/runbooks") => "RunbookView",
        "projects" => "ProjectView",
        "tenants" => "TenantView",
        "runbooks" => "RunbookView",
        "machines" if get => "MachineView",
        "machines" => "MachineCreate",
        "teams" if get => "TeamView",
        "teams" if method == Method::POST => "TeamCreate",
        "teams" => "TeamEdit",
        "users" if rest == "/users/me" || rest.contains("/permissions") => return None,
        "users" | "serviceaccounts" if get => "UserView",
        "users" | "serviceaccounts" => "UserEdit",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_the_permissions_octopus_checks() {
        let cases = [
            (
                Method::GET,
                "/api/{space}/accounts/all",
                Some("AccountView"),
            ),
            (
                Method::POST,
                "/api/spaces/{space}/accounts",
                Some("AccountCreate"),
            ),
            (
                Method::PUT,
                "/api/{space}/accounts/{id}",
                Some("AccountEdit"),
            ),
            (
                Method::DELETE,
                "/api/{space}/accounts/{id}",
                Some("AccountDelete"),
            ),
            (Method::POST, "/api/tasks", Some("TaskCreate")),
            (
                Method::GET,
                "/api/{space}/tasks/{id}/details",
                Some("TaskView"),
            ),
            (
                Method::GET,
                "/api/{space}/projects/{id}/runbooks/all",
                Some("RunbookView"),
            ),
            (
                Method::GET,
                "/api/{space}/projects/all",
                Some("ProjectView"),
            ),
            (
                Method::GET,
                "/api/spaces/{space}/machines/all",
                Some("MachineView"),
            ),
            (Method::GET, "/api/spaces/all", Some("SpaceView")),
            (Method::GET, "/api/spaces/{space}", Some("SpaceView")),
            (Method::PUT, "/api/teams/{id}", Some("TeamEdit")),
            (Method::POST, "/api/users", Some("UserEdit")),
            (Method::GET, "/api/users/me", None),
            (Method::GET, "/api/users/{id}/permissions", None),
            (
                Method::GET,
                "/api/{space}/users/{id}/permissions/configuration",
                None,
            ),
            (
                Method::POST,
                "/api/serviceaccounts/{sa}/oidcidentities/create/v1",
                Some("UserEdit"),
            ),
            (Method::POST, "/api/_sandbox/deployment-tokens", None),
            (Method::POST, "/api/_sandbox/oidc-tokens", None),
        ];
        for (method, route, expected) in cases {
            assert_eq!(
                required_permission(&method, route),
                expected,
                "{method} {route}"
            );
        }
    }
}
