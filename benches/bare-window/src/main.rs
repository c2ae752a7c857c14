//! A bare Tauri window: one page that reports it is shown, nothing else. The start-up
//! benchmark (`benches/startup.py`) compares the wizard against it, so its only command is
//! the same readiness marker the wizard sends (`ui_ready`, printed when
//! `OCTO_OIDC_READY_MARKER` is set).

#![forbid(unsafe_code)]

use std::io::Write;

/// The page is shown: print the marker the benchmark waits for.
#[tauri::command]
fn ui_ready() {
    if std::env::var_os("OCTO_OIDC_READY_MARKER").is_some() {
        let mut out = std::io::stdout().lock();
        // A benchmark that stopped reading is no reason to fail the window.
        let _ = writeln!(out, "octo-oidc-ready");
        let _ = out.flush();
    }
}

fn main() {
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ui_ready])
        .run(tauri::generate_context!());
    if let Err(error) = result {
        eprintln!("bare window could not start: {error}");
        std::process::exit(1);
    }
}
