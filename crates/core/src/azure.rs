//! Azure: the federated identity credentials (FICs) an Entra app registration needs to trust
//! Octopus for a scope, and the deterministic role-assignment name.
//!
//! Entra matches issuer, subject and audience exactly and case-sensitively, with no wildcards,
//! so the set is one credential per distinct subject of the scope ([`crate::scope`]). Limits
//! (azure-api.md §1.3): 20 credentials per app counting existing ones; issuer, subject,
//! audience and description ≤ 600 characters; names 3–120 of `[A-Za-z0-9_-]`, first
//! alphanumeric, unique per app. When a scope needs more than fit, the plan lists the
//! alternatives with their counts: coarser subject keys, or splitting across several app
//! registrations with the exact credentials each would hold.
//!
//! Deliberately absent: Graph calls (the `octo-oidc-azure` crate), flexible FICs (Entra
//! accepts them only for GitHub, GitLab and Terraform Cloud issuers), managed identities.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

use crate::ports::{FederatedCredential, RoleAssignment};
use crate::scope::{Scope, ScopeError, SubjectKeyConfig};
use crate::subject::{Context, SubjectKey};

/// The audience Entra expects by default.
pub const AZURE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Federated credentials per app registration (or user-assigned managed identity).
pub const MAX_CREDENTIALS_PER_APP: usize = 20;
/// Maximum length of issuer, subject, audience and description.
pub const MAX_FIELD_CHARS: usize = 600;
/// Credential name length bounds.
pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 3..=120;

/// Why no credential set can be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AzureError {
    /// The scope is invalid.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// A field is longer than Entra accepts.
    #[error("the {field} is {len} characters long; Entra accepts at most {MAX_FIELD_CHARS}")]
    TooLong {
        /// `issuer`, `subject` or `audience`.
        field: &'static str,
        /// Its length in characters.
        len: usize,
    },
    /// The issuer is empty.
    #[error("the issuer is empty; copy `issuer` from the Octopus discovery document")]
    EmptyIssuer,
}

/// Whether `name` is a valid credential name (3–120 chars, `[A-Za-z0-9_-]`, first alphanumeric).
pub fn is_valid_credential_name(name: &str) -> bool {
    NAME_CHARS.contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The deterministic credential name for a subject: the subject made URL-friendly (runs of
/// other characters become `-`), cut to fit, plus `-` and 8 hex digits of its SHA-256 (so
/// subjects that read alike still get different names). Always valid.
pub fn credential_name(subject: &str) -> String {
    credential_name_with(subject, 8)
}

fn credential_name_with(subject: &str, hash_digits: usize) -> String {
    let mut readable = String::with_capacity(subject.len());
    for c in subject.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            readable.push(c);
        } else if !readable.ends_with('-') {
            readable.push('-');
        }
    }
    let readable = readable.trim_matches(|c: char| c == '-' || c == '_');
    let max_readable = NAME_CHARS.end() - 1 - hash_digits - 4;
    let readable: String = readable.chars().take(max_readable).collect();
    let readable = readable.trim_end_matches(['-', '_']);
    let digest = hex(&Sha256::digest(subject.as_bytes()));
    let hash = &digest[..hash_digits];
    if readable.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        format!("{readable}-{hash}")
    } else {
        format!("fic-{hash}")
    }
}

/// Names for many subjects at once: deterministic, valid, and unique among themselves and
/// against `taken` (longer hashes on the rare collision).
pub fn credential_names(subjects: &[String], taken: &BTreeSet<String>) -> Vec<String> {
    let mut used: BTreeSet<String> = taken.clone();
    subjects
        .iter()
        .map(|s| {
            let mut digits = 8;
            loop {
                let name = credential_name_with(s, digits);
                if !used.contains(&name) || digits >= 64 {
                    used.insert(name.clone());
                    return name;
                }
                digits += 8;
            }
        })
        .collect()
}

/// One alternative when the credentials do not fit one app registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AzureAlternative {
    /// Use coarser subject keys on the Octopus account (fewer, broader subjects).
    CoarserKeys {
        /// The keys to set on the account.
        keys: SubjectKeyConfig,
        /// How many credentials that needs.
        credential_count: usize,
        /// Whether it fits one app (with the existing credentials).
        fits: bool,
    },
    /// Keep the keys; spread the credentials over several app registrations (and as many
    /// Octopus accounts, one per app). The account-test credential listed is the current
    /// account's; each further Octopus account needs its own (`space:<s>:account:<slug>`),
    /// one more credential per extra app, which is not included here because its slug is not
    /// known yet.
    SplitApps {
        /// The credentials of each app; the first app also holds the existing ones.
        apps: Vec<Vec<FederatedCredential>>,
    },
}

/// The credentials one app registration needs for a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureCredentialPlan {
    /// Issuer, verbatim.
    pub issuer: String,
    /// Audience of every credential.
    pub audience: String,
    /// Credentials to create (subjects not yet trusted).
    pub to_create: Vec<FederatedCredential>,
    /// Names of existing credentials that already trust a needed subject.
    pub reused: Vec<String>,
    /// Existing + new credentials on the app.
    pub total_on_app: usize,
    /// Whether that is within [`MAX_CREDENTIALS_PER_APP`].
    pub fits: bool,
    /// When it does not fit: what to do instead.
    pub alternatives: Vec<AzureAlternative>,
}

fn description(contexts: &BTreeSet<Context>) -> String {
    let list: Vec<&str> = contexts.iter().map(|c| c.as_str()).collect();
    format!("Octopus Deploy OIDC ({})", list.join(", "))
}

/// The exact credential set for `scope`: one per distinct subject, issuer verbatim, audience
/// `audience` (default [`AZURE_AUDIENCE`]), reusing `existing` credentials with the same
/// issuer and subject and counting all existing ones against the 20-per-app limit.
pub fn plan_credentials(
    scope: &Scope,
    issuer: &str,
    audience: Option<&str>,
    existing: &[FederatedCredential],
) -> Result<AzureCredentialPlan, AzureError> {
    let audience = audience.unwrap_or(AZURE_AUDIENCE);
    if issuer.is_empty() {
        return Err(AzureError::EmptyIssuer);
    }
    for (field, v) in [("issuer", issuer), ("audience", audience)] {
        let len = v.chars().count();
        if len > MAX_FIELD_CHARS {
            return Err(AzureError::TooLong { field, len });
        }
    }
    let subjects = scope.subjects()?;
    let mut reused = Vec::new();
    let mut needed = Vec::new();
    for s in &subjects {
        let len = s.subject.chars().count();
        if len > MAX_FIELD_CHARS {
            return Err(AzureError::TooLong {
                field: "subject",
                len,
            });
        }
        match existing
            .iter()
            .find(|c| c.issuer == issuer && c.subject == s.subject)
        {
            Some(c) => reused.push(c.name.clone()),
            None => needed.push(s),
        }
    }
    let taken: BTreeSet<String> = existing.iter().map(|c| c.name.clone()).collect();
    let subject_strings: Vec<String> = needed.iter().map(|s| s.subject.clone()).collect();
    let names = credential_names(&subject_strings, &taken);
    let to_create: Vec<FederatedCredential> = needed
        .iter()
        .zip(names)
        .map(|(s, name)| FederatedCredential {
            name,
            issuer: issuer.to_string(),
            subject: s.subject.clone(),
            audiences: vec![audience.to_string()],
            description: Some(description(&s.contexts)),
        })
        .collect();
    let total_on_app = existing.len() + to_create.len();
    let fits = total_on_app <= MAX_CREDENTIALS_PER_APP;
    let alternatives = if fits {
        Vec::new()
    } else {
        alternatives(scope, existing.len(), &to_create)?
    };
    Ok(AzureCredentialPlan {
        issuer: issuer.to_string(),
        audience: audience.to_string(),
        to_create,
        reused,
        total_on_app,
        fits,
        alternatives,
    })
}

/// Coarser deployment keys to propose, from the finest to the coarsest.
fn coarser_deployment_keys() -> Vec<Vec<SubjectKey>> {
    use SubjectKey::*;
    vec![
        vec![Space, Project, Environment],
        vec![Space, Environment],
        vec![Space, Project],
        vec![Space],
    ]
}

fn alternatives(
    scope: &Scope,
    existing: usize,
    to_create: &[FederatedCredential],
) -> Result<Vec<AzureAlternative>, AzureError> {
    let mut out = Vec::new();
    let current = scope.compile()?.keys(Context::Deployment).to_vec();
    for keys in coarser_deployment_keys() {
        if keys == current {
            continue;
        }
        let mut candidate = scope.clone();
        candidate.keys.deployment = keys;
        let count = candidate.subjects()?.len();
        out.push(AzureAlternative::CoarserKeys {
            keys: candidate.keys.clone(),
            credential_count: count,
            fits: existing + count <= MAX_CREDENTIALS_PER_APP,
        });
    }
    let mut apps: Vec<Vec<FederatedCredential>> = Vec::new();
    let first_capacity = MAX_CREDENTIALS_PER_APP.saturating_sub(existing);
    let (first, rest) = to_create.split_at(first_capacity.min(to_create.len()));
    apps.push(first.to_vec());
    for chunk in rest.chunks(MAX_CREDENTIALS_PER_APP) {
        apps.push(chunk.to_vec());
    }
    out.push(AzureAlternative::SplitApps { apps });
    Ok(out)
}

/// Namespace of role-assignment names (UUIDv5): fixed forever, changing it would orphan every
/// assignment created before.
pub const ROLE_ASSIGNMENT_NAMESPACE: uuid::Uuid =
    uuid::uuid!("5d1f6c1e-2c0b-5b8e-9d7a-6f0c2a1e4b3d");

/// The role assignment for (scope, role, principal), named by a deterministic GUID: UUIDv5 of
/// the lower-cased `scope|role_definition_id|principal_id` (ARM ids are case-insensitive), so
/// a rerun PUTs the same name instead of hitting `RoleAssignmentExists`.
pub fn role_assignment(
    scope: &str,
    role_definition_id: &str,
    principal_id: &str,
) -> RoleAssignment {
    let key = format!(
        "{}|{}|{}",
        scope.trim_end_matches('/').to_ascii_lowercase(),
        role_definition_id.to_ascii_lowercase(),
        principal_id.to_ascii_lowercase()
    );
    RoleAssignment {
        scope: scope.to_string(),
        role_definition_id: role_definition_id.to_string(),
        principal_id: principal_id.to_string(),
        name: uuid::Uuid::new_v5(&ROLE_ASSIGNMENT_NAMESPACE, key.as_bytes()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_readable_valid_and_distinct() {
        let a = credential_name("space:default:project:web:environment:production");
        assert!(
            a.starts_with("space-default-project-web-environment-production-"),
            "{a}"
        );
        assert!(is_valid_credential_name(&a));
        let b = credential_name("space:default:project:web-environment:production");
        assert_ne!(a, b);
        let long = "space:".to_string() + &"x".repeat(700);
        assert!(is_valid_credential_name(&credential_name(&long)));
        assert!(is_valid_credential_name(&credential_name("::")));
        assert!(is_valid_credential_name(&credential_name("")));
    }

    #[test]
    fn names_avoid_taken_ones() {
        let s = vec!["space:default".to_string()];
        let taken = BTreeSet::from([credential_name("space:default")]);
        let names = credential_names(&s, &taken);
        assert!(!taken.contains(&names[0]));
        assert!(is_valid_credential_name(&names[0]));
    }

    #[test]
    fn role_assignment_name_is_deterministic_and_case_insensitive() {
        let a = role_assignment(
            "/subscriptions/S/resourceGroups/rg",
            "/x/roleDefinitions/R",
            "P",
        );
        let b = role_assignment(
            "/subscriptions/s/resourcegroups/RG/",
            "/x/roledefinitions/r",
            "p",
        );
        assert_eq!(a.name, b.name);
        let c = role_assignment(
            "/subscriptions/S/resourceGroups/rg",
            "/x/roleDefinitions/R",
            "Q",
        );
        assert_ne!(a.name, c.name);
        assert_eq!(uuid::Uuid::parse_str(&a.name).unwrap().get_version_num(), 5);
    }
}
