//! The trusting side of OIDC: discover an issuer, fetch its keys, and verify a token.
//!
//! Entra, STS and Octopus's `/token/v1` all trust a token only after the same steps, which this
//! module performs for real over HTTP(S), as the clouds do: read `iss` from the token, fetch
//! `{iss}/.well-known/openid-configuration`, require its `issuer` to equal `iss` exactly, fetch
//! `jwks_uri`, pick the key by `kid` (refetching once when a key is unknown, as after a
//! rotation), verify the RS256/PS256 signature and the `exp`/`nbf` window.
//!
//! Deliberately absent: audience and subject matching. Each service matches those against its
//! own configuration (federated credentials, client id lists and trust policies, OIDC
//! identities) and reports the failure in its own words, so it gets the claims back (multi-valued
//! ones read with [`claim_strings`]) and the rejections here carry only what went wrong with the
//! token itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

/// How long fetched JWKS documents are reused before they are fetched again.
const JWKS_CACHE_TTL: Duration = Duration::from_secs(300);

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not a JWT, or its header/claims are not JSON.
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(String),
    /// The issuer's discovery document or JWKS could not be fetched or read.
    #[error("could not fetch the issuer's OpenID configuration or keys: {0}")]
    DiscoveryFailed(String),
    /// The discovery document names a different issuer than the token.
    #[error("the issuer's discovery document says issuer '{discovered}', the token says '{token}'")]
    IssuerMismatch {
        /// `issuer` from the discovery document.
        discovered: String,
        /// `iss` from the token.
        token: String,
    },
    /// No key with the token's `kid` is published in the issuer's JWKS.
    #[error("the signing key '{0}' is not in the issuer's JWKS")]
    UnknownKey(String),
    /// The signature does not verify with the published key.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The header's `alg` is not RS256 or PS256.
    #[error("the token's signing algorithm is not supported")]
    UnsupportedAlgorithm,
}

/// A claim that is one string or an array of strings (`aud`, `amr`), as a list: empty when
/// the claim is absent or of another type; array elements that are not strings are skipped.
pub fn claim_strings(claims: &Map<String, Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// A token's header and claims, read without any checks.
#[derive(Debug, Clone)]
pub struct UnverifiedToken {
    /// The header's `alg`.
    pub alg: String,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// The claims.
    pub claims: Value,
}

impl UnverifiedToken {
    /// The `iss` claim, if it is a string.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }
}

#[derive(Debug, Clone)]
struct CachedKeys {
    fetched: Instant,
    keys: Vec<Value>,
}

/// Verifies tokens from remote issuers, caching their keys.
#[derive(Debug, Clone)]
pub struct RemoteIssuers {
    http: reqwest::Client,
    cache: Arc<Mutex<HashMap<String, CachedKeys>>>,
}

impl RemoteIssuers {
    /// Uses `http` for discovery and JWKS requests (give it the sandbox CA for HTTPS issuers).
    pub fn new(http: reqwest::Client) -> Self {
        RemoteIssuers {
            http,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Reads a token's header and claims without verifying anything.
    pub fn peek(token: &str) -> Result<UnverifiedToken, TokenRejection> {
        let mut parts = token.trim().split('.');
        let (Some(header), Some(claims), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenRejection::Malformed(
                "expected three dot-separated parts".into(),
            ));
        };
        let decode = |part: &str, what: &str| -> Result<Value, TokenRejection> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .map_err(|e| TokenRejection::Malformed(format!("{what} is not base64url: {e}")))?;
            serde_json::from_slice(&bytes)
                .map_err(|e| TokenRejection::Malformed(format!("{what} is not JSON: {e}")))
        };
        let header = decode(header, "header")?;
        let claims = decode(claims, "claims")?;
        if !claims.is_object() {
            return Err(TokenRejection::Malformed("claims are not an object".into()));
        }
        Ok(UnverifiedToken {
            alg: header
                .get("alg")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            kid: header
                .get("kid")
                .and_then(Value::as_str)
                .map(str::to_string),
            claims,
        })
    }

    /// Verifies `token` as issued by `issuer` (discovery, keys, signature, expiry) and
    /// returns its claims. The caller checks audience and subject.
    pub async fn verify(
        &self,
        token: &str,
        issuer: &str,
    ) -> Result<Map<String, Value>, TokenRejection> {
        let peeked = Self::peek(token)?;
        let alg = match peeked.alg.as_str() {
            "RS256" => Algorithm::RS256,
            "PS256" => Algorithm::PS256,
            _ => return Err(TokenRejection::UnsupportedAlgorithm),
        };
        let token_iss = peeked.issuer().unwrap_or_default();
        if token_iss != issuer {
            return Err(TokenRejection::IssuerMismatch {
                discovered: issuer.to_string(),
                token: token_iss.to_string(),
            });
        }
        let kid = peeked.kid.clone().unwrap_or_default();
        let jwk = match self.find_key(issuer, &kid, false).await? {
            Some(jwk) => jwk,
            None => self
                .find_key(issuer, &kid, true)
                .await?
                .ok_or_else(|| TokenRejection::UnknownKey(kid.clone()))?,
        };
        let (Some(n), Some(e)) = (
            jwk.get("n").and_then(Value::as_str),
            jwk.get("e").and_then(Value::as_str),
        ) else {
            return Err(TokenRejection::DiscoveryFailed(format!(
                "JWK '{kid}' has no RSA modulus/exponent"
            )));
        };
        let key = DecodingKey::from_rsa_components(n, e).map_err(|e| {
            TokenRejection::DiscoveryFailed(format!("JWK '{kid}' is unusable: {e}"))
        })?;

        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.required_spec_claims = ["exp".to_string()].into_iter().collect();
        match jsonwebtoken::decode::<Map<String, Value>>(token.trim(), &key, &validation) {
            Ok(data) => Ok(data.claims),
            Err(err) => Err(match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenRejection::Expired,
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => TokenRejection::NotYetValid,
                jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenRejection::BadSignature,
                jsonwebtoken::errors::ErrorKind::MissingRequiredClaim(claim) => {
                    TokenRejection::Malformed(format!("the token has no '{claim}' claim"))
                }
                _ => TokenRejection::Malformed(err.to_string()),
            }),
        }
    }

    /// The JWK with `kid` from the issuer's JWKS, from the cache unless `refresh`.
    async fn find_key(
        &self,
        issuer: &str,
        kid: &str,
        refresh: bool,
    ) -> Result<Option<Value>, TokenRejection> {
        let mut cache = self.cache.lock().await;
        let fresh = cache
            .get(issuer)
            .filter(|c| !refresh && c.fetched.elapsed() < JWKS_CACHE_TTL)
            .cloned();
        let keys = match fresh {
            Some(cached) => cached.keys,
            None => {
                let keys = self.fetch_keys(issuer).await?;
                cache.insert(
                    issuer.to_string(),
                    CachedKeys {
                        fetched: Instant::now(),
                        keys: keys.clone(),
                    },
                );
                keys
            }
        };
        Ok(keys
            .into_iter()
            .find(|k| k.get("kid").and_then(Value::as_str).unwrap_or_default() == kid))
    }

    async fn fetch_keys(&self, issuer: &str) -> Result<Vec<Value>, TokenRejection> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery = self.get_json(&discovery_url).await?;
        let discovered = discovery
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if discovered != issuer {
            return Err(TokenRejection::IssuerMismatch {
                discovered: discovered.to_string(),
                token: issuer.to_string(),
            });
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                TokenRejection::DiscoveryFailed(format!("{discovery_url} has no jwks_uri"))
            })?;
        let jwks = self.get_json(jwks_uri).await?;
        jwks.get("keys")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| TokenRejection::DiscoveryFailed(format!("{jwks_uri} has no keys array")))
    }

    async fn get_json(&self, url: &str) -> Result<Value, TokenRejection> {
        let response = self
            .http
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| TokenRejection::DiscoveryFailed(format!("GET {url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(TokenRejection::DiscoveryFailed(format!(
                "GET {url}: HTTP {status}"
            )));
        }
        response
            .json::<Value>()
            .await
            .map_err(|e| TokenRejection::DiscoveryFailed(format!("GET {url}: not JSON: {e}")))
    }
}
