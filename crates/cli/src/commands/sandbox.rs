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
//! logging. With `--state FILE` the session is restored from and saved to FILE.
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
    /// the temporary directory.
    #[arg(long)]
    ca_file: Option<PathBuf>,
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

fn ca_path(args: &Args) -> PathBuf {
    if let Some(p) = &args.ca_file {
        return p.clone();
    }
    if let Some(state) = &args.state {
        let mut name = state.as_os_str().to_owned();
        name.push(".ca.pem");
        return PathBuf::from(name);
    }
    std::env::temp_dir().join(format!("octo-oidc-sandbox-{}-ca.pem", std::process::id()))
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
    let ca = ca_path(&args);
    if let Err(e) = std::fs::write(&ca, sandbox.ca_pem()) {
        eprintln!("error: cannot write the CA certificate to {}: {e}", ca.display());
        let _ = sandbox.shutdown().await;
        return ExitCode::from(2);
    }
    let mut out = std::io::stdout().lock();
    for (name, value) in sandbox.env_vars() {
        let _ = writeln!(out, "{name}={value}");
    }
    let _ = writeln!(out, "SANDBOX_CA_FILE={}", ca.display());
    let _ = out.flush();
    drop(out);
    eprintln!(
        "octo-oidc sandbox: serving (profile {}); stop with Ctrl-C",
        args.profile.name()
    );
    signals.wait().await;
    let saved = sandbox.shutdown().await;
    if args.ca_file.is_none() && args.state.is_none() {
        let _ = std::fs::remove_file(&ca);
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
