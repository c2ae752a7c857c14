//! The trust simulator: would the trusting side accept a token with these claims, and if not,
//! which claim fails and which error would the real service give?
//!
//! Three trusting sides: an Entra app's federated credentials (exact, case-sensitive match of
//! issuer, subject and audience; `AADSTS700211` issuer, `AADSTS700213` subject,
//! `AADSTS700212` audience, `AADSTS70021` when the app has no credential at all); IAM/STS
//! with an OIDC provider and a role trust policy (`InvalidIdentityToken: No OpenIDConnect
//! provider found in your account for <iss>`, `InvalidIdentityToken: Incorrect token
//! audience`, `AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity`); and
//! Octopus OIDC identities on a service account (issuer exact, subject with `*`/`?`,
//! audience = the identity's or else the service account's id).
//!
//! Over a whole scope it yields the matrix: every run, whether the user intended it, whether
//! the token would be accepted, and each difference flagged as over-permission (accepted, not
//! intended) or under-permission (intended, rejected).
//!
//! Deliberately absent: signatures, expiry, JWKS reachability and propagation delays (the
//! sandbox covers those), and Octopus's exact error text (it is vague by design).

use serde::{Deserialize, Serialize};

use crate::aws::TrustPolicy;
use crate::aws::policy::{PolicyError, SpecializedPolicy};
use crate::github::octopus_subject_matches;
use crate::ports::{FederatedCredential, OidcIdentitySpec};
use crate::scope::{CompiledScope, RunLabel};

/// The claims of a token that decide trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Subject.
    pub sub: String,
}

/// An IAM OIDC provider as the simulator needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsProviderConfig {
    /// The provider URL (`https://...`), compared exactly with `iss`.
    pub url: String,
    /// Audiences (ClientIDList).
    pub client_ids: Vec<String>,
}

/// A trust configuration, as stored in the simulator's JSON files (`"kind"` tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrustConfig {
    /// Federated credentials of one Entra app registration.
    Azure {
        /// The credentials.
        credentials: Vec<FederatedCredential>,
    },
    /// IAM: the account's OIDC providers and one role.
    Aws {
        /// `arn:aws:iam::<account>:role/<name>`; its account id names the provider ARNs.
        role_arn: String,
        /// The OIDC providers registered in the account.
        providers: Vec<AwsProviderConfig>,
        /// The role's trust policy document (JSON).
        trust_policy: String,
    },
    /// OIDC identities of one Octopus service account.
    Octopus {
        /// The service account's ExternalId GUID (default audience).
        service_account_id: String,
        /// The identities.
        identities: Vec<OidcIdentitySpec>,
    },
}

/// Which claim made a token fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimField {
    /// `iss`.
    Iss,
    /// `aud`.
    Aud,
    /// `sub`.
    Sub,
}

/// The error the real service would answer with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceError {
    /// E.g. `AADSTS700213`, `InvalidIdentityToken`, `AccessDenied`, `invalid_request`.
    pub code: String,
    /// The message as the service words it.
    pub message: String,
}

/// The simulator's answer for one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the token would be accepted.
    pub accepted: bool,
    /// The claim that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<ClaimField>,
    /// The service's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
    /// Why, in plain words.
    pub reason: String,
}

impl Verdict {
    fn accept(reason: String) -> Verdict {
        Verdict {
            accepted: true,
            field: None,
            error: None,
            reason,
        }
    }

    fn reject(field: ClaimField, code: &str, message: String, reason: String) -> Verdict {
        Verdict {
            accepted: false,
            field: Some(field),
            error: Some(ServiceError {
                code: code.to_string(),
                message,
            }),
            reason,
        }
    }
}

/// Why a trust configuration cannot be simulated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulateError {
    /// The AWS trust policy is malformed.
    #[error("the trust policy is malformed (MalformedPolicyDocument: {0})")]
    Policy(#[from] PolicyError),
    /// The role ARN is not `arn:aws:iam::<12 digits>:role/<name>`.
    #[error("the role ARN '{0}' is not arn:aws:iam::<account>:role/<name>")]
    RoleArn(String),
}

#[derive(Debug)]
struct CompiledProvider {
    url: String,
    client_ids: Vec<String>,
    arn: String,
    sub_key: String,
    aud_key: String,
}

/// A trust configuration ready to evaluate (policy parsed, provider ARNs derived).
#[derive(Debug)]
pub enum CompiledTrust<'a> {
    /// Entra.
    Azure(&'a [FederatedCredential]),
    /// IAM.
    Aws {
        /// The role ARN.
        role_arn: &'a str,
        /// Providers with their ARNs and condition keys.
        providers: Vec<CompiledProviderRef>,
        /// The parsed trust policy.
        policy: TrustPolicy,
    },
    /// Octopus.
    Octopus {
        /// Service account ExternalId.
        service_account_id: &'a str,
        /// Identities.
        identities: &'a [OidcIdentitySpec],
    },
}

/// An opaque compiled IAM provider.
#[derive(Debug)]
pub struct CompiledProviderRef(CompiledProvider);

impl TrustConfig {
    /// Parses what needs parsing (the AWS trust policy, the role ARN).
    pub fn compile(&self) -> Result<CompiledTrust<'_>, SimulateError> {
        Ok(match self {
            TrustConfig::Azure { credentials } => CompiledTrust::Azure(credentials),
            TrustConfig::Aws {
                role_arn,
                providers,
                trust_policy,
            } => {
                let account = role_account(role_arn)
                    .ok_or_else(|| SimulateError::RoleArn(role_arn.clone()))?;
                let providers = providers
                    .iter()
                    .map(|p| {
                        let prefix = p.url.strip_prefix("https://").unwrap_or(&p.url).to_string();
                        CompiledProviderRef(CompiledProvider {
                            url: p.url.clone(),
                            client_ids: p.client_ids.clone(),
                            arn: format!("arn:aws:iam::{account}:oidc-provider/{prefix}"),
                            sub_key: format!("{prefix}:sub"),
                            aud_key: format!("{prefix}:aud"),
                        })
                    })
                    .collect();
                CompiledTrust::Aws {
                    role_arn,
                    providers,
                    policy: TrustPolicy::parse(trust_policy)?,
                }
            }
            TrustConfig::Octopus {
                service_account_id,
                identities,
            } => CompiledTrust::Octopus {
                service_account_id,
                identities,
            },
        })
    }

    /// The audience Octopus would put in tokens for this trusting side, given the issuer:
    /// Azure `api://AzureADTokenExchange`, AWS the issuer's host name, Octopus the service
    /// account id.
    pub fn default_audience(&self, iss: &str) -> String {
        match self {
            TrustConfig::Azure { .. } => crate::azure::AZURE_AUDIENCE.to_string(),
            TrustConfig::Aws { .. } => iss
                .strip_prefix("https://")
                .unwrap_or(iss)
                .split(['/', ':'])
                .next()
                .unwrap_or_default()
                .to_string(),
            TrustConfig::Octopus {
                service_account_id, ..
            } => service_account_id.clone(),
        }
    }
}

fn role_account(role_arn: &str) -> Option<&str> {
    crate::aws::iam_arn_parts(role_arn)
        .filter(|(account, resource)| {
            crate::aws::is_account_id(account) && resource.starts_with("role/")
        })
        .map(|(account, _)| account)
}

const AAD_HINT: &str = "Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.";

impl CompiledTrust<'_> {
    /// Decides one token, with the reason and the service's error.
    pub fn simulate(&self, claims: &TokenClaims) -> Verdict {
        match self {
            CompiledTrust::Azure(creds) => simulate_azure(creds, claims),
            CompiledTrust::Aws {
                role_arn,
                providers,
                policy,
            } => simulate_aws(role_arn, providers, policy, claims),
            CompiledTrust::Octopus {
                service_account_id,
                identities,
            } => simulate_octopus(service_account_id, identities, claims),
        }
    }

    /// Fixes `iss` and `aud` for evaluating many subjects fast (the matrix's hot path).
    pub fn with_claims<'s>(&'s self, iss: &'s str, aud: &'s str) -> FixedClaims<'s> {
        match self {
            CompiledTrust::Azure(creds) => FixedClaims::Subjects(
                creds
                    .iter()
                    .filter(|c| c.issuer == iss && c.audiences.iter().any(|a| a == aud))
                    .map(|c| c.subject.as_str())
                    .collect(),
            ),
            CompiledTrust::Aws {
                providers, policy, ..
            } => match providers.iter().find(|p| p.0.url == iss) {
                Some(p) if p.0.client_ids.iter().any(|c| c == aud) => {
                    let aud_key = p.0.aud_key.as_str();
                    FixedClaims::Aws(policy.specialize(&p.0.arn, &p.0.sub_key, &|k: &str| {
                        k.eq_ignore_ascii_case(aud_key).then_some(aud)
                    }))
                }
                _ => FixedClaims::Nothing,
            },
            CompiledTrust::Octopus {
                service_account_id,
                identities,
            } => FixedClaims::Patterns(
                identities
                    .iter()
                    .filter(|i| {
                        i.issuer == iss
                            && i.audience.as_deref().unwrap_or(service_account_id) == aud
                    })
                    .map(|i| i.subject.as_str())
                    .collect(),
            ),
        }
    }
}

/// A trust configuration with `iss` and `aud` fixed: decides subjects without allocating.
#[derive(Debug)]
pub enum FixedClaims<'a> {
    /// `iss`/`aud` already fail: nothing is accepted.
    Nothing,
    /// Exact subjects (Entra).
    Subjects(Vec<&'a str>),
    /// Wildcard subject patterns (Octopus).
    Patterns(Vec<&'a str>),
    /// An IAM trust policy specialised for the provider and audience.
    Aws(SpecializedPolicy<'a>),
}

impl FixedClaims<'_> {
    /// Whether a token with this subject would be accepted.
    pub fn accepts(&self, sub: &str) -> bool {
        match self {
            FixedClaims::Nothing => false,
            FixedClaims::Subjects(list) => list.contains(&sub),
            FixedClaims::Patterns(list) => list.iter().any(|p| octopus_subject_matches(p, sub)),
            FixedClaims::Aws(policy) => policy.allows(sub),
        }
    }
}

fn simulate_azure(creds: &[FederatedCredential], c: &TokenClaims) -> Verdict {
    if creds.is_empty() {
        return Verdict::reject(
            ClaimField::Sub,
            "AADSTS70021",
            format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'. Assertion Audience: '{}'.",
                c.iss, c.sub, c.aud
            ),
            "the app registration has no federated credentials".into(),
        );
    }
    let by_issuer: Vec<&FederatedCredential> = creds.iter().filter(|f| f.issuer == c.iss).collect();
    if by_issuer.is_empty() {
        let near = creds
            .iter()
            .find(|f| f.issuer.trim_end_matches('/') == c.iss.trim_end_matches('/'))
            .map(|f| {
                format!(
                    " (credential '{}' has '{}': the trailing slash differs)",
                    f.name, f.issuer
                )
            })
            .unwrap_or_default();
        return Verdict::reject(
            ClaimField::Iss,
            "AADSTS700211",
            format!(
                "No matching federated identity record found for presented assertion issuer '{}'. {AAD_HINT}",
                c.iss
            ),
            format!("no credential has issuer '{}'{near}", c.iss),
        );
    }
    let by_subject: Vec<&&FederatedCredential> =
        by_issuer.iter().filter(|f| f.subject == c.sub).collect();
    if by_subject.is_empty() {
        let near = by_issuer
            .iter()
            .find(|f| f.subject.eq_ignore_ascii_case(&c.sub))
            .map(|f| {
                format!(
                    " (credential '{}' differs only in case; matching is case-sensitive)",
                    f.name
                )
            })
            .unwrap_or_default();
        return Verdict::reject(
            ClaimField::Sub,
            "AADSTS700213",
            format!(
                "No matching federated identity record found for presented assertion subject '{}'. {AAD_HINT}",
                c.sub
            ),
            format!(
                "no credential for this issuer has subject '{}'{near}",
                c.sub
            ),
        );
    }
    match by_subject.iter().find(|f| f.audiences.contains(&c.aud)) {
        Some(f) => Verdict::accept(format!("matches federated credential '{}'", f.name)),
        None => Verdict::reject(
            ClaimField::Aud,
            "AADSTS700212",
            format!(
                "No matching federated identity record found for presented assertion audience '{}'. {AAD_HINT}",
                c.aud
            ),
            format!(
                "credential '{}' matches issuer and subject but expects audience {:?}",
                by_subject[0].name, by_subject[0].audiences
            ),
        ),
    }
}

fn simulate_aws(
    role_arn: &str,
    providers: &[CompiledProviderRef],
    policy: &TrustPolicy,
    c: &TokenClaims,
) -> Verdict {
    let Some(p) = providers.iter().map(|p| &p.0).find(|p| p.url == c.iss) else {
        let near = providers
            .iter()
            .find(|p| p.0.url.trim_end_matches('/') == c.iss.trim_end_matches('/'))
            .map(|p| format!(" (provider '{}' differs in the trailing slash)", p.0.url))
            .unwrap_or_default();
        return Verdict::reject(
            ClaimField::Iss,
            "InvalidIdentityToken",
            format!(
                "No OpenIDConnect provider found in your account for {}",
                c.iss
            ),
            format!("no IAM OIDC provider has URL '{}'{near}", c.iss),
        );
    };
    if !p.client_ids.contains(&c.aud) {
        return Verdict::reject(
            ClaimField::Aud,
            "InvalidIdentityToken",
            "Incorrect token audience".into(),
            format!(
                "'{}' is not in the provider's client ids {:?}",
                c.aud, p.client_ids
            ),
        );
    }
    let lookup = |k: &str| -> Option<&str> {
        if k.eq_ignore_ascii_case(&p.sub_key) {
            Some(c.sub.as_str())
        } else if k.eq_ignore_ascii_case(&p.aud_key) {
            Some(c.aud.as_str())
        } else {
            None
        }
    };
    let d = policy.evaluate_with(&p.arn, &lookup);
    if d.allowed {
        Verdict::accept(d.reason)
    } else {
        // The trust policy failed; name the claim its conditions were about, `sub` by default.
        let field = if d.reason.contains(&p.aud_key) && !d.reason.contains(&p.sub_key) {
            ClaimField::Aud
        } else {
            ClaimField::Sub
        };
        Verdict::reject(
            field,
            "AccessDenied",
            format!("Not authorized to perform sts:AssumeRoleWithWebIdentity on {role_arn}"),
            d.reason,
        )
    }
}

fn simulate_octopus(
    service_account_id: &str,
    identities: &[OidcIdentitySpec],
    c: &TokenClaims,
) -> Verdict {
    let reject = |field, reason: String| {
        Verdict::reject(
            field,
            "invalid_request",
            "The token exchange was rejected (Octopus keeps the reason in its server log).".into(),
            reason,
        )
    };
    let by_issuer: Vec<&OidcIdentitySpec> =
        identities.iter().filter(|i| i.issuer == c.iss).collect();
    if by_issuer.is_empty() {
        return reject(
            ClaimField::Iss,
            format!("no OIDC identity has issuer '{}'", c.iss),
        );
    }
    let by_subject: Vec<&&OidcIdentitySpec> = by_issuer
        .iter()
        .filter(|i| octopus_subject_matches(&i.subject, &c.sub))
        .collect();
    if by_subject.is_empty() {
        return reject(
            ClaimField::Sub,
            format!(
                "no OIDC identity with this issuer has a subject matching '{}'",
                c.sub
            ),
        );
    }
    match by_subject
        .iter()
        .find(|i| i.audience.as_deref().unwrap_or(service_account_id) == c.aud)
    {
        Some(i) => Verdict::accept(format!("matches OIDC identity '{}'", i.name)),
        None => reject(
            ClaimField::Aud,
            format!(
                "identity '{}' expects audience '{}'",
                by_subject[0].name,
                by_subject[0]
                    .audience
                    .as_deref()
                    .unwrap_or(service_account_id)
            ),
        ),
    }
}

/// How a run's acceptance compares with the user's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// Intended and accepted, or neither.
    AsIntended,
    /// Accepted but outside the intended scope.
    OverPermission,
    /// Intended but rejected.
    UnderPermission,
}

/// One run of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixRow {
    /// The run.
    pub run: RunLabel,
    /// The subject Octopus presents.
    pub subject: String,
    /// Whether the user intended the run.
    pub intended: bool,
    /// Whether the trusting side accepts it.
    pub accepted: bool,
    /// The comparison.
    pub finding: Finding,
    /// For differences: the full verdict (which claim, which error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

/// Which rows to keep in the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rows {
    /// Every run.
    All,
    /// Only over- and under-permissions.
    Differences,
    /// Counts only.
    None,
}

/// The simulator's answer over a whole scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeMatrix {
    /// Issuer used for every token.
    pub iss: String,
    /// Audience used for every token.
    pub aud: String,
    /// Runs evaluated.
    pub runs: u64,
    /// Runs the user intended.
    pub intended: u64,
    /// Runs the trusting side accepts.
    pub accepted: u64,
    /// Accepted but not intended.
    pub over_permission: u64,
    /// Intended but rejected.
    pub under_permission: u64,
    /// The kept rows.
    pub rows: Vec<MatrixRow>,
}

/// Evaluates every run of the scope's space against `trust` with tokens carrying `iss`/`aud`.
pub fn simulate_scope(
    scope: &CompiledScope<'_>,
    trust: &CompiledTrust<'_>,
    iss: &str,
    aud: &str,
    rows: Rows,
) -> ScopeMatrix {
    let fixed = trust.with_claims(iss, aud);
    let mut m = ScopeMatrix {
        iss: iss.to_string(),
        aud: aud.to_string(),
        runs: 0,
        intended: 0,
        accepted: 0,
        over_permission: 0,
        under_permission: 0,
        rows: Vec::new(),
    };
    let mut buf = String::with_capacity(128);
    scope.for_each_run(|run| {
        scope.write_run_subject(run, &mut buf);
        let intended = scope.is_intended(run);
        let accepted = fixed.accepts(&buf);
        m.runs += 1;
        m.intended += u64::from(intended);
        m.accepted += u64::from(accepted);
        let finding = match (intended, accepted) {
            (false, true) => {
                m.over_permission += 1;
                Finding::OverPermission
            }
            (true, false) => {
                m.under_permission += 1;
                Finding::UnderPermission
            }
            _ => Finding::AsIntended,
        };
        let keep = match rows {
            Rows::All => true,
            Rows::Differences => finding != Finding::AsIntended,
            Rows::None => false,
        };
        if keep {
            let verdict = (finding != Finding::AsIntended).then(|| {
                trust.simulate(&TokenClaims {
                    iss: iss.to_string(),
                    aud: aud.to_string(),
                    sub: buf.clone(),
                })
            });
            m.rows.push(MatrixRow {
                run: scope.label(run),
                subject: buf.clone(),
                intended,
                accepted,
                finding,
                verdict,
            });
        }
    });
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(iss: &str, aud: &str, sub: &str) -> TokenClaims {
        TokenClaims {
            iss: iss.into(),
            aud: aud.into(),
            sub: sub.into(),
        }
    }

    fn azure() -> TrustConfig {
        TrustConfig::Azure {
            credentials: vec![FederatedCredential {
                name: "prod".into(),
                issuer: "https://example.octopus.app/".into(),
                subject: "space:default:environment:production".into(),
                audiences: vec!["api://AzureADTokenExchange".into()],
                description: None,
            }],
        }
    }

    #[test]
    fn azure_errors_name_the_claim() {
        let cfg = azure();
        let t = cfg.compile().unwrap();
        let iss = "https://example.octopus.app/";
        let aud = "api://AzureADTokenExchange";
        assert!(
            t.simulate(&claims(iss, aud, "space:default:environment:production"))
                .accepted
        );
        let v = t.simulate(&claims(
            "https://example.octopus.app",
            aud,
            "space:default:environment:production",
        ));
        assert_eq!(v.error.unwrap().code, "AADSTS700211");
        assert!(v.reason.contains("trailing slash"));
        let v = t.simulate(&claims(iss, aud, "space:default:environment:Production"));
        assert_eq!(v.field, Some(ClaimField::Sub));
        assert_eq!(v.error.unwrap().code, "AADSTS700213");
        assert!(v.reason.contains("case"));
        let v = t.simulate(&claims(
            iss,
            "api://other",
            "space:default:environment:production",
        ));
        assert_eq!(v.error.unwrap().code, "AADSTS700212");
        let empty = TrustConfig::Azure {
            credentials: vec![],
        };
        assert_eq!(
            empty
                .compile()
                .unwrap()
                .simulate(&claims(iss, aud, "x"))
                .error
                .unwrap()
                .code,
            "AADSTS70021"
        );
    }

    #[test]
    fn aws_errors_follow_sts_order() {
        let cfg = TrustConfig::Aws {
            role_arn: "arn:aws:iam::111122223333:role/octopus".into(),
            providers: vec![AwsProviderConfig {
                url: "https://example.octopus.app".into(),
                client_ids: vec!["example.octopus.app".into()],
            }],
            trust_policy: crate::aws::trust_policy_json(
                &crate::aws::AwsProvider::from_issuer(
                    "https://example.octopus.app",
                    "111122223333",
                )
                .unwrap(),
                &["space:default:project:web:*".into()],
            ),
        };
        let t = cfg.compile().unwrap();
        let iss = "https://example.octopus.app";
        let aud = "example.octopus.app";
        assert!(
            t.simulate(&claims(
                iss,
                aud,
                "space:default:project:web:environment:dev"
            ))
            .accepted
        );
        let v = t.simulate(&claims("https://example.octopus.app/", aud, "x"));
        assert_eq!(
            v.error.as_ref().unwrap().message,
            "No OpenIDConnect provider found in your account for https://example.octopus.app/"
        );
        let v = t.simulate(&claims(iss, "sts.amazonaws.com", "x"));
        assert_eq!(
            v.error.as_ref().unwrap().message,
            "Incorrect token audience"
        );
        let v = t.simulate(&claims(
            iss,
            aud,
            "space:default:project:api:environment:dev",
        ));
        assert_eq!(v.error.as_ref().unwrap().code, "AccessDenied");
        assert_eq!(v.field, Some(ClaimField::Sub));
        let fixed = t.with_claims(iss, aud);
        assert!(fixed.accepts("space:default:project:web:environment:dev"));
        assert!(!fixed.accepts("space:default:project:api:environment:dev"));
    }

    #[test]
    fn octopus_identities() {
        let cfg = TrustConfig::Octopus {
            service_account_id: "6f2b1a3c-0000-4000-8000-000000000001".into(),
            identities: vec![OidcIdentitySpec {
                name: "main".into(),
                issuer: "https://token.actions.githubusercontent.com".into(),
                subject: "repo:acme/web:ref:refs/heads/*".into(),
                audience: None,
            }],
        };
        let t = cfg.compile().unwrap();
        let iss = "https://token.actions.githubusercontent.com";
        let aud = "6f2b1a3c-0000-4000-8000-000000000001";
        assert!(
            t.simulate(&claims(iss, aud, "repo:acme/web:ref:refs/heads/main"))
                .accepted
        );
        assert_eq!(
            t.simulate(&claims(iss, aud, "repo:acme/web:pull_request"))
                .field,
            Some(ClaimField::Sub)
        );
        assert_eq!(
            t.simulate(&claims(
                iss,
                "api://default",
                "repo:acme/web:ref:refs/heads/main"
            ))
            .field,
            Some(ClaimField::Aud)
        );
    }
}
