//! AWS fixtures that the AWS client's tests, its benchmark and the sandbox's IAM/STS tests
//! share.

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
