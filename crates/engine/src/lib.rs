//! `octo-oidc-engine`: the setup engine of the Octopus OIDC Wizard, over the core.
//!
//! Map: [`setup_file`] (the TOML contract: parse, validate with every field error at once,
//! write back, JSON Schema); [`desired`] (what a setup must have, from the setup and the
//! facts the observe step reads); [`observed`] (what exists, shaped as the ports report it);
//! [`plan`] (create / update / unchanged / delete / conflict per resource, in dependency
//! order); [`render`] (text and JSON); [`ownership`] (the marks that make a resource a
//! setup's); [`ci_snippet`] (what a CI pipeline needs to sign in to Octopus); [`observe`]
//! (facts, desired and live state through the ports, then the plan); [`preflight`] (may
//! the callers do what the plan needs, and is the issuer usable, before any write); [`apply`] (the plan
//! walked through the ports in concurrent waves, journaled); [`journal`] (the record format
//! and the crash-safety invariant); [`teardown`] (exactly what the setup created, and
//! status); [`verify`] (issuer, drift, simulator matrix, account test, token trades);
//! [`google`] (the Google Cloud target's part of each layer); [`existing_account`] (verify
//! for an Octopus OIDC account that exists, read from the account, not a setup file).
//!
//! Pure like the core: no IO, no async runtime (`futures` only). Effects go through the
//! core's ports and the [`journal::Journal`] port.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod apply;
pub mod ci_snippet;
pub mod desired;
pub mod existing_account;
pub mod google;
pub mod journal;
pub mod observe;
pub mod observed;
pub mod ownership;
pub mod plan;
pub mod preflight;
pub mod render;
pub mod setup_file;
pub mod teardown;
pub mod verify;
