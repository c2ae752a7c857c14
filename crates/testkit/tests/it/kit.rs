use axum::Router;
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use octo_oidc_core::ErrorCode;
use octo_oidc_core::events::{ProgressEvent, ProgressSink};
use octo_oidc_testkit::{RecordingProgress, TestIssuer, TestKey, serve};
use serde_json::{Value, json};

#[tokio::test]
async fn serve_answers_on_loopback() {
    let base = serve(Router::new().route("/ping", get(|| async { "pong" }))).await;
    assert!(base.starts_with("http://127.0.0.1:"));
    let body = reqwest::get(format!("{base}/ping"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "pong");
}

#[test]
fn the_recording_sink_keeps_events_in_order_and_flattens_retries() {
    let sink = RecordingProgress::new();
    let clone = sink.clone();
    clone.emit(ProgressEvent::Info {
        message: "one".into(),
    });
    clone.emit(ProgressEvent::Retrying {
        service: "iam".into(),
        operation: "CreateRole".into(),
        attempt: 1,
        wait_ms: 20,
        code: ErrorCode::RateLimited,
        reason: "Throttling".into(),
    });
    assert_eq!(sink.events().len(), 2);
    let retries = sink.retries();
    assert_eq!(retries.len(), 1);
    assert_eq!(
        (
            retries[0].operation.as_str(),
            retries[0].wait_ms,
            retries[0].code
        ),
        ("CreateRole", 20, ErrorCode::RateLimited)
    );
    sink.clear();
    assert!(clone.events().is_empty());
}

/// Fetches discovery and JWKS through the issuer's own client and verifies a token with them.
async fn verify_through_jwks(
    issuer: &TestIssuer,
    token: &str,
) -> Result<Value, jsonwebtoken::errors::Error> {
    let get = |url: String| async move {
        let answer = issuer.http.get(url).send().await.unwrap();
        answer.json::<Value>().await.unwrap()
    };
    let discovery = get(format!("{}/.well-known/openid-configuration", issuer.base)).await;
    let jwks = get(discovery["jwks_uri"].as_str().unwrap().to_string()).await;
    let jwk = &jwks["keys"][0];
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::PS256);
    validation.set_audience(&["api://test"]);
    validation.set_issuer(&[discovery["issuer"].as_str().unwrap()]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).map(|d| d.claims)
}

#[tokio::test]
async fn an_https_issuer_serves_discovery_and_keys_that_verify_its_tokens_only() {
    let issuer = TestIssuer::https("issuer.testkit.test").await;
    assert_eq!(issuer.base, "https://issuer.testkit.test");
    assert!(issuer.ca_pem.is_some());
    let token = issuer.token(json!({"sub": "space:default", "aud": "api://test"}));
    let claims = verify_through_jwks(&issuer, &token).await.unwrap();
    assert_eq!(claims["iss"], "https://issuer.testkit.test");
    let forged = issuer.token_with(
        &TestKey::generate_with_kid(issuer.key.kid()),
        json!({"sub": "x", "aud": "api://test"}),
    );
    assert!(verify_through_jwks(&issuer, &forged).await.is_err());
}

#[tokio::test]
async fn an_http_issuer_announces_what_it_is_told() {
    let issuer = TestIssuer::http().await;
    assert_eq!(issuer.issuer(), issuer.base);
    issuer.set_discovered_issuer(&format!("{}/", issuer.base));
    let token = issuer.token(json!({"sub": "s", "aud": "api://test"}));
    let claims = verify_through_jwks(&issuer, &token).await.unwrap();
    assert_eq!(claims["iss"], format!("{}/", issuer.base));
    let expired = issuer.mint(&issuer.base, "s", "api://test", -600);
    assert!(verify_through_jwks(&issuer, &expired).await.is_err());
}
