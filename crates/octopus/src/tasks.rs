//! Following an Octopus server task (e.g. the account test) to its end.
//!
//! Polls `GET /api/{space}/tasks/{id}` until `IsCompleted`, reading the log from
//! `GET /api/{space}/tasks/{id}/details` as it grows; every state change and every new log
//! line is reported as [`ProgressEvent::TaskProgress`]. The result carries the final state,
//! `ErrorMessage` and the whole log. A task that outlives the configured budget is an
//! [`OctopusError::TaskTimeout`]; the task itself keeps running on the server.
//!
//! Deliberately absent: cancelling tasks, and treating an unsuccessful task as an error (the
//! caller decides what a failed account test means; [`task_failure`] builds the problem).

use std::time::Instant;

use octo_oidc_core::events::ProgressEvent;
use octo_oidc_core::ports::TaskResult;
use octo_oidc_core::{ErrorCode, Problem};
use serde::Deserialize;

use crate::client::RestOctopus;
use crate::error::OctopusError;

/// The task fields we follow.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TaskState {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "State", default)]
    pub state: String,
    #[serde(rename = "IsCompleted", default)]
    pub is_completed: bool,
    #[serde(rename = "FinishedSuccessfully", default)]
    pub finished_successfully: Option<bool>,
    #[serde(rename = "ErrorMessage", default)]
    pub error_message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TaskDetails {
    #[serde(rename = "ActivityLogs", default)]
    activity_logs: Vec<ActivityNode>,
}

#[derive(Debug, Deserialize)]
struct ActivityNode {
    #[serde(rename = "Children", default)]
    children: Vec<ActivityNode>,
    #[serde(rename = "LogElements", default)]
    log_elements: Vec<LogElement>,
}

#[derive(Debug, Deserialize)]
struct LogElement {
    #[serde(rename = "Category", default)]
    category: Option<String>,
    #[serde(rename = "MessageText", default)]
    message_text: String,
}

/// Log lines of the activity tree, depth first, oldest first; warnings and errors prefixed.
fn flatten_log(nodes: &[ActivityNode], out: &mut Vec<String>) {
    for node in nodes {
        for element in &node.log_elements {
            let line = match element.category.as_deref() {
                Some(c @ ("Warning" | "Error" | "Fatal")) => {
                    format!("{c}: {}", element.message_text)
                }
                _ => element.message_text.clone(),
            };
            out.push(line);
        }
        flatten_log(&node.children, out);
    }
}

/// The problem to show for a task that ended unsuccessfully (`None` when it succeeded).
pub fn task_failure(result: &TaskResult) -> Option<Problem> {
    if result.succeeded {
        return None;
    }
    let reason = result
        .error_message
        .clone()
        .or_else(|| {
            result
                .log
                .iter()
                .rev()
                .find(|l| l.starts_with("Error: ") || l.starts_with("Fatal: "))
                .cloned()
        })
        .unwrap_or_else(|| "no error message".into());
    Some(
        Problem::new(
            ErrorCode::TaskFailed,
            format!("task {} ended {}: {reason}", result.task_id, result.state),
        )
        .with_hint("Read the task log; for an account test, check the cloud-side trust (issuer, audience, subject) matches the account."),
    )
}

impl RestOctopus {
    async fn task_log(&self, space_id: &str, task_id: &str) -> Result<Vec<String>, OctopusError> {
        let details: TaskDetails = self
            .transport
            .get_json(
                &format!("api/{space_id}/tasks/{task_id}/details"),
                &[("verbose", "false".to_string())],
            )
            .await?;
        let mut lines = Vec::new();
        flatten_log(&details.activity_logs, &mut lines);
        Ok(lines)
    }

    /// Follows a task until it completes, reporting progress.
    pub async fn follow_task(
        &self,
        space_id: &str,
        task_id: &str,
    ) -> Result<TaskResult, OctopusError> {
        let started = Instant::now();
        let mut last_state = String::new();
        let mut reported_lines = 0usize;
        loop {
            let task: TaskState = self
                .transport
                .get_json(&format!("api/{space_id}/tasks/{task_id}"), &[])
                .await?;
            if task.state != last_state {
                self.progress.emit(ProgressEvent::TaskProgress {
                    task_id: task.id.clone(),
                    state: task.state.clone(),
                    message: None,
                });
                last_state = task.state.clone();
            }
            let log = self.task_log(space_id, task_id).await?;
            for line in log.iter().skip(reported_lines) {
                self.progress.emit(ProgressEvent::TaskProgress {
                    task_id: task.id.clone(),
                    state: task.state.clone(),
                    message: Some(line.clone()),
                });
            }
            reported_lines = reported_lines.max(log.len());
            if task.is_completed {
                let succeeded = task
                    .finished_successfully
                    .unwrap_or(task.state == "Success");
                return Ok(TaskResult {
                    task_id: task.id,
                    state: task.state,
                    succeeded,
                    error_message: task.error_message.filter(|m| !m.trim().is_empty()),
                    log,
                });
            }
            if started.elapsed() >= self.config.task_timeout {
                return Err(OctopusError::TaskTimeout {
                    task_id: task.id,
                    state: task.state,
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(self.config.task_poll_interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tree_flattens_depth_first_with_severity() {
        let details: TaskDetails = serde_json::from_value(serde_json::json!({
            "ActivityLogs": [{
                "LogElements": [{"Category": "Info", "MessageText": "Testing account"}],
                "Children": [{
                    "LogElements": [
                        {"Category": "Info", "MessageText": "Requesting token"},
                        {"Category": "Error", "MessageText": "AADSTS700213: No matching federated identity record found"}
                    ]
                }]
            }]
        }))
        .expect("details parse");
        let mut lines = Vec::new();
        flatten_log(&details.activity_logs, &mut lines);
        assert_eq!(
            lines,
            [
                "Testing account",
                "Requesting token",
                "Error: AADSTS700213: No matching federated identity record found"
            ]
        );
        let result = TaskResult {
            task_id: "ServerTasks-1".into(),
            state: "Failed".into(),
            succeeded: false,
            error_message: None,
            log: lines,
        };
        let problem = task_failure(&result).expect("failed task gives a problem");
        assert_eq!(problem.code, ErrorCode::TaskFailed);
        assert!(problem.message.contains("AADSTS700213"));
    }
}
