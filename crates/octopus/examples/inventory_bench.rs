//! Inventory benchmark: the full inventory of the sandbox's `large` space (10,000 projects,
//! 500 environments, 5,000 tenants, plus project groups and runbooks) through `RestOctopus`,
//! timed, with the client process's peak memory.
//!
//! The sandbox runs in a child process (this same binary with `--serve`), so the memory
//! figures are the client's alone: peak RSS is the kernel's high-water mark (`VmHWM` in
//! `/proc/self/status`), reset before each run through `/proc/self/clear_refs`.
//!
//! ```sh
//! cargo run --release -p octo-oidc-octopus --example inventory_bench
//! ```
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use octo_oidc_core::Secret;
use octo_oidc_core::ports::Octopus;
use octo_oidc_octopus::{OctopusClientConfig, RestOctopus, ServerUrl};
use octo_oidc_sandbox::faults::{FaultKind, FaultRule};

const RUNS: usize = 7;

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        serve();
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    let key = Secret::new(lines.next().unwrap().unwrap());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = OctopusClientConfig::new(ServerUrl::parse(&url).unwrap());
        let client = RestOctopus::new(config, key).unwrap();
        println!("client peak RSS before the first run: {:.1} MB", peak_rss_mb());
        let mut times = Vec::new();
        let mut peaks = Vec::new();
        for run in 0..RUNS {
            reset_peak_rss();
            let started = Instant::now();
            let inventory = client.inventory("Spaces-1").await.unwrap();
            let elapsed = started.elapsed();
            let peak = peak_rss_mb();
            println!(
                "run {run}: {:>7.1} ms, peak RSS {peak:.1} MB — {} projects, {} environments, {} tenants, {} project groups, {} runbooks",
                ms(elapsed),
                inventory.projects.len(),
                inventory.environments.len(),
                inventory.tenants.len(),
                inventory.project_groups.len(),
                inventory.runbooks.len(),
            );
            assert_eq!(inventory.projects.len(), 10_000);
            assert_eq!(inventory.environments.len(), 500);
            assert_eq!(inventory.tenants.len(), 5_000);
            drop(inventory);
            times.push(elapsed);
            peaks.push(peak);
        }
        let cold = times[0];
        let mut warm = times[1..].to_vec();
        warm.sort();
        println!(
            "inventory of the large space: cold {:.1} ms (server serializes its /all bodies once), warm median {:.1} ms (min {:.1}, max {:.1})",
            ms(cold),
            ms(warm[warm.len() / 2]),
            ms(warm[0]),
            ms(warm[warm.len() - 1]),
        );
        println!(
            "client peak RSS during a run: max {:.1} MB (whole client process, incl. runtime and binary)",
            peaks.iter().copied().fold(0.0, f64::max)
        );

        // A server without `/all` endpoints: every collection is paged (500 per page, 4 at once).
        let admin = reqwest::Client::new();
        for collection in ["environments", "projectgroups", "projects", "tenants", "runbooks"] {
            let rule = FaultRule::for_service("octopus")
                .operation(&format!("GET /api/{{space}}/{collection}/all"))
                .fault(FaultKind::ServerError { status: 404 });
            let response = admin
                .post(format!("{url}/_sandbox/faults/rules"))
                .json(&rule)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "fault rule accepted");
        }
        let mut paged = Vec::new();
        let mut paged_peak: f64 = 0.0;
        for _ in 0..3 {
            reset_peak_rss();
            let started = Instant::now();
            let inventory = client.inventory("Spaces-1").await.unwrap();
            paged.push(started.elapsed());
            paged_peak = paged_peak.max(peak_rss_mb());
            assert_eq!(inventory.projects.len(), 10_000);
            assert_eq!(inventory.tenants.len(), 5_000);
        }
        paged.sort();
        println!(
            "paged fallback (no /all): median {:.1} ms (min {:.1}, max {:.1}), peak RSS {paged_peak:.1} MB",
            ms(paged[1]),
            ms(paged[0]),
            ms(paged[2]),
        );
    });
    child.stdin.take().unwrap().write_all(b"stop\n").ok();
    child.wait().unwrap();
}

/// The child: starts the sandbox with the `large` profile, prints its HTTP URL and API key,
/// serves until stdin closes.
fn serve() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let sandbox = octo_oidc_sandbox::Sandbox::start(octo_oidc_sandbox::SandboxOptions {
            profile: octo_oidc_sandbox::seed::SeedProfile::Large,
            ..Default::default()
        })
        .await
        .unwrap();
        println!("{}", sandbox.urls().octopus);
        println!("{}", sandbox.api_key().expose());
        std::io::stdout().flush().unwrap();
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).ok();
        })
        .await
        .unwrap();
        sandbox.shutdown().await.ok();
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Resets the peak-RSS high-water mark to the current RSS (Linux `clear_refs` value 5).
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").ok();
}
