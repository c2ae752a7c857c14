//! The exit-code contract, in one place (documented in `--help` and the README):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok (`plan --detailed-exitcode`: no changes) |
//! | 1 | verify found problems / the trust rejected the token |
//! | 2 | invalid input (setup file, flags), found before any remote call |
//! | 3 | a remote failure (network, permission, service error) |
//! | 4 | `plan --detailed-exitcode`: changes pending |
//!
//! A batch exits with the most serious of its setups' codes (3 > 2 > 1 > 4 > 0).

use std::process::ExitCode;

use octo_oidc_core::ErrorCode;

/// One command's (or one setup's) result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0.
    Ok,
    /// 1.
    ProblemsFound,
    /// 2.
    InvalidInput,
    /// 3.
    RemoteFailure,
    /// 4.
    ChangesPending,
}

/// The help text's section on exit codes.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok (plan --detailed-exitcode: no changes)
  1  verify found problems / the trust rejected the token
  2  invalid input (setup file, flags), found before any remote call;
     also: apply/teardown without --yes when not on a terminal (the plan is shown)
  3  a remote failure (network, permission, service error)
  4  plan --detailed-exitcode: changes pending
A batch (several files or a folder) exits with the most serious code of its setups.";

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::ProblemsFound => 1,
            Exit::InvalidInput => 2,
            Exit::RemoteFailure => 3,
            Exit::ChangesPending => 4,
        }
    }

    /// The exit for a failure with this error code.
    pub fn of(code: ErrorCode) -> Exit {
        match code {
            ErrorCode::InvalidInput => Exit::InvalidInput,
            ErrorCode::TrustRejected => Exit::ProblemsFound,
            _ => Exit::RemoteFailure,
        }
    }

    fn severity(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::ChangesPending => 1,
            Exit::ProblemsFound => 2,
            Exit::InvalidInput => 3,
            Exit::RemoteFailure => 4,
        }
    }

    /// The more serious of two.
    pub fn worst(self, other: Exit) -> Exit {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_its_exit_and_batches_keep_the_worst() {
        for code in ErrorCode::ALL {
            let exit = Exit::of(code);
            match code {
                ErrorCode::InvalidInput => assert_eq!(exit.code(), 2),
                ErrorCode::TrustRejected => assert_eq!(exit.code(), 1),
                _ => assert_eq!(exit.code(), 3, "{code:?}"),
            }
        }
        assert_eq!(Exit::Ok.worst(Exit::ChangesPending), Exit::ChangesPending);
        assert_eq!(
            Exit::RemoteFailure.worst(Exit::InvalidInput),
            Exit::RemoteFailure
        );
        assert_eq!(
            Exit::ProblemsFound.worst(Exit::InvalidInput),
            Exit::InvalidInput
        );
    }
}
