//! `build_client`: one client (and connection pool) per configuration, a private CA trusted
//! beside the platform's roots, HTTP/2 offered, certificate checks never off.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use octo_oidc_http::{ClientSettings, ClientSetupError, build_client};
use octo_oidc_testkit::TestIssuer;

/// A plain HTTP/1.1 server answering `200 ok` on kept-alive connections, counting them.
async fn counting_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let connections = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let counted = connections.clone();
    let listener = axum::serve::ListenerExt::tap_io(listener, move |_tcp| {
        counted.fetch_add(1, Ordering::SeqCst);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, connections)
}

/// Settings no other test uses (the process keeps clients by configuration).
fn settings_of_this_test(seconds: u64) -> ClientSettings {
    ClientSettings {
        request_timeout: Duration::from_secs(seconds),
        ..ClientSettings::default()
    }
}

#[tokio::test]
async fn equal_settings_get_one_client_and_reuse_its_connection() {
    let (addr, connections) = counting_server().await;
    let url = format!("http://{addr}/");
    let first = build_client(&settings_of_this_test(71)).expect("client");
    let second = build_client(&settings_of_this_test(71)).expect("client");
    for client in [&first, &second] {
        let answer = client.get(&url).send().await.expect("answer");
        assert_eq!(answer.text().await.expect("body"), "ok");
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "the second client must reuse the first one's connection"
    );

    let other = build_client(&settings_of_this_test(72)).expect("client");
    other.get(&url).send().await.expect("answer");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        2,
        "other settings are another client with its own connections"
    );
}

/// `GET https://HOST/.well-known/openid-configuration` with `ca_bundle_pem` trusted and HOST
/// resolved to `issuer`'s listener.
async fn discovery(
    issuer: &TestIssuer,
    host: &str,
    ca_bundle_pem: Option<Vec<u8>>,
) -> Result<reqwest::Response, reqwest::Error> {
    let client = build_client(&ClientSettings {
        ca_bundle_pem,
        resolve: vec![(host.into(), issuer.addr)],
        ..ClientSettings::default()
    })
    .expect("client");
    client
        .get(format!("https://{host}/.well-known/openid-configuration"))
        .send()
        .await
}

fn ca_of(issuer: &TestIssuer) -> Option<Vec<u8>> {
    issuer.ca_pem.clone().map(String::into_bytes)
}

#[tokio::test]
async fn a_server_behind_the_private_ca_is_reached_over_http2() {
    let issuer = TestIssuer::https("issuer.private.test").await;
    let answer = discovery(&issuer, "issuer.private.test", ca_of(&issuer))
        .await
        .expect("the private CA is trusted");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.version(), reqwest::Version::HTTP_2);
}

#[tokio::test]
async fn a_certificate_neither_the_bundle_nor_the_platform_vouches_for_is_refused() {
    let issuer = TestIssuer::https("issuer.private.test").await;
    let another = TestIssuer::https("another.private.test").await;
    for ca_bundle_pem in [None, ca_of(&another)] {
        let refused = discovery(&issuer, "issuer.private.test", ca_bundle_pem)
            .await
            .expect_err("an unknown issuer must be refused");
        let chain = octo_oidc_http::describe_error_chain(&refused);
        assert!(chain.contains("certificate"), "{chain}");
    }
}

#[tokio::test]
async fn the_private_ca_does_not_vouch_for_another_name() {
    let issuer = TestIssuer::https("issuer.private.test").await;
    let refused = discovery(&issuer, "elsewhere.private.test", ca_of(&issuer))
        .await
        .expect_err("a certificate for another name must be refused");
    let chain = octo_oidc_http::describe_error_chain(&refused);
    assert!(chain.contains("certificate not valid for name"), "{chain}");
}

#[test]
fn bundles_without_a_usable_certificate_are_refused() {
    for (pem, part) in [
        (
            &b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"[..],
            "is not valid PEM",
        ),
        (&b"no PEM at all"[..], "contains no certificate"),
    ] {
        let refused = build_client(&ClientSettings {
            ca_bundle_pem: Some(pem.to_vec()),
            ..ClientSettings::default()
        })
        .expect_err("refused");
        assert!(
            matches!(refused, ClientSetupError::CaBundle(_)),
            "{refused:?}"
        );
        assert!(refused.to_string().contains(part), "{refused}");
    }
}
