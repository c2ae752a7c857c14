//! The sandbox's IAM v1 workload identity pools and providers, service accounts with their
//! allow policies, and the project (Cloud Resource Manager `projects.get`, project IAM policy,
//! `testIamPermissions`), written from Google's REST reference.
//!
//! Rules enforced: pool and provider ids are 4–32 of `[a-z0-9-]` and may not start with `gcp-`;
//! display names ≤ 32 and descriptions ≤ 256 characters; an OIDC provider needs an `https://`
//! `issuerUri`, at most 10 `allowedAudiences` of at most 256 characters, a mapping of
//! `google.subject`, at most 50 `attribute.*` keys of `[a-z0-9_]` (≤ 100 characters), mapping
//! expressions ≤ 2048 characters and an `attributeCondition` ≤ 4096 characters, all valid CEL;
//! an optional `jwksJson` must be a JWKS (≤ 8 keys). Create, patch, delete and undelete answer
//! long-running operations, done on the first poll. Delete is a soft delete: the resource stays
//! `DELETED` (visible to `get` and `list?showDeleted=true`) for 30 days, its id cannot be reused
//! until then, `undelete` restores it; after 30 days (sandbox clock) it is gone for good.
//! Resource names carry the project NUMBER; requests may name the project by id or number.
//! Allow policies carry an etag; a `setIamPolicy` with a stale one is `ABORTED`. Federated
//! members must name the project by number.
//!
//! Deliberately absent: SAML/AWS/X.509 providers, workforce pools, IAM conditions on bindings
//! (kept, not evaluated), service-account keys.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::wire::{GoogleError, timestamp};
use crate::json_fields::{str_field, string_list};

/// Days a soft-deleted pool or provider is kept.
pub const SOFT_DELETE_DAYS: i64 = 30;
const SOFT_DELETE_SECS: i64 = SOFT_DELETE_DAYS * 24 * 3600;

/// Lifecycle state of a pool or provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lifecycle {
    /// Usable.
    Active,
    /// Soft-deleted at this (sandbox) unix time.
    Deleted(i64),
}

/// A workload identity pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    /// The id.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
    /// `description`.
    pub description: String,
    /// `disabled`.
    pub disabled: bool,
    /// Active or soft-deleted.
    pub lifecycle: Lifecycle,
    /// Its providers by id.
    pub providers: BTreeMap<String, Provider>,
}

/// An OIDC workload identity pool provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    /// The id.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
    /// `description`.
    pub description: String,
    /// `disabled`.
    pub disabled: bool,
    /// Active or soft-deleted.
    pub lifecycle: Lifecycle,
    /// `oidc.issuerUri`.
    pub issuer_uri: String,
    /// `oidc.allowedAudiences`.
    pub allowed_audiences: Vec<String>,
    /// `oidc.jwksJson`.
    pub jwks_json: Option<String>,
    /// `attributeMapping`.
    pub attribute_mapping: BTreeMap<String, String>,
    /// `attributeCondition`.
    pub attribute_condition: Option<String>,
}

/// One role binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The role.
    pub role: String,
    /// Members.
    pub members: Vec<String>,
    /// An IAM condition (kept, not evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
}

/// An allow policy with its change counter (the etag).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `version`.
    pub version: i64,
    /// `bindings`.
    pub bindings: Vec<Binding>,
    /// Bumped on every change; the etag is its base64.
    pub revision: u64,
}

impl Policy {
    /// The etag.
    pub fn etag(&self) -> String {
        STANDARD.encode(
            [b"BwX".as_slice(), &self.revision.to_be_bytes()]
                .concat()
                .as_slice(),
        )
    }

    /// The REST representation.
    pub fn to_json(&self) -> Value {
        let mut m = json!({"version": self.version.max(1), "etag": self.etag()});
        if !self.bindings.is_empty() {
            m["bindings"] = json!(self.bindings);
        }
        m
    }

    /// The members bound to `role`.
    pub fn members_of(&self, role: &str) -> impl Iterator<Item = &str> {
        self.bindings
            .iter()
            .filter(move |b| b.role == role)
            .flat_map(|b| b.members.iter().map(String::as_str))
    }
}

/// A service account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceAccount {
    /// `accountId` (the part before `@`).
    pub account_id: String,
    /// `email`.
    pub email: String,
    /// `displayName`.
    pub display_name: String,
    /// `description`.
    pub description: String,
    /// `uniqueId` (21 digits).
    pub unique_id: String,
    /// Its allow policy.
    pub policy: Policy,
}

/// A long-running operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// Polls left before `done`.
    pub polls_until_done: u32,
    /// The final `response`.
    pub response: Value,
}

/// Everything the sandbox Google Cloud project holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GcpState {
    /// The project id.
    pub project_id: String,
    /// The project number.
    pub project_number: String,
    /// Pools by id.
    pub pools: BTreeMap<String, Pool>,
    /// Operations by full name.
    pub operations: BTreeMap<String, Operation>,
    /// Service accounts by email.
    pub service_accounts: BTreeMap<String, ServiceAccount>,
    /// The project's allow policy.
    pub project_policy: Policy,
    /// Permissions `testIamPermissions` does not grant.
    pub withheld_permissions: BTreeSet<String>,
    /// Whether the org policy `iam.allowServiceAccountCredentialLifetimeExtension` lists every
    /// service account (lifetimes up to 12 h).
    pub lifetime_extension_allowed: bool,
    /// Added to the wall clock (tests move time forward).
    pub clock_offset_secs: i64,
    /// Counter for operation and unique ids.
    pub next_id: u64,
}

/// The REST resource a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `projects/{p}` (CRM).
    Project,
    /// `…/workloadIdentityPools`.
    Pools,
    /// `…/workloadIdentityPools/{pool}`.
    Pool(String),
    /// `…/{pool}/providers`.
    Providers(String),
    /// `…/{pool}/providers/{provider}`.
    Provider(String, String),
    /// `…/operations/{op}` under a pool or provider (the full operation name).
    Operation(String),
    /// `projects/{p}/serviceAccounts`.
    ServiceAccounts,
    /// `projects/{p}/serviceAccounts/{email}`.
    ServiceAccount(String),
}

/// The ID a create request names in the query parameter `param`, if it is a valid pool or
/// provider ID (`INVALID_ARGUMENT` naming `what` otherwise).
fn new_id(
    query: &BTreeMap<String, String>,
    param: &str,
    what: &str,
) -> Result<String, GoogleError> {
    let id = query.get(param).cloned().unwrap_or_default();
    if !ok_id(&id) {
        return Err(GoogleError::invalid_argument(format!(
            "The {what} ID must be 4 to 32 characters of [a-z0-9-] and cannot start with gcp-."
        )));
    }
    Ok(id)
}

fn ok_id(id: &str) -> bool {
    (4..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with("gcp-")
}

fn check_names(body: &Value) -> Result<(), GoogleError> {
    if str_field(body, "displayName").is_some_and(|d| d.chars().count() > 32) {
        return Err(GoogleError::invalid_argument(
            "The display name cannot exceed 32 characters.",
        ));
    }
    if str_field(body, "description").is_some_and(|d| d.chars().count() > 256) {
        return Err(GoogleError::invalid_argument(
            "The description cannot exceed 256 characters.",
        ));
    }
    Ok(())
}

fn parse_cel(what: &str, source: &str) -> Result<(), GoogleError> {
    cel::Program::compile(source).map(|_| ()).map_err(|e| {
        GoogleError::invalid_argument(format!("Invalid CEL expression for {what}: {e}"))
    })
}

fn check_attribute_name(key: &str) -> bool {
    if matches!(key, "google.subject" | "google.groups") {
        return true;
    }
    key.strip_prefix("attribute.").is_some_and(|name| {
        !name.is_empty()
            && name.len() <= 100
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

fn check_jwks(jwks: &str) -> Result<(), GoogleError> {
    let bad = || GoogleError::invalid_argument("Input JWK is not in a valid json format.");
    let doc: Value = serde_json::from_str(jwks).map_err(|_| bad())?;
    let keys = doc.get("keys").and_then(Value::as_array).ok_or_else(bad)?;
    if keys.is_empty() || keys.len() > 8 {
        return Err(GoogleError::invalid_argument(
            "The JWKS must contain between 1 and 8 keys.",
        ));
    }
    if keys
        .iter()
        .any(|k| !matches!(str_field(k, "kty"), Some("RSA" | "EC")))
    {
        return Err(GoogleError::invalid_argument(
            "Only RSA and EC keys are supported in the JWKS.",
        ));
    }
    Ok(())
}

impl Provider {
    /// Applies the fields of `body` named in `mask` (all settable ones when `None`) and checks
    /// Google's limits on the result.
    fn apply(&mut self, body: &Value, mask: Option<&[&str]>) -> Result<(), GoogleError> {
        let wants = |f: &str| {
            mask.is_none_or(|m| m.iter().any(|x| *x == f || f.starts_with(&format!("{x}."))))
        };
        check_names(body)?;
        if wants("displayName") {
            self.display_name = str_field(body, "displayName")
                .unwrap_or_default()
                .to_string();
        }
        if wants("description") {
            self.description = str_field(body, "description")
                .unwrap_or_default()
                .to_string();
        }
        if wants("disabled") {
            self.disabled = body
                .get("disabled")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        if body.get("aws").is_some() || body.get("saml").is_some() || body.get("x509").is_some() {
            return Err(GoogleError::invalid_argument(
                "The sandbox supports OIDC providers only.",
            ));
        }
        let oidc = body.get("oidc");
        if mask.is_none() && oidc.is_none() {
            return Err(GoogleError::invalid_argument(
                "One of oidc, aws, saml or x509 must be specified.",
            ));
        }
        if let Some(oidc) = oidc {
            if wants("oidc.issuerUri") {
                self.issuer_uri = str_field(oidc, "issuerUri").unwrap_or_default().to_string();
            }
            if wants("oidc.allowedAudiences") {
                self.allowed_audiences = string_list(oidc, "allowedAudiences");
            }
            if wants("oidc.jwksJson") {
                self.jwks_json = str_field(oidc, "jwksJson")
                    .filter(|j| !j.is_empty())
                    .map(str::to_string);
            }
        }
        if wants("attributeMapping") {
            self.attribute_mapping = body
                .get("attributeMapping")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
        }
        if wants("attributeCondition") {
            self.attribute_condition = str_field(body, "attributeCondition")
                .filter(|c| !c.is_empty())
                .map(str::to_string);
        }
        self.validate()
    }

    fn validate(&self) -> Result<(), GoogleError> {
        if !self.issuer_uri.starts_with("https://") {
            return Err(GoogleError::invalid_argument(
                "The issuer URI must be an HTTPS endpoint.",
            ));
        }
        if self.allowed_audiences.len() > 10 {
            return Err(GoogleError::invalid_argument(
                "A maximum of 10 allowed audiences may be configured.",
            ));
        }
        if self
            .allowed_audiences
            .iter()
            .any(|a| a.is_empty() || a.chars().count() > 256)
        {
            return Err(GoogleError::invalid_argument(
                "Each allowed audience may be at most 256 characters.",
            ));
        }
        if let Some(jwks) = &self.jwks_json {
            check_jwks(jwks)?;
        }
        if !self.attribute_mapping.contains_key("google.subject") {
            return Err(GoogleError::invalid_argument(
                "The attribute mapping must contain a mapping for google.subject.",
            ));
        }
        let custom = self
            .attribute_mapping
            .keys()
            .filter(|k| k.starts_with("attribute."))
            .count();
        if custom > 50 {
            return Err(GoogleError::invalid_argument(
                "You can define a maximum of 50 custom attributes.",
            ));
        }
        for (key, expression) in &self.attribute_mapping {
            if !check_attribute_name(key) {
                return Err(GoogleError::invalid_argument(format!(
                    "Invalid attribute mapping key '{key}': use google.subject, google.groups or attribute.<name> with [a-z0-9_] (at most 100 characters)."
                )));
            }
            if expression.chars().count() > 2048 {
                return Err(GoogleError::invalid_argument(format!(
                    "The attribute mapping expression for {key} exceeds 2048 characters."
                )));
            }
            parse_cel(key, expression)?;
        }
        if let Some(condition) = &self.attribute_condition {
            if condition.chars().count() > 4096 {
                return Err(GoogleError::invalid_argument(
                    "The maximum length of the attribute condition expression is 4096 characters.",
                ));
            }
            parse_cel("attributeCondition", condition)?;
        }
        Ok(())
    }
}

/// `projects/{number}/locations/global/workloadIdentityPools/{pool}`.
pub fn pool_name(number: &str, pool: &str) -> String {
    format!("projects/{number}/locations/global/workloadIdentityPools/{pool}")
}

fn state_str(l: Lifecycle) -> &'static str {
    match l {
        Lifecycle::Active => "ACTIVE",
        Lifecycle::Deleted(_) => "DELETED",
    }
}

fn with_expiry(mut v: Value, l: Lifecycle) -> Value {
    if let Lifecycle::Deleted(at) = l {
        v["expireTime"] = json!(timestamp(at + SOFT_DELETE_SECS));
    }
    v
}

impl GcpState {
    /// A project with no pools and no service accounts.
    pub fn new(project_id: &str, project_number: &str) -> GcpState {
        GcpState {
            project_id: project_id.to_string(),
            project_number: project_number.to_string(),
            pools: BTreeMap::new(),
            operations: BTreeMap::new(),
            service_accounts: BTreeMap::new(),
            project_policy: Policy::default(),
            withheld_permissions: BTreeSet::new(),
            lifetime_extension_allowed: false,
            clock_offset_secs: 0,
            next_id: 1,
        }
    }

    /// The sandbox clock (unix seconds).
    pub fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp() + self.clock_offset_secs
    }

    /// Whether `p` (id or number) is this project.
    pub fn is_project(&self, p: &str) -> bool {
        p == self.project_id || p == self.project_number
    }

    /// Drops soft-deleted pools and providers older than 30 days.
    pub fn purge(&mut self) {
        let now = self.now();
        let expired =
            |l: Lifecycle| matches!(l, Lifecycle::Deleted(at) if now >= at + SOFT_DELETE_SECS);
        self.pools.retain(|_, p| !expired(p.lifecycle));
        for pool in self.pools.values_mut() {
            pool.providers.retain(|_, p| !expired(p.lifecycle));
        }
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The pool's REST representation.
    pub fn pool_json(&self, pool: &Pool) -> Value {
        with_expiry(
            json!({
                "name": pool_name(&self.project_number, &pool.id),
                "displayName": pool.display_name,
                "description": pool.description,
                "state": state_str(pool.lifecycle),
                "disabled": pool.disabled,
            }),
            pool.lifecycle,
        )
    }

    /// The provider's REST representation.
    pub fn provider_json(&self, pool: &str, p: &Provider) -> Value {
        let mut oidc = json!({"issuerUri": p.issuer_uri});
        if !p.allowed_audiences.is_empty() {
            oidc["allowedAudiences"] = json!(p.allowed_audiences);
        }
        if let Some(j) = &p.jwks_json {
            oidc["jwksJson"] = json!(j);
        }
        let mut v = json!({
            "name": format!("{}/providers/{}", pool_name(&self.project_number, pool), p.id),
            "displayName": p.display_name,
            "description": p.description,
            "state": state_str(p.lifecycle),
            "disabled": p.disabled,
            "attributeMapping": p.attribute_mapping,
            "oidc": oidc,
        });
        if let Some(c) = &p.attribute_condition {
            v["attributeCondition"] = json!(c);
        }
        with_expiry(v, p.lifecycle)
    }

    /// Records a long-running operation under `parent` and returns its first (not done) view.
    fn operation(&mut self, parent: &str, kind: &str, response: Value) -> Value {
        let id = self.fresh_id();
        let name = format!("{parent}/operations/{id:016x}");
        let mut response = response;
        response["@type"] = json!(format!("type.googleapis.com/google.iam.v1.{kind}"));
        self.operations.insert(
            name.clone(),
            Operation {
                polls_until_done: 1,
                response,
            },
        );
        json!({"name": name, "metadata": {"@type": "type.googleapis.com/google.iam.v1.WorkloadIdentityPoolOperationMetadata"}, "done": false})
    }

    /// The operation of a change to the pool `id` (which exists), answering with its new view.
    fn pool_operation(&mut self, number: &str, id: &str) -> Value {
        let view = self.pool_json(&self.pools[id]);
        self.operation(&pool_name(number, id), "WorkloadIdentityPool", view)
    }

    /// The operation of a change to the provider `id` of `pool` (both exist).
    fn provider_operation(&mut self, number: &str, pool: &str, id: &str) -> Value {
        let view = self.provider_json(pool, &self.pools[pool].providers[id]);
        let parent = format!("{}/providers/{id}", pool_name(number, pool));
        self.operation(&parent, "WorkloadIdentityPoolProvider", view)
    }

    /// `GET …/operations/{id}`: done from the first poll on.
    pub fn poll(&mut self, name: &str) -> Result<Value, GoogleError> {
        let op = self
            .operations
            .get_mut(name)
            .ok_or_else(|| GoogleError::not_found(name))?;
        if op.polls_until_done > 0 {
            op.polls_until_done -= 1;
        }
        let mut v = json!({"name": name, "metadata": {"@type": "type.googleapis.com/google.iam.v1.WorkloadIdentityPoolOperationMetadata"}, "done": op.polls_until_done == 0});
        if op.polls_until_done == 0 {
            v["response"] = op.response.clone();
        }
        Ok(v)
    }

    fn pool_mut(&mut self, id: &str) -> Result<&mut Pool, GoogleError> {
        self.pools
            .get_mut(id)
            .ok_or_else(|| GoogleError::not_found(&format!("workloadIdentityPools/{id}")))
    }

    /// Handles a pool or provider request; `verb` is the `:verb` suffix, if any.
    pub fn handle_pools(
        &mut self,
        method: &str,
        target: &Target,
        verb: Option<&str>,
        query: &BTreeMap<String, String>,
        body: &Value,
    ) -> Result<Value, GoogleError> {
        self.purge();
        let number = self.project_number.clone();
        let show_deleted = query.get("showDeleted").is_some_and(|v| v == "true");
        let mask: Option<Vec<&str>> = query.get("updateMask").map(|m| {
            m.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        });
        match (method, target, verb) {
            ("POST", Target::Pools, None) => {
                let id = new_id(query, "workloadIdentityPoolId", "workload identity pool")?;
                if self.pools.contains_key(&id) {
                    return Err(GoogleError::already_exists());
                }
                check_names(body)?;
                let pool = Pool {
                    id: id.clone(),
                    display_name: str_field(body, "displayName").unwrap_or_default().into(),
                    description: str_field(body, "description").unwrap_or_default().into(),
                    disabled: body
                        .get("disabled")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    lifecycle: Lifecycle::Active,
                    providers: BTreeMap::new(),
                };
                self.pools.insert(id.clone(), pool);
                Ok(self.pool_operation(&number, &id))
            }
            ("GET", Target::Pools, None) => {
                let pools: Vec<Value> = self
                    .pools
                    .values()
                    .filter(|p| show_deleted || p.lifecycle == Lifecycle::Active)
                    .map(|p| self.pool_json(p))
                    .collect();
                Ok(page(query, "workloadIdentityPools", pools))
            }
            ("GET", Target::Pool(id), None) => {
                let pool = self.pools.get(id).ok_or_else(|| {
                    GoogleError::not_found(&format!("workloadIdentityPools/{id}"))
                })?;
                Ok(self.pool_json(pool))
            }
            ("PATCH", Target::Pool(id), None) => {
                let mask =
                    mask.ok_or_else(|| GoogleError::invalid_argument("updateMask is required."))?;
                check_names(body)?;
                let pool = self.pool_mut(id)?;
                if pool.lifecycle != Lifecycle::Active {
                    return Err(GoogleError::failed_precondition("The pool is deleted."));
                }
                for field in mask {
                    match field {
                        "displayName" => {
                            pool.display_name =
                                str_field(body, "displayName").unwrap_or_default().into()
                        }
                        "description" => {
                            pool.description =
                                str_field(body, "description").unwrap_or_default().into()
                        }
                        "disabled" => {
                            pool.disabled = body
                                .get("disabled")
                                .and_then(Value::as_bool)
                                .unwrap_or(false)
                        }
                        other => {
                            return Err(GoogleError::invalid_argument(format!(
                                "Invalid update mask path: {other}"
                            )));
                        }
                    }
                }
                Ok(self.pool_operation(&number, id))
            }
            ("DELETE", Target::Pool(id), None) => {
                let now = self.now();
                let pool = self.pool_mut(id)?;
                if pool.lifecycle != Lifecycle::Active {
                    return Err(GoogleError::not_found(&format!(
                        "workloadIdentityPools/{id}"
                    )));
                }
                pool.lifecycle = Lifecycle::Deleted(now);
                Ok(self.pool_operation(&number, id))
            }
            ("POST", Target::Pool(id), Some("undelete")) => {
                let pool = self.pool_mut(id)?;
                if pool.lifecycle == Lifecycle::Active {
                    return Err(GoogleError::failed_precondition("The pool is not deleted."));
                }
                pool.lifecycle = Lifecycle::Active;
                Ok(self.pool_operation(&number, id))
            }
            ("POST", Target::Providers(pool), None) => {
                let id = new_id(
                    query,
                    "workloadIdentityPoolProviderId",
                    "workload identity pool provider",
                )?;
                let p = self.pool_mut(pool)?;
                if p.lifecycle != Lifecycle::Active {
                    return Err(GoogleError::failed_precondition("The pool is deleted."));
                }
                if p.providers.contains_key(&id) {
                    return Err(GoogleError::already_exists());
                }
                let mut provider = Provider {
                    id: id.clone(),
                    display_name: String::new(),
                    description: String::new(),
                    disabled: false,
                    lifecycle: Lifecycle::Active,
                    issuer_uri: String::new(),
                    allowed_audiences: Vec::new(),
                    jwks_json: None,
                    attribute_mapping: BTreeMap::new(),
                    attribute_condition: None,
                };
                provider.apply(body, None)?;
                p.providers.insert(id.clone(), provider);
                Ok(self.provider_operation(&number, pool, &id))
            }
            ("GET", Target::Providers(pool), None) => {
                let p = self.pools.get(pool).ok_or_else(|| {
                    GoogleError::not_found(&format!("workloadIdentityPools/{pool}"))
                })?;
                let items: Vec<Value> = p
                    .providers
                    .values()
                    .filter(|x| show_deleted || x.lifecycle == Lifecycle::Active)
                    .map(|x| self.provider_json(pool, x))
                    .collect();
                Ok(page(query, "workloadIdentityPoolProviders", items))
            }
            ("GET", Target::Provider(pool, id), None) => {
                let provider = self
                    .pools
                    .get(pool)
                    .and_then(|p| p.providers.get(id))
                    .ok_or_else(|| GoogleError::not_found(&format!("providers/{id}")))?;
                Ok(self.provider_json(pool, provider))
            }
            ("PATCH" | "DELETE", Target::Provider(pool, id), None)
            | ("POST", Target::Provider(pool, id), Some("undelete")) => {
                let now = self.now();
                let p = self.pool_mut(pool)?;
                if p.lifecycle != Lifecycle::Active {
                    return Err(GoogleError::failed_precondition("The pool is deleted."));
                }
                let provider = p
                    .providers
                    .get_mut(id)
                    .ok_or_else(|| GoogleError::not_found(&format!("providers/{id}")))?;
                match (method, provider.lifecycle) {
                    ("PATCH", Lifecycle::Active) => {
                        let mask = mask.ok_or_else(|| {
                            GoogleError::invalid_argument("updateMask is required.")
                        })?;
                        let mut changed = provider.clone();
                        changed.apply(body, Some(&mask))?;
                        *provider = changed;
                    }
                    ("DELETE", Lifecycle::Active) => provider.lifecycle = Lifecycle::Deleted(now),
                    ("POST", Lifecycle::Deleted(_)) => provider.lifecycle = Lifecycle::Active,
                    ("PATCH", _) => {
                        return Err(GoogleError::failed_precondition("The provider is deleted."));
                    }
                    ("DELETE", _) => {
                        return Err(GoogleError::not_found(&format!("providers/{id}")));
                    }
                    _ => {
                        return Err(GoogleError::failed_precondition(
                            "The provider is not deleted.",
                        ));
                    }
                }
                Ok(self.provider_operation(&number, pool, id))
            }
            ("GET", Target::Operation(name), None) => self.poll(name),
            _ => Err(GoogleError::no_such_method(method, "workloadIdentityPools")),
        }
    }

    /// The service account's REST representation.
    pub fn service_account_json(&self, sa: &ServiceAccount) -> Value {
        json!({
            "name": format!("projects/{}/serviceAccounts/{}", self.project_id, sa.email),
            "projectId": self.project_id,
            "uniqueId": sa.unique_id,
            "email": sa.email,
            "displayName": sa.display_name,
            "description": sa.description,
            "oauth2ClientId": sa.unique_id,
        })
    }

    /// Finds a service account by email or unique id.
    pub fn service_account(&self, key: &str) -> Option<&ServiceAccount> {
        self.service_accounts
            .get(key)
            .or_else(|| self.service_accounts.values().find(|s| s.unique_id == key))
    }

    /// Handles a service-account request.
    pub fn handle_service_accounts(
        &mut self,
        method: &str,
        target: &Target,
        verb: Option<&str>,
        body: &Value,
    ) -> Result<Value, GoogleError> {
        match (method, target, verb) {
            ("POST", Target::ServiceAccounts, None) => {
                let account_id = str_field(body, "accountId").unwrap_or_default();
                let valid = (6..=30).contains(&account_id.len())
                    && account_id.starts_with(|c: char| c.is_ascii_lowercase())
                    && !account_id.ends_with('-')
                    && account_id
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !valid {
                    return Err(GoogleError::invalid_argument(format!(
                        "Invalid account id '{account_id}': it must be 6 to 30 characters, match [a-z]([-a-z0-9]*[a-z0-9])."
                    )));
                }
                let email = format!("{account_id}@{}.iam.gserviceaccount.com", self.project_id);
                if self.service_accounts.contains_key(&email) {
                    return Err(GoogleError::new_conflict_sa(&email));
                }
                let sa_body = body.get("serviceAccount").cloned().unwrap_or(Value::Null);
                let unique_id = format!("1{:020}", self.fresh_id());
                let sa = ServiceAccount {
                    account_id: account_id.to_string(),
                    email: email.clone(),
                    display_name: str_field(&sa_body, "displayName")
                        .unwrap_or_default()
                        .into(),
                    description: str_field(&sa_body, "description")
                        .unwrap_or_default()
                        .into(),
                    unique_id,
                    policy: Policy::default(),
                };
                let view = self.service_account_json(&sa);
                self.service_accounts.insert(email, sa);
                Ok(view)
            }
            ("GET", Target::ServiceAccounts, None) => {
                let items: Vec<Value> = self
                    .service_accounts
                    .values()
                    .map(|s| self.service_account_json(s))
                    .collect();
                Ok(json!({"accounts": items}))
            }
            (_, Target::ServiceAccount(key), _) => {
                let email = self
                    .service_account(key)
                    .map(|s| s.email.clone())
                    .ok_or_else(|| GoogleError::not_found(&format!("serviceAccounts/{key}")))?;
                match (method, verb) {
                    ("GET", None) => Ok(self.service_account_json(&self.service_accounts[&email])),
                    ("DELETE", None) => {
                        self.service_accounts.remove(&email);
                        Ok(json!({}))
                    }
                    ("POST" | "GET", Some("getIamPolicy")) => {
                        Ok(self.service_accounts[&email].policy.to_json())
                    }
                    ("POST", Some("setIamPolicy")) => {
                        let number = self.project_number.clone();
                        let sa = self
                            .service_accounts
                            .get_mut(&email)
                            .ok_or_else(|| GoogleError::not_found(&email))?;
                        set_policy(&mut sa.policy, body, &number)
                    }
                    ("POST", Some("testIamPermissions")) => Ok(self.test_permissions(body)),
                    _ => Err(GoogleError::no_such_method(method, "serviceAccounts")),
                }
            }
            _ => Err(GoogleError::no_such_method(method, "serviceAccounts")),
        }
    }

    /// `testIamPermissions`: the requested permissions minus the withheld ones.
    pub fn test_permissions(&self, body: &Value) -> Value {
        let granted: Vec<&str> = body
            .get("permissions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter(|p| !self.withheld_permissions.contains(*p))
                    .collect()
            })
            .unwrap_or_default();
        if granted.is_empty() {
            json!({})
        } else {
            json!({"permissions": granted})
        }
    }

    /// Cloud Resource Manager: `projects.get` (v1 or v3 shape), project IAM policy, permissions.
    pub fn handle_project(
        &mut self,
        api: &str,
        method: &str,
        verb: Option<&str>,
        body: &Value,
    ) -> Result<Value, GoogleError> {
        match (method, verb) {
            ("GET", None) if api == "v1" => Ok(json!({
                "projectNumber": self.project_number,
                "projectId": self.project_id,
                "lifecycleState": "ACTIVE",
                "name": self.project_id,
            })),
            ("GET", None) => Ok(json!({
                "name": format!("projects/{}", self.project_number),
                "projectId": self.project_id,
                "state": "ACTIVE",
                "displayName": self.project_id,
                "parent": "organizations/000000000000",
            })),
            ("POST", Some("getIamPolicy")) => Ok(self.project_policy.to_json()),
            ("POST", Some("setIamPolicy")) => {
                let number = self.project_number.clone();
                set_policy(&mut self.project_policy, body, &number)
            }
            ("POST", Some("testIamPermissions")) => Ok(self.test_permissions(body)),
            _ => Err(GoogleError::no_such_method(method, "projects")),
        }
    }
}

impl GoogleError {
    fn new_conflict_sa(email: &str) -> GoogleError {
        GoogleError {
            http: axum::http::StatusCode::CONFLICT,
            status: "ALREADY_EXISTS",
            message: format!("Service account {email} already exists within project."),
        }
    }
}

/// A federated member must name the project by number:
/// `principal[Set]://iam.googleapis.com/projects/{digits}/locations/global/workloadIdentityPools/…`.
fn check_member(member: &str, number: &str) -> Result<(), GoogleError> {
    for prefix in ["principal://", "principalSet://"] {
        if let Some(rest) = member.strip_prefix(prefix) {
            let parts: Vec<&str> = rest.split('/').collect();
            let ok = parts.len() >= 7
                && parts[0] == "iam.googleapis.com"
                && parts[1] == "projects"
                && parts[2].bytes().all(|b| b.is_ascii_digit())
                && !parts[2].is_empty()
                && parts[3] == "locations"
                && parts[5] == "workloadIdentityPools";
            if !ok {
                return Err(GoogleError::invalid_argument(format!(
                    "Invalid principal: {member}. Federated principals must name the project by its number."
                )));
            }
            if parts[2] != number {
                tracing::debug!(member, "binding names another project's pool");
            }
        }
    }
    Ok(())
}

fn set_policy(policy: &mut Policy, body: &Value, number: &str) -> Result<Value, GoogleError> {
    let new = body
        .get("policy")
        .ok_or_else(|| GoogleError::invalid_argument("policy is required."))?;
    if let Some(etag) = str_field(new, "etag")
        && etag != policy.etag()
    {
        return Err(GoogleError::concurrent_policy_change());
    }
    let bindings: Vec<Binding> =
        serde_json::from_value(new.get("bindings").cloned().unwrap_or_else(|| json!([])))
            .map_err(|e| GoogleError::invalid_argument(format!("Invalid bindings: {e}")))?;
    for b in &bindings {
        if b.members.is_empty() {
            return Err(GoogleError::invalid_argument(format!(
                "Binding for role {} has no members.",
                b.role
            )));
        }
        for m in &b.members {
            check_member(m, number)?;
        }
    }
    policy.bindings = bindings;
    policy.version = new.get("version").and_then(Value::as_i64).unwrap_or(1);
    policy.revision += 1;
    Ok(policy.to_json())
}

/// One page of `items` (`pageSize` default 50, `pageToken` = offset).
fn page(query: &BTreeMap<String, String>, key: &str, items: Vec<Value>) -> Value {
    let size = query
        .get("pageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(50)
        .min(1000);
    let start = query
        .get("pageToken")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let mut out = Map::new();
    let end = (start + size).min(items.len());
    out.insert(
        key.to_string(),
        json!(items.get(start..end).unwrap_or_default()),
    );
    if end < items.len() {
        out.insert("nextPageToken".into(), json!(end.to_string()));
    }
    Value::Object(out)
}
