//! Benchmark of the AWS side on loopback: the client's full setup (provider + role +
//! policies) first and second run, IAM request rate through aws-sdk-iam, and STS
//! AssumeRoleWithWebIdentity rate with real token validation (signature via a local HTTPS
//! issuer's JWKS). Everything runs in this process against the sandbox on 127.0.0.1; every
//! loop is bounded. Run: `cargo run --release -p octo-oidc-aws --example aws_bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use octo_oidc_aws::{AwsConnection, ConnectOptions, CredentialSource, SdkIam};
use octo_oidc_core::Secret;
use octo_oidc_core::ports::{Applied, Iam, OidcProviderSpec};
use octo_oidc_sandbox::aws::{AwsConfig, AwsSandbox};
use octo_oidc_sandbox::faults::Faults;
use octo_oidc_sandbox::token_validation::RemoteIssuers;
use octo_oidc_testkit::aws::{role_spec, trust_policy};
use serde_json::json;

const ISSUER: &str = "https://issuer.bench.test";
const AUD: &str = "octo.example.com";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Runs `call(task, i)` for `i` in `0..total / concurrency` in each of `concurrency` tasks at
/// once; the time until all are done.
async fn concurrently<F, Fut>(concurrency: usize, total: usize, call: F) -> Duration
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let t = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let call = call.clone();
            tokio::spawn(async move {
                for i in 0..total / concurrency {
                    call(task, i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    t.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let issuer = octo_oidc_testkit::TestIssuer::https("issuer.bench.test").await;
    let sandbox = AwsSandbox::new(
        AwsConfig::default(),
        Faults::new(),
        RemoteIssuers::new(issuer.http.clone()),
    );
    let endpoint = octo_oidc_testkit::serve(sandbox.router()).await;

    let connection = AwsConnection::connect(
        ConnectOptions::new(CredentialSource::AccessKey {
            access_key_id: "AKIDBENCH".into(),
            secret_access_key: Secret::new("bench-secret"),
            session_token: None,
        })
        .with_endpoint(&endpoint),
    )
    .await
    .unwrap();
    let client = SdkIam::new(&connection);

    // 1. Full setup, first and second run.
    let provider = client
        .ensure_oidc_provider(&OidcProviderSpec {
            url: ISSUER.into(),
            client_ids: vec![AUD.into()],
            thumbprints: vec![],
            tags: BTreeMap::from([("octo-oidc:setup".into(), "bench".into())]),
        })
        .await
        .unwrap()
        .into_inner();
    let trust = trust_policy(
        &provider.arn,
        AUD,
        &["space:default:project:web:*", "space:default:account:aws"],
    );
    let spec = |name: String| role_spec(&name, trust.clone(), "bench");
    let runs = 50;
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let spec = spec(format!("bench-role-{i}"));
        let t = Instant::now();
        client
            .ensure_oidc_provider(&OidcProviderSpec {
                url: ISSUER.into(),
                client_ids: vec![AUD.into()],
                thumbprints: vec![],
                tags: BTreeMap::new(),
            })
            .await
            .unwrap();
        assert!(matches!(
            client.ensure_role(&spec).await.unwrap(),
            Applied::Created(_)
        ));
        first.push(t.elapsed());
        let t = Instant::now();
        assert!(matches!(
            client.ensure_role(&spec).await.unwrap(),
            Applied::Unchanged(_)
        ));
        second.push(t.elapsed());
    }
    first.sort();
    second.sort();
    println!(
        "setup first run (provider found + role created + 1 managed + 1 inline policy): p50 {:.2} ms, p95 {:.2} ms over {runs}",
        ms(percentile(&first, 0.5)),
        ms(percentile(&first, 0.95))
    );
    println!(
        "setup second run (no change, 4 reads): p50 {:.2} ms, p95 {:.2} ms over {runs}",
        ms(percentile(&second, 0.5)),
        ms(percentile(&second, 0.95))
    );

    // 2. IAM GetRole through aws-sdk-iam, 16 concurrent callers.
    let iam = aws_sdk_iam::Client::new(connection.sdk_config());
    let total = 4000;
    let concurrency = 16;
    let elapsed = concurrently(concurrency, total, move |task, i| {
        let iam = iam.clone();
        async move {
            iam.get_role()
                .role_name(format!("bench-role-{}", (task + i) % runs))
                .send()
                .await
                .unwrap();
        }
    })
    .await;
    println!(
        "IAM GetRole via aws-sdk-iam: {total} requests, {concurrency} concurrent, {:.0} req/s",
        total as f64 / elapsed.as_secs_f64()
    );

    // 3. STS AssumeRoleWithWebIdentity with real validation (JWKS cached after the first).
    let role_arn = client.find_role("bench-role-0").await.unwrap().unwrap().arn;
    assert_eq!(issuer.issuer(), ISSUER);
    let token =
        issuer.token(json!({"aud": AUD, "sub": "space:default:project:web:environment:dev"}));
    let sts = aws_sdk_sts::Client::new(connection.sdk_config());
    let total = 2000;
    let elapsed = concurrently(concurrency, total, move |_, _| {
        let (sts, role_arn, token) = (sts.clone(), role_arn.clone(), token.clone());
        async move {
            sts.assume_role_with_web_identity()
                .role_arn(&role_arn)
                .role_session_name("bench")
                .web_identity_token(&token)
                .send()
                .await
                .unwrap();
        }
    })
    .await;
    println!(
        "STS AssumeRoleWithWebIdentity (PS256 signature + trust policy): {total} requests, {concurrency} concurrent, {:.0} req/s",
        total as f64 / elapsed.as_secs_f64()
    );
}
