//! The connection check: can this API key on this server do what the wizard needs?
//!
//! In order: the server version (`GET /api`; OIDC accounts, AWS OIDC accounts and
//! service-account OIDC identities need 2024.1+, else [`OctopusError::UnsupportedVersion`]),
//! the current user (`GET /api/users/me`; a bad key is a 401 here), and the permissions the
//! wizard's operations need, read from `GET /api/users/{id}/permissions` and reported one
//! missing permission at a time with what it is needed for.
//!
//! Deliberately absent: checking permissions by trying writes; a permission listed as present
//! can still be narrowed by environment/project restrictions, which only the write reveals.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::client::RestOctopus;
use crate::error::OctopusError;

/// The first version with OIDC accounts (Azure and AWS) and service-account OIDC identities.
pub const MIN_OIDC_VERSION: (u32, u32) = (2024, 1);

/// The server's version as `GET /api` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerVersion {
    /// Verbatim, e.g. `2025.4.1234`.
    pub version: String,
    /// `(year, release)`, e.g. `(2025, 4)`; `None` when the string does not parse.
    pub parsed: Option<(u32, u32)>,
    /// The build number, e.g. `1234`, when present.
    pub build: Option<u32>,
}

/// What the server's version allows, for the wizard to offer or hide options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerFeatures {
    /// Azure and AWS OIDC accounts, service-account OIDC identities with `*`/`?` subjects
    /// (2024.1).
    pub oidc: bool,
    /// Generic OIDC accounts (2025.1).
    pub generic_oidc_accounts: bool,
    /// The `project-group` subject key (2025.3.7518).
    pub project_group_subject_key: bool,
    /// Custom claims evaluated in tokens (2025.4.1357).
    pub custom_claims: bool,
}

impl ServerVersion {
    /// Parses `YYYY.R[.build][-suffix]`.
    pub fn new(version: impl Into<String>) -> Self {
        let version = version.into();
        let mut parts = version.trim().split(['.', '-', '+']);
        let number = |p: Option<&str>| p.and_then(|p| p.parse::<u32>().ok());
        let year = number(parts.next());
        let release = number(parts.next());
        let build = number(parts.next());
        let parsed = year.zip(release);
        ServerVersion {
            version,
            parsed,
            build: parsed.and(build),
        }
    }

    /// Whether the server is at least `(year, release)`; unparseable versions (development
    /// builds) are given the benefit of the doubt.
    pub fn at_least(&self, minimum: (u32, u32)) -> bool {
        self.parsed.is_none_or(|v| v >= minimum)
    }

    /// Whether the server is at least `(year, release)` build `build` (a missing build number
    /// counts as the release's first build).
    pub fn at_least_build(&self, minimum: (u32, u32), build: u32) -> bool {
        match self.parsed {
            None => true,
            Some(v) if v != minimum => v > minimum,
            Some(_) => self.build.unwrap_or(0) >= build,
        }
    }

    /// What this version supports.
    pub fn features(&self) -> ServerFeatures {
        ServerFeatures {
            oidc: self.at_least(MIN_OIDC_VERSION),
            generic_oidc_accounts: self.at_least((2025, 1)),
            project_group_subject_key: self.at_least_build((2025, 3), 7518),
            custom_claims: self.at_least_build((2025, 4), 1357),
        }
    }
}

/// The user an API key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    /// `Users-N`.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Whether it is a service account.
    pub is_service: bool,
}

/// A permission the wizard needs and the user lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingPermission {
    /// Octopus permission name, e.g. `AccountCreate`.
    pub permission: String,
    /// `Some(space)` for a space permission, `None` for a system permission.
    pub space_id: Option<String>,
    /// What the wizard needs it for, in words.
    pub needed_for: String,
}

/// What the connection check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    /// The normalized server URL.
    pub server_url: String,
    /// Server version.
    pub version: ServerVersion,
    /// What the version supports.
    pub features: ServerFeatures,
    /// The API key's user.
    pub user: CurrentUser,
    /// Permissions the wizard needs that the user lacks (space permissions for the spaces
    /// the user can see; empty when `permissions_checked` is false).
    pub missing_permissions: Vec<MissingPermission>,
    /// Whether the permission list could be read.
    pub permissions_checked: bool,
    /// Things worth telling the user (plain HTTP, unreadable permissions).
    pub warnings: Vec<String>,
}

/// Space permissions the wizard's operations need, with what each is for.
pub const SPACE_PERMISSIONS_NEEDED: &[(&str, &str)] = &[
    ("AccountView", "finding existing Octopus accounts"),
    ("AccountCreate", "creating the Azure/AWS OIDC account"),
    ("AccountEdit", "updating the OIDC account"),
    ("TaskCreate", "running the account test"),
    ("TaskView", "following the account test"),
    ("EnvironmentView", "listing environments for the scope"),
    (
        "ProjectView",
        "listing projects and project groups for the scope",
    ),
    ("TenantView", "listing tenants for the scope"),
];

/// System permissions for GitHub Actions → Octopus (service accounts and their identities).
pub const SYSTEM_PERMISSIONS_NEEDED: &[(&str, &str)] = &[
    ("UserView", "finding the service account"),
    (
        "UserEdit",
        "creating the service account and its OIDC identity",
    ),
    ("TeamEdit", "adding the service account to a team"),
];

#[derive(Debug, Deserialize)]
struct RootDocument {
    #[serde(rename = "Version")]
    version: String,
}

#[derive(Debug, Deserialize)]
struct UserDocument {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "DisplayName", default)]
    display_name: String,
    #[serde(rename = "IsService", default)]
    is_service: bool,
}

#[derive(Debug, Default, Deserialize)]
struct PermissionSet {
    #[serde(rename = "SpacePermissions", default)]
    space_permissions: BTreeMap<String, Vec<PermissionRestriction>>,
    #[serde(rename = "SystemPermissions", default)]
    system_permissions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PermissionRestriction {
    #[serde(rename = "SpaceId", default)]
    space_id: Option<String>,
}

impl PermissionSet {
    fn grants(self, user: String) -> octo_oidc_core::preflight::OctopusGrants {
        octo_oidc_core::preflight::OctopusGrants {
            user,
            space: self
                .space_permissions
                .into_iter()
                .map(|(p, grants)| (p, grants.into_iter().map(|g| g.space_id).collect()))
                .collect(),
            system: self.system_permissions,
        }
    }

    fn missing(self, space_ids: &[String]) -> Vec<MissingPermission> {
        let mut missing = Vec::new();
        let grants = self.grants(String::new());
        for space in space_ids {
            for (permission, needed_for) in SPACE_PERMISSIONS_NEEDED {
                let granted = grants.granted_in(permission, space);
                if !granted {
                    missing.push(MissingPermission {
                        permission: permission.to_string(),
                        space_id: Some(space.clone()),
                        needed_for: needed_for.to_string(),
                    });
                }
            }
        }
        for (permission, needed_for) in SYSTEM_PERMISSIONS_NEEDED {
            let granted = grants.system.iter().any(|p| p == permission)
                || grants.space.contains_key(*permission);
            if !granted {
                missing.push(MissingPermission {
                    permission: permission.to_string(),
                    space_id: None,
                    needed_for: needed_for.to_string(),
                });
            }
        }
        missing
    }
}

impl RestOctopus {
    /// `GET /api`: the server's version.
    pub async fn server_version(&self) -> Result<ServerVersion, OctopusError> {
        let root: RootDocument = self.transport.get_json("api", &[]).await?;
        Ok(ServerVersion::new(root.version))
    }

    /// Fails with [`OctopusError::UnsupportedVersion`] when the server is older than 2024.1.
    pub async fn require_oidc_support(&self) -> Result<ServerVersion, OctopusError> {
        let version = self.server_version().await?;
        if !version.at_least(MIN_OIDC_VERSION) {
            return Err(OctopusError::UnsupportedVersion {
                found: version.version,
                needed: format!("{}.{}", MIN_OIDC_VERSION.0, MIN_OIDC_VERSION.1),
                feature: "OIDC accounts (Azure and AWS) and service-account OIDC identities".into(),
            });
        }
        Ok(version)
    }

    /// `GET /api/users/me`: the user the API key belongs to.
    pub async fn current_user(&self) -> Result<CurrentUser, OctopusError> {
        let user: UserDocument = self.transport.get_json("api/users/me", &[]).await?;
        Ok(CurrentUser {
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            is_service: user.is_service,
        })
    }

    /// Permissions the wizard needs that `user_id` lacks in `space_ids` (and system-wide).
    pub async fn missing_permissions(
        &self,
        user_id: &str,
        space_ids: &[String],
    ) -> Result<Vec<MissingPermission>, OctopusError> {
        let set: PermissionSet = self
            .transport
            .get_json(&format!("api/users/{user_id}/permissions"), &[])
            .await?;
        Ok(set.missing(space_ids))
    }

    /// Every permission of the API key's user (space permissions with the spaces they are
    /// granted in, and system permissions), from `GET /api/users/{id}/permissions`.
    pub async fn caller_permissions(
        &self,
    ) -> Result<octo_oidc_core::preflight::OctopusGrants, OctopusError> {
        let user = self.current_user().await?;
        let set: PermissionSet = self
            .transport
            .get_json(&format!("api/users/{}/permissions", user.id), &[])
            .await?;
        Ok(set.grants(format!("{} ({})", user.username, user.id)))
    }

    /// The whole connection check: version (fails below 2024.1), user (fails on a bad key),
    /// then missing permissions in every space the user can see (reported, not failed).
    pub async fn check_connection(&self) -> Result<ConnectionReport, OctopusError> {
        let version = self.require_oidc_support().await?;
        let user = self.current_user().await?;
        // No plain-http warning: `ServerUrl` admits http only on loopback.
        let mut warnings = Vec::new();
        let spaces = match self.spaces().await {
            Ok(spaces) => spaces.into_iter().map(|s| s.id).collect::<Vec<_>>(),
            Err(e) => {
                warnings.push(format!("could not list spaces: {e}"));
                Vec::new()
            }
        };
        let (missing_permissions, permissions_checked) = match self
            .missing_permissions(&user.id, &spaces)
            .await
        {
            Ok(missing) => (missing, true),
            Err(e) => {
                warnings.push(format!(
                        "could not read the user's permissions ({e}); missing permissions will show up as errors later"
                    ));
                (Vec::new(), false)
            }
        };
        Ok(ConnectionReport {
            server_url: self.server_url().as_key(),
            features: version.features(),
            version,
            user,
            missing_permissions,
            permissions_checked,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_year_and_release() {
        assert!(ServerVersion::new("2024.1.11718").at_least(MIN_OIDC_VERSION));
        assert!(ServerVersion::new("2026.1.9674").at_least(MIN_OIDC_VERSION));
        assert!(!ServerVersion::new("2023.4.8077").at_least(MIN_OIDC_VERSION));
        assert!(!ServerVersion::new("2023.12").at_least(MIN_OIDC_VERSION));
        assert_eq!(
            ServerVersion::new("2025.3.7518-ci42").parsed,
            Some((2025, 3))
        );
        assert!(ServerVersion::new("0.0.0-local").at_least((0, 0)));
        assert_eq!(ServerVersion::new("local").parsed, None);
    }

    #[test]
    fn features_follow_the_documented_builds() {
        let f = ServerVersion::new("2025.3.7517").features();
        assert!(
            f.oidc && f.generic_oidc_accounts && !f.project_group_subject_key && !f.custom_claims
        );
        let f = ServerVersion::new("2025.3.7518").features();
        assert!(f.project_group_subject_key && !f.custom_claims);
        let f = ServerVersion::new("2025.4.1357").features();
        assert!(f.project_group_subject_key && f.custom_claims);
        let f = ServerVersion::new("2023.4.8077").features();
        assert!(!f.oidc && !f.generic_oidc_accounts);
        assert!(ServerVersion::new("2026.1").features().custom_claims);
    }

    #[test]
    fn missing_permissions_are_found_per_space_and_system() {
        let set: PermissionSet = serde_json::from_value(serde_json::json!({
            "SpacePermissions": {
                "AccountView": [{"SpaceId": "Spaces-1"}, {"SpaceId": "Spaces-2"}],
                "AccountCreate": [{"SpaceId": "Spaces-1"}],
                "AccountEdit": [{"SpaceId": "Spaces-1"}],
                "TaskCreate": [{"SpaceId": "Spaces-1"}],
                "TaskView": [{"SpaceId": "Spaces-1"}],
                "EnvironmentView": [{"SpaceId": "Spaces-1"}],
                "ProjectView": [{"SpaceId": "Spaces-1"}],
                "TenantView": [{"SpaceId": "Spaces-1"}],
                "TeamEdit": [{"SpaceId": "Spaces-1"}]
            },
            "SystemPermissions": ["UserView"]
        }))
        .expect("valid permission set");
        let missing = set.missing(&["Spaces-1".into(), "Spaces-2".into()]);
        let names: Vec<(String, Option<String>)> = missing
            .iter()
            .map(|m| (m.permission.clone(), m.space_id.clone()))
            .collect();
        assert!(!names.iter().any(|(_, s)| s.as_deref() == Some("Spaces-1")));
        assert!(names.contains(&("AccountCreate".into(), Some("Spaces-2".into()))));
        assert!(!names.contains(&("AccountView".into(), Some("Spaces-2".into()))));
        assert!(names.contains(&("UserEdit".into(), None)));
        assert!(!names.contains(&("TeamEdit".into(), None)));
        assert!(!names.contains(&("UserView".into(), None)));
    }
}
