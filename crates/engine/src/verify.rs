//! Verify: does the trust work, and does it trust exactly the scope? For any existing
//! Octopus OIDC account described by a setup file, not only the ones this engine created
//! (verify reads live state by name and never requires the ownership marks).
//!
//! Checks, each a [`Check`] (blocking or a warning, with cause and fix):
//!
//! - **issuer**: from [`IssuerFacts`] (the host's issuer check: discovery + JWKS fetched
//!   anonymously, its reachability rule): https, the discovery `issuer` verbatim equal to
//!   the server's and to what the cloud trusts, a trailing slash, at least one usable key,
//!   and a private / loopback / single-label host (blocking for real clouds);
//! - **cloud**: every plan step that is not `unchanged` is drift (a missing credential, a
//!   trust policy whose `sub` condition was dropped, an extra assignment…), field by field;
//! - **simulation**: the core simulator's matrix over the whole space against the trust that
//!   exists, with every over- and under-permission listed;
//! - **account test**: the Octopus account test run for real, with its log;
//! - **token trade** (optional, through a [`TokenSource`]): a real exchange per subject in
//!   scope and for near-miss subjects outside it (STS `AssumeRoleWithWebIdentity`, Entra,
//!   Google STS; for CI targets a token from the CI's issuer per run in and near the filter,
//!   traded at Octopus's `/token/v1`, in `ci_trades`).
//!
//! Every failure is explained by [`explain`] (AADSTS700211/700213/70021,
//! `InvalidIdentityToken`, `AccessDenied`, Octopus task errors → cause and fix) and, where a
//! claim differs, shows the token's value beside the trusted one with the first differing
//! character marked ([`ClaimComparison`]). The [`VerifyReport`]'s verdict maps to the CLI's
//! exit codes 0 (passed) / 1 (problems found).

use std::fmt::Display;
use std::future::Future;

use octo_oidc_core::ports::{EntraApps, GoogleCloud, Iam, IamRole, Octopus, PortResult};
use octo_oidc_core::scope::{RunLabel, RunRef, Scope};
use octo_oidc_core::simulate::{
    AwsProviderConfig, Finding, Rows, TokenClaims, TrustConfig, simulate_scope,
};
use octo_oidc_core::{Problem, Secret};
use serde::Serialize;
use serde_json::Value;

use crate::desired::{DesiredResource, resolve_scope};
use crate::observe::{Observation, PortSet};
use crate::observed::ObservedApp;
use crate::plan::Action;
use crate::setup_file::{CloudScope, TargetSpec};

mod ci_trades;
pub use ci_trades::CiRun;

/// What the host's issuer check found (e.g. from the Octopus client's `IssuerReport`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerFacts {
    /// The discovery document's `issuer`, verbatim.
    pub issuer: String,
    /// Whether it is https.
    pub is_https: bool,
    /// Whether it ends in `/`.
    pub has_trailing_slash: bool,
    /// JWKS keys that parse as verification keys.
    pub usable_keys: usize,
    /// Why the clouds cannot reach the host (loopback, private, single-label…); `None` =
    /// looks public.
    pub not_public: Option<String>,
}

/// A token Octopus minted for a run, with the claims it carries.
#[derive(Debug, Clone)]
pub struct MintedToken {
    /// The signed token.
    pub token: Secret,
    /// Its `iss`.
    pub issuer: String,
    /// Its `sub`, as Octopus built it.
    pub subject: String,
    /// Its `aud`.
    pub audience: String,
}

/// Where tokens for trades come from (the sandbox mints them; a real server cannot be asked
/// for arbitrary subjects, so real runs pass none).
pub trait TokenSource: Send + Sync {
    /// A signed ID token carrying exactly these claims.
    fn token(&self, claims: &TokenClaims) -> impl Future<Output = PortResult<Secret>> + Send;
    /// The token Octopus mints for `run` (a deployment or runbook run) with the account
    /// `account_id`; `Ok(None)` when this source mints claims, not runs (verify then asks
    /// [`TokenSource::token`] with the subject the core computes).
    fn run_token(
        &self,
        account_id: &str,
        run: &RunLabel,
    ) -> impl Future<Output = PortResult<Option<MintedToken>>> + Send {
        let _ = (account_id, run);
        async { Ok(None) }
    }
    /// A CI token from `issuer` for `run` with the audience `audience` (the service account's
    /// ExternalId), as that CI would mint it; `Ok(None)` when this source mints claims, not
    /// runs (verify then asks [`TokenSource::token`] with the subject the core writes for the
    /// run); an error coded `not_found` when it cannot sign for `issuer` (verify then warns
    /// that the CI trust was not traded).
    fn ci_token(
        &self,
        issuer: &str,
        audience: &str,
        run: &CiRun,
    ) -> impl Future<Output = PortResult<Option<MintedToken>>> + Send {
        let _ = (issuer, audience, run);
        async { Ok(None) }
    }
}

/// No token source: verify makes no trades.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTokens;

impl TokenSource for NoTokens {
    async fn token(&self, _: &TokenClaims) -> PortResult<Secret> {
        Err(Problem::new(
            octo_oidc_core::ErrorCode::Internal,
            "no token source",
        ))
    }
}

/// Options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The trusting side is a real cloud (a non-public issuer host is then blocking).
    pub real_cloud: bool,
    /// Run the Octopus account test.
    pub account_test: bool,
    /// Trade tokens (needs a real [`TokenSource`]).
    pub token_trades: bool,
    /// At most this many in-scope subjects are traded.
    pub max_trades: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            real_cloud: true,
            account_test: true,
            token_trades: false,
            max_trades: 50,
        }
    }
}

/// Which part of the trust a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// The Octopus issuer.
    Issuer,
    /// The cloud side against the setup.
    Cloud,
    /// The simulator's matrix.
    Simulation,
    /// The Octopus account test.
    AccountTest,
    /// A real token trade.
    TokenTrade,
}

/// A token's claim beside what the cloud trusts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimComparison {
    /// `iss`, `sub` or `aud`.
    pub claim: String,
    /// The token's value.
    pub token: String,
    /// The closest value the cloud trusts.
    pub trusted: String,
    /// Index (in characters) of the first difference; `None` = equal.
    pub first_difference: Option<usize>,
    /// A line of spaces with `^` under the first difference (aligned with `token`).
    pub marker: String,
}

impl ClaimComparison {
    /// Compares `token` with the closest of `trusted` (longest common prefix).
    pub fn closest(claim: &str, token: &str, trusted: &[String]) -> ClaimComparison {
        let best = trusted
            .iter()
            .max_by_key(|t| common_prefix(token, t))
            .cloned()
            .unwrap_or_default();
        let first = first_difference(token, &best);
        ClaimComparison {
            claim: claim.to_string(),
            token: token.to_string(),
            trusted: best,
            first_difference: first,
            marker: first.map_or_else(String::new, |i| format!("{}^", " ".repeat(i))),
        }
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// The index of the first character where `a` and `b` differ (`None` when equal).
pub fn first_difference(a: &str, b: &str) -> Option<usize> {
    if a == b {
        return None;
    }
    Some(common_prefix(a, b))
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Which part.
    pub area: Area,
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Whether a failure is a problem (`false` = a warning).
    pub blocking: bool,
    /// What was found.
    pub message: String,
    /// Why, for failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// What to do, for failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The differing claim, where one differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<ClaimComparison>,
    /// A remote log (the account test's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
}

impl Check {
    pub(crate) fn pass(area: Area, name: impl Into<String>, message: impl Into<String>) -> Check {
        Check {
            area,
            name: name.into(),
            passed: true,
            blocking: true,
            message: message.into(),
            cause: None,
            fix: None,
            comparison: None,
            log: Vec::new(),
        }
    }

    pub(crate) fn fail(area: Area, name: impl Into<String>, message: impl Into<String>) -> Check {
        let mut c = Check::pass(area, name, message);
        c.passed = false;
        if let Some((cause, fix)) = explain(&c.message) {
            c.cause = Some(cause);
            c.fix = Some(fix);
        }
        c
    }

    pub(crate) fn warning(mut self) -> Check {
        self.blocking = false;
        self
    }

    pub(crate) fn because(mut self, cause: impl Into<String>, fix: impl Into<String>) -> Check {
        self.cause = Some(cause.into());
        self.fix = Some(fix.into());
        self
    }
}

/// Passed or problems found (exit code 0 / 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyVerdict {
    /// Every blocking check passed.
    Passed,
    /// At least one blocking check failed.
    ProblemsFound,
}

/// What verify found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The setup.
    pub setup: String,
    /// The verdict.
    pub verdict: VerifyVerdict,
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl VerifyReport {
    /// The failed checks.
    pub fn problems(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| !c.passed && c.blocking)
            .collect()
    }
}

/// Maps a service's error text to (cause, fix), by the error codes the services use; an
/// Octopus task failure without a code gets a pointer to its log.
pub fn explain(message: &str) -> Option<(String, String)> {
    explain_code(message).or_else(|| {
        (message.contains("Task") || message.contains("task"))
            .then_some(message.contains("fail"))
            .filter(|f| *f)
            .map(|_| {
                (
                    "the Octopus account test task failed; its log says why".to_string(),
                    "Read the task log below; a cloud error code in it names the mismatch"
                        .to_string(),
                )
            })
    })
}

/// [`explain`] for the services' error codes only.
pub fn explain_code(message: &str) -> Option<(String, String)> {
    let pairs: &[(&str, &str, &str)] = &[
        (
            "AADSTS700211",
            "Entra has no federated credential for the token's issuer (iss): it must equal the credential's issuer exactly, trailing slash included",
            "Copy the issuer verbatim from the Octopus server's /.well-known/openid-configuration into the credentials (octo-oidc apply does), and check the Octopus Server URI",
        ),
        (
            "AADSTS700213",
            "Entra has no federated credential for the token's subject (sub): the run is outside the credentials' subjects, or the subject keys differ",
            "Add the run's project/environment/tenant to the setup's scope (or align [subject_keys] with Octopus's) and run octo-oidc apply",
        ),
        (
            "AADSTS70021",
            "no federated credential matches the token's issuer, subject and audience together (often the audience)",
            "Use the audience api://AzureADTokenExchange on both the credential and the Octopus account, then run octo-oidc apply",
        ),
        (
            "InvalidIdentityToken",
            "STS did not accept the token itself: no IAM OIDC provider for its issuer, an audience not in the provider's client ids, or keys IAM could not fetch",
            "Make sure the IAM OIDC provider's URL is the issuer verbatim and lists the Octopus host as a client id, and that the issuer's JWKS is reachable from the internet",
        ),
        (
            "AccessDenied",
            "STS accepted the token but the role's trust policy does not allow this subject or audience",
            "Run octo-oidc apply to restore the trust policy's sub/aud conditions, or widen the setup's scope to include the run",
        ),
        (
            "does not match the expected audience",
            "Google STS refused the token's audience (aud): without allowedAudiences it must be the provider's full resource name //iam.googleapis.com/projects/NUMBER/…/providers/ID (the project NUMBER, not its id)",
            "Set the Octopus account's Audience to the provider's resource name (octo-oidc apply does), or add the audience to the provider's allowedAudiences (gcp.allowed_audiences)",
        ),
        (
            "does not match the expected ISSUER",
            "Google STS refused the token's issuer (iss): it must equal the provider's oidc.issuerUri character by character",
            "Copy the issuer verbatim from the Octopus server's /.well-known/openid-configuration into the provider (octo-oidc apply does)",
        ),
        (
            "rejected by the attribute condition",
            "Google STS accepted the token but the provider's attributeCondition rejects its subject (sub): the run is outside the setup's scope, or the condition was changed",
            "Add the run to the setup's scope, or run octo-oidc apply to restore the condition",
        ),
        (
            "unauthorized_client",
            "Google STS refused the credential: the provider's attributeCondition rejects it, or the provider or pool is disabled",
            "Run octo-oidc apply to restore the provider, then check the run is in the setup's scope",
        ),
        (
            "google.subject exceeds",
            "the mapped google.subject is over Google's 127-byte limit",
            "Run octo-oidc apply: the setup maps long subjects to a shorter <space>:<account> subject",
        ),
        (
            "iam.serviceAccounts.getAccessToken",
            "the federated principal may not impersonate the service account: it lacks roles/iam.workloadIdentityUser on it",
            "Run octo-oidc apply to restore the service account's workloadIdentityUser binding for the pool's principals",
        ),
        (
            "invalid_grant",
            "Google STS refused the token itself (issuer, audience, signature or expiry)",
            "Compare the token's iss and aud with the provider's issuerUri and audience below; check that Google can fetch the issuer's JWKS",
        ),
        (
            "TrustRejected",
            "Octopus refused the token: no OIDC identity on the service account matches its issuer, subject and audience",
            "Check the identity's issuer and subject against the CI's token (the audience is the service account's id unless set), then run octo-oidc apply",
        ),
    ];
    pairs
        .iter()
        .find(|(code, _, _)| message.contains(code))
        .map(|(_, cause, fix)| (cause.to_string(), fix.to_string()))
}

/// Verifies the setup's trust as it exists now.
pub async fn verify<P: PortSet, T>(
    observation: &Observation,
    issuer: Option<&IssuerFacts>,
    options: VerifyOptions,
    ports: P,
    tokens: &T,
) -> VerifyReport
where
    T: TokenSource,
{
    let mut checks = Vec::new();
    let server_issuer = observation.facts.server.issuer.clone();
    if let Some(facts) = issuer {
        issuer_checks(facts, &server_issuer, options.real_cloud, &mut checks);
    }
    cloud_checks(observation, &mut checks);
    simulation_checks(observation, &mut checks);
    gcp_simulation_checks(observation, &mut checks);
    if options.account_test {
        account_tests(observation, ports, &mut checks).await;
    }
    if options.token_trades {
        token_trades(observation, options, ports, tokens, &mut checks).await;
    }
    let verdict = match checks.iter().any(|c| !c.passed && c.blocking) {
        true => VerifyVerdict::ProblemsFound,
        false => VerifyVerdict::Passed,
    };
    VerifyReport {
        setup: observation.plan.setup.clone(),
        verdict,
        checks,
    }
}

/// The issuer checks alone (pure).
pub fn issuer_checks(
    facts: &IssuerFacts,
    server_issuer: &str,
    real_cloud: bool,
    out: &mut Vec<Check>,
) {
    let a = Area::Issuer;
    out.push(match facts.is_https {
        true => Check::pass(a, "https", format!("the issuer {} is https", facts.issuer)),
        false => Check::fail(a, "https", format!("the issuer {} is not https", facts.issuer)).because(
            "Azure, AWS and Google Cloud only trust https issuers",
            "Give the Octopus server an https Server URI (Configuration → Nodes / Server URI) with a publicly trusted certificate",
        ),
    });
    out.push(match first_difference(&facts.issuer, server_issuer) {
        None => Check::pass(a, "verbatim", "the discovery document's issuer is the server's"),
        Some(_) => {
            let mut c = Check::fail(a, "verbatim", "the discovery document's issuer differs from the one the server reports").because(
                "tokens carry the discovery issuer; trust configured from another spelling never matches",
                "Use the discovery document's issuer verbatim everywhere",
            );
            c.comparison = Some(ClaimComparison::closest("iss", &facts.issuer, &[server_issuer.to_string()]));
            c
        }
    });
    if facts.has_trailing_slash {
        out.push(
            Check::fail(a, "trailing slash", format!("the issuer {} ends with '/'", facts.issuer))
                .because(
                    "Entra and IAM compare the issuer character by character; tokens carry the slash",
                    "Keep the slash in every credential and provider URL (octo-oidc copies it verbatim); do not strip it by hand",
                )
                .warning(),
        );
    }
    out.push(match facts.usable_keys {
        0 => Check::fail(a, "signing keys", "the JWKS has no usable signing key").because(
            "the clouds cannot verify any token the server signs",
            "Check the Octopus server's OIDC signing certificate (Configuration → OpenID Connect)",
        ),
        n => Check::pass(a, "signing keys", format!("{n} usable signing key(s)")),
    });
    if let Some(reason) = &facts.not_public {
        let c = Check::fail(a, "reachable by the cloud", format!("the issuer's host is a {reason}")).because(
            "Azure, AWS and Google Cloud fetch the discovery document and keys from the internet themselves",
            "Publish the Octopus server (or just its /.well-known/openid-configuration and JWKS) under a public https host name",
        );
        out.push(if real_cloud { c } else { c.warning() });
    }
}

fn cloud_checks(observation: &Observation, out: &mut Vec<Check>) {
    let mut drift = 0;
    for s in &observation.plan.steps {
        let what = format!("{} '{}'", s.kind.as_str(), s.name);
        let c = match s.action {
            Action::Unchanged => continue,
            Action::Create => Check::fail(Area::Cloud, &what, format!("{what} is missing"))
                .because(
                    "it was deleted outside the setup, or the setup was never applied",
                    "Run octo-oidc apply to recreate it",
                ),
            Action::Update => {
                let fields: Vec<String> = s
                    .changes
                    .iter()
                    .map(|c| format!("{}: {} (setup: {})", c.field, c.from, c.to))
                    .collect();
                Check::fail(
                    Area::Cloud,
                    &what,
                    format!("{what} drifted: {}", fields.join("; ")),
                )
                .because(
                    "it was changed outside the setup",
                    "Run octo-oidc apply to restore it (the plan shows each field)",
                )
            }
            Action::Delete => Check::fail(
                Area::Cloud,
                &what,
                format!("{what} exists but the setup does not want it"),
            )
            .because(
                s.reason.clone().unwrap_or_default(),
                "Run octo-oidc apply to remove it",
            ),
            Action::Conflict => Check::fail(
                Area::Cloud,
                &what,
                format!("{what}: {}", s.reason.clone().unwrap_or_default()),
            )
            .because(
                "it is not this setup's to change",
                "Decide as the reason says",
            ),
        };
        drift += 1;
        out.push(c);
    }
    if drift == 0 {
        out.push(Check::pass(
            Area::Cloud,
            "matches the setup",
            "every resource is as the setup wants it",
        ));
    }
}

/// Where an Octopus account's trust lives now: the Entra app its client id names, or the
/// IAM role.
enum TrustHolder<'o> {
    App(&'o ObservedApp),
    Role(&'o IamRole),
}

/// An Octopus account of the setup whose trust exists.
struct AccountTrust<'o> {
    name: &'o str,
    slug: &'o str,
    subjects: &'o [String],
    holder: TrustHolder<'o>,
}

/// The setup's Octopus accounts whose trust exists, each with where it lives (an account
/// with a client id: its app, if found; otherwise the IAM role, if found).
fn account_trusts(observation: &Observation) -> Vec<AccountTrust<'_>> {
    let o = &observation.observed;
    let mut out = Vec::new();
    for r in &observation.desired.resources {
        let DesiredResource::OctopusAccount {
            name,
            slug,
            subjects,
            client_id_of,
            ..
        } = r
        else {
            continue;
        };
        let holder = match client_id_of {
            Some(app) => o
                .apps
                .iter()
                .find(|a| &a.unique_name == app)
                .map(TrustHolder::App),
            None => o.iam_role.as_ref().map(TrustHolder::Role),
        };
        out.extend(holder.map(|holder| AccountTrust {
            name,
            slug,
            subjects,
            holder,
        }));
    }
    out
}

/// The trust configurations that exist now, one per Octopus account of the setup, with the
/// account's name and slug.
fn trusts(observation: &Observation) -> Vec<(String, String, TrustConfig)> {
    let o = &observation.observed;
    account_trusts(observation)
        .into_iter()
        .map(|t| {
            let trust = match t.holder {
                TrustHolder::App(a) => TrustConfig::Azure {
                    credentials: a.federated_credentials.clone(),
                },
                TrustHolder::Role(role) => TrustConfig::Aws {
                    role_arn: role.arn.clone(),
                    providers: o
                        .oidc_provider
                        .iter()
                        .map(|p| AwsProviderConfig {
                            url: p.url.clone(),
                            client_ids: p.client_ids.clone(),
                        })
                        .collect(),
                    trust_policy: role.trust_policy.clone(),
                },
            };
            (t.name.to_string(), t.slug.to_string(), trust)
        })
        .collect()
}

fn simulation_checks(observation: &Observation, out: &mut Vec<Check>) {
    let cloud_scope = match &observation.setup.spec {
        TargetSpec::Aws(a) => &a.scope,
        TargetSpec::Azure(a) => &a.scope,
        TargetSpec::Ci(_) | TargetSpec::Gcp(_) => return,
    };
    let iss = observation.facts.server.issuer.as_str();
    for (name, slug, trust) in trusts(observation) {
        let scope = match simulated_scope(cloud_scope, observation, &name, &slug) {
            Ok(s) => s,
            Err(c) => {
                out.push(*c);
                continue;
            }
        };
        let (compiled_scope, compiled_trust) =
            match compiled_pair(&name, scope.compile(), trust.compile(), None) {
                Ok(pair) => pair,
                Err(c) => {
                    out.push(*c);
                    continue;
                }
            };
        let aud = trust.default_audience(iss);
        let m = simulate_scope(
            &compiled_scope,
            &compiled_trust,
            iss,
            &aud,
            Rows::Differences,
        );
        if m.over_permission == 0 && m.under_permission == 0 {
            out.push(Check::pass(
                Area::Simulation,
                &name,
                format!(
                    "{} runs simulated: the {} intended are accepted, no other",
                    m.runs, m.intended
                ),
            ));
        }
        let trusted = trusted_subjects(&trust);
        for row in &m.rows {
            let (what, cause, fix) = match row.finding {
                Finding::OverPermission => (
                    "accepted but outside the scope",
                    "the trust is wider than the setup (a wildcard or an extra credential)",
                    "Run octo-oidc apply to narrow it back to the setup",
                ),
                Finding::UnderPermission => (
                    "in the scope but rejected",
                    "the trust lacks this subject",
                    "Run octo-oidc apply to add it",
                ),
                Finding::AsIntended => continue,
            };
            let service = row
                .verdict
                .as_ref()
                .and_then(|v| v.error.as_ref())
                .map(|e| format!(" ({}: {})", e.code, e.message))
                .unwrap_or_default();
            let mut c = Check::fail(
                Area::Simulation,
                &name,
                format!("{}: {what}{service}", row.subject),
            )
            .because(cause, fix);
            if row.finding == Finding::UnderPermission {
                c.comparison = Some(ClaimComparison::closest("sub", &row.subject, &trusted));
            }
            out.push(c);
        }
    }
}

/// The scope of the account `name` (slug `slug`) as the simulation runs it, its runs named
/// after the account; a failing check of the account when a slug does not resolve.
fn simulated_scope(
    scope: &CloudScope,
    observation: &Observation,
    name: &str,
    slug: &str,
) -> Result<Scope, Box<Check>> {
    let mut scope = resolve_scope(scope, &observation.facts, slug)
        .map_err(|p| Box::new(Check::fail(Area::Simulation, name, p.message)))?;
    scope.inventory.account.name = name.to_string();
    Ok(scope)
}

/// A compiled scope and trust, or the failing check of the account `name`: the scope's
/// error first, then the trust's (with `trust_because`, its cause and fix, when given).
fn compiled_pair<S, T>(
    name: &str,
    scope: Result<S, impl Display>,
    trust: Result<T, impl Display>,
    trust_because: Option<(&str, &str)>,
) -> Result<(S, T), Box<Check>> {
    let fail = |e: String| Check::fail(Area::Simulation, name, e);
    let scope = scope.map_err(|e| Box::new(fail(e.to_string())))?;
    let trust = trust.map_err(|e| {
        Box::new(match trust_because {
            Some((cause, fix)) => fail(e.to_string()).because(cause, fix),
            None => fail(e.to_string()),
        })
    })?;
    Ok((scope, trust))
}

/// The subject values a trust accepts (exact or patterns), for comparisons.
fn trusted_subjects(trust: &TrustConfig) -> Vec<String> {
    match trust {
        TrustConfig::Azure { credentials } => {
            credentials.iter().map(|c| c.subject.clone()).collect()
        }
        TrustConfig::Aws { trust_policy, .. } => {
            let mut out = Vec::new();
            if let Ok(policy) = serde_json::from_str::<Value>(trust_policy) {
                collect_sub_values(&policy, &mut out);
            }
            out
        }
        TrustConfig::Octopus { identities, .. } => {
            identities.iter().map(|i| i.subject.clone()).collect()
        }
    }
}

fn collect_sub_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if k.ends_with(":sub") {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        Value::Array(a) => {
                            out.extend(a.iter().filter_map(Value::as_str).map(str::to_string))
                        }
                        _ => {}
                    }
                } else {
                    collect_sub_values(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_sub_values(v, out)),
        _ => {}
    }
}

async fn account_tests<P: PortSet>(observation: &Observation, ports: P, out: &mut Vec<Check>) {
    let space = observation.facts.space.id.as_str();
    for a in &observation.observed.octopus_accounts {
        let name = a
            .body
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or(&a.id)
            .to_string();
        let c = match ports.octopus().test_account(space, &a.id).await {
            Ok(t) if t.succeeded => {
                let mut c = Check::pass(
                    Area::AccountTest,
                    &name,
                    format!("the account test ({}) succeeded", t.task_id),
                );
                c.log = t.log;
                c
            }
            Ok(t) => {
                let text = format!(
                    "the account test ({}) ended {}: {}",
                    t.task_id,
                    t.state,
                    t.error_message.clone().unwrap_or_default()
                );
                let mut c = Check::fail(Area::AccountTest, &name, text.clone());
                let specific =
                    explain_code(&text).or_else(|| t.log.iter().find_map(|l| explain_code(l)));
                if let Some((cause, fix)) = specific {
                    c = c.because(cause, fix);
                }
                c.log = t.log;
                c
            }
            Err(p) => Check::fail(
                Area::AccountTest,
                &name,
                format!("the account test could not run: {}", p.message),
            ),
        };
        out.push(c);
    }
}

/// A subject just outside what is trusted: the last character changed.
fn near_miss(subject: &str) -> String {
    let mut s: Vec<char> = subject.chars().collect();
    if let Some(last) = s.last_mut() {
        *last = if *last == 'x' { 'y' } else { 'x' };
    }
    s.into_iter().collect()
}

/// One cloud trade's target: which account mints, and whom the cloud trusts.
struct TradeTarget {
    /// The Octopus account id (for minting run tokens).
    account_id: String,
    /// The subjects of this account's trust (Azure: its credentials' subjects).
    subjects: Vec<String>,
    /// AWS role ARN, or the Entra app's client id.
    trade_with: String,
    /// What the cloud trusts: issuers, audiences, subjects (for the claim comparison).
    trusted: TrustedClaims,
}

#[derive(Default)]
struct TrustedClaims {
    issuers: Vec<String>,
    audiences: Vec<String>,
    subjects: Vec<String>,
}

fn cloud_targets(observation: &Observation) -> Vec<TradeTarget> {
    let o = &observation.observed;
    let account_id = |name: &str| {
        o.octopus_accounts
            .iter()
            .find(|a| a.body.get("Name").and_then(Value::as_str) == Some(name))
            .map(|a| a.id.clone())
    };
    let mut out = Vec::new();
    for t in account_trusts(observation) {
        let Some(account) = account_id(t.name) else {
            continue;
        };
        match (&observation.setup.spec, t.holder) {
            (TargetSpec::Aws(_), TrustHolder::Role(role)) => {
                let Some(provider) = &o.oidc_provider else {
                    continue;
                };
                out.push(TradeTarget {
                    account_id: account,
                    subjects: t.subjects.to_vec(),
                    trade_with: role.arn.clone(),
                    trusted: TrustedClaims {
                        issuers: vec![provider.url.clone()],
                        audiences: provider.client_ids.clone(),
                        subjects: trusted_subjects(&TrustConfig::Aws {
                            role_arn: String::new(),
                            providers: vec![],
                            trust_policy: role.trust_policy.clone(),
                        }),
                    },
                });
            }
            (TargetSpec::Azure(_), TrustHolder::App(found)) => {
                let creds = &found.federated_credentials;
                out.push(TradeTarget {
                    account_id: account,
                    subjects: t.subjects.to_vec(),
                    trade_with: found.application.app_id.clone(),
                    trusted: TrustedClaims {
                        issuers: creds.iter().map(|c| c.issuer.clone()).collect(),
                        audiences: creds.iter().flat_map(|c| c.audiences.clone()).collect(),
                        subjects: creds.iter().map(|c| c.subject.clone()).collect(),
                    },
                });
            }
            _ => {}
        }
    }
    out
}

/// The runs to trade: intended deployment / runbook runs (up to `max`), then runs of the
/// space outside the scope (up to 5, nearest first: same project, another environment or
/// tenant), each with the subject the core computes.
fn runs_to_trade(observation: &Observation, max: usize) -> Vec<(RunLabel, String, bool)> {
    let cloud = match &observation.setup.spec {
        TargetSpec::Aws(aws) => &aws.scope,
        TargetSpec::Azure(azure) => &azure.scope,
        TargetSpec::Ci(_) | TargetSpec::Gcp(_) => return Vec::new(),
    };
    let Ok(scope) = resolve_scope(
        cloud,
        &observation.facts,
        &crate::desired::slugify(&cloud.account_name),
    ) else {
        return Vec::new();
    };
    let Ok(compiled) = scope.compile() else {
        return Vec::new();
    };
    let mut intended: Vec<RunRef> = Vec::new();
    let mut outside: Vec<RunRef> = Vec::new();
    compiled.for_each_run(|run| {
        if !matches!(
            run.context,
            octo_oidc_core::Context::Deployment | octo_oidc_core::Context::RunbookRun
        ) {
            return;
        }
        match compiled.is_intended(run) {
            true => intended.push(*run),
            false => outside.push(*run),
        }
    });
    let near = |r: &RunRef| intended.iter().any(|i| i.project == r.project);
    outside.sort_by_key(|r| !near(r));
    let mut buf = String::new();
    let mut out = Vec::new();
    for (run, expected) in intended
        .iter()
        .take(max)
        .map(|r| (r, true))
        .chain(outside.iter().take(5).map(|r| (r, false)))
    {
        compiled.write_run_subject(run, &mut buf);
        out.push((compiled.label(run), buf.clone(), expected));
    }
    out
}

/// The failing trade of `subject` when no token could be had for it.
fn no_token(subject: &str, p: &Problem) -> Check {
    Check::fail(
        Area::TokenTrade,
        subject,
        format!("no token: {}", p.message),
    )
}

async fn token_trades<P: PortSet, T>(
    observation: &Observation,
    options: VerifyOptions,
    ports: P,
    tokens: &T,
    out: &mut Vec<Check>,
) where
    T: TokenSource,
{
    let iss = observation.facts.server.issuer.clone();
    match &observation.setup.spec {
        TargetSpec::Aws(_) | TargetSpec::Azure(_) => {
            let targets = cloud_targets(observation);
            let Some(first) = targets.first() else { return };
            let azure = matches!(observation.setup.spec, TargetSpec::Azure(_));
            let default_aud = match azure {
                true => octo_oidc_core::azure::AZURE_AUDIENCE.to_string(),
                false => TrustConfig::Aws {
                    role_arn: String::new(),
                    providers: vec![],
                    trust_policy: String::new(),
                }
                .default_audience(&iss),
            };
            let runs = runs_to_trade(observation, options.max_trades);
            // A claims-only source (no Octopus to mint runs) also trades a near miss of the
            // first subject: one character off.
            let near = runs
                .first()
                .filter(|(_, _, intended)| *intended)
                .map(|(label, sub, _)| (label.clone(), near_miss(sub), false, true));
            let cases = runs
                .into_iter()
                .map(|(l, s, e)| (l, s, e, false))
                .chain(near);
            let mut minted_runs = false;
            for (label, computed, expected, claims_only) in cases {
                let target = targets
                    .iter()
                    .find(|t| t.subjects.iter().any(|s| s == &computed))
                    .unwrap_or(first);
                let minted = match claims_only {
                    true if minted_runs => continue,
                    true => Ok(None),
                    false => tokens.run_token(&target.account_id, &label).await,
                };
                let presented = match minted {
                    Ok(Some(m)) => {
                        minted_runs = true;
                        let claims = TokenClaims {
                            iss: m.issuer,
                            sub: m.subject,
                            aud: m.audience,
                        };
                        Ok((m.token, claims))
                    }
                    Ok(None) => {
                        let claims = TokenClaims {
                            iss: iss.clone(),
                            aud: default_aud.clone(),
                            sub: computed.clone(),
                        };
                        tokens.token(&claims).await.map(|t| (t, claims))
                    }
                    Err(p) => Err(p),
                };
                let (token, claims) = match presented {
                    Ok(presented) => presented,
                    Err(p) => {
                        out.push(no_token(&computed, &p));
                        continue;
                    }
                };
                let result = match azure {
                    true => {
                        ports
                            .entra()
                            .exchange_federated_token(&target.trade_with, &token)
                            .await
                    }
                    false => ports
                        .iam()
                        .assume_role_with_web_identity(
                            &target.trade_with,
                            &token,
                            "octo-oidc-verify",
                        )
                        .await
                        .map(|_| ()),
                };
                out.push(cloud_trade_check(
                    &claims,
                    expected,
                    result,
                    &target.trusted,
                ));
            }
        }
        TargetSpec::Ci(ci) => {
            ci_trades::ci_token_trades(observation, ci, ports.octopus(), tokens, out).await;
        }
        TargetSpec::Gcp(g) => {
            let (Some(provider), Some(email)) = (
                crate::google::provider_of(&observation.desired),
                crate::google::service_account_of(&observation.desired),
            ) else {
                return;
            };
            let Some(runs) = gcp_runs(observation, &g.scope) else {
                return;
            };
            let aud = gcp_audience(observation);
            let trusted = gcp_trusted(observation, provider);
            let near: Vec<String> = runs.intended.iter().take(1).map(|s| near_miss(s)).collect();
            let mut cases: Vec<(String, bool)> = runs
                .intended
                .into_iter()
                .take(options.max_trades)
                .map(|s| (s, true))
                .collect();
            cases.extend(
                runs.outside
                    .into_iter()
                    .take(5)
                    .chain(near)
                    .map(|s| (s, false)),
            );
            for (sub, expected) in cases {
                let claims = TokenClaims {
                    iss: iss.clone(),
                    aud: aud.clone(),
                    sub: sub.clone(),
                };
                let result = match tokens.token(&claims).await {
                    Ok(t) => {
                        match ports
                            .gcp()
                            .exchange_token(&provider.default_audience(), &t)
                            .await
                        {
                            Ok(federated) => ports
                                .gcp()
                                .generate_access_token(&federated, email, g.token_lifetime)
                                .await
                                .map(|_| ()),
                            Err(p) => Err(p),
                        }
                    }
                    Err(p) => {
                        out.push(no_token(&sub, &p));
                        continue;
                    }
                };
                let mut c = trade_check(&sub, expected, result, &trusted.subjects);
                if expected && !c.passed {
                    c.comparison = Some(trusted.compare(&c.message, &claims));
                }
                out.push(c);
            }
        }
    }
}

/// A cloud trade's check: the claim that differs from what the cloud trusts (issuer, then
/// audience, then subject) is shown beside the closest trusted value.
fn cloud_trade_check(
    claims: &TokenClaims,
    expected: bool,
    result: Result<(), Problem>,
    trusted: &TrustedClaims,
) -> Check {
    let mut c = trade_check(&claims.sub, expected, result, &trusted.subjects);
    if !c.passed && expected {
        let aud = claims.aud.clone();
        c.comparison = Some(if !trusted.issuers.contains(&claims.iss) {
            ClaimComparison::closest("iss", &claims.iss, &trusted.issuers)
        } else if !trusted.audiences.contains(&aud) {
            ClaimComparison::closest("aud", &aud, &trusted.audiences)
        } else {
            ClaimComparison::closest("sub", &claims.sub, &trusted.subjects)
        });
    }
    c
}

fn trade_check(
    sub: &str,
    expected: bool,
    result: Result<(), Problem>,
    trusted: &[String],
) -> Check {
    match (expected, result) {
        (true, Ok(())) => Check::pass(Area::TokenTrade, sub, "in scope: accepted"),
        (false, Err(p)) => Check::pass(
            Area::TokenTrade,
            sub,
            format!("outside the scope: rejected ({})", p.message),
        ),
        (true, Err(p)) => {
            let mut c = Check::fail(
                Area::TokenTrade,
                sub,
                format!("in scope but rejected: {}", p.message),
            );
            c.comparison = Some(ClaimComparison::closest("sub", sub, trusted));
            c
        }
        (false, Ok(())) => Check::fail(Area::TokenTrade, sub, "outside the scope but accepted")
            .because(
                "the trust is wider than the setup",
                "Run octo-oidc apply to narrow it",
            ),
    }
}

/// The runs of a gcp setup's scope as subjects: intended and outside (for trades).
struct GcpRuns {
    intended: Vec<String>,
    outside: Vec<String>,
}

fn gcp_runs(observation: &Observation, scope: &crate::setup_file::CloudScope) -> Option<GcpRuns> {
    let scope = resolve_scope(
        scope,
        &observation.facts,
        &crate::desired::slugify(&scope.account_name),
    )
    .ok()?;
    let compiled = scope.compile().ok()?;
    let mut runs = GcpRuns {
        intended: Vec::new(),
        outside: Vec::new(),
    };
    let mut buf = String::new();
    compiled.for_each_run(|run| {
        compiled.write_run_subject(run, &mut buf);
        match compiled.is_intended(run) {
            true => runs.intended.push(buf.clone()),
            false => runs.outside.push(buf.clone()),
        }
    });
    Some(runs)
}

/// The audience the Octopus account sends: the existing account's `Audience`, else the
/// setup's.
fn gcp_audience(observation: &Observation) -> String {
    let from = |body: &Value| {
        body.get("Audience")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    observation
        .observed
        .octopus_accounts
        .iter()
        .find_map(|a| from(&a.body))
        .or_else(|| {
            observation.desired.resources.iter().find_map(|r| match r {
                DesiredResource::OctopusAccount { body, .. } => from(body),
                _ => None,
            })
        })
        .unwrap_or_default()
}

/// What the Google side trusts now: issuer, audiences and the condition's subjects.
struct GcpTrusted {
    issuer: String,
    audiences: Vec<String>,
    subjects: Vec<String>,
}

impl GcpTrusted {
    /// The claim Google's refusal is about, beside what it trusts.
    fn compare(&self, message: &str, claims: &TokenClaims) -> ClaimComparison {
        if message.contains("audience") {
            ClaimComparison::closest("aud", &claims.aud, &self.audiences)
        } else if message.contains("ISSUER") || message.contains("issuer") {
            ClaimComparison::closest("iss", &claims.iss, std::slice::from_ref(&self.issuer))
        } else {
            ClaimComparison::closest("sub", &claims.sub, &self.subjects)
        }
    }
}

fn gcp_trusted(
    observation: &Observation,
    provider: &octo_oidc_core::gcp::ProviderRef,
) -> GcpTrusted {
    let p = observation.observed.gcp.provider.as_ref().map(|p| &p.trust);
    let audiences = match p.map(|p| p.allowed_audiences.clone()) {
        Some(a) if !a.is_empty() => a,
        _ => vec![provider.default_audience()],
    };
    GcpTrusted {
        issuer: p.map(|p| p.issuer_uri.clone()).unwrap_or_default(),
        audiences,
        subjects: p
            .and_then(|p| p.attribute_condition.as_deref())
            .map(cel_string_literals)
            .unwrap_or_default(),
    }
}

/// The single-quoted string literals of a CEL expression (the subjects an
/// `assertion.sub in [...]` condition lists), unescaped.
pub fn cel_string_literals(expression: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expression.chars();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(e) = chars.next() {
                        s.push(match e {
                            'n' => '\n',
                            'r' => '\r',
                            other => other,
                        });
                    }
                }
                '\'' => break,
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

/// The Google trust that exists now against the scope: every run simulated with the core's
/// CEL evaluator, each over- and under-permission listed.
fn gcp_simulation_checks(observation: &Observation, out: &mut Vec<Check>) {
    let TargetSpec::Gcp(g) = &observation.setup.spec else {
        return;
    };
    let Some(provider) = crate::google::provider_of(&observation.desired) else {
        return;
    };
    let name = g.scope.account_name.clone();
    let slug = crate::desired::slugify(&name);
    let scope = match simulated_scope(&g.scope, observation, &name, &slug) {
        Ok(s) => s,
        Err(c) => {
            out.push(*c);
            return;
        }
    };
    let Some(trust) = crate::google::existing_trust(provider, &observation.observed.gcp) else {
        out.push(
            Check::fail(
                Area::Simulation,
                &name,
                "no active workload identity provider: every run would be rejected",
            )
            .because(
                "the provider is missing, disabled or soft-deleted",
                "Run octo-oidc apply to create or undelete it",
            ),
        );
        return;
    };
    let because = (
        "Google would not accept this provider's CEL",
        "Run octo-oidc apply to restore the mapping and condition",
    );
    let (compiled_scope, compiled_trust) =
        match compiled_pair(&name, scope.compile(), trust.compile(), Some(because)) {
            Ok(pair) => pair,
            Err(c) => {
                out.push(*c);
                return;
            }
        };
    let iss = observation.facts.server.issuer.as_str();
    let aud = gcp_audience(observation);
    let trusted = gcp_trusted(observation, provider);
    let (mut runs, mut intended) = (0usize, 0usize);
    let mut findings: Vec<(String, bool, octo_oidc_core::gcp::GcpVerdict)> = Vec::new();
    let mut buf = String::new();
    compiled_scope.for_each_run(|run| {
        compiled_scope.write_run_subject(run, &mut buf);
        let wanted = compiled_scope.is_intended(run);
        runs += 1;
        intended += usize::from(wanted);
        let verdict = compiled_trust.evaluate(&crate::google::run_claims(iss, &aud, &buf, &scope));
        if verdict.accepted != wanted {
            findings.push((buf.clone(), wanted, verdict));
        }
    });
    if findings.is_empty() {
        out.push(Check::pass(
            Area::Simulation,
            &name,
            format!("{runs} runs simulated against the provider's CEL condition and the service account's binding: the {intended} intended are accepted, no other"),
        ));
    }
    for (sub, wanted, verdict) in findings.into_iter().take(50) {
        let service = verdict
            .error
            .as_ref()
            .map(|e| format!(" ({e}: {})", verdict.reason))
            .unwrap_or_default();
        let mut c = match wanted {
            true => Check::fail(
                Area::Simulation,
                &name,
                format!("{sub}: in the scope but rejected{service}"),
            )
            .because(
                "the provider's condition, mapping or the service account's binding lacks this run",
                "Run octo-oidc apply to restore them",
            ),
            false => Check::fail(
                Area::Simulation,
                &name,
                format!("{sub}: accepted but outside the scope"),
            )
            .because(
                "the provider's attributeCondition (or the binding) is wider than the setup",
                "Run octo-oidc apply to narrow the condition back to the setup's subjects",
            ),
        };
        if wanted {
            c.comparison = Some(ClaimComparison::closest("sub", &sub, &trusted.subjects));
        }
        out.push(c);
    }
    if let Some(w) = crate::google::lifetime_warning(g.token_lifetime) {
        out.push(
            Check::fail(Area::Cloud, "token lifetime", w)
                .because(
                    "Google caps service-account tokens at one hour unless an organization policy extends it",
                    "Ask an organization admin to list the service account in constraints/iam.allowServiceAccountCredentialLifetimeExtension, or use gcp.token_lifetime = 3600",
                )
                .warning(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_marked() {
        let c = ClaimComparison::closest(
            "sub",
            "space:default:project:web:environment:prod",
            &[
                "space:default:project:web:environment:production".into(),
                "space:x".into(),
            ],
        );
        assert_eq!(
            c.trusted,
            "space:default:project:web:environment:production"
        );
        assert_eq!(c.first_difference, Some(42));
        assert_eq!(c.marker.len(), 43);
        assert!(c.marker.ends_with('^'));
        assert_eq!(first_difference("a", "a"), None);
    }

    #[test]
    fn service_errors_map_to_cause_and_fix() {
        for code in [
            "AADSTS700211",
            "AADSTS700213",
            "AADSTS70021",
            "InvalidIdentityToken",
            "AccessDenied",
        ] {
            let (cause, fix) = explain(&format!("{code}: something")).unwrap();
            assert!(!cause.is_empty() && !fix.is_empty(), "{code}");
        }
        assert!(
            explain("AADSTS700213: no match")
                .unwrap()
                .0
                .contains("subject")
        );
        assert!(
            explain("AADSTS700211: no match")
                .unwrap()
                .0
                .contains("issuer")
        );
        assert!(explain("all fine").is_none());
    }

    #[test]
    fn googles_refusals_name_the_claim_at_fault() {
        let cause = |m: &str| explain(m).unwrap().0;
        assert!(cause("invalid_grant: The audience in ID Token [x] does not match the expected audience //iam.googleapis.com/p.").contains("(aud)"));
        assert!(
            cause("invalid_grant: The issuer in ID Token a does not match the expected ISSUER b.")
                .contains("(iss)")
        );
        assert!(
            cause(
                "unauthorized_client: The given credential is rejected by the attribute condition."
            )
            .contains("(sub)")
        );
        assert!(
            cause("PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied")
                .contains("workloadIdentityUser")
        );
        assert!(
            cause("invalid_grant: Invalid JWT signature.").contains("refused the token itself")
        );
        assert_eq!(
            cel_string_literals(r"assertion.sub in ['a:b', 'it\'s', 'x\\y']"),
            ["a:b", "it's", r"x\y"]
        );
    }
}
