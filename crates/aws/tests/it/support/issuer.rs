//! A tiny HTTPS OIDC issuer on loopback (discovery + JWKS, certificate from a throwaway CA
//! made with rcgen) at a port-less host name that the returned reqwest client resolves to
//! the listener, as IAM requires provider URLs without a port. Shared by the client tests and
//! the benchmark example.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::Algorithm;
use octo_oidc_sandbox::signing::{Jwks, SigningKey};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use serde_json::{Value, json};

/// A running issuer.
pub struct TestIssuer {
    /// `https://<host>`.
    pub issuer: String,
    /// Its signing key.
    pub key: Arc<SigningKey>,
    /// A client that trusts its CA and resolves its host to the listener.
    pub http: reqwest::Client,
}

impl TestIssuer {
    /// Starts an issuer for `https://<host>`.
    pub async fn start(host: &str) -> TestIssuer {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let issuer = format!("https://{host}");
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec![host.to_string()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        let key = Arc::new(SigningKey::generate().unwrap());
        let discovery = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/.well-known/jwks")});
        let jwks = Jwks::document(Algorithm::PS256, [key.as_ref()]);
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let d = discovery.clone();
                    async move { Json(d) }
                }),
            )
            .route(
                "/.well-known/jwks",
                get(move || {
                    let j = jwks.clone();
                    async move { Json(j) }
                }),
            );
        let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
            server_cert.pem().into_bytes(),
            server_key.serialize_pem().into_bytes(),
        )
        .await
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = axum_server::from_tcp_rustls(listener, tls).unwrap();
        tokio::spawn(async move { server.serve(app.into_make_service()).await });
        let http = reqwest::Client::builder()
            .tls_certs_merge([reqwest::Certificate::from_pem(ca_cert.pem().as_bytes()).unwrap()])
            .resolve(host, addr)
            .no_proxy()
            .build()
            .unwrap();
        TestIssuer { issuer, key, http }
    }

    /// A PS256 token with these claims plus `iss`, `iat` and a 10-minute `exp`.
    pub fn token(&self, mut claims: Value) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let map = claims.as_object_mut().unwrap();
        map.entry("iss").or_insert(json!(self.issuer));
        map.entry("iat").or_insert(json!(now));
        map.entry("exp").or_insert(json!(now + 600));
        self.key.mint(Algorithm::PS256, &claims).unwrap()
    }
}
