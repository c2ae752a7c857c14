//! The "Connect to Octopus" form: checks what the user typed before anything is sent.
//!
//! Every invalid field comes back at once as one `invalid_input` [`Problem`]. The server URL
//! follows the core's one rule ([`octo_oidc_core::server_url`]): pasted console URLs are fine,
//! plain http only on loopback. The API key arrives as a [`Secret`] and is never echoed back:
//! [`ConnectForm`] can be deserialized (from the UI) but not serialized.

use octo_oidc_core::error::FieldError;
use octo_oidc_core::{Problem, Secret, ServerUrl};
use serde::{Deserialize, Serialize};

use crate::form_field::FormField;

/// What the user typed on the "Connect to Octopus" screen.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ConnectForm {
    /// The Octopus Server URL, e.g. `https://example.octopus.app` (console URLs are fine).
    pub server_url: String,
    /// An Octopus API key (`API-…`).
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub api_key: Secret,
}

/// A connect form that passed validation: where to connect (the key stays with the caller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct OctopusTarget {
    /// The normalized server URL: scheme and host lower-cased, no trailing slash.
    pub server_url: String,
}

/// A valid form, ready to connect.
#[derive(Debug)]
pub struct CheckedConnectForm {
    /// The server.
    pub server: ServerUrl,
    /// The key, trimmed.
    pub api_key: Secret,
}

/// Checks the server URL alone (for reconnecting with a stored key).
pub fn check_server_url(raw: &str) -> Result<ServerUrl, Problem> {
    ServerUrl::parse(raw).map_err(|error| {
        Problem::invalid_input(vec![error.field_error(FormField::OctopusServerUrl.id())])
    })
}

/// Validates the form, returning the normalized target or every field error at once.
pub fn validate(form: &ConnectForm) -> Result<OctopusTarget, Problem> {
    check(form).map(|checked| OctopusTarget {
        server_url: checked.server.as_key(),
    })
}

/// Validates the form and keeps what connecting needs.
pub fn check(form: &ConnectForm) -> Result<CheckedConnectForm, Problem> {
    let mut errors = Vec::new();
    let server = ServerUrl::parse(&form.server_url)
        .map_err(|error| errors.push(error.field_error(FormField::OctopusServerUrl.id())))
        .ok();
    if let Err(error) = check_api_key(&form.api_key) {
        errors.push(error);
    }
    match server {
        Some(server) if errors.is_empty() => Ok(CheckedConnectForm {
            server,
            api_key: Secret::new(form.api_key.expose().trim()),
        }),
        _ => Err(Problem::invalid_input(errors)),
    }
}

fn check_api_key(key: &Secret) -> Result<(), FieldError> {
    let error = |problem: &str| FieldError {
        field: FormField::OctopusApiKey.id().into(),
        problem: problem.into(),
        fix: "Create one in Octopus under your profile → My API Keys; it starts with API-.".into(),
    };
    let value = key.expose().trim();
    if value.is_empty() {
        return Err(error("The API key is empty."));
    }
    let body = value.strip_prefix("API-").unwrap_or("");
    if body.len() < 16 || !body.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(error("This does not look like an Octopus API key."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use octo_oidc_core::ErrorCode;

    fn form(url: &str, key: &str) -> ConnectForm {
        ConnectForm {
            server_url: url.into(),
            api_key: Secret::new(key),
        }
    }

    const KEY: &str = "API-ABCDEFGHIJKLMNOPQRSTUVWXYZ12";
    const SERVER_URL: &str = "octopus.server_url";
    const API_KEY: &str = "octopus.api_key";

    #[test]
    fn accepts_https_and_normalizes() {
        let target = validate(&form(" https://Example.Octopus.App/ ", KEY)).expect("valid");
        assert_eq!(target.server_url, "https://example.octopus.app");
        let target = validate(&form("https://deploy.example.com/octopus/", KEY)).expect("valid");
        assert_eq!(target.server_url, "https://deploy.example.com/octopus");
        let target =
            validate(&form("https://x.octopus.app/app#/Spaces-1/projects", KEY)).expect("valid");
        assert_eq!(target.server_url, "https://x.octopus.app");
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(validate(&form("http://127.0.0.1:8080", KEY)).is_ok());
        assert!(validate(&form("http://localhost:8080", KEY)).is_ok());
        for url in [
            "http://octopus.example.com",
            "http://127.evil.test",
            "http://localhost.evil.test",
        ] {
            let problem = validate(&form(url, KEY)).expect_err(url);
            assert_eq!(problem.field_errors.len(), 1, "{url}");
            assert_eq!(problem.field_errors[0].field, SERVER_URL, "{url}");
            assert!(
                problem.field_errors[0].problem.contains("unencrypted"),
                "{url}"
            );
            assert!(problem.field_errors[0].fix.contains("https://"), "{url}");
        }
    }

    #[test]
    fn reports_every_invalid_field_at_once() {
        let problem = validate(&form("", "secret-value")).expect_err("both invalid");
        assert_eq!(problem.code, ErrorCode::InvalidInput);
        let fields: Vec<_> = problem
            .field_errors
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, [SERVER_URL, API_KEY]);
    }

    #[test]
    fn rejects_malformed_urls_and_keys() {
        for url in [
            "example.com",
            "ftp://example.com",
            "https://user:pw@x.example",
        ] {
            assert!(validate(&form(url, KEY)).is_err(), "{url}");
        }
        for key in [
            "API-",
            "API-short",
            "api-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "API-ABCDEFGH IJKLMNOPQRSTU",
        ] {
            assert!(validate(&form("https://x.example", key)).is_err(), "{key}");
        }
    }

    #[test]
    fn the_key_never_appears_in_the_problem() {
        let problem = validate(&form("nope", "API-SECRET SECRET SECRET")).expect_err("invalid");
        let json = serde_json::to_string(&problem).expect("serializes");
        assert!(!json.contains("SECRET"), "{json}");
    }
}
