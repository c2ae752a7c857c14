//! The OIDC token exchange GitHub Actions performs against Octopus (`OctopusDeploy/login`):
//! an ID token from a trusted issuer, with the service account's ExternalId GUID as its
//! audience, is traded at the server's `token_endpoint` (`/token/v1`, from discovery) for a
//! one-hour Octopus access token.
//!
//! The wizard uses it to prove a GitHub → Octopus trust end to end (against the sandbox's
//! GitHub-style issuer) and the resulting [`Credential::AccessToken`] works with
//! [`RestOctopus`] like an API key.
//!
//! Deliberately absent: obtaining the ID token (GitHub's runtime does that).

use std::sync::Arc;

use octo_oidc_core::Secret;
use octo_oidc_core::events::NoProgress;
use serde::Deserialize;
use url::Url;

use crate::client::{OctopusClientConfig, RestOctopus};
use crate::error::OctopusError;
use crate::transport::{Credential, HttpSettings, Transport, build_http_client};

const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// An Octopus access token from the exchange.
#[derive(Debug)]
pub struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// Lifetime in seconds, as the server says.
    pub expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ExchangeResponse {
    access_token: Secret,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Trades `id_token` (audience = `service_account_id`, the ExternalId GUID) for an access
/// token, exactly as `OctopusDeploy/login` does.
pub async fn exchange_id_token(
    config: &OctopusClientConfig,
    service_account_id: &str,
    id_token: &Secret,
) -> Result<AccessToken, OctopusError> {
    let http = build_http_client(&HttpSettings {
        ca_bundle_pem: config.ca_bundle_pem.clone(),
        request_timeout: config.request_timeout,
        connect_timeout: config.connect_timeout,
        resolve: config.resolve.clone(),
    })?;
    let transport = Transport::new(
        http,
        config.server_url.root().clone(),
        None,
        config.request_timeout,
        config.retry,
        Arc::new(NoProgress),
    );
    let discovery: crate::issuer::DiscoveryDocument = transport
        .get_anonymous(transport.url(".well-known/openid-configuration"))
        .await?;
    let endpoint = discovery.token_endpoint.ok_or_else(|| {
        OctopusError::IssuerInvalid("the discovery document has no token_endpoint".into())
    })?;
    let endpoint = Url::parse(&endpoint).map_err(|e| {
        OctopusError::IssuerInvalid(format!("token_endpoint `{endpoint}` is not a URL: {e}"))
    })?;
    let body = serde_json::json!({
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "audience": service_account_id,
        "subject_token": id_token.expose(),
        "subject_token_type": JWT_TOKEN_TYPE,
    });
    let answer: ExchangeResponse = transport.post_anonymous(endpoint, &body).await?;
    Ok(AccessToken {
        token: answer.access_token,
        expires_in: answer.expires_in,
    })
}

impl RestOctopus {
    /// A client that authenticates with an exchanged access token.
    pub fn with_access_token(
        config: OctopusClientConfig,
        token: AccessToken,
    ) -> Result<RestOctopus, OctopusError> {
        RestOctopus::with_progress(
            config,
            Credential::AccessToken(token.token),
            Arc::new(NoProgress),
        )
    }
}
