//! No lock is held across a network call: while one call waits for a slow Octopus, the
//! session's other calls answer at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::session;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sandbox_connection_does_not_block_the_other_calls() {
    let session = Arc::new(session());
    let started = session.start_sandbox().await.unwrap();
    // The sandbox's own admin endpoint: every `GET /api/users/me` takes 1.5 s.
    let slow = Duration::from_millis(1500);
    let rule = serde_json::json!({
        "service": "octopus",
        "operation": "GET /api/users/me",
        "latency_ms": slow.as_millis() as u64,
    });
    let added = reqwest::Client::new()
        .post(format!("{}/_sandbox/faults/rules", started.octopus_url))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert!(added.status().is_success(), "{added:?}");

    let begun = Instant::now();
    let connecting = {
        let session = session.clone();
        tokio::spawn(async move { session.connect_sandbox_octopus().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let quick = Duration::from_millis(500);
    let asked = Instant::now();
    assert_eq!(session.sandbox_status(), Some(started.clone()));
    assert_eq!(session.octopus_connection(), None, "not connected yet");
    let again = tokio::time::timeout(quick, session.start_sandbox())
        .await
        .expect("start_sandbox waited for the connection check")
        .unwrap();
    assert_eq!(again, started);
    let second = tokio::spawn({
        let session = session.clone();
        async move { session.connect_sandbox_octopus().await }
    });
    assert!(asked.elapsed() < quick, "took {:?}", asked.elapsed());
    assert!(!connecting.is_finished(), "the slow call was not slow");

    let first = connecting.await.unwrap().expect("connects");
    let second = second.await.unwrap().expect("connects too");
    assert!(begun.elapsed() >= slow, "the fault did not apply");
    assert_eq!(first.server_url, second.server_url);
    assert!(session.octopus_client().is_some());
    session.stop_sandbox().await.unwrap();
}
