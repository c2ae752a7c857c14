//! The desktop app's IPC commands: thin wrappers that call the library code and turn its
//! `Problem`s into [`UiError`]s. No logic lives here; each command is one call plus conversion.
//!
//! Every command is annotated with `#[specta::specta]` so its signature reaches the generated
//! TypeScript bindings (`ui/src/ipc/bindings.ts`), and registered in [`crate::ipc_builder`].

use serde::Serialize;
use specta::Type;

use crate::connect_form::{self, ConnectForm, OctopusTarget};
use crate::keychain::{self, KeychainStatus};
use crate::octopus_connection::{self, OctopusConnectionSummary, OctopusSlot};
use crate::sandbox_mode::{SandboxSlot, SandboxSummary};
use crate::ui_error::UiError;

/// What the UI shows about the running app and the machine it runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The product name.
    pub product_name: String,
    /// The app's version (the package version).
    pub version: String,
    /// Whether an API key could be kept in the OS keychain.
    pub keychain: KeychainStatus,
}

/// The product name and version, and whether the OS keychain is reachable.
#[tauri::command]
#[specta::specta]
pub async fn app_info() -> Result<AppInfo, UiError> {
    let keychain = tauri::async_runtime::spawn_blocking(keychain::probe)
        .await
        .map_err(|error| {
            UiError::from(octo_oidc_core::Problem::new(
                octo_oidc_core::ErrorCode::Internal,
                format!("The keychain check stopped unexpectedly: {error}"),
            ))
        })?;
    Ok(AppInfo {
        product_name: "Octopus OIDC Wizard".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        keychain,
    })
}

/// Checks the "Connect to Octopus" form; returns the normalized server, or every field error.
#[tauri::command]
#[specta::specta]
pub fn check_connect_form(form: ConnectForm) -> Result<OctopusTarget, UiError> {
    connect_form::validate(&form).map_err(UiError::from)
}

/// Starts the built-in Sandbox (or returns the running one) and says where it listens.
#[tauri::command]
#[specta::specta]
pub async fn start_sandbox(slot: tauri::State<'_, SandboxSlot>) -> Result<SandboxSummary, UiError> {
    slot.start().await
}

/// The running built-in Sandbox, if it has been started.
#[tauri::command]
#[specta::specta]
pub async fn sandbox_status(
    slot: tauri::State<'_, SandboxSlot>,
) -> Result<Option<SandboxSummary>, UiError> {
    Ok(slot.status().await)
}

/// Signs in to the Octopus Server in the form (keeping the key in the keychain once it worked)
/// and summarizes the connection.
#[tauri::command]
#[specta::specta]
pub async fn connect_octopus(
    form: ConnectForm,
    octopus: tauri::State<'_, OctopusSlot>,
) -> Result<OctopusConnectionSummary, UiError> {
    octopus.connect(form).await
}

/// Connects to the running Sandbox's Octopus with the sandbox's own key (never kept in the
/// keychain) and summarizes the connection.
#[tauri::command]
#[specta::specta]
pub async fn connect_sandbox_octopus(
    sandbox: tauri::State<'_, SandboxSlot>,
    octopus: tauri::State<'_, OctopusSlot>,
) -> Result<OctopusConnectionSummary, UiError> {
    let running = sandbox.running().await;
    let running = running
        .as_ref()
        .ok_or_else(octopus_connection::sandbox_not_running)?;
    octopus.connect_sandbox(running).await
}
