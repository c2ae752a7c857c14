//! Google Cloud: the workload identity federation spec that lets Octopus's
//! `GoogleCloudOidcAccount` tokens impersonate a service account, computed from a scope.
//!
//! What Google needs (gcp-api.md, confirmed in the IAM v1 REST reference): a pool
//! `projects/{number}/locations/global/workloadIdentityPools/{pool}` and an OIDC provider
//! `…/providers/{provider}` (ids 4–32 of `[a-z0-9-]`, `gcp-` reserved) with `oidc.issuerUri`,
//! optional `oidc.allowedAudiences` (≤ 10, each ≤ 256 characters; when empty the token's `aud`
//! must be the provider's full resource name `//iam.googleapis.com/projects/{number}/…`, with or
//! without `https:`), an `attributeMapping` (`google.subject` required, ≤ 127 bytes once mapped;
//! ≤ 50 `attribute.*` keys of `[a-z0-9_]`, ≤ 100 characters; each expression ≤ 2048 characters)
//! and an `attributeCondition` (CEL, ≤ 4096 characters); then `roles/iam.workloadIdentityUser` on
//! the service account for the federated principals.
//!
//! Our choices, one place each:
//! - **Condition**: `assertion.sub in [...]` with the scope's exact subjects
//!   ([`crate::scope::Scope::subjects`]), so Google admits exactly what the user chose. It reads
//!   the raw assertion, so it holds whatever `google.subject` is mapped to.
//! - **`google.subject`**: `assertion.sub` when every in-scope subject fits in 127 bytes
//!   ([`SubjectMapping::Sub`]); otherwise ([`SubjectMapping::SpaceAccount`]) the deterministic,
//!   shorter `<space-slug>:<account-slug>` from Octopus's single-value claims (every run of the
//!   account maps to the same principal; the condition still tells the runs apart).
//! - **`attribute.*`**: one per Octopus single-value claim `https://octopus.com/claims/<key>`
//!   (space, project_group, project, runbook, tenant, environment, target, account, type), `''`
//!   when the token has no such claim, for `principalSet://…/attribute.<name>/<value>` grants.
//! - **Bindings**: `principal://…/subject/<google.subject>` members, one per distinct mapped
//!   subject (the binding is a second fence behind the condition).
//! - **Account**: `GoogleCloudOidcAccount` with `Audience` (the default audience unless
//!   `allowedAudiences` are used), `TokenLifetimeSeconds` (a string, 600–43200, default 3600;
//!   above 3600 a warning about the org policy `iam.allowServiceAccountCredentialLifetimeExtension`),
//!   the three key lists and `CustomClaims` (OctopusClients `GoogleCloudOidcAccountResource.cs`).
//!
//! The simulator side ([`GcpTrust::evaluate`]) applies Google's rules to one token's claims:
//! issuer, audience, the mapping (with the 127-byte limit), the CEL condition (evaluated by the
//! `cel` crate, no IO) and the `workloadIdentityUser` binding.
//!
//! Deliberately absent: REST calls (the client crate), SAML/AWS/X.509 providers, resource roles
//! granted to principal sets directly, and `jwksJson` contents (the client fetches the JWKS).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use crate::accounts::{AccountCommon, common_fields};
use crate::scope::{Scope, ScopeError};
use crate::subject::SubjectKey;
use crate::validate::{FieldWarning, Validator};

/// Pool and provider id length bounds.
pub const ID_CHARS: RangeInclusive<usize> = 4..=32;
/// The id prefix Google reserves.
pub const RESERVED_ID_PREFIX: &str = "gcp-";
/// Maximum bytes of the mapped `google.subject`.
pub const MAX_SUBJECT_BYTES: usize = 127;
/// Maximum characters of `attributeCondition`.
pub const MAX_CONDITION_CHARS: usize = 4096;
/// Maximum characters of one attribute-mapping expression.
pub const MAX_MAPPING_EXPRESSION_CHARS: usize = 2048;
/// Maximum custom `attribute.*` keys.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 50;
/// Maximum characters of a custom attribute name.
pub const MAX_ATTRIBUTE_NAME_CHARS: usize = 100;
/// Maximum `oidc.allowedAudiences`.
pub const MAX_ALLOWED_AUDIENCES: usize = 10;
/// Maximum characters of one allowed audience.
pub const MAX_AUDIENCE_CHARS: usize = 256;
/// `TokenLifetimeSeconds` bounds on the Octopus account.
pub const TOKEN_LIFETIME_SECS: RangeInclusive<u32> = 600..=43200;
/// The default `TokenLifetimeSeconds`.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u32 = 3600;
/// Lifetimes above this need the org policy [`LIFETIME_EXTENSION_POLICY`].
pub const MAX_UNEXTENDED_LIFETIME_SECS: u32 = 3600;
/// The org policy constraint that allows service-account tokens beyond one hour.
pub const LIFETIME_EXTENSION_POLICY: &str = "iam.allowServiceAccountCredentialLifetimeExtension";
/// The role that lets federated principals impersonate a service account.
pub const WORKLOAD_IDENTITY_USER: &str = "roles/iam.workloadIdentityUser";
/// The prefix of Octopus's single-value claims.
pub const OCTOPUS_CLAIM_PREFIX: &str = "https://octopus.com/claims/";
/// The Octopus account type.
pub const ACCOUNT_TYPE: &str = "GoogleCloudOidcAccount";
/// The IAM service host in full resource names.
const IAM_HOST: &str = "iam.googleapis.com";

/// Whether a subject key becomes an `attribute.*` mapping: every key Octopus puts in a
/// deployment, runbook or health token (the feed key only appears in feed tokens).
fn mapped_to_attribute(key: &SubjectKey) -> bool {
    *key != SubjectKey::Feed
}

/// Why no spec can be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GcpError {
    /// The scope is invalid.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The scope has no subject at all.
    #[error("the scope admits no run, so no condition can be written")]
    EmptyScope,
    /// The condition listing every subject is longer than Google accepts.
    #[error(
        "the attribute condition for {subjects} subjects is {chars} characters long; Google accepts at most {MAX_CONDITION_CHARS}"
    )]
    ConditionTooLong {
        /// How many subjects it lists.
        subjects: usize,
        /// Its length.
        chars: usize,
    },
    /// Even the fallback `google.subject` (`<space>:<account>`) is over 127 bytes.
    #[error(
        "the mapped subject '{subject}' is {bytes} bytes long; Google accepts at most {MAX_SUBJECT_BYTES}"
    )]
    SubjectTooLong {
        /// The mapped value.
        subject: String,
        /// Its length in bytes.
        bytes: usize,
    },
}

/// Whether `id` is a valid pool or provider id (4–32 of `[a-z0-9-]`, not starting `gcp-`).
pub fn is_valid_resource_id(id: &str) -> bool {
    ID_CHARS.contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with(RESERVED_ID_PREFIX)
}

/// Whether `number` is a project number (digits only, no leading zero) — not a project id.
pub fn is_project_number(number: &str) -> bool {
    !number.is_empty()
        && number.len() <= 20
        && number.chars().all(|c| c.is_ascii_digit())
        && !number.starts_with('0')
}

/// Whether `id` is a project id: 6–30 of `[a-z0-9-]`, starting with a letter, not ending
/// with `-`.
pub fn is_project_id(id: &str) -> bool {
    (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `id` is a service account's account id (the part before `@`): 6–30 of
/// `[a-z0-9-]`, starting with a letter, not ending with `-`.
pub fn is_service_account_id(id: &str) -> bool {
    is_project_id(id)
}

/// Whether `email` is a service account's email (`id@project.iam.gserviceaccount.com`, or
/// another `*.gserviceaccount.com` domain Google uses for default accounts).
pub fn is_service_account_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && domain.ends_with(".gserviceaccount.com")
                && domain
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        }
        None => false,
    }
}

/// Whether `role` names an IAM role a project policy can bind: `roles/NAME` (predefined or
/// basic) or a custom `projects/P/roles/NAME` / `organizations/O/roles/NAME`.
pub fn is_role_name(role: &str) -> bool {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.len() <= 64
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    };
    let parts: Vec<&str> = role.split('/').collect();
    match parts.as_slice() {
        ["roles", name] => name_ok(name),
        ["projects" | "organizations", owner, "roles", name] => !owner.is_empty() && name_ok(name),
        _ => false,
    }
}

/// Checks the names of a Google Cloud setup into the caller's [`Validator`]: `gcp.project`
/// (an id or a number), `gcp.service_account` (an account id or an email), each of
/// `gcp.roles[i]` (role names, no duplicates).
pub fn check_names(v: &mut Validator, project: &str, service_account: &str, roles: &[String]) {
    if !(is_project_id(project) || is_project_number(project)) {
        v.error(
            "gcp.project",
            format!("'{project}' is not a project id"),
            "Use the project id (6 to 30 lowercase letters, digits or hyphens, starting with a letter, e.g. \"shop-prod\") or its number.",
        );
    }
    if !(is_service_account_id(service_account) || is_service_account_email(service_account)) {
        v.error(
            "gcp.service_account",
            format!("'{service_account}' is neither a service account id nor an email"),
            "Use an account id (6 to 30 lowercase letters, digits or hyphens, starting with a letter) or an email like name@project.iam.gserviceaccount.com.",
        );
    }
    let mut seen = BTreeSet::new();
    for (i, role) in roles.iter().enumerate() {
        let field = format!("gcp.roles[{i}]");
        if !is_role_name(role) {
            v.error(
                &field,
                format!("'{role}' is not an IAM role name"),
                "Write roles/NAME (e.g. \"roles/storage.objectViewer\") or projects/PROJECT/roles/NAME for a custom role.",
            );
        } else if role == WORKLOAD_IDENTITY_USER {
            v.error(
                &field,
                format!("'{role}' on the project would let the federated principals impersonate every service account in it"),
                "Remove it: the setup grants it on its own service account only.",
            );
        }
        if !seen.insert(role.as_str()) {
            v.error(
                &field,
                format!("'{role}' is listed twice"),
                "Remove the duplicate.",
            );
        }
    }
}

/// A workload identity pool provider by project number, pool id and provider id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRef {
    /// The project NUMBER (not its id).
    pub project_number: String,
    /// The pool id.
    pub pool_id: String,
    /// The provider id.
    pub provider_id: String,
}

impl ProviderRef {
    /// The provider a default audience names (`//iam.googleapis.com/projects/{number}/
    /// locations/global/workloadIdentityPools/{pool}/providers/{provider}`, with or without
    /// `https:`); `None` for any other audience (e.g. one of `allowedAudiences`).
    pub fn from_audience(audience: &str) -> Option<ProviderRef> {
        let rest = audience.strip_prefix("https:").unwrap_or(audience);
        let rest = rest.strip_prefix("//")?.strip_prefix(IAM_HOST)?;
        let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            [
                "projects",
                number,
                "locations",
                "global",
                "workloadIdentityPools",
                pool,
                "providers",
                provider,
            ] if is_project_number(number)
                && is_valid_resource_id(pool)
                && is_valid_resource_id(provider) =>
            {
                Some(ProviderRef {
                    project_number: number.to_string(),
                    pool_id: pool.to_string(),
                    provider_id: provider.to_string(),
                })
            }
            _ => None,
        }
    }

    /// `projects/{number}/locations/global/workloadIdentityPools/{pool}`.
    pub fn pool_name(&self) -> String {
        format!(
            "projects/{}/locations/global/workloadIdentityPools/{}",
            self.project_number, self.pool_id
        )
    }

    /// `…/providers/{provider}`.
    pub fn provider_name(&self) -> String {
        format!("{}/providers/{}", self.pool_name(), self.provider_id)
    }

    /// The audience Google expects without `allowedAudiences` (and the STS `audience`):
    /// `//iam.googleapis.com/projects/{number}/…/providers/{provider}`.
    pub fn default_audience(&self) -> String {
        format!("//{IAM_HOST}/{}", self.provider_name())
    }

    /// Whether a token's `aud` is accepted: one of `allowed` when that is non-empty, else the
    /// full resource name with or without `https:`.
    pub fn accepts_audience(&self, aud: &str, allowed: &[String]) -> bool {
        if allowed.is_empty() {
            let name = self.default_audience();
            aud == name || aud.strip_prefix("https:") == Some(name.as_str())
        } else {
            allowed.iter().any(|a| a == aud)
        }
    }

    /// `principal://iam.googleapis.com/projects/{number}/…/{pool}/subject/{subject}`.
    pub fn principal(&self, subject: &str) -> String {
        format!(
            "principal://{IAM_HOST}/{}/subject/{subject}",
            self.pool_name()
        )
    }

    /// `principalSet://iam.googleapis.com/projects/{number}/…/{pool}/attribute.{name}/{value}`.
    pub fn principal_set(&self, attribute: &str, value: &str) -> String {
        format!(
            "principalSet://{IAM_HOST}/{}/attribute.{attribute}/{value}",
            self.pool_name()
        )
    }
}

/// How `google.subject` is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectMapping {
    /// `assertion.sub` (every in-scope subject fits in 127 bytes).
    Sub,
    /// `<space-slug>:<account-slug>` from the single-value claims (some subject is longer).
    SpaceAccount,
}

impl SubjectMapping {
    /// The CEL expression for `google.subject`.
    pub fn expression(self) -> String {
        match self {
            SubjectMapping::Sub => "assertion.sub".to_string(),
            SubjectMapping::SpaceAccount => format!(
                "{} + ':' + {}",
                claim_ref(SubjectKey::Space),
                claim_ref(SubjectKey::Account)
            ),
        }
    }
}

/// `assertion['https://octopus.com/claims/<key>']`.
fn claim_ref(key: SubjectKey) -> String {
    format!("assertion['{OCTOPUS_CLAIM_PREFIX}{}']", key.claim_name())
}

/// The `attribute.<name>` of a subject key (`[a-z0-9_]`: `project-group` → `project_group`).
pub fn attribute_name(key: SubjectKey) -> String {
    key.claim_name().replace('-', "_")
}

/// The attribute mapping: `google.subject` plus one `attribute.*` per Octopus claim.
pub fn attribute_mapping(subject: SubjectMapping) -> Vec<(String, String)> {
    let mut out = vec![("google.subject".to_string(), subject.expression())];
    for key in SubjectKey::ALL.into_iter().filter(mapped_to_attribute) {
        let claim = format!("{OCTOPUS_CLAIM_PREFIX}{}", key.claim_name());
        out.push((
            format!("attribute.{}", attribute_name(key)),
            format!("'{claim}' in assertion ? assertion['{claim}'] : ''"),
        ));
    }
    out
}

/// A CEL string literal (single quotes; `\` and `'` escaped).
pub fn cel_string(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('\'');
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\'' => s.push_str("\\'"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            c => s.push(c),
        }
    }
    s.push('\'');
    s
}

/// The condition admitting exactly `subjects`: `assertion.sub in ['…', …]`.
pub fn subject_condition(subjects: &[String]) -> String {
    let list: Vec<String> = subjects.iter().map(|s| cel_string(s)).collect();
    format!("assertion.sub in [{}]", list.join(", "))
}

/// One IAM binding on the service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamBinding {
    /// The role.
    pub role: String,
    /// The members, sorted.
    pub members: Vec<String>,
}

/// The Google side of the trust for one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpTrustSpec {
    /// The provider.
    pub provider: ProviderRef,
    /// `oidc.issuerUri` (Octopus's discovery `issuer`, verbatim).
    pub issuer_uri: String,
    /// `oidc.allowedAudiences` (empty = the default audience).
    pub allowed_audiences: Vec<String>,
    /// The audience the Octopus account sends.
    pub audience: String,
    /// How `google.subject` is mapped.
    pub subject_mapping: SubjectMapping,
    /// `attributeMapping`, in a fixed order.
    pub attribute_mapping: Vec<(String, String)>,
    /// `attributeCondition`.
    pub attribute_condition: String,
    /// The exact subjects the condition admits, sorted.
    pub subjects: Vec<String>,
    /// The service account's binding for the federated principals.
    pub binding: IamBinding,
}

impl GcpTrustSpec {
    /// `attributeMapping` as the JSON object the REST API takes.
    pub fn attribute_mapping_json(&self) -> Value {
        Value::Object(
            self.attribute_mapping
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
        )
    }

    /// The `WorkloadIdentityPoolProvider` body for create/patch.
    pub fn provider_body(&self) -> Value {
        let mut oidc = json!({ "issuerUri": self.issuer_uri });
        if !self.allowed_audiences.is_empty() {
            oidc["allowedAudiences"] = json!(self.allowed_audiences);
        }
        json!({
            "oidc": oidc,
            "attributeMapping": self.attribute_mapping_json(),
            "attributeCondition": self.attribute_condition,
        })
    }

    /// The trust as the simulator evaluates it, with the binding on the service account.
    pub fn trust(&self) -> GcpTrust {
        GcpTrust {
            provider: self.provider.clone(),
            issuer_uri: self.issuer_uri.clone(),
            allowed_audiences: self.allowed_audiences.clone(),
            attribute_mapping: self.attribute_mapping.clone(),
            attribute_condition: Some(self.attribute_condition.clone()),
            service_account_members: self.binding.members.clone(),
        }
    }
}

/// Everything the spec needs besides the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpTrustInput {
    /// The provider.
    pub provider: ProviderRef,
    /// Octopus's issuer, verbatim.
    pub issuer: String,
    /// `allowedAudiences` (empty = use the default audience; the usual choice).
    pub allowed_audiences: Vec<String>,
}

/// Computes the pool provider, condition and binding that admit exactly the scope's subjects.
pub fn plan_trust(input: &GcpTrustInput, scope: &Scope) -> Result<GcpTrustSpec, GcpError> {
    let subjects: Vec<String> = scope.subjects()?.into_iter().map(|s| s.subject).collect();
    if subjects.is_empty() {
        return Err(GcpError::EmptyScope);
    }
    let condition = subject_condition(&subjects);
    let chars = condition.chars().count();
    if chars > MAX_CONDITION_CHARS {
        return Err(GcpError::ConditionTooLong {
            subjects: subjects.len(),
            chars,
        });
    }
    let fits = subjects.iter().all(|s| s.len() <= MAX_SUBJECT_BYTES);
    let (mapping, principals): (SubjectMapping, BTreeSet<String>) = if fits {
        (SubjectMapping::Sub, subjects.iter().cloned().collect())
    } else {
        let mapped = format!(
            "{}:{}",
            scope.inventory.space.slug, scope.inventory.account.slug
        );
        if mapped.len() > MAX_SUBJECT_BYTES {
            return Err(GcpError::SubjectTooLong {
                bytes: mapped.len(),
                subject: mapped,
            });
        }
        (SubjectMapping::SpaceAccount, BTreeSet::from([mapped]))
    };
    let audience = input
        .allowed_audiences
        .first()
        .cloned()
        .unwrap_or_else(|| input.provider.default_audience());
    Ok(GcpTrustSpec {
        issuer_uri: input.issuer.clone(),
        allowed_audiences: input.allowed_audiences.clone(),
        audience,
        subject_mapping: mapping,
        attribute_mapping: attribute_mapping(mapping),
        attribute_condition: condition,
        subjects,
        binding: IamBinding {
            role: WORKLOAD_IDENTITY_USER.to_string(),
            members: principals
                .iter()
                .map(|s| input.provider.principal(s))
                .collect(),
        },
        provider: input.provider.clone(),
    })
}

/// Checks the user's Google Cloud input, every field at once; warns (does not block) when the
/// lifetime needs the org policy [`LIFETIME_EXTENSION_POLICY`].
pub fn validate_input(
    project_number: &str,
    pool_id: &str,
    provider_id: &str,
    allowed_audiences: &[String],
    token_lifetime_secs: u32,
) -> Result<Vec<FieldWarning>, crate::Problem> {
    let mut v = Validator::new();
    if !is_project_number(project_number) {
        v.error(
            "gcp.project",
            "is not a project number",
            "Use the project NUMBER (digits, e.g. 123456789012) that `gcloud projects describe` shows, not the project id.",
        );
    }
    check_input(
        &mut v,
        pool_id,
        provider_id,
        allowed_audiences,
        token_lifetime_secs,
    );
    v.finish()
}

/// The checks of [`validate_input`] without the project number, into the caller's
/// [`Validator`] (fields `gcp.pool`, `gcp.provider`, `gcp.allowed_audiences`,
/// `gcp.token_lifetime`): the setup file's meaning check uses it.
pub fn check_input(
    v: &mut Validator,
    pool_id: &str,
    provider_id: &str,
    allowed_audiences: &[String],
    token_lifetime_secs: u32,
) {
    let id_fix = "Use 4 to 32 lowercase letters, digits or hyphens, not starting with gcp-.";
    for (field, id) in [("gcp.pool", pool_id), ("gcp.provider", provider_id)] {
        if !is_valid_resource_id(id) {
            let problem = if id.starts_with(RESERVED_ID_PREFIX) {
                "starts with the reserved prefix gcp-"
            } else {
                "must be 4 to 32 characters of [a-z0-9-]"
            };
            v.error(field, problem, id_fix);
        }
    }
    if allowed_audiences.len() > MAX_ALLOWED_AUDIENCES {
        v.error(
            "gcp.allowed_audiences",
            format!(
                "lists {} audiences; Google accepts at most {MAX_ALLOWED_AUDIENCES}",
                allowed_audiences.len()
            ),
            "Remove audiences, or leave the list empty to use the provider's resource name.",
        );
    }
    for a in allowed_audiences {
        if a.is_empty() || a.chars().count() > MAX_AUDIENCE_CHARS {
            v.error(
                "gcp.allowed_audiences",
                format!("audience '{a}' must be 1 to {MAX_AUDIENCE_CHARS} characters"),
                "Shorten the audience.",
            );
        }
    }
    if !TOKEN_LIFETIME_SECS.contains(&token_lifetime_secs) {
        v.error(
            "gcp.token_lifetime",
            format!("{token_lifetime_secs} seconds is outside 600 to 43200"),
            "Use a lifetime between 600 and 43200 seconds (default 3600).",
        );
    } else if token_lifetime_secs > MAX_UNEXTENDED_LIFETIME_SECS {
        v.warn(
            "gcp.token_lifetime",
            format!(
                "lifetimes over {MAX_UNEXTENDED_LIFETIME_SECS} seconds need the organization policy constraints/{LIFETIME_EXTENSION_POLICY} to list the service account; without it generateAccessToken refuses them"
            ),
        );
    }
}

/// A `GoogleCloudOidcAccount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleCloudOidcAccount {
    /// Shared fields.
    pub common: AccountCommon,
    /// The audience (the provider's resource name unless `allowedAudiences` are used).
    pub audience: String,
    /// Seconds, 600–43200 (sent as a string).
    pub token_lifetime_secs: u32,
    /// `CustomClaims`.
    pub custom_claims: Vec<(String, String)>,
}

/// The flat JSON body to POST to `/api/{spaceId}/accounts`. The service account to impersonate
/// is not here: Octopus sets it on the step (`Octopus.Action.GoogleCloud.ServiceAccountEmails`).
pub fn google_cloud_oidc_account_body(
    account: &GoogleCloudOidcAccount,
    scope: &Scope,
) -> Result<Value, ScopeError> {
    let mut m = common_fields(&account.common, scope)?;
    m.insert("AccountType".into(), json!(ACCOUNT_TYPE));
    m.insert("Audience".into(), json!(account.audience));
    m.insert(
        "TokenLifetimeSeconds".into(),
        json!(account.token_lifetime_secs.to_string()),
    );
    let claims: Map<String, Value> = account
        .custom_claims
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    m.insert("CustomClaims".into(), Value::Object(claims));
    Ok(Value::Object(m))
}

/// A provider and a service account's `workloadIdentityUser` members, as the simulator reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpTrust {
    /// The provider.
    pub provider: ProviderRef,
    /// `oidc.issuerUri`.
    pub issuer_uri: String,
    /// `oidc.allowedAudiences`.
    #[serde(default)]
    pub allowed_audiences: Vec<String>,
    /// `attributeMapping` entries.
    pub attribute_mapping: Vec<(String, String)>,
    /// `attributeCondition` (`None` = every valid token).
    #[serde(default)]
    pub attribute_condition: Option<String>,
    /// Members of the service account's `roles/iam.workloadIdentityUser` binding.
    #[serde(default)]
    pub service_account_members: Vec<String>,
}

/// Which step refused a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GcpStep {
    /// `iss` differs from `oidc.issuerUri`.
    Issuer,
    /// `aud` is not accepted.
    Audience,
    /// The attribute mapping failed or `google.subject` is too long.
    Mapping,
    /// The attribute condition is false (or failed).
    Condition,
    /// The principal has no `workloadIdentityUser` on the service account.
    Binding,
}

/// The simulator's answer for one token against Google.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcpVerdict {
    /// Whether STS and `generateAccessToken` would both succeed.
    pub accepted: bool,
    /// The step that refused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<GcpStep>,
    /// Google's OAuth/REST error code (`invalid_grant`, `unauthorized_client`, `PERMISSION_DENIED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why, in plain words.
    pub reason: String,
    /// The mapped `google.subject`, when mapping succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google_subject: Option<String>,
}

fn refuse(step: GcpStep, error: &str, reason: String, subject: Option<String>) -> GcpVerdict {
    GcpVerdict {
        accepted: false,
        step: Some(step),
        error: Some(error.to_string()),
        reason,
        google_subject: subject,
    }
}

/// The mapped `google.*` and `attribute.*` values (without their prefixes).
type Mapped<'m> = (&'m Map<String, Value>, &'m Map<String, Value>);

/// Runs a compiled CEL program over `assertion` (and `google`/`attribute` when given).
fn run_cel(
    program: &cel::Program,
    assertion: &Value,
    mapped: Option<Mapped<'_>>,
) -> Result<cel::Value, String> {
    let mut ctx = cel::Context::default();
    let to = |v: &Value| cel::to_value(v).map_err(|e| e.to_string());
    ctx.add_variable_from_value("assertion", to(assertion)?);
    if let Some((google, attribute)) = mapped {
        ctx.add_variable_from_value("google", to(&Value::Object(google.clone()))?);
        ctx.add_variable_from_value("attribute", to(&Value::Object(attribute.clone()))?);
    }
    program.execute(&ctx).map_err(|e| e.to_string())
}

#[cfg(test)]
fn eval_cel(expression: &str, assertion: &Value) -> Result<cel::Value, String> {
    let program = cel::Program::compile(expression).map_err(|e| e.to_string())?;
    run_cel(&program, assertion, None)
}

/// A CEL expression of the trust that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the CEL expression of {what} does not parse: {message}")]
pub struct CelSyntaxError {
    /// `google.subject`, `attribute.x` or `attributeCondition`.
    pub what: String,
    /// The parser's message.
    pub message: String,
}

/// A [`GcpTrust`] with its CEL parsed once (evaluate many tokens with it).
pub struct CompiledGcpTrust<'a> {
    trust: &'a GcpTrust,
    mapping: Vec<(&'a str, cel::Program)>,
    condition: Option<cel::Program>,
}

impl std::fmt::Debug for CompiledGcpTrust<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledGcpTrust")
            .field("trust", self.trust)
            .finish_non_exhaustive()
    }
}

impl GcpTrust {
    /// Parses the mapping and condition.
    pub fn compile(&self) -> Result<CompiledGcpTrust<'_>, CelSyntaxError> {
        let parse = |what: &str, src: &str| {
            cel::Program::compile(src).map_err(|e| CelSyntaxError {
                what: what.to_string(),
                message: e.to_string(),
            })
        };
        let mapping = self
            .attribute_mapping
            .iter()
            .map(|(k, v)| Ok((k.as_str(), parse(k, v)?)))
            .collect::<Result<_, CelSyntaxError>>()?;
        let condition = self
            .attribute_condition
            .as_deref()
            .map(|c| parse("attributeCondition", c))
            .transpose()?;
        Ok(CompiledGcpTrust {
            trust: self,
            mapping,
            condition,
        })
    }

    /// Would Google exchange this token (all its claims) and let it impersonate the service
    /// account? Signatures and expiry are not checked (the sandbox does). An expression that
    /// does not parse refuses every token (Google would have refused to save it).
    pub fn evaluate(&self, claims: &Value) -> GcpVerdict {
        match self.compile() {
            Ok(compiled) => compiled.evaluate(claims),
            Err(e) => refuse(GcpStep::Mapping, "invalid_request", e.to_string(), None),
        }
    }
}

impl CompiledGcpTrust<'_> {
    /// [`GcpTrust::evaluate`] without parsing again.
    pub fn evaluate(&self, claims: &Value) -> GcpVerdict {
        let trust = self.trust;
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if iss != trust.issuer_uri {
            return refuse(
                GcpStep::Issuer,
                "invalid_grant",
                format!(
                    "the token's issuer '{iss}' is not the provider's issuer '{}'",
                    trust.issuer_uri
                ),
                None,
            );
        }
        let auds: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !auds
            .iter()
            .any(|a| trust.provider.accepts_audience(a, &trust.allowed_audiences))
        {
            return refuse(
                GcpStep::Audience,
                "invalid_grant",
                format!(
                    "the token's audience {auds:?} is not accepted (expected {})",
                    if trust.allowed_audiences.is_empty() {
                        trust.provider.default_audience()
                    } else {
                        trust.allowed_audiences.join(", ")
                    }
                ),
                None,
            );
        }
        let mut google = Map::new();
        let mut attribute = Map::new();
        for (key, program) in &self.mapping {
            let value = match run_cel(program, claims, None) {
                Ok(cel::Value::String(s)) => s.to_string(),
                Ok(other) => {
                    return refuse(
                        GcpStep::Mapping,
                        "invalid_request",
                        format!("the mapping of {key} gives {other:?}, not a string"),
                        None,
                    );
                }
                Err(e) => {
                    return refuse(
                        GcpStep::Mapping,
                        "invalid_request",
                        format!("the mapping of {key} failed: {e}"),
                        None,
                    );
                }
            };
            if let Some(name) = key.strip_prefix("google.") {
                google.insert(name.to_string(), json!(value));
            } else if let Some(name) = key.strip_prefix("attribute.") {
                attribute.insert(name.to_string(), json!(value));
            }
        }
        let Some(subject) = google
            .get("subject")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return refuse(
                GcpStep::Mapping,
                "invalid_request",
                "the attribute mapping has no google.subject".into(),
                None,
            );
        };
        if subject.len() > MAX_SUBJECT_BYTES {
            return refuse(
                GcpStep::Mapping,
                "invalid_request",
                format!(
                    "the mapped google.subject is {} bytes; Google accepts at most {MAX_SUBJECT_BYTES}",
                    subject.len()
                ),
                Some(subject),
            );
        }
        if let Some(condition) = &self.condition {
            match run_cel(condition, claims, Some((&google, &attribute))) {
                Ok(cel::Value::Bool(true)) => {}
                Ok(_) | Err(_) => {
                    return refuse(
                        GcpStep::Condition,
                        "unauthorized_client",
                        format!("the attribute condition rejects subject '{subject}'"),
                        Some(subject),
                    );
                }
            }
        }
        let principal = trust.provider.principal(&subject);
        let member_of_set = attribute.iter().any(|(name, v)| {
            v.as_str().is_some_and(|v| {
                trust
                    .service_account_members
                    .contains(&trust.provider.principal_set(name, v))
            })
        });
        let all = format!("principalSet://{IAM_HOST}/{}/*", trust.provider.pool_name());
        if !(trust.service_account_members.contains(&principal)
            || member_of_set
            || trust.service_account_members.contains(&all))
        {
            return refuse(
                GcpStep::Binding,
                "PERMISSION_DENIED",
                format!("{principal} has no {WORKLOAD_IDENTITY_USER} on the service account"),
                Some(subject),
            );
        }
        GcpVerdict {
            accepted: true,
            step: None,
            error: None,
            reason: format!("accepted as {principal}"),
            google_subject: Some(subject),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_audience_names_its_provider() {
        let p = ProviderRef {
            project_number: "123456789012".into(),
            pool_id: "octo-pool".into(),
            provider_id: "octopus".into(),
        };
        assert_eq!(
            ProviderRef::from_audience(&p.default_audience()),
            Some(p.clone())
        );
        assert_eq!(
            ProviderRef::from_audience(&format!("https:{}", p.default_audience())),
            Some(p)
        );
        assert_eq!(
            ProviderRef::from_audience("api://AzureADTokenExchange"),
            None
        );
        assert_eq!(
            ProviderRef::from_audience(
                "//iam.googleapis.com/projects/my-proj/locations/global/workloadIdentityPools/octo-pool/providers/octopus"
            ),
            None
        );
    }

    fn provider() -> ProviderRef {
        ProviderRef {
            project_number: "123456789012".into(),
            pool_id: "octopus".into(),
            provider_id: "octopus-prod".into(),
        }
    }

    #[test]
    fn ids_follow_googles_rules() {
        for ok in ["abcd", "octopus-pool-1", &"a".repeat(32)] {
            assert!(is_valid_resource_id(ok), "{ok}");
        }
        for bad in ["abc", "gcp-pool", "Octopus", "pool_1", &"a".repeat(33), ""] {
            assert!(!is_valid_resource_id(bad), "{bad}");
        }
    }

    #[test]
    fn audiences_with_and_without_https() {
        let p = provider();
        let name = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/octopus/providers/octopus-prod";
        assert_eq!(p.default_audience(), name);
        assert!(p.accepts_audience(name, &[]));
        assert!(p.accepts_audience(&format!("https:{name}"), &[]));
        assert!(!p.accepts_audience(&format!("http:{name}"), &[]));
        assert!(!p.accepts_audience(name, &["api://x".into()]));
        assert!(p.accepts_audience("api://x", &["api://x".into()]));
    }

    #[test]
    fn cel_strings_escape_quotes() {
        assert_eq!(cel_string("a'b\\c"), r"'a\'b\\c'");
        let cond = subject_condition(&["x'y".into()]);
        let claims = json!({"sub": "x'y"});
        assert!(matches!(
            eval_cel(&cond, &claims),
            Ok(cel::Value::Bool(true))
        ));
    }

    #[test]
    fn lifetime_over_an_hour_warns_and_out_of_range_fails() {
        let w = validate_input("123456789012", "octopus", "octopus-prod", &[], 7200).unwrap();
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains(LIFETIME_EXTENSION_POLICY));
        assert!(
            validate_input("123456789012", "octopus", "octopus-prod", &[], 3600)
                .unwrap()
                .is_empty()
        );
        let p =
            validate_input("my-project", "gcp-x", "ab", &vec!["a".into(); 11], 599).unwrap_err();
        let fields: Vec<&str> = p.field_errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "gcp.project",
                "gcp.pool",
                "gcp.provider",
                "gcp.allowed_audiences",
                "gcp.token_lifetime"
            ]
        );
    }
}
