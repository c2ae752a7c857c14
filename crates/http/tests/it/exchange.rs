//! `exchange`: one request as a task of its own, aborted with its future.

use std::time::Duration;

use octo_oidc_http::{ClientSettings, DEFAULT_BODY_CAP, build_client, exchange};
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn an_exchange_reads_status_headers_and_body() {
    let base = octo_oidc_testkit::serve(axum::Router::new().route(
        "/",
        axum::routing::get(|| async { ([("x-answer", "yes")], "body") }),
    ))
    .await;
    let client = build_client(&ClientSettings::default()).expect("client");
    let answer = exchange(client.get(format!("{base}/")), DEFAULT_BODY_CAP)
        .await
        .expect("answer");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["x-answer"], "yes");
    assert_eq!(&answer.body[..], b"body");
}

#[tokio::test]
async fn dropping_an_exchange_closes_its_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let client = build_client(&ClientSettings::default()).expect("client");
    let request = client.get(format!("http://{addr}/never-answered"));
    let pending = tokio::spawn(exchange(request, DEFAULT_BODY_CAP));
    let (mut stream, _) = listener.accept().await.expect("the request connects");
    let mut head = [0u8; 64];
    let read = stream.read(&mut head).await.expect("the request arrives");
    assert!(head[..read].starts_with(b"GET /never-answered"));

    pending.abort();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
        .await
        .expect("the connection must close once the exchange is dropped");
    assert!(closed.is_ok(), "{closed:?}");
}
