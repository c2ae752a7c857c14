//! `octo-oidc verify FILE…`: does each setup's trust work, and trust exactly its scope?
//! `octo-oidc verify --account NAME|Accounts-N`: the same checks for an Octopus OIDC account
//! that exists (made by octo-oidc, by hand or by another tool), read from the account.
//! Exit 0 when every blocking check passes, 1 when verify found problems (each named with
//! its cause and fix), 2 for invalid input (FILE and --account together, an unknown or
//! non-OIDC account), 3 for a remote failure.

use std::path::PathBuf;
use std::process::ExitCode;

use octo_oidc_app::existing_account::AccountRequest;
use octo_oidc_engine::verify::{Check, VerifyReport, VerifyVerdict};
use serde_json::json;

use crate::exit_code::Exit;
use crate::setup_batch::{
    RunArgs, SetupArgs, SetupOutcome, print_result, run_prepared, runtime,
};

/// Arguments of `octo-oidc verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = crate::exit_code::EXIT_CODES_HELP)]
pub struct Args {
    /// Setup files, or folders (every `*.toml` in them, sorted); several = a batch.
    #[arg(
        value_name = "FILE",
        required_unless_present = "account",
        conflicts_with = "account"
    )]
    files: Vec<PathBuf>,
    /// Verify an existing Octopus OIDC account (AWS, Azure or Google Cloud) by its name or
    /// id instead of a setup file: what it points at, the scope it can be used for (its
    /// environments or all, its tenants, every project), the account test.
    #[arg(long, value_name = "NAME|Accounts-N")]
    account: Option<String>,
    /// With --account: the space (name, slug or Spaces-N); default: the default space.
    #[arg(long, value_name = "SPACE", requires = "account")]
    space: Option<String>,
    /// With --account: the Octopus server (not needed with --sandbox).
    #[arg(long, value_name = "URL", requires = "account")]
    octopus_url: Option<String>,
    /// With --account, for a Google Cloud account: the service account its steps impersonate
    /// (Octopus keeps it on the step, not on the account).
    #[arg(long, value_name = "EMAIL", requires = "account")]
    gcp_service_account: Option<String>,
    /// With --account, for an AWS account: the shared-config profile to sign in with
    /// (default: exported AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or --aws-default-chain).
    #[arg(long, value_name = "PROFILE", requires = "account")]
    aws_profile: Option<String>,
    #[command(flatten)]
    run: RunArgs,
}

fn check_text(c: &Check, out: &mut String) {
    let mark = match (c.passed, c.blocking) {
        (true, true) => "ok  ",
        (true, false) => "info",
        (false, true) => "FAIL",
        (false, false) => "warn",
    };
    out.push_str(&format!("{mark} {:?} {}: {}\n", c.area, c.name, c.message));
    if !c.passed {
        if let Some(cause) = &c.cause {
            out.push_str(&format!("       cause: {cause}\n"));
        }
        if let Some(fix) = &c.fix {
            out.push_str(&format!("       fix: {fix}\n"));
        }
        if let Some(cmp) = &c.comparison {
            out.push_str(&format!(
                "       {} token:   {}\n       trusted: {}\n                {}\n",
                cmp.claim, cmp.token, cmp.trusted, cmp.marker
            ));
        }
        for line in &c.log {
            out.push_str(&format!("       | {line}\n"));
        }
    }
}

/// The outcome of one report, its text opened by `title`.
fn report_outcome(title: String, report: &VerifyReport) -> SetupOutcome {
    let mut text = title;
    for c in &report.checks {
        check_text(c, &mut text);
    }
    let exit = match report.verdict {
        VerifyVerdict::Passed => {
            text.push_str("Verify passed.\n");
            Exit::Ok
        }
        VerifyVerdict::ProblemsFound => {
            text.push_str(&format!(
                "Verify found {} problem(s).\n",
                report.problems().len()
            ));
            Exit::ProblemsFound
        }
    };
    SetupOutcome {
        exit,
        json: json!({ "verdict": report.verdict, "checks": report.checks }),
        text,
    }
}

/// Verifies every setup, or the one account.
pub fn run(args: Args) -> ExitCode {
    match args.account.clone() {
        Some(account) => verify_account(&args, account),
        None => {
            let setup = SetupArgs {
                files: args.files,
                run: args.run,
            };
            run_prepared(&setup, |prepared, _| async move {
                match prepared.verify().await {
                    Ok(report) => {
                        report_outcome(format!("Verify setup '{}':\n", report.setup), &report)
                    }
                    Err(p) => SetupOutcome::failed(&p),
                }
            })
        }
    }
}

fn verify_account(args: &Args, account: String) -> ExitCode {
    let request = AccountRequest {
        octopus_url: args.octopus_url.clone(),
        space: args.space.clone(),
        account,
        gcp_service_account: args.gcp_service_account.clone(),
        aws_profile: args.aws_profile.clone(),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return crate::fail(format!("cannot start the async runtime: {e}")),
    };
    let (head, outcome) = rt.block_on(async {
        let run = match args.run.run() {
            Ok(run) => run,
            Err(p) => return (json!({ "account": request.account }), SetupOutcome::failed(&p)),
        };
        let prepared = match Box::pin(run.prepare_account(&request)).await {
            Ok(p) => p,
            Err(p) => return (json!({ "account": request.account }), SetupOutcome::failed(&p)),
        };
        let a = prepared.account();
        let head = json!({
            "account": a.name,
            "account_id": a.account.id,
            "account_type": a.account_type,
            "space": prepared.found.observation.facts.space.name,
        });
        let title = format!(
            "Verify account '{}' ({}, {}) in space {}:\n",
            a.name,
            a.account.id,
            a.points_at(),
            prepared.found.observation.facts.space.name
        );
        match prepared.verify().await {
            Ok(report) => (head, report_outcome(title, &report)),
            Err(p) => (head, SetupOutcome::failed(&p)),
        }
    });
    print_result(args.run.json, None, head, &outcome);
    outcome.exit.into()
}
