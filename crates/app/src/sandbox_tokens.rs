//! Verify's token source for sandbox runs, with both of the sandbox Octopus's mints: a token
//! with exactly the claims asked for (`POST /api/_sandbox/oidc-tokens`), so verify can trade
//! in-scope subjects and near misses no run of the space has (Google Cloud), and, when made
//! [`SandboxTokens::minting_runs`], the token Octopus mints for a deployment or runbook run
//! with the subject Octopus builds (`/api/_sandbox/deployment-tokens`, AWS and Azure). A real
//! server cannot be asked for either, so real runs pass `NoTokens`. One attempt per token, to
//! the loopback sandbox only (its URL comes from the env file).
//!
//! CI targets: a workflow token from the sandbox's GitHub-style issuer (`GITHUB_ISSUER`,
//! `POST /_sandbox/tokens` on its listener, which builds the subject from the run as GitHub
//! does, or takes an exact subject), for any setup whose issuer is that one.
//!
//! Deliberately absent: tokens for other issuers (a GitLab or TeamCity issuer the sandbox does
//! not host is answered `not_found`, and verify says the trust was not traded).

use octo_oidc_core::ports::PortResult;
use octo_oidc_core::scope::RunLabel;
use octo_oidc_core::simulate::TokenClaims;
use octo_oidc_core::{ErrorCode, Problem, Secret};
use octo_oidc_engine::verify::{CiRun, MintedToken, TokenSource};
use octo_oidc_octopus::RestOctopus;
use serde_json::{Value, json};

use crate::sandbox_env::SandboxEnv;

/// Tokens signed by the sandbox Octopus.
pub struct SandboxTokens {
    http: reqwest::Client,
    url: String,
    api_key: Secret,
    /// The sandbox's GitHub-style issuer (`iss` of its tokens, base of its mint).
    github_issuer: Option<String>,
    /// The sandbox Octopus client and space whose runs' tokens are minted.
    runs: Option<(RestOctopus, String)>,
}

impl std::fmt::Debug for SandboxTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxTokens")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn failed(message: impl std::fmt::Display) -> Problem {
    Problem::new(
        ErrorCode::Internal,
        format!("the sandbox did not mint a token: {message}"),
    )
}

impl SandboxTokens {
    /// The sandbox Octopus of `env`.
    pub fn new(env: &SandboxEnv) -> Result<SandboxTokens, Problem> {
        // The CA and the port-less host names reach the GitHub-style issuer's listener.
        let http = octo_oidc_http::build_client(&octo_oidc_http::ClientSettings {
            ca_bundle_pem: Some(env.ca_pem()?),
            resolve: env.resolve(),
            ..octo_oidc_http::ClientSettings::default()
        })
        .map_err(failed)?;
        Ok(SandboxTokens {
            http,
            url: format!(
                "{}/api/_sandbox/oidc-tokens",
                env.require("OCTOPUS_URL")?.trim_end_matches('/')
            ),
            api_key: env.secret("OCTOPUS_API_KEY")?,
            github_issuer: env
                .get("GITHUB_ISSUER")
                .map(|i| i.trim_end_matches('/').to_string()),
            runs: None,
        })
    }

    /// Also mints run tokens: `octopus`'s, for runs of `space_id`.
    pub fn minting_runs(mut self, octopus: RestOctopus, space_id: &str) -> SandboxTokens {
        self.runs = Some((octopus, space_id.to_string()));
        self
    }
}

impl TokenSource for SandboxTokens {
    async fn token(&self, claims: &TokenClaims) -> PortResult<Secret> {
        let response = self
            .http
            .post(&self.url)
            .header("X-Octopus-ApiKey", self.api_key.expose())
            .json(&json!({ "Subject": claims.sub, "Audience": claims.aud }))
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        let body: Value = response.json().await.map_err(failed)?;
        match body.get("Token").and_then(Value::as_str) {
            Some(t) if status.is_success() => Ok(Secret::new(t)),
            _ => Err(failed(format!("HTTP {status}: {body}"))),
        }
    }

    async fn run_token(&self, account_id: &str, run: &RunLabel) -> PortResult<Option<MintedToken>> {
        let Some((octopus, space_id)) = &self.runs else {
            return Ok(None);
        };
        let minted = octopus.sandbox_run_token(space_id, account_id, run).await?;
        Ok(Some(MintedToken {
            token: minted.token,
            issuer: minted.issuer,
            subject: minted.subject,
            audience: minted.audience,
        }))
    }

    async fn ci_token(
        &self,
        issuer: &str,
        audience: &str,
        run: &CiRun,
    ) -> PortResult<Option<MintedToken>> {
        let Some(github) = self
            .github_issuer
            .as_deref()
            .filter(|g| *g == issuer.trim_end_matches('/'))
        else {
            return Err(Problem::new(
                ErrorCode::NotFound,
                format!(
                    "the sandbox signs CI tokens only for its GitHub-style issuer, not for {issuer}"
                ),
            )
            .with_hint(
                "Use the sandbox's GITHUB_ISSUER as the setup's issuer to rehearse the sign-in",
            ));
        };
        let body = match run {
            CiRun::Workflow {
                repository,
                git_ref,
                environment,
                event_name,
            } => json!({
                "repository": repository,
                "audience": audience,
                "ref": git_ref,
                "environment": environment,
                "event_name": event_name,
            }),
            CiRun::Subject(subject) => json!({ "audience": audience, "subject": subject }),
        };
        let response = self
            .http
            .post(format!("{github}/_sandbox/tokens"))
            .json(&body)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        let answer: Value = response.json().await.map_err(failed)?;
        let token = match answer.get("value").and_then(Value::as_str) {
            Some(t) if status.is_success() => t.to_string(),
            _ => return Err(failed(format!("HTTP {status}: {answer}"))),
        };
        let claims = payload(&token).ok_or_else(|| failed("the token is not a JWT"))?;
        let claim = |k: &str| {
            claims
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(Some(MintedToken {
            issuer: claim("iss"),
            subject: claim("sub"),
            audience: claim("aud"),
            token: Secret::new(token),
        }))
    }
}

/// The claims of a JWT the sandbox just minted (read, not verified: Octopus verifies it).
fn payload(jwt: &str) -> Option<Value> {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}
