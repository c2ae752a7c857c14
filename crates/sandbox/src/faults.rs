//! Latency and failure injection, per service and operation, for tests, benchmarks and demos.
//!
//! Real clouds throttle, fail, drop connections and lag behind their own writes; the clients
//! must survive all of that, so the sandbox can be told to do the same. A [`FaultRule`] names a
//! service (`octopus`, `entra`, `graph`, `arm`, `iam`, `sts`), optionally one operation (the
//! service's own name for it: an AWS `Action`, `"POST /applications"`, …), an added latency,
//! and a [`FaultKind`] applied to the next `times` matching requests or at a `rate`. Each
//! service asks [`Faults::before`] at the start of a request and renders the fault in its own
//! wire format. Eventual-consistency windows (how long a new object stays invisible) are kept
//! here too, per service, and interpreted by each service.
//!
//! Rules can be set from Rust ([`Faults::add`]) or over HTTP through [`admin_router`], which
//! the sandbox host mounts under `/_sandbox/`.
//!
//! Deliberately absent: wall-clock schedules and per-client targeting; tests get determinism
//! from `times` and from the seeded random source behind `rate`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What goes wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Throttled: HTTP 429 with `Retry-After` (AWS: `Throttling`).
    Throttle {
        /// Seconds the client is told to wait.
        retry_after_secs: u64,
    },
    /// A server error with this HTTP status (500, 502, 503, …).
    ServerError {
        /// The HTTP status to answer with.
        status: u16,
    },
    /// The connection is cut before a complete response is sent.
    DropConnection,
}

/// One injection rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// `octopus`, `entra`, `graph`, `arm`, `iam` or `sts`.
    pub service: String,
    /// The service's operation name; `None` matches every operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Added latency in milliseconds for each matching request.
    #[serde(default)]
    pub latency_ms: u64,
    /// The failure to inject, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultKind>,
    /// Apply to the next this many matching requests, then expire. `None` = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Probability (0..=1) that the fault applies to a matching request. `None` = always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
}

impl FaultRule {
    /// A rule for every operation of `service` with no effect yet; chain the setters.
    pub fn for_service(service: &str) -> Self {
        FaultRule {
            service: service.to_string(),
            operation: None,
            latency_ms: 0,
            fault: None,
            times: None,
            rate: None,
        }
    }

    /// The commonest rule: the next `operation` of `service` is throttled once, the client
    /// told to wait `retry_after_secs`.
    pub fn throttle_once(service: &str, operation: &str, retry_after_secs: u64) -> Self {
        Self::for_service(service)
            .operation(operation)
            .fault(FaultKind::Throttle { retry_after_secs })
            .times(1)
    }

    /// Restricts the rule to one operation.
    pub fn operation(mut self, operation: &str) -> Self {
        self.operation = Some(operation.to_string());
        self
    }

    /// Adds latency.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Sets the failure.
    pub fn fault(mut self, fault: FaultKind) -> Self {
        self.fault = Some(fault);
        self
    }

    /// Limits the rule to the next `times` matching requests.
    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }

    /// Applies the failure with probability `rate`.
    pub fn rate(mut self, rate: f64) -> Self {
        self.rate = Some(rate.clamp(0.0, 1.0));
        self
    }

    fn matches(&self, service: &str, operation: &str) -> bool {
        self.service == service && self.operation.as_deref().is_none_or(|op| op == operation)
    }
}

/// Everything the admin endpoint reads and writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultSettings {
    /// Active rules, with `times` showing what is left.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    /// Eventual-consistency windows per service, in milliseconds.
    #[serde(default)]
    pub consistency_windows_ms: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct FaultState {
    settings: FaultSettings,
    rng: StdRng,
    requests: Vec<RequestRecord>,
    started: std::time::Instant,
}

/// One request a service saw, as it named it to [`Faults::before`] (the request log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// `octopus`, `entra`, `graph`, `arm`, `iam`, `sts`, or a `gcp` service.
    pub service: String,
    /// The service's operation name (`"POST /applications"`, `CreateRole`, …).
    pub operation: String,
    /// Whether it changes state: an HTTP `POST`/`PUT`/`PATCH`/`DELETE` (a token request or
    /// `/token/v1` exchange excepted), or an AWS action that is not a `Get`/`List`/
    /// `Simulate` one or an STS call.
    pub mutating: bool,
    /// When it arrived, in milliseconds since the sandbox started (before any injected
    /// latency): what the benchmarks read the client's concurrency from.
    pub at_ms: u64,
}

impl RequestRecord {
    fn new(service: &str, operation: &str, at_ms: u64) -> RequestRecord {
        let method = operation.split_whitespace().next().unwrap_or("");
        let mutating = match service {
            "sts" => false,
            "iam" => !["Get", "List", "Simulate"]
                .iter()
                .any(|p| operation.starts_with(p)),
            "entra" => false,
            _ => {
                matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
                    && !operation.contains("/token/v1")
                    && !operation.contains("/tasks")
            }
        };
        RequestRecord {
            service: service.to_string(),
            operation: operation.to_string(),
            mutating,
            at_ms,
        }
    }
}

/// The shared set of fault rules; cheap to clone.
#[derive(Debug, Clone)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
}

impl Default for Faults {
    fn default() -> Self {
        Self::with_seed(0x0c70_01dc)
    }
}

impl Faults {
    /// No rules, with a fixed seed for `rate` rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// No rules, with the given seed for `rate` rules.
    pub fn with_seed(seed: u64) -> Self {
        Faults {
            state: Arc::new(Mutex::new(FaultState {
                settings: FaultSettings::default(),
                rng: StdRng::seed_from_u64(seed),
                requests: Vec::new(),
                started: std::time::Instant::now(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        // A panic while holding this lock cannot leave the rules half-written, so a poisoned
        // lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a rule after the existing ones.
    pub fn add(&self, rule: FaultRule) {
        self.lock().settings.rules.push(rule);
    }

    /// Replaces all rules and windows.
    pub fn set(&self, settings: FaultSettings) {
        self.lock().settings = settings;
    }

    /// Removes all rules and windows.
    pub fn clear(&self) {
        self.lock().settings = FaultSettings::default();
    }

    /// The current rules and windows.
    pub fn settings(&self) -> FaultSettings {
        self.lock().settings.clone()
    }

    /// Sets how long new objects of `service` stay invisible or unusable.
    pub fn set_consistency_window(&self, service: &str, window: Duration) {
        let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        self.lock()
            .settings
            .consistency_windows_ms
            .insert(service.to_string(), millis);
    }

    /// How long new objects of `service` stay invisible or unusable (zero by default).
    pub fn consistency_window(&self, service: &str) -> Duration {
        Duration::from_millis(
            self.lock()
                .settings
                .consistency_windows_ms
                .get(service)
                .copied()
                .unwrap_or(0),
        )
    }

    /// Applies the matching rules to one request: waits out their latency, then returns the
    /// failure to answer with, if any. Call it first thing in a handler.
    pub async fn before(&self, service: &str, operation: &str) -> Option<FaultKind> {
        let (latency, fault) = self.decide(service, operation);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        fault
    }

    /// Every request seen since the start or the last [`Faults::clear_requests`].
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.clone()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    fn decide(&self, service: &str, operation: &str) -> (Duration, Option<FaultKind>) {
        let mut state = self.lock();
        let FaultState {
            settings,
            rng,
            requests,
            started,
        } = &mut *state;
        let at_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        requests.push(RequestRecord::new(service, operation, at_ms));
        let mut latency_ms = 0u64;
        let mut fault = None;
        for rule in settings
            .rules
            .iter_mut()
            .filter(|r| r.matches(service, operation))
        {
            if rule.times == Some(0) {
                continue;
            }
            latency_ms = latency_ms.saturating_add(rule.latency_ms);
            if fault.is_none() {
                let hit = rule.rate.is_none_or(|rate| rng.random_bool(rate));
                if hit {
                    fault = rule.fault.clone();
                }
            }
            if let Some(times) = rule.times.as_mut() {
                *times -= 1;
            }
        }
        settings.rules.retain(|r| r.times != Some(0));
        (Duration::from_millis(latency_ms), fault)
    }
}

/// A response that cuts the connection: the headers promise a body that never completes, so
/// the client sees the connection close mid-response, as with a dropped TCP connection.
pub fn dropped_connection() -> Response {
    let body = Body::from_stream(futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: connection dropped",
        ))
    }));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-length", "1048576")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `GET/PUT/DELETE /_sandbox/faults` (the [`FaultSettings`] as JSON),
/// `POST /_sandbox/faults/rules` (append one [`FaultRule`]) and `GET/DELETE
/// /_sandbox/requests` (the request log: every [`RequestRecord`] so far; these admin calls
/// are not in it).
pub fn admin_router(faults: Faults) -> Router {
    Router::new()
        .route(
            "/_sandbox/requests",
            get(|State(f): State<Faults>| async move { Json(f.requests()) }).delete(
                |State(f): State<Faults>| async move {
                    f.clear_requests();
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .route(
            "/_sandbox/faults",
            get(|State(f): State<Faults>| async move { Json(f.settings()) })
                .put(
                    |State(f): State<Faults>, Json(settings): Json<FaultSettings>| async move {
                        f.set(settings);
                        Json(f.settings())
                    },
                )
                .delete(|State(f): State<Faults>| async move {
                    f.clear();
                    StatusCode::NO_CONTENT
                }),
        )
        .route(
            "/_sandbox/faults/rules",
            axum::routing::post(
                |State(f): State<Faults>, Json(rule): Json<FaultRule>| async move {
                    f.add(rule);
                    (StatusCode::CREATED, Json(f.settings()))
                },
            ),
        )
        .with_state(faults)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn times_limits_a_rule_and_operations_are_matched() {
        let faults = Faults::new();
        faults.add(
            FaultRule::for_service("iam")
                .operation("CreateRole")
                .fault(FaultKind::Throttle {
                    retry_after_secs: 1,
                })
                .times(2),
        );
        assert_eq!(faults.before("iam", "GetRole").await, None);
        assert_eq!(faults.before("sts", "CreateRole").await, None);
        for _ in 0..2 {
            assert!(matches!(
                faults.before("iam", "CreateRole").await,
                Some(FaultKind::Throttle { .. })
            ));
        }
        assert_eq!(faults.before("iam", "CreateRole").await, None);
        assert!(faults.settings().rules.is_empty());
    }

    #[tokio::test]
    async fn latency_is_waited_out_and_rate_is_seeded() {
        let faults = Faults::with_seed(7);
        faults.add(FaultRule::for_service("graph").latency(Duration::from_millis(30)));
        let started = std::time::Instant::now();
        assert_eq!(faults.before("graph", "GET /me").await, None);
        assert!(started.elapsed() >= Duration::from_millis(30));

        faults.clear();
        faults.add(
            FaultRule::for_service("arm")
                .fault(FaultKind::ServerError { status: 503 })
                .rate(0.5),
        );
        let mut hits = 0;
        for _ in 0..200 {
            if faults.before("arm", "PUT").await.is_some() {
                hits += 1;
            }
        }
        assert!(
            (60..140).contains(&hits),
            "about half should fail, got {hits}"
        );
    }

    #[test]
    fn consistency_windows_default_to_zero() {
        let faults = Faults::new();
        assert_eq!(faults.consistency_window("graph"), Duration::ZERO);
        faults.set_consistency_window("graph", Duration::from_millis(1500));
        assert_eq!(
            faults.consistency_window("graph"),
            Duration::from_millis(1500)
        );
    }
}
