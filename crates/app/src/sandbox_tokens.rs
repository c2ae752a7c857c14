//! Verify's token source for sandbox runs, with both of the sandbox Octopus's mints: a token
//! with exactly the claims asked for (`POST /api/_sandbox/oidc-tokens`), so verify can trade
//! in-scope subjects and near misses no run of the space has (Google Cloud), and, when made
//! [`SandboxTokens::minting_runs`], the token Octopus mints for a deployment or runbook run
//! with the subject Octopus builds (`/api/_sandbox/deployment-tokens`, AWS and Azure). A real
//! server cannot be asked for either, so real runs pass `NoTokens`. One attempt per token, to
//! the loopback sandbox only (its URL comes from the env file).
//!
//! Deliberately absent: tokens for other issuers (the GitHub-style issuer has its own mint).

use octo_oidc_core::ports::PortResult;
use octo_oidc_core::scope::RunLabel;
use octo_oidc_core::simulate::TokenClaims;
use octo_oidc_core::{ErrorCode, Problem, Secret};
use octo_oidc_engine::verify::{MintedToken, TokenSource};
use octo_oidc_octopus::RestOctopus;
use serde_json::{Value, json};

use crate::sandbox_env::SandboxEnv;

/// Tokens signed by the sandbox Octopus.
pub struct SandboxTokens {
    http: reqwest::Client,
    url: String,
    api_key: Secret,
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
        let http = octo_oidc_http::build_client(&octo_oidc_http::ClientSettings::default())
            .map_err(failed)?;
        Ok(SandboxTokens {
            http,
            url: format!(
                "{}/api/_sandbox/oidc-tokens",
                env.require("OCTOPUS_URL")?.trim_end_matches('/')
            ),
            api_key: env.secret("OCTOPUS_API_KEY")?,
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
}
