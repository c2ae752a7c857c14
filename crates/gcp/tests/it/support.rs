//! Shared set-up: a sandbox, a client pointed at it, and Octopus-signed tokens.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use octo_oidc_core::Secret;
use octo_oidc_core::events::ProgressEvent;
use octo_oidc_core::gcp::ProviderRef;
use octo_oidc_core::ports::{
    Applied, GcpOidcTrust, GcpPool, GcpPoolSpec, GcpProviderSpec, GoogleCloud,
};
use octo_oidc_core::retry::RetrySettings;
use octo_oidc_gcp::{GcpEndpoints, GoogleSignIn, RestGoogleCloud};
use octo_oidc_http::ClientSettings;
use octo_oidc_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

pub const IN_SCOPE: &str = "space:default:project:deploy-web-app:environment:production";
pub const OUT_OF_SCOPE: &str = "space:default:project:deploy-web-app:environment:development";

/// A service-account key file with a fresh RSA key (the sandbox accepts any bearer token for
/// its admin APIs; google-cloud-auth signs a self-signed JWT with it, no token endpoint).
pub fn service_account_key() -> Secret {
    use aws_lc_rs::encoding::AsDer;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = pair.as_der().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    Secret::new(
        json!({
            "type": "service_account",
            "project_id": "octopus-sandbox",
            "private_key_id": "sandbox-key-1",
            "private_key": pem,
            "client_email": "wizard@octopus-sandbox.iam.gserviceaccount.com",
            "client_id": "100000000000000000001",
            "token_uri": "https://127.0.0.1:1/token",
        })
        .to_string(),
    )
}

pub struct Gcp {
    pub sandbox: Sandbox,
    pub client: RestGoogleCloud,
    pub number: String,
    pub events: Arc<Mutex<Vec<ProgressEvent>>>,
}

impl Gcp {
    pub async fn start() -> Gcp {
        let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
        let base = sandbox.urls().gcp.clone().unwrap();
        assert!(base.starts_with("https://127.0.0.1:"), "{base}");
        let settings = ClientSettings {
            ca_bundle_pem: Some(sandbox.ca_pem().as_bytes().to_vec()),
            ..ClientSettings::default()
        };
        let sign_in = GoogleSignIn::from_json(&service_account_key()).unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let client = RestGoogleCloud::new(sign_in, GcpEndpoints::all_at(&base), &settings)
            .unwrap()
            .with_retry(RetrySettings::fast())
            .with_operation_polling(RetrySettings::fast())
            .reporting_to(Arc::new(move |e| sink.lock().unwrap().push(e)));
        let number = sandbox.gcp().project_number();
        Gcp {
            sandbox,
            client,
            number,
            events,
        }
    }

    pub fn issuer(&self) -> String {
        self.sandbox.urls().octopus_issuer.clone()
    }

    pub fn provider(&self, pool: &str, provider: &str) -> ProviderRef {
        ProviderRef {
            project_number: self.number.clone(),
            pool_id: pool.into(),
            provider_id: provider.into(),
        }
    }

    pub fn pool_spec(&self, pool: &str) -> GcpPoolSpec {
        GcpPoolSpec {
            project_number: self.number.clone(),
            pool_id: pool.into(),
            display_name: "Octopus Deploy".into(),
            description: "octo-oidc:setup=test".into(),
        }
    }

    /// A provider admitting exactly [`IN_SCOPE`].
    pub fn provider_spec(&self, pool: &str, provider: &str) -> GcpProviderSpec {
        GcpProviderSpec {
            provider: self.provider(pool, provider),
            display_name: "Octopus".into(),
            description: "octo-oidc:setup=test".into(),
            trust: GcpOidcTrust {
                issuer_uri: self.issuer(),
                allowed_audiences: Vec::new(),
                jwks_json: None,
                attribute_mapping: BTreeMap::from([
                    ("google.subject".into(), "assertion.sub".into()),
                    (
                        "attribute.environment".into(),
                        "assertion['https://octopus.com/claims/environment']".into(),
                    ),
                ]),
                attribute_condition: Some(format!("assertion.sub in ['{IN_SCOPE}']")),
            },
        }
    }

    /// Ensures the pool [`Self::pool_spec`] describes.
    pub async fn ensure_pool(&self, pool: &str) -> Applied<GcpPool> {
        self.client
            .ensure_pool(&self.pool_spec(pool))
            .await
            .unwrap()
    }

    /// Pool and provider, created.
    pub async fn set_up(&self, pool: &str, provider: &str) -> GcpProviderSpec {
        self.ensure_pool(pool).await;
        let spec = self.provider_spec(pool, provider);
        self.client.ensure_provider(&spec).await.unwrap();
        spec
    }

    /// A token signed by the sandbox Octopus's key, with the claims Octopus puts in it.
    pub fn token(&self, sub: &str, aud: &str) -> Secret {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = json!({
            "iss": self.issuer(), "sub": sub, "aud": aud,
            "iat": now, "nbf": now, "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string(),
        });
        for pair in sub.split(':').collect::<Vec<_>>().chunks(2) {
            if let [k, v] = pair {
                claims[format!("https://octopus.com/claims/{k}")] = json!(v);
            }
        }
        Secret::new(
            self.sandbox
                .octopus()
                .shared()
                .signing_key()
                .mint(jsonwebtoken::Algorithm::PS256, &claims)
                .unwrap(),
        )
    }

    /// A raw call to the sandbox (to tamper behind the client's back).
    pub async fn raw(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let http = self.sandbox.http_client().unwrap();
        let base = self.sandbox.urls().gcp.clone().unwrap();
        let mut r = http
            .request(method, format!("{base}{path}"))
            .bearer_auth("tamper");
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        r.json().await.unwrap()
    }

    pub fn retries(&self) -> Vec<(String, String)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                ProgressEvent::Retrying {
                    operation, code, ..
                } => Some((operation.clone(), code.to_string())),
                _ => None,
            })
            .collect()
    }
}
