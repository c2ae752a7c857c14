//! The desktop app's entry point: WebKit's environment first ([`octo_oidc_wizard::renderer`]),
//! while this is the only thread, then the window ([`octo_oidc_wizard::run`]).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    #[cfg(target_os = "linux")]
    set_webkit_environment();
    octo_oidc_wizard::run()
}

/// Sets the variables WebKitGTK reads when it starts its web process (CPU painting, DMA-BUF
/// renderer off, each unless the user chose otherwise). The one `unsafe` of the workspace:
/// `set_var` races with any other thread reading the environment, and none exists yet.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn set_webkit_environment() {
    for (name, value) in octo_oidc_wizard::renderer::webkit_environment(std::env::var_os) {
        // SAFETY: called first thing in `main`, before tauri, GTK or any runtime starts a
        // thread, so nothing reads or writes the environment concurrently.
        unsafe { std::env::set_var(name, value) };
    }
}
