//! `octo-oidc-app`: the Octopus OIDC Wizard's use cases, one async function each, called by
//! both faces — the desktop app (`src-tauri`, which only translates [`Problem`]s into its
//! `UiError`) and the CLI `octo-oidc` (which only parses arguments and renders results).
//!
//! Map: [`Session`] (the connected clients and every use case that needs them: connect
//! Octopus with a typed key, reconnect from the keychain or `OCTOPUS_API_KEY`, sign out, the
//! built-in Sandbox's start / stop / status and its Octopus, a space's inventory),
//! [`connect_form`] (the Connect form's checks), [`form_field`] (the forms' field ids),
//! [`octopus_connection`] (connection summaries), [`sandbox`] (sandbox summaries, and
//! [`sandbox::serve`] for `octo-oidc sandbox`), [`keychain`] (whether a keychain answers),
//! [`inventory`] (space resolution), [`setup_draft`] (the wizard's setup as typed: checked
//! with the setup-file rules, previewed with the engine — subjects, trust, matrix, plan),
//! [`setup_run`] (a setup file's plan / apply / verify /
//! teardown / status over the engine, with the real adapters or a sandbox env file),
//! [`file_journal`] (the engine's journal as JSON lines in the user's data folder),
//! [`sandbox_env`] (the sandbox switch: its env file written and read), [`sandbox_tokens`]
//! (verify's token source in the sandbox), [`cloud_connect`]
//! ("Connect the cloud": Azure and AWS sign-in and the pickers' lists — tenants,
//! subscriptions, resource groups, roles, the AWS account, profiles, managed policies,
//! Octopus service accounts and teams),
//! [`setup_session`]
//! (the window's setup use cases on the session: a draft or a saved file planned, applied
//! with progress, verified, torn down, saved, opened — through [`setup_run`]),
//! [`existing_account`] (QA's verify of an Octopus OIDC account that exists, by name or id,
//! and the picker's list of a space's OIDC accounts),
//! [`run_report`] (the views of plans, applies, verifies and teardowns, progress events,
//! console links and the repeat command).
//!
//! Every failure is an [`octo_oidc_core::Problem`]; secrets (typed keys, the sandbox's key and
//! CA) stay in here as `Secret`s and never appear in a result.
//!
//! Feature `specta` (the desktop app enables it) derives `specta::Type` on every type that
//! crosses the desktop IPC, and on the core's `ErrorCode` and `FieldError`.
//!
//! Deliberately absent: Tauri (this crate must run from the CLI and tests without a desktop)
//! and any trust logic (the core computes it).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod app_info;
pub mod cloud_connect;
pub mod connect_form;
pub mod existing_account;
pub mod file_journal;
pub mod form_field;
pub mod inventory;
pub mod keychain;
pub mod octopus_connection;
pub mod run_report;
pub mod sandbox;
pub mod sandbox_env;
pub mod sandbox_tokens;
pub mod session;
pub mod setup_draft;
pub mod setup_run;
pub mod setup_session;

pub use app_info::AppInfo;
pub use connect_form::{ConnectForm, OctopusTarget};
pub use form_field::FormField;
pub use keychain::KeychainStatus;
pub use octo_oidc_core::Problem;
pub use octopus_connection::{ApiKeyKept, OctopusConnectionSummary, SignedOut};
pub use sandbox::SandboxSummary;
pub use session::{IssuerVerdict, Session};
pub use setup_draft::{SetupCheck, SetupDraft, SetupPreview};
