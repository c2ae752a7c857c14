//! What the sandbox's plain-HTTP tests share: sending one request with an optional JSON body
//! and reading the answer as JSON, or just the JSON of a request that must succeed.

use reqwest::StatusCode;
use serde_json::Value;

/// Sends `request` (with `body` as JSON when given); the status and the body as JSON (`Null`
/// when it is not JSON).
pub async fn send_json(
    request: reqwest::RequestBuilder,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The JSON body `request` answers with (panics on a transport error or a body that is not
/// JSON).
pub async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}
