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
use octo_oidc_core::ports::SpaceInventory;
use octo_oidc_core::{ErrorCode, Problem, ServerUrl};
use octo_oidc_octopus::connection::ConnectionReport;
use octo_oidc_octopus::keychain::{self, ApiKeyStore, KeychainError};
use octo_oidc_octopus::login::{self, SignedIn};
use octo_oidc_octopus::{OctopusClientConfig, RestOctopus};
use octo_oidc_sandbox::SandboxOptions;

use crate::app_info::{AppInfo, PRODUCT_NAME};
use crate::connect_form::{self, ConnectForm};
use crate::inventory::resolve_space;
use crate::keychain::{KeychainStatus, probe};
use crate::octopus_connection::{ApiKeyKept, OctopusConnectionSummary, SignedOut, summarize};
use crate::sandbox::{self, RunningSandbox, SandboxOctopusAccess, SandboxSummary};

/// Reads an environment variable (the process environment, or a test's own).
type EnvReader = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The connected Octopus client and what the faces were told about it.
struct Connected {
    client: RestOctopus,
    summary: OctopusConnectionSummary,
    /// The sandbox start it belongs to, when it is the sandbox's Octopus.
    sandbox_generation: Option<u64>,
}

/// One run's connections and use cases. Cheap to share (`&Session` from many tasks).
pub struct Session {
    keys: ApiKeyStore,
    env: EnvReader,
    octopus: Mutex<Option<Connected>>,
    sandbox: Mutex<Option<RunningSandbox>>,
    sandbox_gate: tokio::sync::Mutex<()>,
    sandbox_starts: AtomicU64,
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
fn lock<T>(slot: &Mutex<T>) -> MutexGuard<'_, T> {
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
            sandbox_gate: tokio::sync::Mutex::new(()),
            sandbox_starts: AtomicU64::new(0),
        }
    }

    /// The product, its version and whether the keychain answers.
    pub async fn app_info(&self) -> AppInfo {
        AppInfo {
            product_name: PRODUCT_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            keychain: self.keychain_status().await,
        }
    }

    /// Whether an API key could be kept in the OS keychain.
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

    // ---- the built-in Sandbox -------------------------------------------------------------

    /// Starts the sandbox with the `demo` profile, or returns the one already running.
    pub async fn start_sandbox(&self) -> Result<SandboxSummary, Problem> {
        let _starting = self.sandbox_gate.lock().await;
        if let Some(running) = lock(&self.sandbox).as_ref() {
            return Ok(running.summary());
        }
        let options = SandboxOptions::default();
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
