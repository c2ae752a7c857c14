//! `octo-oidc`: the command-line face of the Octopus OIDC Wizard.
//!
//! Each subcommand lives in `src/commands/<name>.rs` and exposes `Args` (clap) and
//! `run(Args) -> ExitCode`; registering one is a single line in the `commands!` list below.
//!
//! Exit codes (a contract; the one mapping is `exit_code`): 0 ok (for `simulate`: accepted /
//! no difference), 1 verify found problems / the token is rejected, 2 invalid input (before
//! any remote call), 3 a remote failure, 4 `plan --detailed-exitcode` with changes pending.

#![forbid(unsafe_code)]

use clap::Parser;
use std::process::ExitCode;

/// Declares the subcommand modules, the `Command` enum and its dispatch from one list.
macro_rules! commands {
    ($($(#[$doc:meta])* $variant:ident => $module:ident),* $(,)?) => {
        mod commands {
            $(pub mod $module;)*
        }

        #[derive(Debug, clap::Subcommand)]
        enum Command {
            $($(#[$doc])* $variant(commands::$module::Args),)*
        }

        impl Command {
            fn run(self) -> ExitCode {
                match self {
                    $(Command::$variant(args) => commands::$module::run(args),)*
                }
            }
        }
    };
}

mod exit_code;
mod progress;
mod setup_batch;

commands! {
    /// Show what apply would change for each setup file (lookups only).
    Plan => plan,
    /// Carry out each setup's plan (asks, or --yes), then print the CI snippet if any.
    Apply => apply,
    /// Check that each setup's trust works and trusts exactly its scope.
    Verify => verify,
    /// Remove exactly what each setup created.
    Teardown => teardown,
    /// Show what exists for each setup and the journal's last word.
    Status => status,
    /// Keep an Octopus API key in the OS keychain for a server.
    Login => login,
    /// Write a setup file, asking only for what the flags do not give.
    Init => init,
    /// Print the subject Octopus puts in the token for a context, keys and slugs.
    Subject => subject,
    /// Decide whether a trust configuration accepts a token, or simulate a whole scope.
    Simulate => simulate,
    /// Start the local sandbox (Octopus, Entra/Graph/ARM, IAM/STS) and print its endpoints.
    Sandbox => sandbox,
}

/// Set up OpenID Connect trust between Octopus Deploy and Azure, AWS or GitHub Actions.
#[derive(Debug, Parser)]
#[command(name = "octo-oidc", version, about, after_help = exit_code::EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Prints an error the way every subcommand does and returns the invalid-input exit code.
pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    Cli::parse().command.run()
}
