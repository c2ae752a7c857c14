//! Bounded retries and bounded remote data, against hand-made listeners that misbehave in ways
//! the sandbox does not: a foreign `@odata.nextLink`, an oversized body, a listener that never
//! answers, a token endpoint that always fails, host names that never resolve; and the sign-in
//! listener ignoring a redirect with the wrong `state`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, get, post};
use octo_oidc_azure::{AuthorityConfig, AzureSession, GraphEntraApps, Transport};
use octo_oidc_core::ports::EntraApps;
use octo_oidc_core::retry::RetryPolicy;
use octo_oidc_core::{ErrorCode, Problem, Secret};
use octo_oidc_testkit::misbehaving::{NoSuchHost, silent_listener, unavailable_once};
use octo_oidc_testkit::{RecordingProgress, assert_retries_went_to, serve};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn fast_transport() -> Transport {
    Transport::new(reqwest::Client::new())
        .with_policies(RetryPolicy::fast(), RetryPolicy::fast())
        .with_request_timeout(Duration::from_secs(5))
}

/// An authority whose token endpoint hands out a token to any service principal.
fn token_routes() -> Router {
    Router::new().route(
        "/{tenant}/oauth2/v2.0/token",
        post(|| async {
            axum::Json(serde_json::json!({
                "token_type": "Bearer",
                "access_token": "header.eyJ0aWQiOiJ0In0.signature",
                "expires_in": 3600
            }))
        }),
    )
}

fn session(transport: Transport, authority_url: &str) -> AzureSession {
    AzureSession::service_principal(
        transport,
        AuthorityConfig {
            authority_url: authority_url.to_owned(),
            tenant: TENANT.to_owned(),
            client_id: "11111111-2222-3333-4444-555555555555".to_owned(),
        },
        Secret::new("client-secret"),
    )
    .expect("session")
}

#[tokio::test]
async fn a_foreign_next_link_is_not_followed_and_gets_no_token() {
    let foreign_hits = Arc::new(AtomicUsize::new(0));
    let foreign_auth = Arc::new(Mutex::new(Vec::<String>::new()));
    let foreign = {
        let hits = foreign_hits.clone();
        let auth = foreign_auth.clone();
        serve(Router::new().fallback(any(move |headers: HeaderMap| {
            let hits = hits.clone();
            let auth = auth.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                if let Some(value) = headers.get("authorization") {
                    auth.lock()
                        .expect("lock")
                        .push(value.to_str().unwrap_or_default().to_owned());
                }
                axum::Json(serde_json::json!({ "value": [] }))
            }
        })))
        .await
    };
    let next =
        format!("{foreign}/v1.0/applications/app-1/federatedIdentityCredentials?$skiptoken=x");
    let graph = serve(token_routes().route(
        "/v1.0/applications/{id}/federatedIdentityCredentials",
        get(move || {
            let next = next.clone();
            async move {
                axum::Json(serde_json::json!({
                    "value": [{"name": "a", "issuer": "https://i", "subject": "s", "audiences": ["api://AzureADTokenExchange"]}],
                    "@odata.nextLink": next,
                }))
            }
        }),
    ))
    .await;
    let apps = GraphEntraApps::new(session(fast_transport(), &graph), &graph);
    let problem: Problem = apps
        .list_federated_credentials("app-1")
        .await
        .expect_err("a foreign next link is refused");
    assert!(
        problem.message.contains("not to the API at"),
        "names the refusal: {}",
        problem.message
    );
    assert_eq!(
        foreign_hits.load(Ordering::SeqCst),
        0,
        "no request went to the foreign origin"
    );
    assert!(
        foreign_auth.lock().expect("lock").is_empty(),
        "no bearer token left the API"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_naming_the_cap() {
    let graph =
        serve(token_routes().route("/v1.0/me", get(|| async { "x".repeat(9 * 1024 * 1024) })))
            .await;
    let apps = GraphEntraApps::new(session(fast_transport(), &graph), &graph);
    let problem = apps.me().await.expect_err("9 MiB is over the cap");
    assert!(
        problem.message.contains("larger than the 8 MiB limit"),
        "names the cap: {}",
        problem.message
    );
}

#[tokio::test]
async fn a_hung_call_ends_at_its_deadline_with_a_timeout_naming_it() {
    let silent_addr = silent_listener().await;
    let authority = serve(token_routes()).await;
    let transport = fast_transport()
        .with_request_timeout(Duration::from_secs(60))
        .with_deadline(Duration::from_millis(400));
    let apps = GraphEntraApps::new(
        session(transport, &authority),
        &format!("http://{silent_addr}"),
    );
    let started = std::time::Instant::now();
    let problem = apps.me().await.expect_err("the listener never answers");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "ended by the deadline"
    );
    assert_eq!(problem.code, ErrorCode::Timeout);
    assert!(
        problem.message.contains("GET me") && problem.message.contains("400 ms"),
        "names the operation and the deadline: {}",
        problem.message
    );
}

#[tokio::test]
async fn retries_are_reported_on_the_sink_given_to_the_connected_client() {
    let (me, calls) =
        unavailable_once(r#"{"id":"u","userPrincipalName":"a@b.c","displayName":"A"}"#);
    let graph = serve(token_routes().route("/v1.0/me", me)).await;
    let at_connect = RecordingProgress::new();
    let transport = fast_transport().reporting_to(Arc::new(at_connect.clone()));
    let connected = GraphEntraApps::new(session(transport, &graph), &graph);
    let later_step = RecordingProgress::new();
    let user = connected
        .reporting_to(Arc::new(later_step.clone()))
        .me()
        .await
        .expect("the retry succeeds");
    assert_eq!(user.id, "u");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_retries_went_to(&later_step, &at_connect);
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_tried_at_most_twice() {
    let resolver = NoSuchHost::default();
    let http = reqwest::Client::builder()
        .dns_resolver(resolver.clone())
        .build()
        .expect("client");
    let events = RecordingProgress::new();
    let transport = Transport::new(http)
        .with_policies(RetryPolicy::fast(), RetryPolicy::fast())
        .reporting_to(Arc::new(events.clone()));
    let apps = GraphEntraApps::new(
        session(transport, "http://login.no-such-host.test:8080"),
        "http://graph.no-such-host.test:8080",
    );
    let problem = apps.me().await.expect_err("nothing resolves");
    assert_eq!(problem.code, ErrorCode::RemoteUnavailable);
    resolver.assert_tried_at_most_twice();
    assert!(events.retries().len() <= 1);
}

#[tokio::test]
async fn the_authorization_code_redemption_is_never_retried() {
    let token_calls = Arc::new(AtomicUsize::new(0));
    let authority = {
        let calls = token_calls.clone();
        serve(Router::new().route(
            "/{tenant}/oauth2/v2.0/token",
            post(move || {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::SERVICE_UNAVAILABLE, "try later")
                }
            }),
        ))
        .await
    };
    let result = AzureSession::sign_in_interactive(
        fast_transport(),
        wizard_authority(authority),
        |url| {
            let (redirect, state) = redirect_and_state(url);
            tokio::spawn(async move {
                let _ = reqwest::get(format!("{redirect}/?code=single-use&state={state}")).await;
            });
            Ok(())
        },
        Duration::from_secs(10),
    )
    .await;
    let error = result.expect_err("the authority fails");
    assert_eq!(error.code(), ErrorCode::RemoteUnavailable);
    assert_eq!(
        token_calls.load(Ordering::SeqCst),
        1,
        "the code was redeemed once, not resent"
    );
}

#[tokio::test]
async fn a_redirect_with_the_wrong_state_is_ignored_and_the_right_one_completes() {
    let token_calls = Arc::new(AtomicUsize::new(0));
    let authority = {
        let calls = token_calls.clone();
        serve(Router::new().route(
            "/{tenant}/oauth2/v2.0/token",
            post(move |request: Request| {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
                        .await
                        .unwrap_or_default();
                    let form = String::from_utf8_lossy(&body).into_owned();
                    assert!(
                        form.contains("code=right-code"),
                        "only the right code is redeemed"
                    );
                    // claims {"tid":"t-1","oid":"o-1"}
                    axum::Json(serde_json::json!({
                        "token_type": "Bearer",
                        "access_token": "h.eyJ0aWQiOiJ0LTEiLCJvaWQiOiJvLTEifQ.s",
                        "refresh_token": "r",
                        "expires_in": 3600
                    }))
                }
            }),
        ))
        .await
    };
    let wrong_status = Arc::new(Mutex::new(None));
    let seen = wrong_status.clone();
    let session = AzureSession::sign_in_interactive(
        fast_transport(),
        wizard_authority(authority),
        move |url| {
            let (redirect, state) = redirect_and_state(url);
            tokio::spawn(async move {
                let wrong = reqwest::get(format!("{redirect}/?code=stolen-code&state=not-{state}"))
                    .await
                    .expect("the listener answers a wrong state");
                *seen.lock().expect("lock") = Some(wrong.status().as_u16());
                reqwest::get(format!("{redirect}/?code=right-code&state={state}"))
                    .await
                    .expect("the listener answers the right state");
            });
            Ok(())
        },
        Duration::from_secs(10),
    )
    .await
    .expect("the right redirect completes the sign-in");
    assert_eq!(session.account().expect("account").tenant_id, "t-1");
    assert_eq!(*wrong_status.lock().expect("lock"), Some(400));
    assert_eq!(token_calls.load(Ordering::SeqCst), 1);
}

/// The wizard's multi-tenant sign-in at `authority_url`.
fn wizard_authority(authority_url: String) -> AuthorityConfig {
    AuthorityConfig {
        authority_url,
        tenant: "organizations".into(),
        client_id: "wizard".into(),
    }
}

/// The loopback redirect URI (as 127.0.0.1) and the `state` of an authorize URL.
fn redirect_and_state(authorize_url: &str) -> (String, String) {
    let url = url::Url::parse(authorize_url).expect("authorize URL");
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .expect(name)
    };
    let redirect = param("redirect_uri").replace("localhost", "127.0.0.1");
    (redirect.trim_end_matches('/').to_owned(), param("state"))
}
