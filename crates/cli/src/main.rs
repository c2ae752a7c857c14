//! `octo-oidc`: the command-line face of the Octopus OIDC Wizard.
//!
//! Each subcommand lives in `src/commands/<name>.rs` and exposes `Args` (clap) and
//! `run(Args) -> ExitCode`; registering one is a single line in the `commands!` list below.
//!
//! Exit codes: 0 success (for `simulate`: accepted / no difference), 1 the token is rejected
//! or the scope has over- or under-permissions, 2 invalid input.

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

commands! {
    /// Print the subject Octopus puts in the token for a context, keys and slugs.
    Subject => subject,
    /// Decide whether a trust configuration accepts a token, or simulate a whole scope.
    Simulate => simulate,
    /// Start the local sandbox (Octopus, Entra/Graph/ARM, IAM/STS) and print its endpoints.
    Sandbox => sandbox,
}

/// Set up OpenID Connect trust between Octopus Deploy and Azure, AWS or GitHub Actions.
#[derive(Debug, Parser)]
#[command(name = "octo-oidc", version, about)]
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
