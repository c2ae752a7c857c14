//! Build script of the desktop app: Tauri codegen for `tauri.conf.json` (at the workspace
//! root, which is this package's root) and the capability files in `src-tauri/capabilities`.
//!
//! The app manifest lists every IPC command, so a window can call a command only when a
//! capability grants its `allow-<command>` permission; keep it in step with `ipc_builder`.

/// The app's IPC commands (the names in `src-tauri/src/commands.rs`).
const COMMANDS: &[&str] = &[
    "app_info",
    "keychain_status",
    "ui_ready",
    "check_connect_form",
    "start_sandbox",
    "sandbox_status",
    "stop_sandbox",
    "connect_octopus",
    "reconnect_octopus",
    "sign_out",
    "connect_sandbox_octopus",
    "list_spaces",
    "check_issuer",
    "scope_choices",
    "validate_setup",
    "preview_setup",
    "sign_in_azure",
    "azure_subscriptions",
    "azure_resource_groups",
    "azure_roles",
    "aws_profiles",
    "connect_aws",
    "aws_policies",
    "octopus_service_accounts",
    "octopus_teams",
    "plan_setup",
    "apply_setup",
    "cancel_run",
    "verify_setup",
    "list_oidc_accounts",
    "verify_account",
    "teardown_setup",
    "save_setup_file",
    "open_setup_file",
];

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    // Start-up: the app binary's ~78,000 relative relocations as a packed RELR table (a few KB)
    // instead of a 1.9 MB RELA table the dynamic loader reads page by page before `main`
    // (glibc >= 2.36, lld/bfd >= 2.38; Linux only, where the window is measured).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
