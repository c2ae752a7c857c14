//! The sandbox AWS: IAM and STS on one endpoint, speaking the query protocol, so that
//! aws-sdk-rust, botocore (AWS CLI, boto3) and any other SDK pointed at `AWS_ENDPOINT_URL`
//! with dummy credentials works against it.
//!
//! A request goes to IAM or STS by the service in its SigV4 credential scope
//! (`…/us-east-1/iam/aws4_request`), else by `Version` (`2010-05-08` IAM, `2011-06-15` STS),
//! else by `Action`; `AssumeRoleWithWebIdentity` arrives unsigned, as the SDKs send it. IAM
//! requests and `GetCallerIdentity` must carry an `Authorization` header (the signature is not
//! verified). Fault injection (`faults.before("iam"|"sts", Action)`) answers in AWS's wire
//! format: `Throttling` (400 + `Retry-After`), `ServiceFailure` / `InternalFailure` (500) or
//! `ServiceUnavailable` (503), or a dropped connection.
//!
//! Modules: [`wire`] (parameters and XML), [`iam`] (providers, roles, policies, tags,
//! summary, simulator), [`sts`], [`trust`] (trust-policy grammar and the STS decision,
//! written from AWS's documents, not the core's), [`managed_policies`] (the AWS managed policies `AttachRolePolicy` knows).
//!
//! Deliberately absent: SigV4 verification, other AWS services, multiple accounts, regions.

pub mod iam;
pub mod identity_policy;
pub mod managed_policies;
pub mod sts;
pub mod trust;
pub mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::any;

use crate::faults::{FaultKind, Faults};
use crate::token_validation::RemoteIssuers;

use iam::{IamSettings, IamState};
use wire::{AwsError, IAM_XMLNS, Params, STS_XMLNS};

/// How the sandbox AWS account is set up.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// The 12-digit account id (default `123456789012`).
    pub account_id: String,
    /// The ARN `GetCallerIdentity` reports; default `arn:aws:iam::<account>:user/sandbox`.
    pub caller_arn: Option<String>,
    /// The `ACLSizePerRole` quota (default 2048).
    pub trust_policy_size_quota: usize,
    /// IAM's eventual-consistency window (default none; the fault layer's `iam` window also
    /// applies, whichever is longer).
    pub propagation_window: Duration,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            account_id: "123456789012".to_string(),
            caller_arn: None,
            trust_policy_size_quota: 2048,
            propagation_window: Duration::ZERO,
        }
    }
}

/// Which AWS service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Iam,
    Sts,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }

    fn xmlns(self) -> &'static str {
        match self {
            Service::Iam => IAM_XMLNS,
            Service::Sts => STS_XMLNS,
        }
    }
}

const STS_ACTIONS: &[&str] = &[
    "AssumeRoleWithWebIdentity",
    "GetCallerIdentity",
    "AssumeRole",
    "AssumeRoleWithSAML",
    "GetSessionToken",
    "GetFederationToken",
    "GetAccessKeyInfo",
    "DecodeAuthorizationMessage",
];

struct Inner {
    state: Mutex<IamState>,
    caller: sts::CallerIdentity,
    /// Further principals by access key id (`Credential=AKID/…` of the signature).
    principals: Mutex<BTreeMap<String, sts::CallerIdentity>>,
    faults: Faults,
    issuers: RemoteIssuers,
}

/// The sandbox's IAM + STS. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct AwsSandbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AwsSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSandbox")
            .field("account_id", &self.inner.caller.account)
            .finish_non_exhaustive()
    }
}

impl AwsSandbox {
    /// A fresh, empty account.
    pub fn new(config: AwsConfig, faults: Faults, issuers: RemoteIssuers) -> AwsSandbox {
        let settings = IamSettings {
            trust_policy_size_quota: config.trust_policy_size_quota,
            simulation_denials: Default::default(),
            principal_policies: Default::default(),
            propagation_window: config.propagation_window,
        };
        let caller = sts::CallerIdentity {
            arn: config
                .caller_arn
                .clone()
                .unwrap_or_else(|| format!("arn:aws:iam::{}:user/sandbox", config.account_id)),
            account: config.account_id.clone(),
            user_id: iam::random_id("AIDA"),
        };
        AwsSandbox {
            inner: Arc::new(Inner {
                state: Mutex::new(IamState::new(&config.account_id, settings)),
                caller,
                principals: Mutex::new(BTreeMap::new()),
                faults,
                issuers,
            }),
        }
    }

    /// IAM and STS on one router (mount at the root of the endpoint).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", any(handle))
            .with_state(self.clone())
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.inner.caller.account
    }

    fn state(&self) -> MutexGuard<'_, IamState> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Everything IAM holds (providers, roles, policies, tags, settings) as JSON.
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(&*self.state()).unwrap_or(serde_json::Value::Null)
    }

    /// Replaces the state with a [`Self::snapshot`]. Restored objects are past any
    /// propagation window.
    pub fn restore(&self, value: serde_json::Value) -> Result<(), serde_json::Error> {
        let restored: IamState = serde_json::from_value(value)?;
        *self.state() = restored;
        Ok(())
    }

    /// Makes SimulatePrincipalPolicy report `implicitDeny` for these actions
    /// (e.g. `iam:CreateOpenIDConnectProvider`), replacing earlier denials.
    pub fn set_simulation_denials<I, S>(&self, actions: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.state().settings.simulation_denials = actions.into_iter().map(Into::into).collect();
    }

    /// How long a new provider or a changed trust policy stays invisible to STS (and a new
    /// provider to CreateRole's principal check).
    pub fn set_propagation_window(&self, window: Duration) {
        self.state().settings.propagation_window = window;
    }

    /// The `ACLSizePerRole` quota (2048 by default, up to 4096 after a quota increase).
    pub fn set_trust_policy_size_quota(&self, quota: usize) {
        self.state().settings.trust_policy_size_quota = quota;
    }

    /// Adds a principal that signs with `access_key_id` (it is `arn`, a user of this account,
    /// for `GetCallerIdentity`) and is judged by these identity-based `policies` (JSON) in
    /// `SimulatePrincipalPolicy` and on its IAM calls.
    pub fn add_principal(&self, access_key_id: &str, user_name: &str, policies: Vec<String>) {
        let arn = format!(
            "arn:aws:iam::{}:user/{user_name}",
            self.inner.caller.account
        );
        self.state()
            .settings
            .principal_policies
            .insert(arn.clone(), policies);
        self.inner
            .principals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                access_key_id.to_string(),
                sts::CallerIdentity {
                    arn,
                    account: self.inner.caller.account.clone(),
                    user_id: iam::random_id("AIDA"),
                },
            );
    }

    fn caller_for(&self, headers: &HeaderMap) -> sts::CallerIdentity {
        let key = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(wire::access_key_id);
        key.and_then(|k| {
            self.inner
                .principals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(k)
                .cloned()
        })
        .unwrap_or_else(|| self.inner.caller.clone())
    }

    /// The OIDC provider registered for exactly this URL, if any.
    pub fn provider(&self, url: &str) -> Option<iam::Provider> {
        self.state().provider_by_url(url).cloned()
    }

    /// A role by name (case-insensitive), if any.
    pub fn role(&self, name: &str) -> Option<iam::Role> {
        self.state().role(name).cloned()
    }

    /// `AssumeRoleWithWebIdentity` from Rust, with exactly the checks the HTTP endpoint makes
    /// (for the sandbox Octopus's account test and deployment-token checks). Faults are not
    /// applied here.
    pub async fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        token: &str,
        session_name: &str,
        duration_seconds: Option<u32>,
    ) -> Result<sts::WebIdentitySession, AwsError> {
        let mut params = Params::default();
        params.insert("RoleArn", role_arn);
        params.insert("RoleSessionName", session_name);
        params.insert("WebIdentityToken", token);
        if let Some(duration) = duration_seconds {
            params.insert("DurationSeconds", &duration.to_string());
        }
        let window = self
            .inner
            .faults
            .consistency_window("iam")
            .max(self.inner.faults.consistency_window("sts"));
        sts::assume_role_with_web_identity(&self.inner.state, &self.inner.issuers, window, &params)
            .await
    }

    async fn dispatch(
        &self,
        service: Service,
        action: &str,
        params: &Params,
        caller: &sts::CallerIdentity,
    ) -> Result<Option<wire::Xml>, AwsError> {
        let window = self.inner.faults.consistency_window(service.name());
        match service {
            Service::Iam => {
                let mut state = self.state();
                state.authorize(&caller.arn, action, params)?;
                state.handle(action, params, window)
            }
            Service::Sts => match action {
                "GetCallerIdentity" => Ok(Some(sts::get_caller_identity(caller))),
                "AssumeRoleWithWebIdentity" => sts::assume_role_with_web_identity(
                    &self.inner.state,
                    &self.inner.issuers,
                    self.inner.faults.consistency_window("iam").max(window),
                    params,
                )
                .await
                .map(|session| Some(sts::session_xml(&session))),
                other => Err(AwsError::sender(
                    StatusCode::BAD_REQUEST,
                    "InvalidAction",
                    format!("Could not find operation {other} for version 2011-06-15"),
                )),
            },
        }
    }
}

fn route(headers: &HeaderMap, params: &Params, action: &str) -> Service {
    let signed = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(wire::signed_service);
    match (signed, params.get("Version")) {
        (Some("sts"), _) => Service::Sts,
        (Some("iam"), _) => Service::Iam,
        (_, Some("2011-06-15")) => Service::Sts,
        (_, Some("2010-05-08")) => Service::Iam,
        _ if STS_ACTIONS.contains(&action) => Service::Sts,
        _ => Service::Iam,
    }
}

async fn handle(
    State(sandbox): State<AwsSandbox>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut params = Params::default();
    if let Some(query) = uri.query() {
        params.parse_into(query);
    }
    params.parse_into(&String::from_utf8_lossy(&body));
    let Some(action) = params.get("Action").map(str::to_string) else {
        let service = route(&headers, &params, "");
        return AwsError::sender(
            StatusCode::BAD_REQUEST,
            "MissingAction",
            "Missing Action parameter",
        )
        .render(service.xmlns(), &request_id);
    };
    let service = route(&headers, &params, &action);
    let signed = headers.contains_key(header::AUTHORIZATION);
    if !signed && action != "AssumeRoleWithWebIdentity" && action != "AssumeRoleWithSAML" {
        return AwsError::sender(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )
        .render(service.xmlns(), &request_id);
    }
    if let Some(fault) = sandbox.inner.faults.before(service.name(), &action).await {
        return render_fault(service, fault, &request_id);
    }
    let caller = sandbox.caller_for(&headers);
    match sandbox.dispatch(service, &action, &params, &caller).await {
        Ok(result) => wire::success(service.xmlns(), &action, result.as_ref(), &request_id),
        Err(error) => {
            tracing::debug!(service = service.name(), %action, code = %error.code, "aws request rejected");
            error.render(service.xmlns(), &request_id)
        }
    }
}

fn render_fault(service: Service, fault: FaultKind, request_id: &str) -> Response {
    let error = match fault {
        FaultKind::Throttle { retry_after_secs } => AwsError::throttling(Some(retry_after_secs)),
        FaultKind::ServerError { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = match (service, status) {
                (_, StatusCode::SERVICE_UNAVAILABLE) => "ServiceUnavailable",
                (Service::Iam, _) => "ServiceFailure",
                (Service::Sts, _) => "InternalFailure",
            };
            AwsError::server(
                status,
                code,
                "The request processing has failed because of an unknown error, exception or failure.",
            )
        }
        FaultKind::DropConnection => return crate::faults::dropped_connection(),
    };
    error.render(service.xmlns(), request_id)
}
