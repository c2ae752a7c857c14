//! `SdkIam`: the [`Iam`] port on aws-sdk-iam / aws-sdk-sts.
//!
//! Every ensure operation observes first and changes only what differs, so a second run with
//! the same spec sends no mutating call and answers [`Applied::Unchanged`]. OIDC providers are
//! matched by exact URL (the ARN suffix after `oidc-provider/`); roles by name. Objects this
//! client creates are tagged by the caller's spec (`octo-oidc:setup=<id>`); existing objects
//! are never tagged, so a cleanup by tag cannot delete something the wizard did not create.
//! Lookups return what drift detection compares: a provider's tags (`GetOpenIDConnectProvider`),
//! a role's tags and description (`GetRole`), attached policies (`ListAttachedRolePolicies`)
//! and inline policy documents (`ListRolePolicies` + `GetRolePolicy`).
//!
//! Retries go through the core's one loop ([`octo_oidc_core::retry::run`] on
//! [`octo_oidc_http::TokioTimer`], with an overall deadline per call and cancellation): transient failures
//! (throttling, 5xx, timeouts) with the transient policy; IAM's propagation errors
//! (`MalformedPolicyDocument` naming a provider that exists but is not yet visible,
//! `AccessDenied` on the first assume after a trust change) with the patient propagation
//! policy; an endpoint whose name does not resolve once more at most. Each retry is reported
//! as a `ProgressEvent::Retrying` on the client's sink ([`SdkIam::reporting_to`] gives a
//! connected client a new one). SDK-level retries are off (see [`crate::connect`]).
//!
//! Deliberately absent: customer managed policies (`CreatePolicy`), permission boundaries,
//! detaching policies the spec does not name (they may belong to someone else).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Tag;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use octo_oidc_core::aws::TrustPolicy;
use octo_oidc_core::aws::policy::PrincipalSpec;
use octo_oidc_core::error::FieldError;
use octo_oidc_core::events::ProgressSink;
pub use octo_oidc_core::ports::AssumedRole;
use octo_oidc_core::ports::{
    Applied, Iam, IamRole, OidcProvider, OidcProviderSpec, PortResult, RoleSpec,
};
use octo_oidc_core::retry::{CancelToken, Interrupted, Retry, RetryPolicy, RetryableFailure};
use octo_oidc_core::validate::Validator;
use octo_oidc_core::{ErrorCode, Problem, Secret};
use octo_oidc_http::CallLoop;
use serde::{Deserialize, Serialize};

use crate::connect::AwsConnection;
use crate::error::{CallFailure, call_failure};

/// The classification for most calls: an unresolved endpoint once more at most, other
/// transient failures (throttling, 5xx, timeouts) under the transient policy.
fn transient_only(failure: &CallFailure) -> Retry {
    Retry::by_code(failure.code, failure.name_not_resolved)
}

/// A failed call or an interrupted operation, inside the core's loop.
#[derive(Debug)]
enum Attempted {
    Failed(CallFailure),
    Interrupted(Interrupted),
}

impl std::fmt::Display for Attempted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The AWS message, not the service/operation prefix the event carries anyway.
            Attempted::Failed(failure) => f.write_str(&failure.detail),
            Attempted::Interrupted(interrupted) => interrupted.fmt(f),
        }
    }
}

impl RetryableFailure for Attempted {
    fn code(&self) -> ErrorCode {
        match self {
            Attempted::Failed(failure) => failure.code,
            Attempted::Interrupted(interrupted) => interrupted.code(),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Attempted::Failed(failure) => failure.retry_after,
            Attempted::Interrupted(_) => None,
        }
    }
}

impl From<Interrupted> for Attempted {
    fn from(interrupted: Interrupted) -> Self {
        Attempted::Interrupted(interrupted)
    }
}

/// What `ensure_role` would change on an existing role (for the wizard's diff view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDiff {
    /// The role's ARN, if it exists.
    pub existing_arn: Option<String>,
    /// The current trust policy, pretty-printed (`None` if the role does not exist).
    pub trust_policy_before: Option<String>,
    /// The trust policy the spec asks for, pretty-printed.
    pub trust_policy_after: String,
    /// Whether the trust policy would change.
    pub trust_policy_changes: bool,
    /// Current MaxSessionDuration, if the role exists.
    pub max_session_duration_before: Option<u32>,
    /// Requested MaxSessionDuration.
    pub max_session_duration_after: u32,
    /// Managed policies that would be attached.
    pub policies_to_attach: Vec<String>,
    /// Inline policies that would be created or replaced.
    pub inline_policies_to_put: Vec<String>,
}

impl RoleDiff {
    /// Whether applying the spec would change anything.
    pub fn is_empty(&self) -> bool {
        self.existing_arn.is_some()
            && !self.trust_policy_changes
            && self.max_session_duration_before == Some(self.max_session_duration_after)
            && self.policies_to_attach.is_empty()
            && self.inline_policies_to_put.is_empty()
    }
}

/// A managed policy a role may attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicy {
    /// Its name, e.g. `ReadOnlyAccess`.
    pub name: String,
    /// Its ARN, what the setup file names.
    pub arn: String,
    /// AWS managed (`arn:aws:iam::aws:policy/…`) rather than the account's own.
    pub aws_managed: bool,
}

/// The object `find` sees (as `Unchanged`), else the one `create` makes (`Created`); when
/// someone created it between our look and our create (`EntityAlreadyExists`), theirs, found
/// again.
async fn find_or_create<T, E, Found, Made>(
    find: impl Fn() -> Found,
    create: impl FnOnce() -> Made,
) -> PortResult<Applied<T>>
where
    E: Into<Problem>,
    Found: Future<Output = Result<Option<T>, E>>,
    Made: Future<Output = Result<T, CallFailure>>,
{
    if let Some(existing) = find().await.map_err(Into::into)? {
        return Ok(Applied::Unchanged(existing));
    }
    match create().await {
        Ok(created) => Ok(Applied::Created(created)),
        Err(failure) if failure.is("EntityAlreadyExists") => find()
            .await
            .map_err(Into::into)?
            .map(Applied::Unchanged)
            .ok_or_else(|| failure.into_problem()),
        Err(failure) => Err(failure.into_problem()),
    }
}

/// The marker of a listing's next page: its `Marker` while it is truncated.
fn next_marker(is_truncated: bool, marker: Option<&str>) -> Option<String> {
    marker.filter(|_| is_truncated).map(str::to_owned)
}

/// The provider `spec` asks for, created as `arn`.
fn provider_from_spec(arn: String, spec: &OidcProviderSpec) -> OidcProvider {
    OidcProvider {
        arn,
        url: spec.url.clone(),
        client_ids: spec.client_ids.clone(),
        thumbprints: spec.thumbprints.clone(),
        tags: spec.tags.clone(),
    }
}

/// IAM and STS through the AWS SDK.
#[derive(Clone)]
pub struct SdkIam {
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    connection: AwsConnection,
    calls: CallLoop,
}

impl std::fmt::Debug for SdkIam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkIam")
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

impl SdkIam {
    /// Clients on a loaded connection, with the default retry policies and no progress sink.
    pub fn new(connection: &AwsConnection) -> SdkIam {
        SdkIam {
            iam: aws_sdk_iam::Client::new(connection.sdk_config()),
            sts: aws_sdk_sts::Client::new(connection.sdk_config()),
            connection: connection.clone(),
            calls: CallLoop::default(),
        }
    }

    /// Replaces the policy for transient failures.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.calls.settings.transient = policy;
        self
    }

    /// Replaces the policy for IAM propagation errors.
    pub fn with_propagation_policy(mut self, policy: RetryPolicy) -> Self {
        self.calls.settings.propagation = policy;
        self
    }

    /// The overall deadline of one call (all attempts and waits).
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.calls.settings.deadline = deadline;
        self
    }

    /// The same clients reporting retries to `progress` (cheap: the SDK clients are shared):
    /// at construction, or so a connected client reports on the channel of a later step.
    pub fn reporting_to(&self, progress: Arc<dyn ProgressSink>) -> Self {
        SdkIam {
            calls: self.calls.reporting_to(progress),
            ..self.clone()
        }
    }

    /// The same clients whose calls end (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(&self, cancel: CancelToken) -> Self {
        SdkIam {
            calls: self.calls.cancelled_by(cancel),
            ..self.clone()
        }
    }

    /// Runs one SDK call through the core's retry loop.
    async fn call<T, F, Fut>(
        &self,
        service: &'static str,
        operation: &'static str,
        classify: impl Fn(&CallFailure) -> Retry,
        send: F,
    ) -> Result<T, CallFailure>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, CallFailure>>,
    {
        let classify = |attempted: &Attempted| match attempted {
            Attempted::Failed(failure) => classify(failure),
            Attempted::Interrupted(_) => Retry::Never,
        };
        let result = self
            .calls
            .run(service, operation, classify, || {
                let attempt = send();
                async move { attempt.await.map_err(Attempted::Failed) }
            })
            .await;
        result.map_err(|attempted| match attempted {
            Attempted::Failed(failure) => failure,
            Attempted::Interrupted(interrupted) => CallFailure {
                service,
                operation,
                code: interrupted.code(),
                aws_code: None,
                detail: interrupted.to_string(),
                retry_after: None,
                name_not_resolved: false,
                status: None,
            },
        })
    }

    /// One IAM request through [`Self::call`] under [`transient_only`]: `send` builds and
    /// sends it (again for each attempt); an SDK error becomes the [`CallFailure`] of
    /// `operation`.
    async fn iam_call<T, E, Fut>(
        &self,
        operation: &'static str,
        send: impl Fn(&aws_sdk_iam::Client) -> Fut,
    ) -> Result<T, CallFailure>
    where
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.call("iam", operation, transient_only, || async {
            send(&self.iam)
                .await
                .map_err(|e| call_failure("iam", operation, &e))
        })
        .await
    }

    async fn list_provider_arns(&self) -> Result<Vec<String>, CallFailure> {
        let out = self
            .iam_call("ListOpenIDConnectProviders", |iam| {
                iam.list_open_id_connect_providers().send()
            })
            .await?;
        Ok(out
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn().map(str::to_string))
            .collect())
    }

    async fn get_provider(&self, arn: &str, url: &str) -> Result<OidcProvider, CallFailure> {
        let out = self
            .iam_call("GetOpenIDConnectProvider", |iam| {
                iam.get_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .send()
            })
            .await?;
        Ok(OidcProvider {
            arn: arn.to_string(),
            url: url.to_string(),
            client_ids: out.client_id_list().to_vec(),
            thumbprints: out.thumbprint_list().to_vec(),
            tags: tag_map(out.tags()),
        })
    }

    async fn create_provider(&self, spec: &OidcProviderSpec) -> Result<String, CallFailure> {
        let tags = tags(&spec.tags)?;
        let thumbprints = Some(spec.thumbprints.clone()).filter(|t| !t.is_empty());
        let out = self
            .iam_call("CreateOpenIDConnectProvider", |iam| {
                iam.create_open_id_connect_provider()
                    .url(&spec.url)
                    .set_client_id_list(Some(spec.client_ids.clone()))
                    .set_tags(Some(tags.clone()).filter(|t| !t.is_empty()))
                    .set_thumbprint_list(thumbprints.clone())
                    .send()
            })
            .await?;
        Ok(out
            .open_id_connect_provider_arn()
            .unwrap_or_default()
            .to_string())
    }

    async fn add_client_id(&self, provider: &OidcProvider, client_id: &str) -> PortResult<()> {
        // A 5xx without an AWS error code is not IAM's wire format: an emulator that does not
        // implement the operation (moto answers NotImplementedError). Do not retry that.
        let classify = |f: &CallFailure| {
            if f.aws_code.is_none() && f.code == ErrorCode::RemoteUnavailable {
                Retry::Never
            } else {
                transient_only(f)
            }
        };
        let sent = self
            .call(
                "iam",
                "AddClientIDToOpenIDConnectProvider",
                classify,
                || async {
                    self.iam
                        .add_client_id_to_open_id_connect_provider()
                        .open_id_connect_provider_arn(&provider.arn)
                        .client_id(client_id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| call_failure("iam", "AddClientIDToOpenIDConnectProvider", &e))
                },
            )
            .await;
        let Err(failure) = sent else {
            return Ok(());
        };
        if failure.aws_code.is_some() {
            return Err(failure.into_problem());
        }
        // Fall back to checking: maybe the id is there after all (another writer).
        let now = self.get_provider(&provider.arn, &provider.url).await?;
        if now.client_ids.iter().any(|id| id == client_id) {
            return Ok(());
        }
        Err(Problem::new(
            ErrorCode::RemoteUnavailable,
            format!(
                "The IAM endpoint could not add the audience '{client_id}' to {} ({})",
                provider.arn, failure.detail
            ),
        )
        .with_hint(format!(
            "Add '{client_id}' to the provider's audiences by hand (IAM console → Identity providers → {} → Add audience), then run the setup again.",
            provider.url
        )))
    }

    async fn get_role(&self, name: &str) -> Result<Option<IamRole>, CallFailure> {
        let found = self
            .iam_call("GetRole", |iam| iam.get_role().role_name(name).send())
            .await;
        let out = match found {
            Ok(out) => out,
            Err(failure) if failure.code == ErrorCode::NotFound => return Ok(None),
            Err(failure) => return Err(failure),
        };
        let Some(role) = out.role() else {
            return Ok(None);
        };
        let encoded = role.assume_role_policy_document().unwrap_or_default();
        let trust_policy = percent_encoding::percent_decode_str(encoded)
            .decode_utf8_lossy()
            .into_owned();
        Ok(Some(IamRole {
            arn: role.arn().to_string(),
            name: role.role_name().to_string(),
            trust_policy,
            max_session_duration: role
                .max_session_duration()
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or(3600),
            description: role.description().map(str::to_string),
            tags: tag_map(role.tags()),
            managed_policy_arns: Vec::new(),
            inline_policies: BTreeMap::new(),
        }))
    }

    /// The role with its attached and inline policies; `None` when it does not exist (also
    /// when it disappears between the calls).
    async fn describe_role(&self, name: &str) -> Result<Option<IamRole>, CallFailure> {
        let Some(mut role) = self.get_role(name).await? else {
            return Ok(None);
        };
        let described: Result<(), CallFailure> = async {
            role.managed_policy_arns = self.attached_policies(name).await?;
            for policy in self.inline_policy_names(name).await? {
                if let Some(document) = self.inline_policy(name, &policy).await? {
                    role.inline_policies.insert(policy, document);
                }
            }
            Ok(())
        }
        .await;
        match described {
            Ok(()) => Ok(Some(role)),
            Err(failure) if failure.code == ErrorCode::NotFound => Ok(None),
            Err(failure) => Err(failure),
        }
    }

    /// Whether every OIDC provider the trust policy names exists (so a
    /// `MalformedPolicyDocument` about it is propagation, not a mistake).
    async fn federated_principals_exist(&self, trust_policy: &str) -> bool {
        let Ok(policy) = TrustPolicy::parse(trust_policy) else {
            return false;
        };
        let wanted: Vec<String> = policy
            .statements
            .iter()
            .flat_map(|s| match &s.principal {
                PrincipalSpec::Principal(p) | PrincipalSpec::NotPrincipal(p) => p.federated.clone(),
            })
            .filter(|arn| arn.contains(":oidc-provider/"))
            .collect();
        if wanted.is_empty() {
            return false;
        }
        match self.list_provider_arns().await {
            Ok(existing) => wanted.iter().all(|arn| existing.contains(arn)),
            Err(_) => false,
        }
    }

    /// Sends a trust-policy-carrying call, retrying `MalformedPolicyDocument` while a provider
    /// it names exists but is not yet visible to IAM's policy validation.
    async fn with_trust_propagation<T, F, Fut>(
        &self,
        operation: &'static str,
        trust_policy: &str,
        send: F,
    ) -> Result<T, CallFailure>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, CallFailure>>,
    {
        let failure = match self.call("iam", operation, transient_only, &send).await {
            Err(failure) if failure.is("MalformedPolicyDocument") => failure,
            other => return other,
        };
        if !self.federated_principals_exist(trust_policy).await {
            return Err(failure);
        }
        // The provider exists but IAM's policy validation does not see it yet: hand over to
        // the propagation policy.
        let classify = |f: &CallFailure| {
            if f.is("MalformedPolicyDocument") {
                Retry::Propagation
            } else {
                transient_only(f)
            }
        };
        self.call("iam", operation, classify, &send).await
    }

    async fn attached_policies(&self, name: &str) -> Result<Vec<String>, CallFailure> {
        self.iam_pages(
            "ListAttachedRolePolicies",
            |iam, marker| {
                iam.list_attached_role_policies()
                    .role_name(name)
                    .set_marker(marker)
                    .send()
            },
            |page| {
                let arns = page
                    .attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string))
                    .collect();
                (arns, next_marker(page.is_truncated(), page.marker()))
            },
        )
        .await
    }

    /// Every item of a `Marker`-paged IAM listing, all pages in one call through the loop:
    /// `send` sends the request for a marker (none for the first page), `read` gives a page's
    /// items and the next page's marker (none on the last page).
    async fn iam_pages<T, Out, E, Fut>(
        &self,
        operation: &'static str,
        send: impl Fn(&aws_sdk_iam::Client, Option<String>) -> Fut,
        read: impl Fn(Out) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>, CallFailure>
    where
        Fut: Future<Output = Result<Out, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.call("iam", operation, transient_only, || async {
            let mut items = Vec::new();
            let mut marker = None;
            loop {
                let page = send(&self.iam, marker.take())
                    .await
                    .map_err(|e| call_failure("iam", operation, &e))?;
                let (page_items, next) = read(page);
                items.extend(page_items);
                match next {
                    Some(next) => marker = Some(next),
                    None => return Ok(items),
                }
            }
        })
        .await
    }

    async fn inline_policy_names(&self, name: &str) -> Result<Vec<String>, CallFailure> {
        let out = self
            .iam_call("ListRolePolicies", |iam| {
                iam.list_role_policies().role_name(name).send()
            })
            .await?;
        Ok(out.policy_names().to_vec())
    }

    async fn inline_policy(&self, role: &str, policy: &str) -> Result<Option<String>, CallFailure> {
        let got = self
            .iam_call("GetRolePolicy", |iam| {
                iam.get_role_policy()
                    .role_name(role)
                    .policy_name(policy)
                    .send()
            })
            .await;
        match got {
            Ok(out) => Ok(Some(
                percent_encoding::percent_decode_str(out.policy_document())
                    .decode_utf8_lossy()
                    .into_owned(),
            )),
            Err(failure) if failure.code == ErrorCode::NotFound => Ok(None),
            Err(failure) => Err(failure),
        }
    }

    /// Attaches the spec's managed policies `role` lacks and puts its inline policies that
    /// differ, keeping `role` up to date; returns whether anything was sent.
    async fn converge_policies(
        &self,
        spec: &RoleSpec,
        role: &mut IamRole,
    ) -> Result<bool, CallFailure> {
        let mut changed = false;
        for arn in &spec.managed_policy_arns {
            if role.managed_policy_arns.contains(arn) {
                continue;
            }
            self.iam_call("AttachRolePolicy", |iam| {
                iam.attach_role_policy()
                    .role_name(&spec.name)
                    .policy_arn(arn)
                    .send()
            })
            .await?;
            role.managed_policy_arns.push(arn.clone());
            changed = true;
        }
        for (policy_name, document) in &spec.inline_policies {
            let current = role.inline_policies.get(policy_name);
            if current.is_some_and(|c| same_json(c, document)) {
                continue;
            }
            self.iam_call("PutRolePolicy", |iam| {
                iam.put_role_policy()
                    .role_name(&spec.name)
                    .policy_name(policy_name)
                    .policy_document(document)
                    .send()
            })
            .await?;
            role.inline_policies
                .insert(policy_name.clone(), document.clone());
            changed = true;
        }
        Ok(changed)
    }

    /// The managed policies a role may attach (`ListPolicies`, every page): AWS managed and
    /// customer managed (`Scope=All`, attachable only), sorted by name, for the wizard's
    /// policy picker.
    pub async fn list_policies(&self) -> PortResult<Vec<ManagedPolicy>> {
        let listed = self
            .iam_pages(
                "ListPolicies",
                |iam, marker| {
                    iam.list_policies()
                        .scope(aws_sdk_iam::types::PolicyScopeType::All)
                        .max_items(1000)
                        .set_marker(marker)
                        .send()
                },
                |page| {
                    let policies = page
                        .policies()
                        .iter()
                        .filter(|policy| policy.is_attachable())
                        .map(|policy| {
                            let arn = policy.arn().unwrap_or_default().to_string();
                            ManagedPolicy {
                                aws_managed: arn.starts_with("arn:aws:iam::aws:policy/")
                                    || arn.contains(":iam::aws:policy/"),
                                name: policy.policy_name().unwrap_or_default().to_string(),
                                arn,
                            }
                        })
                        .collect();
                    (policies, next_marker(page.is_truncated(), page.marker()))
                },
            )
            .await;
        let mut policies = listed.map_err(|f| f.into_problem())?;
        policies.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.arn.cmp(&b.arn)));
        Ok(policies)
    }

    /// `CreateRole` (tagged, retried while the provider its trust policy names is not yet
    /// visible), then the spec's policies. `EntityAlreadyExists` comes back as it is.
    async fn create_role_with_policies(&self, spec: &RoleSpec) -> Result<IamRole, CallFailure> {
        let tags = tags(&spec.tags)?;
        let out = self
            .with_trust_propagation("CreateRole", &spec.trust_policy, || async {
                self.iam
                    .create_role()
                    .role_name(&spec.name)
                    .assume_role_policy_document(&spec.trust_policy)
                    .max_session_duration(duration_i32(spec.max_session_duration))
                    .set_description(spec.description.clone())
                    .set_tags(Some(tags.clone()).filter(|t| !t.is_empty()))
                    .send()
                    .await
                    .map_err(|e| call_failure("iam", "CreateRole", &e))
            })
            .await?;
        let mut role = IamRole {
            arn: out.role().map(|r| r.arn().to_string()).unwrap_or_default(),
            name: spec.name.clone(),
            trust_policy: spec.trust_policy.clone(),
            max_session_duration: spec.max_session_duration,
            description: spec.description.clone(),
            tags: spec.tags.clone(),
            managed_policy_arns: Vec::new(),
            inline_policies: BTreeMap::new(),
        };
        self.converge_policies(spec, &mut role).await?;
        Ok(role)
    }

    /// What [`Iam::ensure_role`] would change, without changing anything.
    pub async fn role_diff(&self, spec: &RoleSpec) -> PortResult<RoleDiff> {
        validate_role_spec(spec)?;
        let existing = self.describe_role(&spec.name).await?;
        let (policies_to_attach, inline_policies_to_put) = match &existing {
            None => (
                spec.managed_policy_arns.clone(),
                spec.inline_policies.keys().cloned().collect(),
            ),
            Some(role) => (
                spec.managed_policy_arns
                    .iter()
                    .filter(|arn| !role.managed_policy_arns.contains(arn))
                    .cloned()
                    .collect(),
                spec.inline_policies
                    .iter()
                    .filter(|(name, document)| {
                        !role
                            .inline_policies
                            .get(*name)
                            .is_some_and(|c| same_json(c, document))
                    })
                    .map(|(name, _)| name.clone())
                    .collect(),
            ),
        };
        Ok(RoleDiff {
            existing_arn: existing.as_ref().map(|r| r.arn.clone()),
            trust_policy_before: existing.as_ref().map(|r| pretty(&r.trust_policy)),
            trust_policy_after: pretty(&spec.trust_policy),
            trust_policy_changes: existing
                .as_ref()
                .is_none_or(|r| !same_json(&r.trust_policy, &spec.trust_policy)),
            max_session_duration_before: existing.as_ref().map(|r| r.max_session_duration),
            max_session_duration_after: spec.max_session_duration,
            policies_to_attach,
            inline_policies_to_put,
        })
    }

    /// `GetAccountSummary` → `AssumeRolePolicySizeQuota` (the trust policy length limit).
    pub async fn trust_policy_size_quota(&self) -> PortResult<usize> {
        let out = self
            .iam_call("GetAccountSummary", |iam| iam.get_account_summary().send())
            .await?;
        let quota = out
            .summary_map()
            .and_then(|m| m.get(&aws_sdk_iam::types::SummaryKeyType::AssumeRolePolicySizeQuota))
            .copied()
            .unwrap_or(2048);
        Ok(usize::try_from(quota).unwrap_or(2048))
    }

    /// `SimulatePrincipalPolicy` for the caller: each action and whether it is allowed.
    pub async fn simulate(
        &self,
        principal_arn: &str,
        actions: &[&str],
    ) -> PortResult<Vec<(String, bool)>> {
        let out = self
            .iam_call("SimulatePrincipalPolicy", |iam| {
                iam.simulate_principal_policy()
                    .policy_source_arn(principal_arn)
                    .set_action_names(Some(actions.iter().map(|a| a.to_string()).collect()))
                    .send()
            })
            .await?;
        Ok(out
            .evaluation_results()
            .iter()
            .map(|r| {
                (
                    r.eval_action_name().to_string(),
                    r.eval_decision() == &aws_sdk_iam::types::PolicyEvaluationDecisionType::Allowed,
                )
            })
            .collect())
    }
}

/// Whether a trust policy (JSON) names `provider_arn` as a `Federated` principal.
fn trusts_federated(policy: &str, provider_arn: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    statements
        .iter()
        .any(|s| match &s["Principal"]["Federated"] {
            serde_json::Value::String(v) => v == provider_arn,
            serde_json::Value::Array(a) => a.iter().any(|v| v.as_str() == Some(provider_arn)),
            _ => false,
        })
}

impl Iam for SdkIam {
    /// `SimulatePrincipalPolicy`, one call with every action and every resource ARN asked
    /// about (IAM evaluates each action on each resource; pairs nobody asked about are left
    /// out of the answer). Decisions are read per resource from `ResourceSpecificResults`
    /// (IAM's current answer: one result per action), else from the result's own resource
    /// (one result per pair); an aggregate without either stands for every resource asked
    /// (it is the most restrictive of them, so it never grants too much). Asked once, never
    /// retried: the preflight is advice, and a failure (no permission to simulate, a service
    /// that lacks the call) makes its answers unknown, not late. An endpoint that does not
    /// implement the action (moto answers a bare 500) is `UnsupportedVersion`, saying so.
    async fn simulate_principal_policy(
        &self,
        principal_arn: &str,
        requests: &[(String, String)],
    ) -> PortResult<Vec<octo_oidc_core::preflight::IamDecision>> {
        let mut actions: Vec<String> = Vec::new();
        let mut resources: Vec<String> = Vec::new();
        for (action, resource) in requests {
            if !actions.contains(action) {
                actions.push(action.clone());
            }
            if !resources.contains(resource) {
                resources.push(resource.clone());
            }
        }
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .call(
                "iam",
                "SimulatePrincipalPolicy",
                |_| Retry::Never,
                || async {
                    self.iam
                        .simulate_principal_policy()
                        .policy_source_arn(principal_arn)
                        .set_action_names(Some(actions.clone()))
                        .set_resource_arns(Some(resources.clone()))
                        .max_items(1000)
                        .send()
                        .await
                        .map_err(|e| call_failure("iam", "SimulatePrincipalPolicy", &e))
                },
            )
            .await
            .map_err(|failure| match failure.is_unimplemented() {
                true => Problem::new(
                    ErrorCode::UnsupportedVersion,
                    format!(
                        "the IAM endpoint does not implement SimulatePrincipalPolicy ({})",
                        failure.detail
                    ),
                ),
                false => failure.into_problem(),
            })?;
        let asked = |action: &str, resource: &str| {
            requests
                .iter()
                .any(|(a, r)| a.eq_ignore_ascii_case(action) && r == resource)
        };
        let mut decisions = Vec::new();
        for r in out.evaluation_results() {
            let action = r.eval_action_name();
            let decision =
                |resource: &str, decision: &str| octo_oidc_core::preflight::IamDecision {
                    action: action.to_string(),
                    resource: resource.to_string(),
                    decision: decision.to_string(),
                };
            let specific = r.resource_specific_results();
            if !specific.is_empty() {
                decisions.extend(specific.iter().map(|s| {
                    decision(s.eval_resource_name(), s.eval_resource_decision().as_str())
                }));
            } else if let Some(resource) = r.eval_resource_name() {
                decisions.push(decision(resource, r.eval_decision().as_str()));
            } else {
                decisions.extend(
                    resources
                        .iter()
                        .map(|resource| decision(resource, r.eval_decision().as_str())),
                );
            }
        }
        decisions.retain(|d| asked(&d.action, &d.resource) || d.resource == "*");
        Ok(decisions)
    }

    /// `GetCallerIdentity` through the same retry loop as every IAM call (throttling, 5xx
    /// and dropped connections are retried; credential failures are not).
    async fn caller_identity(&self) -> PortResult<(String, String)> {
        let sts = aws_sdk_sts::Client::new(self.connection.sdk_config());
        self.call("sts", "GetCallerIdentity", transient_only, || async {
            let out = sts
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| call_failure("sts", "GetCallerIdentity", &e))?;
            Ok((
                out.account().unwrap_or_default().to_string(),
                out.arn().unwrap_or_default().to_string(),
            ))
        })
        .await
        .map_err(|failure| self.connection.credentials_problem(failure))
    }

    /// `ListRoles` (every page), keeping the names of roles whose trust policy names
    /// `provider_arn` as a `Federated` principal.
    async fn roles_trusting_provider(&self, provider_arn: &str) -> PortResult<Vec<String>> {
        let listed = self
            .iam_pages(
                "ListRoles",
                |iam, marker| iam.list_roles().set_marker(marker).send(),
                |page| {
                    let names = page
                        .roles()
                        .iter()
                        .filter(|role| {
                            let policy = role
                                .assume_role_policy_document()
                                .map(|d| {
                                    percent_encoding::percent_decode_str(d)
                                        .decode_utf8_lossy()
                                        .into_owned()
                                })
                                .unwrap_or_default();
                            trusts_federated(&policy, provider_arn)
                        })
                        .map(|role| role.role_name().to_string())
                        .collect();
                    (names, next_marker(page.is_truncated(), page.marker()))
                },
            )
            .await;
        listed.map_err(|f| f.into_problem())
    }

    async fn find_oidc_provider(&self, url: &str) -> PortResult<Option<OidcProvider>> {
        let suffix = url.strip_prefix("https://").unwrap_or(url);
        let arns = self.list_provider_arns().await?;
        let Some(arn) = arns.into_iter().find(|arn| {
            arn.split_once(":oidc-provider/")
                .is_some_and(|(_, s)| s == suffix)
        }) else {
            return Ok(None);
        };
        match self.get_provider(&arn, url).await {
            Ok(provider) => Ok(Some(provider)),
            Err(failure) if failure.code == ErrorCode::NotFound => Ok(None),
            Err(failure) => Err(failure.into_problem()),
        }
    }

    async fn ensure_oidc_provider(
        &self,
        spec: &OidcProviderSpec,
    ) -> PortResult<Applied<OidcProvider>> {
        validate_provider_spec(spec)?;
        let found = find_or_create(
            || self.find_oidc_provider(&spec.url),
            || async {
                let arn = self.create_provider(spec).await?;
                Ok(provider_from_spec(arn, spec))
            },
        )
        .await?;
        let mut provider = match found {
            Applied::Created(created) => return Ok(Applied::Created(created)),
            existing => existing.into_inner(),
        };
        let mut changed = false;
        for client_id in &spec.client_ids {
            if provider.client_ids.contains(client_id) {
                continue;
            }
            self.add_client_id(&provider, client_id).await?;
            provider.client_ids.push(client_id.clone());
            changed = true;
        }
        let normalise = |list: &[String]| {
            let mut list: Vec<String> = list.iter().map(|t| t.to_ascii_lowercase()).collect();
            list.sort();
            list
        };
        if !spec.thumbprints.is_empty()
            && normalise(&spec.thumbprints) != normalise(&provider.thumbprints)
        {
            self.call(
                "iam",
                "UpdateOpenIDConnectProviderThumbprint",
                transient_only,
                || async {
                    self.iam
                        .update_open_id_connect_provider_thumbprint()
                        .open_id_connect_provider_arn(&provider.arn)
                        .set_thumbprint_list(Some(spec.thumbprints.clone()))
                        .send()
                        .await
                        .map_err(|e| {
                            call_failure("iam", "UpdateOpenIDConnectProviderThumbprint", &e)
                        })
                },
            )
            .await?;
            provider.thumbprints = spec.thumbprints.clone();
            changed = true;
        }
        Ok(if changed {
            Applied::Updated(provider)
        } else {
            Applied::Unchanged(provider)
        })
    }

    async fn create_oidc_provider(
        &self,
        spec: &OidcProviderSpec,
    ) -> PortResult<Applied<OidcProvider>> {
        validate_provider_spec(spec)?;
        match self.create_provider(spec).await {
            Ok(arn) => Ok(Applied::Created(provider_from_spec(arn, spec))),
            // It exists after all (a race, a resumed crash): converge it as ensure does.
            Err(failure) if failure.is("EntityAlreadyExists") => {
                self.ensure_oidc_provider(spec).await
            }
            Err(failure) => Err(failure.into_problem()),
        }
    }

    async fn delete_oidc_provider(&self, arn: &str) -> PortResult<()> {
        let deleted = self
            .iam_call("DeleteOpenIDConnectProvider", |iam| {
                iam.delete_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .send()
            })
            .await
            .map(|_| ());
        match deleted {
            Ok(()) => Ok(()),
            Err(failure) if failure.code == ErrorCode::NotFound => Ok(()),
            Err(failure) => Err(failure.into_problem()),
        }
    }

    async fn create_role(&self, spec: &RoleSpec) -> PortResult<Applied<IamRole>> {
        validate_role_spec(spec)?;
        match self.create_role_with_policies(spec).await {
            Ok(role) => Ok(Applied::Created(role)),
            // It exists after all (a race, a resumed crash): converge it as ensure does.
            Err(failure) if failure.is("EntityAlreadyExists") => self.ensure_role(spec).await,
            Err(failure) => Err(failure.into_problem()),
        }
    }

    async fn find_role(&self, name: &str) -> PortResult<Option<IamRole>> {
        Ok(self.describe_role(name).await?)
    }

    async fn ensure_role(&self, spec: &RoleSpec) -> PortResult<Applied<IamRole>> {
        validate_role_spec(spec)?;
        let found = find_or_create(
            || self.describe_role(&spec.name),
            || self.create_role_with_policies(spec),
        )
        .await?;
        let mut role = match found {
            Applied::Created(created) => return Ok(Applied::Created(created)),
            existing => existing.into_inner(),
        };
        let mut changed = false;
        if !same_json(&role.trust_policy, &spec.trust_policy) {
            self.with_trust_propagation("UpdateAssumeRolePolicy", &spec.trust_policy, || async {
                self.iam
                    .update_assume_role_policy()
                    .role_name(&spec.name)
                    .policy_document(&spec.trust_policy)
                    .send()
                    .await
                    .map_err(|e| call_failure("iam", "UpdateAssumeRolePolicy", &e))
            })
            .await?;
            role.trust_policy = spec.trust_policy.clone();
            changed = true;
        }
        if role.max_session_duration != spec.max_session_duration {
            self.iam_call("UpdateRole", |iam| {
                iam.update_role()
                    .role_name(&spec.name)
                    .max_session_duration(duration_i32(spec.max_session_duration))
                    .send()
            })
            .await?;
            role.max_session_duration = spec.max_session_duration;
            changed = true;
        }
        changed |= self.converge_policies(spec, &mut role).await?;
        Ok(if changed {
            Applied::Updated(role)
        } else {
            Applied::Unchanged(role)
        })
    }

    // Trades a web-identity token for a session on `role_arn`, retrying `AccessDenied` for
    // IAM's propagation window (a trust policy changed moments ago). Proves the trust works;
    // the temporary credentials are dropped.
    async fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        token: &Secret,
        session_name: &str,
    ) -> PortResult<AssumedRole> {
        let classify = |f: &CallFailure| {
            if f.is("AccessDenied") {
                Retry::Propagation
            } else {
                transient_only(f)
            }
        };
        let out = self
            .call("sts", "AssumeRoleWithWebIdentity", classify, || async {
                self.sts
                    .assume_role_with_web_identity()
                    .role_arn(role_arn)
                    .role_session_name(session_name)
                    .web_identity_token(token.expose())
                    .send()
                    .await
                    .map_err(|e| call_failure("sts", "AssumeRoleWithWebIdentity", &e))
            })
            .await?;
        Ok(AssumedRole {
            assumed_role_arn: out
                .assumed_role_user()
                .map(|u| u.arn().to_string())
                .unwrap_or_default(),
            subject: out.subject_from_web_identity_token().map(str::to_string),
            audience: out.audience().map(str::to_string),
        })
    }

    async fn delete_role(&self, name: &str) -> PortResult<()> {
        let gone = |f: &CallFailure| f.code == ErrorCode::NotFound;
        let attached = match self.attached_policies(name).await {
            Ok(list) => list,
            Err(failure) if gone(&failure) => return Ok(()),
            Err(failure) => return Err(failure.into_problem()),
        };
        for arn in &attached {
            let detached = self
                .iam_call("DetachRolePolicy", |iam| {
                    iam.detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send()
                })
                .await
                .map(|_| ());
            match detached {
                Err(failure) if !gone(&failure) => return Err(failure.into_problem()),
                _ => {}
            }
        }
        for policy in self
            .inline_policy_names(name)
            .await
            .or_else(|f| if gone(&f) { Ok(Vec::new()) } else { Err(f) })?
        {
            let deleted = self
                .iam_call("DeleteRolePolicy", |iam| {
                    iam.delete_role_policy()
                        .role_name(name)
                        .policy_name(&policy)
                        .send()
                })
                .await
                .map(|_| ());
            match deleted {
                Err(failure) if !gone(&failure) => return Err(failure.into_problem()),
                _ => {}
            }
        }
        let deleted = self
            .iam_call("DeleteRole", |iam| iam.delete_role().role_name(name).send())
            .await
            .map(|_| ());
        match deleted {
            Err(failure) if !gone(&failure) => Err(failure.into_problem()),
            _ => Ok(()),
        }
    }
}

fn duration_i32(seconds: u32) -> i32 {
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

fn tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, CallFailure> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| CallFailure {
                    service: "iam",
                    operation: "Tag",
                    code: ErrorCode::InvalidInput,
                    aws_code: None,
                    detail: format!("invalid tag {k}: {e}"),
                    retry_after: None,
                    name_not_resolved: false,
                    status: None,
                })
        })
        .collect()
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// Two JSON documents with the same content (key order and whitespace ignored).
fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn pretty(document: &str) -> String {
    serde_json::from_str::<serde_json::Value>(document)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| document.to_string())
}

fn field(field: &str, problem: String, fix: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        problem,
        fix: fix.to_string(),
    }
}

/// The rules IAM applies (and moto does not), checked before anything is sent.
fn validate_provider_spec(spec: &OidcProviderSpec) -> PortResult<()> {
    let mut errors = Vec::new();
    match spec.url.strip_prefix("https://") {
        None => errors.push(field(
            "aws.provider_url",
            format!("'{}' does not start with https://", spec.url),
            "Use the issuer from the Octopus discovery document; IAM only accepts https URLs.",
        )),
        Some(rest) => {
            let host = rest.split('/').next().unwrap_or_default();
            if host.is_empty() || host.contains(':') || rest.contains('?') || rest.contains('#') {
                errors.push(field(
                    "aws.provider_url",
                    format!(
                        "'{}' has no host, or has a port, query or fragment",
                        spec.url
                    ),
                    "IAM needs https://host[/path] served on port 443.",
                ));
            }
        }
    }
    if spec.client_ids.len() > 100 {
        errors.push(field(
            "aws.audiences",
            format!("{} audiences; IAM allows 100", spec.client_ids.len()),
            "Remove audiences.",
        ));
    }
    if spec.thumbprints.len() > 5
        || spec
            .thumbprints
            .iter()
            .any(|t| t.len() != 40 || !t.chars().all(|c| c.is_ascii_hexdigit()))
    {
        errors.push(field(
            "aws.thumbprints",
            "thumbprints must be at most 5 SHA-1 fingerprints of 40 hex characters".into(),
            "Leave thumbprints empty unless the server uses a private CA.",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::invalid_input(errors))
    }
}

/// The role rules live in the core's [`Validator`] (one rule, one place); only the trust
/// policy's parse is checked here.
fn validate_role_spec(spec: &RoleSpec) -> PortResult<()> {
    let mut validator = Validator::new();
    validator
        .role_name("aws.role_name", &spec.name)
        .session_duration("aws.max_session_duration", spec.max_session_duration);
    if let Err(error) = TrustPolicy::parse(&spec.trust_policy) {
        validator.error(
            "aws.trust_policy",
            format!("the trust policy is malformed: {error}"),
            "Regenerate the trust policy from the chosen scope.",
        );
    }
    validator.finish().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_comparison_ignores_order_and_whitespace() {
        assert!(same_json(
            r#"{"a":1,"b":[1,2]}"#,
            "{ \"b\": [1, 2], \"a\": 1 }"
        ));
        assert!(!same_json(r#"{"a":1}"#, r#"{"a":2}"#));
    }

    #[test]
    fn specs_are_checked_before_sending() {
        let spec = OidcProviderSpec {
            url: "https://octo.example.com:8443".into(),
            client_ids: vec!["octo.example.com".into()],
            thumbprints: vec!["abc".into()],
            tags: BTreeMap::new(),
        };
        let problem = validate_provider_spec(&spec).expect_err("invalid");
        assert_eq!(problem.field_errors.len(), 2);
        let role = RoleSpec {
            name: "bad name".into(),
            trust_policy: "{".into(),
            max_session_duration: 60,
            description: None,
            managed_policy_arns: vec![],
            inline_policies: BTreeMap::new(),
            tags: BTreeMap::new(),
        };
        assert_eq!(
            validate_role_spec(&role)
                .expect_err("invalid")
                .field_errors
                .len(),
            3
        );
    }
}
