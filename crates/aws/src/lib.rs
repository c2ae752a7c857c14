//! `octo-oidc-aws`: the AWS side of the Octopus OIDC Wizard on aws-sdk-iam / aws-sdk-sts.
//!
//! - [`connect`]: credentials (shared-config profiles incl. SSO, the default chain, or an
//!   access key typed into the wizard), the injectable endpoint (sandbox, moto), and
//!   `GetCallerIdentity`.
//! - [`iam`]: [`iam::SdkIam`], the core's [`octo_oidc_core::ports::Iam`] port — OIDC provider
//!   get-or-create by exact URL, audiences, roles with trust policy / duration / managed and
//!   inline policies, tagging of what it creates, deletion, retries with progress events.
//! - [`error`]: SDK errors → [`octo_oidc_core::Problem`] by AWS error code.
//! - `http_client`: the SDK's HTTP client is the process's shared reqwest client
//!   ([`octo_oidc_http::build_client`]), not the SDK's own.
//!
//! Deliberately absent: building trust policies (the core does that) and any AWS service
//! besides IAM and STS.
#![forbid(unsafe_code)]

pub mod connect;
pub mod error;
mod http_client;
pub mod iam;

pub use connect::{
    AwsConnection, CallerIdentity, ConnectOptions, CredentialSource, ProfileFilePaths, ProfileInfo,
    ProfileKind, list_profiles,
};
pub use iam::{AssumedRole, RoleDiff, SdkIam};
