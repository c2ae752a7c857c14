//! `octo-oidc init` on a real terminal: the binary runs under a pseudo-terminal (python3's
//! `pty` module drives it: it waits for each prompt and types the answer), asks only for
//! what the flags leave out, and the file it writes parses as a valid setup; a wrong answer is
//! exit 2 naming the field, and nothing is written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use octo_oidc_engine::setup_file::{TargetSpec, parse_setup};
use serde_json::json;

use crate::support::BIN;

/// Waits for each prompt on the terminal, then types its answer (Enter = `\r`, as a
/// keyboard sends it); exits with the program's exit code, the terminal's text on stdout.
const DRIVER: &str = r#"
import json, os, pty, select, sys, time
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execv(spec["argv"][0], spec["argv"])
seen = b""
def read_until(text):
    global seen
    end = time.time() + 30
    while text.encode() not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.time()))
        chunk = b""
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                pass
        if not chunk:
            sys.stdout.write(seen.decode(errors="replace"))
            sys.stderr.write("no prompt %r\n" % text)
            sys.exit(97)
        seen += chunk
    seen = seen[seen.index(text.encode()) + len(text):]
for prompt, answer in spec["steps"]:
    read_until(prompt)
    os.write(fd, (answer + "\r").encode())
rest = seen
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    rest += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(rest.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// Runs `octo-oidc ARGS` on a pseudo-terminal, answering `steps` (prompt fragment, answer).
fn on_a_terminal(args: &[&str], steps: &[(&str, &str)]) -> (i32, String) {
    let mut argv = vec![BIN.to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let spec = json!({ "argv": argv, "steps": steps });
    let out = Command::new("python3")
        .arg("-c")
        .arg(DRIVER)
        .arg(spec.to_string())
        .env("NO_COLOR", "1")
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.code() != Some(97),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn init_on_a_terminal_asks_for_what_is_missing_and_writes_a_valid_setup() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gh.toml");
    let output = file.to_str().unwrap();
    let (code, screen) = on_a_terminal(
        &["init", "--output", output, "--target", "github"],
        &[
            ("Setup name", "tty-gh"),
            (
                "Octopus Server URL",
                "https://octopus.example.com/app#/Spaces-1",
            ),
            ("Space", ""),
            ("GitHub repository", "acme/shop"),
            ("Filter", "environment:production"),
            ("Octopus service account", "github-tty"),
        ],
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains("Target ("),
        "--target was given, not asked: {screen}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let setup = parse_setup(&text)
        .unwrap_or_else(|p| panic!("{p:?}\n{text}"))
        .setup;
    assert_eq!(setup.name, "tty-gh");
    assert_eq!(setup.space, "Default", "an empty answer keeps the default");
    let TargetSpec::Ci(ci) = &setup.spec else {
        panic!("{setup:?}")
    };
    assert_eq!(ci.subject, "repo:acme/shop:environment:production");
    assert_eq!(ci.service_account, "github-tty");
}

#[test]
fn a_wrong_answer_on_the_terminal_is_exit_2_naming_the_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aws.toml");
    let output = file.to_str().unwrap();
    let (code, screen) = on_a_terminal(
        &[
            "init", "--output", output, "--name", "tty-aws", "--target", "aws",
        ],
        &[
            ("Octopus Server URL", ""),
            ("Space", "Default"),
            ("Project slugs", "web,api"),
            ("Environment slugs", "production"),
            ("Octopus account name", "AWS tty (OIDC)"),
            ("IAM role name", "octopus-tty"),
            ("AWS region", "mars-north-1"),
        ],
    );
    assert_eq!(code, 2, "{screen}");
    assert!(screen.contains("aws.region"), "{screen}");
    assert!(!Path::new(output).exists(), "nothing written");
}
