//! The sandbox state file: everything a restarted sandbox needs to look like the same servers.
//!
//! One JSON document holds the Octopus state (inventory, accounts, users, identities, tasks,
//! issuer key), the GitHub issuer key, the test CA, the API key, the ports the listeners had
//! (so issuer URLs stay the same when they can be bound again), and the Azure, AWS and
//! Google Cloud sandboxes' own snapshots as opaque JSON. It is written atomically (temp file + rename).
//!
//! The file contains made-up test keys and the sandbox's own API key; it is a test fixture, not
//! a secret store, but it is still never logged. Deliberately absent: migrations between format
//! versions (an unknown version is an error).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::octopus::state::OctopusState;
use crate::signing::SigningKey;
use crate::tls::TestCaSnapshot;

/// The current state file format version.
pub const FORMAT_VERSION: u32 = 1;

/// The listener ports of a sandbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    /// Octopus over HTTP.
    pub octopus_http: u16,
    /// Octopus over HTTPS.
    pub octopus_https: u16,
    /// The GitHub token issuer (HTTPS).
    pub github: u16,
    /// The Entra authority.
    pub entra: u16,
    /// Microsoft Graph.
    pub graph: u16,
    /// Azure Resource Manager.
    pub arm: u16,
    /// AWS IAM + STS.
    pub aws: u16,
    /// Google Cloud IAM, Resource Manager, STS and IAM Credentials.
    #[serde(default)]
    pub gcp: u16,
}

impl Ports {
    /// Consecutive ports from `base` in the order of the fields.
    pub fn from_base(base: u16) -> Ports {
        let p = |i: u16| base.saturating_add(i);
        Ports {
            octopus_http: p(0),
            octopus_https: p(1),
            github: p(2),
            entra: p(3),
            graph: p(4),
            arm: p(5),
            aws: p(6),
            gcp: p(7),
        }
    }
}

/// Everything in a state file.
#[derive(Clone, Serialize, Deserialize)]
pub struct SandboxSnapshot {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The ports the listeners had.
    pub ports: Ports,
    /// The administrator's API key (the sandbox's own made-up key).
    pub api_key: String,
    /// The test CA.
    pub ca: TestCaSnapshot,
    /// The sandbox Octopus.
    pub octopus: OctopusState,
    /// The GitHub issuer's signing key.
    pub github_key: SigningKey,
    /// The Entra / Graph / ARM sandbox's snapshot.
    #[serde(default)]
    pub entra: Option<Value>,
    /// The AWS sandbox's snapshot.
    #[serde(default)]
    pub aws: Option<Value>,
    /// The Google Cloud sandbox's snapshot.
    #[serde(default)]
    pub gcp: Option<Value>,
}

impl std::fmt::Debug for SandboxSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxSnapshot")
            .field("format_version", &self.format_version)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

/// Why a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// File system error.
    #[error("state file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Not a valid state file.
    #[error("state file {path} is not a valid sandbox state: {source}")]
    Format {
        /// The file.
        path: String,
        /// The error.
        source: serde_json::Error,
    },
    /// Written by an incompatible version.
    #[error(
        "state file {path} has format version {found}; this sandbox reads version {FORMAT_VERSION}"
    )]
    Version {
        /// The file.
        path: String,
        /// The version found.
        found: u32,
    },
}

/// Reads a state file; `Ok(None)` if it does not exist yet.
pub fn load(path: &Path) -> Result<Option<SandboxSnapshot>, PersistError> {
    let shown = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Io {
                path: shown,
                source,
            });
        }
    };
    let snapshot: SandboxSnapshot =
        serde_json::from_slice(&bytes).map_err(|source| PersistError::Format {
            path: shown.clone(),
            source,
        })?;
    if snapshot.format_version != FORMAT_VERSION {
        return Err(PersistError::Version {
            path: shown,
            found: snapshot.format_version,
        });
    }
    Ok(Some(snapshot))
}

/// Writes a state file atomically (a temporary file beside it, then rename).
pub fn save(path: &Path, snapshot: &SandboxSnapshot) -> Result<(), PersistError> {
    let shown = path.display().to_string();
    let bytes = serde_json::to_vec_pretty(snapshot).map_err(|source| PersistError::Format {
        path: shown.clone(),
        source,
    })?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|source| PersistError::Io {
        path: shown.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| PersistError::Io {
        path: shown,
        source,
    })
}
