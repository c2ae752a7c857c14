//! The sandbox switch: the `NAME=value` file `octo-oidc sandbox --env-file PATH` writes, and
//! reading it back for `--sandbox PATH` / `OCTO_OIDC_SANDBOX` (endpoints, made-up
//! credentials, the CA file), so that a run with it talks to the sandbox and nothing else.
//!
//! [`write_env_file`] creates the file with mode 0600 and refuses to follow a symlink at the
//! path (`O_NOFOLLOW`), so a planted link cannot redirect the sandbox's secrets elsewhere.
//!
//! Deliberately absent: shell quoting (values are URLs, ids, keys and paths without
//! newlines) and variable expansion.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use octo_oidc_core::error::FieldError;
use octo_oidc_core::{ErrorCode, Problem, Secret};

/// The environment variable naming a sandbox env file (same as `--sandbox PATH`).
pub const SANDBOX_ENV_VAR: &str = "OCTO_OIDC_SANDBOX";

/// The field name problems about the sandbox file carry.
pub const SANDBOX_FIELD: &str = "--sandbox";

/// A sandbox env file, read.
#[derive(Clone)]
pub struct SandboxEnv {
    path: PathBuf,
    vars: BTreeMap<String, String>,
    /// The CA itself, for a sandbox running in this process (no CA file).
    ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for SandboxEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxEnv")
            .field("path", &self.path)
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn invalid(problem: String, fix: &str) -> Problem {
    Problem::invalid_input(vec![FieldError {
        field: SANDBOX_FIELD.into(),
        problem,
        fix: fix.into(),
    }])
}

impl SandboxEnv {
    /// Reads `NAME=value` lines (blank lines and `#` comments ignored).
    pub fn read(path: &Path) -> Result<SandboxEnv, Problem> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            invalid(
                format!("cannot read the sandbox env file {}: {e}", path.display()),
                "Start `octo-oidc sandbox --env-file PATH` and pass the same PATH",
            )
        })?;
        Ok(SandboxEnv::parse(path, &text))
    }

    /// Parses the text of an env file.
    pub fn parse(path: &Path, text: &str) -> SandboxEnv {
        let vars = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.to_string()))
            .collect();
        SandboxEnv {
            path: path.to_path_buf(),
            vars,
            ca: None,
        }
    }

    /// The variables of a sandbox running in this process (the desktop's built-in one), with
    /// its CA in memory instead of a file.
    pub fn in_process(vars: Vec<(&'static str, String)>, ca_pem: &str) -> SandboxEnv {
        SandboxEnv {
            path: PathBuf::from("the built-in Sandbox"),
            vars: vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            ca: Some(ca_pem.as_bytes().to_vec()),
        }
    }

    /// A value, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A value that must be present.
    pub fn require(&self, name: &str) -> Result<&str, Problem> {
        self.get(name).ok_or_else(|| {
            invalid(
                format!("the sandbox env file {} has no {name}", self.path.display()),
                "Write it with a current `octo-oidc sandbox --env-file PATH`",
            )
        })
    }

    /// A secret value that must be present.
    pub fn secret(&self, name: &str) -> Result<Secret, Problem> {
        self.require(name).map(Secret::new)
    }

    /// The sandbox's port-less host names and where they listen, from `SANDBOX_RESOLVE`
    /// (`host:443:127.0.0.1:PORT`, comma-separated); empty when absent.
    pub fn resolve(&self) -> Vec<(String, std::net::SocketAddr)> {
        self.get("SANDBOX_RESOLVE")
            .unwrap_or_default()
            .split(',')
            .filter_map(|entry| {
                let (host, rest) = entry.trim().split_once(':')?;
                let (_port, addr) = rest.split_once(':')?;
                Some((host.to_string(), addr.parse().ok()?))
            })
            .collect()
    }

    /// A made-up Google service-account key for the sandbox's Google APIs (they accept any
    /// bearer token; `google-cloud-auth` signs a self-signed JWT with the key, so no token
    /// endpoint is called). Fresh per call, never written anywhere.
    pub fn gcp_credentials(&self) -> Result<Secret, Problem> {
        use aws_lc_rs::encoding::AsDer;
        use base64::Engine as _;
        let project = self.require("GCP_PROJECT_ID")?;
        let failed = |e: String| {
            Problem::new(
                ErrorCode::Internal,
                format!("cannot make the sandbox's Google key: {e}"),
            )
        };
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|e| failed(e.to_string()))?;
        let der = pair.as_der().map_err(|e| failed(e.to_string()))?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        Ok(Secret::new(
            serde_json::json!({
                "type": "service_account",
                "project_id": project,
                "private_key_id": "sandbox",
                "private_key": pem,
                "client_email": format!("octo-oidc@{project}.iam.gserviceaccount.com"),
                "client_id": "100000000000000000001",
                "token_uri": "https://127.0.0.1:1/token",
            })
            .to_string(),
        ))
    }

    /// The sandbox's CA certificate (PEM): the in-process one, or from `SANDBOX_CA_FILE`.
    pub fn ca_pem(&self) -> Result<Vec<u8>, Problem> {
        if let Some(ca) = &self.ca {
            return Ok(ca.clone());
        }
        let file = self.require("SANDBOX_CA_FILE")?;
        std::fs::read(file).map_err(|e| {
            Problem::new(
                ErrorCode::InvalidInput,
                format!("cannot read the sandbox CA file {file}: {e}"),
            )
            .with_hint("Is the sandbox still running?")
        })
    }
}

/// Writes `NAME=value` lines to `path`: mode 0600, truncating a regular file, never
/// following a symlink at `path`.
pub fn write_env_file(path: &Path, vars: &[(String, String)]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    let mut text = String::new();
    for (name, value) in vars {
        text.push_str(name);
        text.push('=');
        text.push_str(value);
        text.push('\n');
    }
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_round_trip_with_0600_and_refuse_symlinks() {
        let dir = std::env::temp_dir().join(format!("octo-oidc-env-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("sandbox.env");
        let vars = vec![
            ("OCTOPUS_URL".to_string(), "http://127.0.0.1:1".to_string()),
            ("OCTOPUS_API_KEY".to_string(), "API-X".to_string()),
        ];
        write_env_file(&path, &vars).unwrap();
        let env = SandboxEnv::read(&path).unwrap();
        assert_eq!(env.get("OCTOPUS_URL"), Some("http://127.0.0.1:1"));
        assert!(env.require("AWS_ENDPOINT_URL").is_err());
        let resolve = SandboxEnv::parse(
            &path,
            "SANDBOX_RESOLVE=octopus.sandbox.localhost:443:127.0.0.1:4431,github.sandbox.localhost:443:127.0.0.1:4432\n",
        )
        .resolve();
        assert_eq!(resolve.len(), 2);
        assert_eq!(resolve[0].0, "octopus.sandbox.localhost");
        assert_eq!(resolve[1].1.port(), 4432);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let link = dir.join("link.env");
            let target = dir.join("target.env");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&target, &link).unwrap();
            assert!(write_env_file(&link, &vars).is_err());
            assert!(!target.exists(), "the link was not followed");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
