//! `octo-oidc verify FILE…`: does each setup's trust work, and trust exactly its scope?
//! Exit 0 when every blocking check passes, 1 when verify found problems (each named with
//! its cause and fix).

use std::process::ExitCode;

use octo_oidc_engine::verify::{Check, VerifyVerdict};
use serde_json::json;

use crate::exit_code::Exit;
use crate::setup_batch::{SetupArgs, SetupOutcome, run_prepared};

/// Arguments of `octo-oidc verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = crate::exit_code::EXIT_CODES_HELP)]
pub struct Args {
    #[command(flatten)]
    setup: SetupArgs,
}

fn check_text(c: &Check, out: &mut String) {
    let mark = match (c.passed, c.blocking) {
        (true, _) => "ok  ",
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

/// Verifies every setup.
pub fn run(args: Args) -> ExitCode {
    run_prepared(&args.setup, |prepared, _| async move {
        let report = match prepared.verify().await {
            Ok(r) => r,
            Err(p) => return SetupOutcome::failed(&p),
        };
        let mut text = format!("Verify setup '{}':\n", report.setup);
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
    })
}
