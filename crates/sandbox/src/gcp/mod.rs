//! The sandbox Google Cloud: one seeded project (an id and a NUMBER) with IAM v1 workload
//! identity pools and providers, service accounts and allow policies ([`iam`]), Cloud Resource
//! Manager's `projects.get` / IAM policy / `testIamPermissions`, the Security Token Service and
//! IAM Service Account Credentials' `generateAccessToken` ([`sts`]) — on one HTTPS endpoint,
//! each API under the paths its real host uses (`iam.googleapis.com/v1/…`,
//! `cloudresourcemanager.googleapis.com/v1|v3/projects/…`, `sts.googleapis.com/v1/token`,
//! `iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/…:generateAccessToken`), so a
//! client points each service's endpoint at the same base URL.
//!
//! Written from Google's REST references, not from the core's `gcp` module (the judge shares no
//! decision with what it judges); CEL is evaluated by the third-party `cel` crate. Errors are
//! Google's shapes ([`wire`]). Every API except STS needs `Authorization: Bearer …` (any token
//! for the admin APIs; `generateAccessToken` needs a federated token from this STS). Faults:
//! services `gcp-iam`, `gcp-crm`, `gcp-sts`, `gcp-iamcredentials`, operations named after the
//! REST method (`workloadIdentityPools.create`, `token`, `generateAccessToken`, …).
//!
//! Deliberately absent: regions other than `global`, other providers than OIDC, several
//! projects, access tokens for Google APIs other than the ones here.

pub mod iam;
pub mod sts;
pub mod wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::faults::{FaultKind, Faults};
use crate::token_validation::RemoteIssuers;

use iam::{GcpState, Target};
use sts::{ExchangeRequest, FederatedToken};
use wire::{GoogleError, OAuthError};

/// The seeded project.
#[derive(Debug, Clone)]
pub struct GcpConfig {
    /// The project id (default `octopus-sandbox`).
    pub project_id: String,
    /// The project number (default `271828182845`).
    pub project_number: String,
}

impl Default for GcpConfig {
    fn default() -> Self {
        GcpConfig {
            project_id: "octopus-sandbox".into(),
            project_number: "271828182845".into(),
        }
    }
}

struct Inner {
    state: Mutex<GcpState>,
    tokens: Mutex<HashMap<String, FederatedToken>>,
    faults: Faults,
    issuers: RemoteIssuers,
}

/// The sandbox Google Cloud. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct GcpSandbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GcpSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcpSandbox").finish_non_exhaustive()
    }
}

/// Which API a request is for (its fault-service name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Iam,
    Crm,
    Sts,
    Credentials,
}

impl Api {
    fn fault_service(self) -> &'static str {
        match self {
            Api::Iam => "gcp-iam",
            Api::Crm => "gcp-crm",
            Api::Sts => "gcp-sts",
            Api::Credentials => "gcp-iamcredentials",
        }
    }
}

impl GcpSandbox {
    /// A project with nothing in it.
    pub fn new(config: GcpConfig, faults: Faults, issuers: RemoteIssuers) -> GcpSandbox {
        GcpSandbox {
            inner: Arc::new(Inner {
                state: Mutex::new(GcpState::new(&config.project_id, &config.project_number)),
                tokens: Mutex::new(HashMap::new()),
                faults,
                issuers,
            }),
        }
    }

    /// Every API on one router (mount at the root of the endpoint).
    pub fn router(&self) -> Router {
        Router::new().fallback(handle).with_state(self.clone())
    }

    fn state(&self) -> MutexGuard<'_, GcpState> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The project id.
    pub fn project_id(&self) -> String {
        self.state().project_id.clone()
    }

    /// The project number.
    pub fn project_number(&self) -> String {
        self.state().project_number.clone()
    }

    /// Makes `testIamPermissions` withhold this permission.
    pub fn withhold_permission(&self, permission: &str) {
        self.state().withheld_permissions.insert(permission.into());
    }

    /// Sets whether the org policy `iam.allowServiceAccountCredentialLifetimeExtension` lists
    /// the service accounts (lifetimes up to 43200 s).
    pub fn set_lifetime_extension_allowed(&self, allowed: bool) {
        self.state().lifetime_extension_allowed = allowed;
    }

    /// Moves the sandbox clock forward (soft-deleted resources expire after 30 days).
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.state().clock_offset_secs += i64::try_from(by.as_secs()).unwrap_or(i64::MAX / 2);
    }

    /// The state as JSON (federated tokens are not kept).
    pub fn snapshot(&self) -> Value {
        serde_json::to_value(&*self.state()).unwrap_or(Value::Null)
    }

    /// Replaces the state with a [`Self::snapshot`].
    pub fn restore(&self, value: Value) -> Result<(), serde_json::Error> {
        *self.state() = serde_json::from_value(value)?;
        Ok(())
    }

    /// The STS exchange from Rust, with exactly the endpoint's checks (for the sandbox
    /// Octopus's account test); returns the federated access token.
    pub async fn exchange_token(&self, request: &ExchangeRequest) -> Result<String, OAuthError> {
        let exchanged = sts::exchange(&self.inner.state, &self.inner.issuers, request).await?;
        self.inner
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(exchanged.access_token.clone(), exchanged.token);
        Ok(exchanged.access_token)
    }

    async fn dispatch(&self, call: &Call<'_>) -> Response {
        let Call {
            api,
            method,
            path,
            verb,
            query,
            headers,
            body,
        } = *call;
        if api == Api::Sts {
            let request = sts_request(headers, body);
            return match self.exchange_token(&request).await {
                Ok(token) => axum::Json(serde_json::json!({
                    "access_token": token,
                    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "token_type": "Bearer",
                    "expires_in": sts::FEDERATED_TOKEN_SECS,
                }))
                .into_response(),
                Err(e) => {
                    tracing::debug!(error = e.error, "gcp sts refused a token");
                    e.into_response()
                }
            };
        }
        let Some(bearer) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| !t.trim().is_empty())
        else {
            return GoogleError::unauthenticated().into_response();
        };
        let json: Value = if body.is_empty() {
            Value::Object(Default::default())
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => {
                    return GoogleError::invalid_argument(format!("Invalid JSON payload: {e}"))
                        .into_response();
                }
            }
        };
        let result = match api {
            Api::Credentials => {
                let caller = self
                    .inner
                    .tokens
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(bearer.trim())
                    .cloned();
                match caller {
                    None => Err(GoogleError::unauthenticated()),
                    Some(caller) => {
                        sts::generate_access_token(&self.state(), &caller, &path[4], &json)
                    }
                }
            }
            Api::Crm => {
                let mut s = self.state();
                if s.is_project(&path[2]) {
                    s.handle_project(&path[0], method, verb, &json)
                } else {
                    Err(GoogleError::permission_denied(
                        "resourcemanager.projects.get",
                    ))
                }
            }
            Api::Iam | Api::Sts => {
                let mut s = self.state();
                if !s.is_project(&path[2]) {
                    Err(GoogleError::permission_denied(
                        "iam.workloadIdentityPools.list",
                    ))
                } else {
                    match iam_target(&s.project_number, path) {
                        Some(t @ (Target::ServiceAccounts | Target::ServiceAccount(_))) => {
                            s.handle_service_accounts(method, &t, verb, &json)
                        }
                        Some(t) => s.handle_pools(method, &t, verb, query, &json),
                        None => Err(GoogleError::no_such_method(method, &path.join("/"))),
                    }
                }
            }
        };
        match result {
            Ok(v) => axum::Json(v).into_response(),
            Err(e) => e.into_response(),
        }
    }
}

/// One request, parsed.
#[derive(Clone, Copy)]
struct Call<'a> {
    api: Api,
    method: &'a str,
    path: &'a [String],
    verb: Option<&'a str>,
    query: &'a BTreeMap<String, String>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

fn sts_request(headers: &HeaderMap, body: &Bytes) -> ExchangeRequest {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    let fields: BTreeMap<String, String> = if json {
        serde_json::from_slice::<serde_json::Map<String, Value>>(body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
            .collect()
    } else {
        url::form_urlencoded::parse(body).into_owned().collect()
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    ExchangeRequest {
        grant_type: get("grant_type"),
        audience: get("audience"),
        subject_token: get("subject_token"),
        subject_token_type: get("subject_token_type"),
        requested_token_type: get("requested_token_type"),
    }
}

/// The IAM resource of `v1/projects/{p}/…` (already split, verb removed).
fn iam_target(number: &str, path: &[String]) -> Option<Target> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let pool_op =
        |pool: &str, op: &str| format!("{}/operations/{op}", iam::pool_name(number, pool));
    let pools = match p.as_slice() {
        ["v1", "projects", _, "serviceAccounts"] => return Some(Target::ServiceAccounts),
        ["v1", "projects", _, "serviceAccounts", sa] => {
            return Some(Target::ServiceAccount(sa.to_string()));
        }
        _ => below_pools(&p)?,
    };
    Some(match pools {
        [] => Target::Pools,
        [pool] => Target::Pool(pool.to_string()),
        [pool, "operations", op] => Target::Operation(pool_op(pool, op)),
        [pool, "providers"] => Target::Providers(pool.to_string()),
        [pool, "providers", prov] => Target::Provider(pool.to_string(), prov.to_string()),
        [pool, "providers", prov, "operations", op] => Target::Operation(format!(
            "{}/providers/{prov}/operations/{op}",
            iam::pool_name(number, pool)
        )),
        _ => return None,
    })
}

/// What follows `v1/projects/{p}/locations/global/workloadIdentityPools` in a path.
fn below_pools<'p, 'a>(p: &'p [&'a str]) -> Option<&'p [&'a str]> {
    match p {
        [
            "v1",
            "projects",
            _,
            "locations",
            "global",
            "workloadIdentityPools",
            rest @ ..,
        ] => Some(rest),
        _ => None,
    }
}

/// Which API a path belongs to, and the REST method name for faults.
fn classify(method: &str, path: &[String], verb: Option<&str>) -> Option<(Api, String)> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let op = |resource: &str| {
        let action = match (method, verb) {
            (_, Some(v)) => v.to_string(),
            ("POST", None) => "create".into(),
            ("GET", None) => "get".into(),
            ("PATCH", None) => "patch".into(),
            ("DELETE", None) => "delete".into(),
            (m, None) => m.to_lowercase(),
        };
        format!("{resource}.{action}")
    };
    if let Some(rest) = below_pools(&p) {
        let resource = if rest.contains(&"operations") {
            "operations"
        } else if rest.len() >= 2 {
            "providers"
        } else {
            "workloadIdentityPools"
        };
        return Some((Api::Iam, op(resource)));
    }
    match p.as_slice() {
        ["v1", "token"] => Some((Api::Sts, "token".into())),
        ["v1", "projects", "-", "serviceAccounts", _] if verb == Some("generateAccessToken") => {
            Some((Api::Credentials, "generateAccessToken".into()))
        }
        ["v1" | "v3", "projects", _] => Some((Api::Crm, op("projects"))),
        ["v1", "projects", _, "serviceAccounts", ..] => Some((Api::Iam, op("serviceAccounts"))),
        _ => None,
    }
}

async fn handle(
    State(sandbox): State<GcpSandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut path: Vec<String> = uri
        .path()
        .trim_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let mut verb = None;
    if let Some(last) = path.last_mut()
        && let Some((name, v)) = last.split_once(':')
    {
        verb = Some(v.to_string());
        *last = name.to_string();
    }
    let query: BTreeMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let method = method.as_str().to_string();
    let Some((api, operation)) = classify(&method, &path, verb.as_deref()) else {
        return GoogleError::no_such_method(&method, uri.path()).into_response();
    };
    if let Some(fault) = sandbox
        .inner
        .faults
        .before(api.fault_service(), &operation)
        .await
    {
        return match fault {
            FaultKind::Throttle { retry_after_secs } => {
                let mut r = GoogleError::quota().into_response();
                if let Ok(v) = retry_after_secs.to_string().parse() {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            FaultKind::ServerError { status } => GoogleError::server(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            )
            .into_response(),
            FaultKind::DropConnection => crate::faults::dropped_connection(),
        };
    }
    sandbox
        .dispatch(&Call {
            api,
            method: &method,
            path: &path,
            verb: verb.as_deref(),
            query: &query,
            headers: &headers,
            body: &body,
        })
        .await
}
