//! The API key (and exchanged tokens) never reach a log line, an error, a `Debug` or an event.
//!
//! One global TRACE subscriber captures everything in this test binary — this crate's own
//! `tracing` output, reqwest's `log` records (through the `tracing-log` bridge that
//! `try_init` installs), hyper/h2/rustls — while the client runs every kind of call against
//! the sandbox, success and failure paths alike. Then the captured text is searched for the
//! secrets. The test also checks that the HTTP stack's logs really were captured, so it cannot
//! pass by capturing nothing.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use octo_oidc_core::ports::{Octopus, OidcIdentitySpec};
use octo_oidc_core::retry::RetryPolicy;
use octo_oidc_core::{Problem, Secret};
use octo_oidc_octopus::token_exchange::exchange_id_token;
use octo_oidc_octopus::{Credential, OctopusClientConfig, RestOctopus, ServerUrl};
use octo_oidc_sandbox::faults::{FaultKind, FaultRule};
use octo_oidc_sandbox::octopus::github::WorkflowTokenRequest;
use octo_oidc_sandbox::{Sandbox, SandboxOptions};
use octo_oidc_testkit::RecordingProgress;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const API_KEY: &str = "API-NEVERLOGMENEVERLOGME0042";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_never_appears_in_trace_logs_errors_or_events() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber in this test binary");

    let sandbox = Sandbox::start(SandboxOptions {
        api_key: Some(Secret::new(API_KEY)),
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let mut config =
        OctopusClientConfig::new(ServerUrl::parse(&sandbox.urls().octopus_public).unwrap());
    config.ca_bundle_pem = Some(sandbox.ca_pem().as_bytes().to_vec());
    // The issuer's keys live at https://octopus.sandbox.localhost (no port).
    config.resolve = sandbox.host_overrides().to_vec();
    config.retry = RetryPolicy::fast();
    config.task_poll_interval = Duration::from_millis(20);
    let events = RecordingProgress::new();
    let client =
        RestOctopus::with_credential(config.clone(), Credential::ApiKey(Secret::new(API_KEY)))
            .unwrap()
            .reporting_to(Arc::new(events.clone()));
    let mut shown: Vec<String> = vec![format!("{client:?}"), format!("{config:?}")];

    // Successes of every kind.
    shown.push(format!("{:?}", client.check_connection().await.unwrap()));
    client.inventory("Spaces-1").await.unwrap();
    client.check_issuer().await.unwrap();
    let account = client
        .ensure_account(
            "Spaces-1",
            &json!({"AccountType": "AmazonWebServicesOidcAccount", "Region": "us-east-1", "Audience": "octopus.sandbox.localhost", "Name": "leak-test",
                    "RoleArn": "arn:aws:iam::123456789012:role/x", "SessionDuration": "3600"}),
        )
        .await
        .unwrap()
        .into_inner();
    shown.push(format!(
        "{:?}",
        client.test_account("Spaces-1", &account.id).await.unwrap()
    ));
    let user = client
        .ensure_service_account("leak-test-sa", "Leak test")
        .await
        .unwrap()
        .into_inner()
        .id;
    let github = sandbox.github();
    let external_id = client
        .ensure_oidc_identity(
            &user,
            &OidcIdentitySpec {
                name: "leak".into(),
                issuer: github.issuer().into(),
                subject: "repo:octo-org/octo-repo:*".into(),
                audience: None,
            },
        )
        .await
        .unwrap()
        .into_inner()
        .external_id;
    let id_token = github
        .mint(&WorkflowTokenRequest {
            audience: external_id.clone(),
            ..WorkflowTokenRequest::default()
        })
        .unwrap();
    let access = exchange_id_token(&config, &external_id, &Secret::new(id_token.clone()))
        .await
        .unwrap();
    let access_token = access.token.expose().to_string();
    shown.push(format!("{access:?}"));
    let as_sa = RestOctopus::with_access_token(config.clone(), access).unwrap();
    shown.push(format!(
        "{:?}",
        as_sa.inventory("Spaces-1").await.unwrap_err()
    ));

    // Failures: retried throttling, a server error, a wrong key next to the right one.
    sandbox.faults().add(
        FaultRule::for_service("octopus")
            .operation("GET /api/users/me")
            .fault(FaultKind::Throttle {
                retry_after_secs: 0,
            })
            .times(1),
    );
    client.current_user().await.unwrap();
    sandbox.faults().add(
        FaultRule::for_service("octopus")
            .operation("POST /api/{space}/accounts")
            .fault(FaultKind::ServerError { status: 500 }),
    );
    let failed = client
        .ensure_account(
            "Spaces-1",
            &json!({"AccountType": "AzureOidc", "Name": "x"}),
        )
        .await
        .unwrap_err();
    shown.push(format!("{failed:?} {failed}"));
    let wrong = RestOctopus::new(config.clone(), Secret::new(format!("{API_KEY}X"))).unwrap();
    let error = wrong.current_user().await.unwrap_err();
    shown.push(format!("{error:?} {error}"));
    let problem = Problem::from(error);
    shown.push(serde_json::to_string(&problem).unwrap());

    sandbox.shutdown().await.unwrap();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let events = events
        .events()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let shown = shown.join("\n");

    // The capture really contains the HTTP stack's TRACE/DEBUG output and our own lines.
    assert!(logs.contains("TRACE"), "TRACE level is captured");
    assert!(
        logs.contains("octo_oidc_octopus"),
        "this crate's logs are captured"
    );
    assert!(
        logs.contains(" reqwest::"),
        "reqwest's log records are captured"
    );
    assert!(logs.contains(" hyper_util::"), "hyper's logs are captured");
    assert!(logs.contains(" h2::"), "HTTP/2 logs are captured");
    assert!(
        events.contains("retrying"),
        "a retry event was emitted: {events}"
    );

    for (what, secret) in [
        ("API key", API_KEY),
        (
            "the API key's random part",
            API_KEY.trim_start_matches("API-"),
        ),
        ("ID token", id_token.as_str()),
        ("access token", access_token.as_str()),
    ] {
        assert!(!logs.contains(secret), "the {what} is in the logs");
        assert!(
            !events.contains(secret),
            "the {what} is in a progress event"
        );
        assert!(
            !shown.contains(secret),
            "the {what} is in a Debug/Display/error"
        );
    }
    let mut crates: Vec<&str> = logs
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2)?.split([':', '{']).next())
        .filter(|t| t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    crates.sort_unstable();
    crates.dedup();
    eprintln!("captured log targets: {crates:?}");
    eprintln!(
        "searched {} bytes of TRACE logs ({} lines), {} bytes of events, {} bytes of Debug/errors",
        logs.len(),
        logs.lines().count(),
        events.len(),
        shown.len()
    );
}
