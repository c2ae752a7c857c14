//! The IAM service: OIDC identity providers, roles, their policies and tags, the account
//! summary and a configurable policy simulator.
//!
//! Validation follows the IAM API reference and quotas (see `aws-api.md`), including what moto
//! skips: https provider URLs without port or query, 40-hex thumbprints (≤ 5), ≤ 100 client
//! ids, role names `[\w+=,.@-]{1,64}` unique case-insensitively, trust policies that parse
//! ([`super::trust::validate`]) and fit the `ACLSizePerRole` quota, Federated
//! principals that name an existing (and already visible) provider, MaxSessionDuration
//! 3600–43200, and `DeleteConflict` while policies are attached.
//!
//! Deliberately absent: users, groups, instance profiles, customer managed policies,
//! permission boundaries' effect, and contacting the issuer when a provider is created
//! without a thumbprint (the sandbox never reaches out at create time; STS does at assume
//! time).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::managed_policies;
use super::trust;
use super::wire::{AwsError, Params, Xml, constraint, url_encode_document, value_in_range};

/// Providers per account (not adjustable).
const MAX_PROVIDERS: usize = 100;
/// Client ids per provider.
const MAX_CLIENT_IDS: usize = 100;
/// Thumbprints per provider.
const MAX_THUMBPRINTS: usize = 5;
/// Tags per provider or role.
const MAX_TAGS: usize = 50;
/// Managed policies attached to one role (default quota).
const MAX_ATTACHED_POLICIES: usize = 10;
/// Aggregate inline policy size per role (non-whitespace characters).
const MAX_INLINE_POLICY_CHARS: usize = 10_240;

/// An OIDC identity provider as IAM stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provider {
    /// `arn:aws:iam::<acct>:oidc-provider/<url without https://>`.
    pub arn: String,
    /// The URL as given, with `https://`.
    pub url: String,
    /// Audiences.
    pub client_ids: Vec<String>,
    /// Thumbprints.
    pub thumbprints: Vec<String>,
    /// Tags in insertion order.
    pub tags: Vec<(String, String)>,
    /// ISO 8601 creation time.
    pub create_date: String,
    /// When it was created in this process (for the propagation window); not persisted.
    #[serde(skip)]
    pub created_at: Option<Instant>,
}

impl Provider {
    /// `host[/path]`: the prefix of this provider's condition keys.
    pub fn condition_key_prefix(&self) -> &str {
        self.url.strip_prefix("https://").unwrap_or(&self.url)
    }
}

/// An IAM role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    /// Name as created (lookups are case-insensitive).
    pub name: String,
    /// `AROA…`.
    pub role_id: String,
    /// `/` unless given.
    pub path: String,
    /// `arn:aws:iam::<acct>:role<path><name>`.
    pub arn: String,
    /// The trust policy as sent (not URL-encoded).
    pub trust_policy: String,
    /// Description.
    pub description: Option<String>,
    /// Seconds, 3600–43200.
    pub max_session_duration: u32,
    /// Tags in insertion order.
    pub tags: Vec<(String, String)>,
    /// Attached managed policy ARNs in attach order.
    pub attached_policies: Vec<String>,
    /// Inline policies by name.
    pub inline_policies: BTreeMap<String, String>,
    /// ISO 8601 creation time.
    pub create_date: String,
    /// When the trust policy last changed in this process; not persisted.
    #[serde(skip)]
    pub trust_changed_at: Option<Instant>,
}

/// Knobs tests and the sandbox host set from Rust.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IamSettings {
    /// The `ACLSizePerRole` quota (2048 by default, 4096 after a quota increase).
    pub trust_policy_size_quota: usize,
    /// Actions (e.g. `iam:CreateRole`) that SimulatePrincipalPolicy reports as `implicitDeny`.
    pub simulation_denials: BTreeSet<String>,
    /// Identity-based policy documents per principal ARN. A principal listed here is judged
    /// by them ([`super::identity_policy::decide`]) in `SimulatePrincipalPolicy` and on every
    /// IAM call it makes; others are allowed everything (but `simulation_denials`).
    #[serde(default)]
    pub principal_policies: BTreeMap<String, Vec<String>>,
    /// How long a new provider or a changed trust policy stays invisible to STS and to
    /// role validation (IAM's eventual consistency).
    #[serde(with = "millis")]
    pub propagation_window: Duration,
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Everything IAM knows about the account; serialisable for the sandbox state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IamState {
    /// The 12-digit account id.
    pub account_id: String,
    /// Providers by ARN.
    pub providers: BTreeMap<String, Provider>,
    /// Roles by lower-cased name.
    pub roles: BTreeMap<String, Role>,
    /// Test knobs.
    pub settings: IamSettings,
}

impl IamState {
    /// An empty account.
    pub fn new(account_id: &str, settings: IamSettings) -> Self {
        IamState {
            account_id: account_id.to_string(),
            providers: BTreeMap::new(),
            roles: BTreeMap::new(),
            settings,
        }
    }

    /// Whether an object changed at `at` is still inside the propagation window.
    pub fn propagating(&self, at: Option<Instant>, extra_window: Duration) -> bool {
        let window = self.settings.propagation_window.max(extra_window);
        match at {
            Some(at) => !window.is_zero() && at.elapsed() < window,
            None => false,
        }
    }

    /// The provider registered for exactly this URL.
    pub fn provider_by_url(&self, url: &str) -> Option<&Provider> {
        self.providers.values().find(|p| p.url == url)
    }

    /// A role by name (case-insensitive).
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.get(&name.to_ascii_lowercase())
    }

    fn role_mut(&mut self, name: &str) -> Result<&mut Role, AwsError> {
        self.roles
            .get_mut(&name.to_ascii_lowercase())
            .ok_or_else(|| no_such_role(name))
    }

    /// The resource ARN an IAM request acts on (for the caller's identity policies).
    pub fn request_resource(&self, params: &Params) -> String {
        if let Some(role) = params.get("RoleName") {
            return format!("arn:aws:iam::{}:role/{role}", self.account_id);
        }
        if let Some(arn) = params.get("OpenIDConnectProviderArn") {
            return arn.to_string();
        }
        if let Some(url) = params.get("Url") {
            let host_path = url.strip_prefix("https://").unwrap_or(url);
            return format!("arn:aws:iam::{}:oidc-provider/{host_path}", self.account_id);
        }
        "*".to_string()
    }

    /// `AccessDenied` when `caller_arn` has identity policies that do not allow `iam:ACTION`
    /// on the request's resource (IAM's message).
    pub fn authorize(
        &self,
        caller_arn: &str,
        action: &str,
        params: &Params,
    ) -> Result<(), AwsError> {
        let Some(policies) = self.settings.principal_policies.get(caller_arn) else {
            return Ok(());
        };
        let resource = self.request_resource(params);
        let full = format!("iam:{action}");
        match super::identity_policy::decide(policies, &full, &resource) {
            super::identity_policy::Decision::Allowed => Ok(()),
            decision => Err(AwsError::sender(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                format!(
                    "User: {caller_arn} is not authorized to perform: {full} on resource: {resource} because {}",
                    match decision {
                        super::identity_policy::Decision::ExplicitDeny => format!(
                            "an explicit deny in an identity-based policy denies the {full} action"
                        ),
                        _ => format!("no identity-based policy allows the {full} action"),
                    }
                ),
            )),
        }
    }

    /// Runs one IAM action. `window` is the fault layer's consistency window for `iam`.
    pub fn handle(
        &mut self,
        action: &str,
        params: &Params,
        window: Duration,
    ) -> Result<Option<Xml>, AwsError> {
        match action {
            "CreateOpenIDConnectProvider" => self.create_provider(params),
            "GetOpenIDConnectProvider" => self.get_provider(params),
            "ListOpenIDConnectProviders" => Ok(Some(self.list_providers())),
            "DeleteOpenIDConnectProvider" => self.delete_provider(params),
            "AddClientIDToOpenIDConnectProvider" => self.add_client_id(params),
            "RemoveClientIDFromOpenIDConnectProvider" => self.remove_client_id(params),
            "UpdateOpenIDConnectProviderThumbprint" => self.update_thumbprints(params),
            "TagOpenIDConnectProvider" => self.tag_provider(params),
            "UntagOpenIDConnectProvider" => self.untag_provider(params),
            "ListOpenIDConnectProviderTags" => self.list_provider_tags(params),
            "CreateRole" => self.create_role(params, window),
            "GetRole" => self.get_role(params),
            "ListRoles" => self.list_roles(params),
            "UpdateRole" => self.update_role(params),
            "UpdateAssumeRolePolicy" => self.update_trust_policy(params, window),
            "DeleteRole" => self.delete_role(params),
            "AttachRolePolicy" => self.attach_policy(params),
            "DetachRolePolicy" => self.detach_policy(params),
            "ListAttachedRolePolicies" => self.list_attached(params),
            "PutRolePolicy" => self.put_inline(params),
            "GetRolePolicy" => self.get_inline(params),
            "DeleteRolePolicy" => self.delete_inline(params),
            "ListRolePolicies" => self.list_inline(params),
            "TagRole" => self.tag_role(params),
            "UntagRole" => self.untag_role(params),
            "ListRoleTags" => self.list_role_tags(params),
            "ListPolicies" => list_policies(params),
            "GetAccountSummary" => Ok(Some(self.account_summary())),
            "SimulatePrincipalPolicy" => self.simulate(params),
            other => Err(AwsError::sender(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                format!("Could not find operation {other} for version 2010-05-08"),
            )),
        }
    }

    // ---- OIDC providers ------------------------------------------------------------------

    fn create_provider(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let url = params.required("Url")?;
        validate_provider_url(url)?;
        let client_ids = params.list("ClientIDList");
        validate_client_ids(&client_ids)?;
        let thumbprints = params.list("ThumbprintList");
        validate_thumbprints(&thumbprints)?;
        let tags = params.tags("Tags");
        validate_tags(&tags, "Tags")?;
        if self.provider_by_url(url).is_some() {
            return Err(AwsError::already_exists(format!(
                "Provider with url {url} already exists."
            )));
        }
        if self.providers.len() >= MAX_PROVIDERS {
            return Err(AwsError::limit_exceeded(format!(
                "Cannot exceed quota for OpenIdConnectProvidersPerAccount: {MAX_PROVIDERS}"
            )));
        }
        let arn = format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            self.account_id,
            url.trim_start_matches("https://")
        );
        let mut unique_client_ids: Vec<String> = Vec::new();
        for id in client_ids {
            if !unique_client_ids.contains(&id) {
                unique_client_ids.push(id);
            }
        }
        let provider = Provider {
            arn: arn.clone(),
            url: url.to_string(),
            client_ids: unique_client_ids,
            thumbprints: thumbprints.iter().map(|t| t.to_ascii_lowercase()).collect(),
            tags: merge_tags(Vec::new(), tags),
            create_date: now_iso8601(),
            created_at: Some(Instant::now()),
        };
        let mut result = Xml::new();
        result.text("OpenIDConnectProviderArn", &arn);
        result.tags("Tags", provider.tags.iter().map(|(k, v)| (k, v)));
        self.providers.insert(arn, provider);
        Ok(Some(result))
    }

    fn provider(&self, params: &Params) -> Result<&Provider, AwsError> {
        let arn = PROVIDER_ARN.read(params)?;
        self.providers.get(arn).ok_or_else(|| no_such_provider(arn))
    }

    fn provider_mut(&mut self, params: &Params) -> Result<&mut Provider, AwsError> {
        let arn = PROVIDER_ARN.read(params)?;
        self.providers
            .get_mut(arn)
            .ok_or_else(|| no_such_provider(arn))
    }

    fn get_provider(&self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let provider = self.provider(params)?;
        let mut result = Xml::new();
        result
            .text("Url", provider.condition_key_prefix())
            .members("ClientIDList", &provider.client_ids)
            .members("ThumbprintList", &provider.thumbprints)
            .text("CreateDate", &provider.create_date)
            .tags("Tags", provider.tags.iter().map(|(k, v)| (k, v)));
        Ok(Some(result))
    }

    fn list_providers(&self) -> Xml {
        let mut entries = Xml::new();
        for arn in self.providers.keys() {
            let mut entry = Xml::new();
            entry.text("Arn", arn);
            entries.element("member", &entry);
        }
        let mut result = Xml::new();
        result.element("OpenIDConnectProviderList", &entries);
        result
    }

    fn delete_provider(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let arn = PROVIDER_ARN.read(params)?;
        // Documented as idempotent: deleting a missing provider is not an error.
        self.providers.remove(arn);
        Ok(None)
    }

    fn add_client_id(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let client_id = CLIENT_ID.read(params)?.to_string();
        let provider = self.provider_mut(params)?;
        if !provider.client_ids.contains(&client_id) {
            if provider.client_ids.len() >= MAX_CLIENT_IDS {
                return Err(AwsError::limit_exceeded(format!(
                    "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
                )));
            }
            provider.client_ids.push(client_id);
        }
        Ok(None)
    }

    fn remove_client_id(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let client_id = CLIENT_ID.read(params)?.to_string();
        let provider = self.provider_mut(params)?;
        // Documented as idempotent: removing an absent client id is not an error.
        provider.client_ids.retain(|id| id != &client_id);
        Ok(None)
    }

    fn update_thumbprints(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        if !params.has_list("ThumbprintList") {
            params.required("ThumbprintList")?;
        }
        let thumbprints = params.list("ThumbprintList");
        validate_thumbprints(&thumbprints)?;
        let provider = self.provider_mut(params)?;
        provider.thumbprints = thumbprints.iter().map(|t| t.to_ascii_lowercase()).collect();
        Ok(None)
    }

    fn tag_provider(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let tags = requested_tags(params)?;
        let provider = self.provider_mut(params)?;
        add_tags(&mut provider.tags, tags)?;
        Ok(None)
    }

    fn untag_provider(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let keys = params.list("TagKeys");
        let provider = self.provider_mut(params)?;
        remove_tags(&mut provider.tags, &keys);
        Ok(None)
    }

    fn list_provider_tags(&self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let provider = self.provider(params)?;
        Ok(Some(tags_xml(&provider.tags)))
    }

    // ---- roles ---------------------------------------------------------------------------

    fn create_role(&mut self, params: &Params, window: Duration) -> Result<Option<Xml>, AwsError> {
        let name = ROLE_NAME.read(params)?;
        let document = params.required("AssumeRolePolicyDocument")?;
        let path = params.get("Path").unwrap_or("/");
        validate_path(path)?;
        let description = params.get("Description");
        validate_description(description)?;
        let max_session_duration = match params.integer("MaxSessionDuration")? {
            Some(value) => validate_max_session_duration(value)?,
            None => 3600,
        };
        let tags = params.tags("Tags");
        validate_tags(&tags, "tags")?;
        check_tag_quota(&tags)?;
        if self.role(name).is_some() {
            return Err(AwsError::already_exists(format!(
                "Role with name {name} already exists."
            )));
        }
        self.validate_trust_policy(document, window)?;
        let role = Role {
            name: name.to_string(),
            role_id: random_id("AROA"),
            path: path.to_string(),
            arn: format!("arn:aws:iam::{}:role{path}{name}", self.account_id),
            trust_policy: document.to_string(),
            description: description.map(str::to_string),
            max_session_duration,
            tags: merge_tags(Vec::new(), tags),
            attached_policies: Vec::new(),
            inline_policies: BTreeMap::new(),
            create_date: now_iso8601(),
            trust_changed_at: Some(Instant::now()),
        };
        let mut result = Xml::new();
        result.element("Role", &role_xml(&role, true));
        self.roles.insert(name.to_ascii_lowercase(), role);
        Ok(Some(result))
    }

    /// JSON, grammar, quota and principals of a trust policy, in the order IAM reports them.
    fn validate_trust_policy(&self, document: &str, window: Duration) -> Result<(), AwsError> {
        check_policy_characters(document)?;
        let federated = trust::validate(document)?;
        let size = document.chars().filter(|c| !c.is_whitespace()).count();
        let quota = self.settings.trust_policy_size_quota;
        if size > quota {
            return Err(AwsError::limit_exceeded(format!(
                "Cannot exceed quota for ACLSizePerRole: {quota}"
            )));
        }
        for principal in federated {
            let visible = self
                .providers
                .get(&principal)
                .is_some_and(|p| !self.propagating(p.created_at, window));
            if !visible {
                return Err(AwsError::malformed_policy(format!(
                    "Invalid principal in policy: \"Federated\":\"{principal}\""
                )));
            }
        }
        Ok(())
    }

    fn get_role(&self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = ROLE_NAME.read(params)?;
        let role = self.role(name).ok_or_else(|| no_such_role(name))?;
        let mut result = Xml::new();
        result.element("Role", &role_xml(role, true));
        Ok(Some(result))
    }

    fn list_roles(&self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let prefix = params.get("PathPrefix").unwrap_or("/");
        let max_items = usize::try_from(params.integer("MaxItems")?.unwrap_or(100).clamp(1, 1000))
            .unwrap_or(100);
        let start = match params.get("Marker") {
            Some(marker) => marker
                .parse::<usize>()
                .map_err(|_| AwsError::invalid_input("Invalid Marker."))?,
            None => 0,
        };
        let matching: Vec<&Role> = self
            .roles
            .values()
            .filter(|r| r.path.starts_with(prefix))
            .collect();
        let mut members = Xml::new();
        for role in matching.iter().skip(start).take(max_items) {
            members.element("member", &role_xml(role, false));
        }
        Ok(Some(page_xml(
            "Roles",
            &members,
            start + max_items,
            matching.len(),
        )))
    }

    fn update_role(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = ROLE_NAME.read(params)?;
        let description = params.get("Description");
        validate_description(description)?;
        let duration = params
            .integer("MaxSessionDuration")?
            .map(validate_max_session_duration)
            .transpose()?;
        let role = self.role_mut(name)?;
        if let Some(description) = description {
            role.description = Some(description.to_string());
        }
        if let Some(duration) = duration {
            role.max_session_duration = duration;
        }
        Ok(Some(Xml::new()))
    }

    fn update_trust_policy(
        &mut self,
        params: &Params,
        window: Duration,
    ) -> Result<Option<Xml>, AwsError> {
        let name = ROLE_NAME.read(params)?;
        let document = params.required("PolicyDocument")?;
        if self.role(name).is_none() {
            return Err(no_such_role(name));
        }
        self.validate_trust_policy(document, window)?;
        let role = self.role_mut(name)?;
        role.trust_policy = document.to_string();
        role.trust_changed_at = Some(Instant::now());
        Ok(None)
    }

    fn delete_role(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = ROLE_NAME.read(params)?;
        let role = self.role(name).ok_or_else(|| no_such_role(name))?;
        if !role.attached_policies.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must detach all policies first.",
            ));
        }
        if !role.inline_policies.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must delete policies first.",
            ));
        }
        self.roles.remove(&name.to_ascii_lowercase());
        Ok(None)
    }

    fn attach_policy(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = ROLE_NAME.read(params)?;
        let arn = POLICY_ARN.read(params)?;
        let role = self.role_mut(name)?;
        if managed_policies::policy_name(arn).is_none() {
            return Err(AwsError::no_such_entity(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
        if !role.attached_policies.iter().any(|a| a == arn) {
            if role.attached_policies.len() >= MAX_ATTACHED_POLICIES {
                return Err(AwsError::limit_exceeded(format!(
                    "Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED_POLICIES}"
                )));
            }
            role.attached_policies.push(arn.to_string());
        }
        Ok(None)
    }

    fn detach_policy(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = ROLE_NAME.read(params)?;
        let arn = POLICY_ARN.read(params)?;
        let role = self.role_mut(name)?;
        let before = role.attached_policies.len();
        role.attached_policies.retain(|a| a != arn);
        if role.attached_policies.len() == before {
            return Err(AwsError::no_such_entity(format!(
                "Policy {arn} was not found."
            )));
        }
        Ok(None)
    }

    fn list_attached(&self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = ROLE_NAME.read(params)?;
        let role = self.role(name).ok_or_else(|| no_such_role(name))?;
        let mut members = Xml::new();
        for arn in &role.attached_policies {
            let mut entry = Xml::new();
            entry
                .text(
                    "PolicyName",
                    managed_policies::policy_name(arn).unwrap_or(arn.as_str()),
                )
                .text("PolicyArn", arn);
            members.element("member", &entry);
        }
        let mut result = Xml::new();
        result
            .element("AttachedPolicies", &members)
            .text("IsTruncated", "false");
        Ok(Some(result))
    }

    fn put_inline(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = ROLE_NAME.read(params)?;
        let policy_name = POLICY_NAME.read(params)?;
        let document = params.required("PolicyDocument")?;
        check_policy_characters(document)?;
        validate_permission_policy(document)?;
        let role = self.role_mut(name)?;
        let others: usize = role
            .inline_policies
            .iter()
            .filter(|(n, _)| n.as_str() != policy_name)
            .map(|(_, d)| d.chars().filter(|c| !c.is_whitespace()).count())
            .sum();
        let size = document.chars().filter(|c| !c.is_whitespace()).count();
        if others + size > MAX_INLINE_POLICY_CHARS {
            return Err(AwsError::limit_exceeded(format!(
                "Maximum policy size of {MAX_INLINE_POLICY_CHARS} bytes exceeded for role {}",
                role.name
            )));
        }
        role.inline_policies
            .insert(policy_name.to_string(), document.to_string());
        Ok(None)
    }

    fn get_inline(&self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = params.required("RoleName")?;
        let policy_name = params.required("PolicyName")?;
        let role = self.role(name).ok_or_else(|| no_such_role(name))?;
        let document = role
            .inline_policies
            .get(policy_name)
            .ok_or_else(|| no_such_inline_policy(policy_name))?;
        let mut result = Xml::new();
        result
            .text("RoleName", &role.name)
            .text("PolicyName", policy_name)
            .text("PolicyDocument", &url_encode_document(document));
        Ok(Some(result))
    }

    fn delete_inline(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = params.required("RoleName")?;
        let policy_name = params.required("PolicyName")?;
        let role = self.role_mut(name)?;
        role.inline_policies
            .remove(policy_name)
            .ok_or_else(|| no_such_inline_policy(policy_name))?;
        Ok(None)
    }

    fn list_inline(&self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = params.required("RoleName")?;
        let role = self.role(name).ok_or_else(|| no_such_role(name))?;
        let names: Vec<String> = role.inline_policies.keys().cloned().collect();
        let mut result = Xml::new();
        result
            .members("PolicyNames", &names)
            .text("IsTruncated", "false");
        Ok(Some(result))
    }

    fn tag_role(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = params.required("RoleName")?;
        let tags = requested_tags(params)?;
        let role = self.role_mut(name)?;
        add_tags(&mut role.tags, tags)?;
        Ok(None)
    }

    fn untag_role(&mut self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = params.required("RoleName")?;
        let keys = params.list("TagKeys");
        let role = self.role_mut(name)?;
        remove_tags(&mut role.tags, &keys);
        Ok(None)
    }

    fn list_role_tags(&self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let name = params.required("RoleName")?;
        let role = self.role(name).ok_or_else(|| no_such_role(name))?;
        Ok(Some(tags_xml(&role.tags)))
    }

    // ---- account ---------------------------------------------------------------------------

    fn account_summary(&self) -> Xml {
        let attached: usize = self.roles.values().map(|r| r.attached_policies.len()).sum();
        let entries: [(&str, usize); 10] = [
            ("Roles", self.roles.len()),
            ("RolesQuota", 1000),
            (
                "AssumeRolePolicySizeQuota",
                self.settings.trust_policy_size_quota,
            ),
            ("RolePolicySizeQuota", MAX_INLINE_POLICY_CHARS),
            ("AttachedPoliciesPerRoleQuota", MAX_ATTACHED_POLICIES),
            ("PolicyVersionsInUse", attached),
            ("Providers", self.providers.len()),
            ("Users", 0),
            ("Groups", 0),
            ("Policies", 0),
        ];
        let mut map = Xml::new();
        for (key, value) in entries {
            let mut entry = Xml::new();
            entry.text("key", key).text("value", &value.to_string());
            map.element("entry", &entry);
        }
        let mut result = Xml::new();
        result.element("SummaryMap", &map);
        result
    }

    fn simulate(&self, params: &Params) -> Result<Option<Xml>, AwsError> {
        let source = POLICY_SOURCE_ARN.read(params)?;
        let actions = params.list("ActionNames");
        if actions.is_empty() {
            params.required("ActionNames")?;
        }
        let mut resources = params.list("ResourceArns");
        if resources.is_empty() {
            resources.push("*".to_string());
        }
        let mut members = Xml::new();
        let policies = self.settings.principal_policies.get(source);
        for action in &actions {
            let denied = self
                .settings
                .simulation_denials
                .iter()
                .any(|d| d.eq_ignore_ascii_case(action));
            for resource in &resources {
                let decision = match (denied, policies) {
                    (true, _) => "implicitDeny",
                    (false, Some(p)) => {
                        super::identity_policy::decide(p, action, resource).as_str()
                    }
                    (false, None) => "allowed",
                };
                let mut entry = Xml::new();
                entry
                    .text("EvalActionName", action)
                    .text("EvalResourceName", resource)
                    .text("EvalDecision", decision)
                    .members("MatchedStatements", &[])
                    .members("MissingContextValues", &[]);
                members.element("member", &entry);
            }
        }
        let mut result = Xml::new();
        result
            .element("EvaluationResults", &members)
            .text("IsTruncated", "false");
        Ok(Some(result))
    }
}

fn role_xml(role: &Role, with_tags: bool) -> Xml {
    let mut xml = Xml::new();
    xml.text("Path", &role.path)
        .text("RoleName", &role.name)
        .text("RoleId", &role.role_id)
        .text("Arn", &role.arn)
        .text("CreateDate", &role.create_date)
        .text(
            "AssumeRolePolicyDocument",
            &url_encode_document(&role.trust_policy),
        )
        .opt_text("Description", role.description.as_deref())
        .text("MaxSessionDuration", &role.max_session_duration.to_string());
    if with_tags && !role.tags.is_empty() {
        xml.tags("Tags", role.tags.iter().map(|(k, v)| (k, v)));
    }
    xml
}

fn no_such_role(name: &str) -> AwsError {
    AwsError::no_such_entity(format!("The role with name {name} cannot be found."))
}

fn no_such_provider(arn: &str) -> AwsError {
    AwsError::no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

fn no_such_inline_policy(name: &str) -> AwsError {
    AwsError::no_such_entity(format!("The role policy with name {name} cannot be found."))
}

/// A required request parameter IAM checks before anything else: its wire name, its name in
/// `ValidationError` messages and its rule.
struct Checked {
    key: &'static str,
    field: &'static str,
    rule: Rule,
}

/// The rule of a [`Checked`] parameter.
enum Rule {
    /// An IAM name of at most this many characters ([`validate_name`]).
    Name(usize),
    /// An ARN ([`validate_arn`]).
    Arn,
    /// A client ID ([`validate_client_id`]).
    ClientId,
}

const ROLE_NAME: Checked = Checked::name("RoleName", "roleName", 64);
const POLICY_NAME: Checked = Checked::name("PolicyName", "policyName", 128);
const POLICY_ARN: Checked = Checked::arn("PolicyArn", "policyArn");
const PROVIDER_ARN: Checked = Checked::arn("OpenIDConnectProviderArn", "openIDConnectProviderArn");
const POLICY_SOURCE_ARN: Checked = Checked::arn("PolicySourceArn", "policySourceArn");
/// One client ID of a provider; IAM names it as a member of the list in errors.
const CLIENT_ID: Checked = Checked {
    key: "ClientID",
    field: "clientIDList.member",
    rule: Rule::ClientId,
};

impl Checked {
    const fn name(key: &'static str, field: &'static str, max: usize) -> Checked {
        Checked {
            key,
            field,
            rule: Rule::Name(max),
        }
    }

    const fn arn(key: &'static str, field: &'static str) -> Checked {
        Checked {
            key,
            field,
            rule: Rule::Arn,
        }
    }

    /// The parameter's value: required (`ValidationError` when absent), then its rule.
    fn read<'p>(&self, params: &'p Params) -> Result<&'p str, AwsError> {
        let value = params.required(self.key)?;
        match self.rule {
            Rule::Name(max) => validate_name(value, self.field, max)?,
            Rule::Arn => validate_arn(value, self.field)?,
            Rule::ClientId => validate_client_id(value, self.field)?,
        }
        Ok(value)
    }
}

/// IAM names: `[\w+=,.@-]+` (ASCII word characters), 1..=max.
fn validate_name(name: &str, field: &str, max: usize) -> Result<(), AwsError> {
    if name.is_empty() || name.chars().count() > max {
        return Err(constraint(
            name,
            field,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if !name.chars().all(allowed) {
        return Err(constraint(
            name,
            field,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ));
    }
    Ok(())
}

fn validate_path(path: &str) -> Result<(), AwsError> {
    let printable = path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if path.len() > 512 || !path.starts_with('/') || !path.ends_with('/') || !printable {
        return Err(constraint(
            path,
            "path",
            "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ));
    }
    Ok(())
}

fn validate_description(description: Option<&str>) -> Result<(), AwsError> {
    match description {
        Some(text) if text.chars().count() > 1000 => Err(constraint(
            text,
            "description",
            "Member must have length less than or equal to 1000",
        )),
        _ => Ok(()),
    }
}

fn validate_max_session_duration(value: i64) -> Result<u32, AwsError> {
    value_in_range(value, "maxSessionDuration", 3600, 43_200)?;
    u32::try_from(value).map_err(|_| AwsError::validation("MaxSessionDuration out of range"))
}

fn validate_arn(arn: &str, field: &str) -> Result<(), AwsError> {
    if arn.len() < 20 || arn.len() > 2048 {
        return Err(constraint(
            arn,
            field,
            "Member must have length greater than or equal to 20",
        ));
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2].is_empty() || parts[5].is_empty() {
        return Err(AwsError::invalid_input(format!("ARN {arn} is not valid.")));
    }
    Ok(())
}

/// `https://host[/path]`: no port, no query or fragment, no user info, ≤ 255 characters.
/// IAM's URL rules for OIDC providers, for every provider: at most 255 characters, a scheme
/// and a host (else `ValidationError`), `https://` (else `InvalidInput ... must begin with
/// https://.`), and no user info, port, query or fragment, a host of letters, digits, `-` and
/// `.` or an IP address (else `InvalidInput: Invalid Open ID Connect Provider URL.`). Paths
/// are allowed; case is kept (URLs are case-sensitive).
fn validate_provider_url(url: &str) -> Result<(), AwsError> {
    const INVALID: &str = "Invalid Open ID Connect Provider URL";
    if url.is_empty() || url.chars().count() > 255 {
        return Err(constraint(
            url,
            "url",
            "Member must have length less than or equal to 255",
        ));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(AwsError::validation(INVALID));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(AwsError::validation(INVALID));
    }
    if scheme != "https" {
        return Err(AwsError::invalid_input(format!(
            "{INVALID}. The URL must begin with https://."
        )));
    }
    let is_ip = authority.parse::<std::net::Ipv4Addr>().is_ok()
        || authority
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
    let is_dns_name = authority.split('.').all(|label| {
        !label.is_empty()
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    // A port, user info (`@`) or anything else outside a host name fails here.
    if !(is_ip || is_dns_name) || rest.contains(['?', '#']) {
        return Err(AwsError::invalid_input(format!("{INVALID}.")));
    }
    Ok(())
}

fn validate_client_ids(client_ids: &[String]) -> Result<(), AwsError> {
    if client_ids.len() > MAX_CLIENT_IDS {
        return Err(AwsError::limit_exceeded(format!(
            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
        )));
    }
    for id in client_ids {
        validate_client_id(id, CLIENT_ID.field)?;
    }
    Ok(())
}

/// A client ID (audience): 1..=255 characters.
fn validate_client_id(id: &str, field: &str) -> Result<(), AwsError> {
    if id.is_empty() || id.chars().count() > 255 {
        return Err(constraint(
            id,
            field,
            "Member must have length less than or equal to 255",
        ));
    }
    Ok(())
}

fn validate_thumbprints(thumbprints: &[String]) -> Result<(), AwsError> {
    if thumbprints.len() > MAX_THUMBPRINTS {
        return Err(AwsError::invalid_input(
            "Thumbprint list must contain fewer than 5 entries.",
        ));
    }
    for thumbprint in thumbprints {
        if thumbprint.len() != 40 {
            return Err(constraint(
                thumbprint,
                "thumbprintList.member",
                "Member must have length greater than or equal to 40",
            ));
        }
        if !thumbprint.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(AwsError::invalid_input(format!(
                "Thumbprint {thumbprint} is not a valid SHA-1 hex string."
            )));
        }
    }
    Ok(())
}

fn validate_tags(tags: &[(String, String)], field: &str) -> Result<(), AwsError> {
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(constraint(
                key,
                &format!("{field}.member.key"),
                "Member must have length less than or equal to 128",
            ));
        }
        if value.chars().count() > 256 {
            return Err(constraint(
                value,
                &format!("{field}.member.value"),
                "Member must have length less than or equal to 256",
            ));
        }
    }
    check_tag_quota(tags)
}

/// The `Tags` of a `Tag*` request: required (at least one) and valid.
fn requested_tags(params: &Params) -> Result<Vec<(String, String)>, AwsError> {
    let tags = params.tags("Tags");
    if tags.is_empty() {
        params.required("Tags")?;
    }
    validate_tags(&tags, "tags")?;
    Ok(tags)
}

/// `Tag*`: `tags` merged into a resource's, within the quota.
fn add_tags(
    existing: &mut Vec<(String, String)>,
    tags: Vec<(String, String)>,
) -> Result<(), AwsError> {
    let merged = merge_tags(existing.clone(), tags);
    check_tag_quota(&merged)?;
    *existing = merged;
    Ok(())
}

/// `Untag*`: the tags with these keys (any case) removed.
fn remove_tags(existing: &mut Vec<(String, String)>, keys: &[String]) {
    existing.retain(|(k, _)| !keys.iter().any(|key| key.eq_ignore_ascii_case(k)));
}

/// `List*Tags`: every tag, one page.
fn tags_xml(tags: &[(String, String)]) -> Xml {
    let mut result = Xml::new();
    result
        .tags("Tags", tags.iter().map(|(k, v)| (k, v)))
        .text("IsTruncated", "false");
    result
}

fn check_tag_quota(tags: &[(String, String)]) -> Result<(), AwsError> {
    if tags.len() > MAX_TAGS {
        return Err(AwsError::limit_exceeded(format!(
            "Cannot exceed quota for TagsPerRole: {MAX_TAGS}"
        )));
    }
    Ok(())
}

/// Adds or replaces tags; IAM tag keys are case-insensitive.
fn merge_tags(
    mut existing: Vec<(String, String)>,
    new: Vec<(String, String)>,
) -> Vec<(String, String)> {
    for (key, value) in new {
        match existing
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(&key))
        {
            Some(slot) => *slot = (key, value),
            None => existing.push((key, value)),
        }
    }
    existing
}

/// Policy documents may hold only TAB, LF, CR and U+0020–U+00FF.
fn check_policy_characters(document: &str) -> Result<(), AwsError> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}');
    if document.is_empty() || document.chars().count() > 131_072 || !document.chars().all(allowed) {
        return Err(constraint(
            "<policy>",
            "policyDocument",
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        ));
    }
    Ok(())
}

/// A permissions (identity) policy: JSON with `Version` and `Statement`, each statement with an
/// `Effect` of `Allow`/`Deny` and an `Action` or `NotAction`.
fn validate_permission_policy(document: &str) -> Result<(), AwsError> {
    let syntax = || AwsError::malformed_policy("Syntax errors in policy.");
    let value: serde_json::Value = serde_json::from_str(document).map_err(|_| syntax())?;
    let statements = match value.get("Statement") {
        Some(serde_json::Value::Array(items)) => items.clone(),
        Some(single @ serde_json::Value::Object(_)) => vec![single.clone()],
        _ => return Err(syntax()),
    };
    for statement in statements {
        match statement.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow" | "Deny") => {}
            _ => return Err(syntax()),
        }
        if statement.get("Action").is_none() && statement.get("NotAction").is_none() {
            return Err(AwsError::malformed_policy(
                "Policy statement must contain actions.",
            ));
        }
        if statement.get("Principal").is_some() {
            return Err(AwsError::malformed_policy(
                "Policy document should not specify a principal.",
            ));
        }
    }
    Ok(())
}

/// An AWS-style unique id: prefix + 17 upper-case letters and digits.
pub fn random_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::rng();
    let tail: String = (0..17)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}{tail}")
}

/// The current time as IAM writes it (`2026-01-02T03:04:05Z`).
pub fn now_iso8601() -> String {
    iso8601(time::OffsetDateTime::now_utc())
}

/// A time as IAM writes it.
pub fn iso8601(at: time::OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// `ListPolicies`: the AWS managed policies of the catalogue (`Scope` `All` or `AWS`; `Local`,
/// the customer managed ones, is empty here), filtered by `PathPrefix`, paged by `Marker` /
/// `MaxItems` (1–1000, default 100) with `IsTruncated`, as IAM answers it.
fn list_policies(params: &Params) -> Result<Option<Xml>, AwsError> {
    let scope = params.get("Scope").unwrap_or("All");
    if !matches!(scope, "All" | "AWS" | "Local") {
        return Err(AwsError::sender(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            format!(
                "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
            ),
        ));
    }
    let prefix = params.get("PathPrefix").unwrap_or("/");
    let max_items =
        usize::try_from(params.integer("MaxItems")?.unwrap_or(100).clamp(1, 1000)).unwrap_or(100);
    let start = match params.get("Marker") {
        Some(marker) => marker
            .parse::<usize>()
            .map_err(|_| AwsError::invalid_input("Invalid Marker."))?,
        None => 0,
    };
    let matching: Vec<(usize, &str, &str)> = if scope == "Local" {
        Vec::new()
    } else {
        super::managed_policies::catalogue()
            .enumerate()
            .filter(|(_, (path, _))| path.starts_with(prefix))
            .map(|(i, (path, name))| (i, path, name))
            .collect()
    };
    let mut members = Xml::new();
    for (index, path, name) in matching.iter().skip(start).take(max_items) {
        let mut policy = Xml::new();
        policy
            .text("PolicyName", name)
            .text("DefaultVersionId", "v1")
            .text("PolicyId", &format!("ANPAJ{index:016}"))
            .text("Path", path)
            .text("Arn", &format!("arn:aws:iam::aws:policy{path}{name}"))
            .text("AttachmentCount", "0")
            .text("PermissionsBoundaryUsageCount", "0")
            .text("IsAttachable", "true")
            .text("CreateDate", "2015-02-06T18:39:46Z")
            .text("UpdateDate", "2015-02-06T18:39:46Z");
        members.element("member", &policy);
    }
    Ok(Some(page_xml(
        "Policies",
        &members,
        start + max_items,
        matching.len(),
    )))
}

/// One page of a `List*` answer: the page's `members` under `list`, and `IsTruncated` with the
/// `Marker` of the page after it (`next`) while fewer than `total` items were listed.
fn page_xml(list: &str, members: &Xml, next: usize, total: usize) -> Xml {
    let mut result = Xml::new();
    result.element(list, members);
    if next < total {
        result
            .text("IsTruncated", "true")
            .text("Marker", &next.to_string());
    } else {
        result.text("IsTruncated", "false");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(encoded: &str) -> Params {
        let mut params = Params::default();
        params.parse_into(encoded);
        params
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn list_policies_pages_with_marker_and_honours_scope_and_path() {
        let first = list_policies(&params("Scope=AWS&MaxItems=5"))
            .unwrap()
            .unwrap();
        let text = first.as_str();
        assert_eq!(text.matches("<member>").count(), 5, "{text}");
        assert!(
            text.contains("<IsTruncated>true</IsTruncated><Marker>5</Marker>"),
            "{text}"
        );
        let rest = list_policies(&params("Scope=All&Marker=5&MaxItems=1000"))
            .unwrap()
            .unwrap();
        assert!(rest.as_str().contains("<IsTruncated>false</IsTruncated>"));
        assert_eq!(
            5 + rest.as_str().matches("<member>").count(),
            super::super::managed_policies::catalogue().count()
        );
        let local = list_policies(&params("Scope=Local")).unwrap().unwrap();
        assert_eq!(
            local.as_str().matches("<member>").count(),
            0,
            "no customer policies"
        );
        let path = list_policies(&params("PathPrefix=%2Fjob-function%2F"))
            .unwrap()
            .unwrap();
        assert!(
            path.as_str()
                .contains("<Arn>arn:aws:iam::aws:policy/job-function/ViewOnlyAccess</Arn>")
        );
        assert_eq!(path.as_str().matches("<member>").count(), 1);
        let bad = list_policies(&params("Scope=Mine")).unwrap_err();
        assert_eq!(bad.code, "ValidationError");
    }

    #[test]
    fn provider_urls_follow_the_iam_rules() {
        for good in [
            "https://octo.example.com/",
            "https://octo.example.com/tenant/a",
            "https://octopus.sandbox.localhost",
            "https://OCTO.example.com",
            "https://198.51.100.7",
        ] {
            assert!(validate_provider_url(good).is_ok(), "{good} refused");
        }
        let code_and_message = |url: &str| {
            let e = validate_provider_url(url).expect_err(url);
            (e.code.clone(), e.message.clone())
        };
        let invalid = (
            "InvalidInput".to_string(),
            "Invalid Open ID Connect Provider URL.".to_string(),
        );
        for bad in [
            "https://octo.example.com:8443",
            "https://127.0.0.1:8443",
            "https://octo.example.com/?x=1",
            "https://octo.example.com#frag",
            "https://user:pass@octo.example.com",
            "https://exa_mple.com",
        ] {
            assert_eq!(code_and_message(bad), invalid, "{bad}");
        }
        assert_eq!(
            code_and_message("http://octo.example.com"),
            (
                "InvalidInput".to_string(),
                "Invalid Open ID Connect Provider URL. The URL must begin with https://."
                    .to_string()
            )
        );
        for no_host in ["https:///path", "octo.example.com"] {
            assert_eq!(code_and_message(no_host).0, "ValidationError", "{no_host}");
        }
    }

    #[test]
    fn role_names_follow_the_iam_rules() {
        assert!(validate_name("octo-deploy+role=,.@_1", "roleName", 64).is_ok());
        assert!(validate_name(&"a".repeat(64), "roleName", 64).is_ok());
        assert!(validate_name(&"a".repeat(65), "roleName", 64).is_err());
        assert!(validate_name("with space", "roleName", 64).is_err());
        assert!(validate_name("with/slash", "roleName", 64).is_err());
        assert!(validate_name("", "roleName", 64).is_err());
    }

    #[test]
    fn tags_merge_case_insensitively() {
        let merged = merge_tags(
            vec![("Env".into(), "a".into())],
            vec![("env".into(), "b".into()), ("x".into(), "y".into())],
        );
        assert_eq!(
            merged,
            vec![("env".into(), "b".into()), ("x".into(), "y".into())]
        );
    }
}
