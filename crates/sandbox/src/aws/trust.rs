//! The sandbox's use of the core's trust-policy model: IAM-side validation of a role's trust
//! policy and the STS-side decision for one web-identity request.
//!
//! Parsing and evaluation are `octo_oidc_core::aws::TrustPolicy` (the same code the wizard's
//! simulator uses); this module only maps its answers to IAM/STS errors and collects the
//! `Federated` principals IAM checks for existence. Deliberately absent: any policy logic of
//! its own.

use std::collections::BTreeMap;

use octo_oidc_core::aws::policy::{ActionSpec, PrincipalSpec};
use octo_oidc_core::aws::{PolicyError, TrustDecision, TrustPolicy};

use super::wire::AwsError;

/// Validates a trust policy as IAM does on CreateRole / UpdateAssumeRolePolicy and returns
/// the OIDC provider ARNs its `Federated` principals name (IAM checks that they exist).
pub fn validate(document: &str) -> Result<Vec<String>, AwsError> {
    let policy = TrustPolicy::parse(document).map_err(malformed)?;
    let mut federated = Vec::new();
    for statement in &policy.statements {
        if let ActionSpec::Action(actions) = &statement.action {
            let sts_only = actions.iter().all(|a| {
                let a = a.to_ascii_lowercase();
                a == "*" || a.starts_with("sts:")
            });
            if !sts_only {
                return Err(AwsError::malformed_policy(
                    "AssumeRole policy may only specify STS AssumeRole actions.",
                ));
            }
        }
        let principals = match &statement.principal {
            PrincipalSpec::Principal(p) | PrincipalSpec::NotPrincipal(p) => p,
        };
        for arn in &principals.federated {
            if arn.contains(":oidc-provider/") && !federated.contains(arn) {
                federated.push(arn.clone());
            } else if arn.starts_with("arn:") && !arn.contains(":saml-provider/") {
                return Err(AwsError::malformed_policy(
                    "Federated principals must be valid domain names or SAML metadata ARNs",
                ));
            }
        }
    }
    Ok(federated)
}

fn malformed(error: PolicyError) -> AwsError {
    AwsError::malformed_policy(error.message)
}

/// STS's decision on one AssumeRoleWithWebIdentity: the role's trust policy evaluated for
/// the provider ARN with the request's condition keys (`<host[/path]>:sub|aud|amr`).
pub fn decide(
    document: &str,
    provider_arn: &str,
    context: &BTreeMap<String, String>,
) -> TrustDecision {
    match TrustPolicy::parse(document) {
        Ok(policy) => policy.evaluate_web_identity(provider_arn, context),
        Err(error) => TrustDecision {
            allowed: false,
            reason: format!("the stored trust policy does not parse: {error}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_oidc_principals_and_rejects_bad_json() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/a.example"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        assert_eq!(
            validate(doc).expect("valid"),
            vec!["arn:aws:iam::123456789012:oidc-provider/a.example".to_string()]
        );
        let err = validate("{not json").expect_err("invalid");
        assert_eq!(err.code, "MalformedPolicyDocument");
        let err = validate(&doc.replace("Allow", "Maybe")).expect_err("bad effect");
        assert_eq!(err.code, "MalformedPolicyDocument");
        let err = validate(&doc.replace("sts:AssumeRoleWithWebIdentity", "s3:GetObject"))
            .expect_err("non-STS action");
        assert_eq!(
            err.message,
            "AssumeRole policy may only specify STS AssumeRole actions."
        );
    }
}
