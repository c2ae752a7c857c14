//! A self-signed test certificate authority for the sandbox's HTTPS listeners.
//!
//! The sandbox generates one CA when it starts (or restores it from a state file), issues leaf
//! certificates for `127.0.0.1` / `localhost` from it, and hands out the CA certificate as PEM so
//! that tests and clients trust it *explicitly* (`reqwest::ClientBuilder::tls_certs_only`).
//! Nothing here disables certificate verification, and nothing trusts the CA implicitly.
//!
//! Deliberately absent: revocation, intermediate CAs, key rotation, client certificates.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};

/// Why a certificate or TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Key generation or certificate signing failed.
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls rejected the generated material.
    #[error("TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
    /// reqwest rejected the CA certificate or the client configuration.
    #[error("HTTP client configuration failed: {0}")]
    Client(#[from] reqwest::Error),
}

/// The persisted form of a [`TestCa`]: its certificate and private key as PEM.
///
/// This is test-only key material made up at sandbox start; it is persisted so that a restarted
/// sandbox keeps serving certificates that clients configured with the old CA file still trust.
#[derive(Clone, Serialize, Deserialize)]
pub struct TestCaSnapshot {
    /// The CA certificate, PEM.
    pub cert_pem: String,
    /// The CA private key, PKCS#8 PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for TestCaSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCaSnapshot")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

/// A self-signed CA that issues server certificates for loopback names.
pub struct TestCa {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// The names every sandbox server certificate covers.
pub const LOOPBACK_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "octo-oidc sandbox test CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "octo-oidc sandbox");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    params
}

impl TestCa {
    /// Generates a fresh CA (ECDSA P-256 key, valid ten years).
    pub fn generate() -> Result<TestCa, TlsError> {
        let key = KeyPair::generate()?;
        let params = ca_params();
        let cert = params.self_signed(&key)?;
        Ok(TestCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Restores a CA from its snapshot; leaf certificates it issues chain to the same CA PEM.
    pub fn restore(snapshot: &TestCaSnapshot) -> Result<TestCa, TlsError> {
        let key = KeyPair::from_pem(&snapshot.key_pem)?;
        Ok(TestCa {
            cert_pem: snapshot.cert_pem.clone(),
            issuer: Issuer::new(ca_params(), key),
        })
    }

    /// The persisted form.
    pub fn snapshot(&self) -> TestCaSnapshot {
        TestCaSnapshot {
            cert_pem: self.cert_pem.clone(),
            key_pem: self.issuer.key().serialize_pem(),
        }
    }

    /// The CA certificate as PEM: what clients must trust.
    pub fn ca_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate in reqwest's form.
    pub fn reqwest_certificate(&self) -> Result<reqwest::Certificate, TlsError> {
        Ok(reqwest::Certificate::from_pem(self.cert_pem.as_bytes())?)
    }

    /// A rustls server configuration with a fresh leaf certificate for `names`.
    pub fn server_config(&self, names: &[&str]) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("sandbox"),
        );
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365);
        let key = KeyPair::generate()?;
        let leaf = params.signed_by(&key, &self.issuer)?;
        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone()];
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, private)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// An HTTP client that trusts this CA and nothing else (never a disabled verifier).
    pub fn http_client(&self) -> Result<reqwest::Client, TlsError> {
        Ok(reqwest::Client::builder()
            .tls_certs_only([self.reqwest_certificate()?])
            .no_proxy()
            .timeout(std::time::Duration::from_secs(20))
            .build()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restored_ca_keeps_its_certificate_and_key() {
        let ca = TestCa::generate().expect("generate");
        let snapshot = ca.snapshot();
        let restored = TestCa::restore(&snapshot).expect("restore");
        assert_eq!(restored.ca_pem(), ca.ca_pem());
        assert_eq!(restored.snapshot().key_pem, snapshot.key_pem);
        assert!(!format!("{snapshot:?}").contains("PRIVATE KEY"));
        restored
            .server_config(&LOOPBACK_NAMES)
            .expect("restored CA issues leaves");
    }
}
