//! A wrapper for secrets (API keys, client secrets, tokens) that cannot leak by accident.
//!
//! `Secret` has no `Serialize` implementation, so it cannot end up in a setup file, a report,
//! a journal or an IPC event; its `Debug` and `Display` print `[redacted]`, so it cannot end up
//! in a log line. The only way to the value is the explicit [`Secret::expose`]. When a `Secret`
//! is dropped its bytes are overwritten (`zeroize`), so a key does not linger in freed memory.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret string whose formatting is redacted and which never serializes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the one place that must send it (an HTTP header, the keychain).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (after trimming whitespace).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl Zeroize for Secret {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let secret = Secret::new("API-SUPERSECRET");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert!(!format!("{secret:?}").contains("SUPERSECRET"));
        assert!(!format!("{:#?}", Some(&secret)).contains("SUPERSECRET"));
        assert_eq!(secret.expose(), "API-SUPERSECRET");
    }

    #[test]
    fn the_value_is_wiped_on_drop() {
        fn wiped_on_drop<T: ZeroizeOnDrop>() {}
        wiped_on_drop::<Secret>();
        let mut secret = Secret::new("API-SUPERSECRET");
        secret.zeroize();
        assert_eq!(secret.expose(), "");
        assert!(secret.is_blank());
    }
}
