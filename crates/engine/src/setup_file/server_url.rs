//! The `[octopus] url` rule, as a seam: a pasted console URL (`…/app#/Spaces-1/…`) becomes
//! the server root; `https`, or plain `http` only for a loopback address (an IP in
//! 127.0.0.0/8 or `::1`, or exactly `localhost`).
//!
//! SEAM: the `app-layer` lane is adding the one server-URL rule to the core
//! (`crates/core/src/server_url.rs`). When it is on main, replace the body of
//! [`octopus_server_url`] with a call to it and delete the rest of this file; the setup
//! file's tests (`tests/it/corpus/*url*.toml`) keep the behaviour honest.

use std::net::IpAddr;

use octo_oidc_core::validate::Validator;

/// Whether `host` is a loopback address: an IP literal that is loopback, or exactly
/// `localhost` (not `localhost.example`, not `127.evil.test`).
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks and normalizes the Octopus server URL; records a field error and returns `None`
/// when it is unusable.
pub fn octopus_server_url(v: &mut Validator, field: &str, value: &str) -> Option<String> {
    let fix =
        "Use the server's address, e.g. https://octopus.example.com (http:// only for localhost).";
    let trimmed = value.trim();
    if trimmed.is_empty() {
        v.error(field, "is empty", fix);
        return None;
    }
    let Ok(mut url) = url::Url::parse(trimmed) else {
        v.error(field, format!("'{trimmed}' is not a URL"), fix);
        return None;
    };
    let host = url.host_str().unwrap_or_default().to_string();
    if host.is_empty() {
        v.error(field, format!("'{trimmed}' has no host name"), fix);
        return None;
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&host) => {}
        "http" => {
            v.error(
                field,
                format!("uses plain http to '{host}', which is not a loopback address; the API key would travel unencrypted"),
                "Use https:// (plain http is only allowed for localhost, 127.0.0.1 or ::1).",
            );
            return None;
        }
        other => {
            v.error(field, format!("uses the scheme '{other}'"), fix);
            return None;
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        v.error(
            field,
            "contains a user name or password",
            "Remove them; the API key comes from the keychain or OCTOPUS_API_KEY.",
        );
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut segments: Vec<String> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    while segments
        .last()
        .is_some_and(|l| l.eq_ignore_ascii_case("app") || l.eq_ignore_ascii_case("api"))
    {
        segments.pop();
    }
    url.set_path(&segments.join("/"));
    Some(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Result<String, String> {
        let mut v = Validator::new();
        octopus_server_url(&mut v, "octopus.url", s).ok_or_else(|| v.errors()[0].problem.clone())
    }

    #[test]
    fn console_urls_become_the_server() {
        assert_eq!(
            norm("https://Octopus.Example.com/app#/Spaces-1/projects").unwrap(),
            "https://octopus.example.com"
        );
        assert_eq!(
            norm("https://example.com/octo/api?x=1").unwrap(),
            "https://example.com/octo"
        );
        assert_eq!(
            norm("http://localhost:8065/").unwrap(),
            "http://localhost:8065"
        );
        assert_eq!(
            norm("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(norm("http://[::1]:8080").unwrap(), "http://[::1]:8080");
    }

    #[test]
    fn plain_http_elsewhere_is_refused() {
        for bad in [
            "http://127.evil.test",
            "http://octopus.example.com",
            "http://localhost.example.com",
            "ftp://x",
            "https://user:pw@x.test",
        ] {
            assert!(norm(bad).is_err(), "{bad}");
        }
    }
}
