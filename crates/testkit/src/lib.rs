//! `octo-oidc-testkit`: what tests across the workspace share instead of copying.
//!
//! - [`fakes`]: one in-memory, stateful fake per port of `octo_oidc_core::ports`
//!   ([`FakeOctopus`], [`FakeEntraApps`], [`FakeAzureRbac`], [`FakeIam`]). They assign ids and
//!   ARNs as the services do, keep ensure operations idempotent, record every call in a
//!   [`CallLog`](fakes::CallLog) (so a test can assert "the second apply changed nothing") and
//!   fail on demand per operation. For engine and core tests that need no whole sandbox.
//! - [`aws::trust_policy`]: the trust-policy fixture of the AWS and sandbox tests.
//! - [`RecordingProgress`]: a progress sink that keeps every event.
//! - [`assert_problem`]: a `Problem`'s code and a part of its message, asserted at once.
//! - [`serve`]: an axum router on `127.0.0.1:0`, served in the background.
//! - [`misbehaving`]: a listener that never answers, a resolver for which no name exists, a
//!   handler unavailable once, a background "browser".
//! - [`TestIssuer`] and [`TestKey`]: an OIDC issuer (RSA key, discovery + JWKS over HTTP or
//!   HTTPS with its own CA) that mints tokens.
//!
//! The fakes judge with their own small rules (JSON equality, a `*`/`?` matcher), never with
//! the core's logic, so a core bug cannot make a fake agree with it. Test code only:
//! `publish = false`, and `unwrap`/`expect` on setup failures are deliberate (a broken test
//! environment should stop the test loudly).
//!
//! Deliberately absent: HTTP-level stand-ins of the services (that is `octo-oidc-sandbox`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod aws;
pub mod fakes;
mod issuer;
pub mod misbehaving;
mod problem;
mod progress;
mod serve;

pub use fakes::{FakeAzureRbac, FakeEntraApps, FakeGoogleCloud, FakeIam, FakeOctopus};
pub use issuer::{TestIssuer, TestKey};
pub use problem::assert_problem;
pub use progress::{RecordingProgress, Retried, assert_retries_went_to};
pub use serve::serve;
