//! AWS credentials and the connection the IAM/STS clients share.
//!
//! Three ways in, as the wizard offers them: a named profile from the shared config and
//! credentials files (static keys, SSO, assume-role, `credential_process`), the SDK's default
//! chain (environment, default profile, container/instance metadata), or an access key typed
//! into the wizard (held in [`Secret`]s, in memory only, never written anywhere). The endpoint
//! is injectable so tests and Sandbox mode point at the sandbox or moto.
//!
//! SDK retries are switched off: [`crate::iam::SdkIam`] retries with the core's
//! `RetryPolicy` so each retry is reported as a progress event. Deliberately absent: driving
//! the SSO device-authorization login itself (the user runs `aws sso login`; an expired or
//! missing SSO login becomes a problem whose hint is that exact command).

use std::path::PathBuf;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_types::os_shim_internal::{Env, Fs};
use aws_types::region::Region;
use octo_oidc_core::{ErrorCode, Problem, Secret};
use serde::{Deserialize, Serialize};

use crate::error::call_failure;
use crate::http_client::SharedReqwest;

/// The region used when neither the caller nor the profile names one (IAM is global and
/// signs for `us-east-1`).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where the AWS credentials come from.
#[derive(Debug, Clone)]
pub enum CredentialSource {
    /// The SDK's default chain (environment variables, the default profile, SSO, metadata).
    DefaultChain,
    /// A named profile from the shared config/credentials files.
    Profile(String),
    /// An access key typed into the wizard; memory only.
    AccessKey {
        /// `AKIA…` / `ASIA…` (not secret, shown in the UI).
        access_key_id: String,
        /// The secret access key.
        secret_access_key: Secret,
        /// The session token of temporary credentials.
        session_token: Option<Secret>,
    },
}

/// Overrides for the shared config/credentials file locations (default: `~/.aws/config` and
/// `~/.aws/credentials`, or `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`).
#[derive(Debug, Clone, Default)]
pub struct ProfileFilePaths {
    /// The shared config file.
    pub config: Option<PathBuf>,
    /// The shared credentials file.
    pub credentials: Option<PathBuf>,
}

impl ProfileFilePaths {
    fn env_config_files(&self) -> Option<EnvConfigFiles> {
        if self.config.is_none() && self.credentials.is_none() {
            return None;
        }
        let mut builder = EnvConfigFiles::builder();
        if let Some(config) = &self.config {
            builder = builder
                .include_default_config_file(false)
                .with_file(EnvConfigFileKind::Config, config);
        } else {
            builder = builder.include_default_config_file(true);
        }
        if let Some(credentials) = &self.credentials {
            builder = builder
                .include_default_credentials_file(false)
                .with_file(EnvConfigFileKind::Credentials, credentials);
        } else {
            builder = builder.include_default_credentials_file(true);
        }
        Some(builder.build())
    }
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Credentials.
    pub source: CredentialSource,
    /// Region for signing and STS; default: the profile's, else `us-east-1`.
    pub region: Option<String>,
    /// An endpoint for both IAM and STS (the sandbox or moto); `None` = real AWS.
    pub endpoint_url: Option<String>,
    /// Shared file overrides (tests, unusual setups).
    pub profile_files: ProfileFilePaths,
    /// Time limit for one HTTP attempt (a slow attempt becomes a retried `Timeout`).
    pub attempt_timeout: Duration,
}

impl ConnectOptions {
    /// Options for a credential source with defaults for everything else.
    pub fn new(source: CredentialSource) -> Self {
        ConnectOptions {
            source,
            region: None,
            endpoint_url: None,
            profile_files: ProfileFilePaths::default(),
            attempt_timeout: Duration::from_secs(20),
        }
    }

    /// Points IAM and STS at this endpoint.
    pub fn with_endpoint(mut self, endpoint_url: impl Into<String>) -> Self {
        self.endpoint_url = Some(endpoint_url.into());
        self
    }
}

/// What kind of credentials a profile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    /// `aws_access_key_id` / `aws_secret_access_key`.
    StaticKeys,
    /// IAM Identity Center (`sso_session` or legacy `sso_start_url`).
    Sso,
    /// `role_arn` with a `source_profile` or `credential_source`.
    AssumeRole,
    /// `role_arn` + `web_identity_token_file`.
    WebIdentity,
    /// `credential_process`.
    CredentialProcess,
    /// Nothing the wizard recognises (e.g. only a region).
    Other,
}

/// One profile from the shared files, as the wizard lists it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// The profile name (`default`, `dev-sso`, …).
    pub name: String,
    /// What kind of credentials it holds.
    pub kind: ProfileKind,
    /// Its region, if set.
    pub region: Option<String>,
    /// The SSO session or start URL, for SSO profiles.
    pub sso: Option<String>,
    /// The role it assumes, for assume-role profiles.
    pub role_arn: Option<String>,
}

/// Lists the profiles in the shared config and credentials files, sorted by name.
pub async fn list_profiles(files: &ProfileFilePaths) -> Result<Vec<ProfileInfo>, Problem> {
    let env_files = files.env_config_files().unwrap_or_default();
    let set = aws_config::profile::load(&Fs::real(), &Env::real(), &env_files, None)
        .await
        .map_err(|e| {
            Problem::new(
                ErrorCode::InvalidInput,
                format!("The AWS config or credentials file could not be read: {e}"),
            )
            .with_hint("Fix the file (INI syntax) or point AWS_CONFIG_FILE elsewhere.")
        })?;
    let mut profiles: Vec<ProfileInfo> = set
        .profiles()
        .filter_map(|name| {
            let profile = set.get_profile(name)?;
            let has = |key: &str| profile.get(key).is_some();
            let kind = if has("sso_session") || has("sso_start_url") {
                ProfileKind::Sso
            } else if has("role_arn") && has("web_identity_token_file") {
                ProfileKind::WebIdentity
            } else if has("role_arn") {
                ProfileKind::AssumeRole
            } else if has("credential_process") {
                ProfileKind::CredentialProcess
            } else if has("aws_access_key_id") {
                ProfileKind::StaticKeys
            } else {
                ProfileKind::Other
            };
            Some(ProfileInfo {
                name: name.to_string(),
                kind,
                region: profile.get("region").map(str::to_string),
                sso: profile
                    .get("sso_session")
                    .or_else(|| profile.get("sso_start_url"))
                    .map(str::to_string),
                role_arn: profile.get("role_arn").map(str::to_string),
            })
        })
        .collect();
    profiles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(profiles)
}

/// The region the SDK's configuration names without asking the instance metadata endpoint:
/// `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the `region` of the profile (`profile`, else
/// `AWS_PROFILE`, else `default`) in the shared files. With `default_chain` (the user chose
/// the SDK's default chain), aws-config's whole region chain is asked last, which may include
/// IMDS. `None` when nothing names one.
pub async fn configured_region(
    profile: Option<&str>,
    files: &ProfileFilePaths,
    env: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    default_chain: bool,
) -> Result<Option<String>, Problem> {
    let named = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(region) = named("AWS_REGION").or_else(|| named("AWS_DEFAULT_REGION")) {
        return Ok(Some(region));
    }
    let profile = profile
        .map(str::to_string)
        .or_else(|| named("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_string());
    let from_profile = list_profiles(files)
        .await?
        .into_iter()
        .find(|p| p.name == profile)
        .and_then(|p| p.region)
        .filter(|r| !r.trim().is_empty());
    if from_profile.is_some() || !default_chain {
        return Ok(from_profile);
    }
    Ok(
        aws_config::default_provider::region::DefaultRegionChain::builder()
            .build()
            .region()
            .await
            .map(|r| r.to_string()),
    )
}

/// The identity behind the credentials in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerIdentity {
    /// 12-digit account id.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
    /// The unique id of the caller.
    pub user_id: String,
}

/// A loaded AWS configuration (credentials, region, endpoint) shared by IAM and STS.
#[derive(Debug, Clone)]
pub struct AwsConnection {
    config: SdkConfig,
    /// The named profile the credentials come from, if they come from one.
    profile: Option<String>,
    sso_profile: Option<String>,
}

impl AwsConnection {
    /// Loads the configuration. Nothing is sent yet; [`Self::caller_identity`] checks it.
    pub async fn connect(options: ConnectOptions) -> Result<AwsConnection, Problem> {
        // The SDK's own attempt timeout ends a slow attempt first (a `TimeoutError`); the
        // client's bound is a backstop.
        let http = SharedReqwest::new(options.attempt_timeout + Duration::from_secs(5));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(options.attempt_timeout)
                    .build(),
            );
        if let Some(files) = options.profile_files.env_config_files() {
            loader = loader.profile_files(files);
        }
        if let Some(endpoint) = &options.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let mut sso_profile = None;
        let mut profile = None;
        match &options.source {
            CredentialSource::DefaultChain => {}
            CredentialSource::Profile(name) => {
                let profiles = list_profiles(&options.profile_files).await?;
                let Some(info) = profiles.iter().find(|p| &p.name == name) else {
                    return Err(Problem::new(
                        ErrorCode::InvalidInput,
                        format!("There is no AWS profile named '{name}'"),
                    )
                    .with_hint(
                        "Pick one of the profiles in ~/.aws/config or ~/.aws/credentials.",
                    ));
                };
                if info.kind == ProfileKind::Sso {
                    sso_profile = Some(name.clone());
                }
                profile = Some(name.clone());
                loader = loader.profile_name(name);
            }
            CredentialSource::AccessKey {
                access_key_id,
                secret_access_key,
                session_token,
            } => {
                if access_key_id.trim().is_empty() || secret_access_key.is_blank() {
                    return Err(Problem::invalid_input(vec![
                        octo_oidc_core::error::FieldError {
                            field: "aws.access_key".into(),
                            problem: "The access key id and secret access key are both required."
                                .into(),
                            fix: "Paste both parts of the access key.".into(),
                        },
                    ]));
                }
                loader = loader.credentials_provider(Credentials::new(
                    access_key_id.trim(),
                    secret_access_key.expose().trim(),
                    session_token
                        .as_ref()
                        .map(|t| t.expose().trim().to_string()),
                    None,
                    "octo-oidc-wizard",
                ));
            }
        }
        let mut config = loader.load().await;
        if config.region().is_none() {
            config = config
                .into_builder()
                .region(Region::new(DEFAULT_REGION))
                .build();
        }
        Ok(AwsConnection {
            config,
            profile,
            sso_profile,
        })
    }

    /// The same credentials and endpoint, for the clients of `region` (STS's regional
    /// endpoint; IAM is global). Nothing is sent.
    pub fn in_region(&self, region: &str) -> AwsConnection {
        if self.config.region().map(|r| r.as_ref()) == Some(region) {
            return self.clone();
        }
        AwsConnection {
            config: self
                .config
                .to_builder()
                .region(Region::new(region.to_string()))
                .build(),
            ..self.clone()
        }
    }

    /// The named profile the credentials come from (SSO included), or `None` for a typed
    /// key or the default chain.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// The loaded SDK configuration.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// The SSO profile in use, if the credentials come from IAM Identity Center.
    pub fn sso_profile(&self) -> Option<&str> {
        self.sso_profile.as_deref()
    }

    /// `sts:GetCallerIdentity`: who these credentials are.
    pub async fn caller_identity(&self) -> Result<CallerIdentity, Problem> {
        let sts = aws_sdk_sts::Client::new(&self.config);
        match sts.get_caller_identity().send().await {
            Ok(out) => Ok(CallerIdentity {
                account: out.account().unwrap_or_default().to_string(),
                arn: out.arn().unwrap_or_default().to_string(),
                user_id: out.user_id().unwrap_or_default().to_string(),
            }),
            Err(error) => {
                let failure = call_failure("sts", "GetCallerIdentity", &error);
                Err(self.credentials_problem(failure))
            }
        }
    }

    /// Turns a failure into a problem, naming `aws sso login` when an SSO login is the cause.
    pub(crate) fn credentials_problem(&self, failure: crate::error::CallFailure) -> Problem {
        let credentials_failed = failure.aws_code.is_none()
            && matches!(
                failure.code,
                ErrorCode::Unauthenticated | ErrorCode::RemoteUnavailable
            )
            || matches!(
                failure.aws_code.as_deref(),
                Some("ExpiredToken" | "InvalidClientTokenId" | "UnrecognizedClientException")
            );
        match (&self.sso_profile, credentials_failed) {
            (Some(profile), true) => Problem::new(
                ErrorCode::Unauthenticated,
                format!(
                    "The SSO login for AWS profile '{profile}' is missing or expired ({})",
                    failure.detail
                ),
            )
            .with_hint(format!("Run: aws sso login --profile {profile}")),
            _ => failure.into_problem(),
        }
    }
}
