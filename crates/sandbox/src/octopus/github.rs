//! A GitHub Actions-style OIDC token issuer for the GitHub → Octopus flow.
//!
//! It serves its own discovery document and JWKS (RS256, like
//! `token.actions.githubusercontent.com`) on its own listener, and mints workflow tokens with
//! GitHub's claims (`repository`, `ref`, `environment`, `repository_owner_id`, ...) and subjects
//! in both forms: classic `repo:owner/name:ref:refs/heads/main` and immutable-ID
//! `repo:owner@123/name@456:...` (default for repositories created after 2026-07-15). Tokens
//! come from [`GithubIssuer::mint`] or `POST /_sandbox/tokens` on the issuer's listener.
//!
//! Deliberately absent: the Actions runtime's request-token authentication and GHES paths.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::signing::{Jwks, SigningError, SigningKey};

/// What workflow run a token is for.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WorkflowTokenRequest {
    /// `owner/name`.
    pub repository: String,
    /// The `aud` (the Octopus service account's ExternalId for `OctopusDeploy/login`).
    pub audience: String,
    /// Git ref, e.g. `refs/heads/main` (used when there is no environment).
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Deployment environment, if the job has one (then the subject uses it).
    pub environment: Option<String>,
    /// `push`, `pull_request`, `workflow_dispatch`, ...
    pub event_name: String,
    /// Use the immutable-ID subject form `repo:owner@ownerid/name@repoid:...`.
    pub immutable: bool,
    /// The owner's numeric id.
    pub owner_id: u64,
    /// The repository's numeric id.
    pub repository_id: u64,
    /// An exact subject instead of the computed one.
    pub subject: Option<String>,
    /// Lifetime in seconds (negative mints an already expired token, for tests).
    pub lifetime_secs: i64,
}

impl Default for WorkflowTokenRequest {
    fn default() -> Self {
        WorkflowTokenRequest {
            repository: "octo-org/octo-repo".into(),
            audience: String::new(),
            git_ref: "refs/heads/main".into(),
            environment: None,
            event_name: "push".into(),
            immutable: false,
            owner_id: 1_000_001,
            repository_id: 2_000_002,
            subject: None,
            lifetime_secs: 300,
        }
    }
}

impl WorkflowTokenRequest {
    /// The `sub` GitHub would put in the token.
    pub fn computed_subject(&self) -> String {
        let (owner, name) = self
            .repository
            .split_once('/')
            .unwrap_or((&self.repository, ""));
        let repo = if self.immutable {
            format!(
                "repo:{owner}@{}/{name}@{}",
                self.owner_id, self.repository_id
            )
        } else {
            format!("repo:{owner}/{name}")
        };
        if let Some(env) = &self.environment {
            format!("{repo}:environment:{env}")
        } else if self.event_name == "pull_request" {
            format!("{repo}:pull_request")
        } else {
            format!("{repo}:ref:{}", self.git_ref)
        }
    }
}

#[derive(Debug)]
struct Inner {
    issuer: String,
    key: SigningKey,
}

/// The sandbox GitHub token issuer (cheap to clone).
#[derive(Debug, Clone)]
pub struct GithubIssuer {
    inner: Arc<Inner>,
}

impl GithubIssuer {
    /// An issuer whose `iss` is `issuer` (its listener's base URL), signing with `key`.
    pub fn new(issuer: impl Into<String>, key: SigningKey) -> Self {
        GithubIssuer {
            inner: Arc::new(Inner {
                issuer: issuer.into().trim_end_matches('/').to_string(),
                key,
            }),
        }
    }

    /// The `iss` of minted tokens (no trailing slash, like GitHub's).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The signing key (for the state file).
    pub fn signing_key(&self) -> &SigningKey {
        &self.inner.key
    }

    /// Mints a workflow token.
    pub fn mint(&self, request: &WorkflowTokenRequest) -> Result<String, SigningError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (owner, _) = request
            .repository
            .split_once('/')
            .unwrap_or((&request.repository, ""));
        let subject = request
            .subject
            .clone()
            .unwrap_or_else(|| request.computed_subject());
        let claims = json!({
            "iss": self.inner.issuer,
            "aud": request.audience,
            "sub": subject,
            "iat": now,
            "nbf": now - 5,
            "exp": now + request.lifetime_secs,
            "jti": uuid::Uuid::new_v4().to_string(),
            "ref": request.git_ref,
            "ref_type": if request.git_ref.starts_with("refs/tags/") { "tag" } else { "branch" },
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "repository": request.repository,
            "repository_id": request.repository_id.to_string(),
            "repository_owner": owner,
            "repository_owner_id": request.owner_id.to_string(),
            "repository_visibility": "private",
            "actor": "octocat",
            "actor_id": "583231",
            "workflow": "deploy",
            "workflow_ref": format!("{}/.github/workflows/deploy.yml@{}", request.repository, request.git_ref),
            "job_workflow_ref": format!("{}/.github/workflows/deploy.yml@{}", request.repository, request.git_ref),
            "event_name": request.event_name,
            "environment": request.environment,
            "run_id": "4242424242",
            "run_number": "42",
            "run_attempt": "1",
            "runner_environment": "github-hosted",
        });
        self.inner.key.mint(Algorithm::RS256, &claims)
    }

    /// Discovery, JWKS and `POST /_sandbox/tokens` (body: [`WorkflowTokenRequest`], answer
    /// `{"count": 1, "value": "<jwt>"}` like the Actions runtime).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/jwks", get(jwks))
            .route("/_sandbox/tokens", post(mint_endpoint))
            .with_state(self.clone())
    }
}

async fn discovery(State(issuer): State<GithubIssuer>) -> Response {
    let base = issuer.issuer().to_string();
    axum::Json(json!({
        "issuer": base,
        "jwks_uri": format!("{base}/.well-known/jwks"),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository", "repository_id", "repository_owner", "repository_owner_id", "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow", "workflow_ref", "event_name", "ref_type", "environment", "job_workflow_ref", "runner_environment"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"],
    }))
    .into_response()
}

async fn jwks(State(issuer): State<GithubIssuer>) -> Response {
    axum::Json(Jwks::document(Algorithm::RS256, [issuer.signing_key()])).into_response()
}

async fn mint_endpoint(State(issuer): State<GithubIssuer>, body: axum::body::Bytes) -> Response {
    let request: WorkflowTokenRequest =
        match serde_json::from_slice::<Value>(&body).and_then(serde_json::from_value) {
            Ok(r) => r,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"message": format!("invalid request: {e}")})),
                )
                    .into_response();
            }
        };
    if request.audience.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"message": "audience is required"})),
        )
            .into_response();
    }
    match issuer.mint(&request) {
        Ok(token) => axum::Json(json!({"count": 1, "value": token})).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"message": e.to_string()})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_in_both_forms() {
        let mut r = WorkflowTokenRequest {
            repository: "acme/web".into(),
            ..WorkflowTokenRequest::default()
        };
        assert_eq!(r.computed_subject(), "repo:acme/web:ref:refs/heads/main");
        r.immutable = true;
        assert_eq!(
            r.computed_subject(),
            "repo:acme@1000001/web@2000002:ref:refs/heads/main"
        );
        r.immutable = false;
        r.environment = Some("prod".into());
        assert_eq!(r.computed_subject(), "repo:acme/web:environment:prod");
        r.environment = None;
        r.event_name = "pull_request".into();
        assert_eq!(r.computed_subject(), "repo:acme/web:pull_request");
    }
}
