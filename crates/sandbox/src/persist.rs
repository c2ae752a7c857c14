//! The sandbox state file: everything a restarted sandbox needs to look like the same servers.
//!
//! One JSON document holds the Octopus state (inventory, accounts, users, identities, tasks,
//! issuer key), the GitHub issuer key, the test CA, the API key, the ports the listeners had
//! (so issuer URLs stay the same when they can be bound again), and the Azure, AWS and
//! Google Cloud sandboxes' own snapshots as opaque JSON.
//!
//! The file holds the sandbox's API key and private keys, so it is written atomically and
//! privately: a new temporary file with a unique name in the same folder (created exclusively,
//! mode 0600 on Unix), written and fsynced, renamed over the target, and the folder fsynced, so
//! a crash leaves either the old or the new file, never half of one, and no other user can read
//! it. Never logged. Deliberately absent: migrations between format versions (an unknown
//! version is an error).

use std::path::{Path, PathBuf};

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

/// Writes a state file atomically and privately (see the module docs).
pub fn save(path: &Path, snapshot: &SandboxSnapshot) -> Result<(), PersistError> {
    let shown = path.display().to_string();
    let bytes = serde_json::to_vec_pretty(snapshot).map_err(|source| PersistError::Format {
        path: shown.clone(),
        source,
    })?;
    write_private_atomically(path, &bytes).map_err(|source| PersistError::Io {
        path: shown,
        source,
    })
}

/// Replaces `path` with `bytes`: unique temporary file beside it (`create_new`, 0600), fsync,
/// rename, fsync of the folder. The temporary file is removed if anything fails.
pub fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let (tmp, mut file) = loop {
        let candidate = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
        match private_create_new(&candidate) {
            Ok(file) => break (candidate, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    };
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, path)
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(&dir)
}

/// Creates a new file that must not exist yet (no symlink is followed), readable only by
/// its owner on Unix.
pub fn private_create_new(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates a fresh private folder in `parent` (the shared temporary folder, say) with an
/// unguessable name (`{prefix}-{64 random bits}`): created exclusively with mode 0700 on Unix
/// (an existing path or a planted symlink makes creation fail, so nothing is followed), then
/// checked with `symlink_metadata` to be a real folder.
pub fn create_private_dir(parent: &Path, prefix: &str) -> std::io::Result<PathBuf> {
    loop {
        let candidate = parent.join(format!("{prefix}-{:016x}", rand::random::<u64>()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        match builder.create(&candidate) {
            Ok(()) => {
                let meta = std::fs::symlink_metadata(&candidate)?;
                if !meta.is_dir() || meta.file_type().is_symlink() {
                    return Err(std::io::Error::other(format!(
                        "{} is not a private folder",
                        candidate.display()
                    )));
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    if meta.permissions().mode() & 0o077 != 0 {
                        std::fs::set_permissions(
                            &candidate,
                            std::fs::Permissions::from_mode(0o700),
                        )?;
                    }
                }
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Windows cannot open a directory as a file; the rename is already durable there.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On Unix, asserts that `path`'s permission bits are `expected`.
    fn assert_mode(path: &Path, expected: u32) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, expected, "{}", path.display());
        }
        #[cfg(not(unix))]
        let _ = (path, expected);
    }

    #[test]
    fn replaces_the_file_privately_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"old").expect("old file");
        write_private_atomically(&path, b"new").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
        assert_mode(&path, 0o600);
    }

    #[test]
    fn private_dirs_are_fresh_and_owner_only() {
        let parent = tempfile::tempdir().expect("tempdir");
        let a = create_private_dir(parent.path(), "octo").expect("a");
        let b = create_private_dir(parent.path(), "octo").expect("b");
        assert_ne!(a, b);
        assert!(std::fs::symlink_metadata(&a).expect("stat").is_dir());
        assert_mode(&a, 0o700);
    }

    #[test]
    fn create_new_refuses_an_existing_path_or_symlink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target");
        std::fs::write(&target, b"x").expect("target");
        assert!(private_create_new(&target).is_err());
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(dir.path().join("missing"), &link).expect("symlink");
            assert!(private_create_new(&link).is_err());
            assert!(!dir.path().join("missing").exists());
        }
    }
}
