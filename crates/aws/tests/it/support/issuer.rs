//! The HTTPS test issuer the client tests use: the test kit's [`octo_oidc_testkit::TestIssuer`]
//! at a port-less host name (IAM wants provider URLs without a port), with its `issuer` URL
//! as a field.

use std::ops::Deref;

/// A running issuer at `https://<host>`; derefs to the test kit's issuer (`http`, `token`, …).
pub struct TestIssuer {
    /// `https://<host>`.
    pub issuer: String,
    inner: octo_oidc_testkit::TestIssuer,
}

impl TestIssuer {
    /// Starts an issuer for `https://<host>`.
    pub async fn start(host: &str) -> TestIssuer {
        let inner = octo_oidc_testkit::TestIssuer::https(host).await;
        TestIssuer {
            issuer: inner.issuer(),
            inner,
        }
    }
}

impl Deref for TestIssuer {
    type Target = octo_oidc_testkit::TestIssuer;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}
