//! [`Session`]: the connected clients of one run of a face (the desktop window, one CLI
//! command) and every use case that needs them, as one async method each.
//!
//! Locks guard only the slots (which Octopus client, which sandbox) and are never held across
//! a network call: a method copies what it needs out of a slot, lets go, does the remote work,
//! then stores the result. The one exception is the sandbox's start gate, held while the
//! sandbox binds its loopback listeners, so that two starts cannot race (status and every
//! other call stay answerable meanwhile).
//!
//! Deliberately absent: a progress sink per call (clients report retries to no one yet) and
//! remembering which server was used last (the faces keep that).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use octo_oidc_core::events::NoProgress;
use octo_oidc_core::ports::{Octopus, OctopusResource, SpaceInventory};
use octo_oidc_core::{ErrorCode, Problem, ServerUrl};
use octo_oidc_engine::desired::SpaceFacts;
use octo_oidc_octopus::connection::ConnectionReport;
use octo_oidc_octopus::keychain::{self, ApiKeyStore, KeychainError};
use octo_oidc_octopus::login::{self, SignedIn};
use octo_oidc_octopus::{OctopusClientConfig, RestOctopus};
use octo_oidc_sandbox::SandboxOptions;
use serde::Serialize;

use crate::app_info::{AppInfo, PRODUCT_NAME};
use crate::cloud_connect::{ConnectedAws, ConnectedAzure};
use crate::connect_form::{self, ConnectForm};
use crate::inventory::resolve_space;
use crate::keychain::{KeychainStatus, probe};
use crate::octopus_connection::{ApiKeyKept, OctopusConnectionSummary, SignedOut, summarize};
use crate::sandbox::{self, RunningSandbox, SandboxOctopusAccess, SandboxSummary};
use crate::setup_draft::{self, PLACEHOLDER_AWS_ACCOUNT, SetupDraft, SetupPreview};

/// Reads an environment variable (the process environment, or a test's own).
type EnvReader = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The connected Octopus client and what the faces were told about it.
pub(crate) struct Connected {
    client: RestOctopus,
    summary: OctopusConnectionSummary,
    /// The sandbox start it belongs to, when it is the sandbox's Octopus.
    pub(crate) sandbox_generation: Option<u64>,
}

/// The built-in Sandbox whose Octopus is the connected one: which start it is, its
/// variables (endpoints and made-up credentials) and its CA, copied out of its slot.
pub(crate) struct ConnectedSandbox {
    /// Which start of the Sandbox (a stop or restart changes it).
    pub(crate) generation: u64,
    /// Its `NAME=value` variables, as `octo-oidc sandbox` prints them.
    pub(crate) vars: Vec<(&'static str, String)>,
    /// Its test CA.
    pub(crate) ca_pem: String,
}

impl ConnectedSandbox {
    /// One of its variables; a missing one is a bug.
    pub(crate) fn var(&self, name: &str) -> Result<String, Problem> {
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                Problem::new(
                    ErrorCode::Internal,
                    format!("the Sandbox does not serve {name}"),
                )
                .with_hint("This is a bug in the wizard; please report it.")
            })
    }
}

/// What was read about one space, kept so the scope screen's live previews make no request.
#[derive(Clone)]
struct ReadSpace {
    server_url: String,
    wanted: String,
    facts: SpaceFacts,
}

/// One entry of a scope list: id, name and slug (subjects use the slug).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ScopeItem {
    /// E.g. `Projects-42`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
}

impl From<&OctopusResource> for ScopeItem {
    fn from(r: &OctopusResource) -> Self {
        ScopeItem {
            id: r.id.clone(),
            name: r.name.clone(),
            slug: r.slug.clone(),
        }
    }
}

/// What the scope screen chooses from in one space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ScopeChoices {
    /// The space.
    pub space: ScopeItem,
    /// Environments.
    pub environments: Vec<ScopeItem>,
    /// Projects.
    pub projects: Vec<ScopeItem>,
    /// Tenants.
    pub tenants: Vec<ScopeItem>,
    /// Runbooks (slug unique per project; the name shows the project).
    pub runbooks: Vec<ScopeItem>,
    /// Deployment targets (health checks).
    pub targets: Vec<ScopeItem>,
}

/// The issuer check as the Connect screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct IssuerVerdict {
    /// The issuer, verbatim (copy it exactly).
    pub issuer: String,
    /// Whether it is https (Azure and AWS require it).
    pub is_https: bool,
    /// Whether it ends in `/`.
    pub has_trailing_slash: bool,
    /// Whether the clouds can plausibly reach it.
    pub reachable_by_clouds: bool,
    /// Whether a signing key is usable.
    pub has_usable_key: bool,
    /// What to know or do, one sentence each.
    pub warnings: Vec<String>,
}

/// One run's connections and use cases. Cheap to share (`&Session` from many tasks).
pub struct Session {
    read_space: Mutex<Option<ReadSpace>>,
    keys: ApiKeyStore,
    env: EnvReader,
    pub(crate) octopus: Mutex<Option<Connected>>,
    pub(crate) sandbox: Mutex<Option<RunningSandbox>>,
    /// The Azure sign-in of the "Connect the cloud" screen (`cloud_connect`).
    pub(crate) azure: Mutex<Option<ConnectedAzure>>,
    /// The AWS connection of the "Connect the cloud" screen (`cloud_connect`).
    pub(crate) aws: Mutex<Option<ConnectedAws>>,
    sandbox_gate: tokio::sync::Mutex<()>,
    sandbox_starts: AtomicU64,
    /// The cancel switch of the apply or teardown in progress, if any.
    run: Mutex<Option<octo_oidc_core::retry::CancelToken>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("keys", &self.keys)
            .field("octopus", &self.octopus_connection().map(|c| c.server_url))
            .field("sandbox", &self.sandbox_status().map(|s| s.octopus_url))
            .finish_non_exhaustive()
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

/// Locks a slot; a panic elsewhere while holding it does not make the slot unusable.
pub(crate) fn lock<T>(slot: &Mutex<T>) -> MutexGuard<'_, T> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

fn internal(what: &str, error: impl std::fmt::Display) -> Problem {
    Problem::new(ErrorCode::Internal, format!("{what}: {error}"))
        .with_hint("This is a bug in the wizard; please report it.")
}

/// The problem for using the sandbox's Octopus before the sandbox runs.
pub fn sandbox_not_running() -> Problem {
    Problem::new(
        ErrorCode::InvalidInput,
        "The built-in Sandbox is not running, so there is no sandbox Octopus to connect to.",
    )
    .with_hint("Start the Sandbox first, then connect.")
}

/// The problem for a step that needs Octopus before any connection.
pub fn octopus_not_connected() -> Problem {
    Problem::new(
        ErrorCode::InvalidInput,
        "No Octopus Server is connected yet.",
    )
    .with_hint("Connect to Octopus first (server URL and API key, or the Sandbox).")
}

impl Session {
    /// A session with the OS keychain (service [`keychain::KEYCHAIN_SERVICE`]) and the
    /// process environment (`OCTOPUS_API_KEY` when no keychain is reachable).
    pub fn new() -> Self {
        Session::with_key_store(ApiKeyStore::new(), keychain::process_env)
    }

    /// A session with its own key store and environment (tests use a service name of their
    /// own, so they never touch a real key).
    pub fn with_key_store(
        keys: ApiKeyStore,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Session {
            keys,
            env: Arc::new(env),
            octopus: Mutex::new(None),
            sandbox: Mutex::new(None),
            azure: Mutex::new(None),
            aws: Mutex::new(None),
            sandbox_gate: tokio::sync::Mutex::new(()),
            read_space: Mutex::new(None),
            sandbox_starts: AtomicU64::new(0),
            run: Mutex::new(None),
        }
    }

    /// The product and its version (no IO: the window's first screen shows it).
    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            product_name: PRODUCT_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// Whether an API key could be kept in the OS keychain (asked where a key is entered).
    pub async fn keychain_status(&self) -> KeychainStatus {
        probe(&self.keys).await
    }

    // ---- Octopus ------------------------------------------------------------------------

    /// Validates the form, signs in with the typed key (kept in the keychain only once it
    /// worked; any keychain failure keeps it for this session with a notice), keeps the
    /// client and summarizes the connection. An invalid form sends no request.
    pub async fn connect_octopus(
        &self,
        form: ConnectForm,
    ) -> Result<OctopusConnectionSummary, Problem> {
        let checked = connect_form::check(&form)?;
        drop(form);
        let signed_in = login::sign_in(
            OctopusClientConfig::new(checked.server),
            checked.api_key,
            &self.keys,
            Arc::new(NoProgress),
        )
        .await?;
        self.keep_signed_in(signed_in).await
    }

    /// Connects again with the key stored for `server_url` (or, when no keychain is
    /// reachable, `OCTOPUS_API_KEY`).
    pub async fn reconnect_octopus(
        &self,
        server_url: &str,
    ) -> Result<OctopusConnectionSummary, Problem> {
        let server = connect_form::check_server_url(server_url)?;
        let env = self.env.clone();
        let signed_in = login::reconnect(
            OctopusClientConfig::new(server),
            &self.keys,
            move |name| env(name),
            Arc::new(NoProgress),
        )
        .await?;
        self.keep_signed_in(signed_in).await
    }

    /// Forgets the key stored for `server_url` and closes the session's connection to it.
    /// Without a reachable keychain nothing was stored, so nothing is forgotten.
    pub async fn sign_out(&self, server_url: &str) -> Result<SignedOut, Problem> {
        let server = connect_form::check_server_url(server_url)?;
        let disconnected = {
            let mut slot = lock(&self.octopus);
            let ours = slot
                .as_ref()
                .is_some_and(|c| c.client.server_url() == &server);
            if ours {
                *slot = None;
            }
            ours
        };
        let keys = self.keys.clone();
        let forget = server.clone();
        let deleted = tokio::task::spawn_blocking(move || keys.delete(&forget))
            .await
            .map_err(|e| internal("the keychain call did not complete", e))?;
        let key_forgotten = match deleted {
            Ok(had_one) => had_one,
            Err(KeychainError::Unavailable(_)) => false,
            Err(error) => return Err(error.into()),
        };
        Ok(SignedOut {
            server_url: server.as_key(),
            key_forgotten,
            disconnected,
        })
    }

    /// The connected Octopus client, if any (a cheap clone sharing its connection pool).
    pub fn octopus_client(&self) -> Option<RestOctopus> {
        lock(&self.octopus).as_ref().map(|c| c.client.clone())
    }

    /// What the faces were told about the current Octopus connection, if any.
    pub fn octopus_connection(&self) -> Option<OctopusConnectionSummary> {
        lock(&self.octopus).as_ref().map(|c| c.summary.clone())
    }

    async fn keep_signed_in(
        &self,
        signed_in: SignedIn,
    ) -> Result<OctopusConnectionSummary, Problem> {
        let SignedIn {
            client,
            report,
            key_source,
            keychain_problem,
        } = signed_in;
        let summary = summarize_connection(
            &client,
            &report,
            key_source.into(),
            keychain_problem.as_ref(),
        )
        .await?;
        *lock(&self.octopus) = Some(Connected {
            client,
            summary: summary.clone(),
            sandbox_generation: None,
        });
        Ok(summary)
    }

    /// The space's inventory (by id, slug or name) from the connected server.
    pub async fn load_inventory(&self, space: &str) -> Result<SpaceInventory, Problem> {
        let client = self.octopus_client().ok_or_else(octopus_not_connected)?;
        let spaces = client.spaces().await?;
        let space = resolve_space(&spaces, space)?;
        Ok(client.space_inventory(&space.id).await?)
    }

    /// The spaces the signed-in user can see.
    pub async fn spaces(&self) -> Result<Vec<ScopeItem>, Problem> {
        let client = self.octopus_client().ok_or_else(octopus_not_connected)?;
        Ok(client
            .spaces()
            .await?
            .into_iter()
            .map(|s| ScopeItem {
                id: s.id,
                name: s.name,
                slug: s.slug,
            })
            .collect())
    }

    /// The Octopus issuer check (discovery, keys, https, reachable by the clouds).
    pub async fn check_issuer(&self) -> Result<IssuerVerdict, Problem> {
        let client = self.octopus_client().ok_or_else(octopus_not_connected)?;
        let report = client.check_issuer().await?;
        Ok(IssuerVerdict {
            is_https: report.is_https,
            has_trailing_slash: report.has_trailing_slash,
            reachable_by_clouds: matches!(
                report.reachability,
                octo_oidc_octopus::issuer::Reachability::LooksPublic
            ),
            has_usable_key: report.has_usable_key(),
            warnings: report.warnings.clone(),
            issuer: report.issuer,
        })
    }

    /// Reads a space's facts (inventory, targets, issuer) once per server and space; later
    /// calls return what was read (`refresh` reads again).
    async fn space_facts(&self, wanted: &str, refresh: bool) -> Result<SpaceFacts, Problem> {
        let client = self.octopus_client().ok_or_else(octopus_not_connected)?;
        let server_url = client.server_url().to_string();
        let wanted = wanted.trim().to_string();
        if !refresh
            && let Some(read) = lock(&self.read_space).as_ref()
            && read.server_url == server_url
            && read.wanted == wanted
        {
            return Ok(read.facts.clone());
        }
        let spaces = client.spaces().await?;
        let space = resolve_space(&spaces, &wanted)?.clone();
        let (inventory, server) = tokio::try_join!(
            async {
                client
                    .space_inventory(&space.id)
                    .await
                    .map_err(Problem::from)
            },
            client.server_info(),
        )?;
        // SEAM: the engine still takes the targets beside the inventory.
        let targets = inventory.deployment_targets.clone();
        let facts = SpaceFacts {
            server,
            server_url: server_url.clone(),
            space: OctopusResource {
                id: space.id.clone(),
                name: space.name.clone(),
                slug: space.slug.clone(),
            },
            inventory,
            targets,
            aws_account_id: None,
            azure_role_definition_id: None,
            gcp_project: None,
        };
        *lock(&self.read_space) = Some(ReadSpace {
            server_url,
            wanted,
            facts: facts.clone(),
        });
        Ok(facts)
    }

    /// What the scope screen chooses from in a space (read once, see `refresh`).
    pub async fn scope_choices(&self, space: &str, refresh: bool) -> Result<ScopeChoices, Problem> {
        let facts = self.space_facts(space, refresh).await?;
        let inv = &facts.inventory;
        let project_name = |id: &str| {
            inv.projects
                .iter()
                .find(|p| p.resource.id == id)
                .map_or(String::new(), |p| p.resource.name.clone())
        };
        Ok(ScopeChoices {
            space: (&facts.space).into(),
            environments: inv.environments.iter().map(Into::into).collect(),
            projects: inv.projects.iter().map(|p| (&p.resource).into()).collect(),
            tenants: inv.tenants.iter().map(|t| (&t.resource).into()).collect(),
            runbooks: inv
                .runbooks
                .iter()
                .map(|r| ScopeItem {
                    id: r.resource.id.clone(),
                    name: format!("{} ({})", r.resource.name, project_name(&r.project_id)),
                    slug: r.resource.slug.clone(),
                })
                .collect(),
            targets: facts.targets.iter().map(Into::into).collect(),
        })
    }

    /// What the draft would do in its space: the exact subjects, the trust the engine would
    /// create, the simulator's matrix and the plan. Field errors come back as `invalid_input`.
    pub async fn preview_setup(&self, draft: &SetupDraft) -> Result<SetupPreview, Problem> {
        let server_url = self.octopus_client().map(|c| c.server_url().to_string());
        let (setup, check) = setup_draft::check(draft, server_url.as_deref())?;
        let mut facts = self.space_facts(&draft.space, false).await?;
        facts.aws_account_id = Some(self.aws_account_id());
        facts.gcp_project = Some(self.gcp_project(&draft.gcp.project));
        setup_draft::preview(&setup, check, &facts)
    }

    /// The slot of the run in progress (see `setup_session`).
    pub(crate) fn run_slot(&self) -> MutexGuard<'_, Option<octo_oidc_core::retry::CancelToken>> {
        lock(&self.run)
    }

    /// An environment variable as this session reads them.
    pub(crate) fn env_var(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    /// How this session reads environment variables.
    pub(crate) fn env_reader(&self) -> EnvReader {
        self.env.clone()
    }

    /// `read` of the built-in Sandbox whose Octopus is the connected one, if it is: the one
    /// place that decides whether this session is in the Sandbox.
    fn with_connected_sandbox<T>(&self, read: impl FnOnce(&RunningSandbox) -> T) -> Option<T> {
        let connected = lock(&self.octopus)
            .as_ref()
            .and_then(|c| c.sandbox_generation)?;
        let sandbox = lock(&self.sandbox);
        sandbox
            .as_ref()
            .filter(|running| running.generation == connected)
            .map(read)
    }

    /// The built-in Sandbox's start, variables and CA, when its Octopus is the connected one.
    pub(crate) fn connected_sandbox_env(&self) -> Option<ConnectedSandbox> {
        self.with_connected_sandbox(|running| ConnectedSandbox {
            generation: running.generation,
            vars: running.sandbox.env_vars(),
            ca_pem: running.sandbox.ca_pem().to_string(),
        })
    }

    /// The AWS account the preview uses: the connected AWS account's (screen 3), else the
    /// Sandbox's when its Octopus is the connected one, else a placeholder.
    fn aws_account_id(&self) -> String {
        if let Some(account) = self.connected_aws_account_id() {
            return account;
        }
        self.with_connected_sandbox(|running| running.sandbox.aws().account_id().to_string())
            .unwrap_or_else(|| PLACEHOLDER_AWS_ACCOUNT.to_string())
    }

    /// The Google Cloud project the preview uses: the Sandbox's when its Octopus is the
    /// connected one, else `project` with a placeholder number (the number is looked up when
    /// the plan observes).
    fn gcp_project(&self, project: &str) -> octo_oidc_core::ports::GcpProject {
        self.with_connected_sandbox(|running| octo_oidc_core::ports::GcpProject {
            project_id: running.sandbox.gcp().project_id(),
            project_number: running.sandbox.gcp().project_number(),
        })
        .unwrap_or_else(|| octo_oidc_core::ports::GcpProject {
            project_id: project.trim().to_string(),
            project_number: setup_draft::PLACEHOLDER_GCP_PROJECT_NUMBER.to_string(),
        })
    }

    // ---- the built-in Sandbox -------------------------------------------------------------

    /// Starts the sandbox (the `demo` profile unless [`sandbox::PROFILE_ENV`] names another),
    /// or returns the one already running.
    pub async fn start_sandbox(&self) -> Result<SandboxSummary, Problem> {
        let _starting = self.sandbox_gate.lock().await;
        if let Some(running) = lock(&self.sandbox).as_ref() {
            return Ok(running.summary());
        }
        let options = SandboxOptions {
            profile: sandbox::profile_from_env((self.env)(sandbox::PROFILE_ENV).as_deref())?,
            ..SandboxOptions::default()
        };
        let profile = options.profile.name();
        let running = RunningSandbox {
            generation: self.sandbox_starts.fetch_add(1, Ordering::SeqCst) + 1,
            profile,
            sandbox: sandbox::start(options).await?,
        };
        let summary = running.summary();
        *lock(&self.sandbox) = Some(running);
        Ok(summary)
    }

    /// The running sandbox, if it has been started.
    pub fn sandbox_status(&self) -> Option<SandboxSummary> {
        lock(&self.sandbox).as_ref().map(RunningSandbox::summary)
    }

    /// Stops the sandbox (and closes a connection to its Octopus); false if none was running.
    pub async fn stop_sandbox(&self) -> Result<bool, Problem> {
        let _stopping = self.sandbox_gate.lock().await;
        let running = {
            let mut sandbox = lock(&self.sandbox);
            let running = sandbox.take();
            if let Some(running) = &running {
                let mut octopus = lock(&self.octopus);
                if octopus
                    .as_ref()
                    .is_some_and(|c| c.sandbox_generation == Some(running.generation))
                {
                    *octopus = None;
                }
            }
            running
        };
        match running {
            Some(running) => {
                running.sandbox.shutdown().await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Connects to the running sandbox's Octopus with the sandbox's own key (never stored in
    /// the keychain), keeps the client and summarizes the connection.
    pub async fn connect_sandbox_octopus(&self) -> Result<OctopusConnectionSummary, Problem> {
        let access: SandboxOctopusAccess = lock(&self.sandbox)
            .as_ref()
            .map(RunningSandbox::octopus_access)
            .ok_or_else(sandbox_not_running)?;
        let server = ServerUrl::parse(&access.url)
            .map_err(|e| internal("the sandbox's Octopus URL is unusable", e))?;
        let https = server.is_https();
        let mut config = OctopusClientConfig::new(server);
        if https {
            config.ca_bundle_pem = Some(access.ca_pem.into_bytes());
        }
        let client = RestOctopus::new(config, access.api_key)?;
        let report = client.check_connection().await?;
        let summary = summarize_connection(&client, &report, ApiKeyKept::SessionOnly, None).await?;
        // Keep it only if the same sandbox still runs (lock order: sandbox, then octopus).
        let sandbox = lock(&self.sandbox);
        if sandbox.as_ref().map(|r| r.generation) != Some(access.generation) {
            return Err(Problem::new(
                ErrorCode::Cancelled,
                "The Sandbox was stopped while connecting to its Octopus.",
            )
            .with_hint("Start the Sandbox again, then connect."));
        }
        *lock(&self.octopus) = Some(Connected {
            client,
            summary: summary.clone(),
            sandbox_generation: Some(access.generation),
        });
        drop(sandbox);
        Ok(summary)
    }
}

async fn summarize_connection(
    client: &RestOctopus,
    report: &ConnectionReport,
    kept: ApiKeyKept,
    keychain_problem: Option<&Problem>,
) -> Result<OctopusConnectionSummary, Problem> {
    let spaces = client.spaces().await?;
    Ok(summarize(report, spaces.len(), kept, keychain_problem))
}
