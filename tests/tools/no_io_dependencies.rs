//! The Rust side of `tests/tools/check-core-deps.sh`, shared by the core's and the engine's
//! integration tests (`#[path]`-included): runs the one check script for a package.

use std::path::Path;
use std::process::Command;

/// Fails unless `check-core-deps.sh PACKAGE` finds no IO crate in the package's tree.
pub fn assert_no_io_dependencies(package: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("tests/tools/check-core-deps.sh"))
        .arg(package)
        .env("CARGO_NET_OFFLINE", "true")
        .current_dir(&root)
        .output()
        .expect("the check script runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("{package}: ")) && stdout.contains("none of them IO"),
        "unexpected check output: {stdout}"
    );
}
