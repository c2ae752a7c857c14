//! `octo-oidc-sandbox`: local servers that behave like Octopus Deploy, Entra ID / Microsoft
//! Graph / Azure Resource Manager and AWS IAM / STS, closely enough that the real clients
//! (reqwest for Octopus/Graph/ARM, aws-sdk-iam/sts for AWS) work against them unchanged, and
//! strictly enough that tokens are validated for real (signatures through the issuer's JWKS,
//! exact issuer/audience/subject, expiry), with the error codes the real services give.
//!
//! Each service listens on its own loopback port, as the real ones live on their own hosts:
//! - [`octopus`]: the Octopus REST API, its OIDC issuer (`/.well-known/*`, over HTTP and
//!   HTTPS), tasks (the account test trades a minted token for real), service accounts and
//!   `/token/v1`; plus a GitHub-style workflow token issuer.
//! - [`entra`]: the Entra ID authority (client-assertion grant, auth code + PKCE sign-in),
//!   Microsoft Graph v1.0 and ARM.
//! - [`aws`]: the IAM query protocol and STS on one endpoint.
//! - [`gcp`]: Google Cloud IAM workload identity pools, service accounts, Resource Manager,
//!   STS token exchange and `generateAccessToken`, on one endpoint.
//!
//! Shared pieces: [`signing`] (RSA keys, JWKS, minting), [`token_validation`] (the cloud side
//! of the trust: discovery + JWKS fetch and JWT checks), [`json_fields`] (reading posted JSON
//! bodies), [`faults`] (latency, throttling, 5xx,
//! dropped connections and eventual-consistency windows per service and operation), and
//! [`tls`] (a self-signed test CA for the HTTPS issuer).
//!
//! Composition: [`host`] ([`Sandbox::start`] binds every listener on loopback and serves
//! them; `octo-oidc sandbox` is a thin wrapper), [`seed`] (the `demo`, `empty` and `large`
//! inventories) and [`persist`] (the JSON state file).
//!
//! Deliberately absent: persistence beyond a JSON state file, real authorization models beyond
//! what the wizard needs to test (configurable denials stand in for them).
#![forbid(unsafe_code)]

pub mod aws;
pub mod entra;
pub mod faults;
pub mod gcp;
pub mod host;
pub mod json_fields;
pub mod octopus;
pub mod persist;
pub mod seed;
pub mod signing;
pub mod tls;
pub mod token_validation;
pub mod wildcard;

pub use host::{Sandbox, SandboxError, SandboxOptions, SandboxUrls};
