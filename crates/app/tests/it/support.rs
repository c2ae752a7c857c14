//! Shared helpers: a session with its own keychain service, a sandbox, a counting listener.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use octo_oidc_app::Session;
use octo_oidc_octopus::keychain::ApiKeyStore;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// A keychain service name of this test's own, so it never reads or deletes a real key.
pub fn test_service() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("octo-oidc-app-test-{}-{nanos}", std::process::id())
}

/// A session with its own keychain service and an environment of `vars`.
pub fn session_with_env(service: &str, vars: &[(&'static str, String)]) -> Session {
    let vars: Vec<(&'static str, String)> = vars.to_vec();
    Session::with_key_store(ApiKeyStore::with_service(service), move |name| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    })
}

/// A session with its own keychain service and an empty environment.
pub fn session() -> Session {
    session_with_env(&test_service(), &[])
}

/// Starts the session's Sandbox and connects to its Octopus; says where it listens.
pub async fn connected_to_sandbox(session: &Session) -> octo_oidc_app::SandboxSummary {
    let sandbox = session.start_sandbox().await.expect("starts");
    session.connect_sandbox_octopus().await.expect("connects");
    sandbox
}

/// Whether `make test`'s keyring session promises a working keychain.
pub fn keychain_expected() -> bool {
    std::env::var("OCTO_OIDC_EXPECT_KEYCHAIN").as_deref() == Ok("1")
}

/// A loopback listener that counts connections and answers each with a 500.
pub struct CountingListener {
    pub port: u16,
    connections: Arc<AtomicUsize>,
}

impl CountingListener {
    pub async fn start() -> CountingListener {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = stream
                    .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        CountingListener { port, connections }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
