//! [`FakeOctopus`]: the [`Octopus`] port in memory — accounts per space (`Accounts-N`, slugs
//! from names, update only where fields differ, the account type write-once), users and
//! service accounts (`Users-N`, an ExternalId GUID each), OIDC identities matched by name,
//! the account test (a configurable result), and the `/token/v1` exchange judged against the
//! identities (issuer exact, subject with `*`/`?`, audience = ExternalId unless the identity
//! sets one).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use octo_oidc_core::ports::{
    Applied, ExchangedToken, Octopus, OctopusAccount, OctopusTeam, OidcIdentities, OidcIdentity,
    OidcIdentityIds, OidcIdentitySpec, PortResult, ServerInfo, ServiceAccount, SpaceInventory,
    TaskResult,
};
use octo_oidc_core::{ErrorCode, Problem, Secret};
use serde_json::{Map, Value};

use super::{
    Recorder, audiences, claims, conflict, guid, matches_pattern, not_found, remove_where,
};

const OPERATIONS: &[&str] = &[
    "find_team",
    "add_team_member",
    "remove_team_member",
    "caller_permissions",
    "server_info",
    "inventory",
    "find_account",
    "ensure_account",
    "delete_account",
    "test_account",
    "find_service_account",
    "ensure_service_account",
    "delete_service_account",
    "list_oidc_identities",
    "ensure_oidc_identity",
    "delete_oidc_identity",
    "exchange_id_token",
];

#[derive(Debug, Clone)]
struct User {
    account: ServiceAccount,
    external_id: String,
    identities: Vec<OidcIdentity>,
}

#[derive(Debug)]
struct State {
    server: ServerInfo,
    inventories: BTreeMap<String, SpaceInventory>,
    accounts: BTreeMap<String, Vec<OctopusAccount>>,
    users: Vec<User>,
    account_test: TaskResult,
    counter: u64,
    /// Permissions withheld from the API key's user.
    withheld: std::collections::BTreeSet<String>,
    teams: Vec<OctopusTeam>,
}

impl State {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn user_mut(&mut self, id: &str) -> PortResult<&mut User> {
        self.users
            .iter_mut()
            .find(|u| u.account.id == id)
            .ok_or_else(|| not_found(format!("no user {id}")))
    }
}

super::recorded_fake!(
    /// The Octopus port in memory.
    FakeOctopus
);

fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

/// `null`, `""`, `[]` and a missing field mean the same; numbers equal their string form.
fn same_field(desired: &Value, actual: Option<&Value>) -> bool {
    let unset = |v: &Value| {
        v.is_null()
            || v.as_str().is_some_and(str::is_empty)
            || v.as_array().is_some_and(Vec::is_empty)
    };
    let actual = actual.unwrap_or(&Value::Null);
    match (desired, actual) {
        (d, a) if unset(d) && unset(a) => true,
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            n.to_string() == *s
        }
        (Value::Array(d), Value::Array(a)) => {
            let mut d: Vec<String> = d.iter().map(Value::to_string).collect();
            let mut a: Vec<String> = a.iter().map(Value::to_string).collect();
            d.sort();
            a.sort();
            d == a
        }
        (d, a) => d == a,
    }
}

impl FakeOctopus {
    /// An Octopus with a default space (`Spaces-1`, empty) and no accounts or users.
    pub fn new() -> FakeOctopus {
        let mut inventories = BTreeMap::new();
        inventories.insert(
            "Spaces-1".to_string(),
            SpaceInventory {
                space: Some(octo_oidc_core::ports::OctopusResource {
                    id: "Spaces-1".into(),
                    name: "Default".into(),
                    slug: "default".into(),
                }),
                ..SpaceInventory::default()
            },
        );
        FakeOctopus {
            state: Arc::new(Mutex::new(State {
                server: ServerInfo {
                    version: "2025.4.0".into(),
                    issuer: "https://octopus.example.test".into(),
                },
                inventories,
                accounts: BTreeMap::new(),
                users: Vec::new(),
                account_test: TaskResult {
                    task_id: String::new(),
                    state: "Success".into(),
                    succeeded: true,
                    error_message: None,
                    log: vec!["The account test succeeded.".into()],
                },
                counter: 0,
                withheld: Default::default(),
                teams: Vec::new(),
            })),
            recorder: Recorder::new("FakeOctopus", OPERATIONS),
        }
    }

    /// Sets the version and issuer `server_info` reports.
    pub fn set_server(&self, version: &str, issuer: &str) {
        self.state.lock().unwrap().server = ServerInfo {
            version: version.into(),
            issuer: issuer.into(),
        };
    }

    /// Sets (or adds) a space's inventory.
    pub fn set_inventory(&self, space_id: &str, inventory: SpaceInventory) {
        let mut state = self.state.lock().unwrap();
        state.inventories.insert(space_id.to_string(), inventory);
    }

    /// Adds a person (not a service account) with this username; returns the `Users-N` id.
    pub fn add_person(&self, username: &str) -> String {
        self.add_user(username, username, false)
    }

    fn add_user(&self, username: &str, display_name: &str, is_service: bool) -> String {
        let mut state = self.state.lock().unwrap();
        let n = state.next();
        let id = format!("Users-{n}");
        state.users.push(User {
            account: ServiceAccount {
                id: id.clone(),
                username: username.to_string(),
                display_name: display_name.to_string(),
                is_service,
            },
            external_id: guid(n),
            identities: Vec::new(),
        });
        id
    }

    /// The user (person or service account) with this username, compared without case.
    fn user_named(&self, username: &str) -> Option<ServiceAccount> {
        let state = self.state.lock().unwrap();
        let mut users = state.users.iter().map(|u| &u.account);
        users
            .find(|a| a.username.eq_ignore_ascii_case(username.trim()))
            .cloned()
    }

    /// What the next account tests report (state, success, error and log).
    pub fn set_account_test_result(&self, result: TaskResult) {
        self.state.lock().unwrap().account_test = result;
    }

    /// The accounts of a space as stored.
    pub fn accounts(&self, space_id: &str) -> Vec<OctopusAccount> {
        let state = self.state.lock().unwrap();
        state.accounts.get(space_id).cloned().unwrap_or_default()
    }

    fn apply_account(
        &self,
        space_id: &str,
        body: &Value,
    ) -> PortResult<(Applied<OctopusAccount>, bool)> {
        let desired = body.as_object().ok_or_else(|| {
            Problem::new(
                ErrorCode::InvalidInput,
                "the account body must be a JSON object",
            )
        })?;
        let name = desired
            .get("Name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| Problem::new(ErrorCode::InvalidInput, "the account body needs a Name"))?
            .to_string();
        let account_type = desired
            .get("AccountType")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Problem::new(
                    ErrorCode::InvalidInput,
                    "the account body needs an AccountType",
                )
            })?
            .to_string();
        let mut state = self.state.lock().unwrap();
        if !state.inventories.contains_key(space_id) {
            return Err(not_found(format!("no space {space_id}")));
        }
        let n = state.next();
        let accounts = state.accounts.entry(space_id.to_string()).or_default();
        let existing = accounts.iter_mut().find(|a| {
            a.body["Name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        });
        let Some(existing) = existing else {
            let id = format!("Accounts-{n}");
            let mut stored: Map<String, Value> = desired.clone();
            stored.insert("Id".into(), Value::String(id.clone()));
            stored.insert("SpaceId".into(), Value::String(space_id.to_string()));
            stored
                .entry("Slug")
                .or_insert_with(|| Value::String(slug(&name)));
            let account = OctopusAccount {
                id,
                slug: stored["Slug"].as_str().unwrap_or_default().to_string(),
                body: Value::Object(stored),
            };
            accounts.push(account.clone());
            return Ok((Applied::Created(account), true));
        };
        if existing.body["AccountType"].as_str() != Some(account_type.as_str()) {
            return Err(conflict(format!(
                "an account named `{name}` exists as {}; the account type cannot change",
                existing.body["AccountType"]
            )));
        }
        let differing: Vec<&String> = desired
            .iter()
            .filter(|(k, _)| k.as_str() != "Id")
            .filter(|(k, v)| !same_field(v, existing.body.get(k.as_str())))
            .map(|(k, _)| k)
            .collect();
        if differing.is_empty() {
            return Ok((Applied::Unchanged(existing.clone()), false));
        }
        let fields: Vec<(String, Value)> = differing
            .into_iter()
            .map(|k| (k.clone(), desired[k].clone()))
            .collect();
        let object = existing
            .body
            .as_object_mut()
            .expect("stored bodies are objects");
        for (k, v) in fields {
            object.insert(k, v);
        }
        Ok((Applied::Updated(existing.clone()), true))
    }
}

/// The permissions the fake's API key user holds unless withheld.
pub const FAKE_OCTOPUS_PERMISSIONS: &[&str] = &[
    "AccountCreate",
    "AccountDelete",
    "AccountEdit",
    "AccountView",
    "TaskCreate",
    "TaskView",
    "TeamEdit",
    "TeamView",
    "UserEdit",
    "UserView",
];

impl FakeOctopus {
    /// Adds a team (of `space_id`, or a system team) with these members; returns its id.
    pub fn add_team(&self, space_id: Option<&str>, name: &str, members: &[&str]) -> String {
        let mut state = self.state.lock().unwrap();
        let teams = &mut state.teams;
        let id = format!("Teams-{}", teams.len() + 1);
        teams.push(OctopusTeam {
            id: id.clone(),
            name: name.to_string(),
            space_id: space_id.map(str::to_string),
            member_user_ids: members.iter().map(|m| m.to_string()).collect(),
            can_change_members: true,
        });
        id
    }

    /// Every team as it is now.
    pub fn teams(&self) -> Vec<OctopusTeam> {
        self.state.lock().unwrap().teams.clone()
    }

    /// Withholds a permission (space and system) from the API key's user.
    pub fn withhold_permission(&self, permission: &str) {
        self.state
            .lock()
            .unwrap()
            .withheld
            .insert(permission.to_string());
    }
}

impl Octopus for FakeOctopus {
    async fn find_team(&self, space_id: &str, name: &str) -> PortResult<Option<OctopusTeam>> {
        self.recorder.read("find_team", name, || {
            let state = self.state.lock().unwrap();
            state
                .teams
                .iter()
                .filter(|t| t.space_id.as_deref().is_none_or(|s| s == space_id))
                .find(|t| t.name.eq_ignore_ascii_case(name))
                .cloned()
        })
    }

    async fn add_team_member(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> PortResult<Applied<OctopusTeam>> {
        self.recorder.call("add_team_member", team_id, || {
            let teams = &mut self.state.lock().unwrap().teams;
            match teams.iter_mut().find(|t| t.id == team_id) {
                None => Err(not_found(format!("team {team_id}"))),
                Some(team) if team.member_user_ids.iter().any(|m| m == user_id) => {
                    Ok((Applied::Unchanged(team.clone()), false))
                }
                Some(team) => {
                    team.member_user_ids.push(user_id.to_string());
                    Ok((Applied::Created(team.clone()), true))
                }
            }
        })
    }

    async fn remove_team_member(&self, team_id: &str, user_id: &str) -> PortResult<()> {
        self.recorder.call("remove_team_member", team_id, || {
            let teams = &mut self.state.lock().unwrap().teams;
            let changed = match teams.iter_mut().find(|t| t.id == team_id) {
                Some(team) => remove_where(&mut team.member_user_ids, |m| m == user_id),
                None => false,
            };
            Ok(((), changed))
        })
    }

    async fn caller_permissions(&self) -> PortResult<octo_oidc_core::preflight::OctopusGrants> {
        self.recorder.read("caller_permissions", "", || {
            let withheld = self.state.lock().unwrap().withheld.clone();
            let held: Vec<String> = FAKE_OCTOPUS_PERMISSIONS
                .iter()
                .filter(|p| !withheld.contains(**p))
                .map(|p| p.to_string())
                .collect();
            octo_oidc_core::preflight::OctopusGrants {
                user: "Users-1 (fake-admin)".into(),
                // Granted in every space.
                space: held.iter().map(|p| (p.clone(), vec![None])).collect(),
                system: held,
            }
        })
    }
    async fn server_info(&self) -> PortResult<ServerInfo> {
        self.recorder.read("server_info", "", || {
            self.state.lock().unwrap().server.clone()
        })
    }

    async fn inventory(&self, space_id: &str) -> PortResult<SpaceInventory> {
        self.recorder.call("inventory", space_id, || {
            let found = self
                .state
                .lock()
                .unwrap()
                .inventories
                .get(space_id)
                .cloned();
            let inventory = found.ok_or_else(|| not_found(format!("no space {space_id}")))?;
            Ok((inventory, false))
        })
    }

    async fn find_account(&self, space_id: &str, name: &str) -> PortResult<Option<OctopusAccount>> {
        self.recorder.read("find_account", name, || {
            self.accounts(space_id).into_iter().find(|a| {
                a.body["Name"]
                    .as_str()
                    .is_some_and(|n| n.trim() == name.trim())
            })
        })
    }

    async fn ensure_account(
        &self,
        space_id: &str,
        body: &Value,
    ) -> PortResult<Applied<OctopusAccount>> {
        let target = body["Name"].as_str().unwrap_or_default();
        self.recorder.call("ensure_account", target, || {
            self.apply_account(space_id, body)
        })
    }

    async fn delete_account(&self, space_id: &str, account_id: &str) -> PortResult<()> {
        self.recorder.call("delete_account", account_id, || {
            let mut state = self.state.lock().unwrap();
            let accounts = state.accounts.entry(space_id.to_string()).or_default();
            Ok(((), remove_where(accounts, |a| a.id == account_id)))
        })
    }

    async fn test_account(&self, space_id: &str, account_id: &str) -> PortResult<TaskResult> {
        self.recorder.call("test_account", account_id, || {
            if !self.accounts(space_id).iter().any(|a| a.id == account_id) {
                return Err(not_found(format!("no account {account_id} in {space_id}")));
            }
            let mut state = self.state.lock().unwrap();
            let n = state.next();
            let mut result = state.account_test.clone();
            result.task_id = format!("ServerTasks-{n}");
            Ok((result, false))
        })
    }

    async fn find_service_account(&self, username: &str) -> PortResult<Option<ServiceAccount>> {
        self.recorder.read("find_service_account", username, || {
            self.user_named(username)
        })
    }

    async fn ensure_service_account(
        &self,
        username: &str,
        display_name: &str,
    ) -> PortResult<Applied<ServiceAccount>> {
        self.recorder.call("ensure_service_account", username, || {
            match self.user_named(username) {
                Some(user) if !user.is_service => Err(conflict(format!(
                    "`{username}` is an existing user ({}) who is not a service account",
                    user.id
                ))),
                Some(user) => Ok((Applied::Unchanged(user), false)),
                None if username.trim().is_empty() => Err(Problem::new(
                    ErrorCode::InvalidInput,
                    "the service account needs a username",
                )),
                None => {
                    let id = self.add_user(username.trim(), display_name, true);
                    let state = self.state.lock().unwrap();
                    let user = state.users.iter().find(|u| u.account.id == id).cloned();
                    Ok((Applied::Created(user.expect("just added").account), true))
                }
            }
        })
    }

    async fn delete_service_account(&self, service_account_id: &str) -> PortResult<()> {
        self.recorder
            .call("delete_service_account", service_account_id, || {
                let users = &mut self.state.lock().unwrap().users;
                Ok((
                    (),
                    remove_where(users, |u| u.account.id == service_account_id),
                ))
            })
    }

    async fn list_oidc_identities(&self, service_account_id: &str) -> PortResult<OidcIdentities> {
        self.recorder
            .call("list_oidc_identities", service_account_id, || {
                let mut state = self.state.lock().unwrap();
                let user = state.user_mut(service_account_id)?;
                let identities = OidcIdentities {
                    external_id: user.external_id.clone(),
                    identities: user.identities.clone(),
                };
                Ok((identities, false))
            })
    }

    async fn ensure_oidc_identity(
        &self,
        service_account_id: &str,
        identity: &OidcIdentitySpec,
    ) -> PortResult<Applied<OidcIdentityIds>> {
        self.recorder
            .call("ensure_oidc_identity", &identity.name, || {
                let mut state = self.state.lock().unwrap();
                let n = state.next();
                let user = state.user_mut(service_account_id)?;
                if !user.account.is_service {
                    return Err(conflict(format!(
                        "{service_account_id} is not a service account"
                    )));
                }
                if identity.name.trim().is_empty() || identity.name.chars().count() > 200 {
                    return Err(Problem::new(
                        ErrorCode::InvalidInput,
                        "the identity name must be 1 to 200 characters",
                    ));
                }
                let ids = |identity_id: String| OidcIdentityIds {
                    identity_id,
                    external_id: user.external_id.clone(),
                };
                let normalised = OidcIdentitySpec {
                    audience: identity.audience.clone().filter(|a| !a.trim().is_empty()),
                    ..identity.clone()
                };
                match user
                    .identities
                    .iter_mut()
                    .find(|i| i.spec.name == identity.name)
                {
                    Some(existing) if existing.spec == normalised => {
                        Ok((Applied::Unchanged(ids(existing.id.clone())), false))
                    }
                    Some(existing) => {
                        existing.spec = normalised;
                        Ok((Applied::Updated(ids(existing.id.clone())), true))
                    }
                    None => {
                        let id = format!("OidcIdentities-{n}");
                        user.identities.push(OidcIdentity {
                            id: id.clone(),
                            spec: normalised,
                        });
                        Ok((Applied::Created(ids(id)), true))
                    }
                }
            })
    }

    async fn delete_oidc_identity(
        &self,
        service_account_id: &str,
        identity_id: &str,
    ) -> PortResult<()> {
        self.recorder.call("delete_oidc_identity", identity_id, || {
            let mut state = self.state.lock().unwrap();
            let changed = state
                .user_mut(service_account_id)
                .is_ok_and(|user| remove_where(&mut user.identities, |i| i.id == identity_id));
            Ok(((), changed))
        })
    }

    async fn exchange_id_token(
        &self,
        external_id: &str,
        id_token: &Secret,
    ) -> PortResult<ExchangedToken> {
        let rejected = |why: &str| Problem::new(ErrorCode::TrustRejected, why.to_string());
        self.recorder.call("exchange_id_token", external_id, || {
            let claims =
                claims(id_token.expose()).ok_or_else(|| rejected("the token is not a JWT"))?;
            let state = self.state.lock().unwrap();
            let user = state
                .users
                .iter()
                .find(|u| u.external_id == external_id)
                .ok_or_else(|| rejected("no service account has this ExternalId"))?;
            let (iss, sub) = (
                claims["iss"].as_str().unwrap_or_default(),
                claims["sub"].as_str().unwrap_or_default(),
            );
            let token_audiences = audiences(&claims);
            let trusted = user.identities.iter().any(|i| {
                let audience = i.spec.audience.as_deref().unwrap_or(&user.external_id);
                i.spec.issuer == iss
                    && matches_pattern(&i.spec.subject, sub)
                    && token_audiences.iter().any(|a| a == audience)
            });
            if !trusted {
                return Err(rejected(&format!(
                    "no OIDC identity of {} trusts iss `{iss}`, sub `{sub}`",
                    user.account.id
                )));
            }
            Ok((
                ExchangedToken {
                    access_token: Secret::new(format!("fake-access-token-for-{}", user.account.id)),
                    expires_in: Some(3600),
                },
                false,
            ))
        })
    }
}
