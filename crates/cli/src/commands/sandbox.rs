//! `octo-oidc sandbox`: starts the local sandbox (Octopus, its issuer, the GitHub token issuer,
//! and the Azure / AWS / Google Cloud services when composed in) and serves until SIGINT or
//! SIGTERM.
//!
//! Prints one `NAME=value` line per endpoint on stdout (`OCTOPUS_URL`, `OCTOPUS_HTTPS_URL`,
//! `OCTOPUS_API_KEY`, `OCTOPUS_ISSUER`, `GITHUB_ISSUER`, `AZURE_AUTHORITY`, `GRAPH_URL`,
//! `ARM_URL`, `AWS_ENDPOINT_URL`, `GCP_PROJECT_ID`, `GCP_PROJECT_NUMBER`, `GCP_IAM_URL`,
//! `GCP_RESOURCE_MANAGER_URL`, `GCP_STS_URL`, `GCP_IAM_CREDENTIALS_URL`, then `SANDBOX_CA_FILE`
//! last), so that `eval "$(octo-oidc sandbox | head -n 17)"`-style scripts and tests can read it. The API key
//! printed is the sandbox's own made-up key: printing it is the point; it never goes through
//! logging. With `--state FILE` the session is restored from and saved to FILE (mode 0600).
//! The CA certificate goes to `--ca-file`, else beside the state file, else into a fresh
//! private folder (0700, unguessable name, created exclusively) in the temporary directory,
//! removed at exit; files are never written through a symlink. With `--env-file PATH` the
//! same lines (plus `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET` of the seeded
//! automation administrator and `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, also printed)
//! go to PATH (0600) for `--sandbox PATH`.
//!
//! The sandbox is started through the application crate (`octo_oidc_app::sandbox::serve`);
//! this module parses the arguments and renders the endpoints.
//!
//! Deliberately absent: daemonizing, and binding anything but 127.0.0.1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use octo_oidc_sandbox::SandboxOptions;
use octo_oidc_sandbox::octopus::{DEFAULT_VERSION, IssuerStyle};
use octo_oidc_sandbox::seed::SeedProfile;

/// Arguments of `octo-oidc sandbox`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seed profile for a fresh state: demo, empty or large.
    #[arg(long, default_value = "demo", value_parser = parse_profile)]
    profile: SeedProfile,
    /// State file: restored at start if it exists, written when the sandbox stops.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Listen on consecutive ports from N (Octopus HTTP, HTTPS, GitHub, Entra, Graph, ARM,
    /// AWS); default: free ports (or those of the restored state).
    #[arg(long, value_name = "N")]
    port_base: Option<u16>,
    /// The Octopus version the `/api` document reports.
    #[arg(long, default_value = DEFAULT_VERSION)]
    octopus_version: String,
    /// The Octopus issuer: `https` (no trailing slash), `https-slash`, `http`, or an exact URL.
    #[arg(long, default_value = "https", value_parser = parse_issuer)]
    issuer: IssuerStyle,
    /// Where to write the test CA certificate (PEM); default: beside the state file, else in
    /// a new private folder in the temporary directory.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Also write the `NAME=value` lines to this file (mode 0600, never through a symlink),
    /// for `--sandbox PATH` / `OCTO_OIDC_SANDBOX=PATH` of the other commands.
    #[arg(long, value_name = "PATH")]
    env_file: Option<PathBuf>,
}

fn parse_profile(s: &str) -> Result<SeedProfile, String> {
    s.parse().map_err(|e: octo_oidc_sandbox::seed::UnknownProfile| e.to_string())
}

fn parse_issuer(s: &str) -> Result<IssuerStyle, String> {
    match s {
        "https" => Ok(IssuerStyle::Https),
        "https-slash" => Ok(IssuerStyle::HttpsTrailingSlash),
        "http" => Ok(IssuerStyle::Http),
        url if url.starts_with("https://") || url.starts_with("http://") => {
            Ok(IssuerStyle::Override(url.to_string()))
        }
        other => Err(format!(
            "'{other}' is not an issuer style (https, https-slash, http) or an http(s) URL"
        )),
    }
}

/// Writes the CA PEM where the arguments say; returns its path and the private folder made
/// for it (to remove at exit), if any.
fn write_ca(args: &Args, pem: &str) -> std::io::Result<(PathBuf, Option<PathBuf>)> {
    use octo_oidc_sandbox::persist::{create_private_dir, write_private_atomically};
    let chosen = args.ca_file.clone().or_else(|| {
        args.state.as_ref().map(|state| {
            let mut name = state.as_os_str().to_owned();
            name.push(".ca.pem");
            PathBuf::from(name)
        })
    });
    if let Some(path) = chosen {
        write_private_atomically(&path, pem.as_bytes())?;
        return Ok((path, None));
    }
    let dir = create_private_dir(&std::env::temp_dir(), "octo-oidc-sandbox")?;
    let path = dir.join("ca.pem");
    let written = octo_oidc_sandbox::persist::private_create_new(&path)
        .and_then(|mut file| file.write_all(pem.as_bytes()).and_then(|()| file.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok((path, Some(dir)))
}

/// SIGINT / SIGTERM, registered before anything is printed so that a signal sent right after
/// the endpoints appear stops the sandbox gracefully instead of killing the process.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn register() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn serve(args: Args) -> ExitCode {
    let signals = match StopSignals::register() {
        Ok(s) => s,
        Err(e) => return crate::fail(format!("cannot listen for SIGINT/SIGTERM: {e}")),
    };
    let options = SandboxOptions {
        profile: args.profile,
        issuer_style: args.issuer.clone(),
        octopus_version: args.octopus_version.clone(),
        state_file: args.state.clone(),
        port_base: args.port_base,
        ..SandboxOptions::default()
    };
    let sandbox = match octo_oidc_app::sandbox::serve(options).await {
        Ok(s) => s,
        Err(problem) => {
            eprintln!("error: {}", problem.message);
            if let Some(hint) = problem.hint {
                eprintln!("hint: {hint}");
            }
            return ExitCode::from(2);
        }
    };
    let (ca, private_dir) = match write_ca(&args, sandbox.ca_pem()) {
        Ok(written) => written,
        Err(e) => {
            eprintln!("error: cannot write the CA certificate: {e}");
            let _ = sandbox.shutdown().await;
            return ExitCode::from(2);
        }
    };
    let mut lines: Vec<(String, String)> = sandbox
        .env_vars()
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    lines.push(("SANDBOX_CA_FILE".into(), ca.display().to_string()));
    if let Some(path) = &args.env_file
        && let Err(e) = octo_oidc_app::sandbox_env::write_env_file(path, &lines)
    {
        eprintln!("error: cannot write the env file {}: {e}", path.display());
        let _ = sandbox.shutdown().await;
        return ExitCode::from(2);
    }
    let mut out = std::io::stdout().lock();
    for (name, value) in &lines {
        let _ = writeln!(out, "{name}={value}");
    }
    let _ = out.flush();
    drop(out);
    eprintln!(
        "octo-oidc sandbox: serving (profile {}); stop with Ctrl-C",
        args.profile.name()
    );
    signals.wait().await;
    let saved = sandbox.shutdown().await;
    if let Some(dir) = private_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    match saved {
        Ok(()) => {
            if let Some(state) = &args.state {
                eprintln!("octo-oidc sandbox: state saved to {}", state.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Starts the sandbox and serves until interrupted.
pub fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return crate::fail(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(serve(args))
}
