//! [`TestIssuer`]: an OIDC issuer for tests — an RSA 2048 key ([`TestKey`]), discovery and
//! JWKS served over plain HTTP on loopback or over HTTPS at a port-less host name (IAM wants
//! provider URLs without a port) with a throwaway CA, and token minting.
//!
//! Over HTTPS the issuer's [`TestIssuer::http`] client trusts the CA and resolves the host to
//! the listener; hand it to whatever fetches the issuer's keys. What discovery announces as
//! `issuer` can be changed at any time ([`TestIssuer::set_discovered_issuer`]), to test
//! mismatches such as a trailing slash.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair as CertKey};
use serde_json::{Value, json};

/// An RSA 2048 signing key with a key id.
pub struct TestKey {
    kid: String,
    encoding: EncodingKey,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey").field("kid", &self.kid).finish()
    }
}

impl TestKey {
    /// A fresh key with a random key id.
    pub fn generate() -> TestKey {
        TestKey::generate_with_kid(&uuid::Uuid::new_v4().simple().to_string())
    }

    /// A fresh key claiming this key id (an impostor of another key).
    pub fn generate_with_kid(kid: &str) -> TestKey {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("generate an RSA key");
        let der = pair.as_der().expect("PKCS#8");
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(der.as_ref())
        );
        let public = pair.public_key();
        TestKey {
            kid: kid.to_string(),
            encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key"),
            modulus: public.modulus().big_endian_without_leading_zero().to_vec(),
            exponent: public.exponent().big_endian_without_leading_zero().to_vec(),
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK `{kty, kid, use, alg, n, e}`.
    pub fn jwk(&self, alg: Algorithm) -> Value {
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": format!("{alg:?}"),
            "n": URL_SAFE_NO_PAD.encode(&self.modulus),
            "e": URL_SAFE_NO_PAD.encode(&self.exponent),
        })
    }

    /// A JWT of `claims` signed with this key (`kid` in the header).
    pub fn mint(&self, alg: Algorithm, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

/// A running OIDC issuer (PS256, as Octopus signs).
#[derive(Debug, Clone)]
pub struct TestIssuer {
    /// Where it is served: `http://127.0.0.1:PORT` or `https://HOST`.
    pub base: String,
    /// Its signing key (published in the JWKS).
    pub key: Arc<TestKey>,
    /// A client that reaches it: trusts its CA and resolves its host (HTTPS), or plain.
    pub http: reqwest::Client,
    /// The listener's address.
    pub addr: SocketAddr,
    /// The CA certificate (PEM) of an HTTPS issuer.
    pub ca_pem: Option<String>,
    discovered: Arc<Mutex<String>>,
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn router(base: &str, key: Arc<TestKey>, discovered: Arc<Mutex<String>>) -> Router {
    let jwks_uri = format!("{}/.well-known/jwks", base.trim_end_matches('/'));
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || {
                let issuer = discovered.lock().unwrap().clone();
                let document = json!({
                    "issuer": issuer,
                    "jwks_uri": jwks_uri,
                    "id_token_signing_alg_values_supported": ["PS256", "RS256"],
                    "response_types_supported": ["id_token"],
                    "subject_types_supported": ["public"],
                });
                async move { Json(document) }
            }),
        )
        .route(
            "/.well-known/jwks",
            get(move || {
                let document = json!({ "keys": [key.jwk(Algorithm::PS256)] });
                async move { Json(document) }
            }),
        )
}

impl TestIssuer {
    /// An issuer on `http://127.0.0.1:PORT` (what Entra's and Octopus's sandboxes accept on
    /// loopback).
    pub async fn http() -> TestIssuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let key = Arc::new(TestKey::generate());
        let discovered = Arc::new(Mutex::new(base.clone()));
        let app = router(&base, key.clone(), discovered.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        TestIssuer {
            base,
            key,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            addr,
            ca_pem: None,
            discovered,
        }
    }

    /// An issuer on `https://HOST` (no port), certificate from a throwaway CA; only
    /// [`TestIssuer::http`] reaches it.
    pub async fn https(host: &str) -> TestIssuer {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let ca_key = CertKey::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let ca = Issuer::new(ca_params, ca_key);
        let server_key = CertKey::generate().expect("server key");
        let server_cert = CertificateParams::new(vec![host.to_string()])
            .expect("server params")
            .signed_by(&server_key, &ca)
            .expect("server certificate");
        let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
            server_cert.pem().into_bytes(),
            server_key.serialize_pem().into_bytes(),
        )
        .await
        .expect("TLS config");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let base = format!("https://{host}");
        let key = Arc::new(TestKey::generate());
        let discovered = Arc::new(Mutex::new(base.clone()));
        let app = router(&base, key.clone(), discovered.clone());
        let server = axum_server::from_tcp_rustls(listener, tls).expect("TLS listener");
        tokio::spawn(async move { server.serve(app.into_make_service()).await });
        let ca_pem = ca_cert.pem();
        let http = reqwest::Client::builder()
            .tls_certs_merge([reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA")])
            .resolve(host, addr)
            .no_proxy()
            .build()
            .expect("client");
        TestIssuer {
            base,
            key,
            http,
            addr,
            ca_pem: Some(ca_pem),
            discovered,
        }
    }

    /// What discovery announces as `issuer` (the base URL unless changed).
    pub fn issuer(&self) -> String {
        self.discovered.lock().unwrap().clone()
    }

    /// Makes discovery announce another `issuer` (e.g. with a trailing slash).
    pub fn set_discovered_issuer(&self, issuer: &str) {
        *self.discovered.lock().unwrap() = issuer.to_string();
    }

    /// A PS256 token with these claims; `iss` (the announced issuer), `iat` and a 5-minute
    /// `exp` are added where absent.
    pub fn token(&self, claims: Value) -> String {
        self.token_with(&self.key, claims)
    }

    /// The same, signed by another key.
    pub fn token_with(&self, key: &TestKey, mut claims: Value) -> String {
        let now = now();
        let map = claims.as_object_mut().expect("claims are an object");
        map.entry("iss").or_insert(json!(self.issuer()));
        map.entry("iat").or_insert(json!(now));
        map.entry("exp").or_insert(json!(now + 300));
        key.mint(Algorithm::PS256, &claims)
    }

    /// A token with exactly this `iss`, `sub` and `aud`, expiring `exp_offset` seconds from
    /// now (negative: already expired).
    pub fn mint(&self, issuer: &str, subject: &str, audience: &str, exp_offset: i64) -> String {
        let now = i64::try_from(now()).expect("time fits");
        self.key.mint(
            Algorithm::PS256,
            &json!({
                "iss": issuer,
                "sub": subject,
                "aud": audience,
                "iat": now - 10,
                "nbf": now - 10,
                "exp": now + exp_offset,
            }),
        )
    }
}
