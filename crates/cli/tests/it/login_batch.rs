//! `octo-oidc login` (the key checked against the server, then kept in the OS keychain, so a
//! later run needs no `OCTOPUS_API_KEY`) and batches (a folder of setups: one failure does
//! not stop the others; the worst exit wins). The keychain part needs a keychain: run under
//! `dbus-run-session -- tests/tools/with-keyring.sh`, which sets `OCTO_OIDC_EXPECT_KEYCHAIN=1`;
//! without one, login must say the key was not kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{BIN, SandboxProcess, aws_setup, github_setup, run};

#[test]
fn login_keeps_the_key_in_the_keychain_and_plan_uses_it() {
    let sandbox = SandboxProcess::start();
    let url = sandbox.vars["OCTOPUS_URL"].clone();
    let mut child = Command::new(BIN)
        .args(["login", "--server", &url])
        .env("XDG_DATA_HOME", sandbox.data())
        .env_remove("OCTOPUS_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(
        child.stdin.take().unwrap(),
        "{}",
        sandbox.vars["OCTOPUS_API_KEY"]
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        !stdout.contains(&sandbox.vars["OCTOPUS_API_KEY"])
            && !stderr.contains(&sandbox.vars["OCTOPUS_API_KEY"]),
        "the key is never printed"
    );
    let expect_keychain = std::env::var("OCTO_OIDC_EXPECT_KEYCHAIN").is_ok_and(|v| v == "1");
    if !expect_keychain && stdout.contains("NOT kept") {
        return; // no keychain on this machine: login said so.
    }
    assert!(stdout.contains("kept in the OS keychain"), "{stdout}");
    // A real (non-sandbox) run against the same server finds the key in the keychain.
    let file = sandbox.write(
        "github.toml",
        &format!(
            "version = 1\nname = \"login-gh\"\ntarget = \"github\"\n\n[octopus]\nurl = \"{url}\"\nspace = \"Default\"\n\n[github]\nrepository = \"acme/shop\"\nfilter = \"branch:main\"\nservice_account = \"github-login\"\n"
        ),
    );
    // Not through `--sandbox`: only the keychain has the key.
    let plan_for_real = || {
        let args = ["plan", "--detailed-exitcode", file.to_str().unwrap()];
        run(&args.map(String::from), &sandbox.data())
    };
    let plan = plan_for_real();
    assert_eq!(plan.code, 4, "{}{}", plan.stdout, plan.stderr);

    // A wrong key is refused by the server and exit 3; nothing replaces the kept key.
    let wrong = Command::new(BIN)
        .args(["login", "--server", &url])
        .env("OCTOPUS_API_KEY", "API-WRONGKEY0000000000000000000")
        .env("XDG_DATA_HOME", sandbox.data())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(wrong.status.code(), Some(0));
    let again = plan_for_real();
    assert_eq!(again.code, 4, "{}{}", again.stdout, again.stderr);
}

#[test]
fn a_folder_batch_applies_every_good_setup_past_a_broken_and_a_failing_one() {
    let sandbox = SandboxProcess::start();
    let folder = sandbox.dir.path().join("setups");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("a-broken.toml"),
        "version = 1\nname = \"Bad Name\"\n",
    )
    .unwrap();
    std::fs::write(folder.join("b-github.toml"), github_setup("batch")).unwrap();
    // A remote failure: the space does not exist.
    std::fs::write(
        folder.join("c-missing-space.toml"),
        github_setup("batch")
            .replace("batch-gh", "batch-nospace")
            .replace("\"Default\"", "\"Nowhere\""),
    )
    .unwrap();
    std::fs::write(folder.join("d-aws.toml"), aws_setup("batch")).unwrap();
    std::fs::write(folder.join("notes.txt"), "not a setup").unwrap();
    let out = sandbox.cli(&["apply", "--yes", "--json", folder.to_str().unwrap()]);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "one line per setup file: {}", out.stdout);
    let codes: Vec<i64> = lines
        .iter()
        .map(|l| l["exit_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes[0], 2, "{}", lines[0]);
    assert_eq!(codes[1], 0, "{}", lines[1]);
    assert_ne!(codes[2], 0, "{}", lines[2]);
    assert_eq!(codes[3], 0, "{}", lines[3]);
    assert_eq!(
        i64::from(out.code),
        *codes
            .iter()
            .max_by_key(|c| match c {
                3 => 4,
                2 => 3,
                1 => 2,
                4 => 1,
                _ => 0,
            })
            .unwrap(),
        "the batch exits with the worst code"
    );
    assert_eq!(lines[1]["applied"], true);
    assert_eq!(lines[3]["applied"], true);
    sandbox
        .cli(&[
            "plan",
            "--detailed-exitcode",
            folder.join("d-aws.toml").to_str().unwrap(),
        ])
        .expect_code(0);
}
