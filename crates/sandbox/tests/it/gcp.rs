//! The sandbox Google Cloud over HTTPS with reqwest: the project lookup (id → number), pools and
//! providers with Google's validation, operations and the soft-delete rules, service-account
//! allow policies with etags, and the STS exchange of real Octopus-signed tokens for an access
//! token through `generateAccessToken` — refused, with Google's errors, when out of scope, for
//! the wrong audience, issuer, key or binding. One test applies the core's spec and lets the
//! sandbox judge it.

use std::time::Duration;

use jsonwebtoken::Algorithm;
use octo_oidc_sandbox::{Sandbox, SandboxOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::http_support::{json_of, send_json};

const IN_SCOPE: &str = "space:default:project:deploy-web-app:environment:production";
const OUT_OF_SCOPE: &str = "space:default:project:deploy-web-app:environment:development";

struct Gcp {
    sandbox: Sandbox,
    http: reqwest::Client,
    base: String,
    number: String,
}

impl Gcp {
    async fn start() -> Gcp {
        let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
        let http = sandbox.http_client().unwrap();
        let base = sandbox.urls().gcp.clone().unwrap();
        let number = sandbox.gcp().project_number();
        Gcp {
            sandbox,
            http,
            base,
            number,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as("Bearer admin-token", method, path, body).await
    }

    async fn call_as(
        &self,
        auth: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", auth);
        send_json(request, body).await
    }

    fn pools(&self) -> String {
        format!(
            "/v1/projects/{}/locations/global/workloadIdentityPools",
            self.number
        )
    }

    fn audience(&self, pool: &str, provider: &str) -> String {
        format!(
            "//iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/{pool}/providers/{provider}",
            self.number
        )
    }

    /// Creates a pool and waits for its operation.
    async fn create_pool(&self, id: &str) {
        let (s, op) = self
            .call(
                Method::POST,
                &format!("{}?workloadIdentityPoolId={id}", self.pools()),
                Some(json!({"displayName": "Octopus"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{op}");
        self.wait(&op).await;
    }

    async fn create_provider(&self, pool: &str, id: &str, body: Value) -> (StatusCode, Value) {
        let (s, op) = self
            .call(
                Method::POST,
                &format!(
                    "{}/{pool}/providers?workloadIdentityPoolProviderId={id}",
                    self.pools()
                ),
                Some(body),
            )
            .await;
        if s == StatusCode::OK {
            return (s, self.wait(&op).await);
        }
        (s, op)
    }

    /// Polls an operation until done; returns its response.
    async fn wait(&self, op: &Value) -> Value {
        assert_eq!(op["done"], json!(false), "operations start not done: {op}");
        let name = op["name"].as_str().unwrap();
        for _ in 0..5 {
            let (s, polled) = self.call(Method::GET, &format!("/v1/{name}"), None).await;
            assert_eq!(s, StatusCode::OK, "{polled}");
            if polled["done"] == json!(true) {
                return polled["response"].clone();
            }
        }
        panic!("operation {name} never finished");
    }

    fn issuer(&self) -> String {
        self.sandbox.urls().octopus_issuer.clone()
    }

    /// A token signed by the sandbox Octopus's key, with the claims Octopus puts in it.
    fn token(&self, sub: &str, aud: &str) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = json!({
            "iss": self.issuer(), "sub": sub, "aud": aud,
            "iat": now, "nbf": now, "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string(),
        });
        let parts: Vec<&str> = sub.split(':').collect();
        for pair in parts.chunks(2) {
            if let [k, v] = pair {
                claims[format!("https://octopus.com/claims/{k}")] = json!(v);
            }
        }
        self.sandbox
            .octopus()
            .shared()
            .signing_key()
            .mint(Algorithm::PS256, &claims)
            .unwrap()
    }

    async fn exchange(&self, audience: &str, token: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/v1/token", self.base))
            .form(&[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("audience", audience),
                ("scope", "https://www.googleapis.com/auth/cloud-platform"),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
                ("subject_token", token),
                ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ])
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap())
    }

    async fn create_service_account(&self, account_id: &str) -> String {
        let (s, sa) = self
            .call(
                Method::POST,
                &format!(
                    "/v1/projects/{}/serviceAccounts",
                    self.sandbox.gcp().project_id()
                ),
                Some(
                    json!({"accountId": account_id, "serviceAccount": {"displayName": "Octopus"}}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{sa}");
        sa["email"].as_str().unwrap().to_string()
    }

    async fn bind(&self, email: &str, members: &[String]) -> (StatusCode, Value) {
        let path = format!(
            "/v1/projects/{}/serviceAccounts/{email}",
            self.sandbox.gcp().project_id()
        );
        let (_, policy) = self
            .call(
                Method::POST,
                &format!("{path}:getIamPolicy"),
                Some(json!({})),
            )
            .await;
        self.call(
            Method::POST,
            &format!("{path}:setIamPolicy"),
            Some(json!({"policy": {
                "etag": policy["etag"],
                "bindings": [{"role": "roles/iam.workloadIdentityUser", "members": members}],
            }})),
        )
        .await
    }

    async fn generate(&self, sts_token: &str, email: &str, lifetime: &str) -> (StatusCode, Value) {
        self.call_as(
            &format!("Bearer {sts_token}"),
            Method::POST,
            &format!("/v1/projects/-/serviceAccounts/{email}:generateAccessToken"),
            Some(json!({"scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": lifetime})),
        )
        .await
    }

    fn principal(&self, pool: &str, sub: &str) -> String {
        format!(
            "principal://iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/{pool}/subject/{sub}",
            self.number
        )
    }

    /// Pool `octopus`, provider `octopus-prod` admitting [`IN_SCOPE`], service account bound
    /// to its principal: the service account's email and the provider's audience.
    async fn set_up(&self) -> (String, String) {
        self.create_pool("octopus").await;
        let (s, provider) = self
            .create_provider(
                "octopus",
                "octopus-prod",
                json!({
                    "oidc": {"issuerUri": self.issuer()},
                    "attributeMapping": {
                        "google.subject": "assertion.sub",
                        "attribute.environment": "assertion['https://octopus.com/claims/environment']",
                    },
                    "attributeCondition": format!("assertion.sub in ['{IN_SCOPE}']"),
                }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{provider}");
        assert_eq!(provider["state"], "ACTIVE");
        let email = self.create_service_account("octopus-deployer").await;
        let (s, p) = self
            .bind(&email, &[self.principal("octopus", IN_SCOPE)])
            .await;
        assert_eq!(s, StatusCode::OK, "{p}");
        (email, self.audience("octopus", "octopus-prod"))
    }
}

fn error_status(body: &Value) -> &str {
    body["error"]["status"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn project_id_resolves_to_its_number_and_permissions_can_be_withheld() {
    let gcp = Gcp::start().await;
    let id = gcp.sandbox.gcp().project_id();
    let (s, v3) = gcp
        .call(Method::GET, &format!("/v3/projects/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v3["name"], json!(format!("projects/{}", gcp.number)));
    assert_eq!(v3["projectId"], json!(id));
    let (_, v1) = gcp
        .call(Method::GET, &format!("/v1/projects/{id}"), None)
        .await;
    assert_eq!(v1["projectNumber"], json!(gcp.number));
    let (s, other) = gcp
        .call(Method::GET, "/v3/projects/someone-else", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(error_status(&other), "PERMISSION_DENIED");
    assert_eq!(other["error"]["code"], json!(403));

    gcp.sandbox
        .gcp()
        .withhold_permission("iam.workloadIdentityPools.create");
    let asked =
        json!({"permissions": ["iam.workloadIdentityPools.create", "iam.serviceAccounts.create"]});
    let (s, granted) = gcp
        .call(
            Method::POST,
            &format!("/v3/projects/{id}:testIamPermissions"),
            Some(asked),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        granted,
        json!({"permissions": ["iam.serviceAccounts.create"]})
    );

    let r = gcp
        .http
        .get(format!("{}/v3/projects/{id}", gcp.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn in_scope_octopus_token_becomes_an_access_token() {
    let gcp = Gcp::start().await;
    let (email, aud) = gcp.set_up().await;
    let (s, sts) = gcp.exchange(&aud, &gcp.token(IN_SCOPE, &aud)).await;
    assert_eq!(s, StatusCode::OK, "{sts}");
    assert_eq!(sts["token_type"], "Bearer");
    assert_eq!(
        sts["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let federated = sts["access_token"].as_str().unwrap();
    let (s, token) = gcp.generate(federated, &email, "3600s").await;
    assert_eq!(s, StatusCode::OK, "{token}");
    assert!(token["accessToken"].as_str().unwrap().starts_with("ya29."));
    assert!(token["expireTime"].as_str().unwrap().ends_with('Z'));

    // `https:` in front of the resource name is accepted too.
    let (s, _) = gcp
        .exchange(&aud, &gcp.token(IN_SCOPE, &format!("https:{aud}")))
        .await;
    assert_eq!(s, StatusCode::OK);

    // Over an hour needs the lifetime-extension org policy.
    let (s, e) = gcp.generate(federated, &email, "7200s").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(error_status(&e), "INVALID_ARGUMENT");
    gcp.sandbox.gcp().set_lifetime_extension_allowed(true);
    let (s, _) = gcp.generate(federated, &email, "7200s").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn out_of_scope_and_wrong_tokens_are_refused_with_googles_errors() {
    let gcp = Gcp::start().await;
    let (email, aud) = gcp.set_up().await;

    let (s, e) = gcp.exchange(&aud, &gcp.token(OUT_OF_SCOPE, &aud)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    assert_eq!(e["error"], "unauthorized_client");
    assert_eq!(
        e["error_description"],
        "The given credential is rejected by the attribute condition."
    );

    // The token's audience with the project ID instead of the NUMBER.
    let by_id = aud.replace(&gcp.number, &gcp.sandbox.gcp().project_id());
    let (s, e) = gcp.exchange(&aud, &gcp.token(IN_SCOPE, &by_id)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "invalid_grant");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("audience"),
        "{e}"
    );
    // … and as the STS audience parameter.
    let (s, e) = gcp.exchange(&by_id, &gcp.token(IN_SCOPE, &aud)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "invalid_request");

    let (_, e) = gcp
        .exchange(
            &gcp.audience("octopus", "nope-provider"),
            &gcp.token(IN_SCOPE, &aud),
        )
        .await;
    assert_eq!(e["error"], "invalid_target");

    // Signed by another key.
    let other = octo_oidc_sandbox::signing::SigningKey::generate().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let forged = other
        .mint(
            Algorithm::PS256,
            &json!({"iss": gcp.issuer(), "sub": IN_SCOPE, "aud": aud, "exp": now + 600}),
        )
        .unwrap();
    let (_, e) = gcp.exchange(&aud, &forged).await;
    assert_eq!(e["error"], "invalid_grant", "{e}");

    // Another issuer.
    let foreign = other
        .mint(
            Algorithm::PS256,
            &json!({"iss": "https://elsewhere.example", "sub": IN_SCOPE, "aud": aud, "exp": now + 600}),
        )
        .unwrap();
    let (_, e) = gcp.exchange(&aud, &foreign).await;
    assert_eq!(e["error"], "invalid_grant");
    assert!(e["error_description"].as_str().unwrap().contains("issuer"));

    // Exchanged, but the principal has no workloadIdentityUser binding.
    let (s, p) = gcp
        .bind(&email, &[gcp.principal("octopus", OUT_OF_SCOPE)])
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (_, sts) = gcp.exchange(&aud, &gcp.token(IN_SCOPE, &aud)).await;
    let (s, e) = gcp
        .generate(sts["access_token"].as_str().unwrap(), &email, "3600s")
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(error_status(&e), "PERMISSION_DENIED");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("iam.serviceAccounts.getAccessToken")
    );

    // A principal set on the mapped attribute grants it again.
    let set = format!(
        "principalSet://iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/octopus/attribute.environment/production",
        gcp.number
    );
    gcp.bind(&email, &[set]).await;
    let (s, _) = gcp
        .generate(sts["access_token"].as_str().unwrap(), &email, "3600s")
        .await;
    assert_eq!(s, StatusCode::OK);

    // No federated token at all.
    let (s, _) = gcp.generate("not-a-token", &email, "3600s").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_subject_over_127_bytes_is_refused_at_the_mapping() {
    let gcp = Gcp::start().await;
    let (_, aud) = gcp.set_up().await;
    let long = format!(
        "space:default:project:{}:environment:production",
        "p".repeat(120)
    );
    let (s, e) = gcp.exchange(&aud, &gcp.token(&long, &aud)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "invalid_request");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("127 bytes")
    );
}

#[tokio::test]
async fn uploaded_jwks_is_used_instead_of_discovery() {
    let gcp = Gcp::start().await;
    gcp.create_pool("octopus").await;
    let jwks = json_of(gcp.http.get(format!(
        "{}/.well-known/jwks",
        gcp.sandbox.urls().octopus_https
    )))
    .await;
    let other = octo_oidc_sandbox::signing::SigningKey::generate().unwrap();
    let wrong = json!({"keys": [other.public_jwk(Algorithm::PS256)]});
    for (id, keys, ok) in [("right-keys", &jwks, true), ("wrong-keys", &wrong, false)] {
        let (s, p) = gcp
            .create_provider(
                "octopus",
                id,
                json!({
                    "oidc": {"issuerUri": gcp.issuer(), "jwksJson": keys.to_string()},
                    "attributeMapping": {"google.subject": "assertion.sub"},
                }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{p}");
        let aud = gcp.audience("octopus", id);
        let (s, e) = gcp.exchange(&aud, &gcp.token(IN_SCOPE, &aud)).await;
        assert_eq!(s == StatusCode::OK, ok, "{id}: {e}");
        if !ok {
            assert_eq!(e["error"], "invalid_grant");
        }
    }
    let (s, e) = gcp
        .create_provider(
            "octopus",
            "bad-jwks",
            json!({"oidc": {"issuerUri": gcp.issuer(), "jwksJson": "{not json"},
                   "attributeMapping": {"google.subject": "assertion.sub"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(error_status(&e), "INVALID_ARGUMENT");
}

#[tokio::test]
async fn google_validation_limits() {
    let gcp = Gcp::start().await;
    for bad in ["abc", "gcp-octopus", "Octopus", &"a".repeat(33)] {
        let (s, e) = gcp
            .call(
                Method::POST,
                &format!("{}?workloadIdentityPoolId={bad}", gcp.pools()),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_status(&e), "INVALID_ARGUMENT");
        assert_eq!(e["error"]["code"], json!(400));
    }
    gcp.create_pool("octopus").await;
    let base = |extra: Value| {
        let mut b = json!({
            "oidc": {"issuerUri": gcp.issuer()},
            "attributeMapping": {"google.subject": "assertion.sub"},
        });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let audiences: Vec<String> = (0..11).map(|i| format!("aud-{i}")).collect();
    let cases = [
        base(json!({"attributeCondition": format!("assertion.sub == '{}'", "x".repeat(4096))})),
        base(json!({"oidc": {"issuerUri": gcp.issuer(), "allowedAudiences": audiences}})),
        base(json!({"oidc": {"issuerUri": "http://insecure.example"}})),
        base(json!({"attributeMapping": {"attribute.env": "assertion.sub"}})),
        base(
            json!({"attributeMapping": {"google.subject": "assertion.sub", "attribute.Bad-Name": "assertion.sub"}}),
        ),
        base(json!({"attributeCondition": "assertion.sub in ["})),
        base(json!({"displayName": "x".repeat(33)})),
    ];
    for (i, body) in cases.into_iter().enumerate() {
        let (s, e) = gcp
            .create_provider("octopus", &format!("case-{i}"), body)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "case {i}: {e}");
        assert_eq!(error_status(&e), "INVALID_ARGUMENT", "case {i}");
    }
    // Federated members must use the project number; stale etags are refused.
    let email = gcp.create_service_account("octopus-deployer").await;
    let by_id = gcp
        .principal("octopus", IN_SCOPE)
        .replace(&gcp.number, &gcp.sandbox.gcp().project_id());
    let (s, e) = gcp.bind(&email, &[by_id]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let path = format!(
        "/v1/projects/{}/serviceAccounts/{email}:setIamPolicy",
        gcp.sandbox.gcp().project_id()
    );
    let (_, first) = gcp
        .bind(&email, &[gcp.principal("octopus", IN_SCOPE)])
        .await;
    let (s, e) = gcp
        .call(
            Method::POST,
            &path,
            Some(json!({"policy": {"etag": "BwXstale", "bindings": []}})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(error_status(&e), "ABORTED");
    let (s, _) = gcp
        .call(
            Method::POST,
            &path,
            Some(json!({"policy": {"etag": first["etag"], "bindings": []}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn deleted_pools_and_providers_are_soft_deleted_for_30_days() {
    let gcp = Gcp::start().await;
    let (_, aud) = gcp.set_up().await;
    let provider = format!("{}/octopus/providers/octopus-prod", gcp.pools());

    let (s, op) = gcp.call(Method::DELETE, &provider, None).await;
    assert_eq!(s, StatusCode::OK);
    let deleted = gcp.wait(&op).await;
    assert_eq!(deleted["state"], "DELETED");
    assert!(deleted["expireTime"].is_string());
    let (_, e) = gcp.exchange(&aud, &gcp.token(IN_SCOPE, &aud)).await;
    assert_eq!(e["error"], "invalid_target");
    let (_, list) = gcp
        .call(
            Method::GET,
            &format!("{}/octopus/providers", gcp.pools()),
            None,
        )
        .await;
    assert_eq!(list, json!({"workloadIdentityPoolProviders": []}));
    let (_, list) = gcp
        .call(
            Method::GET,
            &format!("{}/octopus/providers?showDeleted=true", gcp.pools()),
            None,
        )
        .await;
    assert_eq!(list["workloadIdentityPoolProviders"][0]["state"], "DELETED");
    let (s, e) = gcp
        .create_provider(
            "octopus",
            "octopus-prod",
            json!({"oidc": {"issuerUri": gcp.issuer()}, "attributeMapping": {"google.subject": "assertion.sub"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(error_status(&e), "ALREADY_EXISTS");
    let (s, op) = gcp
        .call(
            Method::POST,
            &format!("{provider}:undelete"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{op}");
    assert_eq!(gcp.wait(&op).await["state"], "ACTIVE");
    let (s, _) = gcp.exchange(&aud, &gcp.token(IN_SCOPE, &aud)).await;
    assert_eq!(s, StatusCode::OK);

    // The pool: deleted → the exchange fails; after 30 days it is gone and its id free again.
    let pool = format!("{}/octopus", gcp.pools());
    let (_, op) = gcp.call(Method::DELETE, &pool, None).await;
    assert_eq!(gcp.wait(&op).await["state"], "DELETED");
    let (_, e) = gcp.exchange(&aud, &gcp.token(IN_SCOPE, &aud)).await;
    assert_eq!(e["error"], "invalid_target");
    let (s, got) = gcp.call(Method::GET, &pool, None).await;
    assert_eq!(
        (s, got["state"].clone()),
        (StatusCode::OK, json!("DELETED"))
    );
    gcp.sandbox
        .gcp()
        .advance_clock(Duration::from_secs(31 * 24 * 3600));
    let (s, e) = gcp.call(Method::GET, &pool, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(error_status(&e), "NOT_FOUND");
    gcp.create_pool("octopus").await;
}

#[tokio::test]
async fn the_cores_spec_is_judged_by_the_sandbox() {
    use octo_oidc_core::gcp::{GcpTrustInput, ProviderRef, plan_trust};
    use octo_oidc_core::ports::OctopusResource;
    use octo_oidc_core::scope::{Inventory, Scope, ScopeSelection, Selection, SubjectKeyConfig};
    use octo_oidc_core::subject::Context;

    let gcp = Gcp::start().await;
    let res = |id: &str, slug: &str| OctopusResource {
        id: id.into(),
        name: slug.into(),
        slug: slug.into(),
    };
    let scope = Scope {
        inventory: Inventory {
            space: res("Spaces-1", "default"),
            account: res("Accounts-1", "gcp-prod"),
            project_groups: vec![],
            projects: vec![octo_oidc_core::ports::OctopusProject {
                resource: res("Projects-1", "deploy-web-app"),
                project_group_id: "ProjectGroups-1".into(),
            }],
            runbooks: vec![],
            environments: vec![
                res("Environments-1", "development"),
                res("Environments-2", "production"),
            ],
            tenants: vec![],
            targets: vec![],
        },
        selection: ScopeSelection {
            contexts: vec![Context::Deployment],
            projects: Selection::All,
            runbooks: Selection::All,
            environments: Selection::Only(vec!["Environments-2".into()]),
            tenants: Selection::All,
            untenanted: true,
            targets: Selection::All,
        },
        keys: SubjectKeyConfig::default(),
    };
    let spec = plan_trust(
        &GcpTrustInput {
            provider: ProviderRef {
                project_number: gcp.number.clone(),
                pool_id: "octopus".into(),
                provider_id: "octopus-prod".into(),
            },
            issuer: gcp.issuer(),
            allowed_audiences: vec![],
        },
        &scope,
    )
    .unwrap();
    gcp.create_pool("octopus").await;
    let (s, p) = gcp
        .create_provider("octopus", "octopus-prod", spec.provider_body())
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let email = gcp.create_service_account("octopus-deployer").await;
    let (s, p) = gcp.bind(&email, &spec.binding.members).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    for (sub, admitted) in [
        (IN_SCOPE, true),
        ("space:default:account:gcp-prod", true),
        (OUT_OF_SCOPE, false),
        (
            "space:default:project:deploy-web-app:environment:production2",
            false,
        ),
    ] {
        let (s, sts) = gcp
            .exchange(&spec.audience, &gcp.token(sub, &spec.audience))
            .await;
        assert_eq!(s == StatusCode::OK, admitted, "{sub}: {sts}");
        if admitted {
            let (s, t) = gcp
                .generate(sts["access_token"].as_str().unwrap(), &email, "3600s")
                .await;
            assert_eq!(s, StatusCode::OK, "{sub}: {t}");
        } else {
            assert_eq!(sts["error"], "unauthorized_client");
        }
    }
}
