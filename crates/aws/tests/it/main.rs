//! The aws crate's integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;
mod botocore_client;
mod bounded;
mod client_suite;
mod credentials;
mod failure_paths;
