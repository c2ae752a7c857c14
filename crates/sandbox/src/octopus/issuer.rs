//! The sandbox Octopus as an OIDC issuer: discovery and JWKS at the server root, and the tokens
//! it mints for account tests and for deployments / runbook runs.
//!
//! Tokens are signed PS256 with an RSA 2048 key (`kid` in the header), carry `iss` (the
//! configured issuer, verbatim), `aud`, `sub` (built by [`super::subject`], the sandbox's own
//! reading of Octopus's rules, from the account's subject keys and the run's slugs), `exp`/`nbf`/`iat`/`jti`, one
//! `https://octopus.com/claims/<key>` claim per context value, and the account's custom claims.
//!
//! Deliberately absent: key rotation (one key; rotation would add a second `kid` to the JWKS).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::Algorithm;
use octo_oidc_core::subject::{Context, SubjectValues};
use serde_json::{Map, Value, json};

use super::AppState;
use super::accounts::{AWS_OIDC, AZURE_OIDC};
use super::subject::{SubjectRefusal, build_subject, context_values, subject_keys_field};
use crate::signing::Jwks;

/// The audience of Azure tokens when the account sets none.
pub const DEFAULT_AZURE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Lifetime of minted tokens, in seconds.
pub const TOKEN_LIFETIME_SECS: i64 = 600;

/// The claims Octopus tokens can carry (for `claims_supported`).
const CLAIMS: [&str; 16] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "https://octopus.com/claims/space",
    "https://octopus.com/claims/project-group",
    "https://octopus.com/claims/project",
    "https://octopus.com/claims/runbook",
    "https://octopus.com/claims/tenant",
    "https://octopus.com/claims/environment",
    "https://octopus.com/claims/target",
    "https://octopus.com/claims/account",
    "https://octopus.com/claims/type",
];

/// The base URL the issuer's other endpoints live under.
fn endpoint_base(app: &AppState) -> String {
    let issuer = app.config.issuer.trim_end_matches('/');
    if issuer == app.config.http_url || issuer == app.config.public_url {
        issuer.to_string()
    } else {
        app.config.public_url.clone()
    }
}

/// `GET /.well-known/openid-configuration`.
pub async fn discovery(State(app): State<AppState>) -> Response {
    let base = endpoint_base(&app);
    axum::Json(json!({
        "issuer": app.config.issuer,
        "jwks_uri": format!("{base}/.well-known/jwks"),
        "token_endpoint": format!("{base}/token/v1"),
        "claims_supported": CLAIMS,
        "id_token_signing_alg_values_supported": ["PS256"],
        "response_types_supported": ["id_token"],
        "scopes_supported": ["openid"],
        "subject_types_supported": ["public"],
    }))
    .into_response()
}

/// `GET /.well-known/jwks`.
pub async fn jwks(State(app): State<AppState>) -> Response {
    let key = app.signing_key();
    axum::Json(Jwks::document(Algorithm::PS256, [&key])).into_response()
}

/// What a minted token is for.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// Account test, deployment or runbook run.
    pub context: Context,
    /// The run's slugs.
    pub values: SubjectValues,
}

/// A minted token and what it says.
#[derive(Debug, Clone)]
pub struct MintedToken {
    /// The JWT.
    pub jwt: String,
    /// Its `sub`.
    pub subject: String,
    /// Its `aud`.
    pub audience: String,
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The account's keys or the run's values do not form a subject.
    #[error("cannot build the subject: {0}")]
    Subject(#[from] SubjectRefusal),
    /// The account's keys list is not a list of strings.
    #[error("the account's {0} is not a list of strings")]
    Keys(&'static str),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(#[from] crate::signing::SigningError),
}

/// The audience Octopus uses for an account: Azure `Audience` or the default; AWS its
/// `Audience` (required since 2026) or, when absent, the issuer's host name.
pub fn audience_for(app: &AppState, account: &Map<String, Value>) -> String {
    let audience = account
        .get("Audience")
        .and_then(Value::as_str)
        .filter(|a| !a.trim().is_empty());
    match account.get("AccountType").and_then(Value::as_str) {
        Some(AWS_OIDC) => match audience {
            Some(a) => a.to_string(),
            None => url::Url::parse(&app.config.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default(),
        },
        Some(AZURE_OIDC) | Some(_) | None => account
            .get("Audience")
            .and_then(Value::as_str)
            .filter(|a| !a.trim().is_empty())
            .unwrap_or(DEFAULT_AZURE_AUDIENCE)
            .to_string(),
    }
}

/// Mints the token Octopus would issue for `account` in the given run.
pub fn mint_for_account(
    app: &AppState,
    account: &Map<String, Value>,
    request: &TokenRequest,
) -> Result<MintedToken, MintError> {
    let field = subject_keys_field(request.context);
    let keys: Vec<&str> = match account.get(field) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|k| k.as_str().ok_or(MintError::Keys(field)))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(MintError::Keys(field)),
    };
    let subject = build_subject(request.context, &keys, &request.values)?;
    let audience = audience_for(app, account);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(app.config.issuer));
    claims.insert("sub".into(), json!(subject));
    claims.insert("aud".into(), json!(audience));
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(now + TOKEN_LIFETIME_SECS));
    claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    for (part, value) in context_values(request.context, &request.values) {
        claims.insert(format!("https://octopus.com/claims/{part}"), json!(value));
    }
    if let Some(Value::Object(custom)) = account.get("CustomClaims") {
        for (k, v) in custom {
            claims.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let jwt = app
        .signing_key()
        .mint(Algorithm::PS256, &Value::Object(claims))?;
    Ok(MintedToken {
        jwt,
        subject,
        audience,
    })
}

/// `POST /api/_sandbox/oidc-tokens` (sandbox only): a token of this issuer with exactly the
/// given `Subject` and `Audience` (and no Octopus claims), for verify's token trades of
/// subjects no run of the space has (near misses). Body `{"Subject", "Audience"}`; answers
/// `{"Token", "Issuer"}`.
pub async fn mint_endpoint(
    State(app): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, super::errors::OctopusError> {
    use super::errors::OctopusError;
    let body = super::accounts::parse_json(&body)?;
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
    };
    let (Some(subject), Some(audience)) = (field("Subject"), field("Audience")) else {
        return Err(OctopusError::validation(vec![
            "Subject and Audience are required.".into(),
        ]));
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "iss": app.config.issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECS,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let jwt = app
        .signing_key()
        .mint(Algorithm::PS256, &claims)
        .map_err(|e| OctopusError::bad_request(format!("Could not sign the token: {e}")))?;
    Ok(axum::Json(json!({ "Token": jwt, "Issuer": app.config.issuer })).into_response())
}
