//! The sandbox crate's integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used)]

mod aws_iam;
mod aws_sts;
mod aws_support;
mod aws_wire;
mod differential;
mod entra_authority;
mod entra_graph_arm;
mod entra_support;
mod gcp;
mod http_support;
mod judge_independence;
mod octopus_account_test;
mod octopus_api;
mod octopus_oidc;
mod octopus_support;
