//! The Octopus server URL: the core's one rule ([`octo_oidc_core::server_url`]), re-exported so
//! the client, its configuration and the keychain name servers the same way the forms do.
//!
//! Deliberately absent: a second rule. What a person may paste, when plain http is allowed
//! (loopback only) and where advertised endpoints may point are decided in the core.

pub use octo_oidc_core::server_url::{EndpointError, ServerUrl, ServerUrlError};

use crate::error::OctopusError;

impl From<ServerUrlError> for OctopusError {
    fn from(error: ServerUrlError) -> Self {
        OctopusError::InvalidConfig {
            field: "octopus.server_url",
            problem: format!("{error} {}", error.fix()),
        }
    }
}
