//! [`FakeGoogleCloud`]: the [`GoogleCloud`] port in memory — one project (id and number),
//! `testIamPermissions` (everything granted unless [`FakeGoogleCloud::deny_permissions`]),
//! pools and providers by id (created active; ensure undeletes a soft-deleted one and
//! patches what differs; delete soft-deletes with an expiry, a second delete reports it gone;
//! a soft-deleted id cannot be created again), service accounts by email (created with a
//! unique id, patched), allow policies per service account and project (members added and
//! removed per role, empty bindings dropped), the STS exchange and `generateAccessToken`.
//!
//! Tokens are judged with the fake's own small checks, not the core's CEL: the issuer must be
//! the provider's `issuerUri`, `aud` the provider's resource name (with or without `https:`) or
//! an allowed audience, `google.subject` must be mapped from `assertion.sub`, and the
//! condition must be `true` or of the form `assertion.sub in ['…', …]` listing the subject
//! (any other condition refuses). `generateAccessToken` needs the principal
//! `principal://iam.googleapis.com/<pool>/subject/<sub>` in the service account's
//! `roles/iam.workloadIdentityUser`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use octo_oidc_core::gcp::ProviderRef;
use octo_oidc_core::ports::{
    Applied, GcpAccessToken, GcpBinding, GcpLifecycle, GcpPolicyChange, GcpPolicyTarget, GcpPool,
    GcpPoolSpec, GcpProject, GcpProvider, GcpProviderSpec, GcpRemoval, GcpServiceAccount,
    GcpServiceAccountSpec, GoogleCloud, PortResult,
};
use octo_oidc_core::{ErrorCode, Problem, Secret};

use super::{Recorder, audiences, claims, conflict, not_found, updated_if};

const OPERATIONS: &[&str] = &[
    "project",
    "granted_permissions",
    "find_pool",
    "ensure_pool",
    "delete_pool",
    "undelete_pool",
    "find_provider",
    "ensure_provider",
    "delete_provider",
    "undelete_provider",
    "find_service_account",
    "ensure_service_account",
    "delete_service_account",
    "policy_bindings",
    "change_policy",
    "exchange_token",
    "generate_access_token",
];

/// When the fake's soft-deleted resources are purged.
pub const FAKE_EXPIRE_TIME: &str = "2030-01-31T00:00:00Z";

#[derive(Debug)]
struct State {
    project: GcpProject,
    denied: Vec<String>,
    pools: BTreeMap<String, GcpPool>,
    providers: BTreeMap<String, GcpProvider>,
    service_accounts: BTreeMap<String, GcpServiceAccount>,
    policies: BTreeMap<String, Vec<GcpBinding>>,
    next_id: u64,
}

impl State {
    /// Whether the allow policy's owner exists (a project always does here).
    fn policy_target_exists(&self, target: &GcpPolicyTarget) -> PortResult<()> {
        match target {
            GcpPolicyTarget::ServiceAccount(email)
                if !self.service_accounts.contains_key(email) =>
            {
                Err(not_found(format!("NOT_FOUND: service account {email}")))
            }
            _ => Ok(()),
        }
    }
}

super::recorded_fake!(
    /// The Google Cloud port in memory.
    FakeGoogleCloud
);

fn key(target: &GcpPolicyTarget) -> String {
    match target {
        GcpPolicyTarget::ServiceAccount(email) => format!("sa:{email}"),
        GcpPolicyTarget::Project(p) => format!("project:{p}"),
    }
}

fn refused(error: &str, description: &str) -> Problem {
    Problem::new(
        ErrorCode::TrustRejected,
        format!("Google STS refused the token: {error}: {description}"),
    )
}

/// The quoted subjects of `assertion.sub in ['a', 'b']` (the fake's only condition form).
fn listed_subjects(condition: &str) -> Option<Vec<String>> {
    let list = condition
        .trim()
        .strip_prefix("assertion.sub in [")?
        .strip_suffix(']')?;
    let mut out = Vec::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '\\' => s.push(chars.next()?),
                        '\'' => break,
                        c => s.push(c),
                    }
                }
                out.push(s);
            }
            ' ' | ',' => {}
            _ => return None,
        }
    }
    Some(out)
}

impl FakeGoogleCloud {
    /// A fake with the project `octopus-sandbox` (number `123456789012`).
    pub fn new() -> FakeGoogleCloud {
        FakeGoogleCloud::with_project("octopus-sandbox", "123456789012")
    }

    /// A fake with one project.
    pub fn with_project(project_id: &str, project_number: &str) -> FakeGoogleCloud {
        FakeGoogleCloud {
            state: Arc::new(Mutex::new(State {
                project: GcpProject {
                    project_id: project_id.into(),
                    project_number: project_number.into(),
                },
                denied: Vec::new(),
                pools: BTreeMap::new(),
                providers: BTreeMap::new(),
                service_accounts: BTreeMap::new(),
                policies: BTreeMap::new(),
                next_id: 1,
            })),
            recorder: Recorder::new("FakeGoogleCloud", OPERATIONS),
        }
    }

    /// The project.
    pub fn project_info(&self) -> GcpProject {
        self.state.lock().unwrap().project.clone()
    }

    /// Makes `testIamPermissions` leave out these permissions.
    pub fn deny_permissions(&self, permissions: &[&str]) {
        self.state.lock().unwrap().denied = permissions.iter().map(|p| p.to_string()).collect();
    }

    /// The pools (active and soft-deleted).
    pub fn pools(&self) -> Vec<GcpPool> {
        self.state.lock().unwrap().pools.values().cloned().collect()
    }

    /// The providers (active and soft-deleted).
    pub fn providers(&self) -> Vec<GcpProvider> {
        self.state
            .lock()
            .unwrap()
            .providers
            .values()
            .cloned()
            .collect()
    }

    /// The service accounts.
    pub fn service_accounts(&self) -> Vec<GcpServiceAccount> {
        self.state
            .lock()
            .unwrap()
            .service_accounts
            .values()
            .cloned()
            .collect()
    }

    /// The bindings of an allow policy.
    pub fn bindings(&self, target: &GcpPolicyTarget) -> Vec<GcpBinding> {
        self.state
            .lock()
            .unwrap()
            .policies
            .get(&key(target))
            .cloned()
            .unwrap_or_default()
    }

    /// Changes a provider's condition behind the engine's back (a tamper).
    pub fn set_condition(&self, provider: &ProviderRef, condition: Option<&str>) {
        let mut s = self.state.lock().unwrap();
        if let Some(p) = s.providers.get_mut(&provider.provider_name()) {
            p.trust.attribute_condition = condition.map(str::to_string);
        }
    }

    /// Adds a service account created outside the setup.
    pub fn seed_service_account(&self, email: &str, description: &str) {
        let mut s = self.state.lock().unwrap();
        let id = s.next_id;
        s.next_id += 1;
        s.service_accounts.insert(
            email.into(),
            GcpServiceAccount {
                email: email.into(),
                unique_id: format!("1{id:020}"),
                display_name: email.into(),
                description: description.into(),
            },
        );
    }

    /// Binds `member` to `role` behind the engine's back.
    pub fn seed_binding(&self, target: &GcpPolicyTarget, role: &str, member: &str) {
        let mut s = self.state.lock().unwrap();
        let change = GcpPolicyChange {
            add: BTreeMap::from([(role.to_string(), vec![member.to_string()])]),
            ..Default::default()
        };
        apply_change(s.policies.entry(key(target)).or_default(), &change);
    }
}

fn apply_change(bindings: &mut Vec<GcpBinding>, change: &GcpPolicyChange) -> bool {
    let mut changed = false;
    for (role, members) in &change.add {
        let i = match bindings.iter().position(|b| &b.role == role) {
            Some(i) => i,
            None => {
                bindings.push(GcpBinding {
                    role: role.clone(),
                    members: Vec::new(),
                });
                bindings.len() - 1
            }
        };
        for m in members {
            if !bindings[i].members.contains(m) {
                bindings[i].members.push(m.clone());
                bindings[i].members.sort();
                changed = true;
            }
        }
    }
    for (role, members) in &change.remove {
        if let Some(b) = bindings.iter_mut().find(|b| &b.role == role) {
            let before = b.members.len();
            b.members.retain(|m| !members.contains(m));
            changed |= b.members.len() != before;
        }
    }
    bindings.retain(|b| !b.members.is_empty());
    changed
}

/// An existing resource after an update: unchanged when it equals `before`.
fn compared<T: Clone + PartialEq>(before: T, after: &T) -> (Applied<T>, bool) {
    updated_if(*after != before, after.clone())
}

/// The lifecycle of a deleted pool or provider, with the fake's expiry.
fn soft_deleted() -> GcpLifecycle {
    GcpLifecycle::SoftDeleted {
        expire_time: Some(FAKE_EXPIRE_TIME.into()),
    }
}

/// Deletes a pool or provider (given its lifecycle) as Google does: soft, for 30 days; what is
/// missing or already deleted is gone already. The flag says whether anything changed.
fn soft_delete(lifecycle: Option<&mut GcpLifecycle>) -> (GcpRemoval, bool) {
    match lifecycle {
        None => (GcpRemoval::AlreadyGone { lifecycle: None }, false),
        Some(l) if *l != GcpLifecycle::Active => (
            GcpRemoval::AlreadyGone {
                lifecycle: Some(l.clone()),
            },
            false,
        ),
        Some(l) => {
            *l = soft_deleted();
            (
                GcpRemoval::SoftDeleted {
                    expire_time: Some(FAKE_EXPIRE_TIME.into()),
                },
                true,
            )
        }
    }
}

/// Undeletes the pool or provider `name` (`entry`, whose lifecycle `lifecycle` reaches):
/// unchanged when active, `NOT_FOUND` when missing. The flag says whether anything changed.
fn undelete<T: Clone>(
    entry: Option<&mut T>,
    lifecycle: fn(&mut T) -> &mut GcpLifecycle,
    name: &str,
) -> PortResult<(Applied<T>, bool)> {
    let Some(e) = entry else {
        return Err(not_found(format!("NOT_FOUND: {name}")));
    };
    let l = lifecycle(e);
    if *l == GcpLifecycle::Active {
        return Ok((Applied::Unchanged(e.clone()), false));
    }
    *l = GcpLifecycle::Active;
    Ok((Applied::Updated(e.clone()), true))
}

fn pool_name(number: &str, pool: &str) -> String {
    format!("projects/{number}/locations/global/workloadIdentityPools/{pool}")
}

impl GoogleCloud for FakeGoogleCloud {
    async fn project(&self, project: &str) -> PortResult<GcpProject> {
        self.recorder.call("project", project, || {
            let p = self.state.lock().unwrap().project.clone();
            match project == p.project_id || project == p.project_number {
                true => Ok((p, false)),
                false => Err(Problem::new(
                    ErrorCode::PermissionDenied,
                    format!(
                        "PERMISSION_DENIED: no access to project {project}, or it does not exist"
                    ),
                )),
            }
        })
    }

    async fn granted_permissions(
        &self,
        project: &str,
        permissions: &[String],
    ) -> PortResult<Vec<String>> {
        self.recorder.read("granted_permissions", project, || {
            let denied = &self.state.lock().unwrap().denied;
            permissions
                .iter()
                .filter(|p| !denied.contains(p))
                .cloned()
                .collect()
        })
    }

    async fn find_pool(&self, number: &str, pool: &str) -> PortResult<Option<GcpPool>> {
        let name = pool_name(number, pool);
        self.recorder.read("find_pool", &name, || {
            self.state.lock().unwrap().pools.get(&name).cloned()
        })
    }

    async fn ensure_pool(&self, spec: &GcpPoolSpec) -> PortResult<Applied<GcpPool>> {
        let name = pool_name(&spec.project_number, &spec.pool_id);
        self.recorder.call("ensure_pool", &name, || {
            let mut s = self.state.lock().unwrap();
            Ok(match s.pools.get_mut(&name) {
                None => {
                    let pool = GcpPool {
                        name: name.clone(),
                        display_name: spec.display_name.clone(),
                        description: spec.description.clone(),
                        disabled: false,
                        lifecycle: GcpLifecycle::Active,
                    };
                    s.pools.insert(name.clone(), pool.clone());
                    (Applied::Created(pool), true)
                }
                Some(p) => {
                    let before = p.clone();
                    p.lifecycle = GcpLifecycle::Active;
                    p.disabled = false;
                    p.display_name = spec.display_name.clone();
                    p.description = spec.description.clone();
                    compared(before, p)
                }
            })
        })
    }

    async fn delete_pool(&self, number: &str, pool: &str) -> PortResult<GcpRemoval> {
        let name = pool_name(number, pool);
        self.recorder.call("delete_pool", &name, || {
            let mut s = self.state.lock().unwrap();
            let r = soft_delete(s.pools.get_mut(&name).map(|p| &mut p.lifecycle));
            if r.1 {
                // The pool's providers go with it.
                let prefix = format!("{name}/providers/");
                for (_, provider) in s
                    .providers
                    .iter_mut()
                    .filter(|(k, _)| k.starts_with(&prefix))
                {
                    provider.lifecycle = soft_deleted();
                }
            }
            Ok(r)
        })
    }

    async fn undelete_pool(&self, number: &str, pool: &str) -> PortResult<Applied<GcpPool>> {
        let name = pool_name(number, pool);
        self.recorder.call("undelete_pool", &name, || {
            let pools = &mut self.state.lock().unwrap().pools;
            undelete(pools.get_mut(&name), |p| &mut p.lifecycle, &name)
        })
    }

    async fn find_provider(&self, provider: &ProviderRef) -> PortResult<Option<GcpProvider>> {
        let name = provider.provider_name();
        self.recorder.read("find_provider", &name, || {
            self.state.lock().unwrap().providers.get(&name).cloned()
        })
    }

    async fn ensure_provider(&self, spec: &GcpProviderSpec) -> PortResult<Applied<GcpProvider>> {
        let name = spec.provider.provider_name();
        self.recorder.call("ensure_provider", &name, || {
            let mut s = self.state.lock().unwrap();
            let pool = spec.provider.pool_name();
            match s.pools.get(&pool).map(|p| p.lifecycle.clone()) {
                None => Err(not_found(format!(
                    "NOT_FOUND: the pool {pool} does not exist"
                ))),
                Some(GcpLifecycle::SoftDeleted { .. }) => Err(Problem::new(
                    ErrorCode::Conflict,
                    format!("FAILED_PRECONDITION: the pool {pool} is deleted"),
                )),
                Some(GcpLifecycle::Active) => {
                    let wanted = GcpProvider {
                        name: name.clone(),
                        display_name: spec.display_name.clone(),
                        description: spec.description.clone(),
                        disabled: false,
                        lifecycle: GcpLifecycle::Active,
                        trust: spec.trust.clone(),
                    };
                    let before = s.providers.insert(name.clone(), wanted.clone());
                    Ok(match before {
                        None => (Applied::Created(wanted), true),
                        Some(b) if b == wanted => (Applied::Unchanged(wanted), false),
                        Some(_) => (Applied::Updated(wanted), true),
                    })
                }
            }
        })
    }

    async fn delete_provider(&self, provider: &ProviderRef) -> PortResult<GcpRemoval> {
        let name = provider.provider_name();
        self.recorder.call("delete_provider", &name, || {
            let providers = &mut self.state.lock().unwrap().providers;
            Ok(soft_delete(
                providers.get_mut(&name).map(|p| &mut p.lifecycle),
            ))
        })
    }

    async fn undelete_provider(&self, provider: &ProviderRef) -> PortResult<Applied<GcpProvider>> {
        let name = provider.provider_name();
        self.recorder.call("undelete_provider", &name, || {
            let providers = &mut self.state.lock().unwrap().providers;
            undelete(providers.get_mut(&name), |p| &mut p.lifecycle, &name)
        })
    }

    async fn find_service_account(&self, email: &str) -> PortResult<Option<GcpServiceAccount>> {
        self.recorder.read("find_service_account", email, || {
            self.state
                .lock()
                .unwrap()
                .service_accounts
                .get(email)
                .cloned()
        })
    }

    async fn ensure_service_account(
        &self,
        spec: &GcpServiceAccountSpec,
    ) -> PortResult<Applied<GcpServiceAccount>> {
        let project = self.state.lock().unwrap().project.clone();
        let email = format!(
            "{}@{}.iam.gserviceaccount.com",
            spec.account_id, project.project_id
        );
        self.recorder.call("ensure_service_account", &email, || {
            if spec.project != project.project_id && spec.project != project.project_number {
                return Err(conflict(format!(
                    "PERMISSION_DENIED: project {}",
                    spec.project
                )));
            }
            let mut s = self.state.lock().unwrap();
            let id = s.next_id;
            match s.service_accounts.get_mut(&email) {
                None => {
                    let sa = GcpServiceAccount {
                        email: email.clone(),
                        unique_id: format!("1{id:020}"),
                        display_name: spec.display_name.clone(),
                        description: spec.description.clone(),
                    };
                    s.next_id += 1;
                    s.service_accounts.insert(email.clone(), sa.clone());
                    Ok((Applied::Created(sa), true))
                }
                Some(sa) => {
                    let before = sa.clone();
                    sa.display_name = spec.display_name.clone();
                    sa.description = spec.description.clone();
                    Ok(compared(before, sa))
                }
            }
        })
    }

    async fn delete_service_account(&self, email: &str) -> PortResult<GcpRemoval> {
        self.recorder.call("delete_service_account", email, || {
            let mut s = self.state.lock().unwrap();
            Ok(match s.service_accounts.remove(email) {
                None => (GcpRemoval::AlreadyGone { lifecycle: None }, false),
                Some(_) => {
                    s.policies.remove(&format!("sa:{email}"));
                    (GcpRemoval::Deleted, true)
                }
            })
        })
    }

    async fn policy_bindings(&self, target: &GcpPolicyTarget) -> PortResult<Vec<GcpBinding>> {
        let k = key(target);
        self.recorder.call("policy_bindings", &k, || {
            let s = self.state.lock().unwrap();
            s.policy_target_exists(target)?;
            Ok((s.policies.get(&k).cloned().unwrap_or_default(), false))
        })
    }

    async fn change_policy(
        &self,
        target: &GcpPolicyTarget,
        change: &GcpPolicyChange,
    ) -> PortResult<Applied<Vec<GcpBinding>>> {
        let k = key(target);
        self.recorder.call("change_policy", &k, || {
            let mut s = self.state.lock().unwrap();
            s.policy_target_exists(target)?;
            let bindings = s.policies.entry(k.clone()).or_default();
            let changed = apply_change(bindings, change);
            Ok(updated_if(changed, bindings.clone()))
        })
    }

    async fn exchange_token(&self, audience: &str, subject_token: &Secret) -> PortResult<Secret> {
        let provider_name = audience
            .strip_prefix("//iam.googleapis.com/")
            .unwrap_or_default()
            .to_string();
        self.recorder.call("exchange_token", audience, || {
            let s = self.state.lock().unwrap();
            let claims = claims(subject_token.expose())
                .ok_or_else(|| refused("invalid_grant", "Unable to parse the ID Token."))?;
            let p = s
                .providers
                .get(&provider_name)
                .filter(|p| p.lifecycle == GcpLifecycle::Active && !p.disabled)
                .map(|p| &p.trust)
                .ok_or_else(|| {
                    refused(
                        "invalid_target",
                        "The target service indicated by the \"audience\" parameters is invalid.",
                    )
                })?;
            let iss = claims["iss"].as_str().unwrap_or_default();
            if iss != p.issuer_uri {
                return Err(refused(
                    "invalid_grant",
                    &format!(
                        "The issuer in ID Token {iss} does not match the expected ISSUER {}.",
                        p.issuer_uri
                    ),
                ));
            }
            let auds = audiences(&claims);
            let ok = auds.iter().any(|a| match p.allowed_audiences.is_empty() {
                true => a == audience || a.strip_prefix("https:") == Some(audience),
                false => p.allowed_audiences.contains(a),
            });
            if !ok {
                return Err(refused(
                    "invalid_grant",
                    &format!(
                        "The audience in ID Token {auds:?} does not match the expected audience {audience}."
                    ),
                ));
            }
            let sub = claims["sub"].as_str().unwrap_or_default().to_string();
            if p.attribute_mapping
                .get("google.subject")
                .map(String::as_str)
                != Some("assertion.sub")
            {
                return Err(refused(
                    "invalid_request",
                    "the fake maps google.subject only from assertion.sub",
                ));
            }
            let admitted = match p.attribute_condition.as_deref().map(str::trim) {
                None | Some("true") => true,
                Some(c) => listed_subjects(c).is_some_and(|l| l.contains(&sub)),
            };
            if !admitted {
                return Err(refused(
                    "unauthorized_client",
                    "The given credential is rejected by the attribute condition.",
                ));
            }
            let pool = provider_name
                .split("/providers/")
                .next()
                .unwrap_or_default();
            Ok((Secret::new(format!("federated|{pool}|{sub}")), false))
        })
    }

    async fn generate_access_token(
        &self,
        federated_token: &Secret,
        email: &str,
        lifetime_secs: u32,
    ) -> PortResult<GcpAccessToken> {
        let parts: Vec<&str> = federated_token.expose().splitn(3, '|').collect();
        self.recorder.call("generate_access_token", email, || {
            let s = self.state.lock().unwrap();
            match parts.as_slice() {
                ["federated", pool, sub] => {
                    let principal = format!("principal://iam.googleapis.com/{pool}/subject/{sub}");
                    let bound = s
                        .policies
                        .get(&format!("sa:{email}"))
                        .into_iter()
                        .flatten()
                        .any(|b| {
                            b.role == octo_oidc_core::gcp::WORKLOAD_IDENTITY_USER
                                && b.members.contains(&principal)
                        });
                    match (s.service_accounts.contains_key(email), bound) {
                        (true, true) if (600..=3600).contains(&lifetime_secs) => Ok((
                            GcpAccessToken {
                                token: Secret::new(format!("ya29.fake-{sub}")),
                                expire_time: "2030-01-01T01:00:00Z".into(),
                            },
                            false,
                        )),
                        (true, true) => Err(Problem::new(
                            ErrorCode::InvalidInput,
                            "INVALID_ARGUMENT: the lifetime is over 3600 s without the lifetime extension policy",
                        )),
                        _ => Err(Problem::new(
                            ErrorCode::PermissionDenied,
                            format!(
                                "PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist) for {principal}"
                            ),
                        )),
                    }
                }
                _ => Err(Problem::new(
                    ErrorCode::PermissionDenied,
                    "UNAUTHENTICATED: not a federated token",
                )),
            }
        })
    }
}
