//! The sandbox Entra authority through real HTTP: discovery, sign-in (auth code + PKCE,
//! refresh tokens, one resource per request, device code), client secrets, and the
//! client-assertion (workload identity federation) grant with each documented rejection.

use crate::entra_support;

use crate::http_support::json_of;
use entra_support::*;
use octo_oidc_sandbox::entra::{
    DEFAULT_PASSWORD, DEFAULT_TENANT_ID, DEFAULT_USER, EntraConfig, EntraSeed, LIMITED_USER,
    WIZARD_CLIENT_ID,
};
use octo_oidc_sandbox::faults::{FaultKind, FaultRule};
use serde_json::{Value, json};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const EXCHANGE: &str = "api://AzureADTokenExchange";

#[tokio::test]
async fn discovery_names_the_tenant_issuer_and_rejects_unknown_tenants() {
    let h = start().await;
    let (_, doc, _) = h
        .get(&format!(
            "{}/{DEFAULT_TENANT_ID}/v2.0/.well-known/openid-configuration",
            h.login
        ))
        .await;
    assert_eq!(
        doc["issuer"],
        format!("{}/{DEFAULT_TENANT_ID}/v2.0", h.login)
    );
    let (_, jwks, _) = h.get(doc["jwks_uri"].as_str().expect("jwks_uri")).await;
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    let (_, orgs, _) = h
        .get(&format!(
            "{}/organizations/v2.0/.well-known/openid-configuration",
            h.login
        ))
        .await;
    assert_eq!(orgs["issuer"], format!("{}/{{tenantid}}/v2.0", h.login));
    let (status, unknown, _) = h
        .get(&format!(
            "{}/nope.example/v2.0/.well-known/openid-configuration",
            h.login
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(aadsts_code(&unknown), 90002);
}

#[tokio::test]
async fn auth_code_with_pkce_then_refresh_for_the_second_resource() {
    let h = start().await;
    let body = h.sign_in(DEFAULT_USER, GRAPH_DEFAULT).await;
    let access = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(access["aud"], "https://graph.microsoft.com");
    assert_eq!(access["tid"], DEFAULT_TENANT_ID);
    assert_eq!(access["upn"], DEFAULT_USER);
    assert!(
        access["scp"]
            .as_str()
            .expect("scp")
            .contains("Application.ReadWrite.All")
    );
    assert!(body["id_token"].is_string());
    let refresh = body["refresh_token"].as_str().expect("refresh token");

    // The refresh token gets the ARM token (one resource per request).
    let (status, arm) = h.refresh("organizations", refresh, ARM_DEFAULT).await;
    assert_eq!(status, 200, "{arm}");
    assert_eq!(
        claims(arm["access_token"].as_str().expect("token"))["aud"],
        "https://management.azure.com/"
    );

    // Both resources at once: AADSTS28000.
    let mixed = format!("{GRAPH_DEFAULT} {ARM_DEFAULT}");
    let (status, err) = h.refresh("organizations", refresh, &mixed).await;
    assert_eq!(status, 400);
    assert_eq!(aadsts_code(&err), 28000);
    assert_eq!(err["error"], "invalid_request");

    // Redeemed at another tenant the admin is a guest in: tid of that tenant.
    let second = "5c9f3a1e-0b7d-4c2a-9e4f-8d6b2a1c3e5f";
    let (status, other) = h.refresh(second, refresh, ARM_DEFAULT).await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(
        claims(other["access_token"].as_str().expect("t"))["tid"],
        second
    );

    // A garbage refresh token.
    let (status, err) = h.refresh("organizations", "1.bogus", ARM_DEFAULT).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_grant");
}

#[tokio::test]
async fn a_user_outside_the_tenant_cannot_redeem_there() {
    let h = start().await;
    let body = h.sign_in(LIMITED_USER, GRAPH_DEFAULT).await;
    let (status, err) = h
        .refresh(
            "5c9f3a1e-0b7d-4c2a-9e4f-8d6b2a1c3e5f",
            body["refresh_token"].as_str().expect("rt"),
            ARM_DEFAULT,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(aadsts_code(&err), 50020);
}

#[tokio::test]
async fn code_redemption_checks_verifier_reuse_and_redirect() {
    let h = start().await;
    let code = h
        .auth_code(DEFAULT_USER, "organizations", GRAPH_DEFAULT)
        .await;
    let redeem = |verifier: &'static str, redirect: &'static str, code: String| {
        let h = &h;
        async move {
            h.token(
                "organizations",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", WIZARD_CLIENT_ID),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                ],
            )
            .await
        }
    };
    let (status, err) = redeem("wrong-verifier", "http://localhost:8400", code.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(aadsts_code(&err), 501481);
    // The code was consumed by the failed attempt.
    let (_, err) = redeem(VERIFIER, "http://localhost:8400", code).await;
    assert_eq!(aadsts_code(&err), 54005);

    let code = h
        .auth_code(DEFAULT_USER, "organizations", GRAPH_DEFAULT)
        .await;
    let (_, err) = redeem(VERIFIER, "http://localhost:9999/other", code).await;
    assert_eq!(aadsts_code(&err), 500112);

    let code = h
        .auth_code(DEFAULT_USER, "organizations", GRAPH_DEFAULT)
        .await;
    let (status, ok) = redeem(VERIFIER, "http://localhost:8400", code.clone()).await;
    assert_eq!(status, 200, "{ok}");
    assert!(
        ok.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let (_, err) = redeem(VERIFIER, "http://localhost:8400", code).await;
    assert_eq!(aadsts_code(&err), 54005);
}

#[tokio::test]
async fn authorize_rejects_unregistered_redirects_and_clients_on_the_page() {
    let h = start().await;
    h.sandbox.set_auto_approve_user(Some(DEFAULT_USER));
    let page = h
        .http
        .get(h.authorize_url(
            "organizations",
            GRAPH_DEFAULT,
            "http://localhost:8400/callback",
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), 400);
    assert!(page.text().await.expect("text").contains("AADSTS50011"));
    let page = h
        .http
        .get(h.authorize_url("organizations", GRAPH_DEFAULT, "http://127.0.0.1:8400"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        page.status(),
        400,
        "127.0.0.1 is not the registered localhost"
    );
    let bad_client = h
        .authorize_url("organizations", GRAPH_DEFAULT, "http://localhost:1")
        .replace(WIZARD_CLIENT_ID, "00000000-0000-0000-0000-000000000001");
    let page = h.http.get(bad_client).send().await.expect("get");
    assert!(page.text().await.expect("text").contains("AADSTS700016"));
}

#[tokio::test]
async fn the_sign_in_form_checks_the_password() {
    let h = start().await;
    let url = h.authorize_url("organizations", GRAPH_DEFAULT, "http://localhost:8123");
    let form_page = h.http.get(&url).send().await.expect("get");
    assert_eq!(form_page.status(), 200);
    assert!(form_page.text().await.expect("text").contains("<form"));
    let query: Vec<(String, String)> = url::Url::parse(&url)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect();
    let post = |password: &str| {
        let mut form = query.clone();
        form.push(("username".into(), DEFAULT_USER.into()));
        form.push(("password".into(), password.into()));
        h.http
            .post(format!("{}/organizations/oauth2/v2.0/authorize", h.login))
            .form(&form)
            .send()
    };
    let wrong = post("nope").await.expect("post");
    assert_eq!(wrong.status(), 200);
    assert!(wrong.text().await.expect("text").contains("AADSTS50126"));
    let right = post(DEFAULT_PASSWORD).await.expect("post");
    assert_eq!(right.status(), 302);
    let location = right.headers()["location"].to_str().expect("ascii");
    assert!(
        location.starts_with("http://localhost:8123/?code="),
        "{location}"
    );
}

#[tokio::test]
async fn device_code_is_pending_until_approved() {
    let h = start().await;
    let started = json_of(
        h.http
            .post(format!("{}/organizations/oauth2/v2.0/devicecode", h.login))
            .form(&[("client_id", WIZARD_CLIENT_ID), ("scope", GRAPH_DEFAULT)]),
    )
    .await;
    let device_code = started["device_code"].as_str().expect("device_code");
    let poll = || async {
        h.token(
            "organizations",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", WIZARD_CLIENT_ID),
                ("device_code", device_code),
            ],
        )
        .await
    };
    let (status, pending) = poll().await;
    assert_eq!(status, 400);
    assert_eq!(pending["error"], "authorization_pending");
    assert_eq!(aadsts_code(&pending), 70016);
    let approved = h
        .http
        .post(started["verification_uri"].as_str().expect("uri"))
        .form(&[
            ("user_code", started["user_code"].as_str().expect("code")),
            ("username", DEFAULT_USER),
            ("password", DEFAULT_PASSWORD),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(approved.status(), 200);
    let (status, tokens) = poll().await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        claims(tokens["access_token"].as_str().expect("t"))["upn"],
        DEFAULT_USER
    );
}

#[tokio::test]
async fn client_secret_grant_for_a_service_principal() {
    let h = start().await;
    let admin = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let (object_id, app_id, sp_id) = h.app_with_sp(&admin, "automation").await;
    let (status, password, _) = h
        .graph_post(
            &admin,
            &format!("applications/{object_id}/addPassword"),
            json!({ "passwordCredential": { "displayName": "ci" } }),
        )
        .await;
    assert_eq!(status, 200, "{password}");
    let secret = password["secretText"]
        .as_str()
        .expect("secretText")
        .to_owned();
    let grant = |secret: String, scope: &'static str, tenant: &'static str| {
        let h = &h;
        let app_id = app_id.clone();
        async move {
            h.token(
                tenant,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &app_id),
                    ("client_secret", &secret),
                    ("scope", scope),
                ],
            )
            .await
        }
    };
    let (status, ok) = grant(secret.clone(), ARM_DEFAULT, DEFAULT_TENANT_ID).await;
    assert_eq!(status, 200, "{ok}");
    let token = claims(ok["access_token"].as_str().expect("t"));
    assert_eq!(token["oid"], sp_id.as_str());
    assert_eq!(token["idtyp"], "app");
    let (status, err) = grant("wrong".into(), ARM_DEFAULT, DEFAULT_TENANT_ID).await;
    assert_eq!((status, aadsts_code(&err)), (401, 7000215));
    let (_, err) = grant(
        secret.clone(),
        "https://management.azure.com/user_impersonation",
        DEFAULT_TENANT_ID,
    )
    .await;
    assert_eq!(aadsts_code(&err), 1002012);
    let (_, err) = grant(secret.clone(), ARM_DEFAULT, "organizations").await;
    assert_eq!(aadsts_code(&err), 900023);
    let (_, err) = grant(secret, ARM_DEFAULT, "5c9f3a1e-0b7d-4c2a-9e4f-8d6b2a1c3e5f").await;
    assert_eq!(aadsts_code(&err), 700016, "the app lives in another tenant");
}

/// An app + SP + one FIC trusting `issuer`; returns the appId.
async fn federated_app(h: &Harness, issuer: &str, subject: &str, audience: &str) -> String {
    let admin = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let (object_id, app_id, _) = h.app_with_sp(&admin, "octopus-fic").await;
    let (status, fic, _) = h
        .graph_post(&admin, &format!("applications/{object_id}/federatedIdentityCredentials"), json!({ "name": "octopus", "issuer": issuer, "subject": subject, "audiences": [audience] }))
        .await;
    assert_eq!(status, 201, "{fic}");
    app_id
}

async fn exchange(h: &Harness, app_id: &str, assertion: &str) -> (u16, Value) {
    h.token(
        DEFAULT_TENANT_ID,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
            ("scope", ARM_DEFAULT),
        ],
    )
    .await
}

const SUBJECT: &str = "space:default:project:web:environment:production";

#[tokio::test]
async fn a_matching_assertion_is_exchanged_for_an_sp_token() {
    let h = start().await;
    let issuer = TestIssuer::http().await;
    let app_id = federated_app(&h, &issuer.base, SUBJECT, EXCHANGE).await;
    let (status, body) = exchange(
        &h,
        &app_id,
        &issuer.mint(&issuer.base, SUBJECT, EXCHANGE, 300),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = claims(body["access_token"].as_str().expect("t"));
    assert_eq!(token["appid"], app_id.as_str());
    assert_eq!(token["aud"], "https://management.azure.com/");
}

#[tokio::test]
async fn mismatched_assertions_get_the_documented_aadsts_codes() {
    let h = start().await;
    let issuer = TestIssuer::http().await;
    let app_id = federated_app(&h, &issuer.base, SUBJECT, EXCHANGE).await;
    let base = issuer.base.clone();
    let cases: Vec<(&str, String, u64)> = vec![
        (
            "trailing-slash issuer",
            issuer.mint(&format!("{base}/"), SUBJECT, EXCHANGE, 300),
            700211,
        ),
        (
            "other subject",
            issuer.mint(&base, "space:default:project:api", EXCHANGE, 300),
            700213,
        ),
        (
            "subject case",
            issuer.mint(&base, &SUBJECT.to_uppercase(), EXCHANGE, 300),
            7002138,
        ),
        (
            "other audience",
            issuer.mint(&base, SUBJECT, "api://other", 300),
            700212,
        ),
        (
            "audience case",
            issuer.mint(&base, SUBJECT, "API://AzureADTokenExchange", 300),
            7002121,
        ),
        (
            "expired",
            issuer.mint(&base, SUBJECT, EXCHANGE, -600),
            700024,
        ),
        ("malformed", "not-a-jwt".to_owned(), 50027),
    ];
    for (case, assertion, expected) in cases {
        let (status, body) = exchange(&h, &app_id, &assertion).await;
        assert_eq!(status, 400, "{case}: {body}");
        assert_eq!(aadsts_code(&body), expected, "{case}: {body}");
    }
    // The 70021 message carries the assertion's issuer, subject and audience.
    let admin = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let (_, bare_app, _) = h.app_with_sp(&admin, "no-fics").await;
    let (_, body) = exchange(&h, &bare_app, &issuer.mint(&base, SUBJECT, EXCHANGE, 300)).await;
    assert_eq!(aadsts_code(&body), 70021);
    let text = body["error_description"].as_str().expect("text");
    assert!(
        text.contains(&format!("Assertion Issuer: '{base}'")) && text.contains(SUBJECT),
        "{text}"
    );
}

#[tokio::test]
async fn signatures_and_keys_are_verified_through_the_issuers_jwks() {
    let h = start().await;
    let issuer = TestIssuer::http().await;
    let app_id = federated_app(&h, &issuer.base, SUBJECT, EXCHANGE).await;
    // A foreign key with an unknown kid.
    let stranger = TestIssuer::http().await;
    let (_, body) = exchange(
        &h,
        &app_id,
        &stranger.mint(&issuer.base, SUBJECT, EXCHANGE, 300),
    )
    .await;
    assert_eq!(aadsts_code(&body), 7000272, "{body}");
    // A foreign key claiming the issuer's kid: the signature does not verify.
    let impostor = octo_oidc_testkit::TestKey::generate_with_kid(issuer.key.kid());
    let forged = impostor.mint(
        jsonwebtoken::Algorithm::PS256,
        &json!({ "iss": issuer.base, "sub": SUBJECT, "aud": EXCHANGE, "exp": 4_000_000_000u64 }),
    );
    let (_, body) = exchange(&h, &app_id, &forged).await;
    assert_eq!(aadsts_code(&body), 700027, "{body}");
}

#[tokio::test]
async fn unreachable_or_inconsistent_discovery_is_aadsts50166() {
    let h = start().await;
    let issuer = TestIssuer::http().await;
    // The FIC and the token agree on a trailing slash, but discovery says otherwise.
    let slash = format!("{}/", issuer.base);
    let app_id = federated_app(&h, &slash, SUBJECT, EXCHANGE).await;
    let (_, body) = exchange(&h, &app_id, &issuer.mint(&slash, SUBJECT, EXCHANGE, 300)).await;
    assert_eq!(aadsts_code(&body), 50166, "{body}");
    // An issuer nobody listens on.
    let dead = "http://127.0.0.1:9".to_owned();
    let app_id = federated_app(&h, &dead, SUBJECT, EXCHANGE).await;
    let (_, body) = exchange(&h, &app_id, &issuer.mint(&dead, SUBJECT, EXCHANGE, 300)).await;
    assert_eq!(aadsts_code(&body), 50166, "{body}");
}

#[tokio::test]
async fn client_checks_before_the_assertion() {
    let h = start().await;
    let issuer = TestIssuer::http().await;
    let assertion = issuer.mint(&issuer.base, SUBJECT, EXCHANGE, 300);
    let (_, body) = exchange(&h, "11111111-2222-3333-4444-555555555555", &assertion).await;
    assert_eq!(aadsts_code(&body), 700016);
    // An app without a service principal.
    let admin = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let (_, app, _) = h
        .graph_post(&admin, "applications", json!({"displayName": "no-sp"}))
        .await;
    let (_, body) = exchange(&h, app["appId"].as_str().expect("appId"), &assertion).await;
    assert_eq!(aadsts_code(&body), 7000229);
    // Missing assertion type.
    let federated = federated_app(&h, &issuer.base, SUBJECT, EXCHANGE).await;
    let (status, body) = h
        .token(
            DEFAULT_TENANT_ID,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &federated),
                ("client_assertion", &assertion),
                ("scope", ARM_DEFAULT),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(aadsts_code(&body), 90014);
}

#[tokio::test]
async fn throttling_on_the_token_endpoint_carries_retry_after() {
    let h = start_with(EntraConfig {
        seed: EntraSeed::Demo,
        ..EntraConfig::default()
    })
    .await;
    h.faults.add(
        FaultRule::for_service("entra")
            .fault(FaultKind::Throttle {
                retry_after_secs: 7,
            })
            .times(1),
    );
    let response = h
        .http
        .post(format!("{}/organizations/oauth2/v2.0/token", h.login))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn snapshot_and_restore_keep_keys_and_directory() {
    let h = start().await;
    let token = h.user_token(DEFAULT_USER, GRAPH_DEFAULT).await;
    let saved = h.sandbox.snapshot();
    h.app_with_sp(&token, "after-snapshot").await;
    assert_eq!(h.sandbox.applications(DEFAULT_TENANT_ID).len(), 1);
    h.sandbox.restore(saved).expect("restore");
    assert!(h.sandbox.applications(DEFAULT_TENANT_ID).is_empty());
    // The signing key survived: the earlier token is still accepted.
    let (status, me, _) = h.graph_get(&token, "me").await;
    assert_eq!(status, 200, "{me}");
}
