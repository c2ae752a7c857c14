//! Stand-ins for remote ends that misbehave in ways the sandbox does not, shared by the clients'
//! "bounded" tests: a listener that accepts connections and never answers, a DNS resolver for
//! which no name exists, and a handler that is unavailable once before it answers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use axum::routing::{MethodRouter, get};

/// Binds `127.0.0.1:0` and accepts connections in the background without ever answering
/// (each accepted stream is held open); returns the address.
pub async fn silent_listener() -> SocketAddr {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = silent.local_addr().expect("local address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// A resolver for which no name exists, counting lookups (nothing leaves the machine).
#[derive(Debug, Clone, Default)]
pub struct NoSuchHost(Arc<AtomicUsize>);

impl NoSuchHost {
    /// How many names were looked up so far.
    pub fn lookups(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Asserts that the name was looked up once or twice (a DNS failure is retried once at most).
    pub fn assert_tried_at_most_twice(&self) {
        let lookups = self.lookups();
        assert!(
            (1..=2).contains(&lookups),
            "looked up {lookups} times; a DNS failure is retried once at most"
        );
    }
}

impl reqwest::dns::Resolve for NoSuchHost {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            Err::<reqwest::dns::Addrs, _>(Box::new(std::io::Error::other("no such host"))
                as Box<dyn std::error::Error + Send + Sync>)
        })
    }
}

/// A `GET` handler that answers `503 busy` to the first call and `200 body` to every later one,
/// and the count of calls it received.
pub fn unavailable_once(body: &'static str) -> (MethodRouter, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let handler = get(move || {
        let calls = counted.clone();
        async move {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                (StatusCode::SERVICE_UNAVAILABLE, "busy")
            } else {
                (StatusCode::OK, body)
            }
        }
    });
    (handler, calls)
}

/// A stand-in browser: opens `url` in a background task, following redirects (e.g. a sandbox
/// authority's auto-approve redirect into a client's loopback listener); the task panics if the
/// final page does not answer 200.
pub fn browse_in_background(url: &str) {
    let url = url.to_owned();
    tokio::spawn(async move {
        let page = reqwest::get(&url).await.expect("the browser's request");
        assert_eq!(page.status(), 200, "the loopback page answers");
    });
}
