//! What the Octopus API tests share: one authenticated call to the sandbox Octopus (and its
//! `GET` / `POST` forms, and with another key), Azure and AWS account bodies, waiting
//! for a server task to finish, its log, and the first validation error of a 400 body.

use std::time::Duration;

use octo_oidc_sandbox::Sandbox;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::http_support::{json_of, send_json};

/// One call to the sandbox Octopus with its API key; the body as JSON (`Null` when it is not).
pub async fn api(
    sandbox: &Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    api_as(sandbox, sandbox.api_key().expose(), method, path, body).await
}

/// [`api`] with another API key.
pub async fn api_as(
    sandbox: &Sandbox,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = sandbox
        .http_client()
        .unwrap()
        .request(method, format!("{}{path}", sandbox.urls().octopus))
        .header("X-Octopus-ApiKey", key);
    send_json(request, body).await
}

/// `GET path` from the sandbox Octopus.
pub async fn api_get(sandbox: &Sandbox, path: &str) -> (StatusCode, Value) {
    api(sandbox, reqwest::Method::GET, path, None).await
}

/// `POST path` of a JSON `body` to the sandbox Octopus.
pub async fn api_post(sandbox: &Sandbox, path: &str, body: Value) -> (StatusCode, Value) {
    api(sandbox, reqwest::Method::POST, path, Some(body)).await
}

/// `GET url` with the sandbox's HTTP client (which trusts its CA) and no API key; the JSON body.
pub async fn fetch_json(sandbox: &Sandbox, url: &str) -> Value {
    json_of(sandbox.http_client().unwrap().get(url)).await
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

/// `POST /api/Spaces-1/accounts` of an account `body`.
pub async fn create_account(sandbox: &Sandbox, body: Value) -> (StatusCode, Value) {
    api_post(sandbox, "/api/Spaces-1/accounts", body).await
}

/// An Azure OIDC account body named `name` (fixed subscription, client and tenant ids).
pub fn azure_account(name: &str) -> Value {
    json!({
        "AccountType": "AzureOidc",
        "Name": name,
        "SubscriptionNumber": "3f6a3a2e-1b2c-4d5e-8f90-0a1b2c3d4e5f",
        "ClientId": "8d5c1a4e-7b2f-4c3d-9e8f-1a2b3c4d5e6f",
        "TenantId": "b7c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e",
    })
}

/// An AWS OIDC account body named `name` that assumes `role_arn`, with the region and audience
/// Octopus 2026 requires.
pub fn aws_account(name: &str, role_arn: &str) -> Value {
    json!({
        "AccountType": "AmazonWebServicesOidcAccount",
        "Region": "us-east-1",
        "Audience": "octopus.sandbox.localhost",
        "Name": name,
        "RoleArn": role_arn,
    })
}

/// The elements of a JSON array (a list body, `Items`, `Errors`…).
pub fn items(value: &Value) -> &[Value] {
    value.as_array().expect("a JSON array")
}

/// The strings of a JSON array of strings.
pub fn strings(value: &Value) -> Vec<&str> {
    items(value)
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

/// The first of the `Errors` Octopus lists in a validation failure's body.
pub fn first_error(body: &Value) -> &str {
    body["Errors"][0].as_str().unwrap()
}
