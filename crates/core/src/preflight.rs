//! Preflight: what the signed-in identities may do, read before any write.
//!
//! The ports report what each service says about its caller ([`IamDecision`] from
//! `iam:SimulatePrincipalPolicy`, [`RbacPermission`] from ARM's
//! `…/providers/Microsoft.Authorization/permissions`, [`AppCreationRights`] from Microsoft
//! Graph, [`OctopusGrants`] from `/api/users/{id}/permissions`, narrowed to a space by
//! [`OctopusGrants::in_space`]); the rules that turn
//! those answers into "allowed or not" live here, once:
//!
//! - [`policy_source_arn`]: the principal to simulate for a caller ARN (an assumed-role
//!   session is simulated as its role);
//! - [`rbac_allows`]: ARM's action matching (`*` wildcards, `notActions` subtracted, case
//!   insensitive);
//! - [`may_create_applications`]: Entra's rule for registering applications (a directory role
//!   that includes `microsoft.directory/applications/create`, the tenant's
//!   `allowedToCreateApps` for members, or the application permission
//!   `Application.ReadWrite.OwnedBy` / `.All` for an app-only caller).
//!
//! Deliberately absent: which permissions a plan needs (the engine's `preflight` derives them
//! from the plan's steps) and any IO.

use serde::{Deserialize, Serialize};

use crate::wildcard;

/// One `SimulatePrincipalPolicy` evaluation result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamDecision {
    /// `EvalActionName`, e.g. `iam:CreateRole`.
    pub action: String,
    /// `EvalResourceName` (an ARN or `*`).
    pub resource: String,
    /// `EvalDecision`: `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: String,
}

impl IamDecision {
    /// Whether IAM allowed it.
    pub fn allowed(&self) -> bool {
        self.decision.eq_ignore_ascii_case("allowed")
    }
}

/// One `permissions` entry of ARM's permission list at a scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RbacPermission {
    /// `actions` (may contain `*`).
    pub actions: Vec<String>,
    /// `notActions`.
    pub not_actions: Vec<String>,
}

/// Who the Entra caller is and what lets it register applications.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCreationRights {
    /// The caller (user principal name or the app's client id).
    pub caller: String,
    /// Whether it is an app-only (service principal) sign-in.
    pub app_only: bool,
    /// Directory role names the caller holds (display names, e.g. `Application Developer`).
    pub directory_roles: Vec<String>,
    /// Graph application permissions granted to an app-only caller.
    pub app_roles: Vec<String>,
    /// The tenant's `authorizationPolicy.defaultUserRolePermissions.allowedToCreateApps`
    /// (`None` when it could not be read, or for app-only callers).
    pub users_may_create_apps: Option<bool>,
}

/// Everything the API key's user holds, as `/api/users/{id}/permissions` reports it (read
/// without knowing the space: [`OctopusGrants::in_space`] narrows it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OctopusGrants {
    /// The user (`Users-N`, with its username).
    pub user: String,
    /// Each space permission with the spaces it is granted in (`None`: every space).
    pub space: std::collections::BTreeMap<String, Vec<Option<String>>>,
    /// System permissions.
    pub system: Vec<String>,
}

impl OctopusGrants {
    /// Whether the space permission `permission` is granted in `space_id` (there, or in
    /// every space).
    pub fn granted_in(&self, permission: &str, space_id: &str) -> bool {
        self.space.get(permission).is_some_and(|spaces| {
            spaces
                .iter()
                .any(|s| s.as_deref().is_none_or(|s| s == space_id))
        })
    }

    /// The permissions held in `space_id` and system-wide.
    pub fn in_space(&self, space_id: &str) -> OctopusPermissions {
        OctopusPermissions {
            user: self.user.clone(),
            space: self
                .space
                .keys()
                .filter(|p| self.granted_in(p, space_id))
                .cloned()
                .collect(),
            system: self.system.clone(),
        }
    }
}

/// The Octopus permissions of the API key's user in one space.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OctopusPermissions {
    /// The user (`Users-N`, with its username).
    pub user: String,
    /// Space permissions held in the space asked about.
    pub space: Vec<String>,
    /// System permissions.
    pub system: Vec<String>,
}

/// The principal `SimulatePrincipalPolicy` must be asked about for a caller ARN: an
/// assumed-role session (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`) is its role
/// (`arn:aws:iam::ACCT:role/ROLE`, path unknown = `/`); users and roles are themselves.
pub fn policy_source_arn(caller_arn: &str) -> String {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    if let [arn, partition, "sts", _, account, resource] = parts.as_slice()
        && let Some(rest) = resource.strip_prefix("assumed-role/")
        && let Some((role, _session)) = rest.split_once('/')
    {
        return format!("{arn}:{partition}:iam::{account}:role/{role}");
    }
    caller_arn.to_string()
}

fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard::matches(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

/// Whether ARM's permission list grants `action` (any entry whose `actions` match it and
/// whose `notActions` do not).
pub fn rbac_allows(permissions: &[RbacPermission], action: &str) -> bool {
    permissions.iter().any(|p| {
        p.actions.iter().any(|a| action_matches(a, action))
            && !p.not_actions.iter().any(|a| action_matches(a, action))
    })
}

/// Built-in directory roles whose permissions include
/// `microsoft.directory/applications/create`.
pub const APP_CREATING_DIRECTORY_ROLES: &[&str] = &[
    "Global Administrator",
    "Application Administrator",
    "Cloud Application Administrator",
    "Application Developer",
    "Hybrid Identity Administrator",
];

/// Graph application permissions that let an app-only caller create applications.
pub const APP_CREATING_APP_ROLES: &[&str] =
    &["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"];

/// Whether the caller may register applications, and by which grant.
pub fn may_create_applications(rights: &AppCreationRights) -> Option<String> {
    if rights.app_only {
        return rights
            .app_roles
            .iter()
            .find(|r| {
                APP_CREATING_APP_ROLES
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(r))
            })
            .map(|r| format!("application permission {r}"));
    }
    if let Some(role) = rights.directory_roles.iter().find(|r| {
        APP_CREATING_DIRECTORY_ROLES
            .iter()
            .any(|a| a.eq_ignore_ascii_case(r))
    }) {
        return Some(format!("directory role {role}"));
    }
    (rights.users_may_create_apps == Some(true))
        .then(|| "the tenant lets users register applications".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_narrow_to_a_space_where_they_are_granted_or_everywhere() {
        let grants = OctopusGrants {
            user: "Users-1 (ops)".into(),
            space: [
                (
                    "AccountCreate".to_string(),
                    vec![Some("Spaces-2".to_string())],
                ),
                ("AccountEdit".to_string(), vec![None]),
                ("TaskCreate".to_string(), vec![Some("Spaces-1".to_string())]),
            ]
            .into_iter()
            .collect(),
            system: vec!["UserEdit".into()],
        };
        let one = grants.in_space("Spaces-1");
        assert_eq!(one.space, ["AccountEdit", "TaskCreate"]);
        assert_eq!(one.system, ["UserEdit"]);
        assert_eq!(
            grants.in_space("Spaces-2").space,
            ["AccountCreate", "AccountEdit"]
        );
        assert!(!grants.granted_in("AccountCreate", "Spaces-1"));
        assert!(
            !grants.granted_in("UserEdit", "Spaces-1"),
            "system, not space"
        );
    }

    #[test]
    fn assumed_role_sessions_are_simulated_as_their_role() {
        assert_eq!(
            policy_source_arn("arn:aws:sts::123456789012:assumed-role/Deployer/alice@example.com"),
            "arn:aws:iam::123456789012:role/Deployer"
        );
        assert_eq!(
            policy_source_arn("arn:aws-cn:sts::123456789012:assumed-role/R/s"),
            "arn:aws-cn:iam::123456789012:role/R"
        );
        assert_eq!(
            policy_source_arn("arn:aws:iam::123456789012:user/ops/bob"),
            "arn:aws:iam::123456789012:user/ops/bob"
        );
    }

    #[test]
    fn arm_actions_match_with_wildcards_minus_not_actions() {
        let owner = [RbacPermission {
            actions: vec!["*".into()],
            not_actions: vec![],
        }];
        let contributor = [RbacPermission {
            actions: vec!["*".into()],
            not_actions: vec![
                "Microsoft.Authorization/*/Write".into(),
                "Microsoft.Authorization/*/Delete".into(),
            ],
        }];
        let write = "Microsoft.Authorization/roleAssignments/write";
        assert!(rbac_allows(&owner, write));
        assert!(!rbac_allows(&contributor, write));
        assert!(rbac_allows(&contributor, "Microsoft.Web/sites/write"));
        assert!(!rbac_allows(&[], write));
        let uaa = [RbacPermission {
            actions: vec!["*/read".into(), "Microsoft.Authorization/*".into()],
            not_actions: vec![],
        }];
        assert!(rbac_allows(&uaa, write));
    }

    #[test]
    fn app_creation_needs_a_role_a_policy_or_an_app_permission() {
        let mut user = AppCreationRights {
            caller: "a@b".into(),
            ..Default::default()
        };
        assert_eq!(may_create_applications(&user), None);
        user.users_may_create_apps = Some(true);
        assert!(may_create_applications(&user).is_some());
        user.users_may_create_apps = Some(false);
        user.directory_roles = vec!["Application Developer".into()];
        assert!(may_create_applications(&user).is_some());
        let app = AppCreationRights {
            caller: "id".into(),
            app_only: true,
            app_roles: vec!["Application.Read.All".into()],
            users_may_create_apps: Some(true),
            ..Default::default()
        };
        assert_eq!(may_create_applications(&app), None);
    }
}
