//! Runs `octo-oidc sandbox` as a process: it prints one `NAME=value` line per endpoint, the
//! Octopus endpoint answers, and SIGTERM stops it gracefully and writes the state file.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `octo-oidc sandbox --profile empty --state STATE`, stdout piped.
fn start_empty_sandbox(state: &std::path::Path, stderr: Stdio) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_octo-oidc"))
        .args(["sandbox", "--profile", "empty", "--state"])
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Sends SIGTERM to `child`.
fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -TERM {}", child.id());
}

fn http_get(base: &str, path: &str) -> String {
    http_get_with(base, path, "")
}

/// A GET with extra header lines (each ending in `\r\n`).
fn http_get_with(base: &str, path: &str, headers: &str) -> String {
    let authority = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn sandbox_prints_its_endpoints_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let started = Instant::now();
    let mut child = start_empty_sandbox(&state, Stdio::piped());
    let mut vars = BTreeMap::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let (name, value) = line.split_once('=').expect("NAME=value");
        vars.insert(name.to_string(), value.to_string());
        if name == "SANDBOX_CA_FILE" {
            break;
        }
    }
    let elapsed = started.elapsed();
    eprintln!("octo-oidc sandbox printed its endpoints after {elapsed:?}");
    // A generous bound for a loaded CI machine; the real figure is in the benchmark report.
    assert!(elapsed < Duration::from_secs(10), "started in {elapsed:?}");
    for name in [
        "OCTOPUS_URL",
        "OCTOPUS_HTTPS_URL",
        "OCTOPUS_API_KEY",
        "OCTOPUS_ISSUER",
        "GITHUB_ISSUER",
        "SANDBOX_CA_FILE",
    ] {
        assert!(vars.contains_key(name), "missing {name}: {vars:?}");
    }
    assert!(vars["OCTOPUS_URL"].starts_with("http://127.0.0.1:"));
    assert!(vars["OCTOPUS_API_KEY"].starts_with("API-"));
    // The issuer is the port-less public URL, as on a real server.
    assert_eq!(vars["OCTOPUS_ISSUER"], vars["OCTOPUS_PUBLIC_URL"]);
    assert_eq!(vars["OCTOPUS_ISSUER"], "https://octopus.sandbox.localhost");
    let https_port = vars["OCTOPUS_HTTPS_URL"]
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    assert!(
        vars["SANDBOX_RESOLVE"].contains(&format!(
            "octopus.sandbox.localhost:443:127.0.0.1:{https_port}"
        )),
        "{vars:?}"
    );
    let ca = std::fs::read_to_string(&vars["SANDBOX_CA_FILE"]).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));

    let root = http_get(&vars["OCTOPUS_URL"], "/api");
    assert!(root.starts_with("HTTP/1.1 200"), "{root}");
    assert!(root.contains("\"Version\""));
    let unauthorized = http_get(&vars["OCTOPUS_URL"], "/api/users/me");
    // A signed-looking request, as the SDK sends (the sandbox requires the header).
    let sts = http_get_with(
        &vars["AWS_ENDPOINT_URL"],
        "/?Action=GetCallerIdentity&Version=2011-06-15",
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDSANDBOX/20261201/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00\r\n",
    );
    assert!(
        sts.starts_with("HTTP/1.1 200"),
        "the AWS endpoint answers: {sts}"
    );
    assert!(
        sts.contains("<GetCallerIdentityResponse")
            && sts.contains("<Account>123456789012</Account>")
            && sts.contains("<Arn>arn:aws:iam::123456789012:user/sandbox</Arn>"),
        "STS GetCallerIdentity: {sts}"
    );
    assert!(unauthorized.starts_with("HTTP/1.1 401"), "{unauthorized}");

    sigterm(&child);
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful stop: {exit:?}");
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(
        saved.contains(&vars["OCTOPUS_API_KEY"]),
        "the state file keeps the API key"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the state file is private");
    }
}

#[cfg(unix)]
#[test]
fn without_a_state_file_the_ca_goes_to_a_fresh_private_folder_removed_at_exit() {
    use std::os::unix::fs::PermissionsExt as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_octo-oidc"))
        .args(["sandbox", "--profile", "empty"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ca = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(path) = line.unwrap().strip_prefix("SANDBOX_CA_FILE=") {
            ca = Some(std::path::PathBuf::from(path));
            break;
        }
    }
    let ca = ca.expect("SANDBOX_CA_FILE printed");
    let dir = ca.parent().unwrap().to_path_buf();
    let meta = std::fs::symlink_metadata(&dir).unwrap();
    assert!(meta.is_dir() && !meta.file_type().is_symlink());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o700,
        "{}",
        dir.display()
    );
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        !name.contains(&child.id().to_string()) && name.len() > "octo-oidc-sandbox-".len() + 8,
        "the folder name is not guessable: {name}"
    );
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    assert!(!dir.exists(), "the private folder is removed at exit");
}

#[test]
fn sandbox_rejects_an_unknown_profile() {
    let out = Command::new(env!("CARGO_BIN_EXE_octo-oidc"))
        .args(["sandbox", "--profile", "huge"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown seed profile"));
}

#[test]
fn sigterm_right_after_the_endpoints_still_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut child = start_empty_sandbox(&state, Stdio::null());
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        if line.unwrap().starts_with("SANDBOX_CA_FILE=") {
            break;
        }
    }
    sigterm(&child);
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "graceful stop, not killed by the signal: {exit:?}"
    );
    assert!(state.exists(), "the state file is written on the way out");
}
