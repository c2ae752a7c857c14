//! The sandbox Octopus as an OIDC issuer and as a resource server, driven through reqwest:
//! discovery/JWKS over HTTP and HTTPS (trusting the test CA explicitly), minted tokens verified
//! with the real validator, the account test, `/token/v1` acceptance and every negative token
//! case, and the state file round trip.
#![allow(clippy::unwrap_used)]

use jsonwebtoken::Algorithm;
use octo_oidc_core::subject::{Context, SubjectValues};
use octo_oidc_sandbox::octopus::IssuerStyle;
use octo_oidc_sandbox::octopus::github::WorkflowTokenRequest;
use octo_oidc_sandbox::octopus::issuer::{MintedToken, TokenRequest};
use octo_oidc_sandbox::seed::SeedProfile;
use octo_oidc_sandbox::signing::SigningKey;
use octo_oidc_sandbox::token_validation::{RemoteIssuers, TokenRejection};
use octo_oidc_sandbox::{Sandbox, SandboxOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::http_support::json_of;
use crate::octopus_support::{
    api, api_get, api_post, aws_account, azure_account, create_account, fetch_json, first_error,
    task_log, wait_for_task,
};

async fn start(style: IssuerStyle) -> Sandbox {
    Sandbox::start(SandboxOptions {
        issuer_style: style,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox starts")
}

#[tokio::test]
async fn issuer_discovery_and_jwks_over_http_and_https() {
    let sandbox = start(IssuerStyle::Https).await;
    let https = sandbox.http_client().unwrap();
    let issuer = sandbox.urls().octopus_issuer.clone();
    // A port-less issuer, as on a real server, reachable through the host overrides.
    assert_eq!(issuer, sandbox.urls().octopus_public);
    assert_eq!(issuer, "https://octopus.sandbox.localhost");
    for base in [
        &sandbox.urls().octopus,
        &sandbox.urls().octopus_https,
        &sandbox.urls().octopus_public,
    ] {
        let doc = json_of(https.get(format!("{base}/.well-known/openid-configuration"))).await;
        assert_eq!(doc["issuer"], issuer.as_str());
        for field in [
            "jwks_uri",
            "token_endpoint",
            "claims_supported",
            "id_token_signing_alg_values_supported",
            "response_types_supported",
            "scopes_supported",
            "subject_types_supported",
        ] {
            assert!(!doc[field].is_null(), "discovery has {field}");
        }
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["PS256"])
        );
        let jwks = json_of(https.get(doc["jwks_uri"].as_str().unwrap())).await;
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "RSA");
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
        let modulus = base64_len(key["n"].as_str().unwrap());
        assert_eq!(modulus, 256, "RSA 2048");
    }
    // Without the test CA, HTTPS is refused: verification is never disabled.
    let untrusting = reqwest::Client::builder().no_proxy().build().unwrap();
    let err = untrusting
        .get(format!(
            "{}/.well-known/openid-configuration",
            sandbox.urls().octopus_https
        ))
        .send()
        .await;
    assert!(
        err.is_err(),
        "a client without the sandbox CA must not connect"
    );
    sandbox.shutdown().await.unwrap();
}

fn base64_len(s: &str) -> usize {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
        .len()
}

#[tokio::test]
async fn issuer_styles_reproduce_trailing_slash_and_override() {
    let slash = start(IssuerStyle::HttpsTrailingSlash).await;
    assert_eq!(
        slash.urls().octopus_issuer,
        format!("{}/", slash.urls().octopus_public)
    );
    let doc = fetch_json(
        &slash,
        &format!(
            "{}/.well-known/openid-configuration",
            slash.urls().octopus_https
        ),
    )
    .await;
    assert!(doc["issuer"].as_str().unwrap().ends_with('/'));
    assert_eq!(
        doc["jwks_uri"],
        format!("{}/.well-known/jwks", slash.urls().octopus_public).as_str()
    );

    // A validator configured with the issuer without the slash refuses the discovery document.
    let validator = RemoteIssuers::new(slash.http_client().unwrap());
    let (_, account) = create_account(&slash, azure_account("A")).await;
    let token = account_test_token(&slash, &account, "a");
    let without_slash = slash.urls().octopus_public.clone();
    assert!(matches!(
        validator.verify(&token.jwt, &without_slash).await,
        Err(TokenRejection::IssuerMismatch { .. })
    ));
    assert!(
        validator
            .verify(&token.jwt, &slash.urls().octopus_issuer)
            .await
            .is_ok()
    );

    let custom = start(IssuerStyle::Override("https://octopus.example.test".into())).await;
    assert_eq!(custom.urls().octopus_issuer, "https://octopus.example.test");
}

#[tokio::test]
async fn minted_tokens_verify_and_carry_the_right_subject_and_audience() {
    let sandbox = start(IssuerStyle::Https).await;
    let mut azure = azure_account("Azure Prod");
    azure["DeploymentSubjectKeys"] = json!(["environment", "space", "tenant", "project"]);
    azure["CustomClaims"] = json!({"team": "platform"});
    let (_, azure) = create_account(&sandbox, azure).await;
    let aws = aws_account("AWS Prod", "arn:aws:iam::123456789012:role/octopus");
    let (_, aws) = create_account(&sandbox, aws).await;
    let validator = RemoteIssuers::new(sandbox.http_client().unwrap());
    let issuer = sandbox.urls().octopus_issuer.clone();

    let test = account_test_token(&sandbox, &azure, "azure-prod");
    let claims = validator.verify(&test.jwt, &issuer).await.unwrap();
    assert_eq!(
        claims["sub"], "space:default:account:azure-prod",
        "default account-test keys"
    );
    assert_eq!(claims["aud"], "api://AzureADTokenExchange");
    assert_eq!(claims["https://octopus.com/claims/account"], "azure-prod");
    assert_eq!(claims["team"], "platform");
    let header = RemoteIssuers::peek(&test.jwt).unwrap();
    assert_eq!(header.alg, "PS256");

    let aws_token = account_test_token(&sandbox, &aws, "aws-prod");
    assert_eq!(
        aws_token.audience, "octopus.sandbox.localhost",
        "AWS audience = the issuer's host name"
    );

    // Deployment tokens through the sandbox endpoint: fixed order, untenanted drops tenant.
    let (status, minted) = api_post(&sandbox, "/api/_sandbox/deployment-tokens", json!({
        "AccountId": azure["Id"], "ProjectId": "customer-portal", "EnvironmentId": "production", "Trade": false,
    })).await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    assert_eq!(
        minted["Subject"],
        "space:default:project:customer-portal:environment:production"
    );
    assert!(minted.get("Exchange").is_none());
    let claims = validator
        .verify(minted["Token"].as_str().unwrap(), &issuer)
        .await
        .unwrap();
    assert_eq!(claims["sub"], minted["Subject"]);
    assert_eq!(
        claims["https://octopus.com/claims/project"],
        "customer-portal"
    );

    let (_, tenants) = api_get(&sandbox, "/api/Spaces-1/tenants/all").await;
    let tenant = &tenants[0];
    let (_, minted) = api_post(
        &sandbox,
        "/api/_sandbox/deployment-tokens",
        json!({
            "AccountId": azure["Id"], "ProjectId": "customer-portal", "EnvironmentId": "production",
            "TenantId": tenant["Id"], "Trade": false,
        }),
    )
    .await;
    assert_eq!(
        minted["Subject"],
        format!(
            "space:default:project:customer-portal:tenant:{}:environment:production",
            tenant["Slug"].as_str().unwrap()
        )
        .as_str()
    );
    let (status, err) = api_post(
        &sandbox,
        "/api/_sandbox/deployment-tokens",
        json!({
            "AccountId": azure["Id"], "ProjectId": "no-such-project",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(first_error(&err).contains("no-such-project"), "{err}");
}

/// The token an account test mints for `account` (slug `slug`) in the default space.
fn account_test_token(sandbox: &Sandbox, account: &Value, slug: &str) -> MintedToken {
    let request = TokenRequest {
        context: Context::AccountTest,
        values: SubjectValues {
            space: Some("default".into()),
            account: Some(slug.into()),
            ..Default::default()
        },
    };
    let id = account["Id"].as_str().unwrap();
    sandbox
        .octopus()
        .mint_for_account("Spaces-1", id, &request)
        .unwrap()
}

#[tokio::test]
async fn account_test_task_fails_with_entras_reason_for_an_unknown_application() {
    let sandbox = start(IssuerStyle::Https).await;
    let (_, account) = create_account(&sandbox, azure_account("Azure Prod")).await;
    let (status, task) = api_post(
        &sandbox,
        "/api/Spaces-1/tasks",
        json!({
            "Name": "TestAccount", "Description": "Test account", "SpaceId": "Spaces-1",
            "Arguments": {"AccountId": account["Id"]},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert!(matches!(
        task["State"].as_str(),
        Some("Queued" | "Executing")
    ));
    let done = wait_for_task(&sandbox, task["Id"].as_str().unwrap()).await;
    // No app with this ClientId exists in the sandbox tenant: Entra refuses, in its own words.
    assert_eq!(done["State"], "Failed");
    assert_eq!(done["FinishedSuccessfully"], false);
    assert!(
        done["ErrorMessage"].as_str().unwrap().contains("AADSTS"),
        "{done}"
    );
    let log = task_log(&sandbox, &task).await;
    assert!(
        log.iter()
            .any(|l| l.contains("space:default:account:azure-prod")),
        "{log:?}"
    );

    let (status, _) = api_post(
        &sandbox,
        "/api/tasks",
        json!({
            "Name": "Backup", "Description": "x",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api_post(&sandbox, "/api/tasks", json!({
        "Name": "TestAccount", "Description": "Test", "Arguments": {"AccountId": "Accounts-999"},
    })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api_get(&sandbox, "/api/tasks/ServerTasks-999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

struct GithubSetup {
    sa_id: String,
    external_id: String,
}

async fn github_identity(
    sandbox: &Sandbox,
    issuer: &str,
    subject: &str,
    audience: Option<&str>,
) -> GithubSetup {
    let (_, sa) = api_post(
        sandbox,
        "/api/users",
        json!({
            "Username": format!("gh-{}", uuid_like()), "DisplayName": "GitHub", "IsService": true,
        }),
    )
    .await;
    let sa_id = sa["Id"].as_str().unwrap().to_string();
    let mut body =
        json!({"ServiceAccountId": sa_id, "Name": "gh", "Issuer": issuer, "Subject": subject});
    if let Some(a) = audience {
        body["Audience"] = json!(a);
    }
    let (status, _) = api_post(
        sandbox,
        &format!("/api/serviceaccounts/{sa_id}/oidcidentities/create/v1"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, listed) = api_get(
        sandbox,
        &format!("/api/serviceaccounts/{sa_id}/oidcidentities/v1?skip=0&take=1"),
    )
    .await;
    GithubSetup {
        sa_id,
        external_id: listed["ExternalId"].as_str().unwrap().to_string(),
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

async fn exchange(sandbox: &Sandbox, audience: &str, token: &str) -> reqwest::Response {
    sandbox
        .http_client()
        .unwrap()
        .post(format!("{}/token/v1", sandbox.urls().octopus_https))
        .json(&json!({
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "audience": audience,
            "subject_token": token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn token_exchange_accepts_a_matching_github_token_and_the_bearer_works() {
    let sandbox = start(IssuerStyle::Https).await;
    let gh = sandbox.urls().github_issuer.clone();
    let setup = github_identity(&sandbox, &gh, "repo:acme/web:ref:refs/heads/*", None).await;
    // Mint over the issuer's own HTTP endpoint, as a workflow would fetch its token.
    let minted = json_of(sandbox
        .http_client()
        .unwrap()
        .post(format!("{gh}/_sandbox/tokens"))
        .json(&json!({"repository": "acme/web", "ref": "refs/heads/main", "audience": setup.external_id}))).await;
    let r = exchange(
        &sandbox,
        &setup.external_id,
        minted["value"].as_str().unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(body["expires_in"], 3600);
    let access = body["access_token"].as_str().unwrap().to_string();

    let http = sandbox.http_client().unwrap();
    let me = json_of(
        http.get(format!("{}/api/users/me", sandbox.urls().octopus))
            .bearer_auth(&access),
    )
    .await;
    assert_eq!(me["Id"], setup.sa_id.as_str());
    let projects_url = format!("{}/api/Spaces-1/projects/all", sandbox.urls().octopus);
    let projects = || http.get(&projects_url).bearer_auth(&access).send();
    let r = projects().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no team, no permissions");
    let (_, mut team) = api_get(&sandbox, "/api/teams/teams-managers").await;
    team["MemberUserIds"] = json!([setup.sa_id]);
    api(
        &sandbox,
        reqwest::Method::PUT,
        "/api/teams/teams-managers",
        Some(team),
    )
    .await;
    let r = projects().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .get(format!("{}/api/users/me", sandbox.urls().octopus))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Form bodies are accepted too; immutable-ID subjects match a wildcard identity.
    let immutable = sandbox
        .github()
        .mint(&WorkflowTokenRequest {
            repository: "acme/web".into(),
            audience: setup.external_id.clone(),
            immutable: true,
            ..WorkflowTokenRequest::default()
        })
        .unwrap();
    let r = http
        .post(format!("{}/token/v1", sandbox.urls().octopus))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("audience", setup.external_id.as_str()),
            ("subject_token", immutable.as_str()),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "classic pattern does not match repo:acme@id/web@id"
    );
    let setup2 =
        github_identity(&sandbox, &gh, "repo:acme@*/web@*:ref:refs/heads/main", None).await;
    let immutable = sandbox
        .github()
        .mint(&WorkflowTokenRequest {
            repository: "acme/web".into(),
            audience: setup2.external_id.clone(),
            immutable: true,
            ..WorkflowTokenRequest::default()
        })
        .unwrap();
    let r = exchange(&sandbox, &setup2.external_id, &immutable).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_exchange_rejects_every_bad_token() {
    let sandbox = start(IssuerStyle::Https).await;
    let gh = sandbox.urls().github_issuer.clone();
    let setup = github_identity(&sandbox, &gh, "repo:acme/web:environment:prod", None).await;
    let custom = github_identity(
        &sandbox,
        &gh,
        "repo:acme/api:*",
        Some("api://octopus-custom"),
    )
    .await;
    let slash = github_identity(&sandbox, &format!("{gh}/"), "repo:acme/slash:*", None).await;
    let good = WorkflowTokenRequest {
        repository: "acme/web".into(),
        environment: Some("prod".into()),
        audience: setup.external_id.clone(),
        ..WorkflowTokenRequest::default()
    };
    let ok = sandbox.github().mint(&good).unwrap();
    assert_eq!(
        exchange(&sandbox, &setup.external_id, &ok).await.status(),
        StatusCode::OK
    );

    let tamper = |token: &str| {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("repo:acme/web:environment:prod ");
        format!(
            "{}.{}.{}",
            parts[0],
            engine.encode(serde_json::to_vec(&claims).unwrap()),
            parts[2]
        )
    };
    let stranger = SigningKey::generate().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let foreign = stranger
        .mint(Algorithm::RS256, &json!({"iss": gh, "aud": setup.external_id, "sub": "repo:acme/web:environment:prod", "exp": now + 300, "iat": now}))
        .unwrap();

    let cases: Vec<(&str, String, String, &str)> = vec![
        (
            "wrong signature",
            setup.external_id.clone(),
            tamper(&ok),
            "signature",
        ),
        (
            "unknown kid",
            setup.external_id.clone(),
            foreign,
            "not in the issuer's JWKS",
        ),
        (
            "expired",
            setup.external_id.clone(),
            sandbox
                .github()
                .mint(&WorkflowTokenRequest {
                    lifetime_secs: -120,
                    ..good.clone()
                })
                .unwrap(),
            "expired",
        ),
        (
            "wrong audience in token",
            setup.external_id.clone(),
            sandbox
                .github()
                .mint(&WorkflowTokenRequest {
                    audience: "api://other".into(),
                    ..good.clone()
                })
                .unwrap(),
            "aud",
        ),
        (
            "wrong requested audience",
            "9b0c1d2e-0000-4000-8000-000000000000".into(),
            ok.clone(),
            "audience",
        ),
        (
            "custom audience required",
            custom.external_id.clone(),
            sandbox
                .github()
                .mint(&WorkflowTokenRequest {
                    repository: "acme/api".into(),
                    audience: custom.external_id.clone(),
                    ..good.clone()
                })
                .unwrap(),
            "audience",
        ),
        (
            "wrong subject",
            setup.external_id.clone(),
            sandbox
                .github()
                .mint(&WorkflowTokenRequest {
                    environment: Some("staging".into()),
                    ..good.clone()
                })
                .unwrap(),
            "subject",
        ),
        (
            "subject is case-sensitive",
            setup.external_id.clone(),
            sandbox
                .github()
                .mint(&WorkflowTokenRequest {
                    repository: "Acme/web".into(),
                    ..good.clone()
                })
                .unwrap(),
            "subject",
        ),
        (
            "trailing-slash issuer",
            slash.external_id.clone(),
            sandbox
                .github()
                .mint(&WorkflowTokenRequest {
                    repository: "acme/slash".into(),
                    audience: slash.external_id.clone(),
                    ..good.clone()
                })
                .unwrap(),
            "issuer",
        ),
        (
            "not a JWT",
            setup.external_id.clone(),
            "abc.def".into(),
            "malformed",
        ),
    ];
    for (label, audience, token, reason) in cases {
        let r = exchange(&sandbox, &audience, &token).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{label}");
        let why = r
            .headers()
            .get("x-sandbox-rejection")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant", "{label}");
        assert!(
            why.to_lowercase().contains(&reason.to_lowercase()),
            "{label}: reason '{why}' should mention '{reason}'"
        );
    }
    // With the custom audience the custom identity accepts.
    let custom_token = sandbox
        .github()
        .mint(&WorkflowTokenRequest {
            repository: "acme/api".into(),
            audience: "api://octopus-custom".into(),
            ..good.clone()
        })
        .unwrap();
    assert_eq!(
        exchange(&sandbox, "api://octopus-custom", &custom_token)
            .await
            .status(),
        StatusCode::OK
    );

    // Request-shape errors.
    let http = sandbox.http_client().unwrap();
    let r = http
        .post(format!("{}/token/v1", sandbox.urls().octopus))
        .json(&json!({"grant_type": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = http
        .post(format!("{}/token/v1", sandbox.urls().octopus))
        .json(&json!({"grant_type": "client_credentials", "audience": "a", "subject_token": ok, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox.json");
    let options = SandboxOptions {
        state_file: Some(file.clone()),
        profile: SeedProfile::Demo,
        ..SandboxOptions::default()
    };
    let first = Sandbox::start(options.clone()).await.unwrap();
    let (status, account) = create_account(
        &first,
        aws_account("Kept", "arn:aws:iam::123456789012:role/kept"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let jwks_before = fetch_json(
        &first,
        &format!("{}/.well-known/jwks", first.urls().octopus),
    )
    .await;
    // Something in the AWS sandbox too: an OIDC provider for the Octopus issuer.
    let r = first
        .http_client()
        .unwrap()
        .post(format!("{}/", first.urls().aws.as_deref().unwrap()))
        .header("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSANDBOX/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00")
        .form(&[
            ("Action", "CreateOpenIDConnectProvider"),
            ("Version", "2010-05-08"),
            ("Url", first.urls().octopus_issuer.as_str()),
            ("ClientIDList.member.1", "octopus.sandbox.localhost"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let key = first.api_key().expose().to_string();
    let urls = first.urls().clone();
    let ca = first.ca_pem().to_string();
    first.shutdown().await.unwrap();
    assert!(file.exists());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"Kept\""));

    let second = Sandbox::start(options).await.unwrap();
    assert_eq!(second.api_key().expose(), key, "same API key");
    assert_eq!(second.ca_pem(), ca, "same CA");
    assert_eq!(second.urls(), &urls, "same ports, so the same issuer");
    let (status, kept) = api_get(
        &second,
        &format!("/api/Spaces-1/accounts/{}", account["Id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept["Name"], "Kept");
    let jwks_after = fetch_json(
        &second,
        &format!("{}/.well-known/jwks", second.urls().octopus_https),
    )
    .await;
    assert_eq!(jwks_before, jwks_after, "same issuer key");
    assert!(
        second.aws().provider(&urls.octopus_issuer).is_some(),
        "the AWS sandbox's state survives too"
    );
    let (status, next) = create_account(
        &second,
        aws_account("Next", "arn:aws:iam::123456789012:role/next"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(next["Id"], account["Id"], "id counters continue");
    second.shutdown().await.unwrap();
}

#[tokio::test]
async fn tokens_with_exactly_the_asked_claims_for_verify() {
    let sandbox = start(IssuerStyle::Https).await;
    let issuer = sandbox.urls().octopus_issuer.clone();
    let (status, minted) = api_post(
        &sandbox,
        "/api/_sandbox/oidc-tokens",
        json!({"Subject": "space:default:project:nowhere", "Audience": "//iam.googleapis.com/x"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    assert_eq!(minted["Issuer"], issuer.as_str());
    let validator = RemoteIssuers::new(sandbox.http_client().unwrap());
    let claims = validator
        .verify(minted["Token"].as_str().unwrap(), &issuer)
        .await
        .unwrap();
    assert_eq!(claims["sub"], "space:default:project:nowhere");
    assert_eq!(claims["aud"], "//iam.googleapis.com/x");
    let (status, body) = api_post(
        &sandbox,
        "/api/_sandbox/oidc-tokens",
        json!({"Subject": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
