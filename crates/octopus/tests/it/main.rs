//! The octopus crate's integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used)]

mod bounded;
mod google_account;
mod keychain;
mod no_secret_in_logs;
mod sandbox_octopus;
