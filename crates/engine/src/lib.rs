//! `octo-oidc-engine`: the setup engine of the Octopus OIDC Wizard, over the core.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod setup_file;
