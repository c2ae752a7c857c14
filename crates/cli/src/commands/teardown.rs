//! `octo-oidc teardown FILE…`: removes exactly what each setup created (confirmed against
//! live state and the setup's marks), in reverse order, and lists what it left and why.
//! Like apply, it asks on a terminal and needs `--yes` otherwise (exit 2 without it).

use std::process::ExitCode;

use octo_oidc_engine::apply::NotCancelled;
use octo_oidc_engine::teardown::TeardownResult;
use serde_json::json;

use crate::exit_code::Exit;
use crate::setup_batch::{
    ChangeArgs, SetupOutcome, problem_text, run_prepared,
};

/// Arguments of `octo-oidc teardown`.
#[derive(Debug, clap::Args)]
#[command(after_help = crate::exit_code::EXIT_CODES_HELP)]
#[command(mut_arg("yes", |yes| yes.help("Tear down without asking")))]
pub struct Args {
    #[command(flatten)]
    change: ChangeArgs,
}

/// Tears down every setup.
pub fn run(args: Args) -> ExitCode {
    let change = &args.change;
    let json_out = change.setup.json;
    run_prepared(&change.setup, |prepared, loaded| async move {
        let name = loaded.setup.name.clone();
        let question = format!("Remove what setup '{name}' created?");
        if !change.go_ahead(&question, || {}) {
            return SetupOutcome {
                exit: Exit::InvalidInput,
                json: json!({ "torn_down": false }),
                text: "not torn down: pass --yes to tear down without a terminal\n".into(),
            };
        }
        let report = prepared
            .teardown(crate::progress::StepProgress::new(json_out), &NotCancelled)
            .await;
        let mut text = format!("Teardown of setup '{}':\n", report.setup);
        for item in &report.items {
            let line = match &item.result {
                TeardownResult::Deleted => "deleted".to_string(),
                TeardownResult::Left { reason } => format!("left: {reason}"),
                TeardownResult::Failed { problem } => format!("failed: {}", problem.message),
                TeardownResult::NotRun => "not run".to_string(),
            };
            let app = crate::setup_batch::in_app(item.app.as_deref());
            text.push_str(&format!(
                "  {} {}{app}: {line}\n",
                item.kind.as_str(),
                item.name
            ));
            if let Some(note) = &item.note {
                text.push_str(&format!("    note: {note}\n"));
            }
        }
        let exit = match &report.problem {
            Some(p) => {
                text.push_str(&problem_text(p));
                Exit::of(p.code)
            }
            None => Exit::Ok,
        };
        SetupOutcome {
            exit,
            json: json!({ "report": report }),
            text,
        }
    })
}
