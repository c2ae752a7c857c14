//! The setup use cases both faces call: read a setup file, connect the clients its target
//! needs, observe, then plan / apply / verify / teardown / status through the engine.
//!
//! [`SetupRun`] says where credentials come from: the real adapters (the Octopus key from
//! `OCTOPUS_API_KEY`, else the OS keychain; Azure from `AZURE_TENANT_ID` / `AZURE_CLIENT_ID`
//! / `AZURE_CLIENT_SECRET`, else the Azure CLI / azd login; AWS from the setup's `profile`,
//! else `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, else — only when asked — the SDK's
//! default chain; Google from the setup's `credentials_file`, else Application Default
//! Credentials), or a sandbox env file ([`SandboxEnv`]), whose endpoints, credentials and
//! CA are then the only ones used. A face that signed in itself (the window's "Connect the
//! cloud": a browser or service-principal Azure sign-in, an AWS profile or typed key) hands
//! those clients over ([`SignedInClouds`]); they come first, so a setup is planned, applied,
//! verified and torn down as the identity the user signed in with, not one the environment
//! happens to name (an AWS connection only for a setup naming no profile or the same one).
//! No credential chain that probes a metadata endpoint (AWS IMDS, Azure managed identity) is
//! used unless the user chose it, and the AWS region is always given, so the SDK never asks
//! IMDS for one.
//!
//! [`SetupRun::load`] reads and validates the file (no remote call; every field error at
//! once). [`SetupRun::prepare`] connects and observes ([`Prepared`]: the clients, the
//! observation, the preflight — what the signed-in identities may do and the issuer checks,
//! read before any write — and the setup's [`FileJournal`]); its methods carry out the use
//! cases, and apply refuses to start on a blocking preflight gap unless the run ignores it.
//!
//! Deliberately absent: rendering (the faces do it) and prompting (the CLI asks).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use octo_oidc_aws::connect::{
    AwsConnection, ConnectOptions, CredentialSource, DEFAULT_REGION, ProfileFilePaths,
    configured_region,
};
use octo_oidc_aws::iam::SdkIam;
use octo_oidc_azure::arm::ArmRbac;
use octo_oidc_azure::auth::{AuthorityConfig, AzureSession, Resource};
use octo_oidc_azure::graph::GraphEntraApps;
use octo_oidc_azure::transport::Transport;
use octo_oidc_core::error::FieldError;
use octo_oidc_core::events::ProgressSink;
use octo_oidc_core::{ErrorCode, Problem, Secret, ServerUrl};
use octo_oidc_engine::apply::{ApplyReport, Cancellation};
use octo_oidc_engine::ci_snippet::ci_snippet;
use octo_oidc_engine::observe::{Absent, Observation, Ports};
use octo_oidc_engine::plan::Plan;
use octo_oidc_engine::preflight::{HostReads, Preflight, observe_with_preflight, refusal};
use octo_oidc_engine::setup_file::{
    CiSystem, FILE_FIELD, GcpSetup, Setup, TargetSpec, parse_setup,
};
use octo_oidc_engine::teardown::{StatusItem, TeardownReport};
use octo_oidc_engine::verify::{IssuerFacts, NoTokens, VerifyOptions, VerifyReport};
use octo_oidc_gcp::{GcpEndpoints, GoogleSignIn, RestGoogleCloud};
use octo_oidc_octopus::issuer::Reachability;
use octo_oidc_octopus::keychain::{API_KEY_ENV_VAR, ApiKeyStore};
use octo_oidc_octopus::{OctopusClientConfig, RestOctopus};

use crate::file_journal::{FileJournal, data_dir};
use crate::inventory::resolve_space;
use crate::sandbox_env::SandboxEnv;
use crate::sandbox_tokens::SandboxTokens;

/// A cloud's sign-in still to make.
type SignIn = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Problem>> + Send>>;

/// Reads an environment variable.
pub type EnvReader = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where one run's credentials come from.
#[derive(Clone)]
pub struct SetupRun {
    keys: ApiKeyStore,
    env: EnvReader,
    sandbox: Option<SandboxEnv>,
    aws_default_chain: bool,
    ignore_preflight: bool,
    /// A client the face already signed in with (the desktop's session), used for setups on
    /// its server instead of a key from the environment or the keychain.
    connected: Option<RestOctopus>,
    signed_in: SignedInClouds,
    deadline: Option<std::time::Duration>,
}

/// The cloud clients a face signed in with (the window's "Connect the cloud"), used by a run
/// before any credential its environment names.
#[derive(Clone, Default)]
pub struct SignedInClouds {
    /// The Azure sign-in (browser, Azure CLI or service principal), for any tenant it may
    /// get tokens in.
    pub azure: Option<AzureSession>,
    /// The AWS connection (a profile, SSO included, or a typed key).
    pub aws: Option<AwsConnection>,
}

impl std::fmt::Debug for SignedInClouds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedInClouds")
            .field("azure", &self.azure.is_some())
            .field("aws", &self.aws.as_ref().map(|c| c.profile()))
            .finish()
    }
}

impl std::fmt::Debug for SetupRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupRun")
            .field("sandbox", &self.sandbox)
            .field("aws_default_chain", &self.aws_default_chain)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// A setup file, read and validated.
#[derive(Debug, Clone)]
pub struct LoadedSetup {
    /// Where it was read from.
    pub path: PathBuf,
    /// The validated setup (for a sandbox run, GitHub's issuer is the sandbox's).
    pub setup: Setup,
    /// Remarks that do not block (e.g. a Google token lifetime that needs an org policy).
    pub warnings: Vec<octo_oidc_core::validate::FieldWarning>,
}

/// The clients of one setup's target.
#[derive(Clone)]
pub(crate) enum Cloud {
    Aws(Box<SdkIam>),
    Azure(GraphEntraApps, ArmRbac),
    Gcp(RestGoogleCloud),
    None,
}

impl Cloud {
    /// The same clients reporting their retries (throttling, 5xx, propagation waits) to
    /// `events`, the sink of the steps they run for.
    fn reporting_to(&self, events: Arc<dyn ProgressSink>) -> Cloud {
        match self {
            Cloud::Aws(iam) => Cloud::Aws(Box::new(iam.reporting_to(events))),
            Cloud::Azure(entra, rbac) => Cloud::Azure(
                entra.reporting_to(events.clone()),
                rbac.reporting_to(events),
            ),
            Cloud::Gcp(gcp) => Cloud::Gcp(gcp.reporting_to(events)),
            Cloud::None => Cloud::None,
        }
    }
}

/// A connected, observed setup.
pub struct Prepared {
    octopus: RestOctopus,
    cloud: Cloud,
    sandbox_env: Option<SandboxEnv>,
    /// What observe found and the plan made from it.
    pub observation: Observation,
    /// What the signed-in identities may do, and the issuer checks (read before any write).
    pub preflight: Preflight,
    ignore_preflight: bool,
    journal: FileJournal,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("setup", &self.observation.plan.setup)
            .finish_non_exhaustive()
    }
}

/// Runs `$body` with `$ports` bound to the [`Ports`] of `$prepared`'s target (the ports a
/// target does not use are [`Absent`]).
macro_rules! with_ports {
    ($octopus:expr, $cloud:expr, |$ports:ident| $body:expr) => {
        match $cloud {
            Cloud::Aws(iam) => {
                let $ports = Ports {
                    octopus: $octopus,
                    entra: &Absent,
                    rbac: &Absent,
                    iam: &**iam,
                    gcp: &Absent,
                };
                $body
            }
            Cloud::Azure(entra, rbac) => {
                let $ports = Ports {
                    octopus: $octopus,
                    entra,
                    rbac,
                    iam: &Absent,
                    gcp: &Absent,
                };
                $body
            }
            Cloud::Gcp(gcp) => {
                let $ports = Ports {
                    octopus: $octopus,
                    entra: &Absent,
                    rbac: &Absent,
                    iam: &Absent,
                    gcp,
                };
                $body
            }
            Cloud::None => {
                let $ports = Ports {
                    octopus: $octopus,
                    entra: &Absent,
                    rbac: &Absent,
                    iam: &Absent,
                    gcp: &Absent,
                };
                $body
            }
        }
    };
}

pub(crate) use with_ports;

/// Runs one of the engine's changing operations (`apply::apply`, `teardown::teardown`: same
/// arguments) over a [`Prepared`] setup, its clients reporting each retry to `$events`.
macro_rules! changing {
    ($prepared:expr, $operation:path, $events:expr, $cancel:expr) => {{
        let (prepared, events) = ($prepared, $events);
        let octopus = prepared.octopus.reporting_to(events.clone());
        let cloud = prepared.cloud.reporting_to(events.clone());
        with_ports!(&octopus, &cloud, |ports| {
            $operation(
                &prepared.observation,
                ports,
                &prepared.journal,
                &**events,
                $cancel,
            )
            .await
        })
    }};
}

fn field(field: &str, problem: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem::invalid_input(vec![FieldError {
        field: field.into(),
        problem: problem.into(),
        fix: fix.into(),
    }])
}

fn internal(what: &str, e: impl std::fmt::Display) -> Problem {
    Problem::new(ErrorCode::Internal, format!("{what}: {e}"))
}

impl SetupRun {
    /// Real adapters, the OS keychain and the process environment.
    pub fn real(aws_default_chain: bool) -> SetupRun {
        SetupRun {
            keys: ApiKeyStore::new(),
            env: Arc::new(|n| std::env::var(n).ok()),
            sandbox: None,
            aws_default_chain,
            ignore_preflight: false,
            connected: None,
            signed_in: SignedInClouds::default(),
            deadline: None,
        }
    }

    /// Reads environment variables (credentials, the journal's folder) through `env`.
    pub fn with_env(mut self, env: EnvReader) -> SetupRun {
        self.env = env;
        self
    }

    /// Uses `client` (already signed in) for setups on its server.
    pub fn with_octopus(mut self, client: RestOctopus) -> SetupRun {
        self.connected = Some(client);
        self
    }

    /// Uses the cloud clients the face signed in with before any credential of the
    /// environment (see [`SignedInClouds`]).
    pub fn with_signed_in(mut self, clouds: SignedInClouds) -> SetupRun {
        self.signed_in = clouds;
        self
    }

    /// The same run with every remote call of the clients (retries and waits included)
    /// limited to `deadline` instead of the clients' defaults (5 minutes; 60 s for a
    /// sandbox's Octopus). A call past it fails with code `timeout`, or with its last failure.
    pub fn with_deadline(mut self, deadline: std::time::Duration) -> SetupRun {
        self.deadline = Some(deadline);
        self
    }

    /// Only the sandbox of this env file.
    pub fn sandbox(env: SandboxEnv) -> SetupRun {
        SetupRun {
            sandbox: Some(env),
            ..SetupRun::real(false)
        }
    }

    /// Lets apply start even when the preflight finds missing permissions or a blocking
    /// issuer problem (the user's explicit choice, `--ignore-preflight`).
    pub fn ignoring_preflight(mut self, ignore: bool) -> SetupRun {
        self.ignore_preflight = ignore;
        self
    }

    /// Whether this run uses a sandbox.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// Reads and validates a setup file; no remote call.
    pub fn load(&self, path: &Path) -> Result<LoadedSetup, Problem> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            field(
                FILE_FIELD,
                format!("cannot read {}: {e}", path.display()),
                "Give the path of a setup file (octo-oidc init writes one)",
            )
        })?;
        let parsed = parse_setup(&text)?;
        let mut loaded = self.adopt(parsed.setup, path)?;
        loaded.warnings = parsed.warnings;
        Ok(loaded)
    }

    /// Takes a validated setup (read from `path`, or drafted in the window) into this run:
    /// with a sandbox a GitHub setup trusts the sandbox's issuer; without one the setup must
    /// name its Octopus Server.
    pub fn adopt(&self, mut setup: Setup, path: &Path) -> Result<LoadedSetup, Problem> {
        if let Some(env) = &self.sandbox {
            if let TargetSpec::Ci(ci) = &mut setup.spec
                && ci.ci == CiSystem::Github
            {
                ci.issuer = env.require("GITHUB_ISSUER")?.to_string();
            }
        } else if setup.octopus_url.is_none() {
            return Err(field(
                "octopus.url",
                "is missing",
                "Add url = \"https://your-octopus\" under [octopus] (or run with --sandbox)",
            ));
        }
        Ok(LoadedSetup {
            path: path.to_path_buf(),
            setup,
            warnings: Vec::new(),
        })
    }

    /// The sandbox of this run, if it uses one.
    pub(crate) fn sandbox_env(&self) -> Option<&SandboxEnv> {
        self.sandbox.as_ref()
    }

    /// The Octopus server a request names: `url`, else the signed-in client's; neither is a
    /// field error on `octopus.url` (no request made).
    pub(crate) fn octopus_url_for(&self, url: Option<&str>) -> Result<String, Problem> {
        match (
            url.map(str::trim).filter(|u| !u.is_empty()),
            &self.connected,
        ) {
            (Some(u), _) => Ok(u.to_string()),
            (None, Some(client)) => Ok(client.server_url().to_string()),
            (None, None) => Err(field(
                "octopus.url",
                "no Octopus server was given",
                "Pass --octopus-url https://your-octopus (or --sandbox PATH)",
            )),
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }

    /// The Octopus client for the server at `octopus_url` (the sandbox's with a sandbox).
    pub(crate) async fn octopus(&self, octopus_url: Option<&str>) -> Result<RestOctopus, Problem> {
        if let Some(env) = &self.sandbox {
            let (mut config, key) = sandbox_octopus_config(env, "OCTOPUS_URL")?;
            if let Some(deadline) = self.deadline {
                config.deadline = deadline;
            }
            return Ok(RestOctopus::new(config, key)?);
        }
        let url = octopus_url.unwrap_or_default().to_string();
        let server = ServerUrl::parse(&url)
            .map_err(|e| field("octopus.url", e.to_string(), "Give the server's URL"))?;
        if let Some(client) = &self.connected
            && client.server_url() == &server
        {
            return Ok(client.clone());
        }
        let key = match self.var(API_KEY_ENV_VAR) {
            Some(k) => Secret::new(k),
            None => {
                let keys = self.keys.clone();
                let env = self.env.clone();
                let s = server.clone();
                tokio::task::spawn_blocking(move || keys.resolve(&s, |n| env(n)))
                    .await
                    .map_err(|e| internal("the keychain call did not complete", e))??
                    .key
            }
        };
        let mut config = OctopusClientConfig::new(server);
        if let Some(deadline) = self.deadline {
            config.deadline = deadline;
        }
        Ok(RestOctopus::new(config, key)?)
    }

    fn azure_transport(&self) -> Result<Transport, Problem> {
        let ca = match &self.sandbox {
            Some(env) => Some(env.ca_pem()?),
            None => None,
        };
        let http = octo_oidc_http::build_client(&octo_oidc_http::ClientSettings {
            ca_bundle_pem: ca,
            ..Default::default()
        })
        .map_err(|e| internal("cannot build the HTTP client", e))?;
        let transport = Transport::new(http);
        Ok(match self.deadline {
            Some(deadline) => transport.with_deadline(deadline),
            None => transport,
        })
    }

    fn google(&self, gcp: &GcpSetup) -> Result<RestGoogleCloud, Problem> {
        let (sign_in, endpoints, ca) = match &self.sandbox {
            Some(env) => (
                GoogleSignIn::from_json(&env.gcp_credentials()?)?,
                GcpEndpoints::from_vars(|k| env.get(k).map(str::to_string)),
                Some(env.ca_pem()?),
            ),
            None => {
                let sign_in = match &gcp.credentials_file {
                    Some(path) => GoogleSignIn::from_file(Path::new(path)).map_err(|e| {
                        field(
                            "gcp.credentials_file",
                            e.to_string(),
                            "Give the path of a service-account key, an authorized-user or an external-account file, or remove it to use Application Default Credentials",
                        )
                    })?,
                    None => GoogleSignIn::application_default().map_err(|e| {
                        field(
                            "gcp.credentials_file",
                            format!("no Google credentials were found: {e}"),
                            "Run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or set credentials_file under [gcp]",
                        )
                    })?,
                };
                (sign_in, GcpEndpoints::google(), None)
            }
        };
        let settings = octo_oidc_http::ClientSettings {
            ca_bundle_pem: ca,
            ..Default::default()
        };
        let client = RestGoogleCloud::new(sign_in, endpoints, &settings)?;
        Ok(match self.deadline {
            Some(deadline) => client.with_retry(octo_oidc_core::retry::RetrySettings {
                deadline,
                ..Default::default()
            }),
            None => client,
        })
    }

    /// The clients of `setup`'s target, and their sign-in still to make (Azure: both tokens;
    /// nothing for the others): observe runs it beside its first Octopus reads, and every
    /// cloud read waits for it.
    pub(crate) async fn cloud(&self, setup: &Setup) -> Result<(Cloud, SignIn), Problem> {
        let signed_in: SignIn = Box::pin(std::future::ready(Ok(())));
        match &setup.spec {
            TargetSpec::Ci(_) => Ok((Cloud::None, signed_in)),
            TargetSpec::Gcp(gcp) => Ok((Cloud::Gcp(self.google(gcp)?), signed_in)),
            TargetSpec::Aws(aws) => {
                let region = aws
                    .region
                    .clone()
                    .unwrap_or_else(|| DEFAULT_REGION.to_string());
                // `prepare` has resolved an unset region already (see `resolve_region`).
                let connection = match self.signed_in_aws(aws.profile.as_deref()) {
                    Some(connection) => connection.in_region(&region),
                    None => self.aws_connection(aws, region).await?,
                };
                let iam = SdkIam::new(&connection);
                let iam = match self.deadline {
                    Some(deadline) => iam.with_deadline(deadline),
                    None => iam,
                };
                Ok((Cloud::Aws(Box::new(iam)), signed_in))
            }
            TargetSpec::Azure(azure) => {
                let (graph_url, arm_url) = match &self.sandbox {
                    Some(env) => (
                        env.require("GRAPH_URL")?.to_string(),
                        env.require("ARM_URL")?.to_string(),
                    ),
                    None => (
                        "https://graph.microsoft.com".to_string(),
                        "https://management.azure.com".to_string(),
                    ),
                };
                let session = match &self.signed_in.azure {
                    Some(session) => session.clone(),
                    None => self.azure_session(&azure.tenant_id)?,
                };
                let graph =
                    GraphEntraApps::new(session.clone(), &graph_url).in_tenant(&azure.tenant_id);
                let arm = ArmRbac::new(session.clone(), &arm_url).in_tenant(&azure.tenant_id);
                // Both tokens at once, before any Azure read (each read would otherwise fetch
                // its own on first use; a sign-in failure surfaces before any lookup).
                let tenant = azure.tenant_id.clone();
                let signed_in: SignIn = Box::pin(async move {
                    let tenant = Some(tenant.as_str());
                    tokio::try_join!(
                        session.access_token(Resource::Graph, tenant),
                        session.access_token(Resource::Arm, tenant)
                    )?;
                    Ok(())
                });
                Ok((Cloud::Azure(graph, arm), signed_in))
            }
        }
    }

    /// The face's AWS connection, if it has one a setup naming `profile` may use: the setup
    /// names no profile (typed keys, or the profile the face connected with), or the same one.
    fn signed_in_aws(&self, profile: Option<&str>) -> Option<&AwsConnection> {
        self.signed_in
            .aws
            .as_ref()
            .filter(|connection| profile.is_none() || profile == connection.profile())
    }

    /// The AWS connection of the run's own credentials: the sandbox's key, else the setup's
    /// profile, the exported keys or (when allowed) the SDK's default chain.
    async fn aws_connection(
        &self,
        aws: &octo_oidc_engine::setup_file::AwsSetup,
        region: String,
    ) -> Result<AwsConnection, Problem> {
        let mut options = match &self.sandbox {
            Some(env) => ConnectOptions::new(CredentialSource::AccessKey {
                access_key_id: env.require("AWS_ACCESS_KEY_ID")?.to_string(),
                secret_access_key: env.secret("AWS_SECRET_ACCESS_KEY")?,
                session_token: None,
            })
            .with_endpoint(env.require("AWS_ENDPOINT_URL")?),
            None => {
                let source = match (&aws.profile, self.var("AWS_ACCESS_KEY_ID")) {
                    (Some(p), _) => CredentialSource::Profile(p.clone()),
                    (None, Some(id)) => CredentialSource::AccessKey {
                        access_key_id: id,
                        secret_access_key: Secret::new(
                            self.var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
                        ),
                        session_token: self.var("AWS_SESSION_TOKEN").map(Secret::new),
                    },
                    (None, None) if self.aws_default_chain => CredentialSource::DefaultChain,
                    (None, None) => {
                        return Err(field(
                            "aws.profile",
                            "no AWS credentials were chosen",
                            "Set profile = \"NAME\" under [aws], export AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or pass --aws-default-chain",
                        ));
                    }
                };
                ConnectOptions::new(source)
            }
        };
        options.region = Some(region);
        AwsConnection::connect(options).await
    }

    /// The Azure session of the run's own credentials: the sandbox's automation app, else
    /// `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET` in `tenant`, else the Azure CLI / azd login.
    fn azure_session(&self, tenant: &str) -> Result<AzureSession, Problem> {
        let transport = self.azure_transport()?;
        let authority_url = match &self.sandbox {
            Some(env) => env.require("AZURE_AUTHORITY")?.to_string(),
            None => "https://login.microsoftonline.com".to_string(),
        };
        let env_var = |name: &str| match &self.sandbox {
            Some(env) => env.get(name).map(str::to_string),
            None => self.var(name),
        };
        Ok(
            match (env_var("AZURE_CLIENT_ID"), env_var("AZURE_CLIENT_SECRET")) {
                (Some(client_id), Some(secret)) => AzureSession::service_principal(
                    transport,
                    AuthorityConfig {
                        authority_url,
                        tenant: tenant.to_string(),
                        client_id,
                    },
                    Secret::new(secret),
                )?,
                _ if self.sandbox.is_some() => {
                    return Err(field(
                        crate::sandbox_env::SANDBOX_FIELD,
                        "the sandbox env file has no AZURE_CLIENT_ID / AZURE_CLIENT_SECRET",
                        "Write it with a current `octo-oidc sandbox --env-file PATH`",
                    ));
                }
                _ => AzureSession::developer_tools(transport)?,
            },
        )
    }

    /// An AWS setup without `aws.region` takes the region the AWS configuration names
    /// (`AWS_REGION`, the profile's `region`; the SDK's whole chain only with
    /// `--aws-default-chain`); a sandbox run without one uses the sandbox's `AWS_REGION`
    /// or us-east-1. None found is a field error on `aws.region`, before any remote call.
    async fn resolve_region(&self, setup: &mut Setup) -> Result<(), Problem> {
        let TargetSpec::Aws(aws) = &mut setup.spec else {
            return Ok(());
        };
        if aws.region.is_some() {
            return Ok(());
        }
        let found = match &self.sandbox {
            Some(env) => Some(env.get("AWS_REGION").unwrap_or(DEFAULT_REGION).to_string()),
            None => {
                let env = self.env.clone();
                configured_region(
                    aws.profile.as_deref(),
                    &ProfileFilePaths::default(),
                    &move |n| env(n),
                    self.aws_default_chain,
                )
                .await?
            }
        };
        match found {
            Some(region) => {
                aws.region = Some(region);
                Ok(())
            }
            None => Err(field(
                "aws.region",
                "is not set, and neither AWS_REGION nor the AWS profile names a region",
                "Add region = \"eu-west-1\" (your region) under [aws], or set region in the profile (aws configure set region …)",
            )),
        }
    }

    /// Connects the clients `setup` needs and observes it (lookups only; nothing changes).
    pub async fn prepare(&self, loaded: &LoadedSetup) -> Result<Prepared, Problem> {
        let mut setup = loaded.setup.clone();
        self.resolve_region(&mut setup).await?;
        let setup = &setup;
        let octopus = self.octopus(setup.octopus_url.as_deref()).await?;
        let (cloud, signed_in) = self.cloud(setup).await?;
        let server_url = octopus.server_url().as_key();
        // The engine starts every read as soon as what it needs is in: the space listing,
        // the cloud's sign-in and the issuer check (discovery, then its keys) run at once
        // with its first Octopus reads.
        let space = async {
            let spaces = octopus.spaces().await?;
            Ok(resolve_space(&spaces, &setup.space)?.id.clone())
        };
        let issuer = async { issuer_facts(&octopus).await.ok() };
        let real_cloud = self.sandbox.is_none();
        let (observation, preflight) = with_ports!(&octopus, &cloud, |ports| {
            // Boxed: the reads' future is deep, and every face awaits `prepare`.
            Box::pin(observe_with_preflight(
                setup,
                HostReads {
                    space,
                    signed_in,
                    issuer,
                },
                &server_url,
                real_cloud,
                ports,
            ))
            .await
        })?;
        let env = self.env.clone();
        let journal = FileJournal::for_setup(&data_dir(&|n| env(n))?, &setup.name);
        Ok(Prepared {
            octopus,
            cloud,
            sandbox_env: self.sandbox.clone(),
            observation,
            preflight,
            ignore_preflight: self.ignore_preflight,
            journal,
        })
    }
}

/// What a successful apply leaves for the user: the CI snippet, for CI targets.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The engine's report.
    pub report: ApplyReport,
    /// The pipeline's sign-in snippet (CI targets), with the service account's id.
    pub snippet: Option<String>,
    /// Google Cloud: the service account each step impersonates (set on the step as
    /// `Octopus.Action.GoogleCloud.ServiceAccountEmails`, not on the account).
    pub google_service_account: Option<String>,
}

impl Prepared {
    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.observation.plan
    }

    /// Where the journal is.
    pub fn journal_path(&self) -> &Path {
        self.journal.path()
    }

    /// Applies the plan, reporting each step to `events`. Refused before any call
    /// (`permission_denied`, every step `not_run`) when the preflight found a blocking gap,
    /// unless the run ignores the preflight.
    pub async fn apply(&self, events: Arc<dyn ProgressSink>, cancel: &dyn Cancellation) -> Applied {
        if !self.ignore_preflight
            && let Some(problem) = refusal(&self.preflight)
        {
            return Applied {
                report: ApplyReport::not_started(&self.observation, Some(problem)),
                snippet: None,
                google_service_account: None,
            };
        }
        let report = changing!(self, octo_oidc_engine::apply::apply, &events, cancel);
        let snippet = self.snippet(&report);
        let google_service_account =
            octo_oidc_engine::google::service_account_of(&self.observation.desired)
                .map(str::to_string);
        Applied {
            report,
            snippet,
            google_service_account,
        }
    }

    fn snippet(&self, report: &ApplyReport) -> Option<String> {
        let ci = self.observation.desired.ci.as_ref()?;
        let external_id = report
            .outputs
            .get("oidc_identity.external_id")
            .cloned()
            .or_else(|| {
                self.observation
                    .observed
                    .service_account
                    .as_ref()
                    .and_then(|s| s.external_id.clone())
            })?;
        Some(ci_snippet(ci.ci, &ci.server_url, &external_id))
    }

    /// Verifies the trust as it exists now (issuer, cloud side, simulation, the account
    /// test).
    pub async fn verify(&self) -> Result<VerifyReport, Problem> {
        verify_observation(
            &self.octopus,
            &self.cloud,
            self.sandbox_env.as_ref(),
            &self.observation,
        )
        .await
    }

    /// Removes what this setup created.
    pub async fn teardown(
        &self,
        events: Arc<dyn ProgressSink>,
        cancel: &dyn Cancellation,
    ) -> TeardownReport {
        changing!(self, octo_oidc_engine::teardown::teardown, &events, cancel)
    }

    /// What exists now, with the journal's last word per resource.
    pub fn status(&self) -> Result<Vec<StatusItem>, Problem> {
        octo_oidc_engine::teardown::status(&self.observation, &self.journal)
    }
}

/// Verify over an observation with the clients of its target: issuer, cloud side,
/// simulation, the account test; in the sandbox also the token trades (a setup's, or an
/// existing account's, see [`crate::existing_account`]).
pub(crate) async fn verify_observation(
    octopus: &RestOctopus,
    cloud: &Cloud,
    sandbox_env: Option<&SandboxEnv>,
    observation: &Observation,
) -> Result<VerifyReport, Problem> {
    let facts = issuer_facts(octopus).await?;
    // Token trades, in the sandbox only: its Octopus mints real tokens for runs in and near
    // the scope (AWS, Azure) and signs any claims (Google Cloud's near misses); verify
    // trades them with the cloud (STS, Entra, Google STS); for CI targets its GitHub-style
    // issuer mints workflow tokens, traded at the sandbox Octopus's /token/v1.
    let tokens = match sandbox_env {
        Some(env) => Some(
            SandboxTokens::new(env)?.minting_runs(octopus.clone(), &observation.facts.space.id),
        ),
        None => None,
    };
    let options = VerifyOptions {
        real_cloud: sandbox_env.is_none(),
        token_trades: tokens.is_some(),
        ..VerifyOptions::default()
    };
    // A refused trade is an answer here, not IAM propagation to wait out: STS's
    // AccessDenied is not retried while verify trades.
    let cloud = match (cloud, options.token_trades) {
        (Cloud::Aws(iam), true) => {
            Cloud::Aws(Box::new(iam.as_ref().clone().with_propagation_policy(
                octo_oidc_core::retry::RetryPolicy {
                    max_retries: 0,
                    ..octo_oidc_core::retry::RetryPolicy::fast()
                },
            )))
        }
        (other, _) => other.clone(),
    };
    // A CI runner signs in at the server's public URL, whose discovery document names the
    // token endpoint; in the sandbox that is OCTOPUS_PUBLIC_URL, not the loopback listener.
    let public;
    let octopus = match (sandbox_env, &cloud) {
        (Some(env), Cloud::None) => {
            let (config, key) = sandbox_octopus_config(env, "OCTOPUS_PUBLIC_URL")?;
            public = RestOctopus::new(config, key)?;
            &public
        }
        _ => octopus,
    };
    Ok(with_ports!(octopus, &cloud, |ports| {
        match &tokens {
            Some(tokens) => {
                octo_oidc_engine::verify::verify(observation, Some(&facts), options, ports, tokens)
                    .await
            }
            None => {
                octo_oidc_engine::verify::verify(
                    observation,
                    Some(&facts),
                    options,
                    ports,
                    &NoTokens,
                )
                .await
            }
        }
    }))
}

/// The sandbox Octopus's client settings at the env file's `url_var` (`OCTOPUS_URL`, the
/// loopback listener; `OCTOPUS_PUBLIC_URL`, its issuer's origin), with its CA and host names.
fn sandbox_octopus_config(
    env: &SandboxEnv,
    url_var: &str,
) -> Result<(OctopusClientConfig, Secret), Problem> {
    let url = env.require(url_var)?;
    let server = ServerUrl::parse(url)
        .map_err(|e| Problem::new(ErrorCode::InvalidInput, format!("{url_var}: {e}")))?;
    let mut config = OctopusClientConfig::new(server);
    config.ca_bundle_pem = Some(env.ca_pem()?);
    config.resolve = env.resolve();
    config.deadline = std::time::Duration::from_secs(60);
    Ok((config, env.secret("OCTOPUS_API_KEY")?))
}

/// The issuer check (discovery + JWKS fetched anonymously, the reachability rule) as the
/// engine's [`IssuerFacts`].
async fn issuer_facts(octopus: &RestOctopus) -> Result<IssuerFacts, Problem> {
    let issuer = octopus.check_issuer().await?;
    Ok(IssuerFacts {
        usable_keys: issuer.keys.iter().filter(|k| k.usable).count(),
        issuer: issuer.issuer,
        is_https: issuer.is_https,
        has_trailing_slash: issuer.has_trailing_slash,
        not_public: match issuer.reachability {
            Reachability::LooksPublic => None,
            Reachability::NotPublic { reason } => Some(reason),
        },
    })
}

/// `init`'s check of a drafted setup file: its text as the engine's writer writes it, or
/// every field that is still missing or wrong (so a face asks only for those).
pub fn check_draft(file: &octo_oidc_engine::setup_file::SetupFile) -> Result<String, Problem> {
    let text = octo_oidc_engine::setup_file::write_setup(file);
    parse_setup(&text)?;
    Ok(text)
}
