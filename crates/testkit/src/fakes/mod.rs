//! In-memory, stateful fakes of the core's ports, one per port.
//!
//! Each fake is cheap to clone (clones share state, so a test keeps a handle while the code
//! under test owns another) and offers, besides its port:
//!
//! - a [`CallLog`] of every port call with whether it changed state, so "a second apply
//!   changes nothing" is `fake.log().changes().is_empty()`;
//! - injectable failures per operation (`fail_next`, `fail_always`), named by the port
//!   method; an unknown name panics, so a typo cannot silently disable a failure;
//! - seeding helpers for state that exists before the test (someone else's role, a person
//!   holding a username).
//!
//! The fakes follow the services' rules that the engine relies on (ids assigned, ensure is
//! idempotent, delete of a missing object succeeds, a person is not a service account, 20
//! federated credentials per app, marks written on create only) and judge tokens with their
//! own small checks (unverified claims, a `*`/`?` matcher), not with the core's code.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use octo_oidc_core::ports::Applied;
use octo_oidc_core::{ErrorCode, Problem};
use serde_json::Value;

mod entra;
mod gcp;
mod iam;
mod octopus;
mod rbac;

pub use entra::FakeEntraApps;
pub use gcp::{FAKE_EXPIRE_TIME, FakeGoogleCloud};
pub use iam::FakeIam;
pub use octopus::FakeOctopus;
pub use rbac::FakeAzureRbac;

/// One port call a fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The port method, e.g. `ensure_role`.
    pub operation: String,
    /// What it was about (a name, id, ARN or URL).
    pub target: String,
    /// Whether it changed the fake's state (created, updated, deleted).
    pub changed: bool,
    /// Whether it failed (injected or by the service's rules).
    pub failed: bool,
}

/// The calls a fake received, in order; clones share the log.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<Call>>>);

impl CallLog {
    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }

    /// The operations called, in order.
    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    /// The calls that changed state.
    pub fn changes(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.changed).collect()
    }

    /// Forgets the calls so far.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    fn push(&self, operation: &str, target: &str, changed: bool, failed: bool) {
        self.0.lock().unwrap().push(Call {
            operation: operation.to_string(),
            target: target.to_string(),
            changed,
            failed,
        });
    }
}

/// Failures to inject per operation.
#[derive(Debug, Default)]
struct Failures {
    next: BTreeMap<String, VecDeque<Problem>>,
    always: BTreeMap<String, Problem>,
}

/// The log and failures every fake carries, checked against its list of operations.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    fake: &'static str,
    operations: &'static [&'static str],
    log: CallLog,
    failures: Arc<Mutex<Failures>>,
}

impl Recorder {
    pub(crate) fn new(fake: &'static str, operations: &'static [&'static str]) -> Recorder {
        Recorder {
            fake,
            operations,
            log: CallLog::default(),
            failures: Arc::default(),
        }
    }

    fn known(&self, operation: &str) {
        assert!(
            self.operations.contains(&operation),
            "{} has no operation `{operation}` (it has: {})",
            self.fake,
            self.operations.join(", ")
        );
    }

    pub(crate) fn log(&self) -> &CallLog {
        &self.log
    }

    pub(crate) fn fail_next(&self, operation: &str, problem: Problem) {
        self.known(operation);
        let mut failures = self.failures.lock().unwrap();
        failures
            .next
            .entry(operation.to_string())
            .or_default()
            .push_back(problem);
    }

    pub(crate) fn fail_always(&self, operation: &str, problem: Problem) {
        self.known(operation);
        let mut failures = self.failures.lock().unwrap();
        failures.always.insert(operation.to_string(), problem);
    }

    pub(crate) fn heal(&self) {
        *self.failures.lock().unwrap() = Failures::default();
    }

    /// One port call: an injected failure, or what `run` answers (the value and whether it
    /// changed state), logged either way.
    pub(crate) fn call<T>(
        &self,
        operation: &'static str,
        target: &str,
        run: impl FnOnce() -> Result<(T, bool), Problem>,
    ) -> Result<T, Problem> {
        self.begin(operation, target)?;
        self.end(operation, target, run())
    }

    /// A port call that reads and cannot fail by the service's rules (a lookup).
    pub(crate) fn read<T>(
        &self,
        operation: &'static str,
        target: &str,
        read: impl FnOnce() -> T,
    ) -> Result<T, Problem> {
        self.call(operation, target, || Ok((read(), false)))
    }

    /// Starts a call: an injected failure is logged and returned.
    pub(crate) fn begin(&self, operation: &'static str, target: &str) -> Result<(), Problem> {
        self.known(operation);
        let injected = {
            let mut failures = self.failures.lock().unwrap();
            let queued = failures
                .next
                .get_mut(operation)
                .and_then(VecDeque::pop_front);
            queued.or_else(|| failures.always.get(operation).cloned())
        };
        match injected {
            Some(problem) => {
                self.log.push(operation, target, false, true);
                Err(problem)
            }
            None => Ok(()),
        }
    }

    /// Ends a call: logs it with whether it changed state or failed.
    pub(crate) fn end<T>(
        &self,
        operation: &'static str,
        target: &str,
        result: Result<(T, bool), Problem>,
    ) -> Result<T, Problem> {
        match result {
            Ok((value, changed)) => {
                self.log.push(operation, target, changed, false);
                Ok(value)
            }
            Err(problem) => {
                self.log.push(operation, target, false, true);
                Err(problem)
            }
        }
    }
}

/// Defines `log`, `fail_next`, `fail_always` and `heal` on a fake with a `recorder` field.
/// Declares a fake: its struct (shared `State` behind a lock, and a [`Recorder`]),
/// `Default` (= `new()`), and the call-log and failure-injection methods.
macro_rules! recorded_fake {
    ($(#[$doc:meta])* $fake:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $fake {
            state: std::sync::Arc<std::sync::Mutex<State>>,
            recorder: $crate::fakes::Recorder,
        }

        impl Default for $fake {
            fn default() -> Self {
                $fake::new()
            }
        }

        impl $fake {
            /// Every port call this fake (and its clones) received.
            pub fn log(&self) -> &$crate::fakes::CallLog {
                self.recorder.log()
            }

            /// Makes the next call of `operation` (a port method name) fail with `problem`;
            /// queued failures are used one per call.
            pub fn fail_next(&self, operation: &str, problem: octo_oidc_core::Problem) {
                self.recorder.fail_next(operation, problem)
            }

            /// Makes every call of `operation` fail with `problem` until [`Self::heal`].
            pub fn fail_always(&self, operation: &str, problem: octo_oidc_core::Problem) {
                self.recorder.fail_always(operation, problem)
            }

            /// Drops every injected failure.
            pub fn heal(&self) {
                self.recorder.heal()
            }
        }
    };
}
pub(crate) use recorded_fake;

pub(crate) fn not_found(what: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::NotFound, what)
}

pub(crate) fn conflict(what: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::Conflict, what)
}

/// What an update of an existing object did, and whether it changed the fake's state:
/// `Updated` when `changed`, else `Unchanged`.
pub(crate) fn updated_if<T>(changed: bool, value: T) -> (Applied<T>, bool) {
    match changed {
        true => (Applied::Updated(value), true),
        false => (Applied::Unchanged(value), false),
    }
}

/// The claims of a JWT, unverified (the fakes trust their caller's signatures).
pub(crate) fn claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` one
/// character (Octopus's and IAM's `StringLike`).
pub(crate) fn matches_pattern(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Removes every item that `doomed` picks; whether any was removed.
pub(crate) fn remove_where<T>(items: &mut Vec<T>, doomed: impl Fn(&T) -> bool) -> bool {
    let before = items.len();
    items.retain(|item| !doomed(item));
    items.len() != before
}

/// The `aud` claim as a list (a string or an array).
pub(crate) fn audiences(claims: &Value) -> Vec<String> {
    strings(&claims["aud"])
}

/// A JSON string or array of strings as a list (anything else: empty).
pub(crate) fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// A GUID-shaped id, unique per fake (`00000000-0000-4000-8000-00000000000N`).
pub(crate) fn guid(counter: u64) -> String {
    format!("00000000-0000-4000-8000-{counter:012x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matcher_knows_star_and_question_mark() {
        assert!(matches_pattern(
            "repo:a/b:ref:refs/heads/*",
            "repo:a/b:ref:refs/heads/main"
        ));
        assert!(matches_pattern("a?c", "abc"));
        assert!(!matches_pattern("a?c", "ac"));
        assert!(matches_pattern("*", ""));
        assert!(!matches_pattern("space:default", "space:Default"));
        assert!(matches_pattern("a*b*c", "axxbyyc"));
        assert!(!matches_pattern("a*b*c", "axxbyy"));
    }
}
