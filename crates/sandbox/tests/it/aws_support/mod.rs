//! Test harness for the sandbox AWS: the sandbox's IAM/STS router on a loopback port, the
//! real aws-sdk-iam / aws-sdk-sts clients pointed at it with dummy credentials, and a tiny
//! HTTPS OIDC issuer (discovery + JWKS, signed by a per-test CA made with rcgen) whose tokens
//! STS validates for real. The issuer lives at a port-less host name (`issuer.sandbox.test`,
//! as IAM requires) that the sandbox's HTTP client resolves to the loopback listener.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::Algorithm;
use octo_oidc_sandbox::aws::{AwsConfig, AwsSandbox};
use octo_oidc_sandbox::faults::Faults;
use octo_oidc_sandbox::signing::{Jwks, SigningKey};
use octo_oidc_sandbox::token_validation::RemoteIssuers;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use serde_json::{Value, json};

pub const ISSUER_HOST: &str = "issuer.sandbox.test";
pub const ISSUER: &str = "https://issuer.sandbox.test";
pub const ACCOUNT: &str = "123456789012";

/// An HTTPS OIDC issuer on loopback.
pub struct TestIssuer {
    /// The `issuer` its discovery document announces.
    pub issuer: String,
    /// The key it publishes and signs with.
    pub key: Arc<SigningKey>,
    /// A reqwest client that trusts the test CA and resolves `ISSUER_HOST` to the listener.
    pub http: reqwest::Client,
    pub addr: SocketAddr,
}

impl TestIssuer {
    /// Starts an issuer whose discovery document says `issuer` (e.g. with a trailing slash).
    pub async fn start(issuer: &str) -> TestIssuer {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec![ISSUER_HOST.to_string()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();

        let key = Arc::new(SigningKey::generate().unwrap());
        let base = issuer.trim_end_matches('/').to_string();
        let discovery = json!({
            "issuer": issuer,
            "jwks_uri": format!("{base}/.well-known/jwks"),
            "id_token_signing_alg_values_supported": ["PS256", "RS256"],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
        });
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
            .resolve(ISSUER_HOST, addr)
            .no_proxy()
            .build()
            .unwrap();
        TestIssuer {
            issuer: issuer.to_string(),
            key,
            http,
            addr,
        }
    }

    /// A PS256 token from this issuer with these claims (iss/exp/iat filled in if absent).
    pub fn token(&self, claims: Value) -> String {
        self.token_with(&self.key, claims)
    }

    /// A token signed by another key (same kid or not).
    pub fn token_with(&self, key: &SigningKey, mut claims: Value) -> String {
        let now = now();
        let map = claims.as_object_mut().unwrap();
        map.entry("iss").or_insert(json!(self.issuer));
        map.entry("iat").or_insert(json!(now));
        map.entry("exp").or_insert(json!(now + 300));
        key.mint(Algorithm::PS256, &claims).unwrap()
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The sandbox AWS on a loopback port with SDK clients pointed at it.
pub struct AwsEnv {
    pub sandbox: AwsSandbox,
    pub faults: Faults,
    pub endpoint: String,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub issuer: TestIssuer,
}

pub async fn start() -> AwsEnv {
    start_with(ISSUER, AwsConfig::default()).await
}

pub async fn start_with(discovered_issuer: &str, config: AwsConfig) -> AwsEnv {
    let issuer = TestIssuer::start(discovered_issuer).await;
    let faults = Faults::new();
    let sandbox = AwsSandbox::new(
        config,
        faults.clone(),
        RemoteIssuers::new(issuer.http.clone()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKIDSANDBOX",
            "sandbox-secret",
            None,
            None,
            "test",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    AwsEnv {
        sandbox,
        faults,
        endpoint,
        iam: aws_sdk_iam::Client::new(&sdk),
        sts: aws_sdk_sts::Client::new(&sdk),
        issuer,
    }
}

/// The trust policy the wizard writes for a provider ARN and subject patterns.
pub fn trust_policy(provider_arn: &str, aud: &str, subjects: &[&str]) -> String {
    let key = provider_arn.split("oidc-provider/").nth(1).unwrap();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {format!("{key}:aud"): aud},
                "StringLike": {format!("{key}:sub"): subjects},
            }
        }]
    })
    .to_string()
}

/// The AWS error code of an SDK error.
pub fn code<E: aws_sdk_iam::error::ProvideErrorMetadata>(error: &E) -> String {
    error.code().unwrap_or("<none>").to_string()
}

pub fn message<E: aws_sdk_iam::error::ProvideErrorMetadata>(error: &E) -> String {
    error.message().unwrap_or("").to_string()
}

/// The HTTP status of an SDK error.
pub fn status<E, R: HasStatus>(error: &aws_sdk_iam::error::SdkError<E, R>) -> u16 {
    error.raw_response().map(|r| r.status_code()).unwrap_or(0)
}

pub trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}
