//! Integration tests of the application crate: every use case as the faces call it, against
//! an in-process sandbox (`octo_oidc_sandbox::Sandbox::start`) and loopback listeners.
//!
//! Keychain: the tests use a service name of their own. Inside `make test`'s keyring session
//! (`OCTO_OIDC_EXPECT_KEYCHAIN=1`) keys really go to the Secret Service; without one they are
//! kept for the session only. Both are checked, whichever the machine offers.
#![allow(clippy::unwrap_used)]

mod cloud_connect;
mod connect_octopus;
mod keychain;
mod locks;
mod sandbox_mode;
mod setup_preview;
mod setup_session;
mod sign_in_page;
mod signed_in_clouds;
mod support;
