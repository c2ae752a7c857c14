//! A small catalogue of AWS managed policies that `AttachRolePolicy` accepts.
//!
//! Real IAM has ~1,300 AWS managed policies under `arn:aws:iam::aws:policy/...`; the wizard
//! only ever offers a handful, so the sandbox knows the common ones and answers
//! `NoSuchEntity` for any other ARN, as IAM does for a policy that does not exist. Policy
//! documents are not modelled (the sandbox grants nothing; SimulatePrincipalPolicy denials are
//! configured separately). Customer managed policies (`CreatePolicy`) are deliberately absent.

/// `(path, name)` of each AWS managed policy the sandbox knows.
const CATALOGUE: &[(&str, &str)] = &[
    ("/", "AdministratorAccess"),
    ("/", "PowerUserAccess"),
    ("/", "ReadOnlyAccess"),
    ("/", "IAMReadOnlyAccess"),
    ("/", "AmazonS3ReadOnlyAccess"),
    ("/", "AmazonS3FullAccess"),
    ("/", "AmazonEC2ReadOnlyAccess"),
    ("/", "AmazonEC2FullAccess"),
    ("/", "AmazonEC2ContainerRegistryPowerUser"),
    ("/", "AmazonEC2ContainerRegistryReadOnly"),
    ("/", "AmazonECS_FullAccess"),
    ("/", "AmazonEKSClusterPolicy"),
    ("/", "AWSCloudFormationFullAccess"),
    ("/", "AWSCloudFormationReadOnlyAccess"),
    ("/", "AWSLambda_FullAccess"),
    ("/", "CloudWatchReadOnlyAccess"),
    ("/", "SecretsManagerReadWrite"),
    ("/job-function/", "ViewOnlyAccess"),
    ("/service-role/", "AWSLambdaBasicExecutionRole"),
];

/// The policy name for a known AWS managed policy ARN, `None` for anything else.
pub fn policy_name(arn: &str) -> Option<&'static str> {
    let rest = arn.strip_prefix("arn:aws:iam::aws:policy")?;
    CATALOGUE
        .iter()
        .find(|(path, name)| rest.strip_prefix(path) == Some(name))
        .map(|(_, name)| *name)
}

/// `(path, name)` of every policy in the catalogue, in a fixed order (`ListPolicies`).
pub fn catalogue() -> impl Iterator<Item = (&'static str, &'static str)> {
    CATALOGUE.iter().copied()
}

/// Every ARN in the catalogue.
pub fn arns() -> impl Iterator<Item = String> {
    CATALOGUE
        .iter()
        .map(|(path, name)| format!("arn:aws:iam::aws:policy{path}{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_paths_and_rejects_lookalikes() {
        assert_eq!(
            policy_name("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            Some("ReadOnlyAccess")
        );
        assert_eq!(
            policy_name("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
            Some("ViewOnlyAccess")
        );
        assert_eq!(policy_name("arn:aws:iam::aws:policy/ViewOnlyAccess"), None);
        assert_eq!(policy_name("arn:aws:iam::aws:policy/NoSuchPolicy"), None);
        assert!(arns().all(|arn| policy_name(&arn).is_some()));
    }
}
