//! What IAM needs to trust an Octopus server for a scope: the OIDC provider (URL = issuer
//! verbatim, ARN, audience = the server's host name) and the role (name rules, session
//! duration, and the trust policy: `sts:AssumeRoleWithWebIdentity`, `StringEquals` on
//! `<key>:aud`, `StringLike` on `<key>:sub` with the scope's patterns, account test included,
//! minified and checked against the trust-policy size quota).
//!
//! Deliberately absent: permission policies (what the role may do), thumbprints (only for
//! private CAs; the caller adds them), and IAM calls.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::policy::WEB_IDENTITY_ACTION;
use crate::ports::{OidcProviderSpec, RoleSpec};
use crate::scope::{Scope, ScopeError, SubjectKeyConfig};
use crate::subject::SubjectKey;

/// Default IAM quota for a role trust policy ("Role trust policy length").
pub const DEFAULT_TRUST_POLICY_QUOTA: usize = 2048;
/// The highest value the quota can be raised to.
pub const MAX_TRUST_POLICY_QUOTA: usize = 4096;
/// Role `MaxSessionDuration` bounds, seconds.
pub const SESSION_DURATION: std::ops::RangeInclusive<u32> = 3600..=43200;

/// Why the AWS side cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// The issuer cannot be an IAM OIDC provider URL.
    #[error("the issuer '{issuer}' cannot be an IAM OIDC provider URL: {problem}")]
    Issuer {
        /// The issuer given.
        issuer: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// The AWS account id is not 12 digits.
    #[error("the AWS account id '{0}' is not 12 digits")]
    AccountId(String),
    /// The role name breaks IAM's rules.
    #[error("the role name '{0}' is invalid: 1-64 characters of letters, digits and + = , . @ _ -")]
    RoleName(String),
    /// The session duration is outside IAM's range.
    #[error("the session duration {0} s is outside 3600-43200 s")]
    SessionDuration(u32),
    /// The quota is outside IAM's range.
    #[error("the trust policy quota {0} is outside 2048-4096")]
    Quota(usize),
    /// The scope is invalid.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The trust policy does not fit the quota.
    #[error(
        "the trust policy would be {size} characters; the role trust policy quota is {quota} (IAM: LimitExceeded: Cannot exceed quota for ACLSizePerRole: {quota})"
    )]
    PolicyTooLarge {
        /// Minified size.
        size: usize,
        /// The quota it was checked against.
        quota: usize,
        /// Coarser key choices with their sizes.
        alternatives: Vec<AwsAlternative>,
    },
}

/// The IAM OIDC provider for an Octopus issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsProvider {
    /// Provider URL = the issuer, verbatim.
    pub url: String,
    /// `arn:aws:iam::<account>:oidc-provider/<url without https://>`.
    pub arn: String,
    /// Condition-key prefix (`host[/path]`), from the ARN: keys are `<prefix>:sub`, `<prefix>:aud`.
    pub condition_prefix: String,
    /// The audience: the Octopus server's host name.
    pub audience: String,
}

impl AwsProvider {
    /// Derives the provider from the Octopus issuer (verbatim, `https://`, no port, no query)
    /// and the 12-digit AWS account id.
    pub fn from_issuer(issuer: &str, account_id: &str) -> Result<AwsProvider, AwsError> {
        let bad = |problem| AwsError::Issuer {
            issuer: issuer.to_string(),
            problem,
        };
        if !super::is_account_id(account_id) {
            return Err(AwsError::AccountId(account_id.to_string()));
        }
        let rest = issuer
            .strip_prefix("https://")
            .ok_or_else(|| bad("it must start with https://"))?;
        if rest.contains(['?', '#']) {
            return Err(bad("it must not have a query or fragment"));
        }
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() {
            return Err(bad("it has no host name"));
        }
        if host.contains(':') {
            return Err(bad("it must not contain a port (IAM requires port 443)"));
        }
        if issuer.len() > 255 {
            return Err(bad("IAM accepts at most 255 characters"));
        }
        Ok(AwsProvider {
            url: issuer.to_string(),
            arn: format!("arn:aws:iam::{account_id}:oidc-provider/{rest}"),
            condition_prefix: rest.to_string(),
            audience: host.to_string(),
        })
    }

    /// The condition key for `sub`.
    pub fn sub_key(&self) -> String {
        format!("{}:sub", self.condition_prefix)
    }

    /// The condition key for `aud`.
    pub fn aud_key(&self) -> String {
        format!("{}:aud", self.condition_prefix)
    }

    /// The provider spec for the IAM port (no thumbprints).
    pub fn spec(&self, tags: BTreeMap<String, String>) -> OidcProviderSpec {
        OidcProviderSpec {
            url: self.url.clone(),
            client_ids: vec![self.audience.clone()],
            thumbprints: Vec::new(),
            tags,
        }
    }
}

/// Whether `name` is a valid IAM role name (1–64 of `[\w+=,.@-]`).
pub fn is_valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

#[derive(Serialize)]
struct PolicyDoc<'a> {
    #[serde(rename = "Version")]
    version: &'a str,
    #[serde(rename = "Statement")]
    statement: [StatementDoc<'a>; 1],
}

#[derive(Serialize)]
struct StatementDoc<'a> {
    #[serde(rename = "Effect")]
    effect: &'a str,
    #[serde(rename = "Principal")]
    principal: BTreeMap<&'a str, &'a str>,
    #[serde(rename = "Action")]
    action: &'a str,
    #[serde(rename = "Condition")]
    condition: BTreeMap<&'a str, BTreeMap<String, serde_json::Value>>,
}

/// The minified trust policy: one Allow statement for the provider, `StringEquals` on aud,
/// `StringLike` on sub with `patterns`.
pub fn trust_policy_json(provider: &AwsProvider, patterns: &[String]) -> String {
    let doc = PolicyDoc {
        version: "2012-10-17",
        statement: [StatementDoc {
            effect: "Allow",
            principal: BTreeMap::from([("Federated", provider.arn.as_str())]),
            action: WEB_IDENTITY_ACTION,
            condition: BTreeMap::from([
                (
                    "StringEquals",
                    BTreeMap::from([(
                        provider.aud_key(),
                        serde_json::Value::from(provider.audience.clone()),
                    )]),
                ),
                (
                    "StringLike",
                    BTreeMap::from([(
                        provider.sub_key(),
                        serde_json::Value::from(patterns.to_vec()),
                    )]),
                ),
            ]),
        }],
    };
    serde_json::to_string(&doc).unwrap_or_default()
}

/// A coarser key choice and the policy size it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsAlternative {
    /// Keys to set on the account.
    pub keys: SubjectKeyConfig,
    /// Number of `sub` patterns.
    pub pattern_count: usize,
    /// Minified policy size.
    pub size: usize,
    /// Whether it fits the quota.
    pub fits: bool,
}

/// Everything to create in IAM for a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsRolePlan {
    /// The OIDC provider.
    pub provider: AwsProvider,
    /// The `sub` patterns (account test included).
    pub patterns: Vec<String>,
    /// The role (trust policy minified).
    pub role: RoleSpec,
    /// Trust policy size in characters.
    pub policy_size: usize,
    /// The quota it was checked against.
    pub quota: usize,
}

/// Plans the role for `scope`: patterns from the scope ([`crate::scope::CompiledScope::aws_subject_patterns`]),
/// the trust policy, and the checks on role name, session duration and policy size
/// (`quota`: `None` = 2048; at most 4096).
pub fn plan_role(
    scope: &Scope,
    provider: &AwsProvider,
    role_name: &str,
    max_session_duration: u32,
    quota: Option<usize>,
) -> Result<AwsRolePlan, AwsError> {
    if !is_valid_role_name(role_name) {
        return Err(AwsError::RoleName(role_name.to_string()));
    }
    if !SESSION_DURATION.contains(&max_session_duration) {
        return Err(AwsError::SessionDuration(max_session_duration));
    }
    let quota = quota.unwrap_or(DEFAULT_TRUST_POLICY_QUOTA);
    if !(DEFAULT_TRUST_POLICY_QUOTA..=MAX_TRUST_POLICY_QUOTA).contains(&quota) {
        return Err(AwsError::Quota(quota));
    }
    let patterns = scope.compile()?.aws_subject_patterns();
    let policy = trust_policy_json(provider, &patterns);
    let size = policy.chars().count();
    if size > quota {
        return Err(AwsError::PolicyTooLarge {
            size,
            quota,
            alternatives: alternatives(scope, provider, quota)?,
        });
    }
    Ok(AwsRolePlan {
        provider: provider.clone(),
        patterns,
        role: RoleSpec {
            name: role_name.to_string(),
            trust_policy: policy,
            max_session_duration,
            description: Some(format!(
                "Assumed by Octopus Deploy ({}) via OIDC",
                provider.audience
            )),
            managed_policy_arns: Vec::new(),
            inline_policies: BTreeMap::new(),
            tags: BTreeMap::new(),
        },
        policy_size: size,
        quota,
    })
}

fn alternatives(
    scope: &Scope,
    provider: &AwsProvider,
    quota: usize,
) -> Result<Vec<AwsAlternative>, AwsError> {
    use SubjectKey::*;
    let mut out = Vec::new();
    for keys in [
        vec![Space, Project, Environment],
        vec![Space, Environment],
        vec![Space, Project],
        vec![Space],
    ] {
        let mut candidate = scope.clone();
        candidate.keys.deployment = keys;
        let patterns = candidate.compile()?.aws_subject_patterns();
        let size = trust_policy_json(provider, &patterns).chars().count();
        out.push(AwsAlternative {
            keys: candidate.keys,
            pattern_count: patterns.len(),
            size,
            fits: size <= quota,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::TrustPolicy;

    #[test]
    fn provider_from_issuer() {
        let p = AwsProvider::from_issuer("https://example.octopus.app/", "111122223333").unwrap();
        assert_eq!(p.url, "https://example.octopus.app/");
        assert_eq!(
            p.arn,
            "arn:aws:iam::111122223333:oidc-provider/example.octopus.app/"
        );
        assert_eq!(p.audience, "example.octopus.app");
        let p =
            AwsProvider::from_issuer("https://octo2.example.com/tenant/a", "111122223333").unwrap();
        assert_eq!(
            p.arn,
            "arn:aws:iam::111122223333:oidc-provider/octo2.example.com/tenant/a"
        );
        assert_eq!(p.sub_key(), "octo2.example.com/tenant/a:sub");
        assert_eq!(p.audience, "octo2.example.com");
        assert!(AwsProvider::from_issuer("http://x", "111122223333").is_err());
        assert!(AwsProvider::from_issuer("https://x:8443", "111122223333").is_err());
        assert!(AwsProvider::from_issuer("https://x?a=b", "111122223333").is_err());
        assert!(AwsProvider::from_issuer("https://x", "1234").is_err());
    }

    #[test]
    fn generated_policy_parses_and_matches_reference_shape() {
        let p = AwsProvider::from_issuer("https://example.octopus.app", "111122223333").unwrap();
        let json = trust_policy_json(
            &p,
            &[
                "space:default:project:my-project:*".into(),
                "space:default:account:my-aws-account".into(),
            ],
        );
        assert_eq!(
            json,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/example.octopus.app"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"example.octopus.app:aud":"example.octopus.app"},"StringLike":{"example.octopus.app:sub":["space:default:project:my-project:*","space:default:account:my-aws-account"]}}}]}"#
        );
        assert!(TrustPolicy::parse(&json).is_ok());
    }

    #[test]
    fn role_names() {
        assert!(is_valid_role_name("octopus-deploy+prod=1,a.b@c_d"));
        assert!(!is_valid_role_name(""));
        assert!(!is_valid_role_name("has space"));
        assert!(!is_valid_role_name("a/b"));
        assert!(!is_valid_role_name(&"a".repeat(65)));
    }
}
