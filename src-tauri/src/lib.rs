//! The Octopus OIDC Wizard desktop app: a Tauri v2 window around the wizard UI in `ui/`.
//!
//! This crate is the only one that depends on `tauri`. It holds the IPC surface and nothing
//! else: thin [`commands`] (one call into `octo-oidc-app` each) and the one UI error type
//! ([`ui_error::UiError`]). The use cases live in `octo-oidc-app` (one
//! [`octo_oidc_app::Session`] is the app's state), the trust logic in `octo-oidc-core`,
//! remote clients in the provider crates.
//!
//! The command list is declared once, in [`app_commands`]: the running app's
//! [`invoke_handler`], the headless IPC tests and the typed surface ([`ipc_builder`], from which
//! the TypeScript bindings are exported) all expand it, so they cannot disagree. Start-up builds
//! only the handler: the type collection behind the bindings never runs in the app.
//! [`renderer`] chooses how WebKit paints, before the window starts.

#![forbid(unsafe_code)]

pub mod commands;
pub mod renderer;
pub mod ui_error;

use octo_oidc_app::{FormField, Session};
use octo_oidc_core::ErrorCode;

/// Where the generated TypeScript bindings live, relative to the workspace root.
pub const BINDINGS_PATH: &str = "ui/src/ipc/bindings.ts";

/// The app's IPC commands, listed once. `$collect` is the macro that receives the list:
/// `tauri::generate_handler` for the running app's invoke handler ([`invoke_handler`]), or
/// `tauri_specta::collect_commands` for the typed surface ([`ipc_builder`]: the TypeScript
/// bindings and the headless IPC tests). Keep it in step with `build.rs` and
/// `capabilities/default.json`.
macro_rules! app_commands {
    ($($collect:ident)::+) => {
        $($collect)::+![
            commands::app_info,
            commands::keychain_status,
            commands::ui_ready,
            commands::check_connect_form,
            commands::start_sandbox,
            commands::sandbox_status,
            commands::stop_sandbox,
            commands::connect_octopus,
            commands::reconnect_octopus,
            commands::sign_out,
            commands::connect_sandbox_octopus,
            commands::list_spaces,
            commands::check_issuer,
            commands::scope_choices,
            commands::validate_setup,
            commands::preview_setup,
            commands::sign_in_azure,
            commands::azure_subscriptions,
            commands::azure_resource_groups,
            commands::azure_roles,
            commands::aws_profiles,
            commands::connect_aws,
            commands::aws_policies,
            commands::octopus_service_accounts,
            commands::octopus_teams,
            commands::plan_setup,
            commands::apply_setup,
            commands::cancel_run,
            commands::verify_setup,
            commands::list_oidc_accounts,
            commands::verify_account,
            commands::teardown_setup,
            commands::save_setup_file,
            commands::open_setup_file,
        ]
    };
}

/// The typed IPC surface: every command (and event) the UI may use, the form field ids
/// (`FormField`, and `FORM_FIELDS` by name) and every error code (`ERROR_CODES`, so the UI can
/// tell a `UiError` from any other rejection).
pub fn ipc_builder<R: tauri::Runtime>() -> tauri_specta::Builder<R> {
    tauri_specta::Builder::<R>::new()
        // One TypeScript type per Rust type (no `_Serialize`/`_Deserialize` pairs): IPC types
        // are either sent or received, never both with different shapes.
        .disable_serde_phases()
        .commands(app_commands!(tauri_specta::collect_commands))
        .typ::<FormField>()
        .constant("FORM_FIELDS", FormField::by_key())
        .constant("ERROR_CODES", ErrorCode::ALL)
        .constant(
            "SUBJECT_KEYS",
            octo_oidc_app::setup_draft::subject_key_choices(),
        )
}

/// The handler the running app dispatches IPC calls with: the commands of [`app_commands`]
/// and nothing else. It is built without the typed surface, so start-up collects no
/// TypeScript type information (that is only for the bindings export and the tests).
pub fn invoke_handler<R: tauri::Runtime>()
-> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    app_commands!(tauri::generate_handler)
}

/// Starts the desktop app and blocks until its window closes. Nothing is done before the
/// window is created beyond an empty [`Session`]: no client, runtime or keychain call; each
/// starts when the first command needs it.
pub fn run() {
    let result = tauri::Builder::default()
        .manage(Session::new())
        .invoke_handler(invoke_handler())
        .run(tauri::generate_context!());
    if let Err(error) = result {
        eprintln!("Octopus OIDC Wizard could not start: {error}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use tauri::Manager;
    use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context};

    fn bindings_exporter() -> specta_typescript::Typescript {
        specta_typescript::Typescript::default().header(
            "// Generated by `cargo test -p octo-oidc-wizard export_bindings` from src-tauri. Do not edit.\n\
             // `make test` fails when this file is stale.",
        )
    }

    /// Writes `ui/src/ipc/bindings.ts`. `make test` runs this, then fails if git sees a diff.
    #[test]
    fn export_bindings() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_PATH);
        ipc_builder::<tauri::Wry>()
            .export(bindings_exporter(), &path)
            .expect("exports the TypeScript bindings");
        let text = std::fs::read_to_string(&path).expect("reads the bindings back");
        for name in [
            "appInfo",
            "checkConnectForm",
            "UiError",
            "ErrorCode",
            "ERROR_CODES",
            "FieldError",
            "FormField",
            "FORM_FIELDS",
            "KeychainStatus",
            "keychainStatus",
            "startSandbox",
            "SandboxSummary",
            "connectOctopus",
            "connectSandboxOctopus",
            "OctopusConnectionSummary",
            "validateSetup",
            "previewSetup",
            "SetupDraft",
            "SetupPreview",
            "scopeChoices",
            "checkIssuer",
            "SUBJECT_KEYS",
            "planSetup",
            "applySetup",
            "RunEvent",
            "verifySetup",
            "teardownSetup",
        ] {
            assert!(text.contains(name), "bindings lack {name}");
        }
    }

    fn mock_webview() -> (tauri::App<MockRuntime>, tauri::WebviewWindow<MockRuntime>) {
        let app = mock_builder()
            .manage(Session::new())
            .invoke_handler(invoke_handler())
            .build(mock_context(tauri::test::noop_assets()))
            .expect("builds the mock app");
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("builds the mock window");
        (app, webview)
    }

    fn invoke(
        webview: &tauri::WebviewWindow<MockRuntime>,
        cmd: &str,
        body: Value,
    ) -> Result<Value, Value> {
        get_ipc_response(
            webview,
            tauri::webview::InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().expect("valid url"),
                body: tauri::ipc::InvokeBody::Json(body),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.into(),
            },
        )
        .map(|body| body.deserialize::<Value>().expect("json response"))
    }

    #[test]
    fn app_info_round_trips_over_ipc() {
        let (_app, webview) = mock_webview();
        let info = invoke(&webview, "app_info", json!({})).expect("app_info succeeds");
        assert_eq!(info["productName"], "Octopus OIDC Wizard");
        assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            info.get("keychain"),
            None,
            "app_info asks no keychain: {info}"
        );
        let status = invoke(&webview, "keychain_status", json!({})).expect("keychain_status");
        let state = status["state"].as_str().expect("keychain state");
        assert!(["available", "unavailable"].contains(&state), "{status}");
    }

    #[test]
    fn invalid_form_comes_back_as_a_typed_ui_error() {
        let (_app, webview) = mock_webview();
        let form = json!({"form": {"serverUrl": "http://octopus.example.com", "apiKey": "nope"}});
        let error = invoke(&webview, "check_connect_form", form).expect_err("invalid form");
        assert_eq!(error["code"], "invalid_input", "{error}");
        assert_eq!(
            error["fieldErrors"].as_array().map(Vec::len),
            Some(2),
            "{error}"
        );
        assert!(
            !error.to_string().contains("nope"),
            "the key leaked: {error}"
        );
    }

    #[test]
    fn valid_form_returns_the_normalized_target() {
        let (_app, webview) = mock_webview();
        let form = json!({"form": {"serverUrl": "https://Example.octopus.app/",
                                   "apiKey": "API-ABCDEFGHIJKLMNOPQRSTUVWXYZ12"}});
        let target = invoke(&webview, "check_connect_form", form).expect("valid form");
        assert_eq!(target, json!({"serverUrl": "https://example.octopus.app"}));
    }

    #[test]
    fn sandbox_starts_once_and_reports_loopback_urls() {
        let (_app, webview) = mock_webview();
        assert_eq!(
            invoke(&webview, "sandbox_status", json!({})).expect("status"),
            Value::Null
        );
        let first = invoke(&webview, "start_sandbox", json!({})).expect("sandbox starts");
        assert_eq!(first["profile"], "demo");
        for key in [
            "octopusUrl",
            "octopusIssuer",
            "graphUrl",
            "armUrl",
            "awsEndpointUrl",
        ] {
            let url = first[key].as_str().unwrap_or_default();
            assert!(
                url.contains("127.0.0.1") || url.contains("localhost"),
                "{key}: {first}"
            );
        }
        let again = invoke(&webview, "start_sandbox", json!({})).expect("second start");
        assert_eq!(first, again, "a second start returns the running sandbox");
        assert_eq!(
            invoke(&webview, "sandbox_status", json!({})).expect("status"),
            first
        );
        assert!(
            !first.to_string().contains("API-"),
            "the API key crossed IPC: {first}"
        );
    }

    /// Asserts that a command failed with `invalid_input` and a message saying `says`.
    fn assert_invalid_input(error: &Value, says: &str) {
        assert_eq!(error["code"], "invalid_input", "{error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{error}");
    }

    fn assert_connected(summary: &Value) {
        let version = summary["serverVersion"].as_str().unwrap_or_default();
        assert!(!version.is_empty(), "{summary}");
        assert!(
            !summary["username"].as_str().unwrap_or_default().is_empty(),
            "{summary}"
        );
        assert_eq!(summary["oidcSupported"], true, "{summary}");
        assert!(
            summary["spaceCount"].as_u64().unwrap_or(0) >= 1,
            "{summary}"
        );
        assert!(summary["warnings"].is_array(), "{summary}");
    }

    #[test]
    fn connecting_to_the_sandbox_octopus_needs_a_running_sandbox() {
        let (app, webview) = mock_webview();
        let error = invoke(&webview, "connect_sandbox_octopus", json!({})).expect_err("no sandbox");
        assert_invalid_input(&error, "Sandbox is not running");
        let session = app.state::<Session>();
        assert!(session.octopus_client().is_none());
    }

    #[test]
    fn connects_to_the_sandbox_octopus_after_the_sandbox_starts() {
        let (app, webview) = mock_webview();
        let started = invoke(&webview, "start_sandbox", json!({})).expect("sandbox starts");
        let summary =
            invoke(&webview, "connect_sandbox_octopus", json!({})).expect("connects to sandbox");
        assert_connected(&summary);
        assert_eq!(summary["apiKeyKept"], "session_only", "{summary}");
        assert_eq!(summary["keychainProblem"], Value::Null, "{summary}");
        let octopus_url = started["octopusUrl"].as_str().expect("octopus url");
        assert!(
            summary["serverUrl"]
                .as_str()
                .is_some_and(|url| url.trim_end_matches('/') == octopus_url),
            "{summary} vs {octopus_url}"
        );
        assert!(
            !summary.to_string().contains("API-"),
            "the key crossed IPC: {summary}"
        );
        let session = app.state::<Session>();
        let client = session.octopus_client().expect("client kept");
        let spaces = tauri::async_runtime::block_on(client.spaces()).expect("client works");
        assert_eq!(Some(spaces.len() as u64), summary["spaceCount"].as_u64());
    }

    #[test]
    fn connect_octopus_signs_in_and_never_returns_the_key() {
        let sandbox = tauri::async_runtime::block_on(octo_oidc_sandbox::Sandbox::start(
            octo_oidc_sandbox::SandboxOptions::default(),
        ))
        .expect("in-process sandbox starts");
        let key = sandbox.api_key().expose().to_string();
        let (_app, webview) = mock_webview();
        let form = json!({"form": {"serverUrl": sandbox.urls().octopus, "apiKey": key}});
        let summary = invoke(&webview, "connect_octopus", form).expect("signs in");
        assert_connected(&summary);
        let kept = summary["apiKeyKept"].as_str().unwrap_or_default();
        match std::env::var("OCTO_OIDC_EXPECT_KEYCHAIN").as_deref() {
            Ok("1") => assert_eq!(kept, "keychain", "{summary}"),
            _ => assert!(["keychain", "session_only"].contains(&kept), "{summary}"),
        }
        assert!(
            !summary.to_string().contains(&key),
            "the key crossed IPC: {summary}"
        );

        let wrong = json!({"form": {"serverUrl": sandbox.urls().octopus,
                                    "apiKey": "API-WRONGWRONGWRONGWRONGWRONG1"}});
        let error = invoke(&webview, "connect_octopus", wrong).expect_err("wrong key");
        assert_eq!(error["code"], "unauthenticated", "{error}");
        assert!(!error.to_string().contains("WRONGWRONG"), "{error}");

        // The key went to the OS keychain under the sandbox's loopback URL: leave none behind.
        let server =
            octo_oidc_octopus::ServerUrl::parse(&sandbox.urls().octopus).expect("server url");
        let _ = octo_oidc_octopus::keychain::ApiKeyStore::new().delete(&server);
    }

    /// Starts the Sandbox and connects the session to its Octopus.
    fn connect_sandbox(webview: &tauri::WebviewWindow<MockRuntime>) {
        invoke(webview, "start_sandbox", json!({})).expect("sandbox starts");
        invoke(webview, "connect_sandbox_octopus", json!({})).expect("connects");
    }

    /// [`connect_sandbox`], then the scope choices of its Default space.
    fn sandbox_scope_choices(webview: &tauri::WebviewWindow<MockRuntime>) -> Value {
        connect_sandbox(webview);
        invoke(
            webview,
            "scope_choices",
            json!({"space": "Default", "refresh": false}),
        )
        .expect("choices")
    }

    fn aws_draft(role_name: &str) -> Value {
        json!({"draft": {
            "name": "shop-aws", "target": "aws", "space": "Default", "accountName": "AWS (OIDC)",
            "scope": {"projects": ["*"], "environments": ["*"], "tenants": [], "runbooks": [],
                      "healthCheckTargets": []},
            "subjectKeys": {"deployment": null, "healthCheck": null, "accountTest": null},
            "aws": {"roleName": role_name, "region": "eu-west-1", "sessionDuration": 3600,
                    "managedPolicies": [], "profile": ""},
            "azure": {"tenantId": "", "subscriptionId": "", "resourceGroup": "", "role": "",
                      "credentialStrategy": null},
            "github": {"repository": "", "filter": "", "serviceAccount": "", "team": "", "issuer": "", "subject": "", "ci": ""},
            "gcp": {"project": "", "pool": "", "provider": "", "serviceAccount": "", "roles": [],
                    "tokenLifetime": null, "credentialsFile": ""}
        }})
    }

    #[test]
    fn validate_setup_names_form_fields() {
        let (_app, webview) = mock_webview();
        let error = invoke(&webview, "validate_setup", aws_draft("bad role name!"))
            .expect_err("invalid role name");
        assert_eq!(error["code"], "invalid_input", "{error}");
        let fields: Vec<&str> = error["fieldErrors"]
            .as_array()
            .expect("field errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, ["aws.role_name"], "{error}");
        let ok = invoke(&webview, "validate_setup", aws_draft("octopus-shop")).expect("valid");
        assert!(
            ok["setupFile"]
                .as_str()
                .is_some_and(|f| f.contains("role_name = \"octopus-shop\"")),
            "{ok}"
        );
    }

    #[test]
    fn preview_setup_in_the_sandbox_lists_exact_subjects() {
        let (_app, webview) = mock_webview();
        let choices = sandbox_scope_choices(&webview);
        assert!(
            !choices["projects"].as_array().expect("projects").is_empty(),
            "{choices}"
        );
        let preview =
            invoke(&webview, "preview_setup", aws_draft("octopus-shop")).expect("preview");
        let subjects = preview["subjects"].as_array().expect("subjects");
        assert!(!subjects.is_empty(), "{preview}");
        assert!(
            subjects.iter().all(|s| s["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("space:default:"))),
            "{preview}"
        );
        // Either the trust was computed (with its matrix), or the core said why not.
        match (&preview["aws"], &preview["trustBlocked"]) {
            (Value::Object(aws), Value::Null) => {
                assert!(
                    aws["policySize"].as_u64() <= aws["quota"].as_u64(),
                    "{preview}"
                );
                assert_eq!(preview["matrix"]["underPermission"], 0, "{preview}");
            }
            // The whole demo space is over IAM's trust-policy quota (or the issuer is refused).
            (Value::Null, Value::Object(blocked)) => assert!(
                ["limit_exceeded", "issuer_invalid"]
                    .contains(&blocked["code"].as_str().unwrap_or("")),
                "{preview}"
            ),
            _ => panic!("neither trust nor a reason: {preview}"),
        }
    }

    #[test]
    fn existing_accounts_are_listed_and_an_unknown_one_is_a_field_error() {
        let (_app, webview) = mock_webview();
        let error = invoke(&webview, "list_oidc_accounts", json!({"space": null}))
            .expect_err("not connected");
        assert_invalid_input(&error, "No Octopus");
        connect_sandbox(&webview);
        let accounts =
            invoke(&webview, "list_oidc_accounts", json!({"space": "Default"})).expect("lists");
        assert!(accounts.is_array(), "{accounts}");
        let error = invoke(
            &webview,
            "verify_account",
            json!({"request": {"account": "No such account", "space": "Default"}}),
        )
        .expect_err("unknown account");
        assert_eq!(error["code"], "invalid_input", "{error}");
        assert_eq!(error["fieldErrors"][0]["field"], "account", "{error}");
    }

    #[test]
    fn plan_setup_plans_the_draft_against_the_sandbox_and_refuses_a_missing_file() {
        let (_app, webview) = mock_webview();
        let choices = sandbox_scope_choices(&webview);
        let mut draft = aws_draft("octopus-ipc")["draft"].clone();
        draft["scope"]["projects"] = json!([choices["projects"][0]["slug"]]);
        let plan = invoke(
            &webview,
            "plan_setup",
            json!({"source": {"kind": "draft", "draft": draft}}),
        )
        .expect("plans");
        assert_eq!(plan["hasChanges"], true, "{plan}");
        let kinds: Vec<&str> = plan["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter_map(|s| s["kind"].as_str())
            .collect();
        assert_eq!(
            kinds,
            ["oidc_provider", "iam_role", "octopus_account"],
            "{plan}"
        );
        assert!(
            !plan.to_string().contains("API-"),
            "a key crossed IPC: {plan}"
        );

        let error = invoke(
            &webview,
            "open_setup_file",
            json!({"path": "/nonexistent/octo-oidc/setup.toml"}),
        )
        .expect_err("no such file");
        assert_eq!(error["code"], "invalid_input", "{error}");
        assert_eq!(error["fieldErrors"][0]["field"], "(file)", "{error}");
        assert_eq!(
            invoke(&webview, "cancel_run", json!({})).expect("answers"),
            false
        );
    }
}
