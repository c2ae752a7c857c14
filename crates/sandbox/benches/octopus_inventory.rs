//! Benchmark of the sandbox Octopus on loopback, printing its figures (run with
//! `cargo bench -p octo-oidc-sandbox --bench octopus_inventory`):
//! - start-up time of the `large` profile (10,000 projects, 500 environments, 5,000 tenants);
//! - `GET /api/Spaces-1/projects/all` for `large` (first call builds the cached body; then warm);
//! - the full `large` inventory (spaces, environments, projects, tenants `/all`), fetched and
//!   parsed by a reqwest client, sequentially; target < 300 ms;
//! - sustained requests per second with concurrent keep-alive clients on small endpoints.
//!
//! A plain `main` instead of criterion: these are end-to-end wall-clock figures over HTTP, and
//! a few dozen samples are enough; the machine is shared, so the run is kept short.

use std::time::{Duration, Instant};

use octo_oidc_sandbox::seed::SeedProfile;
use octo_oidc_sandbox::{Sandbox, SandboxOptions};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn fetch(http: &reqwest::Client, url: &str, key: &str) -> (usize, usize) {
    let bytes = http
        .get(url)
        .header("X-Octopus-ApiKey", key)
        .send()
        .await
        .expect("request")
        .bytes()
        .await
        .expect("body");
    let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    (bytes.len(), value.as_array().map(Vec::len).unwrap_or(0))
}

/// Starts a sandbox with `profile`, printing how long it took.
async fn timed_start(profile: SeedProfile, name: &str) -> Sandbox {
    let started = Instant::now();
    let sandbox = Sandbox::start(SandboxOptions {
        profile,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox starts");
    println!(
        "start-up ({name} profile, all listeners): {}",
        ms(started.elapsed())
    );
    sandbox
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sandbox = timed_start(SeedProfile::Large, "large").await;
    let empty = timed_start(SeedProfile::Empty, "empty").await;
    empty.shutdown().await.expect("stops");

    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let key = sandbox.api_key().expose().to_string();
    let base = sandbox.urls().octopus.clone();
    let projects = format!("{base}/api/Spaces-1/projects/all");

    let t = Instant::now();
    let (bytes, count) = fetch(&http, &projects, &key).await;
    println!(
        "projects/all, first call (serialize + cache): {} ({count} projects, {:.1} MB)",
        ms(t.elapsed()),
        bytes as f64 / 1e6
    );
    let mut samples = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        fetch(&http, &projects, &key).await;
        samples.push(t.elapsed());
    }
    println!(
        "projects/all, warm, fetched + parsed: median {} of 20",
        ms(median(samples))
    );

    let inventory = [
        "spaces/all",
        "Spaces-1/environments/all",
        "Spaces-1/projects/all",
        "Spaces-1/tenants/all",
    ];
    let mut samples = Vec::new();
    let mut total_bytes = 0;
    for _ in 0..10 {
        let t = Instant::now();
        total_bytes = 0;
        for path in inventory {
            total_bytes += fetch(&http, &format!("{base}/api/{path}"), &key).await.0;
        }
        samples.push(t.elapsed());
    }
    let full = median(samples);
    println!(
        "large inventory (spaces, environments, projects, tenants), sequential, fetched + parsed: median {} of 10 ({:.1} MB) — target < 300 ms: {}",
        ms(full),
        total_bytes as f64 / 1e6,
        if full < Duration::from_millis(300) {
            "met"
        } else {
            "NOT met"
        }
    );

    for (label, path) in [
        ("GET /api/users/me", "/api/users/me".to_string()),
        (
            "GET /api/Spaces-1/environments/Environments-1",
            "/api/Spaces-1/environments/Environments-1".to_string(),
        ),
        (
            "GET /api/Spaces-1/projects?take=30 (paged from 10,000)",
            "/api/Spaces-1/projects?skip=300&take=30".to_string(),
        ),
    ] {
        let clients = 8;
        let window = Duration::from_secs(2);
        let t = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let http = http.clone();
            let url = format!("{base}{path}");
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while t.elapsed() < window {
                    let r = http
                        .get(&url)
                        .header("X-Octopus-ApiKey", &key)
                        .send()
                        .await
                        .expect("request");
                    assert!(r.status().is_success());
                    r.bytes().await.expect("body");
                    n += 1;
                }
                n
            }));
        }
        let mut total = 0;
        for task in tasks {
            total += task.await.expect("client task");
        }
        println!(
            "sustained {label}: {:.0} requests/s ({clients} keep-alive clients, {:?})",
            total as f64 / t.elapsed().as_secs_f64(),
            window
        );
    }
    sandbox.shutdown().await.expect("stops");
}
