//! The built-in Sandbox's token mint: `POST /api/_sandbox/deployment-tokens` (a sandbox-only
//! endpoint; a real Octopus Server has none) makes the sandbox Octopus sign the token of a
//! deployment or runbook run for an account, with the subject Octopus itself builds, so verify
//! can trade real tokens for runs in and near the scope.
//!
//! Deliberately absent: trading (the sandbox could, with `Trade: true`; verify trades through
//! the cloud ports instead, so the clients' own error mapping is what is proven).

use octo_oidc_core::Secret;
use octo_oidc_core::scope::RunLabel;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::RestOctopus;
use crate::error::OctopusError;

/// A run's token as the sandbox Octopus minted it.
#[derive(Debug, Clone)]
pub struct SandboxRunToken {
    /// The signed token.
    pub token: Secret,
    /// `iss`.
    pub issuer: String,
    /// `sub`, built by Octopus.
    pub subject: String,
    /// `aud` (the account's audience).
    pub audience: String,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "Token")]
    token: String,
    #[serde(rename = "Issuer")]
    issuer: String,
    #[serde(rename = "Subject")]
    subject: String,
    #[serde(rename = "Audience")]
    audience: String,
}

impl RestOctopus {
    /// Asks the sandbox Octopus for the token of `run` with account `account_id` in
    /// `space_id` (slugs; no trade).
    pub async fn sandbox_run_token(
        &self,
        space_id: &str,
        account_id: &str,
        run: &RunLabel,
    ) -> Result<SandboxRunToken, OctopusError> {
        let body = json!({
            "SpaceId": space_id,
            "AccountId": account_id,
            "ProjectId": run.project,
            "EnvironmentId": run.environment,
            "TenantId": run.tenant,
            "RunbookId": run.runbook,
            "Trade": false,
        });
        let answer: Answer = self
            .transport
            .send_json(Method::POST, "api/_sandbox/deployment-tokens", &body)
            .await?;
        Ok(SandboxRunToken {
            token: Secret::new(answer.token),
            issuer: answer.issuer,
            subject: answer.subject,
            audience: answer.audience,
        })
    }
}
