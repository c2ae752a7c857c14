//! GitHub Actions → Octopus: Octopus's own OIDC identity subject matcher.
//!
//! Octopus (2024.1+) matches an OIDC identity's subject against the token's `sub` with `*`
//! (any run of characters) and `?` (exactly one character), case-sensitively, anchored at both
//! ends (octopus-api.md §5).
//!
//! Also: the subjects GitHub puts in Actions tokens (branch, tag, environment, pull request,
//! custom; classic `repo:owner/name:…` and immutable `repo:owner@id/name@id:…`), the issuer
//! for GitHub.com and GitHub Enterprise Server, and the workflow snippet.
//!
//! Deliberately absent here: calling GitHub or Octopus, and the service account itself.

/// Whether an Octopus OIDC identity `pattern` accepts the token subject `subject`.
pub fn octopus_subject_matches(pattern: &str, subject: &str) -> bool {
    crate::wildcard::matches(pattern, subject)
}

#[cfg(test)]
mod tests {
    use super::octopus_subject_matches;

    #[test]
    fn octopus_matcher() {
        assert!(octopus_subject_matches(
            "repo:acme/web:environment:prod",
            "repo:acme/web:environment:prod"
        ));
        assert!(!octopus_subject_matches(
            "repo:acme/web:environment:prod",
            "repo:Acme/web:environment:prod"
        ));
        assert!(octopus_subject_matches(
            "repo:acme/web:*",
            "repo:acme/web:ref:refs/heads/main"
        ));
        assert!(octopus_subject_matches(
            "repo:acme/*:pull_request",
            "repo:acme/api:pull_request"
        ));
        assert!(octopus_subject_matches(
            "repo:acme/web:ref:refs/tags/v?",
            "repo:acme/web:ref:refs/tags/v1"
        ));
        assert!(!octopus_subject_matches(
            "repo:acme/web:ref:refs/tags/v?",
            "repo:acme/web:ref:refs/tags/v10"
        ));
        assert!(octopus_subject_matches(
            "repo:acme@*/web@*:environment:prod",
            "repo:acme@123/web@456:environment:prod"
        ));
    }
}

/// The issuer of GitHub.com's Actions tokens.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The `OctopusDeploy/login` action reference used in workflow snippets.
pub const LOGIN_ACTION: &str = "OctopusDeploy/login@v1";

/// The token issuer: GitHub.com, or a GitHub Enterprise Server host
/// (`https://HOSTNAME/_services/token`).
pub fn github_issuer(enterprise_host: Option<&str>) -> String {
    match enterprise_host {
        None => GITHUB_ISSUER.to_string(),
        Some(host) => {
            let host = host
                .trim()
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/');
            format!("https://{host}/_services/token")
        }
    }
}

/// A repository, with the numeric ids needed for GitHub's immutable subject form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GitHubRepo {
    /// Owner (user or organization) login.
    pub owner: String,
    /// Repository name.
    pub name: String,
    /// Owner id (immutable form).
    #[serde(default)]
    pub owner_id: Option<u64>,
    /// Repository id (immutable form).
    #[serde(default)]
    pub repo_id: Option<u64>,
}

/// Which workflow runs may sign in (the Octopus UI's filters).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum GitHubFilter {
    /// `ref:refs/heads/<branch>`.
    Branch(String),
    /// `ref:refs/tags/<tag>`.
    Tag(String),
    /// `environment:<name>`.
    Environment(String),
    /// `pull_request`.
    PullRequest,
    /// Everything after `repo:<owner>/<name>:`, verbatim (may use `*` and `?`).
    Custom(String),
}

/// GitHub's subject forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectForm {
    /// `repo:owner/name:...`.
    Classic,
    /// `repo:owner@OWNER_ID/name@REPO_ID:...` (default for repositories created or renamed
    /// from 2026-07-15).
    Immutable,
}

/// Why a GitHub subject cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    /// The immutable form needs the numeric ids.
    #[error("the immutable subject form needs the owner id and the repository id")]
    MissingIds,
    /// Owner, name or filter value is empty or contains `:`.
    #[error("the {0} is empty or contains ':'")]
    InvalidPart(&'static str),
}

/// The subject GitHub puts in the token for runs matching `filter`.
pub fn github_subject(
    repo: &GitHubRepo,
    filter: &GitHubFilter,
    form: SubjectForm,
) -> Result<String, GitHubError> {
    let bad = |s: &str| s.is_empty() || s.contains(':');
    if bad(&repo.owner) {
        return Err(GitHubError::InvalidPart("owner"));
    }
    if bad(&repo.name) {
        return Err(GitHubError::InvalidPart("repository name"));
    }
    let repo_part = match form {
        SubjectForm::Classic => format!("{}/{}", repo.owner, repo.name),
        SubjectForm::Immutable => match (repo.owner_id, repo.repo_id) {
            (Some(o), Some(r)) => format!("{}@{o}/{}@{r}", repo.owner, repo.name),
            _ => return Err(GitHubError::MissingIds),
        },
    };
    let tail = match filter {
        GitHubFilter::Branch(b) if !b.is_empty() => format!("ref:refs/heads/{b}"),
        GitHubFilter::Tag(t) if !t.is_empty() => format!("ref:refs/tags/{t}"),
        GitHubFilter::Environment(e) if !bad(e) => format!("environment:{e}"),
        GitHubFilter::PullRequest => "pull_request".to_string(),
        GitHubFilter::Custom(c) if !c.is_empty() => c.clone(),
        _ => return Err(GitHubError::InvalidPart("filter value")),
    };
    Ok(format!("repo:{repo_part}:{tail}"))
}

/// The Octopus OIDC identity for GitHub Actions: issuer for GitHub.com or GHES, the subject,
/// and no audience (the login action always uses the service account id).
pub fn oidc_identity(
    name: &str,
    repo: &GitHubRepo,
    filter: &GitHubFilter,
    form: SubjectForm,
    enterprise_host: Option<&str>,
) -> Result<crate::ports::OidcIdentitySpec, GitHubError> {
    Ok(crate::ports::OidcIdentitySpec {
        name: name.to_string(),
        issuer: github_issuer(enterprise_host),
        subject: github_subject(repo, filter, form)?,
        audience: None,
    })
}

/// The workflow snippet: job permissions (`id-token: write` plus `contents: read`, which
/// setting `permissions` would otherwise remove) and the login step with `server` without a
/// trailing slash (the action does not strip it).
pub fn workflow_snippet(server_url: &str, service_account_id: &str) -> String {
    let server = server_url.trim().trim_end_matches('/');
    format!(
        "permissions:\n  id-token: write\n  contents: read\n\nsteps:\n  - name: Log in to Octopus Deploy\n    uses: {LOGIN_ACTION}\n    with:\n      server: {server}\n      service_account_id: {service_account_id}\n"
    )
}

#[cfg(test)]
mod github_subject_tests {
    use super::*;

    fn repo() -> GitHubRepo {
        GitHubRepo {
            owner: "acme".into(),
            name: "web".into(),
            owner_id: Some(123),
            repo_id: Some(456),
        }
    }

    #[test]
    fn subjects_in_both_forms() {
        let r = repo();
        let c = |f: GitHubFilter| github_subject(&r, &f, SubjectForm::Classic).unwrap();
        assert_eq!(
            c(GitHubFilter::Branch("main".into())),
            "repo:acme/web:ref:refs/heads/main"
        );
        assert_eq!(
            c(GitHubFilter::Tag("v1.0".into())),
            "repo:acme/web:ref:refs/tags/v1.0"
        );
        assert_eq!(
            c(GitHubFilter::Environment("prod".into())),
            "repo:acme/web:environment:prod"
        );
        assert_eq!(c(GitHubFilter::PullRequest), "repo:acme/web:pull_request");
        assert_eq!(
            c(GitHubFilter::Custom("ref:refs/heads/release/*".into())),
            "repo:acme/web:ref:refs/heads/release/*"
        );
        assert_eq!(
            github_subject(
                &r,
                &GitHubFilter::Environment("prod".into()),
                SubjectForm::Immutable
            )
            .unwrap(),
            "repo:acme@123/web@456:environment:prod"
        );
        let no_ids = GitHubRepo {
            owner_id: None,
            ..repo()
        };
        assert_eq!(
            github_subject(&no_ids, &GitHubFilter::PullRequest, SubjectForm::Immutable),
            Err(GitHubError::MissingIds)
        );
    }

    #[test]
    fn issuers_and_snippet() {
        assert_eq!(
            github_issuer(None),
            "https://token.actions.githubusercontent.com"
        );
        assert_eq!(
            github_issuer(Some("https://github.example.com/")),
            "https://github.example.com/_services/token"
        );
        let s = workflow_snippet(
            "https://my.octopus.app/",
            "6f2b1a3c-0000-4000-8000-000000000001",
        );
        assert!(s.contains("server: https://my.octopus.app\n"));
        assert!(s.contains("id-token: write\n  contents: read"));
        assert!(s.contains("service_account_id: 6f2b1a3c-0000-4000-8000-000000000001"));
    }
}
