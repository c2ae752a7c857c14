//! The overall deadline of an `SdkIam` call, against a loopback listener that accepts
//! connections and never answers (no sandbox or moto needed). The DNS-once path is not here:
//! the SDK's HTTP client resolves through the system resolver, so a name that does not
//! resolve cannot be made on loopback; `iam::classify` maps it to `Retry::Once`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use octo_oidc_aws::{AwsConnection, SdkIam};
use octo_oidc_core::ErrorCode;
use octo_oidc_core::ports::{Iam, OidcProviderSpec};
use octo_oidc_core::retry::RetryPolicy;

use octo_oidc_testkit::misbehaving::silent_listener;

use crate::support::options;

#[tokio::test]
async fn a_hung_call_ends_at_its_deadline_with_a_timeout_naming_it() {
    let endpoint = format!("http://{}", silent_listener().await);
    let mut connect = options(&endpoint);
    connect.attempt_timeout = Duration::from_secs(60);
    let connection = AwsConnection::connect(connect).await.unwrap();
    let iam = SdkIam::new(&connection)
        .with_retry_policy(RetryPolicy::fast())
        .with_deadline(Duration::from_millis(400));
    let started = Instant::now();
    let problem = iam
        .ensure_oidc_provider(&OidcProviderSpec {
            url: "https://octopus.example.com".into(),
            client_ids: vec!["octo.example.com".into()],
            thumbprints: vec![],
            tags: BTreeMap::new(),
        })
        .await
        .expect_err("the endpoint never answers");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "ended by the deadline, not the 60 s attempt timeout"
    );
    assert_eq!(problem.code, ErrorCode::Timeout, "{}", problem.message);
    assert!(
        problem.message.contains("400 ms") && problem.message.contains("OpenIDConnectProvider"),
        "names the operation and the deadline: {}",
        problem.message
    );
}
