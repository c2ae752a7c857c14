//! The local OIDC issuers' signing keys: RSA 2048 key pairs, their public JWKs, and minting.
//!
//! The sandbox's Octopus server signs its workload tokens with PS256, the GitHub-style issuer
//! and the Entra authority with RS256, as the real services do. Keys are generated with
//! aws-lc-rs (fast enough for a sub-second start) and can be serialized as PKCS#8 so that a
//! saved sandbox session keeps its keys, and tokens minted before a restart still verify.
//!
//! Deliberately absent: key rotation schedules (a caller that wants to rotate adds a key and
//! publishes both, see [`Jwks`]) and any non-RSA algorithm.
//!
//! The parsed key pair is kept: tokens are signed with it directly (RS256 = RSASSA-PKCS1-v1_5,
//! PS256 = RSASSA-PSS, both SHA-256), because re-parsing the private key for every token (what
//! an encoding key built from PEM does) costs tens of milliseconds per token endpoint call.

use aws_lc_rs::encoding::AsDer;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

/// Why a key could not be made or a token could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// aws-lc-rs refused to generate or parse the key.
    #[error("RSA key error: {0}")]
    Key(String),
    /// The header or claims could not be encoded, the algorithm is not RS256/PS256, or
    /// aws-lc-rs failed to sign.
    #[error("could not sign the token: {0}")]
    Sign(String),
}

/// An RSA 2048 signing key with its key id and public JWK.
pub struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    pair: Arc<KeyPair>,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Clone for SigningKey {
    fn clone(&self) -> Self {
        SigningKey {
            kid: self.kid.clone(),
            pkcs8: self.pkcs8.clone(),
            pair: Arc::clone(&self.pair),
            modulus: self.modulus.clone(),
            exponent: self.exponent.clone(),
        }
    }
}

impl SigningKey {
    /// Generates a fresh RSA 2048 key with a random key id.
    pub fn generate() -> Result<SigningKey, SigningError> {
        let pair =
            KeyPair::generate(KeySize::Rsa2048).map_err(|e| SigningError::Key(e.to_string()))?;
        let der = pair
            .as_der()
            .map_err(|e| SigningError::Key(e.to_string()))?;
        let kid = uuid::Uuid::new_v4().simple().to_string();
        Self::from_pkcs8(kid, der.as_ref())
    }

    /// Rebuilds a key from its PKCS#8 DER encoding.
    pub fn from_pkcs8(kid: String, pkcs8: &[u8]) -> Result<SigningKey, SigningError> {
        let pair = KeyPair::from_pkcs8(pkcs8).map_err(|e| SigningError::Key(e.to_string()))?;
        let public = pair.public_key();
        let modulus = public.modulus().big_endian_without_leading_zero().to_vec();
        let exponent = public.exponent().big_endian_without_leading_zero().to_vec();
        Ok(SigningKey {
            kid,
            pkcs8: pkcs8.to_vec(),
            pair: Arc::new(pair),
            modulus,
            exponent,
        })
    }

    /// The key id (`kid`) put in token headers and the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK: `{kty, kid, use, alg, n, e}`.
    pub fn public_jwk(&self, alg: Algorithm) -> Value {
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": format!("{alg:?}"),
            "n": URL_SAFE_NO_PAD.encode(&self.modulus),
            "e": URL_SAFE_NO_PAD.encode(&self.exponent),
        })
    }

    /// Signs `claims` as a JWT with this key (`kid` in the header); `alg` is RS256 or PS256.
    pub fn mint(&self, alg: Algorithm, claims: &impl Serialize) -> Result<String, SigningError> {
        let padding: &'static dyn RsaEncoding = match alg {
            Algorithm::RS256 => &RSA_PKCS1_SHA256,
            Algorithm::PS256 => &RSA_PSS_SHA256,
            other => return Err(SigningError::Sign(format!("{other:?} is not supported"))),
        };
        let mut header = Header::new(alg);
        header.kid = Some(self.kid.clone());
        let encoded = |json: serde_json::Result<Vec<u8>>| {
            json.map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
                .map_err(|e| SigningError::Sign(e.to_string()))
        };
        let signing_input = format!(
            "{}.{}",
            encoded(serde_json::to_vec(&header))?,
            encoded(serde_json::to_vec(claims))?
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                padding,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| SigningError::Sign(e.to_string()))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    pkcs8: String,
}

impl Serialize for SigningKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredKey {
            kid: self.kid.clone(),
            pkcs8: STANDARD.encode(&self.pkcs8),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SigningKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredKey::deserialize(deserializer)?;
        let der = STANDARD
            .decode(stored.pkcs8)
            .map_err(serde::de::Error::custom)?;
        SigningKey::from_pkcs8(stored.kid, &der).map_err(serde::de::Error::custom)
    }
}

/// Builds JWKS documents (`{"keys": [...]}`) from signing keys.
#[derive(Debug, Clone, Copy)]
pub struct Jwks;

impl Jwks {
    /// The JWKS document publishing every key in `keys` for `alg`.
    pub fn document<'a>(alg: Algorithm, keys: impl IntoIterator<Item = &'a SigningKey>) -> Value {
        json!({ "keys": keys.into_iter().map(|k| k.public_jwk(alg)).collect::<Vec<_>>() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn minted_tokens_verify_with_the_published_jwk_and_survive_serialization() {
        let key = SigningKey::generate().expect("generate");
        let claims = json!({"sub": "space:default", "aud": "x", "exp": 4_000_000_000u64});
        let token = key.mint(Algorithm::PS256, &claims).expect("mint");

        let restored: SigningKey =
            serde_json::from_value(serde_json::to_value(&key).expect("ser")).expect("de");
        let jwk = restored.public_jwk(Algorithm::PS256);
        let decoding = DecodingKey::from_rsa_components(
            jwk["n"].as_str().expect("n"),
            jwk["e"].as_str().expect("e"),
        )
        .expect("components");
        let mut validation = Validation::new(Algorithm::PS256);
        validation.set_audience(&["x"]);
        let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).expect("verify");
        assert_eq!(data.claims["sub"], "space:default");
        assert_eq!(data.header.kid.as_deref(), Some(key.kid()));

        let other = SigningKey::generate().expect("generate");
        let forged = other.mint(Algorithm::PS256, &claims).expect("mint");
        assert!(jsonwebtoken::decode::<Value>(&forged, &decoding, &validation).is_err());
    }
}
