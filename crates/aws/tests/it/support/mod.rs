//! Test backends for the AWS client suite: the sandbox's IAM/STS (in process, with fault
//! injection) and moto in server mode (a third-party emulator, to prove the sandbox and the
//! client agree with it).
//!
//! moto is installed by the harness itself when `<workspace>/.venv/bin/moto_server` is
//! missing (`python3 -m venv .venv && pip install moto[server]==5.2.5`, under `flock` so that
//! test binaries racing to install do it once), started once per test binary on a free
//! loopback port with `MOTO_IAM_LOAD_MANAGED_POLICIES=true`, and stopped by a shell watchdog
//! when the test binary exits. Tests share that server, so every test uses unique names.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use octo_oidc_aws::{AwsConnection, ConnectOptions, CredentialSource, SdkIam};
use octo_oidc_core::Secret;
use octo_oidc_core::events::ProgressEvent;
use octo_oidc_core::retry::RetryPolicy;
use octo_oidc_sandbox::aws::{AwsConfig, AwsSandbox};
use octo_oidc_sandbox::faults::Faults;
use octo_oidc_sandbox::token_validation::RemoteIssuers;
use tokio::sync::OnceCell;

pub mod issuer;

pub const ACCOUNT: &str = "123456789012";
pub const MOTO_VERSION: &str = "5.2.5";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sandbox,
    Moto,
}

/// One backend for one test.
pub struct Backend {
    pub kind: Kind,
    pub endpoint: String,
    /// The sandbox and its fault knobs (sandbox backend only).
    pub sandbox: Option<(AwsSandbox, Faults)>,
    /// Progress events the client reported.
    pub events: Arc<Mutex<Vec<ProgressEvent>>>,
    /// A plain SDK client on the same endpoint, to look behind the port.
    pub raw: aws_sdk_iam::Client,
}

impl Backend {
    pub async fn sandbox() -> Backend {
        Backend::sandbox_with_issuers(RemoteIssuers::new(reqwest::Client::new())).await
    }

    /// A sandbox whose STS fetches issuer keys with this client.
    pub async fn sandbox_with_issuers(issuers: RemoteIssuers) -> Backend {
        let faults = Faults::new();
        let sandbox = AwsSandbox::new(AwsConfig::default(), faults.clone(), issuers);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let router = sandbox.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Backend::on(Kind::Sandbox, endpoint, Some((sandbox, faults))).await
    }

    pub async fn moto() -> Backend {
        let endpoint = moto_endpoint().await.to_string();
        Backend::on(Kind::Moto, endpoint, None).await
    }

    async fn on(kind: Kind, endpoint: String, sandbox: Option<(AwsSandbox, Faults)>) -> Backend {
        let connection = AwsConnection::connect(options(&endpoint)).await.unwrap();
        let raw = aws_sdk_iam::Client::new(connection.sdk_config());
        Backend {
            kind,
            endpoint,
            sandbox,
            events: Arc::new(Mutex::new(Vec::new())),
            raw,
        }
    }

    /// The client under test, with fast retry policies and events recorded.
    pub async fn client(&self) -> SdkIam {
        self.client_with(options(&self.endpoint)).await
    }

    pub async fn client_with(&self, options: ConnectOptions) -> SdkIam {
        let connection = AwsConnection::connect(options).await.unwrap();
        let events = self.events.clone();
        SdkIam::new(&connection)
            .with_retry_policy(RetryPolicy::fast())
            .with_propagation_policy(RetryPolicy::fast())
            .reporting_to(Arc::new(move |e: ProgressEvent| {
                events.lock().unwrap().push(e)
            }))
    }

    pub fn events(&self) -> Vec<ProgressEvent> {
        self.events.lock().unwrap().clone()
    }

    pub fn faults(&self) -> &Faults {
        &self.sandbox.as_ref().expect("sandbox backend").1
    }

    pub fn aws_sandbox(&self) -> &AwsSandbox {
        &self.sandbox.as_ref().expect("sandbox backend").0
    }
}

/// Dummy static credentials against an endpoint.
pub fn options(endpoint: &str) -> ConnectOptions {
    ConnectOptions::new(CredentialSource::AccessKey {
        access_key_id: "AKIDTESTING".into(),
        secret_access_key: Secret::new("testing-secret"),
        session_token: None,
    })
    .with_endpoint(endpoint)
}

/// A name no other test (or earlier run against the same moto) uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Installs moto into `<workspace>/.venv` if it is not there (once, under a file lock).
fn ensure_moto_installed() -> PathBuf {
    let root = workspace_root();
    let moto_server = root.join(".venv/bin/moto_server");
    if moto_server.exists() {
        return moto_server;
    }
    let script = format!(
        "test -x .venv/bin/moto_server || {{ python3 -m venv .venv && .venv/bin/pip install --quiet 'moto[server]=={MOTO_VERSION}'; }}"
    );
    let status = Command::new("flock")
        .arg(std::env::temp_dir().join("octo-oidc-moto-install.lock"))
        .args(["sh", "-c", &script])
        .current_dir(&root)
        .status()
        .expect("run flock/python3 to install moto");
    assert!(status.success(), "installing moto into .venv failed");
    assert!(moto_server.exists(), "moto_server missing after install");
    moto_server
}

/// The venv's Python (with boto3, which moto depends on), installing the venv if needed.
pub fn venv_python() -> PathBuf {
    let moto_server = ensure_moto_installed();
    moto_server.with_file_name("python")
}

static MOTO: OnceCell<String> = OnceCell::const_new();
static WATCHDOG: Mutex<Option<std::process::Child>> = Mutex::new(None);

/// The endpoint of this test binary's moto server, starting it on first use.
pub async fn moto_endpoint() -> &'static str {
    MOTO.get_or_init(|| async {
        let moto_server = tokio::task::spawn_blocking(ensure_moto_installed).await.unwrap();
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        // The watchdog shell stops moto when this test binary exits (kept in WATCHDOG; init
        // reaps it once this process is gone).
        let script = format!(
            "\"$0\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & M=$!; while kill -0 {pid} 2>/dev/null && kill -0 $M 2>/dev/null; do sleep 1; done; kill $M 2>/dev/null",
            pid = std::process::id()
        );
        let watchdog = Command::new("sh")
            .args(["-c", &script])
            .arg(&moto_server)
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        *WATCHDOG.lock().unwrap() = Some(watchdog);
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{endpoint}/moto-api/data.json")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "moto did not become ready on {endpoint}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        endpoint
    })
    .await
}

pub use octo_oidc_testkit::aws::trust_policy;

/// Generates `sandbox` and `moto` tests running the same async body.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sandbox() {
                    super::$name(super::support::Backend::sandbox().await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn moto() {
                    super::$name(super::support::Backend::moto().await).await
                }
            }
        )*
    };
}

/// Two JSON texts with the same content.
pub fn same_json_text(a: &str, b: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(a).unwrap()
        == serde_json::from_str::<serde_json::Value>(b).unwrap()
}
