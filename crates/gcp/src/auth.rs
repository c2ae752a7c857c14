//! Sign-in to Google Cloud through the official `google-cloud-auth` crate: Application Default
//! Credentials (the `GOOGLE_APPLICATION_CREDENTIALS` file, else the file
//! `gcloud auth application-default login` writes, else the metadata server), or one
//! credentials file chosen by the user: a service-account key, an authorized user, or an
//! external account (workload identity federation of the wizard's own host).
//!
//! Tokens stay in memory inside the library's cache (it refreshes them); each request asks for
//! the current one. The key material is read once and handed to the library, never logged.
//!
//! Left out: user impersonation chains (`impersonated_service_account` files work through ADC
//! as the library supports them), API keys.

use google_cloud_auth::credentials::{
    AccessTokenCredentials, Builder, external_account, service_account, user_account,
};
use octo_oidc_core::Secret;
use serde_json::Value;

use crate::error::GcpError;

/// The OAuth scope every call here uses.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Signed-in Google credentials. Cheap to clone.
#[derive(Clone, Debug)]
pub struct GoogleSignIn {
    credentials: AccessTokenCredentials,
    source: &'static str,
}

fn sign_in_error(e: impl std::fmt::Display) -> GcpError {
    GcpError::SignIn {
        message: octo_oidc_http::server_text(&e.to_string()),
        transient: false,
    }
}

impl GoogleSignIn {
    /// Application Default Credentials, as `gcloud` and the Google client libraries find them.
    pub fn application_default() -> Result<GoogleSignIn, GcpError> {
        let credentials = Builder::default()
            .with_scopes([CLOUD_PLATFORM_SCOPE])
            .build_access_token_credentials()
            .map_err(sign_in_error)?;
        Ok(GoogleSignIn {
            credentials,
            source: "application default credentials",
        })
    }

    /// One credentials file's JSON (service-account key, authorized user or external account),
    /// given as a secret because a key file is one.
    pub fn from_json(json: &Secret) -> Result<GoogleSignIn, GcpError> {
        let value: Value = serde_json::from_str(json.expose())
            .map_err(|e| sign_in_error(format!("the credentials file is not JSON: {e}")))?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let (credentials, source) = match kind.as_str() {
            "service_account" => (
                service_account::Builder::new(value)
                    .with_access_specifier(service_account::AccessSpecifier::from_scopes([
                        CLOUD_PLATFORM_SCOPE,
                    ]))
                    .build_access_token_credentials(),
                "service-account key",
            ),
            "authorized_user" => (
                user_account::Builder::new(value)
                    .with_scopes([CLOUD_PLATFORM_SCOPE])
                    .build_access_token_credentials(),
                "authorized user",
            ),
            "external_account" => (
                external_account::Builder::new(value)
                    .with_scopes([CLOUD_PLATFORM_SCOPE])
                    .build_access_token_credentials(),
                "external account",
            ),
            other => {
                return Err(sign_in_error(format!(
                    "credentials of type '{other}' are not supported; use a service-account key, an authorized user (gcloud auth application-default login) or an external account"
                )));
            }
        };
        Ok(GoogleSignIn {
            credentials: credentials.map_err(sign_in_error)?,
            source,
        })
    }

    /// A credentials file on disk (see [`GoogleSignIn::from_json`]).
    pub fn from_file(path: &std::path::Path) -> Result<GoogleSignIn, GcpError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| sign_in_error(format!("could not read {}: {e}", path.display())))?;
        GoogleSignIn::from_json(&Secret::new(text))
    }

    /// Where the credentials came from (for status lines; never the key).
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// The current access token (cached and refreshed by the library).
    pub async fn access_token(&self) -> Result<Secret, GcpError> {
        self.credentials
            .access_token()
            .await
            .map(|t| Secret::new(t.token))
            .map_err(|e| GcpError::SignIn {
                message: octo_oidc_http::server_text(&e.to_string()),
                transient: e.is_transient(),
            })
    }
}
