//! Octopus subject claims, built exactly as Octopus Server builds the `sub` of the tokens it
//! issues.
//!
//! Rules (octopus-api.md §3): `key:value` parts joined by `:`; values are slugs; the parts come
//! in Octopus's fixed order (space, project-group, project, runbook, tenant, environment,
//! target, account, type, then feed) whatever order the keys were given in; a requested key
//! with no value at run time is dropped together with its value (e.g. `tenant` on an
//! untenanted deployment); empty keys mean the documented default of the context; each context
//! accepts only its own keys; `type` is `deployment`, `runbook` or `health`.
//!
//! Two details are not confirmed by Octopus and are therefore one constant each:
//! [`PROJECT_GROUP_KEY`] (the key string in the keys arrays) and [`ACCOUNT_TEST_TYPE`] (the
//! `type` value of account-test tokens).
//!
//! Deliberately absent: custom claims, the per-part claims (`https://octopus.com/claims/...`)
//! and anything about which runs exist; that is the scope model's job ([`crate::scope`]).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The project-group key string used in the accounts' subject-keys arrays.
///
/// Unconfirmed: Octopus's docs call it "Project Group", the subject part is confirmed as
/// `project-group:<slug>` (from 2025.3.7518) and the Go client's validator does not know it. We
/// assume the keys array uses the same string as the subject part. Change it here only.
pub const PROJECT_GROUP_KEY: &str = "project-group";

/// The `type` value Octopus puts in account-test tokens when `type` is requested.
///
/// Undocumented: the only example (third-party, unverified) shows `type:health`, so that is
/// our choice. The wizard never requests `type` for account tests (see
/// [`Context::recommended_keys`]), so this only matters for users who insist.
pub const ACCOUNT_TEST_TYPE: &str = "health";

/// One key of an Octopus subject claim. The declaration order is Octopus's fixed part order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SubjectKey {
    /// `space:<space-slug>`.
    Space,
    /// `project-group:<project-group-slug>` (Octopus 2025.3.7518+).
    ProjectGroup,
    /// `project:<project-slug>`.
    Project,
    /// `runbook:<runbook-slug>`: present only in runbook runs.
    Runbook,
    /// `tenant:<tenant-slug>`: dropped when the run is untenanted.
    Tenant,
    /// `environment:<environment-slug>`.
    Environment,
    /// `target:<target-slug>`: health checks.
    Target,
    /// `account:<account-slug>`.
    Account,
    /// `type:deployment|runbook|health`.
    Type,
    /// `feed:<feed-slug>`: feed tokens only (their own configuration, after all others).
    Feed,
}

impl SubjectKey {
    /// Every key, in Octopus's fixed part order.
    pub const ALL: [SubjectKey; 10] = [
        SubjectKey::Space,
        SubjectKey::ProjectGroup,
        SubjectKey::Project,
        SubjectKey::Runbook,
        SubjectKey::Tenant,
        SubjectKey::Environment,
        SubjectKey::Target,
        SubjectKey::Account,
        SubjectKey::Type,
        SubjectKey::Feed,
    ];

    /// The key string as it appears in the accounts' subject-keys arrays.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKey::Space => "space",
            SubjectKey::ProjectGroup => PROJECT_GROUP_KEY,
            SubjectKey::Project => "project",
            SubjectKey::Runbook => "runbook",
            SubjectKey::Tenant => "tenant",
            SubjectKey::Environment => "environment",
            SubjectKey::Target => "target",
            SubjectKey::Account => "account",
            SubjectKey::Type => "type",
            SubjectKey::Feed => "feed",
        }
    }

    /// The name in front of the value inside the subject (`project-group` is confirmed).
    pub fn claim_name(self) -> &'static str {
        match self {
            SubjectKey::ProjectGroup => "project-group",
            other => other.as_str(),
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubjectKey {
    type Err = SubjectError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        SubjectKey::ALL
            .into_iter()
            .find(|k| k.as_str() == trimmed)
            .ok_or_else(|| SubjectError::UnknownKey {
                key: trimmed.to_string(),
            })
    }
}

impl Serialize for SubjectKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SubjectKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a comma-separated key list (`space,project,type`); blanks between commas are ignored.
pub fn parse_keys(list: &str) -> Result<Vec<SubjectKey>, SubjectError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

/// What Octopus is doing when it requests a token; decides keys, defaults and `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Context {
    /// A deployment (uses `DeploymentSubjectKeys`).
    Deployment,
    /// A runbook run (also uses `DeploymentSubjectKeys`).
    #[serde(rename = "runbook")]
    RunbookRun,
    /// A health check of a deployment target (`HealthCheckSubjectKeys`).
    #[serde(rename = "health")]
    HealthCheck,
    /// "Save and test" of the account (`AccountTestSubjectKeys`).
    AccountTest,
    /// A feed using OIDC (its own configuration); for completeness.
    Feed,
}

impl Context {
    /// Every context.
    pub const ALL: [Context; 5] = [
        Context::Deployment,
        Context::RunbookRun,
        Context::HealthCheck,
        Context::AccountTest,
        Context::Feed,
    ];

    /// The CLI / JSON name: `deployment`, `runbook`, `health`, `account-test`, `feed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Deployment => "deployment",
            Context::RunbookRun => "runbook",
            Context::HealthCheck => "health",
            Context::AccountTest => "account-test",
            Context::Feed => "feed",
        }
    }

    /// The value of the `type` part in this context (`None`: the context has no `type`).
    pub fn type_value(self) -> Option<&'static str> {
        match self {
            Context::Deployment => Some("deployment"),
            Context::RunbookRun => Some("runbook"),
            Context::HealthCheck => Some("health"),
            Context::AccountTest => Some(ACCOUNT_TEST_TYPE),
            Context::Feed => None,
        }
    }

    /// The keys Octopus accepts for this context (octopus-api.md §1, §3).
    pub fn allowed_keys(self) -> &'static [SubjectKey] {
        use SubjectKey::*;
        match self {
            Context::Deployment | Context::RunbookRun => &[
                Space,
                ProjectGroup,
                Project,
                Runbook,
                Tenant,
                Environment,
                Account,
                Type,
            ],
            Context::HealthCheck => &[Space, Target, Account, Type],
            Context::AccountTest => &[Space, Account, Type],
            Context::Feed => &[Space, Feed],
        }
    }

    /// The keys Octopus uses when the account's keys for this context are empty.
    pub fn default_keys(self) -> &'static [SubjectKey] {
        use SubjectKey::*;
        match self {
            Context::Deployment | Context::RunbookRun => &[Space, Project, Tenant, Environment],
            Context::HealthCheck => &[Space, Target],
            Context::AccountTest => &[Space, Account],
            Context::Feed => &[Space, Feed],
        }
    }

    /// The keys the wizard proposes: the defaults (for account tests without the unconfirmed
    /// `type` value).
    pub fn recommended_keys(self) -> &'static [SubjectKey] {
        self.default_keys()
    }

    /// The Octopus account field holding this context's keys (`None` for feeds).
    pub fn account_field(self) -> Option<&'static str> {
        match self {
            Context::Deployment | Context::RunbookRun => Some("DeploymentSubjectKeys"),
            Context::HealthCheck => Some("HealthCheckSubjectKeys"),
            Context::AccountTest => Some("AccountTestSubjectKeys"),
            Context::Feed => None,
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Context {
    type Err = SubjectError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t {
            "deployment" => Ok(Context::Deployment),
            "runbook" | "runbook-run" => Ok(Context::RunbookRun),
            "health" | "health-check" => Ok(Context::HealthCheck),
            "account-test" => Ok(Context::AccountTest),
            "feed" => Ok(Context::Feed),
            _ => Err(SubjectError::UnknownContext {
                context: t.to_string(),
            }),
        }
    }
}

/// A resolved, validated set of subject keys for one context (a bit set; iteration is always
/// in Octopus's fixed order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySet(u16);

impl KeySet {
    /// Resolves the keys an account holds for `context`: empty means the context's defaults;
    /// duplicates are ignored; keys the context does not accept are an error naming all of them.
    pub fn resolve(context: Context, keys: &[SubjectKey]) -> Result<KeySet, SubjectError> {
        let requested: &[SubjectKey] = if keys.is_empty() {
            context.default_keys()
        } else {
            keys
        };
        let allowed = context.allowed_keys();
        let mut rejected: Vec<SubjectKey> = Vec::new();
        let mut bits = 0u16;
        for &k in requested {
            if allowed.contains(&k) {
                bits |= k.bit();
            } else if !rejected.contains(&k) {
                rejected.push(k);
            }
        }
        if !rejected.is_empty() {
            rejected.sort();
            return Err(SubjectError::KeyNotAllowed {
                context,
                keys: rejected,
                allowed: allowed.to_vec(),
            });
        }
        Ok(KeySet(bits))
    }

    /// Whether `key` is in the set.
    pub fn contains(self, key: SubjectKey) -> bool {
        self.0 & key.bit() != 0
    }

    /// The keys in Octopus's fixed order.
    pub fn keys(self) -> impl Iterator<Item = SubjectKey> {
        SubjectKey::ALL
            .into_iter()
            .filter(move |k| self.contains(*k))
    }

    /// The keys as a vector, in fixed order.
    pub fn to_vec(self) -> Vec<SubjectKey> {
        self.keys().collect()
    }
}

/// The run-time values a subject is built from: slugs, `None` (or empty) when the run has no
/// such value (e.g. no tenant on an untenanted deployment).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubjectValues {
    /// Space slug.
    pub space: Option<String>,
    /// Project group slug.
    pub project_group: Option<String>,
    /// Project slug.
    pub project: Option<String>,
    /// Runbook slug (used only in runbook runs).
    pub runbook: Option<String>,
    /// Tenant slug (absent when untenanted).
    pub tenant: Option<String>,
    /// Environment slug.
    pub environment: Option<String>,
    /// Deployment target slug.
    pub target: Option<String>,
    /// Account slug.
    pub account: Option<String>,
    /// Feed slug.
    pub feed: Option<String>,
}

impl SubjectValues {
    /// Borrowed view used by the allocation-free builder.
    pub fn parts(&self) -> SubjectParts<'_> {
        SubjectParts {
            space: self.space.as_deref(),
            project_group: self.project_group.as_deref(),
            project: self.project.as_deref(),
            runbook: self.runbook.as_deref(),
            tenant: self.tenant.as_deref(),
            environment: self.environment.as_deref(),
            target: self.target.as_deref(),
            account: self.account.as_deref(),
            feed: self.feed.as_deref(),
        }
    }
}

/// Borrowed run-time values (see [`SubjectValues`]); `Copy`, so the scope enumerator can fill
/// one per run without allocating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubjectParts<'a> {
    /// Space slug.
    pub space: Option<&'a str>,
    /// Project group slug.
    pub project_group: Option<&'a str>,
    /// Project slug.
    pub project: Option<&'a str>,
    /// Runbook slug (used only in runbook runs).
    pub runbook: Option<&'a str>,
    /// Tenant slug (absent when untenanted).
    pub tenant: Option<&'a str>,
    /// Environment slug.
    pub environment: Option<&'a str>,
    /// Deployment target slug.
    pub target: Option<&'a str>,
    /// Account slug.
    pub account: Option<&'a str>,
    /// Feed slug.
    pub feed: Option<&'a str>,
}

impl<'a> SubjectParts<'a> {
    /// The run-time value of `key` in `context` (`type` comes from the context; `runbook` only
    /// exists in runbook runs). Empty strings count as "no value".
    pub fn value(&self, context: Context, key: SubjectKey) -> Option<&'a str> {
        let v = match key {
            SubjectKey::Space => self.space,
            SubjectKey::ProjectGroup => self.project_group,
            SubjectKey::Project => self.project,
            SubjectKey::Runbook if context == Context::RunbookRun => self.runbook,
            SubjectKey::Runbook => None,
            SubjectKey::Tenant => self.tenant,
            SubjectKey::Environment => self.environment,
            SubjectKey::Target => self.target,
            SubjectKey::Account => self.account,
            SubjectKey::Type => context.type_value(),
            SubjectKey::Feed => self.feed,
        };
        v.filter(|s| !s.is_empty())
    }
}

/// Why a subject could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    /// A key string Octopus does not know.
    #[error(
        "unknown subject key '{key}'; expected one of: space, {PROJECT_GROUP_KEY}, project, runbook, tenant, environment, target, account, type, feed"
    )]
    UnknownKey {
        /// The string given.
        key: String,
    },
    /// A context name that does not exist.
    #[error(
        "unknown context '{context}'; expected one of: deployment, runbook, health, account-test, feed"
    )]
    UnknownContext {
        /// The string given.
        context: String,
    },
    /// Keys the context does not accept.
    #[error(
        "{} not allowed for {context} subjects; allowed keys: {}",
        describe_keys(keys),
        join_keys(allowed)
    )]
    KeyNotAllowed {
        /// The context.
        context: Context,
        /// Every rejected key.
        keys: Vec<SubjectKey>,
        /// What the context accepts.
        allowed: Vec<SubjectKey>,
    },
    /// A value that cannot be a slug inside a subject.
    #[error("the {key} value '{value}' {reason}")]
    InvalidValue {
        /// The key whose value is invalid.
        key: SubjectKey,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Every requested key had no value, so the subject would be empty.
    #[error(
        "the {context} subject would be empty: none of the keys [{}] has a value",
        join_keys(keys)
    )]
    Empty {
        /// The context.
        context: Context,
        /// The keys that were requested.
        keys: Vec<SubjectKey>,
    },
}

fn join_keys(keys: &[SubjectKey]) -> String {
    keys.iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_keys(keys: &[SubjectKey]) -> String {
    match keys {
        [one] => format!("key '{one}' is"),
        many => format!(
            "keys {} are",
            many.iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Checks that a value can sit inside a subject: no `:` (it would shift every later part), no
/// `*`/`?` (they would turn trust patterns into wildcards), no whitespace or control characters.
pub fn check_value(key: SubjectKey, value: &str) -> Result<(), SubjectError> {
    let reason = if value.contains(':') {
        Some("contains ':', which separates subject parts")
    } else if value.contains(['*', '?']) {
        Some("contains a wildcard character ('*' or '?'); Octopus slugs never do")
    } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace or control characters; subject values are slugs")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(SubjectError::InvalidValue {
            key,
            value: value.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Appends the subject for `context`, `keys` and `parts` to `out` without checking values and
/// without allocating beyond `out`'s growth. Returns the number of parts written (0 = empty).
///
/// This is the hot path of the scope enumerator and the simulator; values are assumed to have
/// passed [`check_value`] (the scope model checks them once, up front).
pub fn write_subject(
    context: Context,
    keys: KeySet,
    parts: &SubjectParts<'_>,
    out: &mut String,
) -> usize {
    let mut written = 0;
    for key in keys.keys() {
        if let Some(v) = parts.value(context, key) {
            if written > 0 {
                out.push(':');
            }
            out.push_str(key.claim_name());
            out.push(':');
            out.push_str(v);
            written += 1;
        }
    }
    written
}

/// Builds the subject Octopus puts in the token for `context`, given the account's keys for
/// that context (empty = the context's defaults) and the run's values.
///
/// Errors: keys the context does not accept (all of them named at once), values that are not
/// slugs, or a subject with no parts at all.
pub fn build_subject(
    context: Context,
    keys: &[SubjectKey],
    values: &SubjectValues,
) -> Result<String, SubjectError> {
    let set = KeySet::resolve(context, keys)?;
    let parts = values.parts();
    for key in set.keys() {
        if key == SubjectKey::Type {
            continue;
        }
        if let Some(v) = parts.value(context, key) {
            check_value(key, v)?;
        }
    }
    let mut out = String::with_capacity(96);
    if write_subject(context, set, &parts, &mut out) == 0 {
        return Err(SubjectError::Empty {
            context,
            keys: set.to_vec(),
        });
    }
    Ok(out)
}

/// A subject split back into its `key:value` parts (for explanations and checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectClaim {
    /// The parts in the order they appear.
    pub parts: Vec<(SubjectKey, String)>,
}

impl SubjectClaim {
    /// Parses `key:value:key:value...`; fails on an odd number of segments or an unknown key.
    pub fn parse(subject: &str) -> Result<SubjectClaim, SubjectError> {
        let segments: Vec<&str> = subject.split(':').collect();
        if !segments.len().is_multiple_of(2) {
            return Err(SubjectError::UnknownKey {
                key: segments.last().copied().unwrap_or_default().to_string(),
            });
        }
        let parts = segments
            .chunks(2)
            .map(|c| {
                let key = SubjectKey::ALL
                    .into_iter()
                    .find(|k| k.claim_name() == c[0])
                    .ok_or_else(|| SubjectError::UnknownKey {
                        key: c[0].to_string(),
                    })?;
                Ok((key, c[1].to_string()))
            })
            .collect::<Result<Vec<_>, SubjectError>>()?;
        Ok(SubjectClaim { parts })
    }

    /// The value of one key, if present.
    pub fn get(&self, key: SubjectKey) -> Option<&str> {
        self.parts
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for SubjectClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{}:{}", k.claim_name(), v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> SubjectValues {
        SubjectValues {
            space: Some("default".into()),
            project: Some("deploy-web-app".into()),
            runbook: Some("restart".into()),
            environment: Some("production".into()),
            ..Default::default()
        }
    }

    #[test]
    fn reference_example_keys_space_project_runbook_type() {
        use SubjectKey::*;
        let keys = [Space, Project, Runbook, Type];
        assert_eq!(
            build_subject(Context::Deployment, &keys, &values()).unwrap(),
            "space:default:project:deploy-web-app:type:deployment"
        );
        assert_eq!(
            build_subject(Context::RunbookRun, &keys, &values()).unwrap(),
            "space:default:project:deploy-web-app:runbook:restart:type:runbook"
        );
    }

    #[test]
    fn order_is_fixed_whatever_the_key_order() {
        use SubjectKey::*;
        let a = build_subject(
            Context::Deployment,
            &[Environment, Type, Project, Space],
            &values(),
        )
        .unwrap();
        let b = build_subject(
            Context::Deployment,
            &[Space, Project, Environment, Type],
            &values(),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a,
            "space:default:project:deploy-web-app:environment:production:type:deployment"
        );
    }

    #[test]
    fn untenanted_drops_tenant_key_and_value() {
        let s = build_subject(Context::Deployment, &[], &values()).unwrap();
        assert_eq!(
            s,
            "space:default:project:deploy-web-app:environment:production"
        );
        let mut v = values();
        v.tenant = Some("acme".into());
        let s = build_subject(Context::Deployment, &[], &v).unwrap();
        assert_eq!(
            s,
            "space:default:project:deploy-web-app:tenant:acme:environment:production"
        );
    }

    #[test]
    fn disallowed_keys_are_all_named() {
        use SubjectKey::*;
        let err = build_subject(
            Context::AccountTest,
            &[Space, Project, Environment],
            &values(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "keys 'project', 'environment' are not allowed for account-test subjects; allowed keys: space, account, type"
        );
        let err = build_subject(Context::HealthCheck, &[Tenant], &values()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("key 'tenant' is not allowed for health subjects")
        );
    }

    #[test]
    fn values_that_are_not_slugs_are_rejected() {
        let mut v = values();
        v.project = Some("web:app".into());
        assert!(matches!(
            build_subject(Context::Deployment, &[], &v),
            Err(SubjectError::InvalidValue {
                key: SubjectKey::Project,
                ..
            })
        ));
        v.project = Some("web*".into());
        assert!(build_subject(Context::Deployment, &[], &v).is_err());
    }

    #[test]
    fn empty_subject_is_an_error() {
        let err = build_subject(Context::Deployment, &[SubjectKey::Tenant], &values()).unwrap_err();
        assert!(matches!(err, SubjectError::Empty { .. }));
    }

    #[test]
    fn keys_parse_and_display_round_trip() {
        for k in SubjectKey::ALL {
            assert_eq!(k.as_str().parse::<SubjectKey>().unwrap(), k);
        }
        assert_eq!(
            parse_keys("space, project-group,type").unwrap(),
            vec![
                SubjectKey::Space,
                SubjectKey::ProjectGroup,
                SubjectKey::Type
            ]
        );
        assert!(parse_keys("space,projekt").is_err());
    }

    #[test]
    fn subject_claim_round_trips() {
        let s = "space:default:project-group:web-group:runbook:jwt";
        let c = SubjectClaim::parse(s).unwrap();
        assert_eq!(c.get(SubjectKey::ProjectGroup), Some("web-group"));
        assert_eq!(c.to_string(), s);
        assert!(SubjectClaim::parse("space:default:project").is_err());
    }
}
