//! [`RestGoogleCloud`]: the [`GoogleCloud`] port over Google's REST APIs — Resource Manager v3
//! (`projects.get`, `testIamPermissions`, the project allow policy), IAM v1 (workload identity
//! pools and providers, service accounts and their allow policies), STS `v1/token` and IAM
//! Credentials `generateAccessToken`.
//!
//! Idempotent like the other clients: every ensure reads first and sends nothing when the
//! resource matches (`Unchanged`); a drifted pool or provider is patched with an `updateMask`
//! naming only the fields that differ; a soft-deleted one (whose id Google will not reuse for
//! 30 days) is undeleted and then patched. Create, patch, delete and undelete answer
//! long-running operations, polled through the core's retry loop under the polling settings
//! ([`RestGoogleCloud::with_operation_polling`]: interval and deadline). Allow policies change
//! by read-modify-write with the etag Google returned; a concurrent change (`ABORTED`) makes the
//! whole read-modify-write run again, through the same loop. Conditional bindings are kept as
//! they are (policy version 3 is requested and written back).
//!
//! Left out: paging (nothing here lists), service-account display-name updates (an existing
//! account is reused as it is), workforce pools and non-OIDC providers.

use std::collections::BTreeMap;
use std::sync::Arc;

use octo_oidc_core::events::ProgressSink;
use octo_oidc_core::gcp::ProviderRef;
use octo_oidc_core::ports::{
    Applied, GcpAccessToken, GcpBinding, GcpLifecycle, GcpOidcTrust, GcpPolicyChange,
    GcpPolicyTarget, GcpPool, GcpPoolSpec, GcpProject, GcpProvider, GcpProviderSpec, GcpRemoval,
    GcpServiceAccount, GcpServiceAccountSpec, GoogleCloud, PortResult,
};
use octo_oidc_core::retry::{CancelToken, Retry, RetryPolicy, RetrySettings};
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_http::{ClientFailure, ClientSettings, json_string, json_strings};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::{CLOUD_PLATFORM_SCOPE, GoogleSignIn};
use crate::error::{GcpError, Service};
use crate::transport::{Auth, GoogleApi, Transport, execute};

/// Where each Google API is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpEndpoints {
    /// IAM v1, `https://iam.googleapis.com`.
    pub iam: String,
    /// Cloud Resource Manager, `https://cloudresourcemanager.googleapis.com`.
    pub resource_manager: String,
    /// Security Token Service, `https://sts.googleapis.com`.
    pub sts: String,
    /// IAM Service Account Credentials, `https://iamcredentials.googleapis.com`.
    pub iam_credentials: String,
}

impl GcpEndpoints {
    /// Google's public endpoints.
    pub fn google() -> GcpEndpoints {
        GcpEndpoints {
            iam: "https://iam.googleapis.com".into(),
            resource_manager: "https://cloudresourcemanager.googleapis.com".into(),
            sts: "https://sts.googleapis.com".into(),
            iam_credentials: "https://iamcredentials.googleapis.com".into(),
        }
    }

    /// Google's endpoints, each replaced by the variable the sandbox's env file sets
    /// (`GCP_IAM_URL`, `GCP_RESOURCE_MANAGER_URL`, `GCP_STS_URL`, `GCP_IAM_CREDENTIALS_URL`)
    /// when `lookup` has it (pass `|k| std::env::var(k).ok()`).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> GcpEndpoints {
        let google = GcpEndpoints::google();
        let pick = |name: &str, default: String| {
            lookup(name)
                .map(|v| v.trim().trim_end_matches('/').to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
        };
        GcpEndpoints {
            iam: pick("GCP_IAM_URL", google.iam),
            resource_manager: pick("GCP_RESOURCE_MANAGER_URL", google.resource_manager),
            sts: pick("GCP_STS_URL", google.sts),
            iam_credentials: pick("GCP_IAM_CREDENTIALS_URL", google.iam_credentials),
        }
    }

    /// Every API on one base URL (the sandbox serves them all on one endpoint).
    pub fn all_at(base: &str) -> GcpEndpoints {
        let base = base.trim_end_matches('/').to_owned();
        GcpEndpoints {
            iam: base.clone(),
            resource_manager: base.clone(),
            sts: base.clone(),
            iam_credentials: base,
        }
    }
}

/// How long-running operations are polled: a patient propagation-style policy and a deadline.
pub fn default_operation_polling() -> RetrySettings {
    RetrySettings {
        transient: RetryPolicy::default(),
        propagation: RetryPolicy {
            initial_delay: std::time::Duration::from_millis(500),
            max_delay: std::time::Duration::from_secs(5),
            max_total_wait: std::time::Duration::from_secs(300),
            max_retries: 200,
        },
        deadline: std::time::Duration::from_secs(330),
    }
}

/// The Google Cloud client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RestGoogleCloud {
    transport: Transport,
    endpoints: GcpEndpoints,
    polling: RetrySettings,
}

fn interrupted_retry(e: &GcpError) -> Retry {
    match e {
        GcpError::OperationPending { .. } => Retry::Propagation,
        _ => Retry::Never,
    }
}

fn lifecycle(v: &Value) -> GcpLifecycle {
    match v["state"].as_str() {
        Some("DELETED") => GcpLifecycle::SoftDeleted {
            expire_time: v["expireTime"].as_str().map(str::to_owned),
        },
        _ => GcpLifecycle::Active,
    }
}

fn pool_from(v: &Value) -> GcpPool {
    GcpPool {
        name: json_string(v, "name"),
        display_name: json_string(v, "displayName"),
        description: json_string(v, "description"),
        disabled: v["disabled"].as_bool().unwrap_or(false),
        lifecycle: lifecycle(v),
    }
}

fn provider_from(v: &Value) -> GcpProvider {
    let oidc = &v["oidc"];
    GcpProvider {
        name: json_string(v, "name"),
        display_name: json_string(v, "displayName"),
        description: json_string(v, "description"),
        disabled: v["disabled"].as_bool().unwrap_or(false),
        lifecycle: lifecycle(v),
        trust: GcpOidcTrust {
            issuer_uri: json_string(oidc, "issuerUri"),
            allowed_audiences: json_strings(oidc, "allowedAudiences"),
            jwks_json: oidc["jwksJson"]
                .as_str()
                .filter(|j| !j.is_empty())
                .map(str::to_owned),
            attribute_mapping: v["attributeMapping"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            attribute_condition: v["attributeCondition"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
        },
    }
}

fn service_account_from(v: &Value) -> GcpServiceAccount {
    GcpServiceAccount {
        email: json_string(v, "email"),
        unique_id: json_string(v, "uniqueId"),
        display_name: json_string(v, "displayName"),
        description: json_string(v, "description"),
    }
}

/// What pools and providers share: `displayName` and `description` that differ from the
/// spec's, and `disabled` when set (the wizard's objects are enabled).
fn named_drift(
    (display_name, description, disabled): (&str, &str, bool),
    (spec_display_name, spec_description): (&str, &str),
) -> Vec<&'static str> {
    let mut mask = Vec::new();
    if display_name != spec_display_name {
        mask.push("displayName");
    }
    if description != spec_description {
        mask.push("description");
    }
    if disabled {
        mask.push("disabled");
    }
    mask
}

/// The fields of a provider that differ from the spec, as `updateMask` paths.
pub fn provider_drift(current: &GcpProvider, spec: &GcpProviderSpec) -> Vec<&'static str> {
    let mut mask = named_drift(
        (
            &current.display_name,
            &current.description,
            current.disabled,
        ),
        (&spec.display_name, &spec.description),
    );
    if current.trust.issuer_uri != spec.trust.issuer_uri {
        mask.push("oidc.issuerUri");
    }
    if current.trust.allowed_audiences != spec.trust.allowed_audiences {
        mask.push("oidc.allowedAudiences");
    }
    if current.trust.jwks_json != spec.trust.jwks_json {
        mask.push("oidc.jwksJson");
    }
    if current.trust.attribute_mapping != spec.trust.attribute_mapping {
        mask.push("attributeMapping");
    }
    if current.trust.attribute_condition != spec.trust.attribute_condition {
        mask.push("attributeCondition");
    }
    mask
}

fn provider_body(spec: &GcpProviderSpec) -> Value {
    let mut oidc = json!({"issuerUri": spec.trust.issuer_uri});
    if !spec.trust.allowed_audiences.is_empty() {
        oidc["allowedAudiences"] = json!(spec.trust.allowed_audiences);
    }
    if let Some(j) = &spec.trust.jwks_json {
        oidc["jwksJson"] = json!(j);
    }
    let mut body = json!({
        "displayName": spec.display_name,
        "description": spec.description,
        "disabled": false,
        "oidc": oidc,
        "attributeMapping": spec.trust.attribute_mapping,
    });
    if let Some(c) = &spec.trust.attribute_condition {
        body["attributeCondition"] = json!(c);
    }
    body
}

/// The canonical code of a `google.rpc.Code` number (operation errors carry the number).
fn canonical(code: i64) -> &'static str {
    match code {
        1 => "CANCELLED",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        14 => "UNAVAILABLE",
        16 => "UNAUTHENTICATED",
        _ => "INTERNAL",
    }
}

/// Applies `change` to a policy's JSON (unconditional bindings only); whether it changed.
pub fn apply_policy_change(policy: &mut Value, change: &GcpPolicyChange) -> bool {
    let mut bindings: Vec<Value> = policy["bindings"].as_array().cloned().unwrap_or_default();
    let mut changed = false;
    let unconditional = |b: &Value, role: &str| b["role"] == role && b.get("condition").is_none();
    for (role, members) in &change.add {
        for member in members {
            let present = bindings.iter().any(|b| {
                unconditional(b, role)
                    && b["members"]
                        .as_array()
                        .is_some_and(|m| m.iter().any(|x| x == member.as_str()))
            });
            if present {
                continue;
            }
            changed = true;
            match bindings.iter_mut().find(|b| unconditional(b, role)) {
                Some(b) => match b["members"].as_array_mut() {
                    Some(m) => m.push(json!(member)),
                    None => b["members"] = json!([member]),
                },
                None => bindings.push(json!({"role": role, "members": [member]})),
            }
        }
    }
    for (role, members) in &change.remove {
        for b in bindings.iter_mut().filter(|b| unconditional(b, role)) {
            if let Some(m) = b["members"].as_array_mut() {
                let before = m.len();
                m.retain(|x| !members.iter().any(|r| x == r.as_str()));
                changed |= m.len() != before;
            }
        }
    }
    bindings.retain(|b| b["members"].as_array().is_some_and(|m| !m.is_empty()));
    policy["bindings"] = Value::Array(bindings);
    changed
}

fn bindings_of(policy: &Value) -> Vec<GcpBinding> {
    policy["bindings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| GcpBinding {
                    role: json_string(b, "role"),
                    members: json_strings(b, "members"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `x@my-project.iam.gserviceaccount.com` → `my-project` (else `-`, "any project").
fn project_of_email(email: &str) -> &str {
    email
        .split_once('@')
        .and_then(|(_, domain)| domain.strip_suffix(".iam.gserviceaccount.com"))
        .unwrap_or("-")
}

impl RestGoogleCloud {
    /// A client signed in with `sign_in`, talking to `endpoints`, with the shared HTTP settings
    /// (a private CA only for a sandbox; Google's certificates are public).
    pub fn new(
        sign_in: GoogleSignIn,
        endpoints: GcpEndpoints,
        settings: &ClientSettings,
    ) -> Result<RestGoogleCloud, GcpError> {
        let http = octo_oidc_http::build_client(settings).map_err(|e| {
            GcpError::Client(ClientFailure::Refused {
                code: ErrorCode::InvalidInput,
                message: e.to_string(),
                hint: "Check the CA bundle file.".into(),
            })
        })?;
        Ok(RestGoogleCloud {
            transport: Transport::for_api(GoogleApi::new(Some(sign_in)), http)
                .with_request_timeout(settings.request_timeout),
            endpoints,
            polling: default_operation_polling(),
        })
    }

    /// Replaces the retry settings of each call.
    pub fn with_retry(mut self, retry: RetrySettings) -> RestGoogleCloud {
        self.transport = self.transport.with_retry(retry);
        self
    }

    /// Replaces how long-running operations are polled (interval policy and deadline).
    pub fn with_operation_polling(mut self, polling: RetrySettings) -> RestGoogleCloud {
        self.polling = polling;
        self
    }

    /// The same client reporting retries and polls to `progress`.
    pub fn reporting_to(&self, progress: Arc<dyn ProgressSink>) -> RestGoogleCloud {
        RestGoogleCloud {
            transport: self.transport.reporting_to(progress),
            ..self.clone()
        }
    }

    /// The same client whose calls end (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(&self, cancel: CancelToken) -> RestGoogleCloud {
        RestGoogleCloud {
            transport: self.transport.cancelled_by(cancel),
            ..self.clone()
        }
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &GcpEndpoints {
        &self.endpoints
    }

    async fn call(
        &self,
        service: Service,
        method: Method,
        url: String,
        body: Option<&Value>,
    ) -> Result<Value, GcpError> {
        let operation = format!(
            "{method} {}",
            url.split_once("/v").map_or(url.as_str(), |(_, p)| p)
        );
        execute(
            &self.transport,
            service,
            &operation,
            Auth::SignedIn,
            |http| {
                let r = http.request(method.clone(), &url);
                match body {
                    Some(b) => r.json(b),
                    None => r,
                }
            },
        )
        .await
    }

    /// GET that maps `NOT_FOUND` to `None`.
    async fn get_optional(&self, service: Service, url: String) -> Result<Option<Value>, GcpError> {
        match self.call(service, Method::GET, url, None).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_status("NOT_FOUND") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Starts an IAM long-running operation and follows it to its end; returns its `response`.
    async fn iam_operation(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
    ) -> Result<Value, GcpError> {
        let operation = self.call(Service::Iam, method, url, body).await?;
        self.wait(operation).await
    }

    /// Follows a long-running operation to its end; returns its `response`.
    async fn wait(&self, operation: Value) -> Result<Value, GcpError> {
        let name = json_string(&operation, "name");
        let first = std::sync::Mutex::new(Some(operation));
        let mut polling = self.transport.calls().clone();
        polling.settings = self.polling;
        let iam = Service::Iam.as_str();
        polling
            .run(iam, &name, interrupted_retry, || {
                let known = first.lock().unwrap_or_else(|p| p.into_inner()).take();
                let name = name.clone();
                async move {
                    let op = match known {
                        Some(op) => op,
                        None => {
                            let url = format!("{}/v1/{name}", self.endpoints.iam);
                            self.call(Service::Iam, Method::GET, url, None).await?
                        }
                    };
                    if op["done"].as_bool() != Some(true) {
                        return Err(GcpError::OperationPending {
                            service: Service::Iam,
                            name,
                        });
                    }
                    if let Some(error) = op.get("error") {
                        return Err(GcpError::Api {
                            service: Service::Iam,
                            operation: format!("operation {name}"),
                            http: 200,
                            status: canonical(error["code"].as_i64().unwrap_or(13)).to_owned(),
                            message: octo_oidc_http::server_text(
                                error["message"].as_str().unwrap_or_default(),
                            ),
                            retry_after: None,
                        });
                    }
                    Ok(op.get("response").cloned().unwrap_or(Value::Null))
                }
            })
            .await
    }

    fn pools_url(&self, project_number: &str) -> String {
        format!(
            "{}/v1/projects/{project_number}/locations/global/workloadIdentityPools",
            self.endpoints.iam
        )
    }

    fn pool_url(&self, project_number: &str, pool_id: &str) -> String {
        format!("{}/{pool_id}", self.pools_url(project_number))
    }

    fn provider_url(&self, p: &ProviderRef) -> String {
        format!(
            "{}/providers/{}",
            self.pool_url(&p.project_number, &p.pool_id),
            p.provider_id
        )
    }

    async fn find_pool_raw(&self, number: &str, pool: &str) -> Result<Option<GcpPool>, GcpError> {
        Ok(self
            .get_optional(Service::Iam, self.pool_url(number, pool))
            .await?
            .map(|v| pool_from(&v)))
    }

    async fn undelete_pool_raw(&self, number: &str, pool: &str) -> Result<GcpPool, GcpError> {
        let url = format!("{}:undelete", self.pool_url(number, pool));
        let response = self
            .iam_operation(Method::POST, url, Some(&json!({})))
            .await?;
        match self.find_pool_raw(number, pool).await? {
            Some(p) => Ok(p),
            None => Ok(pool_from(&response)),
        }
    }

    async fn find_provider_raw(&self, p: &ProviderRef) -> Result<Option<GcpProvider>, GcpError> {
        Ok(self
            .get_optional(Service::Iam, self.provider_url(p))
            .await?
            .map(|v| provider_from(&v)))
    }

    async fn undelete_provider_raw(&self, p: &ProviderRef) -> Result<GcpProvider, GcpError> {
        let url = format!("{}:undelete", self.provider_url(p));
        let response = self
            .iam_operation(Method::POST, url, Some(&json!({})))
            .await?;
        match self.find_provider_raw(p).await? {
            Some(found) => Ok(found),
            None => Ok(provider_from(&response)),
        }
    }

    async fn delete_raw(&self, url: String) -> Result<GcpRemoval, GcpError> {
        let response = self.iam_operation(Method::DELETE, url, None).await?;
        Ok(GcpRemoval::SoftDeleted {
            expire_time: response["expireTime"].as_str().map(str::to_owned),
        })
    }

    fn policy_urls(&self, target: &GcpPolicyTarget) -> (Service, String) {
        match target {
            GcpPolicyTarget::ServiceAccount(email) => (
                Service::Iam,
                format!(
                    "{}/v1/projects/{}/serviceAccounts/{email}",
                    self.endpoints.iam,
                    project_of_email(email)
                ),
            ),
            GcpPolicyTarget::Project(project) => (
                Service::ResourceManager,
                format!("{}/v3/projects/{project}", self.endpoints.resource_manager),
            ),
        }
    }

    async fn read_policy(&self, target: &GcpPolicyTarget) -> Result<Value, GcpError> {
        let (service, url) = self.policy_urls(target);
        self.call(
            service,
            Method::POST,
            format!("{url}:getIamPolicy"),
            Some(&json!({"options": {"requestedPolicyVersion": 3}})),
        )
        .await
    }

    async fn change_policy_once(
        &self,
        target: &GcpPolicyTarget,
        change: &GcpPolicyChange,
    ) -> Result<Applied<Vec<GcpBinding>>, GcpError> {
        let mut policy = self.read_policy(target).await?;
        if !apply_policy_change(&mut policy, change) {
            return Ok(Applied::Unchanged(bindings_of(&policy)));
        }
        if policy["bindings"]
            .as_array()
            .is_some_and(|b| b.iter().any(|b| b.get("condition").is_some()))
        {
            policy["version"] = json!(3);
        }
        let (service, url) = self.policy_urls(target);
        let written = self
            .call(
                service,
                Method::POST,
                format!("{url}:setIamPolicy"),
                Some(&json!({"policy": policy})),
            )
            .await?;
        Ok(Applied::Updated(bindings_of(&written)))
    }
}

impl GoogleCloud for RestGoogleCloud {
    async fn project(&self, project: &str) -> PortResult<GcpProject> {
        let url = format!("{}/v3/projects/{project}", self.endpoints.resource_manager);
        let v = self
            .call(Service::ResourceManager, Method::GET, url, None)
            .await?;
        let number = json_string(&v, "name")
            .strip_prefix("projects/")
            .map(str::to_owned)
            .unwrap_or_default();
        if number.is_empty() {
            return Err(GcpError::Client(ClientFailure::Unexpected {
                service: Service::ResourceManager,
                operation: "GET projects".into(),
                message: "the project has no number".into(),
            })
            .into());
        }
        Ok(GcpProject {
            project_id: json_string(&v, "projectId"),
            project_number: number,
        })
    }

    async fn granted_permissions(
        &self,
        project: &str,
        permissions: &[String],
    ) -> PortResult<Vec<String>> {
        let url = format!(
            "{}/v3/projects/{project}:testIamPermissions",
            self.endpoints.resource_manager
        );
        let v = self
            .call(
                Service::ResourceManager,
                Method::POST,
                url,
                Some(&json!({"permissions": permissions})),
            )
            .await?;
        Ok(json_strings(&v, "permissions"))
    }

    async fn find_pool(&self, project_number: &str, pool_id: &str) -> PortResult<Option<GcpPool>> {
        Ok(self.find_pool_raw(project_number, pool_id).await?)
    }

    async fn ensure_pool(&self, spec: &GcpPoolSpec) -> PortResult<Applied<GcpPool>> {
        let number = &spec.project_number;
        let mut revived = false;
        let current = match self.find_pool_raw(number, &spec.pool_id).await? {
            None => {
                let url = format!(
                    "{}?workloadIdentityPoolId={}",
                    self.pools_url(number),
                    spec.pool_id
                );
                let body =
                    json!({"displayName": spec.display_name, "description": spec.description});
                self.iam_operation(Method::POST, url, Some(&body)).await?;
                let created = self
                    .find_pool_raw(number, &spec.pool_id)
                    .await?
                    .ok_or_else(|| {
                        GcpError::Client(ClientFailure::Unexpected {
                            service: Service::Iam,
                            operation: "create pool".into(),
                            message: "the pool is not there after its operation finished".into(),
                        })
                    })?;
                return Ok(Applied::Created(created));
            }
            Some(p) if matches!(p.lifecycle, GcpLifecycle::SoftDeleted { .. }) => {
                revived = true;
                self.undelete_pool_raw(number, &spec.pool_id).await?
            }
            Some(p) => p,
        };
        let mask = named_drift(
            (
                &current.display_name,
                &current.description,
                current.disabled,
            ),
            (&spec.display_name, &spec.description),
        );
        if mask.is_empty() {
            return Ok(if revived {
                Applied::Updated(current)
            } else {
                Applied::Unchanged(current)
            });
        }
        let url = format!(
            "{}?updateMask={}",
            self.pool_url(number, &spec.pool_id),
            mask.join(",")
        );
        let body = json!({"displayName": spec.display_name, "description": spec.description, "disabled": false});
        self.iam_operation(Method::PATCH, url, Some(&body)).await?;
        let patched = self
            .find_pool_raw(number, &spec.pool_id)
            .await?
            .unwrap_or(current);
        Ok(Applied::Updated(patched))
    }

    async fn delete_pool(&self, project_number: &str, pool_id: &str) -> PortResult<GcpRemoval> {
        match self.find_pool_raw(project_number, pool_id).await? {
            None => Ok(GcpRemoval::AlreadyGone { lifecycle: None }),
            Some(p) if matches!(p.lifecycle, GcpLifecycle::SoftDeleted { .. }) => {
                Ok(GcpRemoval::AlreadyGone {
                    lifecycle: Some(p.lifecycle),
                })
            }
            Some(_) => Ok(self
                .delete_raw(self.pool_url(project_number, pool_id))
                .await?),
        }
    }

    async fn undelete_pool(
        &self,
        project_number: &str,
        pool_id: &str,
    ) -> PortResult<Applied<GcpPool>> {
        match self.find_pool_raw(project_number, pool_id).await? {
            None => Err(GcpError::Api {
                service: Service::Iam,
                operation: "undelete pool".into(),
                http: 404,
                status: "NOT_FOUND".into(),
                message: format!("workload identity pool {pool_id} does not exist (or was purged)"),
                retry_after: None,
            }
            .into()),
            Some(p) if p.lifecycle == GcpLifecycle::Active => Ok(Applied::Unchanged(p)),
            Some(_) => Ok(Applied::Updated(
                self.undelete_pool_raw(project_number, pool_id).await?,
            )),
        }
    }

    async fn find_provider(&self, provider: &ProviderRef) -> PortResult<Option<GcpProvider>> {
        Ok(self.find_provider_raw(provider).await?)
    }

    async fn ensure_provider(&self, spec: &GcpProviderSpec) -> PortResult<Applied<GcpProvider>> {
        let p = &spec.provider;
        let mut revived = false;
        let current = match self.find_provider_raw(p).await? {
            None => {
                let url = format!(
                    "{}/providers?workloadIdentityPoolProviderId={}",
                    self.pool_url(&p.project_number, &p.pool_id),
                    p.provider_id
                );
                self.iam_operation(Method::POST, url, Some(&provider_body(spec)))
                    .await?;
                let created = self.find_provider_raw(p).await?.ok_or_else(|| {
                    GcpError::Client(ClientFailure::Unexpected {
                        service: Service::Iam,
                        operation: "create provider".into(),
                        message: "the provider is not there after its operation finished".into(),
                    })
                })?;
                return Ok(Applied::Created(created));
            }
            Some(found) if matches!(found.lifecycle, GcpLifecycle::SoftDeleted { .. }) => {
                revived = true;
                self.undelete_provider_raw(p).await?
            }
            Some(found) => found,
        };
        let mask = provider_drift(&current, spec);
        if mask.is_empty() {
            return Ok(if revived {
                Applied::Updated(current)
            } else {
                Applied::Unchanged(current)
            });
        }
        let url = format!("{}?updateMask={}", self.provider_url(p), mask.join(","));
        self.iam_operation(Method::PATCH, url, Some(&provider_body(spec)))
            .await?;
        let patched = self.find_provider_raw(p).await?.unwrap_or(current);
        Ok(Applied::Updated(patched))
    }

    async fn delete_provider(&self, provider: &ProviderRef) -> PortResult<GcpRemoval> {
        match self.find_provider_raw(provider).await? {
            None => Ok(GcpRemoval::AlreadyGone { lifecycle: None }),
            Some(p) if matches!(p.lifecycle, GcpLifecycle::SoftDeleted { .. }) => {
                Ok(GcpRemoval::AlreadyGone {
                    lifecycle: Some(p.lifecycle),
                })
            }
            Some(_) => Ok(self.delete_raw(self.provider_url(provider)).await?),
        }
    }

    async fn undelete_provider(&self, provider: &ProviderRef) -> PortResult<Applied<GcpProvider>> {
        match self.find_provider_raw(provider).await? {
            None => Err(GcpError::Api {
                service: Service::Iam,
                operation: "undelete provider".into(),
                http: 404,
                status: "NOT_FOUND".into(),
                message: format!(
                    "workload identity pool provider {} does not exist (or was purged)",
                    provider.provider_id
                ),
                retry_after: None,
            }
            .into()),
            Some(p) if p.lifecycle == GcpLifecycle::Active => Ok(Applied::Unchanged(p)),
            Some(_) => Ok(Applied::Updated(
                self.undelete_provider_raw(provider).await?,
            )),
        }
    }

    async fn find_service_account(&self, email: &str) -> PortResult<Option<GcpServiceAccount>> {
        let url = format!(
            "{}/v1/projects/{}/serviceAccounts/{email}",
            self.endpoints.iam,
            project_of_email(email)
        );
        Ok(self
            .get_optional(Service::Iam, url)
            .await?
            .map(|v| service_account_from(&v)))
    }

    async fn ensure_service_account(
        &self,
        spec: &GcpServiceAccountSpec,
    ) -> PortResult<Applied<GcpServiceAccount>> {
        let project = self.project(&spec.project).await?;
        let email = format!(
            "{}@{}.iam.gserviceaccount.com",
            spec.account_id, project.project_id
        );
        if let Some(found) = self.find_service_account(&email).await? {
            return Ok(Applied::Unchanged(found));
        }
        let url = format!(
            "{}/v1/projects/{}/serviceAccounts",
            self.endpoints.iam, project.project_id
        );
        let body = json!({
            "accountId": spec.account_id,
            "serviceAccount": {"displayName": spec.display_name, "description": spec.description},
        });
        match self
            .call(Service::Iam, Method::POST, url, Some(&body))
            .await
        {
            Ok(v) => Ok(Applied::Created(service_account_from(&v))),
            // Created by a concurrent run (or a resent create): read what is there.
            Err(e) if e.is_status("ALREADY_EXISTS") => self
                .find_service_account(&email)
                .await?
                .map(Applied::Unchanged)
                .ok_or_else(|| e.into()),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_service_account(&self, email: &str) -> PortResult<GcpRemoval> {
        let url = format!(
            "{}/v1/projects/{}/serviceAccounts/{email}",
            self.endpoints.iam,
            project_of_email(email)
        );
        match self.call(Service::Iam, Method::DELETE, url, None).await {
            Ok(_) => Ok(GcpRemoval::Deleted),
            Err(e) if e.is_status("NOT_FOUND") => Ok(GcpRemoval::AlreadyGone { lifecycle: None }),
            Err(e) => Err(e.into()),
        }
    }

    async fn policy_bindings(&self, target: &GcpPolicyTarget) -> PortResult<Vec<GcpBinding>> {
        Ok(bindings_of(&self.read_policy(target).await?))
    }

    async fn change_policy(
        &self,
        target: &GcpPolicyTarget,
        change: &GcpPolicyChange,
    ) -> PortResult<Applied<Vec<GcpBinding>>> {
        let name = match target {
            GcpPolicyTarget::ServiceAccount(e) => format!("setIamPolicy serviceAccounts/{e}"),
            GcpPolicyTarget::Project(p) => format!("setIamPolicy projects/{p}"),
        };
        let service = match target {
            GcpPolicyTarget::ServiceAccount(_) => Service::Iam,
            GcpPolicyTarget::Project(_) => Service::ResourceManager,
        };
        // A concurrent writer changed the policy after our read (`ABORTED`): read and apply
        // again. Everything else already went through the transport's retries.
        let aborted = |e: &GcpError| {
            if e.is_status("ABORTED") {
                Retry::Transient
            } else {
                Retry::Never
            }
        };
        let calls = self.transport.calls();
        Ok(calls
            .run(service.as_str(), &name, aborted, || {
                self.change_policy_once(target, change)
            })
            .await?)
    }

    async fn exchange_token(&self, audience: &str, subject_token: &Secret) -> PortResult<Secret> {
        let url = format!("{}/v1/token", self.endpoints.sts);
        let v = execute(
            &self.transport,
            Service::Sts,
            "POST v1/token",
            Auth::None,
            |http| {
                http.post(&url).form(&[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("audience", audience),
                    ("scope", CLOUD_PLATFORM_SCOPE),
                    (
                        "requested_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                    ("subject_token", subject_token.expose()),
                    ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
                ])
            },
        )
        .await?;
        v["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| {
                GcpError::Client(ClientFailure::Unexpected {
                    service: Service::Sts,
                    operation: "POST v1/token".into(),
                    message: "the answer has no access_token".into(),
                })
                .into()
            })
    }

    async fn generate_access_token(
        &self,
        federated_token: &Secret,
        email: &str,
        lifetime_secs: u32,
    ) -> PortResult<GcpAccessToken> {
        let url = format!(
            "{}/v1/projects/-/serviceAccounts/{email}:generateAccessToken",
            self.endpoints.iam_credentials
        );
        let body =
            json!({"scope": [CLOUD_PLATFORM_SCOPE], "lifetime": format!("{lifetime_secs}s")});
        let v = execute(
            &self.transport,
            Service::IamCredentials,
            "POST generateAccessToken",
            Auth::Bearer(federated_token),
            |http| http.post(&url).json(&body),
        )
        .await?;
        let token = v["accessToken"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                GcpError::Client(ClientFailure::Unexpected {
                    service: Service::IamCredentials,
                    operation: "POST generateAccessToken".into(),
                    message: "the answer has no accessToken".into(),
                })
            })?;
        Ok(GcpAccessToken {
            token: Secret::new(token),
            expire_time: json_string(&v, "expireTime"),
        })
    }
}

/// Role → members, for building a [`GcpPolicyChange`].
pub fn role_members(role: &str, members: &[String]) -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([(role.to_owned(), members.to_vec())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_changes_keep_other_bindings_and_conditions() {
        let mut policy = json!({
            "etag": "BwX",
            "bindings": [
                {"role": "roles/viewer", "members": ["user:a@example.com"]},
                {"role": "roles/iam.workloadIdentityUser", "members": ["principal://x"],
                 "condition": {"expression": "true"}},
            ]
        });
        let change = GcpPolicyChange {
            add: role_members("roles/iam.workloadIdentityUser", &["principal://y".into()]),
            remove: role_members("roles/viewer", &["user:a@example.com".into()]),
        };
        assert!(apply_policy_change(&mut policy, &change));
        let b = policy["bindings"].as_array().unwrap();
        assert_eq!(b.len(), 2, "{policy}");
        assert_eq!(b[0]["condition"]["expression"], "true");
        assert_eq!(b[1]["members"], json!(["principal://y"]));
        assert_eq!(policy["etag"], "BwX");
        assert!(!apply_policy_change(&mut policy, &change), "second time");
    }

    #[test]
    fn endpoints_come_from_the_sandbox_variables_or_default_to_google() {
        let vars = |k: &str| (k == "GCP_STS_URL").then(|| "https://127.0.0.1:9/".to_owned());
        let e = GcpEndpoints::from_vars(vars);
        assert_eq!(e.sts, "https://127.0.0.1:9");
        assert_eq!(e.iam, GcpEndpoints::google().iam);
    }

    #[test]
    fn service_account_emails_name_their_project() {
        assert_eq!(
            project_of_email("octo@my-proj.iam.gserviceaccount.com"),
            "my-proj"
        );
        assert_eq!(project_of_email("someone@example.com"), "-");
    }
}
