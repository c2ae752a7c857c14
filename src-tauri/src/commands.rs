//! The desktop app's IPC commands: each is one call into `octo-oidc-app` (the use cases
//! both faces share) plus the translation of its `Problem` into a [`UiError`]. No logic lives
//! here.
//!
//! Every command is annotated with `#[specta::specta]` so its signature reaches the generated
//! TypeScript bindings (`ui/src/ipc/bindings.ts`), and registered in [`crate::ipc_builder`]
//! and in `build.rs` / `capabilities/default.json`.

use octo_oidc_app::{
    AppInfo, ConnectForm, OctopusConnectionSummary, OctopusTarget, SandboxSummary, Session,
    SignedOut, connect_form,
};
use tauri::State;

use crate::ui_error::UiError;

/// The product name and version, and whether the OS keychain is reachable.
#[tauri::command]
#[specta::specta]
pub async fn app_info(session: State<'_, Session>) -> Result<AppInfo, UiError> {
    Ok(session.app_info().await)
}

/// Checks the "Connect to Octopus" form; returns the normalized server, or every field error.
#[tauri::command]
#[specta::specta]
pub fn check_connect_form(form: ConnectForm) -> Result<OctopusTarget, UiError> {
    Ok(connect_form::validate(&form)?)
}

/// Starts the built-in Sandbox (or returns the running one) and says where it listens.
#[tauri::command]
#[specta::specta]
pub async fn start_sandbox(session: State<'_, Session>) -> Result<SandboxSummary, UiError> {
    Ok(session.start_sandbox().await?)
}

/// The running built-in Sandbox, if it has been started.
#[tauri::command]
#[specta::specta]
pub async fn sandbox_status(
    session: State<'_, Session>,
) -> Result<Option<SandboxSummary>, UiError> {
    Ok(session.sandbox_status())
}

/// Stops the built-in Sandbox; false if none was running.
#[tauri::command]
#[specta::specta]
pub async fn stop_sandbox(session: State<'_, Session>) -> Result<bool, UiError> {
    Ok(session.stop_sandbox().await?)
}

/// Signs in to the Octopus Server in the form (keeping the key in the keychain once it worked)
/// and summarizes the connection.
#[tauri::command]
#[specta::specta]
pub async fn connect_octopus(
    form: ConnectForm,
    session: State<'_, Session>,
) -> Result<OctopusConnectionSummary, UiError> {
    Ok(session.connect_octopus(form).await?)
}

/// Connects again to a server with its stored key (or `OCTOPUS_API_KEY` without a keychain).
#[tauri::command]
#[specta::specta]
pub async fn reconnect_octopus(
    server_url: String,
    session: State<'_, Session>,
) -> Result<OctopusConnectionSummary, UiError> {
    Ok(session.reconnect_octopus(&server_url).await?)
}

/// Forgets the stored key of a server and closes the connection to it.
#[tauri::command]
#[specta::specta]
pub async fn sign_out(
    server_url: String,
    session: State<'_, Session>,
) -> Result<SignedOut, UiError> {
    Ok(session.sign_out(&server_url).await?)
}

/// Connects to the running Sandbox's Octopus with the sandbox's own key (never kept in the
/// keychain) and summarizes the connection.
#[tauri::command]
#[specta::specta]
pub async fn connect_sandbox_octopus(
    session: State<'_, Session>,
) -> Result<OctopusConnectionSummary, UiError> {
    Ok(session.connect_sandbox_octopus().await?)
}
