//! `octo-oidc-octopus`: the Octopus Deploy side of the wizard, over Octopus's REST API.
//!
//! [`RestOctopus`] implements the core's [`octo_oidc_core::ports::Octopus`] port and offers the
//! richer API the wizard's screens need: the connection check (version, user, permissions),
//! the space inventory (concurrent `/all` loads into lean structs), the issuer check
//! (discovery + JWKS + reachability), OIDC accounts (idempotent ensure, delete, account test
//! with its log), and service accounts with their OIDC identities. API keys live only in the
//! OS keychain ([`keychain::ApiKeyStore`]); [`OctopusError`] converts into the core's
//! [`octo_oidc_core::Problem`] with stable codes and the server's own message.
//!
//! Testing: `cargo test -p octo-oidc-octopus` drives every operation against the in-process
//! sandbox Octopus. The keychain test needs a real Secret Service (CI runs it in
//! `dbus-run-session` with an unlocked gnome-keyring, see `tests/keychain.rs`) and fails
//! without one, unless `OCTO_OIDC_SKIP_KEYRING_TESTS=1` skips it explicitly. The inventory
//! benchmark is `cargo run --release -p octo-oidc-octopus --example inventory_bench`.
//!
//! Deliberately absent: any plan or trust logic (the core computes account bodies and
//! subjects), and secret-bearing account types.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod accounts;
pub mod client;
pub mod connection;
pub mod error;
pub mod inventory;
pub mod issuer;
pub mod keychain;
pub mod login;
pub mod sandbox_tokens;
pub mod server_url;
pub mod service_accounts;
pub mod tasks;
pub mod token_exchange;
mod transport;

pub use client::{OctopusClientConfig, RestOctopus};
pub use error::OctopusError;
pub use server_url::ServerUrl;
pub use transport::{Credential, SERVICE};
