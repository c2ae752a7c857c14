//! The client's caps and bounds against hand-made listeners that misbehave in ways the
//! sandbox does not: an oversized body, a `TotalResults` that would need too many pages, a
//! listener that never answers, a host name that never resolves; and retries reported on the
//! sink a connected client is given later.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use octo_oidc_core::ErrorCode;
use octo_oidc_core::Secret;
use octo_oidc_core::retry::RetryPolicy;
use octo_oidc_octopus::{OctopusClientConfig, RestOctopus, ServerUrl};
use octo_oidc_testkit::misbehaving::{NoSuchHost, silent_listener, unavailable_once};
use octo_oidc_testkit::{RecordingProgress, assert_retries_went_to, serve};

fn config(server: &str) -> OctopusClientConfig {
    let mut config = OctopusClientConfig::new(ServerUrl::parse(server).expect("server URL"));
    config.retry = RetryPolicy::fast();
    config.request_timeout = Duration::from_secs(5);
    config
}

fn client(config: OctopusClientConfig) -> RestOctopus {
    RestOctopus::new(config, Secret::new("API-TESTKEY0000000000000000000000")).expect("client")
}

#[tokio::test]
async fn an_oversized_body_is_refused_naming_the_cap() {
    let server = serve(Router::new().route(
        "/api/spaces/all",
        get(|| async { "x".repeat(9 * 1024 * 1024) }),
    ))
    .await;
    let error = client(config(&server))
        .spaces()
        .await
        .expect_err("9 MiB is over the cap");
    assert!(
        error
            .to_string()
            .contains("the response body is larger than the 8 MiB limit"),
        "names the cap: {error}"
    );
}

#[tokio::test]
async fn a_total_that_needs_too_many_pages_is_refused_after_the_first_page() {
    let pages = Arc::new(AtomicUsize::new(0));
    let server = {
        let pages = pages.clone();
        serve(
            Router::new()
                .route(
                    "/api/Spaces-1/environments/all",
                    get(|| async { StatusCode::NOT_FOUND }),
                )
                .route(
                    "/api/Spaces-1/environments",
                    get(move || {
                        let pages = pages.clone();
                        async move {
                            pages.fetch_add(1, Ordering::SeqCst);
                            axum::Json(serde_json::json!({
                                "Items": [{"Id": "Environments-1", "Name": "Dev", "Slug": "dev"}],
                                "TotalResults": 1_000_000
                            }))
                        }
                    }),
                ),
        )
        .await
    };
    let mut config = config(&server);
    config.page_size = 1;
    config.max_pages = 50;
    let error = client(config)
        .environments("Spaces-1")
        .await
        .expect_err("a million pages of one are refused");
    assert!(
        error
            .to_string()
            .contains("the server reports 1000000 items in pages of 1, more than the 50 pages"),
        "names the total and the cap: {error}"
    );
    assert_eq!(
        pages.load(Ordering::SeqCst),
        1,
        "only the first page was read"
    );
}

#[tokio::test]
async fn a_hung_call_ends_at_its_deadline_with_a_timeout_naming_it() {
    let silent_addr = silent_listener().await;
    let mut config = config(&format!("http://{silent_addr}"));
    config.request_timeout = Duration::from_secs(60);
    config.deadline = Duration::from_millis(400);
    let started = std::time::Instant::now();
    let error = client(config)
        .server_version()
        .await
        .expect_err("the listener never answers");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "ended by the deadline, not the request timeout"
    );
    assert_eq!(error.code(), ErrorCode::Timeout);
    assert!(
        error.to_string().contains("GET /api") && error.to_string().contains("400ms"),
        "names the operation and the deadline: {error}"
    );
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_tried_at_most_twice() {
    let resolver = NoSuchHost::default();
    let mut config = config("https://octopus.no-such-host.test");
    config.dns_resolver = Some(Arc::new(resolver.clone()));
    let events = RecordingProgress::new();
    let error = client(config)
        .reporting_to(Arc::new(events.clone()))
        .server_version()
        .await
        .expect_err("nothing resolves");
    assert_eq!(error.code(), ErrorCode::RemoteUnavailable);
    resolver.assert_tried_at_most_twice();
    assert!(
        events.retries().len() <= 1,
        "{} retries reported",
        events.retries().len()
    );
}

#[tokio::test]
async fn retries_are_reported_on_the_sink_given_to_the_connected_client() {
    let (api, calls) = unavailable_once(r#"{"Version":"2025.3.1234"}"#);
    let server = serve(Router::new().route("/api", api)).await;
    let at_connect = RecordingProgress::new();
    let connected = client(config(&server)).reporting_to(Arc::new(at_connect.clone()));
    let later_step = RecordingProgress::new();
    let version = connected
        .reporting_to(Arc::new(later_step.clone()))
        .server_version()
        .await
        .expect("the retry succeeds");
    assert_eq!(version.version, "2025.3.1234");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_retries_went_to(&later_step, &at_connect);
}
