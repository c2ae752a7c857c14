//! The sandbox Octopus's in-memory state: inventory, accounts, users, teams, OIDC identities,
//! tasks, issued access tokens and id counters, plus a cache of pre-serialized `/all` bodies.
//!
//! Everything except access tokens and the cache is serde-serializable for the state file.
//! Deliberately absent: indexes beyond what a 10,000-project inventory needs (lists are scanned).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::signing::SigningKey;

use super::model::{
    DeploymentTarget, Environment, OidcIdentity, Project, ProjectGroup, Runbook, ServerTask, Space,
    Team, Tenant, User,
};

/// What a space contains (and the spaces themselves): the seedable part of the state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inventory {
    /// Spaces.
    pub spaces: Vec<Space>,
    /// Environments of all spaces.
    pub environments: Vec<Environment>,
    /// Project groups of all spaces.
    pub project_groups: Vec<ProjectGroup>,
    /// Projects of all spaces.
    pub projects: Vec<Project>,
    /// Tenants of all spaces.
    pub tenants: Vec<Tenant>,
    /// Runbooks of all spaces.
    pub runbooks: Vec<Runbook>,
    /// Deployment targets of all spaces (alphabetical by name within a space).
    #[serde(default)]
    pub deployment_targets: Vec<DeploymentTarget>,
}

/// The persisted Octopus state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OctopusState {
    /// Spaces and their content.
    pub inventory: Inventory,
    /// Accounts as flat JSON objects (validated), in creation order.
    pub accounts: Vec<Map<String, Value>>,
    /// Users, including the built-in admin `Users-1` and service accounts.
    pub users: Vec<User>,
    /// Teams.
    pub teams: Vec<Team>,
    /// OIDC identities of service accounts.
    pub oidc_identities: Vec<OidcIdentity>,
    /// Server tasks.
    pub tasks: Vec<ServerTask>,
    /// Next number per id prefix (`Accounts` → 7 means the next id is `Accounts-7`).
    pub next_ids: BTreeMap<String, u64>,
    /// The issuer's signing key (generated at first start, kept across restarts).
    #[serde(default)]
    pub signing_key: Option<SigningKey>,
    /// Permission names withheld from every user (to reproduce a user who lacks one); see
    /// [`super::permissions`].
    #[serde(default)]
    pub withheld_permissions: BTreeSet<String>,
    /// API keys of users other than the built-in administrator (whose key is the
    /// configuration's): key → `Users-N`.
    #[serde(default)]
    pub api_keys: BTreeMap<String, String>,
}

impl OctopusState {
    /// Allocates the next `{prefix}-{n}` id.
    pub fn next_id(&mut self, prefix: &str) -> String {
        let next = self.next_ids.entry(prefix.to_string()).or_insert(1);
        let id = format!("{prefix}-{next}");
        *next += 1;
        id
    }

    /// Makes sure the counters are past every id already present (after seeding or loading).
    pub fn sync_counters(&mut self) {
        let mut bump = |id: &str| {
            if let Some((prefix, n)) = id.rsplit_once('-')
                && let Ok(n) = n.parse::<u64>()
            {
                let next = self.next_ids.entry(prefix.to_string()).or_insert(1);
                *next = (*next).max(n + 1);
            }
        };
        let inv = &self.inventory;
        inv.spaces.iter().for_each(|x| bump(&x.id));
        inv.environments.iter().for_each(|x| bump(&x.id));
        inv.project_groups.iter().for_each(|x| bump(&x.id));
        inv.projects.iter().for_each(|x| bump(&x.id));
        inv.tenants.iter().for_each(|x| bump(&x.id));
        inv.runbooks.iter().for_each(|x| bump(&x.id));
        inv.deployment_targets.iter().for_each(|x| bump(&x.id));
        self.users.iter().for_each(|x| bump(&x.id));
        self.teams.iter().for_each(|x| bump(&x.id));
        self.oidc_identities.iter().for_each(|x| bump(&x.id));
        self.tasks.iter().for_each(|x| bump(&x.id));
        for account in &self.accounts {
            if let Some(id) = account.get("Id").and_then(Value::as_str) {
                bump(id);
            }
        }
    }

    /// The space with this id, if any.
    pub fn space(&self, space_id: &str) -> Option<&Space> {
        self.inventory.spaces.iter().find(|s| s.id == space_id)
    }

    /// A user by id.
    pub fn user(&self, user_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == user_id)
    }

    /// An account by id within a space.
    pub fn account(&self, space_id: &str, account_id: &str) -> Option<&Map<String, Value>> {
        self.accounts.iter().find(|a| {
            a.get("Id").and_then(Value::as_str) == Some(account_id)
                && a.get("SpaceId").and_then(Value::as_str) == Some(space_id)
        })
    }

    /// Whether a user gets permissions (is a member of a permission-granting team).
    pub fn has_permissions(&self, user_id: &str) -> bool {
        self.teams
            .iter()
            .any(|t| t.grants_permissions && t.member_user_ids.iter().any(|m| m == user_id))
    }
}

/// An access token issued by `/token/v1`.
#[derive(Debug, Clone)]
pub struct IssuedAccessToken {
    /// The service account it stands for.
    pub user_id: String,
    /// When it stops being accepted.
    pub expires: Instant,
}

/// Which inventory collection a cached `/all` body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    /// `/api/spaces/all` (space id ignored).
    Spaces,
    /// Environments.
    Environments,
    /// Project groups.
    ProjectGroups,
    /// Projects.
    Projects,
    /// Tenants.
    Tenants,
    /// Runbooks.
    Runbooks,
    /// Deployment targets (`/machines/all`).
    DeploymentTargets,
}

/// Pre-serialized `/all` bodies keyed by space and collection; cleared on any inventory change.
#[derive(Debug, Default)]
pub struct AllCache {
    bodies: HashMap<(String, Collection), Bytes>,
}

impl AllCache {
    /// The cached body, or builds and caches it.
    pub fn get_or_build(
        &mut self,
        space_id: &str,
        collection: Collection,
        build: impl FnOnce() -> Bytes,
    ) -> Bytes {
        self.bodies
            .entry((space_id.to_string(), collection))
            .or_insert_with(build)
            .clone()
    }

    /// Drops every cached body.
    pub fn clear(&mut self) {
        self.bodies.clear();
    }
}
