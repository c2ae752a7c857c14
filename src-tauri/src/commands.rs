//! The desktop app's IPC commands: each is one call into `octo-oidc-app` (the use cases
//! both faces share) plus the translation of its `Problem` into a [`UiError`]. No logic lives
//! here.
//!
//! Every command is annotated with `#[specta::specta]` so its signature reaches the generated
//! TypeScript bindings (`ui/src/ipc/bindings.ts`), and registered in [`crate::ipc_builder`]
//! and in `build.rs` / `capabilities/default.json`.

use octo_oidc_app::cloud_connect::{
    AwsAccount, AwsProfile, AwsSignIn, AzureConnection, AzureSignIn, PickerItem,
};
use octo_oidc_app::existing_account::{AccountRequest, OidcAccountItem};
use octo_oidc_app::session::{ScopeChoices, ScopeItem};
use octo_oidc_app::{
    AppInfo, ConnectForm, IssuerVerdict, KeychainStatus, OctopusConnectionSummary, OctopusTarget,
    SandboxSummary, Session, SetupCheck, SetupDraft, SetupPreview, SignedOut, connect_form,
    setup_draft,
};
use std::sync::Arc;

use octo_oidc_app::run_report::{ApplyOutcome, PlanView, RunEvent, TeardownOutcome, VerifyView};
use octo_oidc_app::setup_session::{SetupFileInfo, SetupSource};
use octo_oidc_core::events::{ProgressEvent, ProgressSink};
use tauri::State;
use tauri::ipc::Channel;

use crate::ui_error::UiError;

/// The product name and version (the first screen shows it: no IO, no async runtime).
#[tauri::command]
#[specta::specta]
pub fn app_info(session: State<'_, Session>) -> Result<AppInfo, UiError> {
    Ok(session.app_info())
}

/// Whether the OS keychain is reachable (the "Connect to Octopus" screen asks, to say where
/// the API key will be kept).
#[tauri::command]
#[specta::specta]
pub async fn keychain_status(session: State<'_, Session>) -> Result<KeychainStatus, UiError> {
    Ok(session.keychain_status().await)
}

/// The first screen is shown and answers input (the UI calls this once, after its first
/// frame). With `OCTO_OIDC_READY_MARKER` set it prints `octo-oidc-ready` on stdout, the line the
/// start-up benchmark (`benches/startup.py`) times; otherwise it does nothing.
#[tauri::command]
#[specta::specta]
pub fn ui_ready() -> Result<(), UiError> {
    if std::env::var_os("OCTO_OIDC_READY_MARKER").is_some() {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // A benchmark that stopped reading is no reason to fail the window.
        let _ = writeln!(out, "octo-oidc-ready");
        let _ = out.flush();
    }
    Ok(())
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

/// The spaces the signed-in user can see.
#[tauri::command]
#[specta::specta]
pub async fn list_spaces(session: State<'_, Session>) -> Result<Vec<ScopeItem>, UiError> {
    Ok(session.spaces().await?)
}

/// The connected server's OIDC issuer: verbatim, https, reachable by the clouds, usable keys.
#[tauri::command]
#[specta::specta]
pub async fn check_issuer(session: State<'_, Session>) -> Result<IssuerVerdict, UiError> {
    Ok(session.check_issuer().await?)
}

/// What the scope screen chooses from in a space (read once; `refresh` reads again).
#[tauri::command]
#[specta::specta]
pub async fn scope_choices(
    space: String,
    refresh: bool,
    session: State<'_, Session>,
) -> Result<ScopeChoices, UiError> {
    Ok(session.scope_choices(&space, refresh).await?)
}

/// Checks the wizard's setup with the setup-file rules; every field error at once.
#[tauri::command]
#[specta::specta]
pub fn validate_setup(draft: SetupDraft) -> Result<SetupCheck, UiError> {
    Ok(setup_draft::validate(&draft)?)
}

/// The exact subjects, the trust, the simulator's matrix and the plan of the wizard's setup.
#[tauri::command]
#[specta::specta]
pub async fn preview_setup(
    draft: SetupDraft,
    session: State<'_, Session>,
) -> Result<SetupPreview, UiError> {
    Ok(session.preview_setup(&draft).await?)
}

/// Signs in to Azure (browser, Azure CLI or service principal; the Sandbox's in Sandbox mode)
/// and lists the tenants. The browser sign-in opens exactly the authorize address the Azure
/// client built, with `tauri-plugin-opener` called from Rust: the window is granted no opener
/// permission, so nothing else can be opened.
#[tauri::command]
#[specta::specta]
pub async fn sign_in_azure(
    sign_in: AzureSignIn,
    session: State<'_, Session>,
) -> Result<AzureConnection, UiError> {
    let open =
        |url: &str| tauri_plugin_opener::open_url(url, None::<&str>).map_err(|e| e.to_string());
    Ok(session.sign_in_azure(sign_in, open).await?)
}

/// The subscriptions of a tenant of the Azure sign-in.
#[tauri::command]
#[specta::specta]
pub async fn azure_subscriptions(
    tenant_id: String,
    session: State<'_, Session>,
) -> Result<Vec<PickerItem>, UiError> {
    Ok(session.azure_subscriptions(&tenant_id).await?)
}

/// The resource groups of a subscription.
#[tauri::command]
#[specta::specta]
pub async fn azure_resource_groups(
    tenant_id: String,
    subscription_id: String,
    session: State<'_, Session>,
) -> Result<Vec<PickerItem>, UiError> {
    Ok(session
        .azure_resource_groups(&tenant_id, &subscription_id)
        .await?)
}

/// Every role definition (built-in and custom) assignable in a subscription.
#[tauri::command]
#[specta::specta]
pub async fn azure_roles(
    tenant_id: String,
    subscription_id: String,
    session: State<'_, Session>,
) -> Result<Vec<PickerItem>, UiError> {
    Ok(session.azure_roles(&tenant_id, &subscription_id).await?)
}

/// The AWS profiles of `~/.aws/config` and `~/.aws/credentials` (none in Sandbox mode).
#[tauri::command]
#[specta::specta]
pub async fn aws_profiles(session: State<'_, Session>) -> Result<Vec<AwsProfile>, UiError> {
    Ok(session.aws_profiles().await?)
}

/// Connects to AWS (profile or typed key; the Sandbox's in Sandbox mode) and says which
/// account it is.
#[tauri::command]
#[specta::specta]
pub async fn connect_aws(
    sign_in: AwsSignIn,
    region: String,
    session: State<'_, Session>,
) -> Result<AwsAccount, UiError> {
    Ok(session.connect_aws(sign_in, &region).await?)
}

/// The managed policies a role may attach, in the connected AWS account.
#[tauri::command]
#[specta::specta]
pub async fn aws_policies(session: State<'_, Session>) -> Result<Vec<PickerItem>, UiError> {
    Ok(session.aws_policies().await?)
}

/// The service accounts on the connected Octopus Server.
#[tauri::command]
#[specta::specta]
pub async fn octopus_service_accounts(
    session: State<'_, Session>,
) -> Result<Vec<PickerItem>, UiError> {
    Ok(session.octopus_service_accounts().await?)
}

/// The teams of a space (and the system teams) that can take members.
#[tauri::command]
#[specta::specta]
pub async fn octopus_teams(
    space: String,
    session: State<'_, Session>,
) -> Result<Vec<PickerItem>, UiError> {
    Ok(session.octopus_teams(&space).await?)
}

/// The engine's plan of a setup (the wizard's draft or a saved file) against what exists now.
#[tauri::command]
#[specta::specta]
pub async fn plan_setup(
    source: SetupSource,
    session: State<'_, Session>,
) -> Result<PlanView, UiError> {
    Ok(session.plan_setup(&source).await?)
}

/// Forwards the engine's progress events to the window's channel.
fn to_channel(channel: Channel<RunEvent>) -> Arc<dyn ProgressSink> {
    Arc::new(move |event: ProgressEvent| {
        // A closed window drops the events; the run itself goes on to its end.
        let _ = channel.send(RunEvent::from(event));
    })
}

/// Applies a setup, streaming each step's progress (and each retry) to `on_event`; a blocking
/// preflight gap stops it before any change unless `ignore_preflight` (the user proceeds anyway).
#[tauri::command]
#[specta::specta]
pub async fn apply_setup(
    source: SetupSource,
    ignore_preflight: bool,
    on_event: Channel<RunEvent>,
    session: State<'_, Session>,
) -> Result<ApplyOutcome, UiError> {
    Ok(session
        .apply_setup(&source, ignore_preflight, to_channel(on_event))
        .await?)
}

/// Stops the running apply or teardown before its next step; false if none runs.
#[tauri::command]
#[specta::specta]
pub fn cancel_run(session: State<'_, Session>) -> bool {
    session.cancel_run()
}

/// Verifies a setup's trust as it exists now (issuer, cloud side, matrix, account test).
#[tauri::command]
#[specta::specta]
pub async fn verify_setup(
    source: SetupSource,
    session: State<'_, Session>,
) -> Result<VerifyView, UiError> {
    Ok(session.verify_setup(&source).await?)
}

/// The OIDC accounts of a space (default: the default space), for "Verify an existing
/// account".
#[tauri::command]
#[specta::specta]
pub async fn list_oidc_accounts(
    space: Option<String>,
    session: State<'_, Session>,
) -> Result<Vec<OidcAccountItem>, UiError> {
    Ok(session.oidc_accounts(space).await?)
}

/// Verifies an existing Octopus OIDC account (issuer, what it points at, matrix over the
/// scope it can be used for, account test).
#[tauri::command]
#[specta::specta]
pub async fn verify_account(
    request: AccountRequest,
    session: State<'_, Session>,
) -> Result<VerifyView, UiError> {
    Ok(session.verify_account(&request).await?)
}

/// Removes what a setup created, streaming progress to `on_event`.
#[tauri::command]
#[specta::specta]
pub async fn teardown_setup(
    source: SetupSource,
    on_event: Channel<RunEvent>,
    session: State<'_, Session>,
) -> Result<TeardownOutcome, UiError> {
    Ok(session
        .teardown_setup(&source, to_channel(on_event))
        .await?)
}

/// Writes the wizard's setup file (no secret) to `path`.
#[tauri::command]
#[specta::specta]
pub fn save_setup_file(
    draft: SetupDraft,
    path: String,
    session: State<'_, Session>,
) -> Result<SetupFileInfo, UiError> {
    Ok(session.save_setup_file(&draft, &path)?)
}

/// Reads and validates a saved setup file (no request is made).
#[tauri::command]
#[specta::specta]
pub fn open_setup_file(
    path: String,
    session: State<'_, Session>,
) -> Result<SetupFileInfo, UiError> {
    Ok(session.open_setup_file(&path)?)
}
