//! `POST /token/v1`: exchange of an external OIDC token (e.g. a GitHub Actions token) for an
//! Octopus access token, as `OctopusDeploy/login` calls it.
//!
//! Accepts JSON or form bodies with `grant_type` (token exchange), `audience`, `subject_token`
//! and `subject_token_type` (jwt). The token is validated for real: an OIDC identity must trust
//! its `iss` exactly; its signature, `exp`/`nbf` are checked through the issuer's discovery and
//! JWKS ([`crate::token_validation::RemoteIssuers`]); the requested audience must be the
//! identity's audience (default: the service account's `ExternalId`) and be in the token's
//! `aud`; the identity's subject pattern (`*`/`?`) must match `sub`. Success answers
//! `{access_token, token_type: "Bearer", issued_token_type, expires_in}`; the access token is
//! accepted as `Authorization: Bearer` for an hour.
//!
//! Failures are RFC 8693-style `{"error", "error_description"}` with a deliberately vague
//! description, as Octopus's are; the specific reason is in the sandbox-only
//! `X-Sandbox-Rejection` response header so tests and people can see why.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::{Value, json};

use super::AppState;
use super::state::IssuedAccessToken;
use crate::token_validation::{RemoteIssuers, claim_strings};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Lifetime of issued access tokens.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

fn rejection(status: StatusCode, error: &str, description: &str, reason: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&reason.replace(['\r', '\n'], " ")) {
        response.headers_mut().insert("x-sandbox-rejection", v);
    }
    response
}

fn invalid_token(reason: &str) -> Response {
    tracing::info!(reason, "sandbox octopus: token exchange rejected");
    rejection(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "The subject token could not be exchanged for an access token. Check that an OIDC identity on the service account matches the token's issuer, audience and subject.",
        reason,
    )
}

/// The four request fields from a JSON or form body.
fn fields(headers: &HeaderMap, body: &[u8]) -> Option<[Option<String>; 4]> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let names = [
        "grant_type",
        "audience",
        "subject_token",
        "subject_token_type",
    ];
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        Some(names.map(|n| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())))
    } else {
        let value: Value = serde_json::from_slice(body).ok()?;
        Some(names.map(|n| value.get(n).and_then(Value::as_str).map(str::to_string)))
    }
}

/// `POST /token/v1`.
pub async fn exchange(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some([grant_type, audience, subject_token, subject_token_type]) = fields(&headers, &body)
    else {
        return rejection(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body must be JSON or application/x-www-form-urlencoded.",
            "unparseable body",
        );
    };
    let (Some(grant_type), Some(audience), Some(subject_token), Some(subject_token_type)) =
        (grant_type, audience, subject_token, subject_token_type)
    else {
        return rejection(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type, audience, subject_token and subject_token_type are required.",
            "missing field",
        );
    };
    if grant_type != TOKEN_EXCHANGE {
        return rejection(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("The grant type must be {TOKEN_EXCHANGE}."),
            "wrong grant_type",
        );
    }
    if subject_token_type != JWT_TYPE {
        return rejection(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("The subject token type must be {JWT_TYPE}."),
            "wrong subject_token_type",
        );
    }
    let peeked = match RemoteIssuers::peek(&subject_token) {
        Ok(p) => p,
        Err(e) => return invalid_token(&format!("malformed token: {e}")),
    };
    let Some(iss) = peeked.issuer().map(str::to_string) else {
        return invalid_token("the token has no iss claim");
    };
    // Identities trusting this exact issuer, with their effective audience and owner.
    let candidates: Vec<(String, String, String)> = {
        let state = app.read();
        state
            .oidc_identities
            .iter()
            .filter(|i| i.issuer == iss)
            .filter_map(|i| {
                let owner = state.user(&i.service_account_id)?;
                if !owner.is_service || !owner.is_active {
                    return None;
                }
                let aud = i.audience.clone().or_else(|| owner.external_id.clone())?;
                Some((i.subject.clone(), aud, owner.id.clone()))
            })
            .collect()
    };
    if candidates.is_empty() {
        return invalid_token(&format!(
            "no OIDC identity trusts the issuer '{iss}' (exact match)"
        ));
    }
    let claims = match app.issuers.verify(&subject_token, &iss).await {
        Ok(c) => c,
        Err(e) => return invalid_token(&format!("token rejected: {e}")),
    };
    let with_audience: Vec<&(String, String, String)> = candidates
        .iter()
        .filter(|(_, aud, _)| *aud == audience)
        .collect();
    if with_audience.is_empty() {
        return invalid_token(&format!(
            "no OIDC identity for issuer '{iss}' has the audience '{audience}' (default: the service account's ExternalId)"
        ));
    }
    if !claim_strings(&claims, "aud").contains(&audience) {
        return invalid_token(&format!("the token's aud does not contain '{audience}'"));
    }
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    let Some((_, _, user_id)) = with_audience
        .iter()
        .find(|(pattern, _, _)| crate::wildcard::matches(pattern, sub))
    else {
        return invalid_token(&format!("no OIDC identity's subject matches '{sub}'"));
    };
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let access_token = URL_SAFE_NO_PAD.encode(raw);
    app.access_tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            access_token.clone(),
            IssuedAccessToken {
                user_id: user_id.clone(),
                expires: Instant::now() + ACCESS_TOKEN_LIFETIME,
            },
        );
    axum::Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
    }))
    .into_response()
}
