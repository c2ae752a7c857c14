//! `octo-oidc status FILE…`: what exists now for each setup, and the journal's last word on
//! each resource (a change cut short shows as interrupted).

use std::process::ExitCode;

use serde_json::json;

use crate::exit_code::Exit;
use crate::setup_batch::{SetupArgs, SetupOutcome, run_prepared};

/// Arguments of `octo-oidc status`.
#[derive(Debug, clap::Args)]
#[command(after_help = crate::exit_code::EXIT_CODES_HELP)]
pub struct Args {
    #[command(flatten)]
    setup: SetupArgs,
}

/// Reports every setup's status.
pub fn run(args: Args) -> ExitCode {
    run_prepared(&args.setup, |prepared, loaded| async move {
        let items = match prepared.status() {
            Ok(i) => i,
            Err(p) => return SetupOutcome::failed(&p),
        };
        let mut text = format!(
            "Status of setup '{}' (journal {}):\n",
            loaded.setup.name,
            prepared.journal_path().display()
        );
        for i in &items {
            let exists = if i.exists { "exists " } else { "missing" };
            let interrupted = if i.interrupted { " (interrupted)" } else { "" };
            let id = i.id.as_deref().unwrap_or("");
            let app = crate::setup_batch::in_app(i.app.as_deref());
            text.push_str(&format!(
                "  {exists} {} {}{app} {id} [{}]{interrupted}\n",
                i.kind.as_str(),
                i.name,
                i.action.as_str()
            ));
        }
        SetupOutcome {
            exit: Exit::Ok,
            json: json!({ "items": items, "journal": prepared.journal_path().display().to_string() }),
            text,
        }
    })
}
