//! Benchmark: the Azure client against the in-process sandbox Entra / Graph / ARM on loopback.
//!
//! Prints: interactive sign-in time; a full setup (app registration, service principal, three
//! federated credentials, role lookup + assignment) on first run and on a second run that
//! changes nothing; the sandbox authority's client-assertion exchanges per second (each
//! verified for real against a local issuer's discovery + JWKS); Graph `GET /me` per second.
//!
//! Run: `cargo run --release -p octo-oidc-azure --example setup_bench`

use std::sync::Arc;
use std::time::{Duration, Instant};

use octo_oidc_azure::{
    ArmRbac, AuthorityConfig, AzureSession, GraphEntraApps, Resource, Transport,
};
use octo_oidc_core::ports::{ApplicationSpec, AzureRbac, EntraApps, FederatedCredential};
use octo_oidc_sandbox::entra::{
    DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID, DEFAULT_USER, EntraConfig, EntraSandbox,
    WIZARD_CLIENT_ID,
};
use octo_oidc_sandbox::faults::Faults;
use octo_oidc_sandbox::token_validation::RemoteIssuers;
use octo_oidc_testkit::misbehaving::browse_in_background;
use octo_oidc_testkit::{TestIssuer, serve};
use serde_json::json;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 16 concurrent workers send what `request` builds (each answer must be 200) for 3 seconds;
/// prints the requests per second.
async fn per_second(
    label: &str,
    request: impl Fn() -> reqwest::RequestBuilder + Send + Sync + 'static,
) {
    let request = Arc::new(request);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(3);
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut ok = 0u64;
                while Instant::now() < deadline {
                    let response = request().send().await.expect("request");
                    assert_eq!(response.status(), 200);
                    ok += 1;
                }
                ok
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await.expect("worker");
    }
    // Divide by the time the workers really took (the last request ends after the deadline).
    let measured = started.elapsed();
    println!(
        "{label}: {:.0} /s ({total} in {:.2} s)",
        total as f64 / measured.as_secs_f64(),
        measured.as_secs_f64()
    );
}

async fn setup(
    graph: &GraphEntraApps,
    arm: &ArmRbac,
    unique: &str,
    issuer: &str,
) -> (usize, Duration) {
    let started = Instant::now();
    let mut changes = 0;
    let app = graph
        .ensure_application(&ApplicationSpec::named(unique, unique))
        .await
        .expect("app");
    changes += usize::from(app.changed());
    let app = app.into_inner();
    let sp = graph
        .ensure_service_principal(&app.app_id)
        .await
        .expect("sp");
    changes += usize::from(sp.changed());
    for env in ["development", "staging", "production"] {
        let credential = FederatedCredential {
            name: format!("web-{env}"),
            issuer: issuer.to_owned(),
            subject: format!("space:default:project:web:environment:{env}"),
            audiences: vec!["api://AzureADTokenExchange".into()],
            description: Some("bench".into()),
        };
        let applied = graph
            .ensure_federated_credential(&app.object_id, &credential)
            .await
            .expect("fic");
        changes += usize::from(applied.changed());
    }
    let scope = format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg-web-prod");
    let role = arm
        .role_definition_id(&scope, "Contributor")
        .await
        .expect("role");
    let assignment =
        octo_oidc_core::azure::role_assignment(&scope, &role, &sp.into_inner().object_id);
    changes += usize::from(
        arm.ensure_role_assignment(&assignment)
            .await
            .expect("ra")
            .changed(),
    );
    (changes, started.elapsed())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let faults = Faults::new();
    let sandbox = EntraSandbox::new(
        EntraConfig::default(),
        faults,
        RemoteIssuers::new(reqwest::Client::new()),
    );
    let login = serve(sandbox.login_router()).await;
    let graph_url = serve(sandbox.graph_router()).await;
    let arm_url = serve(sandbox.arm_router()).await;
    sandbox.set_auto_approve_user(Some(DEFAULT_USER));

    // A local issuer standing in for Octopus (discovery + JWKS).
    let test_issuer = TestIssuer::http().await;
    let issuer = test_issuer.base.clone();

    let transport = Transport::new(reqwest::Client::new());
    let started = Instant::now();
    let session = AzureSession::sign_in_interactive(
        transport,
        AuthorityConfig {
            authority_url: login.clone(),
            tenant: "organizations".into(),
            client_id: WIZARD_CLIENT_ID.into(),
        },
        |url| {
            browse_in_background(url);
            Ok(())
        },
        Duration::from_secs(10),
    )
    .await
    .expect("sign-in");
    session
        .access_token(Resource::Arm, None)
        .await
        .expect("arm token");
    println!(
        "sign-in (auth code + PKCE, Graph + ARM tokens): {:.1} ms",
        ms(started.elapsed())
    );

    let graph = GraphEntraApps::new(session.clone(), &graph_url);
    let arm = ArmRbac::new(session.clone(), &arm_url);
    let runs = 20;
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for n in 0..runs {
        let unique = format!("octo-oidc-bench-{n}");
        let (changes, took) = setup(&graph, &arm, &unique, &issuer).await;
        assert_eq!(changes, 6, "first run creates everything");
        first.push(took);
        let (changes, took) = setup(&graph, &arm, &unique, &issuer).await;
        assert_eq!(changes, 0, "second run changes nothing");
        second.push(took);
    }
    let avg = |v: &[Duration]| ms(v.iter().sum::<Duration>()) / v.len() as f64;
    let max = |v: &[Duration]| v.iter().max().map(|d| ms(*d)).unwrap_or(0.0);
    println!(
        "full setup, first run (6 objects): avg {:.1} ms, max {:.1} ms over {runs} runs",
        avg(&first),
        max(&first)
    );
    println!(
        "full setup, second run (no changes): avg {:.1} ms, max {:.1} ms over {runs} runs",
        avg(&second),
        max(&second)
    );

    // Client-assertion exchanges per second, 16 concurrent clients, 3 seconds.
    let app_id = sandbox.applications(DEFAULT_TENANT_ID)[0]["appId"]
        .as_str()
        .expect("appId")
        .to_owned();
    let token_url = format!("{login}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token");
    let assertion = test_issuer.token(json!({
        "sub": "space:default:project:web:environment:production",
        "aud": "api://AzureADTokenExchange",
    }));
    let http = reqwest::Client::new();
    let graph_http = http.clone();
    per_second(
        "client-assertion exchanges (16 concurrent, verified via JWKS)",
        move || {
            http.post(&token_url).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", app_id.as_str()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
                ("scope", "https://management.azure.com/.default"),
            ])
        },
    )
    .await;

    // Graph GET /me per second.
    let token = session
        .access_token(Resource::Graph, None)
        .await
        .expect("token");
    let me_url = format!("{graph_url}/v1.0/me");
    let token = token.expose().to_owned();
    per_second(
        "Graph GET /me (16 concurrent, RS256 bearer check)",
        move || graph_http.get(&me_url).bearer_auth(&token),
    )
    .await;
}
