//! Test harness for the sandbox Entra/Graph/ARM: serves the three routers on loopback ports,
//! a tiny OIDC issuer (discovery + JWKS) whose tokens the authority must verify for real, and
//! helpers to sign in through the real authorize + token endpoints.
#![allow(dead_code)]

use octo_oidc_sandbox::entra::{EntraConfig, EntraSandbox, WIZARD_CLIENT_ID};
use octo_oidc_sandbox::faults::Faults;
use octo_oidc_sandbox::token_validation::RemoteIssuers;
use serde_json::{Value, json};

pub use octo_oidc_testkit::{TestIssuer, serve};

/// A response: status, JSON body (`Null` when empty) and headers.
pub type Reply = (u16, Value, reqwest::header::HeaderMap);

pub struct Harness {
    pub sandbox: EntraSandbox,
    pub faults: Faults,
    pub login: String,
    pub graph: String,
    pub arm: String,
    /// Does not follow redirects (tests look at `Location`).
    pub http: reqwest::Client,
}

pub async fn start() -> Harness {
    start_with(EntraConfig::default()).await
}

pub async fn start_with(config: EntraConfig) -> Harness {
    let faults = Faults::new();
    let issuers = RemoteIssuers::new(reqwest::Client::new());
    let sandbox = EntraSandbox::new(config, faults.clone(), issuers);
    let login = serve(sandbox.login_router()).await;
    let graph = serve(sandbox.graph_router()).await;
    let arm = serve(sandbox.arm_router()).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Harness {
        sandbox,
        faults,
        login,
        graph,
        arm,
        http,
    }
}

pub const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
pub const ARM_DEFAULT: &str = "https://management.azure.com//.default";

/// A verifier whose S256 challenge is known (SHA-256, base64url).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB0unH1R5wP3BvRpqKaEXQ9ZzW81Eo";
pub const CHALLENGE: &str = "vkUdBGTqfin0AQyt7-ydwNqDU9kPQ-FS65lyA3S3tio";

impl Harness {
    /// The authorize URL for the wizard client with PKCE S256.
    pub fn authorize_url(&self, tenant: &str, scope: &str, redirect: &str) -> String {
        let mut url = url::Url::parse(&format!("{}/{tenant}/oauth2/v2.0/authorize", self.login))
            .expect("url");
        url.query_pairs_mut()
            .append_pair("client_id", WIZARD_CLIENT_ID)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect)
            .append_pair("scope", scope)
            .append_pair("state", "st-1")
            .append_pair("code_challenge", CHALLENGE)
            .append_pair("code_challenge_method", "S256");
        url.to_string()
    }

    /// Runs the authorize step with auto-approval for `user`; returns the code.
    pub async fn auth_code(&self, user: &str, tenant: &str, scope: &str) -> String {
        self.sandbox.set_auto_approve_user(Some(user));
        let response = self
            .http
            .get(self.authorize_url(tenant, scope, "http://localhost:8400"))
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), 302, "auto-approve redirects");
        let location = response.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let url = url::Url::parse(&location).expect("redirect url");
        assert_eq!(url.port(), Some(8400));
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs.get("state").map(String::as_str), Some("st-1"));
        pairs.get("code").cloned().expect("code in redirect")
    }

    pub async fn token(&self, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/{tenant}/oauth2/v2.0/token", self.login))
            .form(form)
            .send()
            .await
            .expect("token request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    /// Redeems `refresh_token` at `tenant` for `scope` (the wizard client).
    pub async fn refresh(&self, tenant: &str, refresh_token: &str, scope: &str) -> (u16, Value) {
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", WIZARD_CLIENT_ID),
            ("refresh_token", refresh_token),
            ("scope", scope),
        ];
        self.token(tenant, &form).await
    }

    /// `GET url` (no token).
    pub async fn get(&self, url: &str) -> Reply {
        send(self.http.get(url)).await
    }

    /// Signs `user` in (auth code + PKCE) for `scope` + offline_access; returns the body.
    pub async fn sign_in(&self, user: &str, scope: &str) -> Value {
        let scope = format!("{scope} offline_access openid");
        let code = self.auth_code(user, "organizations", &scope).await;
        let (status, body) = self
            .token(
                "organizations",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", WIZARD_CLIENT_ID),
                    ("code", &code),
                    ("redirect_uri", "http://localhost:8400"),
                    ("code_verifier", VERIFIER),
                    ("scope", &scope),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A user access token for `scope`.
    pub async fn user_token(&self, user: &str, scope: &str) -> String {
        self.sign_in(user, scope).await["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    pub async fn graph_call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
        prefer_create: bool,
    ) -> Reply {
        let base = format!("{}/v1.0/", self.graph);
        let request = self.request(method, token, &base, path, body);
        if prefer_create {
            send(request.header("Prefer", "create-if-missing")).await
        } else {
            send(request).await
        }
    }

    /// `POST` of a JSON body to Graph (no `Prefer` header).
    pub async fn graph_post(&self, token: &str, path: &str, body: Value) -> Reply {
        self.graph_call(reqwest::Method::POST, token, path, Some(body), false)
            .await
    }

    /// `GET` from Graph.
    pub async fn graph_get(&self, token: &str, path: &str) -> Reply {
        self.graph_call(reqwest::Method::GET, token, path, None, false)
            .await
    }

    /// `DELETE` in Graph.
    pub async fn graph_delete(&self, token: &str, path: &str) -> Reply {
        self.graph_call(reqwest::Method::DELETE, token, path, None, false)
            .await
    }

    /// `PUT` of a JSON body to ARM.
    pub async fn arm_put(&self, token: &str, path_and_query: &str, body: Value) -> Reply {
        self.arm_call(reqwest::Method::PUT, token, path_and_query, Some(body))
            .await
    }

    /// `GET` from ARM.
    pub async fn arm_get(&self, token: &str, path_and_query: &str) -> Reply {
        self.arm_call(reqwest::Method::GET, token, path_and_query, None)
            .await
    }

    pub async fn arm_call(
        &self,
        method: reqwest::Method,
        token: &str,
        path_and_query: &str,
        body: Option<Value>,
    ) -> Reply {
        send(self.request(method, token, &self.arm, path_and_query, body)).await
    }

    /// A request with `token` to `path` (a full URL, or one below `base`), with `body` as JSON.
    fn request(
        &self,
        method: reqwest::Method,
        token: &str,
        base: &str,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{base}{path}")
        };
        let request = self.http.request(method, url).bearer_auth(token);
        match body {
            Some(body) => request.json(&body),
            None => request,
        }
    }

    /// Creates an app + SP through Graph as `token`'s user; returns (object id, appId, SP id).
    pub async fn app_with_sp(&self, token: &str, name: &str) -> (String, String, String) {
        let (status, app, _) = self
            .graph_post(token, "applications", json!({ "displayName": name }))
            .await;
        assert_eq!(status, 201, "{app}");
        let (status, sp, _) = self
            .graph_post(token, "servicePrincipals", json!({ "appId": app["appId"] }))
            .await;
        assert_eq!(status, 201, "{sp}");
        (
            app["id"].as_str().expect("id").to_owned(),
            app["appId"].as_str().expect("appId").to_owned(),
            sp["id"].as_str().expect("sp id").to_owned(),
        )
    }
}

/// The claims of a JWT, unverified (for assertions about what the sandbox issued).
pub fn claims(token: &str) -> Value {
    octo_oidc_sandbox::token_validation::RemoteIssuers::peek(token)
        .expect("jwt")
        .claims
}

/// The AADSTS code of an Entra error body, checking the documented body shape.
pub fn aadsts_code(body: &Value) -> u64 {
    let description = body["error_description"]
        .as_str()
        .expect("error_description");
    let code = body["error_codes"][0].as_u64().expect("error_codes");
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for field in ["error", "timestamp", "trace_id", "correlation_id"] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
    code
}

/// Sends a request; returns status, the JSON body (`Null` when empty) and the headers.
async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json")
    };
    (status, value, headers)
}
