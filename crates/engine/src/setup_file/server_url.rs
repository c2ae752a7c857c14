//! The `[octopus] url` field through the core's one server-URL rule
//! ([`octo_oidc_core::ServerUrl`]): a pasted console URL (`…/app#/Spaces-1/…`) becomes the
//! server root; `https`, or plain `http` only for a loopback address (an IP in 127.0.0.0/8
//! or `::1`, or exactly `localhost`).

use octo_oidc_core::ServerUrl;
use octo_oidc_core::validate::Validator;

/// Checks and normalizes the Octopus server URL (no trailing slash); records the core's
/// field error and returns `None` when it is unusable.
pub fn octopus_server_url(v: &mut Validator, field: &str, value: &str) -> Option<String> {
    match ServerUrl::parse(value) {
        Ok(url) => Some(url.as_key()),
        Err(e) => {
            v.error(field, e.to_string(), e.fix());
            None
        }
    }
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
