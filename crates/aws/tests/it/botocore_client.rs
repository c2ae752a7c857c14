//! A non-Rust client against the sandbox: boto3/botocore (installed in `.venv` with moto by
//! the harness) configured only with `AWS_ENDPOINT_URL` and dummy credentials, as the AWS
//! CLI or a person's script would be.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::process::Command;

use support::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_works_against_the_sandbox_endpoint() {
    let python = support::venv_python();
    let backend = Backend::sandbox().await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/scripts/boto3_against_endpoint.py"
    );
    let endpoint = backend.endpoint.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env_clear()
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "AKIDBOTO")
            .env("AWS_SECRET_ACCESS_KEY", "boto-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "boto3 script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["caller_account"], support::ACCOUNT);
    assert!(
        seen["provider_arn"]
            .as_str()
            .unwrap()
            .contains(":oidc-provider/boto-")
    );
    assert!(seen["provider_url"].as_str().unwrap().starts_with("boto-"));
    assert!(
        seen["role_arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::123456789012:role/boto-")
    );
    assert_eq!(seen["trust_policy_roundtrip"], true);
    assert_eq!(seen["max_session_duration"], 3600);
    assert_eq!(
        seen["missing_role"],
        serde_json::json!(["NoSuchEntity", 404])
    );
    assert_eq!(seen["bad_token"], "InvalidIdentityToken");
}
