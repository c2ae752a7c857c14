//! `octo-oidc simulate`: would a trust configuration accept a token, and over a whole scope,
//! which runs are accepted, intended, over- or under-permitted.
//!
//! ```text
//! octo-oidc simulate --config trust.json --iss URL [--aud AUD] --sub SUBJECT [--json]
//! octo-oidc simulate --config trust.json --scope scope.json --iss URL [--aud AUD] [--rows all|differences|none] [--json]
//! ```
//!
//! The trust configuration file is JSON with a `kind`:
//!
//! ```json
//! {"kind": "azure", "credentials": [{"name": "prod", "issuer": "https://my.octopus.app",
//!   "subject": "space:default:environment:production", "audiences": ["api://AzureADTokenExchange"]}]}
//!
//! {"kind": "aws", "role_arn": "arn:aws:iam::111122223333:role/octopus",
//!  "providers": [{"url": "https://my.octopus.app", "client_ids": ["my.octopus.app"]}],
//!  "trust_policy": {"Version": "2012-10-17", "Statement": [...]}}
//!
//! {"kind": "octopus", "service_account_id": "<ExternalId GUID>",
//!  "identities": [{"name": "main", "issuer": "https://token.actions.githubusercontent.com",
//!                  "subject": "repo:acme/web:ref:refs/heads/*", "audience": null}]}
//! ```
//!
//! `trust_policy` may be the policy object itself or a string holding it (as IAM returns it,
//! URL-decoded). The scope file is `octo_oidc_core::scope::Scope` as JSON: `inventory`
//! (space, account, project_groups, projects, runbooks, environments, tenants, targets, each
//! with id/name/slug), `selection` (contexts; projects/runbooks/environments/tenants/targets
//! as `"all"` or `{"only": [ids]}`; untenanted) and `keys` (deployment, health_check,
//! account_test). `--aud` defaults to what Octopus sends for the kind: Azure
//! `api://AzureADTokenExchange`, AWS the issuer's host name, Octopus the service account id.
//!
//! Exit code 0: accepted (token) or no over-/under-permission (scope); 1: rejected or
//! differences found; 2: invalid input.

use std::path::PathBuf;
use std::process::ExitCode;

use octo_oidc_core::scope::Scope;
use octo_oidc_core::simulate::{Finding, Rows, TokenClaims, TrustConfig, simulate_scope};

/// The file formats, shown by `octo-oidc simulate --help`.
const FORMATS: &str = "\
Trust configuration file (--config), JSON with a \"kind\":
  {\"kind\":\"azure\",\"credentials\":[{\"name\":\"prod\",\"issuer\":\"https://my.octopus.app\",
     \"subject\":\"space:default:environment:production\",\"audiences\":[\"api://AzureADTokenExchange\"]}]}
  {\"kind\":\"aws\",\"role_arn\":\"arn:aws:iam::111122223333:role/octopus\",
     \"providers\":[{\"url\":\"https://my.octopus.app\",\"client_ids\":[\"my.octopus.app\"]}],
     \"trust_policy\":{...the role trust policy, object or string...}}
  {\"kind\":\"octopus\",\"service_account_id\":\"<ExternalId GUID>\",
     \"identities\":[{\"name\":\"main\",\"issuer\":\"https://token.actions.githubusercontent.com\",
                     \"subject\":\"repo:acme/web:ref:refs/heads/*\",\"audience\":null}]}

Scope file (--scope), JSON:
  {\"inventory\":{\"space\":{id,name,slug},\"account\":{id,name,slug},\"project_groups\":[..],
     \"projects\":[{id,name,slug,project_group_id}],\"runbooks\":[{id,name,slug,project_id}],
     \"environments\":[..],\"tenants\":[{id,name,slug,project_environments:{project id:[env ids]}}],
     \"targets\":[..]},
   \"selection\":{\"contexts\":[\"deployment\",\"runbook\",\"health\"],\"projects\":\"all\"|{\"only\":[ids]},
     \"runbooks\":..,\"environments\":..,\"tenants\":..,\"untenanted\":true,\"targets\":..},
   \"keys\":{\"deployment\":[..],\"health_check\":[..],\"account_test\":[..]}}

Exit code: 0 accepted / no difference, 1 rejected / differences, 2 invalid input.";

/// Arguments of `octo-oidc simulate`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = FORMATS)]
pub struct Args {
    /// Trust configuration file (JSON, see `octo-oidc simulate --help`).
    #[arg(long)]
    config: PathBuf,
    /// Token issuer (`iss`).
    #[arg(long)]
    iss: String,
    /// Token audience (`aud`); defaults to what Octopus sends for this kind of trust.
    #[arg(long)]
    aud: Option<String>,
    /// Token subject (`sub`); required unless `--scope` is given.
    #[arg(long, required_unless_present = "scope", conflicts_with = "scope")]
    sub: Option<String>,
    /// Scope file (JSON): simulate every run of the space instead of one token.
    #[arg(long)]
    scope: Option<PathBuf>,
    /// Which matrix rows to print with `--scope`.
    #[arg(long, default_value = "differences", value_parser = parse_rows)]
    rows: Rows,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_rows(s: &str) -> Result<Rows, String> {
    match s {
        "all" => Ok(Rows::All),
        "differences" => Ok(Rows::Differences),
        "none" => Ok(Rows::None),
        _ => Err("expected all, differences or none".into()),
    }
}

fn read_json(path: &PathBuf) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON: {e}", path.display()))
}

fn read_config(path: &PathBuf) -> Result<TrustConfig, String> {
    let mut value = read_json(path)?;
    // Accept the trust policy as an object as well as a string.
    if let Some(policy) = value.get_mut("trust_policy")
        && policy.is_object()
    {
        *policy = serde_json::Value::String(policy.to_string());
    }
    serde_json::from_value(value).map_err(|e| format!("{} is not a trust configuration: {e}", path.display()))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Runs the simulation and prints the verdict or the matrix.
pub fn run(args: Args) -> ExitCode {
    let config = match read_config(&args.config) {
        Ok(c) => c,
        Err(e) => return crate::fail(e),
    };
    let trust = match config.compile() {
        Ok(t) => t,
        Err(e) => return crate::fail(e),
    };
    let aud = args.aud.clone().unwrap_or_else(|| config.default_audience(&args.iss));
    match (&args.sub, &args.scope) {
        (Some(sub), _) => {
            let verdict = trust.simulate(&TokenClaims {
                iss: args.iss.clone(),
                aud,
                sub: sub.clone(),
            });
            if args.json {
                println!("{}", to_json(&verdict));
            } else if verdict.accepted {
                println!("accepted: {}", verdict.reason);
            } else {
                let field = verdict.field.map(|f| format!("{f:?}").to_lowercase()).unwrap_or_default();
                println!("rejected ({field}): {}", verdict.reason);
                if let Some(e) = &verdict.error {
                    println!("service error: {}: {}", e.code, e.message);
                }
            }
            if verdict.accepted { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        (None, Some(path)) => {
            let scope: Scope = match read_json(path).and_then(|v| {
                serde_json::from_value(v).map_err(|e| format!("{} is not a scope: {e}", path.display()))
            }) {
                Ok(s) => s,
                Err(e) => return crate::fail(e),
            };
            let compiled = match scope.compile() {
                Ok(c) => c,
                Err(e) => return crate::fail(e),
            };
            let m = simulate_scope(&compiled, &trust, &args.iss, &aud, args.rows);
            if args.json {
                println!("{}", to_json(&m));
            } else {
                println!(
                    "runs: {}  intended: {}  accepted: {}  over-permission: {}  under-permission: {}",
                    m.runs, m.intended, m.accepted, m.over_permission, m.under_permission
                );
                for row in &m.rows {
                    let flag = match row.finding {
                        Finding::OverPermission => "OVER ",
                        Finding::UnderPermission => "UNDER",
                        Finding::AsIntended => "ok   ",
                    };
                    let why = row
                        .verdict
                        .as_ref()
                        .map(|v| format!("  ({})", v.reason))
                        .unwrap_or_default();
                    println!("{flag} {:<12} {}{why}", row.run.context.as_str(), row.subject);
                }
            }
            if m.over_permission + m.under_permission == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        (None, None) => crate::fail("give --sub for one token or --scope for a whole scope"),
    }
}
