//! A self-signed test certificate authority for the sandbox's HTTPS listeners.
//!
//! The sandbox generates one CA when it starts (or restores it from a state file), issues leaf
//! certificates for `127.0.0.1`, `localhost` and the sandbox's own names
//! ([`SANDBOX_HOSTS`], e.g. `octopus.sandbox.localhost`) from it, and hands out the CA
//! certificate as PEM so that tests and clients trust it *explicitly*
//! (`reqwest::ClientBuilder::tls_certs_only`). Nothing here disables certificate verification,
//! and nothing trusts the CA implicitly.
//!
//! A CA that someone adds to a trust store must not be able to vouch for anything else: the CA
//! carries X.509 name constraints (permitted: `127.0.0.0/8`, `::1/128`, `localhost` and its
//! subdomains, which include the sandbox's names) and lives [`CA_VALIDITY_DAYS`] days; a
//! restored CA that is about to expire (or predates the constraints) is replaced.
//!
//! Deliberately absent: revocation, intermediate CAs, key rotation, client certificates.

use std::sync::Arc;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
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
    /// When the CA certificate expires (Unix seconds); absent in state files from before the
    /// CA had name constraints, whose CA is then replaced.
    #[serde(default)]
    pub not_after_unix: Option<i64>,
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
    not_after_unix: i64,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// The loopback names every sandbox server certificate covers.
pub const LOOPBACK_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// The sandbox Octopus's port-less public host name (its issuer is `https://` + this).
pub const OCTOPUS_HOST: &str = "octopus.sandbox.localhost";
/// The sandbox GitHub token issuer's port-less host name.
pub const GITHUB_HOST: &str = "github.sandbox.localhost";
/// The sandbox's own host names; clients resolve them to the loopback listeners
/// (see `Sandbox::host_overrides`).
pub const SANDBOX_HOSTS: [&str; 2] = [OCTOPUS_HOST, GITHUB_HOST];
/// Every name a sandbox server certificate covers.
pub const SERVER_NAMES: [&str; 4] = ["127.0.0.1", "localhost", OCTOPUS_HOST, GITHUB_HOST];

/// How long a test CA is valid.
pub const CA_VALIDITY_DAYS: i64 = 30;
/// How long a server (leaf) certificate is valid; a restored CA with less left is replaced.
pub const LEAF_VALIDITY_DAYS: i64 = 7;

/// The subtrees the CA may vouch for: loopback addresses and `localhost` names.
fn permitted_subtrees() -> Vec<GeneralSubtree> {
    vec![
        GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
            8,
        )),
        GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            128,
        )),
        GeneralSubtree::DnsName("localhost".into()),
        GeneralSubtree::DnsName("sandbox.localhost".into()),
    ]
}

fn ca_params(not_after: time::OffsetDateTime) -> CertificateParams {
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
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted_subtrees(),
        excluded_subtrees: Vec::new(),
    });
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    params.not_after = not_after;
    params
}

impl TestCa {
    /// Generates a fresh CA (ECDSA P-256 key, name-constrained, valid [`CA_VALIDITY_DAYS`]).
    pub fn generate() -> Result<TestCa, TlsError> {
        let key = KeyPair::generate()?;
        let not_after = time::OffsetDateTime::now_utc() + time::Duration::days(CA_VALIDITY_DAYS);
        let params = ca_params(not_after);
        let cert = params.self_signed(&key)?;
        Ok(TestCa {
            cert_pem: cert.pem(),
            not_after_unix: not_after.unix_timestamp(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Restores a CA from its snapshot; leaf certificates it issues chain to the same CA PEM.
    /// A CA that expires within [`LEAF_VALIDITY_DAYS`], or one from a state file written before
    /// CAs had name constraints, is replaced by a fresh one (clients then need the new PEM).
    pub fn restore(snapshot: &TestCaSnapshot) -> Result<TestCa, TlsError> {
        let renew_before =
            time::OffsetDateTime::now_utc() + time::Duration::days(LEAF_VALIDITY_DAYS);
        let Some(not_after_unix) = snapshot
            .not_after_unix
            .filter(|t| *t > renew_before.unix_timestamp())
        else {
            tracing::info!("the saved sandbox CA is expiring or unconstrained; issuing a new one");
            return TestCa::generate();
        };
        let not_after =
            time::OffsetDateTime::from_unix_timestamp(not_after_unix).unwrap_or(renew_before);
        let key = KeyPair::from_pem(&snapshot.key_pem)?;
        Ok(TestCa {
            cert_pem: snapshot.cert_pem.clone(),
            not_after_unix,
            issuer: Issuer::new(ca_params(not_after), key),
        })
    }

    /// The persisted form.
    pub fn snapshot(&self) -> TestCaSnapshot {
        TestCaSnapshot {
            cert_pem: self.cert_pem.clone(),
            key_pem: self.issuer.key().serialize_pem(),
            not_after_unix: Some(self.not_after_unix),
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
        params.not_after = now + time::Duration::days(LEAF_VALIDITY_DAYS);
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

    /// An HTTP client that trusts this CA and nothing else (never a disabled verifier) and
    /// resolves each `(host, listener)` override to that loopback listener.
    pub fn http_client(
        &self,
        overrides: &[(String, SocketAddr)],
    ) -> Result<reqwest::Client, TlsError> {
        let mut builder = reqwest::Client::builder()
            .tls_certs_only([self.reqwest_certificate()?])
            .no_proxy()
            .timeout(std::time::Duration::from_secs(20));
        for (host, addr) in overrides {
            builder = builder.resolve(host, *addr);
        }
        Ok(builder.build()?)
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
            .server_config(&SERVER_NAMES)
            .expect("restored CA issues leaves");
    }

    #[test]
    fn an_expiring_or_unconstrained_ca_is_replaced_on_restore() {
        let ca = TestCa::generate().expect("generate");
        let mut old = ca.snapshot();
        old.not_after_unix = None;
        assert_ne!(
            TestCa::restore(&old).expect("restore").ca_pem(),
            ca.ca_pem()
        );
        old.not_after_unix = Some(time::OffsetDateTime::now_utc().unix_timestamp() + 3600);
        assert_ne!(
            TestCa::restore(&old).expect("restore").ca_pem(),
            ca.ca_pem()
        );
    }
}
