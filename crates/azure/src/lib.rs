//! `octo-oidc-azure`: the Azure side of the Octopus OIDC Wizard — Entra ID sign-in
//! ([`auth`]), Microsoft Graph app registrations, service principals and federated identity
//! credentials ([`graph::GraphEntraApps`], implementing the core's `EntraApps` port), and
//! Azure Resource Manager listing and role assignments ([`arm::ArmRbac`], implementing
//! `AzureRbac`).
//!
//! All HTTP goes through [`transport::Transport`]: reqwest with rustls, the core's shared
//! retry policy (backoff with jitter, `Retry-After`, bounded total wait, known propagation
//! errors) and progress events for every retry. Base URLs (authority, Graph, ARM) are
//! injectable so tests run against the sandbox. Failures become [`octo_oidc_core::Problem`]s
//! with stable codes derived from the services' own error codes ([`error`]).
//!
//! Deliberately absent: any persistence of tokens (memory only), the Azure SDK management
//! crates (on an older azure_core line), and decisions about what to create (the core plans;
//! this crate applies).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod arm;
pub mod auth;
pub mod error;
pub mod graph;
mod oauth;
pub mod transport;

pub use arm::ArmRbac;
pub use auth::{AuthorityConfig, AzureSession, DeviceCodePrompt, Resource, SignedInAccount};
pub use error::{AzureError, Service};
pub use graph::GraphEntraApps;
pub use transport::Transport;
