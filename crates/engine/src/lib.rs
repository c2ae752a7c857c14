//! `octo-oidc-engine`: the setup engine of the Octopus OIDC Wizard, over the core.
//!
//! Map: [`setup_file`] (the TOML contract: parse, validate with every field error at once,
//! write back, JSON Schema); [`desired`] (what a setup must have, from the setup and the
//! facts the observe step reads); [`observed`] (what exists, shaped as the ports report it);
//! [`plan`] (create / update / unchanged / delete / conflict per resource, in dependency
//! order); [`render`] (text and JSON); [`ownership`] (the marks that make a resource a
//! setup's); [`ci_snippet`] (what a CI pipeline needs to sign in to Octopus).
//!
//! Pure like the core: no IO, no async runtime. Next: the observe step and apply over the
//! core's ports, the journal, verify and teardown.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod ci_snippet;
pub mod desired;
pub mod observed;
pub mod ownership;
pub mod plan;
pub mod render;
pub mod setup_file;
