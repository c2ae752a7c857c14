//! Architecture invariant: the engine, like the core, depends on no IO crate; effects reach
//! the world only through the core's ports.

use std::process::Command;

const FORBIDDEN: &[&str] = &[
    "tauri", "reqwest", "tokio", "hyper", "aws-", "azure_", "keyring", "axum",
];

#[test]
fn engine_has_no_io_dependencies() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "octo-oidc-engine",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        tree.contains("octo-oidc-core"),
        "unexpected cargo tree output: {tree}"
    );
    let offenders: Vec<&str> = tree
        .lines()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or("");
            FORBIDDEN.iter().any(|f| name.starts_with(f))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "IO crates in the engine's dependency tree: {offenders:?}"
    );
}
