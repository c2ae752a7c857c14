//! Verify's token source for sandbox runs: the sandbox Octopus signs a token with exactly the
//! claims asked for (`POST /api/_sandbox/oidc-tokens`), so verify can trade in-scope subjects
//! and near misses no run of the space has. A real server cannot be asked for that, so real
//! runs pass `NoTokens`. One attempt per token, to the loopback sandbox only (its URL comes
//! from the env file).
//!
//! Deliberately absent: tokens for other issuers (the GitHub-style issuer has its own mint).

use octo_oidc_core::ports::PortResult;
use octo_oidc_core::simulate::TokenClaims;
use octo_oidc_core::{ErrorCode, Problem, Secret};
use octo_oidc_engine::verify::TokenSource;
use serde_json::{Value, json};

use crate::sandbox_env::SandboxEnv;

/// Tokens signed by the sandbox Octopus.
pub struct SandboxTokens {
    http: reqwest::Client,
    url: String,
    api_key: Secret,
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
        })
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
}
