//! The Octopus API key in the OS keychain, and the one escape hatch when there is none.
//!
//! Keys live only in the platform's credential store through `keyring` (Secret Service on
//! Linux, Keychain on macOS, Credential Manager on Windows) under service [`KEYCHAIN_SERVICE`]
//! and the normalized server URL as the user name — never in a file, a log or an event.
//! When no keychain is reachable (a headless Linux box without Secret Service), that is said
//! plainly ([`ErrorCode::KeychainUnavailable`]) and the key may come from the environment
//! variable [`API_KEY_ENV_VAR`] for that run only; nothing is persisted then.
//!
//! The `keyring` calls block (D-Bus round trips); async callers should run them on a blocking
//! thread (`tokio::task::spawn_blocking`).
//!
//! Deliberately absent: any fallback store (encrypted file, config file).

use octo_oidc_core::{ErrorCode, Problem, Secret};

use crate::server_url::ServerUrl;

/// The keychain service name every entry of this product lives under (the CLI's and the
/// desktop app's API keys, and the desktop app's reachability probe): one name everywhere.
pub const KEYCHAIN_SERVICE: &str = "octo-oidc";

/// The user name of the entry [`ApiKeyStore::probe`] looks up; it is never written.
const PROBE_USER: &str = "reachability-probe";

/// The environment variable read when no keychain is reachable.
pub const API_KEY_ENV_VAR: &str = "OCTOPUS_API_KEY";

/// What went wrong with the keychain.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    /// No credential store could be reached (no Secret Service on the session bus, locked
    /// store that refused to unlock, unsupported platform).
    #[error("no OS keychain is reachable: {0}")]
    Unavailable(String),
    /// The store answered but refused or failed the operation.
    #[error("the OS keychain failed: {0}")]
    Failed(String),
}

impl From<KeychainError> for Problem {
    fn from(error: KeychainError) -> Self {
        match &error {
            KeychainError::Unavailable(_) => Problem::new(
                ErrorCode::KeychainUnavailable,
                error.to_string(),
            )
            .with_hint(format!(
                "Start a Secret Service (e.g. gnome-keyring) in your session to keep the key, or set {API_KEY_ENV_VAR} for this run only (it is not saved)."
            )),
            KeychainError::Failed(_) => Problem::new(ErrorCode::KeychainUnavailable, error.to_string())
                .with_hint("Unlock the keychain and try again."),
        }
    }
}

fn classify(error: keyring::Error) -> KeychainError {
    match error {
        keyring::Error::NoStorageAccess(inner) => KeychainError::Unavailable(inner.to_string()),
        keyring::Error::NoDefaultStore => {
            KeychainError::Unavailable("no credential store could be initialized".into())
        }
        keyring::Error::PlatformFailure(inner) => KeychainError::Unavailable(inner.to_string()),
        // These carry the stored bytes; never format them.
        keyring::Error::BadEncoding(_) | keyring::Error::BadDataFormat(..) => {
            KeychainError::Failed("the stored entry is not a readable API key".into())
        }
        keyring::Error::Ambiguous(_) => {
            KeychainError::Failed("more than one keychain entry matches this server".into())
        }
        keyring::Error::TooLong(attribute, limit) => KeychainError::Failed(format!(
            "{attribute} is longer than the store's limit of {limit}"
        )),
        keyring::Error::Invalid(parameter, reason) => {
            KeychainError::Failed(format!("invalid {parameter}: {reason}"))
        }
        keyring::Error::BadStoreFormat(reason) | keyring::Error::NotSupportedByStore(reason) => {
            KeychainError::Failed(reason)
        }
        keyring::Error::NoEntry => KeychainError::Failed("no entry".into()),
        _ => KeychainError::Failed("unrecognized keychain error".into()),
    }
}

/// Where the API key of this run came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeySource {
    /// The OS keychain.
    Keychain,
    /// [`API_KEY_ENV_VAR`], because no keychain was reachable; used for this run only.
    Environment,
    /// Typed in, but no keychain was reachable to keep it: in memory for this run only.
    SessionOnly,
}

/// An API key ready to use, and where it came from.
#[derive(Debug)]
pub struct ResolvedApiKey {
    /// The key.
    pub key: Secret,
    /// Its source.
    pub source: ApiKeySource,
    /// When the key came from the environment: why the keychain was not used (show it).
    pub keychain_problem: Option<Problem>,
}

/// API keys in the OS keychain, one entry per normalized server URL.
#[derive(Debug, Clone)]
pub struct ApiKeyStore {
    service: String,
}

impl Default for ApiKeyStore {
    fn default() -> Self {
        ApiKeyStore::new()
    }
}

impl ApiKeyStore {
    /// The store under [`KEYCHAIN_SERVICE`].
    pub fn new() -> Self {
        ApiKeyStore {
            service: KEYCHAIN_SERVICE.to_string(),
        }
    }

    /// A store under another service name (tests use their own so they never touch real keys).
    pub fn with_service(service: impl Into<String>) -> Self {
        ApiKeyStore {
            service: service.into(),
        }
    }

    fn entry(&self, server: &ServerUrl) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(&self.service, &server.as_key()).map_err(classify)
    }

    /// Whether a credential store is reachable at all.
    pub fn availability(&self) -> Result<(), KeychainError> {
        match keyring::Entry::store_status() {
            Ok(()) => Ok(()),
            Err(e) => Err(KeychainError::Unavailable(e.to_string())),
        }
    }

    /// Whether the store answers a lookup (of an entry that is never written): "found" or "no
    /// such entry" both prove it answered; anything else says why it cannot be used. Nothing
    /// is stored or read back. Blocking (D-Bus on Linux).
    pub fn probe(&self) -> Result<(), KeychainError> {
        // The store's own start-up error says why (e.g. no D-Bus session bus); `Entry::new`
        // would only say that no default store is set.
        self.availability()?;
        let entry = keyring::Entry::new(&self.service, PROBE_USER).map_err(classify)?;
        match entry.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(classify(error)),
        }
    }

    /// Stores (or replaces) the key for a server.
    pub fn store(&self, server: &ServerUrl, key: &Secret) -> Result<(), KeychainError> {
        self.entry(server)?
            .set_password(key.expose())
            .map_err(classify)?;
        tracing::info!(server = %server, "stored the Octopus API key in the OS keychain");
        Ok(())
    }

    /// The stored key for a server, if any.
    pub fn load(&self, server: &ServerUrl) -> Result<Option<Secret>, KeychainError> {
        match self.entry(server)?.get_password() {
            Ok(key) => Ok(Some(Secret::new(key))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// Deletes the stored key; returns whether there was one.
    pub fn delete(&self, server: &ServerUrl) -> Result<bool, KeychainError> {
        match self.entry(server)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }

    /// The key to use for a server: from the keychain; or, only when no keychain is reachable,
    /// from [`API_KEY_ENV_VAR`] (read through `env`, normally `std::env::var`).
    pub fn resolve(
        &self,
        server: &ServerUrl,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ResolvedApiKey, Problem> {
        match self.load(server) {
            Ok(Some(key)) => Ok(ResolvedApiKey {
                key,
                source: ApiKeySource::Keychain,
                keychain_problem: None,
            }),
            Ok(None) => Err(Problem::new(
                ErrorCode::NotFound,
                format!("no Octopus API key is stored for {server}"),
            )
            .with_hint(
                "Connect to the server once with an API key; it is kept in the OS keychain.",
            )),
            Err(KeychainError::Unavailable(reason)) => {
                let problem = Problem::from(KeychainError::Unavailable(reason));
                match env(API_KEY_ENV_VAR).map(Secret::new) {
                    Some(key) if !key.is_blank() => {
                        tracing::warn!(
                            "no OS keychain reachable; using {API_KEY_ENV_VAR} for this run only"
                        );
                        Ok(ResolvedApiKey {
                            key,
                            source: ApiKeySource::Environment,
                            keychain_problem: Some(problem),
                        })
                    }
                    _ => Err(problem),
                }
            }
            Err(other) => Err(other.into()),
        }
    }
}

/// Reads [`API_KEY_ENV_VAR`] from the process environment (for [`ApiKeyStore::resolve`]).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
