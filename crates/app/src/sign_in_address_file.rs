//! The end-to-end tests' stand-in for the system browser: with [`SIGN_IN_URL_FILE`] set in
//! the session's environment and the built-in Sandbox's Octopus connected, the Azure browser
//! sign-in writes its authorize address to that file (one `AZURE_SIGN_IN_URL=…` line, 0600,
//! never through a symlink) instead of opening a browser, so a WebDriver test can sign in on
//! the Sandbox's authorize page as a user would and follow its redirect to the loopback
//! listener.
//!
//! Never active otherwise: unset (the default) or signed in to the real Azure, the face's
//! opener is used. It changes only where the address goes: the address carries the PKCE
//! challenge and the `state` (the verifier stays in memory), and the redirect is still
//! checked for its `state` and redeemed with the verifier.

use std::path::Path;

use crate::sandbox_env::write_env_file;

/// The variable naming the file the Sandbox's sign-in address goes to.
pub const SIGN_IN_URL_FILE: &str = "OCTO_OIDC_SIGN_IN_URL_FILE";

/// The file's one variable.
pub const SIGN_IN_URL_VAR: &str = "AZURE_SIGN_IN_URL";

/// Writes `address` to `path` as `AZURE_SIGN_IN_URL=address` (what the opener reports as
/// its failure, so the sign-in shows the address as a notice, is the I/O error's text).
pub(crate) fn write_sign_in_address(path: &Path, address: &str) -> Result<(), String> {
    write_env_file(path, &[(SIGN_IN_URL_VAR.to_string(), address.to_string())]).map_err(|e| {
        format!(
            "cannot write the sign-in address to {}: {e}",
            path.display()
        )
    })
}
