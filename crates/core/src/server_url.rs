//! The Octopus Server address: the one rule for what a person may paste and where an API key
//! may be sent. The Connect form, the CLI and the Octopus client all use [`ServerUrl::parse`].
//!
//! People paste what their browser shows (`https://x.octopus.app/app#/Spaces-1/projects`), with
//! or without a trailing slash, sometimes an API URL (`…/api/Spaces-1/projects?take=10`).
//! Everything from the first `app` or `api` path segment on, the query and the fragment are
//! dropped; a virtual directory before them is kept (`https://host/octopus/app#/…` →
//! `https://host/octopus`). Scheme and host are lower-cased and the default port is dropped.
//!
//! Plain `http` is accepted only for this computer: a host that parses as an IP address in
//! `127.0.0.0/8` or `::1`, or is exactly `localhost`. Anything else (`http://127.evil.test`,
//! `http://localhost.evil.test`) is refused before any request could carry the key in clear.
//!
//! [`ServerUrl::check_endpoint`] applies the same rule to an endpoint the server advertises
//! (e.g. the token endpoint from discovery): https or loopback, and on the server's own origin.
//!
//! Deliberately absent: any network check (the Octopus client's connection check does that).

use std::fmt;
use std::net::Ipv6Addr;

use url::{Host, Url};

use crate::error::FieldError;

/// A normalized Octopus Server root URL: https, or http on a loopback address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerUrl {
    /// Always ends with `/`, so relative joins stay below a virtual directory.
    root: Url,
}

/// Why a typed server URL is refused. [`ServerUrlError::field_error`] turns it into the
/// field error a form or setup file shows (the text never repeats the input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerUrlError {
    /// Nothing was typed.
    #[error("The server URL is empty.")]
    Empty,
    /// The text does not parse as an absolute URL.
    #[error("This is not a valid URL.")]
    NotAUrl,
    /// A scheme other than http(s), or none (`example.com`, `localhost:8080`).
    #[error("The URL must start with https:// (or http:// for a server on this computer).")]
    UnsupportedScheme,
    /// The URL has no host name.
    #[error("The URL has no host name.")]
    NoHost,
    /// The URL carries a user name or password.
    #[error("The URL must not contain a user name or password.")]
    Credentials,
    /// Plain http to a host that is not this computer.
    #[error("Plain http would send your API key unencrypted.")]
    PlainHttp,
}

impl ServerUrlError {
    /// What to do instead, in one sentence.
    pub fn fix(&self) -> &'static str {
        match self {
            ServerUrlError::Empty
            | ServerUrlError::NotAUrl
            | ServerUrlError::UnsupportedScheme
            | ServerUrlError::NoHost => {
                "Enter the address you open Octopus at, e.g. https://example.octopus.app"
            }
            ServerUrlError::Credentials => {
                "Remove the user name and password; the API key signs you in."
            }
            ServerUrlError::PlainHttp => {
                "Use the https:// address of your Octopus Server (plain http:// only for localhost, 127.0.0.1 or ::1)."
            }
        }
    }

    /// The field error for the input named `field` (e.g. `octopus.server_url`).
    pub fn field_error(&self, field: &str) -> FieldError {
        FieldError {
            field: field.to_string(),
            problem: self.to_string(),
            fix: self.fix().to_string(),
        }
    }
}

/// Why an endpoint a server advertises is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The endpoint does not parse as an absolute URL.
    #[error("`{0}` is not a URL")]
    NotAUrl(String),
    /// Plain http to a host that is not this computer.
    #[error("`{0}` is plain http to a host that is not this computer")]
    PlainHttp(String),
    /// The endpoint is on another scheme, host or port than the server.
    #[error("`{endpoint}` is not on the server's own origin {server}")]
    ForeignOrigin {
        /// The endpoint as advertised.
        endpoint: String,
        /// The server's origin.
        server: String,
    },
}

/// Whether `host` is this computer: an IPv4 address in `127.0.0.0/8`, `::1`, or exactly
/// `localhost` (no subdomains, no trailing dot).
pub fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => *ip == Ipv6Addr::LOCALHOST,
        Host::Domain(name) => *name == "localhost",
    }
}

/// Whether a request to `url` may carry a credential: https anywhere, http only on loopback.
fn is_safe_transport(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => url.host().as_ref().is_some_and(is_loopback_host),
        _ => false,
    }
}

impl ServerUrl {
    /// Parses and normalizes a server URL typed or pasted by a person.
    pub fn parse(input: &str) -> Result<ServerUrl, ServerUrlError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ServerUrlError::Empty);
        }
        let mut url = match Url::parse(trimmed) {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                return Err(ServerUrlError::UnsupportedScheme);
            }
            Err(_) => return Err(ServerUrlError::NotAUrl),
        };
        if !matches!(url.scheme(), "https" | "http") {
            return Err(ServerUrlError::UnsupportedScheme);
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ServerUrlError::NoHost);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ServerUrlError::Credentials);
        }
        if !is_safe_transport(&url) {
            return Err(ServerUrlError::PlainHttp);
        }
        url.set_query(None);
        url.set_fragment(None);
        // The web portal lives under `/app`, the API under `/api`: from there on, the path is a
        // page of the server, not the server.
        let segments: Vec<&str> = url
            .path_segments()
            .map(|segments| {
                segments
                    .filter(|segment| !segment.is_empty())
                    .take_while(|segment| {
                        !segment.eq_ignore_ascii_case("app") && !segment.eq_ignore_ascii_case("api")
                    })
                    .collect()
            })
            .unwrap_or_default();
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

    /// The canonical string: no trailing slash (e.g. `https://x.octopus.app/octopus`). It is
    /// also the name of the server's keychain entry.
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

    /// Whether the server is on this computer (see [`is_loopback_host`]).
    pub fn is_loopback(&self) -> bool {
        self.root.host().as_ref().is_some_and(is_loopback_host)
    }

    /// An endpoint the server advertises (e.g. discovery's `token_endpoint`), if it may be
    /// called with a credential: https (or http on loopback) on the server's own origin.
    pub fn check_endpoint(&self, endpoint: &str) -> Result<Url, EndpointError> {
        let url = Url::parse(endpoint).map_err(|_| EndpointError::NotAUrl(endpoint.into()))?;
        if !is_safe_transport(&url) {
            return Err(EndpointError::PlainHttp(endpoint.into()));
        }
        if url.origin() != self.root.origin() {
            return Err(EndpointError::ForeignOrigin {
                endpoint: endpoint.into(),
                server: self.root.origin().ascii_serialization(),
            });
        }
        Ok(url)
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

    /// Pasted input → the normalized server.
    const ACCEPTED: &[(&str, &str)] = &[
        ("https://example.octopus.app", "https://example.octopus.app"),
        (
            "https://Example.Octopus.App/",
            "https://example.octopus.app",
        ),
        (
            "  https://example.octopus.app/app#/Spaces-1/projects  ",
            "https://example.octopus.app",
        ),
        (
            "https://example.octopus.app:443/app#/Spaces-1",
            "https://example.octopus.app",
        ),
        (
            "https://example.octopus.app/app",
            "https://example.octopus.app",
        ),
        (
            "https://example.octopus.app/api/",
            "https://example.octopus.app",
        ),
        (
            "https://example.octopus.app/api/Spaces-1/projects/all?take=10",
            "https://example.octopus.app",
        ),
        (
            "https://example.octopus.app/?a=1",
            "https://example.octopus.app",
        ),
        (
            "https://example.octopus.app/#frag",
            "https://example.octopus.app",
        ),
        (
            "https://deploy.example.com/octopus/app#/Spaces-1/projects",
            "https://deploy.example.com/octopus",
        ),
        (
            "https://deploy.example.com//octopus//",
            "https://deploy.example.com/octopus",
        ),
        (
            "https://deploy.example.com:8443/octopus/API",
            "https://deploy.example.com:8443/octopus",
        ),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        (
            "http://127.0.0.1:8080/octopus/app",
            "http://127.0.0.1:8080/octopus",
        ),
        ("http://127.1.2.3", "http://127.1.2.3"),
        ("http://localhost:8065/app#/", "http://localhost:8065"),
        ("HTTP://LOCALHOST", "http://localhost"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ];

    /// Input → why it is refused.
    const REFUSED: &[(&str, ServerUrlError)] = &[
        ("", ServerUrlError::Empty),
        ("   ", ServerUrlError::Empty),
        ("example.octopus.app", ServerUrlError::UnsupportedScheme),
        ("localhost:8080", ServerUrlError::UnsupportedScheme),
        (
            "ftp://example.octopus.app",
            ServerUrlError::UnsupportedScheme,
        ),
        ("https://", ServerUrlError::NotAUrl),
        ("https://exa mple.com", ServerUrlError::NotAUrl),
        (
            "https://user:pw@example.octopus.app",
            ServerUrlError::Credentials,
        ),
        (
            "https://user@example.octopus.app",
            ServerUrlError::Credentials,
        ),
        ("http://octopus.example.com", ServerUrlError::PlainHttp),
        ("http://127.evil.test", ServerUrlError::PlainHttp),
        ("http://127.0.0.1.evil.test", ServerUrlError::PlainHttp),
        ("http://localhost.evil.test", ServerUrlError::PlainHttp),
        ("http://evil.localhost", ServerUrlError::PlainHttp),
        ("http://localhost./", ServerUrlError::PlainHttp),
        ("http://10.0.0.5:8080", ServerUrlError::PlainHttp),
        ("http://[::2]", ServerUrlError::PlainHttp),
        ("http://[::ffff:127.0.0.1]", ServerUrlError::PlainHttp),
    ];

    #[test]
    fn pasted_console_and_api_urls_become_the_server_root() {
        for (input, expected) in ACCEPTED {
            let url = ServerUrl::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(url.as_key(), *expected, "{input}");
            assert_eq!(url.root().as_str(), format!("{expected}/"), "{input}");
            assert_eq!(url.to_string(), *expected, "{input}");
        }
    }

    #[test]
    fn refused_urls_say_why_and_how_to_fix_it() {
        for (input, expected) in REFUSED {
            let error = ServerUrl::parse(input).expect_err(input);
            assert_eq!(&error, expected, "{input}");
            let field = error.field_error("octopus.server_url");
            assert_eq!(field.field, "octopus.server_url");
            assert!(
                !field.problem.is_empty() && !field.fix.is_empty(),
                "{input}"
            );
            if !input.trim().is_empty() {
                assert!(!field.problem.contains(input.trim()), "echoes {input}");
            }
        }
    }

    #[test]
    fn plain_http_is_refused_with_the_encryption_reason() {
        let error = ServerUrl::parse("http://127.evil.test").expect_err("not loopback");
        assert!(error.to_string().contains("unencrypted"), "{error}");
        assert!(error.fix().contains("https://"), "{}", error.fix());
    }

    #[test]
    fn loopback_is_an_ip_in_127_8_or_exactly_localhost() {
        let host =
            |s: &str| Url::parse(&format!("http://{s}/")).map(|u| u.host().map(|h| h.to_owned()));
        for (name, loopback) in [
            ("127.0.0.1", true),
            ("127.255.255.254", true),
            ("0x7f.0.0.1", true),
            ("[::1]", true),
            ("localhost", true),
            ("LocalHost", true),
            ("128.0.0.1", false),
            ("127.evil.test", false),
            ("localhost.evil.test", false),
            ("my.localhost", false),
            ("[::ffff:7f00:1]", false),
        ] {
            let parsed = host(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let parsed = parsed.unwrap_or_else(|| panic!("{name}: no host"));
            let borrowed = match &parsed {
                Host::Domain(d) => Host::Domain(d.as_str()),
                Host::Ipv4(ip) => Host::Ipv4(*ip),
                Host::Ipv6(ip) => Host::Ipv6(*ip),
            };
            assert_eq!(is_loopback_host(&borrowed), loopback, "{name}");
        }
    }

    #[test]
    fn parts_of_the_normalized_url() {
        let url = ServerUrl::parse("http://127.0.0.1:8080/octopus/app").expect("valid");
        assert_eq!(url.host(), "127.0.0.1");
        assert!(!url.is_https());
        assert!(url.is_loopback());
        let url = ServerUrl::parse("https://example.octopus.app").expect("valid");
        assert!(url.is_https());
        assert!(!url.is_loopback());
    }

    #[test]
    fn advertised_endpoints_must_be_on_the_servers_own_origin() {
        let server = ServerUrl::parse("https://example.octopus.app/octopus").expect("valid");
        let ok = server
            .check_endpoint("https://example.octopus.app/octopus/token/v1")
            .expect("same origin");
        assert_eq!(ok.path(), "/octopus/token/v1");
        assert!(
            server
                .check_endpoint("https://EXAMPLE.octopus.app:443/token/v1")
                .is_ok()
        );
        for (endpoint, refused) in [
            ("https://evil.example/token/v1", "origin"),
            ("https://example.octopus.app:8443/token/v1", "origin"),
            (
                "https://example.octopus.app.evil.example/token/v1",
                "origin",
            ),
            ("http://example.octopus.app/token/v1", "plain http"),
            ("/token/v1", "not a URL"),
        ] {
            let error = server.check_endpoint(endpoint).expect_err(endpoint);
            assert!(error.to_string().contains(refused), "{endpoint}: {error}");
        }
        let local = ServerUrl::parse("http://127.0.0.1:8065").expect("valid");
        assert!(
            local
                .check_endpoint("http://127.0.0.1:8065/token/v1")
                .is_ok()
        );
        assert!(
            local
                .check_endpoint("http://127.0.0.1:9999/token/v1")
                .is_err()
        );
        assert!(
            local
                .check_endpoint("https://127.0.0.1:8065/token/v1")
                .is_err()
        );
    }
}
