//! The issuer check: is the Octopus server's OIDC issuer something Azure and AWS can trust?
//!
//! Fetches `{server}/.well-known/openid-configuration` (at the server root, not under `/api`)
//! and the `jwks_uri` it names, anonymously as the clouds do, and reports: the `issuer` string
//! verbatim (it must be copied exactly into federated credentials and IAM), whether it is
//! https and has a trailing slash, whether each JWKS key parses as an RSA verification key
//! (through `jsonwebtoken`), and whether the issuer's host looks reachable from the public
//! internet — a loopback, private, link-local, single-label or `.local`-style host gets a
//! warning, because Azure and AWS fetch the keys themselves.
//!
//! Deliberately absent: DNS resolution (a public name may still resolve to a private
//! address; we cannot see the clouds' view), and any probing from outside.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::client::RestOctopus;
use crate::error::OctopusError;

/// The discovery document, only the fields we use.
#[derive(Debug, Clone, Deserialize)]
pub struct DiscoveryDocument {
    /// The issuer, verbatim.
    pub issuer: String,
    /// Where the signing keys are.
    pub jwks_uri: String,
    /// The token exchange endpoint (GitHub Actions → Octopus).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// Signing algorithms the server claims.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
}

/// One key of the JWKS and whether it can verify tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkReport {
    /// Key id.
    pub kid: Option<String>,
    /// Key type, e.g. `RSA`.
    pub kty: String,
    /// Declared algorithm, e.g. `PS256`, if any.
    pub alg: Option<String>,
    /// Whether it parsed as a verification key.
    pub usable: bool,
    /// Why not, when it did not.
    pub problem: Option<String>,
}

/// How reachable the issuer host looks from Azure and AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reachability {
    /// A public-looking host name or address.
    LooksPublic,
    /// A host the clouds cannot reach; `reason` says which rule matched.
    NotPublic {
        /// E.g. `loopback address`, `single-label host name`.
        reason: String,
    },
}

/// What the issuer check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerReport {
    /// Where the discovery document was fetched.
    pub discovery_url: String,
    /// `issuer`, verbatim: copy this exactly.
    pub issuer: String,
    /// Whether the issuer is an https URL (Azure and AWS require it).
    pub is_https: bool,
    /// Whether the issuer ends in `/` (tokens carry it the same way; copy it as is).
    pub has_trailing_slash: bool,
    /// The issuer's host (what AWS uses as the audience and in the provider ARN).
    pub host: String,
    /// `jwks_uri`, verbatim.
    pub jwks_uri: String,
    /// `token_endpoint`, if advertised.
    pub token_endpoint: Option<String>,
    /// Each key in the JWKS.
    pub keys: Vec<JwkReport>,
    /// Reachability of the issuer host by the clouds.
    pub reachability: Reachability,
    /// Everything worth showing, one sentence each.
    pub warnings: Vec<String>,
}

impl IssuerReport {
    /// Whether at least one key can verify tokens.
    pub fn has_usable_key(&self) -> bool {
        self.keys.iter().any(|k| k.usable)
    }
}

/// Whether Azure/AWS could plausibly fetch keys from this host.
pub fn reachability(host: &str) -> Reachability {
    let not_public = |reason: &str| Reachability::NotPublic {
        reason: reason.to_string(),
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(v4) => ipv4_reachability(v4),
            IpAddr::V6(v6) => ipv6_reachability(v6),
        };
    }
    let name = bare.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return not_public("loopback host name");
    }
    if !name.contains('.') {
        return not_public("single-label host name (resolvable only inside your network)");
    }
    const PRIVATE_SUFFIXES: &[&str] = &[
        ".local",
        ".internal",
        ".lan",
        ".home.arpa",
        ".intranet",
        ".corp",
        ".localdomain",
        ".test",
        ".invalid",
        ".example",
    ];
    if let Some(suffix) = PRIVATE_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
        return Reachability::NotPublic {
            reason: format!("`{suffix}` names are not resolvable on the public internet"),
        };
    }
    Reachability::LooksPublic
}

fn ipv4_reachability(ip: Ipv4Addr) -> Reachability {
    let reason = if ip.is_loopback() {
        "loopback address"
    } else if ip.is_private() {
        "private address (RFC 1918)"
    } else if ip.is_link_local() {
        "link-local address"
    } else if ip.octets()[0] == 100 && (ip.octets()[1] & 0xC0) == 64 {
        "shared address space (carrier-grade NAT)"
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_documentation() {
        "non-routable address"
    } else {
        return Reachability::LooksPublic;
    };
    Reachability::NotPublic {
        reason: reason.into(),
    }
}

fn ipv6_reachability(ip: Ipv6Addr) -> Reachability {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return ipv4_reachability(v4);
    }
    let first = ip.segments()[0];
    let reason = if ip.is_loopback() {
        "loopback address"
    } else if ip.is_unspecified() {
        "non-routable address"
    } else if (first & 0xfe00) == 0xfc00 {
        "unique local address (private)"
    } else if (first & 0xffc0) == 0xfe80 {
        "link-local address"
    } else {
        return Reachability::LooksPublic;
    };
    Reachability::NotPublic {
        reason: reason.into(),
    }
}

/// The JWKS as served; keys stay raw so one malformed key does not hide the others.
#[derive(Debug, Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

/// Checks one JWK with `jsonwebtoken`.
fn check_key(raw: &serde_json::Value) -> JwkReport {
    let text = |field: &str| raw.get(field).and_then(|v| v.as_str()).map(str::to_string);
    let kid = text("kid");
    let kty = text("kty").unwrap_or_default();
    let alg = text("alg");
    let problem = match serde_json::from_value::<Jwk>(raw.clone()) {
        Err(e) => Some(format!("the key is not a valid JWK: {e}")),
        Ok(jwk) => match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => rsa_problem(&jwk, &rsa.n, &rsa.e),
            AlgorithmParameters::OctetKey(_) => {
                Some("a symmetric key must never be published; the clouds cannot use it".into())
            }
            _ => Some("Octopus signs with RSA (PS256); Azure and AWS expect an RSA key".into()),
        },
    };
    JwkReport {
        kid,
        kty,
        alg,
        usable: problem.is_none(),
        problem,
    }
}

fn rsa_problem(jwk: &Jwk, n: &str, e: &str) -> Option<String> {
    if let Err(error) = DecodingKey::from_rsa_components(n, e) {
        return Some(format!("the RSA modulus/exponent do not decode: {error}"));
    }
    if let Err(error) = DecodingKey::from_jwk(jwk) {
        return Some(format!("the key does not load: {error}"));
    }
    let bits = URL_SAFE_NO_PAD
        .decode(n.trim_end_matches('='))
        .map(|bytes| {
            let leading_zeros = bytes.iter().take_while(|b| **b == 0).count();
            (bytes.len() - leading_zeros) * 8
        })
        .unwrap_or(0);
    if bits < 2048 {
        return Some(format!(
            "the RSA key has about {bits} bits; Azure and AWS require at least 2048"
        ));
    }
    None
}

impl RestOctopus {
    /// `GET {server}/.well-known/openid-configuration`, anonymously.
    pub async fn discover_issuer(&self) -> Result<DiscoveryDocument, OctopusError> {
        let url = self.transport.url(".well-known/openid-configuration");
        self.transport
            .get_anonymous(url.clone())
            .await
            .map_err(|e| match e {
                OctopusError::UnexpectedResponse { detail, .. } => OctopusError::IssuerInvalid(
                    format!("{url} is not an OpenID discovery document: {detail}"),
                ),
                OctopusError::Http { status: 404, .. } => OctopusError::IssuerInvalid(format!(
                    "{url} does not exist (404): the server does not publish an OIDC issuer; OIDC needs Octopus 2024.1 or newer"
                )),
                other => other,
            })
    }

    /// The full issuer check (see the module docs).
    pub async fn check_issuer(&self) -> Result<IssuerReport, OctopusError> {
        let discovery_url = self.transport.url(".well-known/openid-configuration");
        let document = self.discover_issuer().await?;
        let issuer_url = Url::parse(&document.issuer).map_err(|e| {
            OctopusError::IssuerInvalid(format!(
                "the discovery document's issuer `{}` is not a URL: {e}",
                document.issuer
            ))
        })?;
        let jwks_url = Url::parse(&document.jwks_uri).map_err(|e| {
            OctopusError::IssuerInvalid(format!(
                "the discovery document's jwks_uri `{}` is not a URL: {e}",
                document.jwks_uri
            ))
        })?;
        let jwks: RawJwks = self
            .transport
            .get_anonymous(jwks_url.clone())
            .await
            .map_err(|e| match e {
                OctopusError::UnexpectedResponse { detail, .. } => {
                    OctopusError::IssuerInvalid(format!("{jwks_url} is not a JWKS: {detail}"))
                }
                other => other,
            })?;
        let keys: Vec<JwkReport> = jwks.keys.iter().map(check_key).collect();
        let host = issuer_url.host_str().unwrap_or_default().to_string();
        let is_https = issuer_url.scheme() == "https";
        let has_trailing_slash = document.issuer.ends_with('/');
        let reachability = reachability(&host);

        let mut warnings = Vec::new();
        if !is_https {
            warnings.push(format!(
                "The issuer `{}` is not https: Azure and AWS accept only https issuers.",
                document.issuer
            ));
        }
        if has_trailing_slash {
            warnings.push(
                "The issuer ends with `/`: tokens carry it exactly like this, so federated credentials and IAM providers must use it verbatim, slash included.".into(),
            );
        }
        if let Reachability::NotPublic { reason } = &reachability {
            warnings.push(format!(
                "The issuer host `{host}` is a {reason}: Azure and AWS fetch the signing keys from it themselves and will not reach it. Publish the server (or set a public OIDC Issuer Url) before the trust can work."
            ));
        }
        if jwks_url.host_str() != issuer_url.host_str() {
            warnings.push(format!(
                "The keys are served from `{}`, not from the issuer host `{host}`; that host must be public too.",
                jwks_url.host_str().unwrap_or_default()
            ));
        }
        if keys.is_empty() {
            warnings.push("The JWKS has no keys: no token can be verified.".into());
        } else if !keys.iter().any(|k| k.usable) {
            warnings.push("No key in the JWKS can verify tokens.".into());
        }
        if document.issuer.trim_end_matches('/') != self.server_url().as_key() {
            warnings.push(format!(
                "The issuer `{}` differs from the server URL `{}` (an OIDC Issuer Url override or a proxy); the issuer is what counts.",
                document.issuer,
                self.server_url()
            ));
        }
        Ok(IssuerReport {
            discovery_url: discovery_url.to_string(),
            issuer: document.issuer,
            is_https,
            has_trailing_slash,
            host,
            jwks_uri: document.jwks_uri,
            token_endpoint: document.token_endpoint,
            keys,
            reachability,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_local_hosts_are_flagged() {
        for host in [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "10.1.2.3",
            "172.20.0.5",
            "192.168.1.10",
            "169.254.1.1",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
            "octopus",
            "octopus.local",
            "deploy.corp",
            "octo.internal",
            "app.localhost",
        ] {
            assert!(
                matches!(reachability(host), Reachability::NotPublic { .. }),
                "{host} should be flagged"
            );
        }
        for host in [
            "example.octopus.app",
            "8.8.8.8",
            "2001:4860::8888",
            "deploy.example.com",
        ] {
            assert_eq!(reachability(host), Reachability::LooksPublic, "{host}");
        }
    }

    #[test]
    fn rsa_keys_parse_and_symmetric_keys_do_not() {
        let set: RawJwks = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "k1", "use": "sig", "alg": "PS256",
             "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
             "e": "AQAB"},
            {"kty": "oct", "kid": "k2", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "k3", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "k4"}
        ]}))
        .expect("jwks parses");
        let reports: Vec<JwkReport> = set.keys.iter().map(check_key).collect();
        assert!(reports[0].usable, "{:?}", reports[0].problem);
        assert_eq!(reports[0].kid.as_deref(), Some("k1"));
        assert!(!reports[1].usable);
        assert!(
            reports[2]
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("2048"))
        );
        assert!(!reports[3].usable);
        assert_eq!(reports[3].kid.as_deref(), Some("k4"));
    }
}
