//! How apply and teardown show the engine's progress events (step started / done / failed,
//! retrying with reason and wait): rendering only, one [`StepProgress`] sink per command.
//!
//! - On a terminal (stderr): indicatif bars, one spinner per running step, finished with ✓ or
//!   ✗, retries printed above the bars;
//! - otherwise: plain lines on stderr (`  started create iam_role x`);
//! - with `--json`: one JSON object per event on stderr (the event's own serde form, e.g.
//!   `{"step":{"index":0,…,"status":"started"}}`), so stdout keeps one result per setup.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use octo_oidc_core::events::{ProgressEvent, ProgressSink, StepStatus};

/// Where progress goes.
enum Mode {
    Json,
    Lines,
    Bars {
        multi: MultiProgress,
        running: Mutex<BTreeMap<usize, ProgressBar>>,
    },
}

/// The progress sink of one command.
pub struct StepProgress {
    mode: Mode,
}

impl StepProgress {
    /// JSON lines with `json`, bars when stderr is a terminal, plain lines otherwise.
    pub fn new(json: bool) -> Arc<StepProgress> {
        let mode = match (json, std::io::stderr().is_terminal()) {
            (true, _) => Mode::Json,
            (false, true) => Mode::Bars {
                multi: MultiProgress::new(),
                running: Mutex::new(BTreeMap::new()),
            },
            (false, false) => Mode::Lines,
        };
        Arc::new(StepProgress { mode })
    }

    /// The plain line of an event (`None`: nothing to show, e.g. an unchanged step).
    pub fn line(event: &ProgressEvent) -> Option<String> {
        match event {
            ProgressEvent::Step { status, detail, .. } => Some(format!(
                "  {:>7} {}{}",
                status.as_str(),
                shown_step(event)?,
                in_parentheses(detail)
            )),
            ProgressEvent::Retrying {
                service,
                operation,
                attempt,
                wait_ms,
                reason,
                ..
            } => Some(format!(
                "  retrying {service} {operation} (attempt {attempt}, in {wait_ms} ms): {reason}"
            )),
            ProgressEvent::TaskProgress { .. } | ProgressEvent::Info { .. } => None,
        }
    }
}

/// `action resource name` of a step event worth showing (`None`: an unchanged step, or
/// another event).
fn shown_step(event: &ProgressEvent) -> Option<String> {
    match event {
        ProgressEvent::Step {
            resource,
            name,
            action,
            ..
        } if action != "unchanged" => Some(format!("{action} {resource} {name}")),
        _ => None,
    }
}

/// ` (detail)`, or nothing without one.
fn in_parentheses(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

fn spinner(multi: &MultiProgress, text: String) -> ProgressBar {
    let bar = multi.add(ProgressBar::new_spinner());
    if let Ok(style) = ProgressStyle::with_template("  {spinner} {msg} {elapsed:.dim}") {
        bar.set_style(style);
    }
    bar.set_message(text);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

impl ProgressSink for StepProgress {
    fn emit(&self, event: ProgressEvent) {
        match &self.mode {
            Mode::Json => {
                if let Ok(line) = serde_json::to_string(&event) {
                    eprintln!("{line}");
                }
            }
            Mode::Lines => {
                if let Some(line) = StepProgress::line(&event) {
                    eprintln!("{line}");
                }
            }
            Mode::Bars { multi, running } => {
                let mut running = running.lock().unwrap_or_else(|p| p.into_inner());
                match (&event, shown_step(&event)) {
                    (ProgressEvent::Step { index, status, .. }, Some(what))
                        if *status == StepStatus::Started =>
                    {
                        running.insert(*index, spinner(multi, what));
                    }
                    (
                        ProgressEvent::Step {
                            index,
                            status,
                            detail,
                            ..
                        },
                        Some(what),
                    ) => {
                        let bar = running
                            .remove(index)
                            .unwrap_or_else(|| spinner(multi, what.clone()));
                        let mark = if *status == StepStatus::Failed {
                            "✗"
                        } else {
                            "✓"
                        };
                        bar.finish_with_message(format!("{mark} {what}{}", in_parentheses(detail)));
                    }
                    (ProgressEvent::Retrying { .. }, _) => {
                        if let Some(line) = StepProgress::line(&event) {
                            let _ = multi.println(line);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use octo_oidc_core::ErrorCode;

    #[test]
    fn plain_lines_name_the_step_and_the_retry_with_reason_and_wait() {
        let step = ProgressEvent::Step {
            index: 1,
            resource: "iam_role".into(),
            name: "octopus-shop".into(),
            action: "create".into(),
            status: StepStatus::Failed,
            detail: Some("AccessDenied".into()),
        };
        assert_eq!(
            StepProgress::line(&step).as_deref(),
            Some("   failed create iam_role octopus-shop (AccessDenied)")
        );
        let retry = ProgressEvent::Retrying {
            service: "iam".into(),
            operation: "CreateRole".into(),
            attempt: 2,
            wait_ms: 400,
            code: ErrorCode::RateLimited,
            reason: "Throttling".into(),
        };
        assert_eq!(
            StepProgress::line(&retry).as_deref(),
            Some("  retrying iam CreateRole (attempt 2, in 400 ms): Throttling")
        );
        let unchanged = ProgressEvent::Step {
            index: 0,
            resource: "oidc_provider".into(),
            name: "x".into(),
            action: "unchanged".into(),
            status: StepStatus::Done,
            detail: None,
        };
        assert_eq!(StepProgress::line(&unchanged), None);
    }
}
