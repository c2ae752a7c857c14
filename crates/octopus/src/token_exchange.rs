//! The OIDC token exchange GitHub Actions performs against Octopus (`OctopusDeploy/login`):
//! an ID token from a trusted issuer, with the service account's ExternalId GUID as its
//! audience, is traded at the server's `token_endpoint` (`/token/v1`, from discovery) for a
//! one-hour Octopus access token.
//!
//! The wizard uses it to prove a GitHub → Octopus trust end to end (against the sandbox's
//! GitHub-style issuer) and the resulting [`Credential::AccessToken`] works with
//! [`RestOctopus`] like an API key.
//!
//! The `token_endpoint` is used only if it is on the server's own origin and https (or http on
//! loopback), the core's [`octo_oidc_core::server_url`] rule: a discovery document cannot send
//! the ID token elsewhere.
//!
//! Deliberately absent: obtaining the ID token (GitHub's runtime does that).

use std::sync::Arc;

use octo_oidc_core::Secret;
use octo_oidc_core::events::NoProgress;
use serde::Deserialize;

use crate::client::{OctopusClientConfig, RestOctopus};
use crate::error::OctopusError;
use crate::transport::{Credential, Transport, build_http_client};

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
    let http = build_http_client(config)?;
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
    // The ID token goes only where the server itself lives (https, or http on loopback).
    let endpoint = config
        .server_url
        .check_endpoint(&endpoint)
        .map_err(|e| OctopusError::IssuerInvalid(format!("token_endpoint refused: {e}")))?;
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
        RestOctopus::with_credential(config, Credential::AccessToken(token.token))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::server_url::ServerUrl;

    /// A loopback HTTP server that answers every request with `body` and counts connections.
    async fn serve_json(body: String) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let count = Arc::new(AtomicUsize::new(0));
        let counted = count.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let body = body.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        (url, count)
    }

    #[tokio::test]
    async fn a_token_endpoint_on_another_origin_is_refused_before_any_request() {
        let (foreign, foreign_requests) =
            serve_json(r#"{"access_token":"stolen","expires_in":3600}"#.into()).await;
        for endpoint in [
            format!("{foreign}/token/v1"),
            // https, but another origin (still loopback: a regression must not leave the box).
            format!("{}/token/v1", foreign.replace("http://", "https://")),
        ] {
            let discovery = serde_json::json!({
                "issuer": "https://octopus.example",
                "jwks_uri": "https://octopus.example/.well-known/jwks",
                "token_endpoint": endpoint,
            });
            let (server, _) = serve_json(discovery.to_string()).await;
            let config = OctopusClientConfig::new(ServerUrl::parse(&server).expect("loopback"));
            let error = exchange_id_token(&config, "sa-id", &Secret::new("header.payload.sig"))
                .await
                .expect_err("foreign token endpoint");
            assert!(
                matches!(&error, OctopusError::IssuerInvalid(m) if m.contains("origin")),
                "{endpoint}: {error}"
            );
        }
        assert_eq!(
            foreign_requests.load(Ordering::SeqCst),
            0,
            "the ID token went to a foreign endpoint"
        );
    }
}
