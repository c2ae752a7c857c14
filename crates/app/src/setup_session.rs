//! The window's setup use cases on the [`Session`]: a setup — the wizard's draft, or a saved
//! setup file — planned against what exists, applied with live progress, verified, torn down,
//! saved and opened. Each one goes through [`crate::setup_run`], the functions the CLI calls:
//! the session only says where credentials come from (its signed-in Octopus client, or the
//! built-in Sandbox as if it were an env file) and keeps the cancel switch of the one run in
//! progress.
//!
//! Every use case observes again before it acts (lookups only), so an apply after a plan, a
//! retry after a failure and a resume after a restart all converge from the journal and live
//! state.
//!
//! Deliberately absent: rendering (the views are in [`crate::run_report`]) and any planning
//! (the engine's).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use octo_oidc_core::error::FieldError;
use octo_oidc_core::events::ProgressSink;
use octo_oidc_core::retry::CancelToken;
use octo_oidc_core::{ErrorCode, Problem};
use octo_oidc_engine::setup_file::{FILE_FIELD, parse_setup};
use serde::{Deserialize, Serialize};

use crate::run_report::{
    self, ApplyOutcome, ConsoleLinks, PlanView, TeardownOutcome, VerifyView, repeat_command,
};
use crate::sandbox_env::SandboxEnv;
use crate::session::Session;
use crate::setup_draft::{self, SetupDraft};
use crate::setup_run::{LoadedSetup, Prepared, SetupRun};

/// Which setup a use case works on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SetupSource {
    /// The setup being filled in in the window.
    Draft {
        /// The draft.
        draft: Box<SetupDraft>,
    },
    /// A saved setup file.
    File {
        /// Its path.
        path: String,
    },
}

/// A setup file that was saved or opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SetupFileInfo {
    /// Where it is (absolute).
    pub path: String,
    /// The setup's name.
    pub name: String,
    /// `aws`, `azure`, `github`.
    pub target: String,
    /// Its text.
    pub text: String,
    /// The `octo-oidc` command that repeats it without the window.
    pub command: String,
}

fn file_problem(problem: impl Into<String>, fix: &str) -> Problem {
    Problem::invalid_input(vec![FieldError {
        field: FILE_FIELD.into(),
        problem: problem.into(),
        fix: fix.into(),
    }])
}

/// Where the built-in Sandbox's env file would be for the CLI (the command names it).
const SANDBOX_ENV_HINT: &str = "sandbox.env";

impl Session {
    /// Where this session's credentials come from: the built-in Sandbox when its Octopus is
    /// the connected one, else the real adapters with the signed-in Octopus client; in both,
    /// the clouds signed in to on "Connect the cloud" before any other credential.
    pub(crate) fn setup_run(&self) -> SetupRun {
        let env = self.env_reader();
        let signed_in = self.signed_in_clouds();
        if let Some(sandbox) = self.connected_sandbox_env() {
            return SetupRun::sandbox(SandboxEnv::in_process(sandbox.vars, &sandbox.ca_pem))
                .with_env(env)
                .with_signed_in(signed_in);
        }
        let run = SetupRun::real(false)
            .with_env(env)
            .with_signed_in(signed_in);
        match self.octopus_client() {
            Some(client) => run.with_octopus(client),
            None => run,
        }
    }

    /// The setup a source stands for, read and validated (no request), and its file text.
    fn load_source(
        &self,
        run: &SetupRun,
        source: &SetupSource,
    ) -> Result<(LoadedSetup, String), Problem> {
        match source {
            SetupSource::Draft { draft } => {
                let server_url = self.draft_server_url(run);
                let (setup, check) = setup_draft::check(draft, server_url.as_deref())?;
                let path = PathBuf::from(format!("{}.toml", setup.name));
                Ok((run.adopt(setup, &path)?, check.setup_file))
            }
            SetupSource::File { path } => {
                let loaded = run.load(Path::new(path))?;
                let text = std::fs::read_to_string(&loaded.path).unwrap_or_default();
                Ok((loaded, text))
            }
        }
    }

    /// The server a draft names: the connected one, except in the Sandbox (its port changes
    /// with every start, and a sandbox run ignores it).
    fn draft_server_url(&self, run: &SetupRun) -> Option<String> {
        if run.is_sandbox() {
            return None;
        }
        self.octopus_client().map(|c| c.server_url().to_string())
    }

    async fn prepared(&self, source: &SetupSource) -> Result<(Prepared, String), Problem> {
        self.prepared_with(self.setup_run(), source).await
    }

    async fn prepared_with(
        &self,
        run: SetupRun,
        source: &SetupSource,
    ) -> Result<(Prepared, String), Problem> {
        let (loaded, text) = self.load_source(&run, source)?;
        // Boxed: connecting and observing is a deep future, and the window's commands wrap it
        // in more (rustc's layout queries would overflow their depth limit).
        let prepared = Box::pin(run.prepare(&loaded)).await?;
        Ok((prepared, text))
    }

    /// The engine's plan of a setup against what exists now (lookups only).
    pub async fn plan_setup(&self, source: &SetupSource) -> Result<PlanView, Problem> {
        let (prepared, text) = self.prepared(source).await?;
        Ok(run_report::plan_view(
            prepared.plan(),
            &prepared.preflight,
            text,
        ))
    }

    /// Starts a run that [`Session::cancel_run`] can stop between steps; only one at a time.
    /// Runs `body` as the one apply or teardown of this session, with the token that cancels
    /// it; refused while another one runs. The slot is free again when `body` ends.
    async fn exclusive_run<T, Fut>(
        &self,
        body: impl FnOnce(CancelToken) -> Fut,
    ) -> Result<T, Problem>
    where
        Fut: std::future::Future<Output = Result<T, Problem>>,
    {
        let token = {
            let mut slot = self.run_slot();
            if slot.as_ref().is_some_and(|t| !t.is_cancelled()) {
                return Err(Problem::new(
                    ErrorCode::Conflict,
                    "Another apply or teardown is still running.",
                )
                .with_hint("Wait for it to finish, or cancel it first."));
            }
            let token = CancelToken::new();
            *slot = Some(token.clone());
            token
        };
        let result = body(token).await;
        *self.run_slot() = None;
        result
    }

    /// Asks the running apply or teardown to stop before its next step; false if none runs.
    pub fn cancel_run(&self) -> bool {
        match self.run_slot().as_ref() {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    fn links(&self, prepared: &Prepared) -> ConsoleLinks {
        ConsoleLinks {
            octopus_url: prepared.observation.facts.server_url.clone(),
            space_id: prepared.observation.facts.space.id.clone(),
            gcp_project_id: prepared
                .observation
                .facts
                .gcp_project
                .as_ref()
                .map(|p| p.project_id.clone()),
        }
    }

    /// Observes, then applies the plan, reporting each step (and each retry) to `events`.
    /// Running it again resumes: the engine converges from the journal and live state. A
    /// blocking preflight gap stops it before any change unless `ignore_preflight` (the user
    /// chose to proceed anyway, as with the CLI's `--ignore-preflight`).
    pub async fn apply_setup(
        &self,
        source: &SetupSource,
        ignore_preflight: bool,
        events: Arc<dyn ProgressSink>,
    ) -> Result<ApplyOutcome, Problem> {
        self.exclusive_run(|token| async move {
            let run = self.setup_run().ignoring_preflight(ignore_preflight);
            let (prepared, _) = self.prepared_with(run, source).await?;
            let applied = prepared.apply(events, &token).await;
            Ok(run_report::apply_outcome(
                prepared.plan(),
                &applied.report,
                applied.snippet,
                prepared.journal_path().display().to_string(),
                &self.links(&prepared),
            ))
        })
        .await
    }

    /// Verifies the trust as it exists now: issuer, cloud side, the simulator's matrix, the
    /// Octopus account test with its log.
    pub async fn verify_setup(&self, source: &SetupSource) -> Result<VerifyView, Problem> {
        let (prepared, _) = self.prepared(source).await?;
        Ok(run_report::verify_view(&prepared.verify().await?))
    }

    /// Removes what the setup created (and only that), reporting each step to `events`.
    pub async fn teardown_setup(
        &self,
        source: &SetupSource,
        events: Arc<dyn ProgressSink>,
    ) -> Result<TeardownOutcome, Problem> {
        self.exclusive_run(|token| async move {
            let (prepared, _) = self.prepared(source).await?;
            Ok(run_report::teardown_outcome(
                &prepared.teardown(events, &token).await,
            ))
        })
        .await
    }

    fn file_info(
        &self,
        run: &SetupRun,
        path: &Path,
        text: String,
    ) -> Result<SetupFileInfo, Problem> {
        let parsed = parse_setup(&text)?;
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let shown = path.display().to_string();
        Ok(SetupFileInfo {
            command: repeat_command(&shown, run.is_sandbox().then_some(SANDBOX_ENV_HINT)),
            path: shown,
            name: parsed.setup.name.clone(),
            target: parsed.setup.file.target.as_str().to_string(),
            text,
        })
    }

    /// Writes the draft's setup file (no secret) to `path`, creating its folder.
    pub fn save_setup_file(
        &self,
        draft: &SetupDraft,
        path: &str,
    ) -> Result<SetupFileInfo, Problem> {
        let path = path.trim();
        if path.is_empty() {
            return Err(file_problem(
                "no path was given",
                "Give the path of the file to write, e.g. ~/octo-oidc/shop.toml",
            ));
        }
        let path = expand_home(path, |n| self.env_var(n));
        let run = self.setup_run();
        let (_, check) = setup_draft::check(draft, self.draft_server_url(&run).as_deref())?;
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| {
                file_problem(
                    format!("cannot create {}: {e}", folder.display()),
                    "Choose a folder you can write to",
                )
            })?;
        }
        std::fs::write(&path, &check.setup_file).map_err(|e| {
            file_problem(
                format!("cannot write {}: {e}", path.display()),
                "Choose a path you can write to",
            )
        })?;
        self.file_info(&run, &path, check.setup_file)
    }

    /// Reads and validates a saved setup file (no request), for a rerun, verify or teardown.
    pub fn open_setup_file(&self, path: &str) -> Result<SetupFileInfo, Problem> {
        let path = expand_home(path.trim(), |n| self.env_var(n));
        let run = self.setup_run();
        let loaded = run.load(&path)?;
        let text = std::fs::read_to_string(&loaded.path).map_err(|e| {
            file_problem(
                format!("cannot read {}: {e}", loaded.path.display()),
                "Give the path of a setup file",
            )
        })?;
        self.file_info(&run, &loaded.path, text)
    }
}

/// `~/x` → `$HOME/x`.
fn expand_home(path: &str, env: impl Fn(&str) -> Option<String>) -> PathBuf {
    match (path.strip_prefix("~/"), env("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}
