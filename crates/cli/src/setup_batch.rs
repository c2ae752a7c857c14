//! What `plan`, `apply`, `verify`, `teardown` and `status` share: the arguments (files or
//! folders = a batch, `--sandbox`, `--json`), where credentials come from, running one
//! setup after another (one failure does not stop the others), and rendering a
//! [`Problem`] as text or JSON.
//!
//! Output: text on stdout (progress on stderr: [`crate::progress`]); with `--json`, one JSON
//! object per setup per line on stdout (`{"file", "setup", "exit_code", ...}`; a failure has
//! `error` = the problem with `code`, `message`, `hint`, `field_errors`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use octo_oidc_app::sandbox_env::{SANDBOX_ENV_VAR, SandboxEnv};
use octo_oidc_app::setup_run::{LoadedSetup, Prepared, SetupRun};
use octo_oidc_core::Problem;
use serde_json::{Value, json};

use crate::exit_code::Exit;

/// The arguments every setup command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct SetupArgs {
    /// Setup files, or folders (every `*.toml` in them, sorted); several = a batch.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where credentials come from, and the output.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The arguments of the setup commands that change things (`apply`, `teardown`): the setup
/// arguments and `--yes` (each command words the flag's help with `mut_arg`).
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Go ahead without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

impl ChangeArgs {
    /// Whether the change goes ahead: with `--yes` at once; otherwise only after a yes on the
    /// terminal (never asked with `--json` or without one). `before` runs just before the
    /// question.
    pub fn go_ahead(&self, question: &str, before: impl FnOnce()) -> bool {
        self.yes
            || (interactive() && !self.setup.json && {
                before();
                confirm(question)
            })
    }
}

impl std::ops::Deref for SetupArgs {
    type Target = RunArgs;
    fn deref(&self) -> &RunArgs {
        &self.run
    }
}

/// Where credentials come from and how the output looks (every remote command).
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Use only the sandbox described by this env file (written by
    /// `octo-oidc sandbox --env-file PATH`): its endpoints, credentials and CA.
    #[arg(long, value_name = "PATH", env = SANDBOX_ENV_VAR)]
    pub sandbox: Option<PathBuf>,
    /// Machine-readable output: one JSON object per setup per line.
    #[arg(long)]
    pub json: bool,
    /// AWS: allow the SDK's default credential chain (which may ask the instance metadata
    /// endpoint) when the setup names no profile and no access key is exported.
    #[arg(long)]
    pub aws_default_chain: bool,
    /// The longest one remote call may take, retries and waits included (default: 300;
    /// 60 for the sandbox's Octopus); a call past it fails with exit 3 and a journal the
    /// next apply resumes from.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub deadline: Option<u64>,
}

impl SetupArgs {
    /// The setup files, folders expanded.
    pub fn expand(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for f in &self.files {
            if f.is_dir() {
                let mut inside: Vec<PathBuf> = std::fs::read_dir(f)
                    .map(|d| {
                        d.filter_map(Result::ok)
                            .map(|e| e.path())
                            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                            .collect()
                    })
                    .unwrap_or_default();
                inside.sort();
                out.extend(inside);
            } else {
                out.push(f.clone());
            }
        }
        out
    }
}

impl RunArgs {
    /// Where credentials come from.
    pub fn run(&self) -> Result<SetupRun, Problem> {
        let run = match &self.sandbox {
            Some(path) => SetupRun::sandbox(SandboxEnv::read(path)?),
            None => SetupRun::real(self.aws_default_chain),
        };
        Ok(match self.deadline {
            Some(secs) => run.with_deadline(std::time::Duration::from_secs(secs)),
            None => run,
        })
    }

    /// The equivalent non-interactive command that applies `setup` (the app's
    /// [`repeat_command`](octo_oidc_app::run_report::repeat_command), with this `--sandbox`).
    pub fn repeat_command(&self, setup: &Path) -> String {
        let sandbox = self.sandbox.as_ref().map(|p| p.display().to_string());
        octo_oidc_app::run_report::repeat_command(&setup.display().to_string(), sandbox.as_deref())
    }
}

/// The ` (in app NAME)` after a resource that lives in an app registration (`split_apps`
/// has several, whose role assignments share a name), or nothing.
pub fn in_app(app: Option<&str>) -> String {
    app.map(|a| format!(" (in app {a})")).unwrap_or_default()
}

/// What one setup's command printed and how it ended.
pub struct SetupOutcome {
    /// Its exit.
    pub exit: Exit,
    /// JSON fields for `--json` (merged into the line).
    pub json: Value,
    /// Text for people.
    pub text: String,
}

impl SetupOutcome {
    /// An outcome from a problem.
    pub fn failed(problem: &Problem) -> SetupOutcome {
        SetupOutcome {
            exit: Exit::of(problem.code),
            json: json!({ "error": problem }),
            text: problem_text(problem),
        }
    }
}

/// A problem as people read it: message, each field with its fix, the hint.
pub fn problem_text(p: &Problem) -> String {
    let mut out = format!("error: {}\n", p.message);
    for f in &p.field_errors {
        out.push_str(&format!(
            "  {}: {}\n    fix: {}\n",
            f.field, f.problem, f.fix
        ));
    }
    if let Some(h) = &p.hint {
        out.push_str(&format!("hint: {h}\n"));
    }
    out
}

/// Runs `each` for every setup of the batch, prints each outcome, and returns the worst exit.
pub async fn run_batch<F, Fut>(args: &SetupArgs, each: F) -> Exit
where
    F: Fn(SetupRun, LoadedSetup) -> Fut,
    Fut: std::future::Future<Output = SetupOutcome>,
{
    let run = match args.run() {
        Ok(r) => r,
        Err(p) => {
            print_outcome(args, None, None, &SetupOutcome::failed(&p));
            return Exit::of(p.code);
        }
    };
    let files = args.expand();
    if files.is_empty() {
        let p = Problem::new(
            octo_oidc_core::ErrorCode::InvalidInput,
            "no setup file was found in the given folders",
        )
        .with_hint("Pass setup files (*.toml) or folders holding them.");
        print_outcome(args, None, None, &SetupOutcome::failed(&p));
        return Exit::InvalidInput;
    }
    let mut worst = Exit::Ok;
    for file in &files {
        let outcome = match run.load(file) {
            Ok(loaded) => {
                let name = loaded.setup.name.clone();
                for w in &loaded.warnings {
                    eprintln!("warning: {}: {}", w.field, w.message);
                }
                let o = each(run.clone(), loaded).await;
                print_outcome(args, Some(file), Some(&name), &o);
                o
            }
            Err(p) => {
                let o = SetupOutcome::failed(&p);
                print_outcome(args, Some(file), None, &o);
                o
            }
        };
        worst = worst.worst(outcome.exit);
    }
    worst
}

fn print_outcome(args: &SetupArgs, file: Option<&Path>, setup: Option<&str>, o: &SetupOutcome) {
    let header = file
        .filter(|_| args.expand().len() > 1)
        .map(|f| format!("== {}", f.display()));
    let head = json!({
        "file": file.map(|f| f.display().to_string()),
        "setup": setup,
    });
    print_result(args.json, header.as_deref(), head, o);
}

/// Prints one outcome: with `json` one line of `head`'s fields, `exit_code` and the
/// outcome's fields; else `header` (if any) and the text (stdout for results, stderr for
/// failures).
pub fn print_result(json: bool, header: Option<&str>, head: Value, o: &SetupOutcome) {
    if json {
        let mut line = head;
        if let Some(obj) = line.as_object_mut() {
            obj.insert("exit_code".into(), json!(o.exit.code()));
            if let Value::Object(extra) = &o.json {
                for (k, v) in extra {
                    obj.insert(k.clone(), v.clone());
                }
            }
        }
        println!("{line}");
    } else {
        if let Some(h) = header {
            println!("{h}");
        }
        if o.exit == Exit::Ok || o.exit == Exit::ChangesPending || o.exit == Exit::ProblemsFound {
            print!("{}", o.text);
        } else {
            eprint!("{}", o.text);
        }
    }
}

/// Connects and observes; a failure becomes the setup's outcome.
pub async fn prepare(run: &SetupRun, loaded: &LoadedSetup) -> Result<Prepared, SetupOutcome> {
    run.prepare(loaded)
        .await
        .map_err(|p| SetupOutcome::failed(&p))
}

/// The frame of the five setup commands: an async runtime, then per setup file of the batch
/// ([`run_batch`]) `each(prepared, loaded)` once the setup is loaded and observed
/// ([`prepare`]; a setup that cannot be is reported without calling `each`).
pub fn run_prepared<F, Fut>(args: &SetupArgs, each: F) -> std::process::ExitCode
where
    F: Fn(Prepared, LoadedSetup) -> Fut,
    Fut: std::future::Future<Output = SetupOutcome>,
{
    run_prepared_with(args, |run| run, each)
}

/// [`run_prepared`] with the run adjusted before each setup is prepared (apply's
/// `--ignore-preflight`).
pub fn run_prepared_with<C, F, Fut>(
    args: &SetupArgs,
    configure: C,
    each: F,
) -> std::process::ExitCode
where
    C: Fn(SetupRun) -> SetupRun,
    F: Fn(Prepared, LoadedSetup) -> Fut,
    Fut: std::future::Future<Output = SetupOutcome>,
{
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return crate::fail(format!("cannot start the async runtime: {e}")),
    };
    let (each, configure) = (&each, &configure);
    rt.block_on(run_batch(args, |run, loaded| async move {
        let run = configure(run);
        // Boxed: observing a setup nests too deep for the compiler's layout of the batch.
        match Box::pin(prepare(&run, &loaded)).await {
            Ok(prepared) => each(prepared, loaded).await,
            Err(outcome) => outcome,
        }
    }))
    .into()
}

/// Whether stdin and stdout are a terminal (a person can answer).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a yes/no question on the terminal.
pub fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}

/// A multi-threaded runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, std::io::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}
