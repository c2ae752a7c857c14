//! The Octopus server URL as the user types it, normalized to one canonical form.
//!
//! People paste what their browser shows (`https://x.octopus.app/app#/Spaces-1/projects`), with
//! or without a trailing slash, sometimes with `/api`. [`ServerUrl::parse`] reduces all of these
//! to the server root (scheme and host lower-cased, default port dropped, no query or fragment,
//! no trailing slash, a virtual directory kept), which is both where requests go and the
//! keychain entry's name.
//!
//! Deliberately absent: any network check (see `RestOctopus::check_connection`).

use std::fmt;

use url::Url;

use crate::error::OctopusError;

/// A normalized Octopus server root URL (http or https).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerUrl {
    /// Always ends with `/`, so relative joins stay below a virtual directory.
    root: Url,
}

impl ServerUrl {
    /// Parses and normalizes a server URL typed by a person.
    pub fn parse(input: &str) -> Result<ServerUrl, OctopusError> {
        let invalid = |problem: String| OctopusError::InvalidConfig {
            field: "octopus.server_url",
            problem,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("the server URL is empty".into()));
        }
        let mut url = Url::parse(trimmed).map_err(|e| {
            invalid(format!(
                "`{trimmed}` is not a URL ({e}); give it like https://your-instance.octopus.app"
            ))
        })?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(invalid(format!(
                "`{trimmed}` must start with https:// (or http:// for a local server)"
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid(format!("`{trimmed}` has no host name")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "the server URL must not contain a user name or password; use an API key".into(),
            ));
        }
        url.set_query(None);
        url.set_fragment(None);
        // `Url` already lower-cases the host and drops the scheme's default port.
        let mut segments: Vec<String> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        // The web portal lives under `/app`, the API under `/api`: both mean the server root.
        while let Some(last) = segments.last() {
            if last.eq_ignore_ascii_case("app") || last.eq_ignore_ascii_case("api") {
                segments.pop();
            } else {
                break;
            }
        }
        let path = if segments.is_empty() {
            "/".to_string()
        } else {
            format!("/{}/", segments.join("/"))
        };
        url.set_path(&path);
        Ok(ServerUrl { root: url })
    }

    /// The root with a trailing slash (for joining paths).
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The canonical string: no trailing slash (e.g. `https://x.octopus.app`).
    pub fn as_key(&self) -> String {
        self.root.as_str().trim_end_matches('/').to_string()
    }

    /// The host name (what AWS uses as the audience of Octopus tokens).
    pub fn host(&self) -> &str {
        self.root.host_str().unwrap_or_default()
    }

    /// Whether requests go over TLS.
    pub fn is_https(&self) -> bool {
        self.root.scheme() == "https"
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_and_api_urls_normalize_to_the_server_root() {
        for input in [
            "https://Example.Octopus.App",
            "https://example.octopus.app/",
            "https://example.octopus.app:443/app#/Spaces-1/projects",
            "https://example.octopus.app/api/",
            "  https://example.octopus.app/api?x=1 ",
        ] {
            let url = ServerUrl::parse(input).expect(input);
            assert_eq!(url.as_key(), "https://example.octopus.app", "{input}");
            assert_eq!(url.root().as_str(), "https://example.octopus.app/");
        }
    }

    #[test]
    fn virtual_directories_and_ports_are_kept() {
        let url = ServerUrl::parse("http://127.0.0.1:8080/octopus/app").expect("valid");
        assert_eq!(url.as_key(), "http://127.0.0.1:8080/octopus");
        assert_eq!(url.host(), "127.0.0.1");
        assert!(!url.is_https());
    }

    #[test]
    fn unusable_urls_are_rejected_with_the_field_name() {
        for input in [
            "",
            "example.octopus.app",
            "ftp://x",
            "https://user:pw@x.app",
        ] {
            let err = ServerUrl::parse(input).expect_err(input);
            assert!(matches!(
                err,
                OctopusError::InvalidConfig {
                    field: "octopus.server_url",
                    ..
                }
            ));
        }
    }
}
