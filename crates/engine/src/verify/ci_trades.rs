//! Verify's token trades for a CI target (GitHub Actions or another CI issuer → an Octopus
//! service account): a token from the CI's issuer for a run inside the setup's filter and for
//! near misses just outside it (another branch, another repository, a pull request, another
//! environment, one character off), each traded at Octopus's `/token/v1` for an access token.
//! In scope must be accepted, a near miss refused.
//!
//! The tokens carry what the CI would send: the setup's issuer, the service account's
//! ExternalId as audience (what `OctopusDeploy/login` asks for) and the run's subject. A
//! GitHub run is described, not spelled out ([`CiRun::Workflow`]), so a source with a
//! GitHub-style issuer (the sandbox's) builds the subject itself, as GitHub does; whether a
//! run is expected to be accepted is the setup's subject pattern over the subject the core
//! writes for it. A refused in-scope run shows the token's iss, aud or sub (the first that
//! differs, in that order) beside what the service account's OIDC identity trusts.

use octo_oidc_core::ErrorCode;
use octo_oidc_core::github::{GitHubFilter, GitHubRepo, SubjectForm, github_subject};
use octo_oidc_core::ports::Octopus;
use octo_oidc_core::simulate::TokenClaims;

use super::{Area, Check, MintedToken, TokenSource, TrustedClaims, cloud_trade_check, no_token};
use crate::observe::Observation;
use crate::setup_file::CiSetup;

/// A CI run a token is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiRun {
    /// A GitHub Actions workflow run (the issuer builds the subject from it).
    Workflow {
        /// `owner/name`.
        repository: String,
        /// `refs/heads/…`, `refs/tags/…` or `refs/pull/N/merge`.
        git_ref: String,
        /// The job's deployment environment, if any.
        environment: Option<String>,
        /// `push`, `pull_request`, …
        event_name: String,
    },
    /// A token with exactly this subject (other CI issuers, GitHub's custom filters).
    Subject(String),
}

impl CiRun {
    fn push(repository: &str, git_ref: String) -> CiRun {
        CiRun::Workflow {
            repository: repository.to_string(),
            git_ref,
            environment: None,
            event_name: "push".into(),
        }
    }

    fn pull_request(repository: &str) -> CiRun {
        CiRun::Workflow {
            repository: repository.to_string(),
            git_ref: "refs/pull/1/merge".into(),
            environment: None,
            event_name: "pull_request".into(),
        }
    }

    fn deployment(repository: &str, environment: &str) -> CiRun {
        CiRun::Workflow {
            repository: repository.to_string(),
            git_ref: "refs/heads/main".into(),
            environment: Some(environment.to_string()),
            event_name: "push".into(),
        }
    }

    /// The subject GitHub (classic form) or the CI puts in this run's token.
    pub fn subject(&self) -> String {
        match self {
            CiRun::Subject(s) => s.clone(),
            CiRun::Workflow {
                repository,
                git_ref,
                environment,
                event_name,
            } => {
                let (owner, name) = repository.split_once('/').unwrap_or((repository, ""));
                let filter = match (environment, event_name.as_str()) {
                    (Some(e), _) => GitHubFilter::Environment(e.clone()),
                    (None, "pull_request") => GitHubFilter::PullRequest,
                    (None, _) => GitHubFilter::Custom(format!("ref:{git_ref}")),
                };
                let repo = GitHubRepo {
                    owner: owner.to_string(),
                    name: name.to_string(),
                    owner_id: None,
                    repo_id: None,
                };
                github_subject(&repo, &filter, SubjectForm::Classic)
                    .unwrap_or_else(|_| format!("repo:{repository}:{git_ref}"))
            }
        }
    }
}

/// One trade: what it is, the run, and whether the setup means it to be accepted.
struct Case {
    label: String,
    run: CiRun,
    expected: bool,
}

/// A wildcard pattern made concrete: `*` → `1`, `?` → `x`.
fn instance(pattern: &str) -> String {
    pattern.replace('*', "1").replace('?', "x")
}

/// A subject one character outside `pattern`: its last literal character changed.
fn one_off(pattern: &str) -> String {
    let mut chars: Vec<char> = pattern.chars().collect();
    if let Some(c) = chars.iter_mut().rev().find(|c| **c != '*' && **c != '?') {
        *c = if *c == 'x' { 'y' } else { 'x' };
    }
    instance(&chars.into_iter().collect::<String>())
}

/// Another repository of the same owner (`acme/shop` → `acme/shop-fork`).
fn other_repository(repo: &GitHubRepo) -> String {
    format!("{}/{}-fork", repo.owner, repo.name)
}

/// The runs a CI setup is traded for: one in the filter, then the near misses.
fn cases(ci: &CiSetup) -> Vec<Case> {
    let mut runs: Vec<(String, CiRun)> = Vec::new();
    match &ci.github {
        Some((repo, filter)) => {
            let r = format!("{}/{}", repo.owner, repo.name);
            let other = other_repository(repo);
            match filter {
                GitHubFilter::Branch(b) => {
                    let branch = instance(b);
                    let elsewhere = if branch == "develop" {
                        "main"
                    } else {
                        "develop"
                    };
                    runs.push((
                        format!("push to {branch}"),
                        CiRun::push(&r, format!("refs/heads/{branch}")),
                    ));
                    runs.push((
                        format!("push to another branch ({elsewhere})"),
                        CiRun::push(&r, format!("refs/heads/{elsewhere}")),
                    ));
                    runs.push((
                        format!("push to {branch} in another repository ({other})"),
                        CiRun::push(&other, format!("refs/heads/{branch}")),
                    ));
                    runs.push(("a pull request".into(), CiRun::pull_request(&r)));
                }
                GitHubFilter::Tag(t) => {
                    let tag = instance(t);
                    runs.push((
                        format!("tag {tag}"),
                        CiRun::push(&r, format!("refs/tags/{tag}")),
                    ));
                    runs.push((
                        format!("a branch named {tag}"),
                        CiRun::push(&r, format!("refs/heads/{tag}")),
                    ));
                    runs.push((
                        format!("tag {tag} in another repository ({other})"),
                        CiRun::push(&other, format!("refs/tags/{tag}")),
                    ));
                    runs.push(("a pull request".into(), CiRun::pull_request(&r)));
                }
                GitHubFilter::Environment(e) => {
                    let elsewhere = if e == "staging" {
                        "production"
                    } else {
                        "staging"
                    };
                    runs.push((format!("environment {e}"), CiRun::deployment(&r, e)));
                    runs.push((
                        format!("another environment ({elsewhere})"),
                        CiRun::deployment(&r, elsewhere),
                    ));
                    runs.push((
                        format!("environment {e} in another repository ({other})"),
                        CiRun::deployment(&other, e),
                    ));
                    runs.push((
                        "a push to main without an environment".into(),
                        CiRun::push(&r, "refs/heads/main".into()),
                    ));
                }
                GitHubFilter::PullRequest => {
                    runs.push(("a pull request".into(), CiRun::pull_request(&r)));
                    runs.push((
                        format!("a pull request in another repository ({other})"),
                        CiRun::pull_request(&other),
                    ));
                    runs.push((
                        "a push to main".into(),
                        CiRun::push(&r, "refs/heads/main".into()),
                    ));
                }
                GitHubFilter::Custom(c) => {
                    runs.push((
                        "the custom subject".into(),
                        CiRun::Subject(format!("repo:{r}:{}", instance(c))),
                    ));
                    runs.push((
                        format!("the custom subject in another repository ({other})"),
                        CiRun::Subject(format!("repo:{other}:{}", instance(c))),
                    ));
                    runs.push((
                        "one character off".into(),
                        CiRun::Subject(one_off(&format!("repo:{r}:{c}"))),
                    ));
                }
            }
        }
        None => {
            runs.push((
                "the setup's subject".into(),
                CiRun::Subject(instance(&ci.subject)),
            ));
            runs.push((
                "one character off".into(),
                CiRun::Subject(one_off(&ci.subject)),
            ));
            if !ci.subject.ends_with('*') {
                runs.push((
                    "a longer subject".into(),
                    CiRun::Subject(format!("{}-x", instance(&ci.subject))),
                ));
            }
        }
    }
    runs.into_iter()
        .map(|(label, run)| Case {
            expected: octo_oidc_core::github::octopus_subject_matches(&ci.subject, &run.subject()),
            label,
            run,
        })
        .collect()
}

/// The CI target's trades (see the module overview).
pub(super) async fn ci_token_trades<O, T>(
    observation: &Observation,
    ci: &CiSetup,
    octopus: &O,
    tokens: &T,
    out: &mut Vec<Check>,
) where
    O: Octopus,
    T: TokenSource,
{
    let o = &observation.observed;
    let identity_name = crate::desired::identity_name(&observation.plan.setup);
    let (Some(sa), Some(identity)) = (
        &o.service_account,
        o.oidc_identities
            .iter()
            .find(|i| i.spec.name == identity_name),
    ) else {
        // The cloud checks already name the missing service account or identity.
        return;
    };
    let Some(external_id) = &sa.external_id else {
        return;
    };
    let trusted = TrustedClaims {
        issuers: vec![identity.spec.issuer.clone()],
        audiences: vec![
            identity
                .spec
                .audience
                .clone()
                .unwrap_or_else(|| external_id.clone()),
        ],
        subjects: vec![identity.spec.subject.clone()],
    };
    for case in cases(ci) {
        let name = format!("{} ({})", case.run.subject(), case.label);
        let minted = match tokens.ci_token(&ci.issuer, external_id, &case.run).await {
            Ok(Some(m)) => Ok(m),
            Ok(None) => {
                let claims = TokenClaims {
                    iss: ci.issuer.clone(),
                    sub: case.run.subject(),
                    aud: external_id.clone(),
                };
                tokens.token(&claims).await.map(|token| MintedToken {
                    token,
                    issuer: claims.iss,
                    subject: claims.sub,
                    audience: claims.aud,
                })
            }
            Err(p) => Err(p),
        };
        let minted = match minted {
            Ok(m) => m,
            Err(p) if p.code == ErrorCode::NotFound => {
                out.push(
                    Check::fail(
                        Area::TokenTrade,
                        &name,
                        format!("not traded: {}", p.message),
                    )
                    .warning(),
                );
                // No token from this issuer at all: the other runs would say the same.
                return;
            }
            Err(p) => {
                out.push(no_token(&name, &p));
                continue;
            }
        };
        let claims = TokenClaims {
            iss: minted.issuer,
            sub: minted.subject,
            aud: minted.audience,
        };
        let result = match octopus.exchange_id_token(external_id, &minted.token).await {
            Ok(_) => Ok(()),
            Err(p) if p.code == ErrorCode::TrustRejected => Err(p),
            // Not an answer about the trust (network, the token endpoint's origin…).
            Err(p) => {
                out.push(Check::fail(
                    Area::TokenTrade,
                    &name,
                    format!("not traded: {}", p.message),
                ));
                continue;
            }
        };
        let mut c = cloud_trade_check(&claims, case.expected, result, &trusted);
        c.name = name;
        if !c.passed {
            let (cause, fix) = explain_refusal(
                case.expected,
                c.comparison.as_ref().map(|c| c.claim.as_str()),
            );
            c = c.because(cause, fix);
        }
        out.push(c);
    }
}

/// Cause and fix of a CI trade that went the wrong way, by the claim that differs.
fn explain_refusal(expected: bool, claim: Option<&str>) -> (String, String) {
    let (cause, fix) = match (expected, claim) {
        (false, _) => (
            "Octopus accepted a run outside the setup: the OIDC identity's subject is wider than the setup's filter",
            "Run octo-oidc apply to restore the identity's subject, or remove the wider identity from the service account",
        ),
        (true, Some("iss")) => (
            "Octopus refused the token: the service account's OIDC identity trusts another issuer (it must equal the CI's token issuer exactly)",
            "Run octo-oidc apply to restore the identity's issuer (GitHub.com: https://token.actions.githubusercontent.com; GHES: https://HOST/_services/token)",
        ),
        (true, Some("aud")) => (
            "Octopus refused the token: its audience is not the one the OIDC identity expects (by default the service account's ExternalId, which OctopusDeploy/login sends)",
            "Run octo-oidc apply to clear the identity's custom audience, or set the login step's audience to it",
        ),
        (true, _) => (
            "Octopus refused the token: the OIDC identity's subject does not match the run (the identity was changed, or the filter differs from the runs the CI makes)",
            "Run octo-oidc apply to restore the identity's subject, or change [github] filter to the runs that should sign in",
        ),
    };
    (cause.to_string(), fix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github(filter: GitHubFilter) -> CiSetup {
        let repo = GitHubRepo {
            owner: "acme".into(),
            name: "shop".into(),
            owner_id: None,
            repo_id: None,
        };
        let subject = github_subject(&repo, &filter, SubjectForm::Classic).unwrap_or_default();
        CiSetup {
            ci: crate::setup_file::CiSystem::Github,
            issuer: octo_oidc_core::github::GITHUB_ISSUER.into(),
            subject,
            github: Some((repo, filter)),
            service_account: "github-shop".into(),
            team: None,
        }
    }

    fn outcomes(ci: &CiSetup) -> Vec<(String, bool)> {
        cases(ci)
            .into_iter()
            .map(|c| (c.run.subject(), c.expected))
            .collect()
    }

    #[test]
    fn a_branch_filter_is_traded_with_its_branch_and_three_near_misses() {
        assert_eq!(
            outcomes(&github(GitHubFilter::Branch("main".into()))),
            [
                ("repo:acme/shop:ref:refs/heads/main".to_string(), true),
                ("repo:acme/shop:ref:refs/heads/develop".to_string(), false),
                ("repo:acme/shop-fork:ref:refs/heads/main".to_string(), false),
                ("repo:acme/shop:pull_request".to_string(), false),
            ]
        );
    }

    #[test]
    fn a_wildcard_branch_is_instantiated_and_its_near_misses_stay_outside() {
        let got = outcomes(&github(GitHubFilter::Branch("release/*".into())));
        assert_eq!(
            got[0],
            ("repo:acme/shop:ref:refs/heads/release/1".into(), true)
        );
        assert!(got[1..].iter().all(|(_, e)| !e), "{got:?}");
    }

    #[test]
    fn environment_and_pull_request_filters_have_their_own_near_misses() {
        let env = outcomes(&github(GitHubFilter::Environment("production".into())));
        assert_eq!(
            env[0],
            ("repo:acme/shop:environment:production".into(), true)
        );
        assert_eq!(env[1], ("repo:acme/shop:environment:staging".into(), false));
        assert_eq!(env[3], ("repo:acme/shop:ref:refs/heads/main".into(), false));
        let pr = outcomes(&github(GitHubFilter::PullRequest));
        assert_eq!(pr[0], ("repo:acme/shop:pull_request".into(), true));
        assert!(pr[1..].iter().all(|(_, e)| !e), "{pr:?}");
    }

    #[test]
    fn another_issuers_subject_is_traded_exactly_and_one_character_off() {
        let mut ci = github(GitHubFilter::PullRequest);
        ci.github = None;
        ci.subject = "project:Shop:build_type:Shop_Deploy*".into();
        assert_eq!(
            outcomes(&ci),
            [
                ("project:Shop:build_type:Shop_Deploy1".to_string(), true),
                ("project:Shop:build_type:Shop_Deplox1".to_string(), false),
            ]
        );
    }
}
