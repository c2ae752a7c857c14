//! `octo-oidc init`: writes a setup file from flags, asking on a terminal only for what the
//! flags leave missing (like the Octopus CLI); without a terminal a missing field is exit 2.
//! The file is written by the engine's writer and checked by its parser before it is saved.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use octo_oidc_app::setup_run::check_draft;
use octo_oidc_engine::setup_file::{
    AccountTable, AwsTable, AzureTable, GcpTable, GitHubTable, OctopusTable, SETUP_FILE_VERSION,
    ScopeTable, SetupFile, Target,
};

use crate::exit_code::Exit;
use crate::setup_batch::problem_text;

/// Arguments of `octo-oidc init`.
#[derive(Debug, clap::Args)]
#[command(after_help = crate::exit_code::EXIT_CODES_HELP)]
pub struct Args {
    /// Where to write the setup file (refused if it exists, unless --force).
    #[arg(long, short = 'o', default_value = "setup.toml")]
    output: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
    /// The setup's id: [a-z0-9-], 1–40.
    #[arg(long)]
    name: Option<String>,
    /// aws, azure or github.
    #[arg(long)]
    target: Option<String>,
    /// The Octopus Server URL (may be omitted for --sandbox runs).
    #[arg(long)]
    octopus_url: Option<String>,
    /// The space: name, slug or Spaces-N.
    #[arg(long)]
    space: Option<String>,
    /// Project slugs (comma-separated; * = all).
    #[arg(long, value_delimiter = ',')]
    projects: Option<Vec<String>>,
    /// Environment slugs (comma-separated; * = all).
    #[arg(long, value_delimiter = ',')]
    environments: Option<Vec<String>>,
    /// The Octopus account's name (aws, azure).
    #[arg(long)]
    account_name: Option<String>,
    /// AWS: the IAM role's name.
    #[arg(long)]
    role_name: Option<String>,
    /// AWS: the region.
    #[arg(long)]
    region: Option<String>,
    /// AWS: managed policy ARNs (comma-separated).
    #[arg(long, value_delimiter = ',')]
    managed_policies: Option<Vec<String>>,
    /// Azure: the tenant id.
    #[arg(long)]
    tenant_id: Option<String>,
    /// Azure: the subscription id.
    #[arg(long)]
    subscription_id: Option<String>,
    /// Azure: the role (default Contributor).
    #[arg(long)]
    role: Option<String>,
    /// GitHub: owner/repository.
    #[arg(long)]
    repository: Option<String>,
    /// GitHub: branch:NAME | tag:PATTERN | environment:NAME | pull_request.
    #[arg(long)]
    filter: Option<String>,
    /// GitHub: the Octopus service account's username; Google Cloud: the service account
    /// (id or email) Octopus impersonates (default derived from the name).
    #[arg(long)]
    service_account: Option<String>,
    /// Google Cloud: the project id.
    #[arg(long)]
    project: Option<String>,
}

fn ask(prompt: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    eprint!("{prompt}: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    let line = line.trim().to_string();
    (!line.is_empty()).then_some(line)
}

fn or_ask(value: Option<String>, prompt: &str) -> Option<String> {
    value.or_else(|| ask(prompt))
}

fn list(value: Option<Vec<String>>, prompt: &str) -> Vec<String> {
    value
        .or_else(|| ask(prompt).map(|s| s.split(',').map(|p| p.trim().to_string()).collect()))
        .unwrap_or_default()
}

/// Drafts, checks and writes the file.
pub fn run(args: Args) -> ExitCode {
    if args.output.exists() && !args.force {
        return crate::fail(format!(
            "{} exists; pass --force to overwrite it",
            args.output.display()
        ));
    }
    let name = or_ask(args.name, "Setup name ([a-z0-9-])").unwrap_or_default();
    let target = match or_ask(args.target, "Target (aws, azure, gcp, github)").as_deref() {
        Some("aws") => Target::Aws,
        Some("azure") => Target::Azure,
        Some("gcp") => Target::Gcp,
        Some("github") => Target::Github,
        other => {
            return crate::fail(format!(
                "--target must be aws, azure, gcp or github (got {})",
                other.unwrap_or("nothing")
            ));
        }
    };
    let octopus = OctopusTable {
        url: or_ask(args.octopus_url, "Octopus Server URL (empty for the sandbox)"),
        space: or_ask(args.space, "Space").unwrap_or_else(|| "Default".into()),
    };
    let mut file = SetupFile {
        version: SETUP_FILE_VERSION,
        name,
        target,
        octopus,
        scope: None,
        subject_keys: None,
        account: None,
        aws: None,
        azure: None,
        github: None,
        gcp: None,
    };
    if target != Target::Github {
        file.scope = Some(ScopeTable {
            projects: list(args.projects, "Project slugs (comma-separated, * = all)"),
            environments: list(
                args.environments,
                "Environment slugs (comma-separated, * = all)",
            ),
            ..ScopeTable::default()
        });
        file.account = Some(AccountTable {
            name: or_ask(args.account_name, "Octopus account name").unwrap_or_default(),
        });
    }
    match target {
        Target::Aws => {
            file.aws = Some(AwsTable {
                role_name: or_ask(args.role_name, "IAM role name").unwrap_or_default(),
                region: or_ask(args.region, "AWS region"),
                session_duration: None,
                managed_policies: args.managed_policies.unwrap_or_default(),
                profile: None,
                trust_policy_quota: None,
            })
        }
        Target::Azure => {
            file.azure = Some(AzureTable {
                tenant_id: or_ask(args.tenant_id, "Azure tenant id").unwrap_or_default(),
                subscription_id: or_ask(args.subscription_id, "Azure subscription id")
                    .unwrap_or_default(),
                resource_group: None,
                role: args.role,
                app_name: None,
                credential_strategy: None,
            })
        }
        Target::Gcp => {
            file.gcp = Some(GcpTable {
                project: or_ask(args.project, "Google Cloud project id").unwrap_or_default(),
                pool: None,
                provider: None,
                service_account: args.service_account,
                roles: Vec::new(),
                token_lifetime: None,
                allowed_audiences: Vec::new(),
                credentials_file: None,
            })
        }
        Target::Github => {
            file.github = Some(GitHubTable {
                repository: or_ask(args.repository, "GitHub repository (owner/name)"),
                filter: or_ask(args.filter, "Filter (branch:main, environment:NAME, …)"),
                service_account: or_ask(args.service_account, "Octopus service account")
                    .unwrap_or_default(),
                team: None,
                issuer: None,
                subject: None,
                ci: None,
            })
        }
    }
    let text = match check_draft(&file) {
        Ok(t) => t,
        Err(p) => {
            eprint!("{}", problem_text(&p));
            return Exit::of(p.code).into();
        }
    };
    if let Err(e) = std::fs::write(&args.output, text) {
        return crate::fail(format!("cannot write {}: {e}", args.output.display()));
    }
    println!(
        "Wrote {}. Next: octo-oidc plan {}",
        args.output.display(),
        args.output.display()
    );
    ExitCode::SUCCESS
}
