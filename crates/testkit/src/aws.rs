//! AWS fixtures that the AWS client's tests, its benchmark and the sandbox's IAM/STS tests
//! share, and the IAM query-protocol calls the Octopus account-test tests make to a sandbox.

use std::collections::BTreeMap;

use octo_oidc_core::ports::RoleSpec;

/// The trust policy the wizard writes for a provider ARN, an audience and subject patterns
/// (`StringEquals` on `<provider>:aud`, `StringLike` on `<provider>:sub`), as JSON text.
pub fn trust_policy(provider_arn: &str, aud: &str, subjects: &[&str]) -> String {
    let key = provider_arn.split("oidc-provider/").nth(1).unwrap();
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {format!("{key}:aud"): aud},
                "StringLike": {format!("{key}:sub"): subjects},
            }
        }]
    })
    .to_string()
}

/// A role as the wizard asks for one: `trust_policy`, one hour sessions, `ReadOnlyAccess`
/// attached, one inline policy `octo-read` (`s3:GetObject`), tagged `octo-oidc:setup=<setup>`.
pub fn role_spec(name: &str, trust_policy: String, setup: &str) -> RoleSpec {
    RoleSpec {
        name: name.to_string(),
        trust_policy,
        max_session_duration: 3600,
        description: Some("Octopus OIDC".into()),
        managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
        inline_policies: BTreeMap::from([(
            "octo-read".to_string(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#.to_string(),
        )]),
        tags: BTreeMap::from([("octo-oidc:setup".to_string(), setup.to_string())]),
    }
}

/// One IAM query-protocol call to `endpoint` (a sandbox's AWS URL: it checks that an
/// `Authorization` header is present, not the signature); returns the status and the body.
pub async fn iam_query(
    http: &reqwest::Client,
    endpoint: &str,
    params: &[(&str, &str)],
) -> (reqwest::StatusCode, String) {
    let mut form = vec![("Version", "2010-05-08")];
    form.extend_from_slice(params);
    let response = http
        .post(format!("{}/", endpoint.trim_end_matches('/')))
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDSANDBOX/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
        )
        .form(&form)
        .send()
        .await
        .expect("the IAM endpoint answers");
    let status = response.status();
    (status, response.text().await.expect("the IAM body"))
}

/// Creates at `endpoint` the OIDC provider for `issuer` (client id `audience`; one that exists
/// already is fine) and a role `role` trusting tokens of exactly `subject` from it, with the
/// wizard's [`trust_policy`]; returns the role's ARN.
pub async fn role_trusting(
    http: &reqwest::Client,
    endpoint: &str,
    issuer: &str,
    audience: &str,
    role: &str,
    subject: &str,
) -> String {
    let host = issuer.trim_start_matches("https://").trim_end_matches('/');
    let (status, body) = iam_query(
        http,
        endpoint,
        &[
            ("Action", "CreateOpenIDConnectProvider"),
            ("Url", issuer),
            ("ClientIDList.member.1", audience),
        ],
    )
    .await;
    assert!(
        status.is_success() || body.contains("EntityAlreadyExists"),
        "{body}"
    );
    let provider = format!("arn:aws:iam::123456789012:oidc-provider/{host}");
    let policy = trust_policy(&provider, audience, &[subject]);
    let (status, body) = iam_query(
        http,
        endpoint,
        &[
            ("Action", "CreateRole"),
            ("RoleName", role),
            ("AssumeRolePolicyDocument", &policy),
        ],
    )
    .await;
    assert!(status.is_success(), "{body}");
    format!("arn:aws:iam::123456789012:role/{role}")
}
