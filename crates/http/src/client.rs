//! The reqwest clients of a process, built by one policy and shared.
//!
//! [`build_client`] is how the Octopus, Entra/Graph/ARM and Google Cloud clients get their
//! `reqwest::Client`:
//!
//! - **One client per configuration.** Every [`ClientSettings`] that compares equal gets the same
//!   client (a clone: one connection pool, kept alive), so the Octopus client, its token exchange
//!   and the issuer check of one run share connections, and a second client for the same server
//!   costs nothing. The process keeps the last [`MAX_CACHED_CLIENTS`] configurations.
//! - **Trust roots loaded once.** The platform's roots (rustls-platform-verifier: the OS trust
//!   store, or `/etc/ssl/certs` on Linux) are read once per process, not once per client, on a
//!   background thread started by the first client without a private CA (a machine without
//!   any roots fails its first handshake, naming why). A
//!   private CA bundle (a server behind a private CA, the sandbox's test CA) is tried first;
//!   a certificate it does not vouch for goes to the platform's roots, so the bundle is merged
//!   with them as before, and a run whose servers all carry the private CA (the sandbox) never
//!   reads the platform store.
//! - **HTTP/2 where the server offers it** (ALPN `h2`, then `http/1.1`), so requests sent at
//!   once share one connection instead of opening one each.
//! - **The crypto library warmed up off the request path.** aws-lc seeds its random generator
//!   from CPU jitter the first time a key is made (tens of milliseconds of CPU); the first
//!   [`build_client`] starts that on a background thread, so the first TLS handshake does not
//!   stall the task that polls every other request of the run.
//!
//! Certificate checks are never off: the verifier is rustls-platform-verifier or webpki with
//! the given roots.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// How many client configurations the process keeps (the oldest is dropped beyond it; its
/// users keep their clone).
pub const MAX_CACHED_CLIENTS: usize = 32;

/// How a reqwest client is built.
#[derive(Clone)]
pub struct ClientSettings {
    /// Extra trusted roots (PEM bundle) for servers behind a private CA, merged with the
    /// platform's roots.
    pub ca_bundle_pem: Option<Vec<u8>>,
    /// Budget for one request, connect to last body byte.
    pub request_timeout: Duration,
    /// Budget for establishing a connection.
    pub connect_timeout: Duration,
    /// Follow redirects (same as the API's policy); `false` follows none, so a redirect to
    /// another host never gets a credential.
    pub follow_redirects: bool,
    /// Host names resolved to fixed addresses instead of through DNS (e.g. the sandbox's
    /// port-less issuer names mapped to their loopback listeners); applied on top of
    /// `dns_resolver`.
    pub resolve: Vec<(String, SocketAddr)>,
    /// Name resolution in place of the system's (split-horizon setups; tests that must not
    /// send a lookup off the machine). `None` = the system resolver.
    pub dns_resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
}

/// How a `Debug` impl shows a CA bundle: its size, not its text.
pub fn debug_ca_bundle(pem: &Option<Vec<u8>>) -> Option<String> {
    pem.as_ref().map(|p| format!("{} bytes", p.len()))
}

/// How a `Debug` impl shows a name resolver: `custom` or `system`.
pub fn debug_dns_resolver(resolver: &Option<Arc<dyn reqwest::dns::Resolve>>) -> &'static str {
    if resolver.is_some() {
        "custom"
    } else {
        "system"
    }
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("ca_bundle_pem", &debug_ca_bundle(&self.ca_bundle_pem))
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("follow_redirects", &self.follow_redirects)
            .field("resolve", &self.resolve)
            .field("dns_resolver", &debug_dns_resolver(&self.dns_resolver))
            .finish()
    }
}

impl Default for ClientSettings {
    /// 30 s requests, 10 s connects, no private CA, no redirects.
    fn default() -> Self {
        ClientSettings {
            ca_bundle_pem: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            follow_redirects: false,
            resolve: Vec::new(),
            dns_resolver: None,
        }
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    /// The CA bundle is not PEM, or holds no certificate.
    #[error("the CA bundle {0}")]
    CaBundle(String),
    /// TLS could not be set up.
    #[error("could not set up TLS: {0}")]
    Tls(String),
}

/// The reqwest client for `settings` (rustls; certificate verification always on): the
/// process's client for an equal configuration if there is one, else a new one, kept for
/// the next caller.
pub fn build_client(settings: &ClientSettings) -> Result<reqwest::Client, ClientSetupError> {
    warm_up_crypto();
    let mut cache = clients().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(client) = cache.find(settings) {
        return Ok(client);
    }
    let client = new_client(settings)?;
    cache.keep(settings.clone(), client.clone());
    Ok(client)
}

impl ClientSettings {
    /// Whether a client built from `self` serves `other` too: every field equal, the resolver
    /// by identity (the cache keeps its settings, so the resolver is not freed and its address
    /// reused while the entry lives).
    fn same_client_as(&self, other: &ClientSettings) -> bool {
        let resolvers = match (&self.dns_resolver, &other.dns_resolver) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        resolvers
            && self.ca_bundle_pem == other.ca_bundle_pem
            && self.request_timeout == other.request_timeout
            && self.connect_timeout == other.connect_timeout
            && self.follow_redirects == other.follow_redirects
            && self.resolve == other.resolve
    }
}

/// The process's clients with the settings they were built from, oldest first.
#[derive(Default)]
struct ClientCache(Vec<(ClientSettings, reqwest::Client)>);

impl ClientCache {
    fn find(&self, settings: &ClientSettings) -> Option<reqwest::Client> {
        self.0
            .iter()
            .find(|(kept, _)| kept.same_client_as(settings))
            .map(|(_, client)| client.clone())
    }

    fn keep(&mut self, settings: ClientSettings, client: reqwest::Client) {
        if self.0.len() >= MAX_CACHED_CLIENTS {
            self.0.remove(0);
        }
        self.0.push((settings, client));
    }
}

fn clients() -> &'static Mutex<ClientCache> {
    static CLIENTS: OnceLock<Mutex<ClientCache>> = OnceLock::new();
    CLIENTS.get_or_init(Mutex::default)
}

fn new_client(settings: &ClientSettings) -> Result<reqwest::Client, ClientSetupError> {
    let redirects = if settings.follow_redirects {
        reqwest::redirect::Policy::limited(5)
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(settings.ca_bundle_pem.as_deref())?)
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .user_agent(concat!("octo-oidc/", env!("CARGO_PKG_VERSION")))
        .redirect(redirects);
    if let Some(resolver) = &settings.dns_resolver {
        builder = builder.dns_resolver(resolver.clone());
    }
    for (host, addr) in &settings.resolve {
        builder = builder.resolve(host, *addr);
    }
    builder
        .build()
        .map_err(|e| ClientSetupError::Tls(e.to_string()))
}

/// The rustls configuration trusting `ca_bundle_pem` (if any) and the platform's roots,
/// offering HTTP/2 then HTTP/1.1.
fn tls_config(ca_bundle_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, ClientSetupError> {
    let provider = crypto_provider();
    let private = match ca_bundle_pem {
        Some(pem) => Some(private_verifier(pem, &provider)?),
        // Without a private CA every handshake needs the platform's roots: start reading them
        // now, off the caller's thread (a client that never makes a TLS connection, such as
        // the AWS SDK's against a plain-http endpoint, does not wait for them).
        None => {
            warm_up_platform_roots();
            None
        }
    };
    let verifier = Arc::new(TrustedRoots {
        private,
        provider: provider.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientSetupError::Tls(e.to_string()))?
        // `dangerous` is rustls's name for "a verifier of our own": TrustedRoots verifies
        // every certificate (webpki or the platform), it never accepts one unchecked.
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The process's default rustls provider if one is installed, else aws-lc-rs (reqwest's own
/// choice).
fn crypto_provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// Starts seeding aws-lc's random generator on a background thread, once per process.
fn warm_up_crypto() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let provider = crypto_provider();
        // If the thread cannot start, the first handshake seeds it instead.
        let _ = std::thread::Builder::new()
            .name("octo-oidc-tls-warm-up".into())
            .spawn(move || {
                let mut byte = [0u8; 1];
                let _ = provider.secure_random.fill(&mut byte);
            });
    });
}

/// Starts reading the platform's roots on a background thread, once per process; the first
/// handshake that needs them waits for it.
fn warm_up_platform_roots() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        // If the thread cannot start, the first handshake reads them instead.
        let _ = std::thread::Builder::new()
            .name("octo-oidc-tls-roots".into())
            .spawn(|| {
                let _ = platform_verifier();
            });
    });
}

/// The platform's verifier, built (roots read) once per process.
fn platform_verifier() -> Result<&'static rustls_platform_verifier::Verifier, rustls::Error> {
    static PLATFORM: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>> =
        OnceLock::new();
    PLATFORM
        .get_or_init(|| rustls_platform_verifier::Verifier::new(crypto_provider()))
        .as_ref()
        .map_err(Clone::clone)
}

/// A webpki verifier trusting exactly the certificates of `pem`.
fn private_verifier(
    pem: &[u8],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, ClientSetupError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ClientSetupError::CaBundle(format!("is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(ClientSetupError::CaBundle(
            "contains no certificate".to_owned(),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| {
            ClientSetupError::CaBundle(format!("holds a certificate that cannot be a root: {e}"))
        })?;
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| ClientSetupError::Tls(e.to_string()))
}

/// Trusts what the private CA bundle vouches for, else what the platform does: the bundle
/// merged with the platform's roots (a chain ends at one root, which is in one of the two).
#[derive(Debug)]
struct TrustedRoots {
    private: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for TrustedRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let private_refusal = match &self.private {
            Some(private) => {
                match private.verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    now,
                ) {
                    Ok(verified) => return Ok(verified),
                    Err(refusal) => Some(refusal),
                }
            }
            None => None,
        };
        let platform = match platform_verifier() {
            Ok(platform) => platform,
            // No platform roots on this machine: the private CA's answer is the only one.
            Err(unavailable) => return Err(private_refusal.unwrap_or(unavailable)),
        };
        match (
            platform.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
            private_refusal,
        ) {
            (Ok(verified), _) => Ok(verified),
            // The private CA issued it but it is wrong (expired, another name): that is the
            // reason to show, not the platform's "unknown issuer".
            (Err(_), Some(refusal))
                if refusal
                    != rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) =>
            {
                Err(refusal)
            }
            (Err(refusal), _) => Err(refusal),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
