//! Test harness for the sandbox AWS: the sandbox's IAM/STS router on a loopback port, the
//! real aws-sdk-iam / aws-sdk-sts clients pointed at it with dummy credentials, and a tiny
//! HTTPS OIDC issuer (the test kit's, discovery + JWKS behind a throwaway CA) whose tokens
//! STS validates for real. The issuer lives at a port-less host name (`issuer.sandbox.test`,
//! as IAM requires) that the sandbox's HTTP client resolves to the loopback listener.
#![allow(dead_code, clippy::unwrap_used)]

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use octo_oidc_sandbox::aws::{AwsConfig, AwsSandbox};
use octo_oidc_sandbox::faults::Faults;
use octo_oidc_sandbox::token_validation::RemoteIssuers;

pub const ISSUER_HOST: &str = "issuer.sandbox.test";
pub const ISSUER: &str = "https://issuer.sandbox.test";
pub const ACCOUNT: &str = "123456789012";

pub use octo_oidc_testkit::{TestIssuer, TestKey};

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The sandbox AWS on a loopback port with SDK clients pointed at it.
pub struct AwsEnv {
    pub sandbox: AwsSandbox,
    pub faults: Faults,
    pub endpoint: String,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub issuer: TestIssuer,
}

impl AwsEnv {
    /// A `CreateRole` request for `name` with the trust policy `trust`, to refine and send.
    pub fn create_role(
        &self,
        name: impl Into<String>,
        trust: impl Into<String>,
    ) -> aws_sdk_iam::operation::create_role::builders::CreateRoleFluentBuilder {
        self.iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
    }

    /// Sends a [`create_role`](Self::create_role) request; the new role's ARN.
    pub async fn role_arn(
        request: aws_sdk_iam::operation::create_role::builders::CreateRoleFluentBuilder,
    ) -> String {
        let created = request.send().await.unwrap();
        created.role().unwrap().arn().to_string()
    }

    /// Creates an OIDC provider for `url` with one client id; its ARN.
    pub async fn provider(&self, url: &str, aud: &str) -> String {
        self.iam
            .create_open_id_connect_provider()
            .url(url)
            .client_id_list(aud)
            .send()
            .await
            .unwrap()
            .open_id_connect_provider_arn()
            .unwrap()
            .to_string()
    }
}

pub async fn start() -> AwsEnv {
    start_with(ISSUER, AwsConfig::default()).await
}

pub async fn start_with(discovered_issuer: &str, config: AwsConfig) -> AwsEnv {
    let issuer = TestIssuer::https(ISSUER_HOST).await;
    issuer.set_discovered_issuer(discovered_issuer);
    let faults = Faults::new();
    let sandbox = AwsSandbox::new(
        config,
        faults.clone(),
        RemoteIssuers::new(issuer.http.clone()),
    );
    let endpoint = octo_oidc_testkit::serve(sandbox.router()).await;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKIDSANDBOX",
            "sandbox-secret",
            None,
            None,
            "test",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    AwsEnv {
        sandbox,
        faults,
        endpoint,
        iam: aws_sdk_iam::Client::new(&sdk),
        sts: aws_sdk_sts::Client::new(&sdk),
        issuer,
    }
}

pub use octo_oidc_testkit::aws::trust_policy;

/// The AWS error code of an SDK error.
pub fn code<E: aws_sdk_iam::error::ProvideErrorMetadata>(error: &E) -> String {
    error.code().unwrap_or("<none>").to_string()
}

pub fn message<E: aws_sdk_iam::error::ProvideErrorMetadata>(error: &E) -> String {
    error.message().unwrap_or("").to_string()
}

/// The HTTP status of an SDK error.
pub fn status<E, R: HasStatus>(error: &aws_sdk_iam::error::SdkError<E, R>) -> u16 {
    error.raw_response().map(|r| r.status_code()).unwrap_or(0)
}

pub trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}
