//! The journal: a setup's append-only record of every remote change the engine makes, so a
//! crash at any point leaves a true account of what may exist.
//!
//! **The journal invariant**: before a remote change the engine appends an `intent` record
//! (what is about to exist or go, by kind and name), and after it a `done` record (what
//! exists now: ids, ARNs, names, and whether this setup created it) or `deleted`. An append
//! that fails stops the step before its remote call (`intent`) or reports the step failed
//! (`done`). So after a crash every resource is either in the journal as done, or as an
//! intent without done (it may or may not exist; a rerun finds it by its deterministic
//! name or mark and converges), or was never touched.
//!
//! The record format, one JSON object per line (`JournalRecord`):
//! `{"v":1,"setup":"shop-aws","phase":"intent","kind":"iam_role","name":"octopus-shop"}` then
//! `{"v":1,"setup":"shop-aws","phase":"done","kind":"iam_role","name":"octopus-shop",`
//! `"outcome":"created","ids":{"arn":"arn:aws:iam::…:role/octopus-shop"}}`. Phases:
//! `intent`, `done` (with `outcome` `created` / `updated`), `delete_intent`, `deleted`. No
//! secret is ever written (ids and names only).
//!
//! [`Journal`] is the port; [`MemoryJournal`] the in-memory implementation for tests (with
//! an injectable failure at the n-th append, to stop an apply at any step boundary). The file
//! implementation (JSON lines in the user's data dir, append + fsync) belongs to the host
//! (the app crate / CLI): it writes each record as `serde_json::to_string(record)` + `\n`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use octo_oidc_core::Problem;
use octo_oidc_core::error::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::desired::ResourceKind;

/// The record format's version.
pub const JOURNAL_VERSION: u32 = 1;

/// Where a change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// About to create or update.
    Intent,
    /// Created or updated; `ids` say what exists.
    Done,
    /// About to delete.
    DeleteIntent,
    /// Deleted (or was already gone).
    Deleted,
}

/// What a `done` change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The setup created it.
    Created,
    /// It existed and the setup changed it.
    Updated,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRecord {
    /// [`JOURNAL_VERSION`].
    pub v: u32,
    /// The setup's id.
    pub setup: String,
    /// Where the change is.
    pub phase: Phase,
    /// The resource kind.
    pub kind: ResourceKind,
    /// The resource's name (as in the plan).
    pub name: String,
    /// The app registration (unique name) an Azure resource belongs to: with `split_apps`
    /// each app has its own service principal, credentials and a role assignment of the same
    /// name, so kind + name + app identify one resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// For `done`: created or updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Ids, ARNs and names that identify what exists (`arn`, `object_id`, `app_id`, `id`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<String, String>,
}

impl JournalRecord {
    /// A record without outcome or ids.
    pub fn new(setup: &str, phase: Phase, kind: ResourceKind, name: &str) -> JournalRecord {
        JournalRecord {
            v: JOURNAL_VERSION,
            setup: setup.to_string(),
            phase,
            kind,
            name: name.to_string(),
            app: None,
            outcome: None,
            ids: BTreeMap::new(),
        }
    }

    /// The record of a plan step (its kind, name and app).
    pub fn for_step(setup: &str, phase: Phase, step: &crate::plan::PlanStep) -> JournalRecord {
        JournalRecord::new(setup, phase, step.kind, &step.name).in_app(app_of(step))
    }

    /// The same record for a resource of the app registration `app`.
    pub fn in_app(mut self, app: Option<&str>) -> JournalRecord {
        self.app = app.map(str::to_string);
        self
    }

    /// The same record with an outcome.
    pub fn outcome(mut self, outcome: Outcome) -> JournalRecord {
        self.outcome = Some(outcome);
        self
    }

    /// The same record with one more id.
    pub fn id(mut self, key: &str, value: &str) -> JournalRecord {
        self.ids.insert(key.to_string(), value.to_string());
        self
    }
}

/// Where a setup's records go. Appends must be durable when they return (the file
/// implementation fsyncs).
pub trait Journal: Send + Sync {
    /// Appends one record.
    fn append(&self, record: &JournalRecord) -> Result<(), Problem>;
    /// Appends several records in order, one result per record (by default each is its own
    /// append; the file implementation writes them with one sync, so they succeed or fail
    /// together).
    fn append_all(&self, records: &[JournalRecord]) -> Vec<Result<(), Problem>> {
        records.iter().map(|r| self.append(r)).collect()
    }
    /// Every record, oldest first.
    fn records(&self) -> Result<Vec<JournalRecord>, Problem>;
}

/// What the journal says about one resource, folded from its records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// The kind.
    pub kind: ResourceKind,
    /// The name.
    pub name: String,
    /// The app registration it belongs to (Azure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The last phase recorded.
    pub last: Phase,
    /// Whether this setup created it (a `done` with outcome `created` since the last delete).
    pub created_by_setup: bool,
    /// The ids of the last `done`.
    pub ids: BTreeMap<String, String>,
}

impl JournalEntry {
    /// Whether the last change was cut short (an intent without its done/deleted).
    pub fn interrupted(&self) -> bool {
        matches!(self.last, Phase::Intent | Phase::DeleteIntent)
    }

    /// Whether this entry is about the plan step `step` (kind, name and app).
    pub fn is_for(&self, step: &crate::plan::PlanStep) -> bool {
        self.kind == step.kind && self.name == step.name && self.app.as_deref() == app_of(step)
    }
}

/// The app registration a step's resource lives in, as journaled: the app itself, its service
/// principal, credentials and role assignment (the Octopus account, named apart, has none).
pub fn app_of(step: &crate::plan::PlanStep) -> Option<&str> {
    match step.kind {
        crate::desired::ResourceKind::OctopusAccount => None,
        _ => step.app(),
    }
}

/// Folds records into one entry per resource (kind, name, app), in first-seen order.
pub fn entries(records: &[JournalRecord]) -> Vec<JournalEntry> {
    let mut out: Vec<JournalEntry> = Vec::new();
    for r in records {
        let at = match out
            .iter()
            .position(|e| e.kind == r.kind && e.name == r.name && e.app == r.app)
        {
            Some(at) => at,
            None => {
                out.push(JournalEntry {
                    kind: r.kind,
                    name: r.name.clone(),
                    app: r.app.clone(),
                    last: r.phase,
                    created_by_setup: false,
                    ids: BTreeMap::new(),
                });
                out.len() - 1
            }
        };
        let e = &mut out[at];
        e.last = r.phase;
        match r.phase {
            Phase::Done => {
                if r.outcome == Some(Outcome::Created) {
                    e.created_by_setup = true;
                }
                e.ids = r.ids.clone();
            }
            Phase::Deleted => e.created_by_setup = false,
            Phase::Intent | Phase::DeleteIntent => {}
        }
    }
    out
}

/// An in-memory journal for tests; clones share the records.
#[derive(Debug, Clone, Default)]
pub struct MemoryJournal {
    inner: Arc<Mutex<MemoryState>>,
}

#[derive(Debug, Default)]
struct MemoryState {
    records: Vec<JournalRecord>,
    fail_at: Option<usize>,
    appends: usize,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> MemoryJournal {
        MemoryJournal::default()
    }

    /// Makes the `n`-th append from now (1-based) fail, as a full disk or a crash would.
    pub fn fail_at_append(&self, n: usize) {
        let mut s = self.lock();
        s.fail_at = Some(s.appends + n);
    }

    /// Every record so far.
    pub fn all(&self) -> Vec<JournalRecord> {
        self.lock().records.clone()
    }

    /// The records as the file holds them: JSON lines.
    pub fn json_lines(&self) -> String {
        self.lock()
            .records
            .iter()
            .filter_map(|r| serde_json::to_string(r).ok())
            .map(|l| l + "\n")
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Journal for MemoryJournal {
    fn append(&self, record: &JournalRecord) -> Result<(), Problem> {
        let mut s = self.lock();
        s.appends += 1;
        if s.fail_at == Some(s.appends) {
            return Err(Problem::new(
                ErrorCode::Internal,
                "the journal could not be written (injected)",
            ));
        }
        s.records.push(record.clone());
        Ok(())
    }

    fn records(&self) -> Result<Vec<JournalRecord>, Problem> {
        Ok(self.lock().records.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_json_lines_and_fold_per_resource() {
        let j = MemoryJournal::new();
        let intent = JournalRecord::new("s", Phase::Intent, ResourceKind::IamRole, "r");
        j.append(&intent).unwrap();
        assert!(entries(&j.all())[0].interrupted());
        let done = JournalRecord::new("s", Phase::Done, ResourceKind::IamRole, "r")
            .outcome(Outcome::Created)
            .id("arn", "arn:aws:iam::1:role/r");
        j.append(&done).unwrap();
        assert_eq!(
            j.json_lines().lines().nth(1).unwrap(),
            r#"{"v":1,"setup":"s","phase":"done","kind":"iam_role","name":"r","outcome":"created","ids":{"arn":"arn:aws:iam::1:role/r"}}"#
        );
        let e = &entries(&j.all())[0];
        assert!(e.created_by_setup && !e.interrupted());
        j.fail_at_append(1);
        assert!(j.append(&intent).is_err());
        assert_eq!(j.all().len(), 2);
    }
}
