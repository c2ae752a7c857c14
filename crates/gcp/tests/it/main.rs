//! Integration tests of `octo-oidc-gcp` against the sandbox's Google Cloud (HTTPS on
//! 127.0.0.1, signed in with a generated service-account key through `google-cloud-auth`).
#![allow(clippy::unwrap_used)]

mod exchange;
mod policies;
mod pools;
mod sign_in;
mod support;
