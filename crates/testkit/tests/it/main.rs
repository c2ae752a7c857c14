//! The test kit's own tests: a fake that lies is worse than none.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod entra;
mod gcp;
mod iam;
mod kit;
mod octopus;
mod rbac;

use octo_oidc_core::{ErrorCode, Problem};

/// The code of a failed call.
pub fn code<T: std::fmt::Debug>(result: Result<T, Problem>) -> ErrorCode {
    result.expect_err("the call should fail").code
}
