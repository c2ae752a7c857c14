//! The azure crate's integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used)]

mod against_sandbox;
mod bounded;
