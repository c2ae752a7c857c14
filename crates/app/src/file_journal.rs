//! The engine's journal on disk: one JSON-lines file per setup under the user's data
//! directory, `<data dir>/octo-oidc/journal/<setup>.jsonl` (`$XDG_DATA_HOME`, else
//! `~/.local/share`; `OCTO_OIDC_DATA_DIR` replaces `<data dir>/octo-oidc`).
//!
//! Each record is appended as one line and fsynced before `append` returns (the engine's
//! journal invariant needs the intent on disk before the remote change). The file and its
//! folder are created 0600 / 0700. A torn last line (a crash mid-write) is skipped when
//! reading, so the journal stays readable.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use octo_oidc_core::{ErrorCode, Problem};
use octo_oidc_engine::journal::{Journal, JournalRecord};

/// Overrides the data folder (`<data dir>/octo-oidc`).
pub const DATA_DIR_ENV_VAR: &str = "OCTO_OIDC_DATA_DIR";

/// `<data dir>/octo-oidc`, read through `env`.
pub fn data_dir(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, Problem> {
    if let Some(dir) = env(DATA_DIR_ENV_VAR).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(xdg) = env("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(xdg).join("octo-oidc"));
    }
    match env("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/octo-oidc")),
        None => Err(Problem::new(
            ErrorCode::InvalidInput,
            "there is no data folder for the journal (no XDG_DATA_HOME or HOME)",
        )
        .with_hint(format!("Set {DATA_DIR_ENV_VAR} to a folder of your own."))),
    }
}

/// A setup's journal file.
#[derive(Debug)]
pub struct FileJournal {
    path: PathBuf,
    writing: Mutex<()>,
}

fn io_problem(path: &Path, what: &str, e: std::io::Error) -> Problem {
    Problem::new(
        ErrorCode::Internal,
        format!("cannot {what} the journal {}: {e}", path.display()),
    )
    .with_hint(
        "Check the folder's permissions and free space; nothing was changed remotely after this.",
    )
}

impl FileJournal {
    /// The journal of `setup` under `data_dir` (created on the first append).
    pub fn for_setup(data_dir: &Path, setup: &str) -> FileJournal {
        FileJournal {
            path: data_dir.join("journal").join(format!("{setup}.jsonl")),
            writing: Mutex::new(()),
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether a non-empty file does not end with a newline.
fn torn(file: &mut std::fs::File) -> bool {
    use std::io::{Seek, SeekFrom};
    let mut last = [0u8; 1];
    match file.seek(SeekFrom::End(-1)) {
        Ok(_) => file.read_exact(&mut last).is_ok() && last[0] != b'\n',
        Err(_) => false,
    }
}

impl Journal for FileJournal {
    fn append(&self, record: &JournalRecord) -> Result<(), Problem> {
        self.write(std::slice::from_ref(record))
    }

    fn append_all(&self, records: &[JournalRecord]) -> Vec<Result<(), Problem>> {
        if records.is_empty() {
            return Vec::new();
        }
        let written = self.write(records);
        records.iter().map(|_| written.clone()).collect()
    }

    fn records(&self) -> Result<Vec<JournalRecord>, Problem> {
        self.read()
    }
}

impl FileJournal {
    /// Appends `records` as lines with one write and one sync.
    fn write(&self, records: &[JournalRecord]) -> Result<(), Problem> {
        let _one_at_a_time = self
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(dir) = self.path.parent() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder
                .create(dir)
                .map_err(|e| io_problem(&self.path, "create the folder of", e))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let mut file = options
            .open(&self.path)
            .map_err(|e| io_problem(&self.path, "open", e))?;
        let mut line = String::new();
        if torn(&mut file) {
            // A crash cut the last record short: end it, so this one starts a line.
            line.push('\n');
        }
        for record in records {
            line.push_str(
                &serde_json::to_string(record)
                    .map_err(|e| Problem::new(ErrorCode::Internal, e.to_string()))?,
            );
            line.push('\n');
        }
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io_problem(&self.path, "write", e))
    }

    fn read(&self) -> Result<Vec<JournalRecord>, Problem> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_problem(&self.path, "read", e)),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use octo_oidc_engine::desired::ResourceKind;
    use octo_oidc_engine::journal::Phase;

    #[test]
    fn records_append_as_lines_0600_and_a_torn_line_is_skipped() {
        let dir = std::env::temp_dir().join(format!("octo-oidc-journal-{}", std::process::id()));
        let j = FileJournal::for_setup(&dir, "shop");
        let r = JournalRecord::new("shop", Phase::Intent, ResourceKind::IamRole, "r");
        j.append(&r).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(j.path())
            .unwrap()
            .write_all(b"{\"v\":1,\"set")
            .unwrap();
        assert_eq!(j.records().unwrap(), vec![r.clone()]);
        j.append(&r).unwrap();
        assert_eq!(j.records().unwrap(), vec![r.clone(), r]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(j.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
        let env = |n: &str| (n == "XDG_DATA_HOME").then(|| "/x".to_string());
        assert_eq!(data_dir(&env).unwrap(), PathBuf::from("/x/octo-oidc"));
    }
}
