//! The cli crate's integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used)]

mod azure_limit;
mod cli;
mod crash_resume;
mod faults;
mod login_batch;
mod sandbox_command;
mod setup_flows;
mod support;
mod verify_account;
