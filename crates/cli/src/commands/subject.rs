//! `octo-oidc subject`: prints the subject claim Octopus puts in the token, built by
//! `octo_oidc_core::subject::build_subject` (fixed order, dropped empty keys, defaults per
//! context, allowed keys per context).

use std::process::ExitCode;

use octo_oidc_core::subject::{Context, SubjectValues, build_subject, parse_keys};

/// Arguments of `octo-oidc subject`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What Octopus is doing: deployment, runbook, health, account-test (or feed).
    #[arg(long, default_value = "deployment", value_parser = parse_context)]
    context: Context,
    /// Comma-separated subject keys, e.g. `space,project,tenant,environment`; omitted =
    /// Octopus's default for the context.
    #[arg(long, default_value = "")]
    keys: String,
    /// Space slug.
    #[arg(long)]
    space: Option<String>,
    /// Project group slug.
    #[arg(long)]
    project_group: Option<String>,
    /// Project slug.
    #[arg(long)]
    project: Option<String>,
    /// Runbook slug (runbook runs only).
    #[arg(long)]
    runbook: Option<String>,
    /// Tenant slug (omit for an untenanted run).
    #[arg(long)]
    tenant: Option<String>,
    /// Environment slug.
    #[arg(long)]
    environment: Option<String>,
    /// Deployment target slug (health checks).
    #[arg(long)]
    target: Option<String>,
    /// Account slug.
    #[arg(long)]
    account: Option<String>,
    /// Feed slug (feed context).
    #[arg(long)]
    feed: Option<String>,
}

fn parse_context(s: &str) -> Result<Context, String> {
    s.parse().map_err(|e: octo_oidc_core::subject::SubjectError| e.to_string())
}

/// Prints the subject, or the error on stderr with exit code 2.
pub fn run(args: Args) -> ExitCode {
    let keys = match parse_keys(&args.keys) {
        Ok(k) => k,
        Err(e) => return crate::fail(e),
    };
    let values = SubjectValues {
        space: args.space,
        project_group: args.project_group,
        project: args.project,
        runbook: args.runbook,
        tenant: args.tenant,
        environment: args.environment,
        target: args.target,
        account: args.account,
        feed: args.feed,
    };
    match build_subject(args.context, &keys, &values) {
        Ok(subject) => {
            println!("{subject}");
            ExitCode::SUCCESS
        }
        Err(e) => crate::fail(e),
    }
}
