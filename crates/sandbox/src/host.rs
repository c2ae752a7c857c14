//! The sandbox host: composes every sandbox service into one thing that tests start in-process
//! and `octo-oidc sandbox` starts for people.
//!
//! [`Sandbox::start`] makes (or restores from a state file) the test CA, the API key and each
//! service's state, binds every listener on `127.0.0.1` (port 0, a `--port-base`, or the ports
//! a restored state had), serves them, and exposes the URLs, the API key (a [`Secret`]), the CA
//! PEM, the shared [`Faults`] and a graceful [`Sandbox::shutdown`] that writes the state file
//! once every listener has stopped.
//! Listeners: Octopus over HTTP and HTTPS (same API), the GitHub token issuer (HTTPS), and the
//! Azure, AWS and Google Cloud services. The fault admin endpoints (`/_sandbox/faults`) are mounted on the
//! Octopus listeners.
//!
//! Issuers without a port: as on a real server, the Octopus issuer (and public URL) is
//! `https://octopus.sandbox.localhost` and the GitHub issuer `https://github.sandbox.localhost`.
//! Nothing listens on 443; instead every HTTP client that must reach an issuer resolves those
//! names to the loopback listener ([`Sandbox::host_overrides`], reqwest's
//! `ClientBuilder::resolve`): the sandbox's own Entra, STS and Octopus (token validation,
//! account tests) and [`Sandbox::http_client`]. The test certificates cover the names.
//!
//! Every accepted connection has `TCP_NODELAY` set, as production servers do: with Nagle's
//! algorithm on, a second response written on a connection whose first is not yet
//! acknowledged (two answers on one HTTP/2 connection, or a header and body in two TLS records)
//! waits for the client's delayed ACK, about 40 ms on Linux, which the real services do not add.
//!
//! Deliberately absent: binding anything but loopback, and auto-saving between shutdowns.

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use octo_oidc_core::Secret;
use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::aws::{AwsConfig, AwsSandbox};
use crate::entra::{EntraConfig, EntraSandbox};
use crate::faults::{Faults, admin_router};
use crate::gcp::{GcpConfig, GcpSandbox};
use crate::octopus::github::GithubIssuer;
use crate::octopus::{DEFAULT_VERSION, IssuerStyle, OctopusConfig, OctopusDeps, OctopusSandbox};
use crate::persist::{self, FORMAT_VERSION, PersistError, Ports, SandboxSnapshot};
use crate::seed::SeedProfile;
use crate::signing::{SigningError, SigningKey};
use crate::tls::{GITHUB_HOST, OCTOPUS_HOST, SERVER_NAMES, TestCa, TlsError};
use crate::token_validation::RemoteIssuers;

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Seed profile for a fresh state (ignored when a state file is restored).
    pub profile: SeedProfile,
    /// How the Octopus issuer string is formed.
    pub issuer_style: IssuerStyle,
    /// The Octopus version the `/api` document reports.
    pub octopus_version: String,
    /// State file: restored at start if it exists, written at shutdown.
    pub state_file: Option<PathBuf>,
    /// Consecutive ports from this base (see [`Ports::from_base`]); `None` = any free port
    /// (or the ports of a restored state, when still free).
    pub port_base: Option<u16>,
    /// The API key; `None` = a fresh random `API-...` key (or the restored one).
    pub api_key: Option<Secret>,
    /// Seed of the fault injector's random source (for `rate` rules).
    pub fault_seed: Option<u64>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            profile: SeedProfile::Demo,
            issuer_style: IssuerStyle::Https,
            octopus_version: DEFAULT_VERSION.to_string(),
            state_file: None,
            port_base: None,
            api_key: None,
            fault_seed: None,
        }
    }
}

/// Where each service listens (base URLs, no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxUrls {
    /// Octopus over HTTP.
    pub octopus: String,
    /// Octopus over HTTPS at its loopback address (`https://127.0.0.1:<port>`; works without
    /// host overrides).
    pub octopus_https: String,
    /// Octopus's public URL (Server Uri): `https://octopus.sandbox.localhost`, no port; reach it
    /// through [`Sandbox::host_overrides`].
    pub octopus_public: String,
    /// The Octopus issuer, exactly as in discovery and tokens (by default the public URL).
    pub octopus_issuer: String,
    /// The GitHub token issuer: `https://github.sandbox.localhost`, no port.
    pub github_issuer: String,
    /// The Entra authority (HTTPS; token endpoint `{authority}/{tenant}/oauth2/v2.0/token`).
    pub azure_authority: Option<String>,
    /// Microsoft Graph (HTTPS; API under `/v1.0`).
    pub graph: Option<String>,
    /// ARM (HTTPS).
    pub arm: Option<String>,
    /// AWS IAM + STS on one endpoint (HTTP, for `AWS_ENDPOINT_URL`).
    pub aws: Option<String>,
    /// Google Cloud IAM, Resource Manager, STS and IAM Credentials on one endpoint (HTTPS).
    pub gcp: Option<String>,
}

/// Why the sandbox could not start or save.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
    /// TLS material could not be made.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A signing key could not be made.
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// The state file could not be read or written.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// A service's snapshot in the state file could not be restored.
    #[error("the {service} part of the state file is invalid: {message}")]
    Restore {
        /// Which service.
        service: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl From<SandboxError> for octo_oidc_core::Problem {
    fn from(e: SandboxError) -> Self {
        use octo_oidc_core::ErrorCode;
        let (code, hint) = match &e {
            SandboxError::Bind { .. } => (
                ErrorCode::InvalidInput,
                "Choose another --port-base or stop whatever uses those ports.",
            ),
            SandboxError::Persist(_) | SandboxError::Restore { .. } => (
                ErrorCode::InvalidInput,
                "Point --state at a writable file, or delete a corrupt one to start fresh.",
            ),
            SandboxError::Tls(_) | SandboxError::Signing(_) => (
                ErrorCode::Internal,
                "This is a bug in the sandbox; please report it.",
            ),
        };
        octo_oidc_core::Problem::new(code, e.to_string()).with_hint(hint)
    }
}

/// A running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    urls: SandboxUrls,
    ports: Ports,
    host_overrides: Vec<(String, SocketAddr)>,
    api_key: Secret,
    ca: TestCa,
    faults: Faults,
    octopus: OctopusSandbox,
    github: GithubIssuer,
    aws: AwsSandbox,
    entra: EntraSandbox,
    gcp: GcpSandbox,
    state_file: Option<PathBuf>,
    /// The seeded automation administrator's client id and secret (Entra's default tenant).
    azure_admin: Option<(String, Secret)>,
    /// The seeded read-only automation identity's client id and secret.
    azure_reader: Option<(String, Secret)>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    tls_handles: Vec<axum_server::Handle<SocketAddr>>,
}

/// The made-up access key id the sandbox hands out (its IAM/STS accept any signature).
pub const SANDBOX_AWS_ACCESS_KEY_ID: &str = "AKIASANDBOXEXAMPLE00";
/// The made-up secret access key that goes with it.
pub const SANDBOX_AWS_SECRET_ACCESS_KEY: &str = "sandbox-made-up-secret-access-key";

/// The access key id of the sandbox's read-only AWS user ([`SANDBOX_AWS_READONLY_USER`]:
/// IAM reads and the simulator only), for rehearsing a preflight denial.
pub const SANDBOX_AWS_READONLY_ACCESS_KEY_ID: &str = "AKIASANDBOXREADONLY0";
/// The user name behind [`SANDBOX_AWS_READONLY_ACCESS_KEY_ID`].
pub const SANDBOX_AWS_READONLY_USER: &str = "sandbox-readonly";

/// A fresh `API-` key of 26 upper-case letters and digits, like Octopus's.
pub fn generate_api_key() -> Secret {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    let key: String = (0..26)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    Secret::new(format!("API-{key}"))
}

fn bind(preferred: u16, fixed: bool) -> Result<StdTcpListener, SandboxError> {
    let addr = format!("127.0.0.1:{preferred}");
    match StdTcpListener::bind(&addr) {
        Ok(l) => Ok(l),
        Err(_) if !fixed && preferred != 0 => bind(0, true),
        Err(source) => Err(SandboxError::Bind { addr, source }),
    }
    .and_then(|l| {
        l.set_nonblocking(true)
            .map_err(|source| SandboxError::Bind {
                addr: format!("127.0.0.1:{preferred}"),
                source,
            })?;
        Ok(l)
    })
}

/// The sandbox's port-less host names and the loopback listeners they resolve to.
fn overrides_for(ports: Ports) -> Vec<(String, SocketAddr)> {
    let at = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    vec![
        (OCTOPUS_HOST.to_string(), at(ports.octopus_https)),
        (GITHUB_HOST.to_string(), at(ports.github)),
    ]
}

fn port_of(listener: &StdTcpListener) -> u16 {
    listener.local_addr().map(|a| a.port()).unwrap_or(0)
}

impl Sandbox {
    /// Starts every service. Must be called within a tokio runtime.
    pub async fn start(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let restored = match &options.state_file {
            Some(path) => persist::load(path)?,
            None => None,
        };
        let (wanted, fixed) = match (options.port_base, &restored) {
            (Some(base), _) => (Ports::from_base(base), true),
            (None, Some(s)) => (s.ports, false),
            (None, None) => (Ports::default(), false),
        };
        let octopus_http = bind(wanted.octopus_http, fixed)?;
        let octopus_https = bind(wanted.octopus_https, fixed)?;
        let github_listener = bind(wanted.github, fixed)?;
        let aws_listener = bind(wanted.aws, fixed)?;
        let entra_listener = bind(wanted.entra, fixed)?;
        let graph_listener = bind(wanted.graph, fixed)?;
        let arm_listener = bind(wanted.arm, fixed)?;
        let gcp_listener = bind(wanted.gcp, fixed)?;
        let ports = Ports {
            octopus_http: port_of(&octopus_http),
            octopus_https: port_of(&octopus_https),
            github: port_of(&github_listener),
            aws: port_of(&aws_listener),
            entra: port_of(&entra_listener),
            graph: port_of(&graph_listener),
            arm: port_of(&arm_listener),
            gcp: port_of(&gcp_listener),
        };

        let ca = match &restored {
            Some(s) => TestCa::restore(&s.ca)?,
            None => TestCa::generate()?,
        };
        let api_key = match (&options.api_key, &restored) {
            (Some(k), _) => k.clone(),
            (None, Some(s)) => Secret::new(s.api_key.clone()),
            (None, None) => generate_api_key(),
        };
        let faults = options
            .fault_seed
            .map(Faults::with_seed)
            .unwrap_or_default();
        let host_overrides = overrides_for(ports);
        let http = ca.http_client(&host_overrides)?;
        let issuers = RemoteIssuers::new(http.clone());

        let http_url = format!("http://127.0.0.1:{}", ports.octopus_http);
        let https_url = format!("https://127.0.0.1:{}", ports.octopus_https);
        let public_url = format!("https://{OCTOPUS_HOST}");
        let github_url = format!("https://{GITHUB_HOST}");
        let urls = SandboxUrls {
            octopus_issuer: options.issuer_style.issuer(&http_url, &public_url),
            octopus: http_url.clone(),
            octopus_https: https_url,
            octopus_public: public_url.clone(),
            github_issuer: github_url.clone(),
            azure_authority: Some(format!("https://127.0.0.1:{}", ports.entra)),
            graph: Some(format!("https://127.0.0.1:{}", ports.graph)),
            arm: Some(format!("https://127.0.0.1:{}", ports.arm)),
            aws: Some(format!("http://127.0.0.1:{}", ports.aws)),
            gcp: Some(format!("https://127.0.0.1:{}", ports.gcp)),
        };

        let config = OctopusConfig {
            version: options.octopus_version.clone(),
            http_url,
            public_url,
            issuer: urls.octopus_issuer.clone(),
            api_key: api_key.clone(),
            entra_authority: urls.azure_authority.clone(),
            aws_endpoint: urls.aws.clone(),
            gcp_endpoint: urls.gcp.clone(),
        };
        let deps = OctopusDeps {
            faults: faults.clone(),
            issuers: issuers.clone(),
            http: http.clone(),
        };
        let aws = AwsSandbox::new(AwsConfig::default(), faults.clone(), issuers.clone());
        let entra = EntraSandbox::new(
            EntraConfig {
                authority_url: urls.azure_authority.clone(),
                graph_url: urls.graph.clone(),
                arm_url: urls.arm.clone(),
                ..EntraConfig::default()
            },
            faults.clone(),
            issuers.clone(),
        );
        let gcp = GcpSandbox::new(GcpConfig::default(), faults.clone(), issuers.clone());
        let (octopus, github_key) = match restored {
            Some(s) => {
                if let Some(state) = s.gcp {
                    gcp.restore(state).map_err(|e| SandboxError::Restore {
                        service: "gcp",
                        message: e.to_string(),
                    })?;
                }
                if let Some(state) = s.aws {
                    aws.restore(state).map_err(|e| SandboxError::Restore {
                        service: "aws",
                        message: e.to_string(),
                    })?;
                }
                if let Some(state) = s.entra {
                    entra.restore(state).map_err(|e| SandboxError::Restore {
                        service: "entra",
                        message: e.to_string(),
                    })?;
                }
                (
                    OctopusSandbox::with_state(config, s.octopus, deps)?,
                    s.github_key,
                )
            }
            None => (
                OctopusSandbox::seeded(config, options.profile, deps)?,
                SigningKey::generate()?,
            ),
        };
        let github = GithubIssuer::new(github_url, github_key);
        aws.add_principal(
            SANDBOX_AWS_READONLY_ACCESS_KEY_ID,
            SANDBOX_AWS_READONLY_USER,
            vec![crate::aws::identity_policy::READ_ONLY_POLICY.to_string()],
        );
        let azure_admin = entra
            .administrator_app(crate::entra::DEFAULT_TENANT_ID)
            .ok()
            .map(|(client_id, secret)| (client_id, Secret::new(secret)));
        let azure_reader = entra
            .reader_app(crate::entra::DEFAULT_TENANT_ID)
            .ok()
            .map(|(client_id, secret)| (client_id, Secret::new(secret)));

        let (stop, _) = watch::channel(false);
        let mut sandbox = Sandbox {
            urls,
            ports,
            host_overrides,
            api_key,
            ca,
            faults: faults.clone(),
            octopus: octopus.clone(),
            github: github.clone(),
            aws: aws.clone(),
            entra: entra.clone(),
            gcp: gcp.clone(),
            state_file: options.state_file.clone(),
            azure_admin,
            azure_reader,
            stop,
            servers: Vec::new(),
            tls_handles: Vec::new(),
        };
        let octopus_app = octopus
            .router()
            .merge(admin_router(faults))
            .merge(ca_router(sandbox.ca.ca_pem()))
            .merge(withheld_permissions_router(octopus.clone()));
        sandbox.serve_http(octopus_http, octopus_app.clone())?;
        sandbox.serve_https(octopus_https, octopus_app)?;
        sandbox.serve_https(github_listener, github.router())?;
        sandbox.serve_http(aws_listener, aws.router())?;
        sandbox.serve_https(entra_listener, entra.login_router())?;
        sandbox.serve_https(graph_listener, entra.graph_router())?;
        sandbox.serve_https(arm_listener, entra.arm_router())?;
        sandbox.serve_https(gcp_listener, gcp.router())?;
        // Requests that arrive first simply build the bodies themselves (the cache is shared).
        tokio::task::spawn_blocking(move || octopus.prebuild_all_bodies());
        Ok(sandbox)
    }

    fn serve_http(&mut self, listener: StdTcpListener, app: Router) -> Result<(), SandboxError> {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|source| SandboxError::Bind { addr, source })?
            .tap_io(|tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::warn!(error = %e, "cannot set TCP_NODELAY on a sandbox connection");
                }
            });
        let mut stop = self.stop.subscribe();
        self.servers.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %e, "sandbox listener stopped with an error");
            }
        }));
        Ok(())
    }

    fn serve_https(&mut self, listener: StdTcpListener, app: Router) -> Result<(), SandboxError> {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let config = axum_server::tls_rustls::RustlsConfig::from_config(
            self.ca.server_config(&SERVER_NAMES)?,
        );
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, config)
            .map_err(|source| SandboxError::Bind { addr, source })?
            .map(|tls| tls.acceptor(axum_server::accept::NoDelayAcceptor::new()))
            .handle(handle.clone());
        self.tls_handles.push(handle);
        self.servers.push(tokio::spawn(async move {
            if let Err(e) = server.serve(app.into_make_service()).await {
                tracing::warn!(error = %e, "sandbox TLS listener stopped with an error");
            }
        }));
        Ok(())
    }

    /// The services' URLs.
    pub fn urls(&self) -> &SandboxUrls {
        &self.urls
    }

    /// The bound ports.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// The administrator's API key for `X-Octopus-ApiKey`.
    pub fn api_key(&self) -> &Secret {
        &self.api_key
    }

    /// The test CA certificate (PEM) that clients must trust for the HTTPS listeners.
    pub fn ca_pem(&self) -> &str {
        self.ca.ca_pem()
    }

    /// The sandbox's own host names (`octopus.sandbox.localhost`, `github.sandbox.localhost`)
    /// and the loopback listeners they stand for: give them to
    /// `reqwest::ClientBuilder::resolve` (or `curl --connect-to NAME:443:ADDR`) to reach the
    /// port-less issuer URLs.
    pub fn host_overrides(&self) -> &[(String, SocketAddr)] {
        &self.host_overrides
    }

    /// An HTTP client that trusts the sandbox CA (and nothing else) and resolves
    /// [`Sandbox::host_overrides`].
    pub fn http_client(&self) -> Result<reqwest::Client, SandboxError> {
        Ok(self.ca.http_client(&self.host_overrides)?)
    }

    /// The shared fault injector.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The sandbox Octopus.
    pub fn octopus(&self) -> &OctopusSandbox {
        &self.octopus
    }

    /// The GitHub token issuer.
    pub fn github(&self) -> &GithubIssuer {
        &self.github
    }

    /// The Entra ID authority, Graph and ARM sandbox.
    pub fn entra(&self) -> &EntraSandbox {
        &self.entra
    }

    /// The AWS IAM + STS sandbox.
    pub fn aws(&self) -> &AwsSandbox {
        &self.aws
    }

    /// The Google Cloud sandbox.
    pub fn gcp(&self) -> &GcpSandbox {
        &self.gcp
    }

    /// One `NAME=value` pair per endpoint, in a fixed order (what `octo-oidc sandbox` prints;
    /// `SANDBOX_CA_FILE` is added by whoever writes the CA to a file).
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let u = &self.urls;
        let mut vars = vec![
            ("OCTOPUS_URL", u.octopus.clone()),
            ("OCTOPUS_HTTPS_URL", u.octopus_https.clone()),
            ("OCTOPUS_PUBLIC_URL", u.octopus_public.clone()),
            ("OCTOPUS_API_KEY", self.api_key.expose().to_string()),
            ("OCTOPUS_ISSUER", u.octopus_issuer.clone()),
            ("GITHUB_ISSUER", u.github_issuer.clone()),
            ("SANDBOX_RESOLVE", self.resolve_spec()),
        ];
        if let Some(key) = self.octopus.deployer_api_key() {
            vars.push(("OCTOPUS_DEPLOYER_API_KEY", key.expose().to_string()));
        }
        for (name, value) in [
            ("AZURE_AUTHORITY", &u.azure_authority),
            ("GRAPH_URL", &u.graph),
            ("ARM_URL", &u.arm),
            ("AWS_ENDPOINT_URL", &u.aws),
        ] {
            if let Some(v) = value {
                vars.push((name, v.clone()));
            }
        }
        if let Some((client_id, secret)) = &self.azure_admin {
            vars.push((
                "AZURE_TENANT_ID",
                crate::entra::DEFAULT_TENANT_ID.to_string(),
            ));
            vars.push(("AZURE_CLIENT_ID", client_id.clone()));
            vars.push(("AZURE_CLIENT_SECRET", secret.expose().to_string()));
        }
        if let Some((client_id, secret)) = &self.azure_reader {
            vars.push(("AZURE_READER_CLIENT_ID", client_id.clone()));
            vars.push(("AZURE_READER_CLIENT_SECRET", secret.expose().to_string()));
        }
        if u.aws.is_some() {
            vars.push(("AWS_ACCESS_KEY_ID", SANDBOX_AWS_ACCESS_KEY_ID.to_string()));
            vars.push((
                "AWS_SECRET_ACCESS_KEY",
                SANDBOX_AWS_SECRET_ACCESS_KEY.to_string(),
            ));
            vars.push((
                "AWS_READONLY_ACCESS_KEY_ID",
                SANDBOX_AWS_READONLY_ACCESS_KEY_ID.to_string(),
            ));
        }
        if let Some(gcp) = &u.gcp {
            vars.push(("GCP_PROJECT_ID", self.gcp.project_id()));
            vars.push(("GCP_PROJECT_NUMBER", self.gcp.project_number()));
            for name in [
                "GCP_IAM_URL",
                "GCP_RESOURCE_MANAGER_URL",
                "GCP_STS_URL",
                "GCP_IAM_CREDENTIALS_URL",
            ] {
                vars.push((name, gcp.clone()));
            }
        }
        vars
    }

    /// The host overrides in `curl --connect-to` form, comma-separated:
    /// `octopus.sandbox.localhost:443:127.0.0.1:PORT,github.sandbox.localhost:443:127.0.0.1:PORT`.
    pub fn resolve_spec(&self) -> String {
        self.host_overrides
            .iter()
            .map(|(host, addr)| format!("{host}:443:{addr}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Everything a restart needs.
    pub fn snapshot(&self) -> SandboxSnapshot {
        SandboxSnapshot {
            format_version: FORMAT_VERSION,
            ports: self.ports,
            api_key: self.api_key.expose().to_string(),
            ca: self.ca.snapshot(),
            octopus: self.octopus.snapshot(),
            github_key: self.github.signing_key().clone(),
            entra: Some(self.entra.snapshot()),
            aws: Some(self.aws.snapshot()),
            gcp: Some(self.gcp.snapshot()),
        }
    }

    /// Writes the state to `path` now.
    pub fn save(&self, path: &std::path::Path) -> Result<(), SandboxError> {
        Ok(persist::save(path, &self.snapshot())?)
    }

    /// Stops every listener (in-flight requests get two seconds), then writes the state file,
    /// so that what those last requests changed is saved too.
    pub async fn shutdown(mut self) -> Result<(), SandboxError> {
        let _ = self.stop.send(true);
        for handle in &self.tls_handles {
            handle.graceful_shutdown(Some(Duration::from_secs(2)));
        }
        for server in std::mem::take(&mut self.servers) {
            let _ = server.await;
        }
        match &self.state_file {
            Some(path) => self.save(path),
            None => Ok(()),
        }
    }
}

/// `PUT` / `DELETE /_sandbox/octopus/withheld-permissions/{permission}`: withholds an Octopus
/// permission from every user, or gives it back ([`OctopusSandbox::withhold_permission`] for
/// a process that did not start the sandbox, e.g. the E2E tests' preflight denial).
fn withheld_permissions_router(octopus: OctopusSandbox) -> Router {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    Router::new()
        .route(
            "/_sandbox/octopus/withheld-permissions/{permission}",
            axum::routing::put(
                |State(o): State<OctopusSandbox>, Path(permission): Path<String>| async move {
                    o.withhold_permission(&permission);
                    StatusCode::NO_CONTENT
                },
            )
            .delete(
                |State(o): State<OctopusSandbox>, Path(permission): Path<String>| async move {
                    o.grant_permission(&permission);
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(octopus)
}

/// `GET /_sandbox/ca.pem`: the test CA's certificate (public, never its key), so a process
/// that did not start the sandbox (the E2E tests' stand-in browser) can verify its HTTPS
/// listeners instead of switching verification off.
fn ca_router(ca_pem: &str) -> Router {
    let pem = ca_pem.to_string();
    Router::new().route(
        "/_sandbox/ca.pem",
        axum::routing::get(move || {
            let pem = pem.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/x-pem-file")],
                    pem,
                )
            }
        }),
    )
}
