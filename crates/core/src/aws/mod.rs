//! AWS: the IAM role trust policy (model, parser, IAM-faithful evaluation) and, built on it,
//! what the wizard creates in IAM for an Octopus server.
//!
//! Deliberately absent: any call to AWS (the `octo-oidc-aws` crate does that through
//! [`crate::ports::Iam`]) and permission policies (what the role may do once assumed).

pub mod policy;
pub mod trust;

pub use policy::{PolicyError, TrustDecision, TrustPolicy, WEB_IDENTITY_ACTION};
pub use trust::{AwsError, AwsProvider, AwsRolePlan, plan_role, trust_policy_json};

/// Whether `value` is an AWS account id: exactly 12 ASCII digits.
pub fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// The account and resource of an IAM ARN, `arn:<aws partition>:iam::<account>:<resource>`;
/// `None` for anything else. The account is not checked (AWS-managed policies have `aws`).
pub fn iam_arn_parts(arn: &str) -> Option<(&str, &str)> {
    match arn.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", partition, "iam", "", account, resource] if partition.starts_with("aws") => {
            Some((account, resource))
        }
        _ => None,
    }
}

/// IAM `StringLike`: `*` matches any run of characters (including `:`), `?` exactly one
/// character, everything else itself, case-sensitively; anchored at both ends.
pub fn string_like(pattern: &str, value: &str) -> bool {
    crate::wildcard::matches(pattern, value)
}

#[cfg(test)]
mod tests {
    use super::string_like;

    #[test]
    fn string_like_crosses_colons_and_is_case_sensitive() {
        assert!(string_like(
            "space:default:project:web:*",
            "space:default:project:web:tenant:a:environment:b"
        ));
        assert!(!string_like(
            "space:default:project:web:*",
            "space:default:project:Web:environment:b"
        ));
        assert!(string_like(
            "space:default:environment:prod-??",
            "space:default:environment:prod-eu"
        ));
    }
}
