//! The "Connect to Octopus" form: checks what the user typed before anything is sent.
//!
//! Input validation of the first screen lives here until the core grows its own input
//! validation module; it reports every invalid field at once as a core [`Problem`]. The API key
//! arrives as a core [`Secret`] and is never echoed back: [`ConnectForm`] can be deserialized
//! (from the UI) but not serialized.

use octo_oidc_core::error::FieldError;
use octo_oidc_core::{Problem, Secret};
use serde::{Deserialize, Serialize};
use specta::Type;

/// What the user typed on the "Connect to Octopus" screen.
#[derive(Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectForm {
    /// The Octopus Server URL, e.g. `https://example.octopus.app`.
    pub server_url: String,
    /// An Octopus API key (`API-…`).
    #[specta(type = String)]
    pub api_key: Secret,
}

/// A connect form that passed validation: where to connect (the key stays with the caller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OctopusTarget {
    /// The normalized server URL: scheme and host lower-cased, no trailing slash.
    pub server_url: String,
}

/// Field names as the UI knows them (and shows next to the inputs).
pub const FIELD_SERVER_URL: &str = "octopus.server_url";
/// Field name of the API key input.
pub const FIELD_API_KEY: &str = "octopus.api_key";

/// Validates the form, returning the normalized target or every field error at once.
pub fn validate(form: &ConnectForm) -> Result<OctopusTarget, Problem> {
    let mut errors = Vec::new();
    let server_url = match check_server_url(form.server_url.trim()) {
        Ok(url) => Some(url),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    if let Err(error) = check_api_key(&form.api_key) {
        errors.push(error);
    }
    match server_url {
        Some(server_url) if errors.is_empty() => Ok(OctopusTarget { server_url }),
        _ => Err(Problem::invalid_input(errors)),
    }
}

fn field_error(field: &str, problem: &str, fix: &str) -> FieldError {
    FieldError {
        field: field.into(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

fn check_server_url(raw: &str) -> Result<String, FieldError> {
    let fix = "Enter the address you open Octopus at, e.g. https://example.octopus.app";
    if raw.is_empty() {
        return Err(field_error(
            FIELD_SERVER_URL,
            "The server URL is empty.",
            fix,
        ));
    }
    let url = url::Url::parse(raw)
        .map_err(|_| field_error(FIELD_SERVER_URL, "This is not a valid URL.", fix))?;
    let Some(host) = url.host_str() else {
        return Err(field_error(
            FIELD_SERVER_URL,
            "The URL has no host name.",
            fix,
        ));
    };
    let loopback = matches!(host, "localhost" | "[::1]") || host.starts_with("127.");
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(field_error(
                FIELD_SERVER_URL,
                "Plain http would send your API key unencrypted.",
                "Use the https:// address of your Octopus Server.",
            ));
        }
        _ => {
            return Err(field_error(
                FIELD_SERVER_URL,
                "Only http(s) URLs are supported.",
                fix,
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(field_error(
            FIELD_SERVER_URL,
            "The URL has a query or fragment part.",
            "Remove everything from '?' or '#' on.",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn check_api_key(key: &Secret) -> Result<(), FieldError> {
    let fix = "Create one in Octopus under your profile → My API Keys; it starts with API-.";
    let value = key.expose().trim();
    if value.is_empty() {
        return Err(field_error(FIELD_API_KEY, "The API key is empty.", fix));
    }
    let body = value.strip_prefix("API-").unwrap_or("");
    if body.len() < 16 || !body.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(field_error(
            FIELD_API_KEY,
            "This does not look like an Octopus API key.",
            fix,
        ));
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

    #[test]
    fn accepts_https_and_normalizes() {
        let target = validate(&form(" https://Example.Octopus.App/ ", KEY)).expect("valid");
        assert_eq!(target.server_url, "https://example.octopus.app");
        let target = validate(&form("https://deploy.example.com/octopus/", KEY)).expect("valid");
        assert_eq!(target.server_url, "https://deploy.example.com/octopus");
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(validate(&form("http://127.0.0.1:8080", KEY)).is_ok());
        assert!(validate(&form("http://localhost:8080", KEY)).is_ok());
        let problem = validate(&form("http://octopus.example.com", KEY)).expect_err("http");
        assert_eq!(problem.field_errors[0].field, FIELD_SERVER_URL);
        assert!(problem.field_errors[0].problem.contains("unencrypted"));
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
        assert_eq!(fields, [FIELD_SERVER_URL, FIELD_API_KEY]);
    }

    #[test]
    fn rejects_malformed_urls_and_keys() {
        for url in ["example.com", "ftp://example.com", "https://x.example/?a=1"] {
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
