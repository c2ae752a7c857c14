//! [`assert_problem`]: the assertion every failure-path test makes about a `Problem`.

use octo_oidc_core::{ErrorCode, Problem};

/// Asserts that `problem` has `code` and that its message contains `part`; shows the whole
/// problem (code, message, hint, fields) if not.
#[track_caller]
pub fn assert_problem(problem: &Problem, code: ErrorCode, part: &str) {
    assert_eq!(problem.code, code, "{problem:#?}");
    assert!(
        problem.message.contains(part),
        "the message does not contain {part:?}: {problem:#?}"
    );
}
