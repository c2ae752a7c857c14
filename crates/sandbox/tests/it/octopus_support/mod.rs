//! What the Octopus API tests share: one authenticated call to the sandbox Octopus (and its
//! `GET` / `POST` forms), waiting
//! for a server task to finish, its log, and the first validation error of a 400 body.

use std::time::Duration;

use octo_oidc_sandbox::Sandbox;
use reqwest::StatusCode;
use serde_json::Value;

/// One call to the sandbox Octopus with its API key; the body as JSON (`Null` when it is not).
pub async fn api(
    sandbox: &Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = sandbox
        .http_client()
        .unwrap()
        .request(method, format!("{}{path}", sandbox.urls().octopus))
        .header("X-Octopus-ApiKey", sandbox.api_key().expose());
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// `GET path` from the sandbox Octopus.
pub async fn api_get(sandbox: &Sandbox, path: &str) -> (StatusCode, Value) {
    api(sandbox, reqwest::Method::GET, path, None).await
}

/// `POST path` of a JSON `body` to the sandbox Octopus.
pub async fn api_post(sandbox: &Sandbox, path: &str, body: Value) -> (StatusCode, Value) {
    api(sandbox, reqwest::Method::POST, path, Some(body)).await
}

/// Polls a server task until it completes (at most 10 s) and returns it.
pub async fn wait_for_task(sandbox: &Sandbox, id: &str) -> Value {
    for _ in 0..400 {
        let (_, task) = api_get(sandbox, &format!("/api/tasks/{id}")).await;
        if task["IsCompleted"] == true {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("task {id} did not finish");
}

/// The message texts of a server task's activity log (`GET /api/tasks/{id}/details`).
pub async fn task_log(sandbox: &Sandbox, task: &Value) -> Vec<String> {
    let id = task["Id"].as_str().unwrap();
    let (_, details) = api_get(sandbox, &format!("/api/tasks/{id}/details")).await;
    details["ActivityLogs"][0]["LogElements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["MessageText"].as_str().unwrap().to_string())
        .collect()
}

/// The first of the `Errors` Octopus lists in a validation failure's body.
pub fn first_error(body: &Value) -> &str {
    body["Errors"][0].as_str().unwrap()
}
