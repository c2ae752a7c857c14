//! `octo-oidc-gcp`: the Google Cloud side of the wizard.
//!
//! - [`auth`]: sign-in through the official `google-cloud-auth` crate (Application Default
//!   Credentials, or one service-account key / authorized-user / external-account file);
//! - [`client`]: [`RestGoogleCloud`], the core's [`octo_oidc_core::ports::GoogleCloud`] port over
//!   Google's REST APIs (project lookup, `testIamPermissions`, workload identity pools and
//!   providers with their long-running operations and soft delete, service accounts, allow
//!   policies, STS and `generateAccessToken`), endpoints configurable ([`GcpEndpoints`]);
//! - [`transport`]: every call through the core's one retry loop, bodies capped;
//! - [`error`]: [`GcpError`] and its mapping to the core's `Problem`.
//!
//! Why REST and not the generated `google-cloud-*` clients: those build their own reqwest
//! client (no private CA, so they cannot be pointed at the sandbox), bring their own retry and
//! polling loops (the workspace has one), and the workload identity pool resources are not in
//! `google-cloud-iam-admin-v1`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod auth;
pub mod client;
pub mod error;
pub mod transport;

pub use auth::GoogleSignIn;
pub use client::{GcpEndpoints, RestGoogleCloud};
pub use error::{GcpError, Service};
