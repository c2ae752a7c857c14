//! `octo-oidc apply FILE…`: shows each setup's plan, then carries it out (with `--yes`, or
//! after a yes on the terminal). Without `--yes` and not on a terminal it shows the plan and
//! exits 2. When the preflight finds a missing permission or a blocking issuer problem, apply
//! does not start and exits 3 naming each (`--ignore-preflight` starts anyway). After a
//! successful apply it prints the equivalent non-interactive command and,
//! for CI targets, the pipeline's sign-in snippet; for Google Cloud, the service account each
//! step impersonates.

use std::process::ExitCode;

use octo_oidc_engine::apply::NotCancelled;
use octo_oidc_engine::render::{plan_json, plan_text, preflight_json, preflight_text};
use serde_json::json;

use crate::exit_code::Exit;
use crate::setup_batch::{
    ChangeArgs, SetupOutcome, interactive, run_prepared_with,
};

/// Arguments of `octo-oidc apply`.
#[derive(Debug, clap::Args)]
#[command(after_help = crate::exit_code::EXIT_CODES_HELP)]
#[command(mut_arg("yes", |yes| yes.help("Apply without asking")))]
pub struct Args {
    #[command(flatten)]
    change: ChangeArgs,
    /// Start even when the preflight finds missing permissions or a blocking issuer problem
    /// (apply then fails where the service refuses).
    #[arg(long)]
    ignore_preflight: bool,
}

/// Applies every setup.
pub fn run(args: Args) -> ExitCode {
    let ignore_preflight = args.ignore_preflight;
    let change = &args.change;
    let json_out = change.setup.json;
    let configure = move |run: octo_oidc_app::setup_run::SetupRun| run.ignoring_preflight(ignore_preflight);
    run_prepared_with(&change.setup, configure, |prepared, loaded| {
        async move {
            let plan = prepared.plan();
            let mut text = format!("{}{}", plan_text(plan), preflight_text(&prepared.preflight));
            let refused = !ignore_preflight && prepared.preflight.blocks_apply();
            if plan.has_changes() && !refused {
                let accepted = change.go_ahead("Apply these changes?", || {
                    eprint!("{text}");
                    text.clear();
                });
                if !accepted {
                    let why = match interactive() {
                        true => "not applied: the changes were not accepted\n",
                        false => "not applied: pass --yes to apply without a terminal\n",
                    };
                    text.push_str(why);
                    return SetupOutcome {
                        exit: Exit::InvalidInput,
                        json: json!({ "plan": plan_json(plan), "applied": false, "reason": why.trim() }),
                        text,
                    };
                }
            }
            let applied = prepared
                .apply(crate::progress::StepProgress::new(json_out), &NotCancelled)
                .await;
            let report = &applied.report;
            let mut json = json!({
                "plan": plan_json(plan),
                "preflight": preflight_json(&prepared.preflight),
                "applied": report.is_complete(),
                "report": report,
                "journal": prepared.journal_path().display().to_string(),
            });
            if let Some(problem) = &report.problem {
                json["error"] = serde_json::to_value(problem).unwrap_or_default();
                text.push_str(&crate::setup_batch::problem_text(problem));
                text.push_str(&format!(
                    "The journal is {}; run apply again to resume.\n",
                    prepared.journal_path().display()
                ));
                return SetupOutcome {
                    exit: Exit::of(problem.code),
                    json,
                    text,
                };
            }
            let done = report
                .steps
                .iter()
                .filter(|s| matches!(s.result, octo_oidc_engine::apply::StepResult::Done { .. }))
                .count();
            text.push_str(&format!("Applied: {done} change(s).\n"));
            for (k, v) in &report.outputs {
                text.push_str(&format!("  {k} = {v}\n"));
            }
            let command = change.setup.repeat_command(&loaded.path);
            text.push_str(&format!("Equivalent non-interactive command:\n  {command}\n"));
            json["command"] = json!(command);
            if let Some(email) = &applied.google_service_account {
                text.push_str(&format!(
                    "\nIn each Google Cloud step, set the service account to impersonate (Octopus.Action.GoogleCloud.ServiceAccountEmails) to:\n  {email}\n"
                ));
                json["google_service_account"] = json!(email);
            }
            if let Some(snippet) = &applied.snippet {
                text.push_str("\nAdd this to your pipeline to sign in to Octopus:\n\n");
                text.push_str(snippet);
                json["snippet"] = json!(snippet);
            }
            SetupOutcome {
                exit: Exit::Ok,
                json,
                text,
            }
        }
    })
}
