//! [`RecordingProgress`]: a progress sink that keeps every event, for assertions.

use std::sync::{Arc, Mutex};

use octo_oidc_core::ErrorCode;
use octo_oidc_core::events::{ProgressEvent, ProgressSink};

/// Every event emitted, in order; clones share the same record.
#[derive(Debug, Clone, Default)]
pub struct RecordingProgress(Arc<Mutex<Vec<ProgressEvent>>>);

/// One [`ProgressEvent::Retrying`], flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retried {
    /// The service, e.g. `octopus`, `iam`.
    pub service: String,
    /// The operation.
    pub operation: String,
    /// 1 for the first retry.
    pub attempt: u32,
    /// The announced wait.
    pub wait_ms: u64,
    /// Why.
    pub code: ErrorCode,
}

impl RecordingProgress {
    /// An empty record.
    pub fn new() -> RecordingProgress {
        RecordingProgress::default()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<ProgressEvent> {
        self.0.lock().unwrap().clone()
    }

    /// The retry events so far.
    pub fn retries(&self) -> Vec<Retried> {
        self.events()
            .into_iter()
            .filter_map(|event| match event {
                ProgressEvent::Retrying {
                    service,
                    operation,
                    attempt,
                    wait_ms,
                    code,
                    ..
                } => Some(Retried {
                    service,
                    operation,
                    attempt,
                    wait_ms,
                    code,
                }),
                _ => None,
            })
            .collect()
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// Asserts that the retries of a call were reported on `later_step` (the sink given for the
/// call) and none on `at_connect` (the sink the client was built with).
pub fn assert_retries_went_to(later_step: &RecordingProgress, at_connect: &RecordingProgress) {
    assert_eq!(
        later_step.retries().len(),
        1,
        "the later step's sink saw the retry"
    );
    assert_eq!(
        at_connect.retries().len(),
        0,
        "the sink given at connect time did not"
    );
}

impl ProgressSink for RecordingProgress {
    fn emit(&self, event: ProgressEvent) {
        self.0.lock().unwrap().push(event);
    }
}
