//! The STS service: `GetCallerIdentity` and `AssumeRoleWithWebIdentity` with the validation
//! real STS does for an OIDC web identity.
//!
//! `AssumeRoleWithWebIdentity` checks, in order: request constraints (session name, token
//! length, `DurationSeconds` 900–43200); the token parses as a JWT; its `iss` is an existing
//! provider's URL exactly (and the provider is past the propagation window); signature,
//! `exp`/`nbf` through the issuer's own discovery + JWKS (`RemoteIssuers::verify`, real
//! HTTP); `aud` is one of the provider's client ids; the role exists and its trust policy
//! (evaluated by [`super::trust::decide`] with `<host[/path]>:sub|aud|amr`) allows
//! it, outside the propagation window of its last trust change; `DurationSeconds` ≤ the role's
//! MaxSessionDuration. Deliberately absent: `AssumeRole`, session policies' effect
//! (`Policy`/`PolicyArns` are length-checked only), session tags and thumbprint checks.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use rand::RngCore;
use serde_json::Value;

use crate::token_validation::{RemoteIssuers, TokenRejection, claim_strings};

use super::iam::{IamState, iso8601, random_id};
use super::trust;
use super::wire::{AwsError, Params, Xml, constraint, value_in_range};

/// Who `GetCallerIdentity` says the caller is.
#[derive(Debug, Clone)]
pub struct CallerIdentity {
    /// Account id.
    pub account: String,
    /// Caller ARN.
    pub arn: String,
    /// Unique id (`AIDA…`).
    pub user_id: String,
}

/// `GetCallerIdentity`.
pub fn get_caller_identity(caller: &CallerIdentity) -> Xml {
    let mut result = Xml::new();
    result
        .text("UserId", &caller.user_id)
        .text("Account", &caller.account)
        .text("Arn", &caller.arn);
    result
}

fn invalid_token(message: impl Into<String>) -> AwsError {
    AwsError::sender(StatusCode::BAD_REQUEST, "InvalidIdentityToken", message)
}

fn not_authorized() -> AwsError {
    AwsError::access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
}

/// Maps a token-validation failure to the STS error it produces.
fn rejection_error(rejection: TokenRejection) -> AwsError {
    match rejection {
        TokenRejection::Malformed(_) => invalid_token(
            "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
        ),
        TokenRejection::DiscoveryFailed(_) => AwsError::sender(
            StatusCode::BAD_REQUEST,
            "IDPCommunicationError",
            "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
        ),
        TokenRejection::IssuerMismatch { discovered, token } => invalid_token(format!(
            "Issuer in the provider's discovery document ({discovered}) does not match the token issuer ({token})"
        )),
        TokenRejection::UnknownKey(kid) => invalid_token(format!(
            "No key in the identity provider's JWKS matches the token's key id {kid}"
        )),
        TokenRejection::BadSignature => {
            invalid_token("The web identity token signature could not be verified")
        }
        TokenRejection::Expired => AwsError::sender(
            StatusCode::BAD_REQUEST,
            "ExpiredTokenException",
            "Token expired: current date/time must be before the expiration date/time",
        ),
        TokenRejection::NotYetValid => invalid_token("Token is not yet valid (nbf)"),
        TokenRejection::UnsupportedAlgorithm => {
            invalid_token("The token's signing algorithm is not supported")
        }
    }
}

/// What the request asked for, once its constraints are checked.
struct Request<'a> {
    role_arn: &'a str,
    session_name: &'a str,
    token: &'a str,
    duration: u32,
}

fn parse_request(params: &Params) -> Result<Request<'_>, AwsError> {
    let role_arn = params.required("RoleArn")?;
    if role_arn.len() < 20 || role_arn.len() > 2048 {
        return Err(constraint(
            role_arn,
            "roleArn",
            "Member must have length greater than or equal to 20",
        ));
    }
    let session_name = params.required("RoleSessionName")?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if session_name.len() < 2 || session_name.len() > 64 {
        return Err(constraint(
            session_name,
            "roleSessionName",
            "Member must have length greater than or equal to 2 and less than or equal to 64",
        ));
    }
    if !session_name.chars().all(allowed) {
        return Err(constraint(
            session_name,
            "roleSessionName",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    let token = params.required("WebIdentityToken")?;
    if token.len() < 4 || token.len() > 20_000 {
        return Err(constraint(
            "***",
            "webIdentityToken",
            "Member must have length less than or equal to 20000",
        ));
    }
    let duration = params.integer("DurationSeconds")?.unwrap_or(3600);
    value_in_range(duration, "durationSeconds", 900, 43_200)?;
    if let Some(policy) = params.get("Policy")
        && policy.len() > 2048
    {
        return Err(AwsError::sender(
            StatusCode::BAD_REQUEST,
            "PackedPolicyTooLarge",
            "Packed size of consumed session policies exceeds the limit",
        ));
    }
    let duration = u32::try_from(duration).map_err(|_| AwsError::validation("bad duration"))?;
    Ok(Request {
        role_arn,
        session_name,
        token,
        duration,
    })
}

/// `AssumeRoleWithWebIdentity`. `state` is locked only around reads, never across the
/// issuer fetch.
pub async fn assume_role_with_web_identity(
    state: &std::sync::Mutex<IamState>,
    issuers: &RemoteIssuers,
    window: Duration,
    params: &Params,
) -> Result<WebIdentitySession, AwsError> {
    let request = parse_request(params)?;
    let unverified = RemoteIssuers::peek(request.token).map_err(rejection_error)?;
    let Some(issuer) = unverified.claims.get("iss").and_then(Value::as_str) else {
        return Err(invalid_token("The token has no iss claim"));
    };
    let no_provider = || {
        invalid_token(format!(
            "No OpenIDConnect provider found in your account for {issuer}"
        ))
    };
    let provider = {
        let state = state.lock().map_err(|_| poisoned())?;
        let provider = state
            .provider_by_url(issuer)
            .cloned()
            .ok_or_else(no_provider)?;
        if state.propagating(provider.created_at, window) {
            return Err(no_provider());
        }
        provider
    };

    let claims = issuers
        .verify(request.token, issuer)
        .await
        .map_err(rejection_error)?;

    let audiences = claim_strings(&claims, "aud");
    let Some(audience) = audiences
        .iter()
        .find(|aud| provider.client_ids.contains(aud))
        .cloned()
    else {
        return Err(invalid_token("Incorrect token audience"));
    };
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_token("The token has no sub claim"))?
        .to_string();

    let role = {
        let state = state.lock().map_err(|_| poisoned())?;
        let role = state
            .roles
            .values()
            .find(|r| r.arn.eq_ignore_ascii_case(request.role_arn))
            .cloned()
            .ok_or_else(not_authorized)?;
        if state.propagating(role.trust_changed_at, window) {
            return Err(not_authorized());
        }
        (role, state.account_id.clone())
    };
    let (role, account_id) = role;

    let prefix = provider.condition_key_prefix();
    let mut context = BTreeMap::from([
        (format!("{prefix}:sub"), subject.clone()),
        (format!("{prefix}:aud"), audience.clone()),
    ]);
    if let Some(amr) = claim_strings(&claims, "amr").first() {
        context.insert(format!("{prefix}:amr"), amr.clone());
    }
    let decision = trust::decide(&role.trust_policy, &provider.arn, &context);
    if !decision.allowed {
        tracing::debug!(role = %role.name, reason = %decision.reason, "trust policy denied web identity");
        return Err(not_authorized());
    }
    if request.duration > role.max_session_duration {
        return Err(AwsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }

    Ok(WebIdentitySession {
        assumed_role_id: format!("{}:{}", role.role_id, request.session_name),
        assumed_role_arn: format!(
            "arn:aws:sts::{account_id}:assumed-role/{}/{}",
            role.name, request.session_name
        ),
        subject,
        audience,
        provider: issuer.to_string(),
        duration_seconds: request.duration,
    })
}

/// A session STS granted for a web identity (the temporary credentials are made up when the
/// response is rendered and kept nowhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentitySession {
    /// `AROA…:<session name>`.
    pub assumed_role_id: String,
    /// `arn:aws:sts::<acct>:assumed-role/<role>/<session>`.
    pub assumed_role_arn: String,
    /// The token's `sub`.
    pub subject: String,
    /// The audience that matched the provider's client ids.
    pub audience: String,
    /// The token's `iss`.
    pub provider: String,
    /// The granted session length.
    pub duration_seconds: u32,
}

/// The `AssumeRoleWithWebIdentityResult` for a granted session.
pub fn session_xml(session: &WebIdentitySession) -> Xml {
    let expiration = time::OffsetDateTime::now_utc()
        + time::Duration::seconds(i64::from(session.duration_seconds));
    let mut credentials = Xml::new();
    credentials
        .text("AccessKeyId", &random_id("ASIA"))
        .text("SecretAccessKey", &random_base64(30))
        .text("SessionToken", &random_base64(180))
        .text("Expiration", &iso8601(expiration));
    let mut user = Xml::new();
    user.text("AssumedRoleId", &session.assumed_role_id)
        .text("Arn", &session.assumed_role_arn);
    let mut result = Xml::new();
    result
        .element("Credentials", &credentials)
        .text("SubjectFromWebIdentityToken", &session.subject)
        .element("AssumedRoleUser", &user)
        .text("Provider", &session.provider)
        .text("Audience", &session.audience);
    result
}

fn poisoned() -> AwsError {
    AwsError::server(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalFailure",
        "The sandbox state lock was poisoned by an earlier panic",
    )
}

fn random_base64(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    base64::engine::general_purpose::STANDARD.encode(buffer)
}
