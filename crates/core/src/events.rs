//! Progress events: what long-running work reports while it runs.
//!
//! Clients, the engine and the sandbox report through a [`ProgressSink`]; the CLI prints the
//! events, the desktop app forwards them to the UI over a Tauri channel. Events carry no
//! secrets (they are serialized and shown), only names, ids and counts.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;

/// One thing that happened during a long-running operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProgressEvent {
    /// A remote call failed transiently and will be retried after `wait_ms`.
    Retrying {
        /// The service, e.g. `octopus`, `graph`, `arm`, `iam`, `sts`, `entra`.
        service: String,
        /// The operation, e.g. `CreateRole`, `PUT roleAssignments`.
        operation: String,
        /// 1 for the first retry.
        attempt: u32,
        /// How long we wait before the next attempt, in milliseconds.
        wait_ms: u64,
        /// Why: the error code of the failed attempt.
        code: ErrorCode,
        /// The remote message of the failed attempt (never a secret).
        reason: String,
    },
    /// A remote task (e.g. the Octopus account test) changed state or logged a line.
    TaskProgress {
        /// The remote task id, e.g. `ServerTasks-123`.
        task_id: String,
        /// The remote state, e.g. `Executing`.
        state: String,
        /// A new log line, if any.
        message: Option<String>,
    },
    /// A step of a setup's plan changed state (the engine's apply and teardown: one event
    /// when a step starts and one when it ends).
    Step {
        /// The step's index in its plan.
        index: usize,
        /// The resource kind, e.g. `iam_role`, `federated_credential`.
        resource: String,
        /// The resource's name.
        name: String,
        /// What the step does: `create`, `update`, `delete`, `unchanged`.
        action: String,
        /// Where it is.
        status: StepStatus,
        /// For `failed`: the error's message; for `done`: the id it ended with.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A free-form status line for the user.
    Info {
        /// The message.
        message: String,
    },
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Its remote calls are being made.
    Started,
    /// It finished (or had nothing to do).
    Done,
    /// It failed; later steps that depend on it are not run.
    Failed,
}

impl StepStatus {
    /// Its name as events and reports write it (`started`, `done`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Started => "started",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
        }
    }
}

/// Where progress events go. Implementations must be cheap and must not block.
pub trait ProgressSink: Send + Sync {
    /// Reports one event.
    fn emit(&self, event: ProgressEvent);
}

/// A sink that drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn emit(&self, _event: ProgressEvent) {}
}

impl<F: Fn(ProgressEvent) + Send + Sync> ProgressSink for F {
    fn emit(&self, event: ProgressEvent) {
        self(event)
    }
}
