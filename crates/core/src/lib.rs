//! `octo-oidc-core`: the pure heart of the Octopus OIDC Wizard.
//!
//! Everything the wizard shows and creates is computed here, without IO: Octopus subject
//! claims, the Azure / AWS / Octopus trust specs derived from a chosen scope, validation of
//! user input, the trust simulator, the narrow ports that provider crates implement, progress
//! events and the stable error codes shared by the CLI and the desktop app.
//!
//! Map: [`subject`] (subject claims exactly as Octopus builds them), [`scope`] (inventory,
//! selection, runs, exact subjects, safe AWS patterns), [`azure`] (federated credential sets,
//! role-assignment names), [`aws`] (trust policy model and IAM evaluation, provider and role
//! plan), [`gcp`] (workload identity pool provider, CEL condition, bindings, account),
//! [`accounts`] (Octopus account bodies), [`github`] (GitHub Actions → Octopus),
//! [`simulate`] (the trust simulator and scope matrix), [`preflight`] (what callers may
//! do, read before any write), [`validate`] (all field errors at
//! once), [`wildcard`] (the shared `*`/`?` matcher), [`server_url`] (the one rule for the
//! Octopus Server address and the endpoints it advertises).
//!
//! Feature `specta` (off by default) derives `specta::Type` on the types that cross the
//! desktop app's IPC, so its TypeScript bindings use them directly.
//!
//! Deliberately absent: networking, file access, clocks, randomness from the OS, async
//! runtimes. Callers pass in what the core needs to know.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod accounts;
pub mod aws;
pub mod azure;
pub mod error;
pub mod events;
pub mod gcp;
pub mod github;
pub mod ports;
pub mod preflight;
pub mod retry;
pub mod scope;
pub mod secret;
pub mod server_url;
pub mod simulate;
pub mod subject;
pub mod validate;
pub mod wildcard;

pub use error::{ErrorCode, Problem};
pub use secret::Secret;
pub use server_url::ServerUrl;
pub use subject::{Context, SubjectKey, SubjectValues, build_subject};
