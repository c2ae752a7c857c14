//! `octo-oidc plan FILE…`: what apply would do, per setup (lookups only; nothing changes).
//!
//! Text: the engine's aligned plan, then the preflight (every missing permission with who
//! can grant it, failed issuer checks). `--json`: the engine's plan JSON (`steps`, each with
//! `action`, `kind`, `name`) with `preflight` (`permissions[]`, `issuer[]`, `blocks_apply`). `--detailed-exitcode`: 0 no changes, 4 changes pending.

use std::process::ExitCode;

use octo_oidc_engine::render::{plan_json, plan_text, preflight_json, preflight_text};

use crate::exit_code::Exit;
use crate::setup_batch::{SetupArgs, SetupOutcome, run_prepared};

/// Arguments of `octo-oidc plan`.
#[derive(Debug, clap::Args)]
#[command(after_help = crate::exit_code::EXIT_CODES_HELP)]
pub struct Args {
    #[command(flatten)]
    setup: SetupArgs,
    /// Exit 4 when the plan has changes (0 when it has none).
    #[arg(long)]
    detailed_exitcode: bool,
}

/// Plans every setup.
pub fn run(args: Args) -> ExitCode {
    let detailed = args.detailed_exitcode;
    run_prepared(&args.setup, |prepared, _| async move {
        let plan = prepared.plan();
        let exit = match (detailed, plan.has_changes()) {
            (true, true) => Exit::ChangesPending,
            _ => Exit::Ok,
        };
        let mut json = plan_json(plan);
        json["preflight"] = preflight_json(&prepared.preflight);
        SetupOutcome {
            exit,
            json,
            text: format!("{}{}", plan_text(plan), preflight_text(&prepared.preflight)),
        }
    })
}
