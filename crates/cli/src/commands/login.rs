//! `octo-oidc login --server URL`: checks an Octopus API key against the server and keeps it
//! in the OS keychain (through `octo_oidc_app::Session::connect_octopus`). The key is read
//! from `OCTOPUS_API_KEY`, else from stdin (one line; not echoed back anywhere).

use std::process::ExitCode;

use octo_oidc_app::{ApiKeyKept, ConnectForm, Session};
use octo_oidc_core::Secret;

use crate::exit_code::Exit;
use crate::setup_batch::{problem_text, runtime};

/// Arguments of `octo-oidc login`.
#[derive(Debug, clap::Args)]
#[command(after_help = crate::exit_code::EXIT_CODES_HELP)]
pub struct Args {
    /// The Octopus Server URL (console URLs are fine).
    #[arg(long)]
    server: String,
}

/// Signs in and stores the key.
pub fn run(args: Args) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return crate::fail(format!("cannot start the async runtime: {e}")),
    };
    let key = match std::env::var("OCTOPUS_API_KEY") {
        Ok(k) if !k.trim().is_empty() => k,
        _ => {
            if crate::setup_batch::interactive() {
                eprint!("Octopus API key (API-…): ");
            }
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() {
                return crate::fail("cannot read the API key from stdin");
            }
            line.trim().to_string()
        }
    };
    let session = Session::new();
    let form = ConnectForm {
        server_url: args.server,
        api_key: Secret::new(key),
    };
    match rt.block_on(session.connect_octopus(form)) {
        Ok(summary) => {
            let kept = match summary.api_key_kept {
                ApiKeyKept::Keychain => "kept in the OS keychain",
                _ => "NOT kept (no keychain answered); set OCTOPUS_API_KEY for each run",
            };
            println!("Signed in to {}; the API key is {kept}.", summary.server_url);
            ExitCode::SUCCESS
        }
        Err(p) => {
            eprint!("{}", problem_text(&p));
            Exit::of(p.code).into()
        }
    }
}
