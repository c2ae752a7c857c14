//! Validation of user input: every field is checked and all errors come back at once, as one
//! [`Problem`] with a [`FieldError`] (field, problem, fix) per invalid field; warnings (e.g.
//! an issuer with a trailing slash) come back separately and do not block.
//!
//! Deliberately absent: checks that need the network (is the issuer reachable, does the role
//! exist); those belong to the adapters and the plan's observe step.

use serde::{Deserialize, Serialize};

use crate::aws::trust::{
    DEFAULT_TRUST_POLICY_QUOTA, MAX_TRUST_POLICY_QUOTA, SESSION_DURATION, is_valid_role_name,
};
use crate::azure::{MAX_FIELD_CHARS, is_valid_credential_name};
use crate::error::{FieldError, Problem};

/// A non-blocking remark about a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldWarning {
    /// The field.
    pub field: String,
    /// What to look at.
    pub message: String,
}

/// Collects field errors and warnings; [`Validator::finish`] returns them all at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
    warnings: Vec<FieldWarning>,
}

impl Validator {
    /// An empty validator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error.
    pub fn error(
        &mut self,
        field: &str,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> &mut Self {
        self.errors.push(FieldError {
            field: field.to_string(),
            problem: problem.into(),
            fix: fix.into(),
        });
        self
    }

    /// Records that `field` "is empty", with `fix`, when `value` is blank (empty once trimmed).
    pub fn filled(&mut self, field: &str, value: &str, fix: &str) -> &mut Self {
        if value.trim().is_empty() {
            self.error(field, "is empty", fix);
        }
        self
    }

    /// Records a warning.
    pub fn warn(&mut self, field: &str, message: impl Into<String>) -> &mut Self {
        self.warnings.push(FieldWarning {
            field: field.to_string(),
            message: message.into(),
        });
        self
    }

    /// The errors so far.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// `Ok(warnings)` when no field is invalid, else one `invalid_input` problem listing all.
    pub fn finish(self) -> Result<Vec<FieldWarning>, Problem> {
        if self.errors.is_empty() {
            Ok(self.warnings)
        } else {
            Err(Problem::invalid_input(self.errors))
        }
    }

    /// An `https://` URL with a host, no port check, no query or fragment, no whitespace.
    pub fn https_url(&mut self, field: &str, value: &str) -> &mut Self {
        let fix = "Enter the full address starting with https://, without ?query or #fragment.";
        if value.is_empty() {
            return self.error(field, "is empty", fix);
        }
        if value.chars().any(char::is_whitespace) {
            return self.error(field, "contains whitespace", fix);
        }
        let Some(rest) = value.strip_prefix("https://") else {
            return self.error(field, "must start with https:// (Azure, AWS and GitHub only fetch OIDC documents over HTTPS)", fix);
        };
        if rest.contains(['?', '#']) {
            return self.error(field, "must not contain a query or fragment", fix);
        }
        let host = rest.split('/').next().unwrap_or_default();
        let hostname = host.split(':').next().unwrap_or_default();
        if hostname.is_empty()
            || !hostname
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return self.error(field, "has no valid host name", fix);
        }
        self
    }

    /// The Octopus issuer: an https URL; a trailing slash is a warning (it must match
    /// discovery's `issuer` exactly, and Azure's docs say "no trailing slash").
    pub fn issuer(&mut self, field: &str, value: &str) -> &mut Self {
        let before = self.errors.len();
        self.https_url(field, value);
        if self.errors.len() == before && value.ends_with('/') {
            self.warn(
                field,
                "ends with '/': tokens must carry exactly this issuer; keep it only if Octopus's /.well-known/openid-configuration says so",
            );
        }
        if self.errors.len() == before && value.chars().count() > MAX_FIELD_CHARS {
            self.error(
                field,
                "is longer than 600 characters (Entra's limit)",
                "Use a shorter server URL.",
            );
        }
        self
    }

    /// A required AWS region: Octopus refuses AWS accounts without one since April 2026
    /// (Issues #9955); a given one must be a region code ([`Validator::aws_region`]).
    pub fn required_aws_region(&mut self, field: &str, value: &str) -> &mut Self {
        if value.trim().is_empty() {
            return self.error(
                field,
                "is empty; Octopus requires a region on AWS accounts since April 2026",
                "Choose the AWS region Octopus should use, e.g. us-east-1 (your AWS profile's region is the default).",
            );
        }
        self.aws_region(field, value)
    }

    /// A GUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
    pub fn guid(&mut self, field: &str, value: &str) -> &mut Self {
        let ok = value.len() == 36
            && value.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if !ok {
            self.error(
                field,
                format!("'{value}' is not a GUID"),
                "Copy the id in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.",
            );
        }
        self
    }

    /// A 12-digit AWS account id.
    pub fn aws_account_id(&mut self, field: &str, value: &str) -> &mut Self {
        if !crate::aws::is_account_id(value) {
            self.error(
                field,
                format!("'{value}' is not a 12-digit AWS account id"),
                "Enter the 12 digits, without dashes.",
            );
        }
        self
    }

    /// An IAM role ARN `arn:<partition>:iam::<12 digits>:role/[path/]name`.
    pub fn role_arn(&mut self, field: &str, value: &str) -> &mut Self {
        let ok = crate::aws::iam_arn_parts(value).is_some_and(|(account, resource)| {
            crate::aws::is_account_id(account)
                && resource
                    .strip_prefix("role/")
                    .and_then(|n| n.rsplit('/').next())
                    .is_some_and(is_valid_role_name)
        });
        if !ok {
            self.error(
                field,
                format!("'{value}' is not an IAM role ARN"),
                "Use the role's ARN, arn:aws:iam::<account>:role/<name> (not the identity provider's ARN).",
            );
        }
        self
    }

    /// An IAM role name.
    pub fn role_name(&mut self, field: &str, value: &str) -> &mut Self {
        if !is_valid_role_name(value) {
            self.error(
                field,
                format!("'{value}' is not a valid IAM role name"),
                "Use 1-64 characters: letters, digits and + = , . @ _ -.",
            );
        }
        self
    }

    /// A role session duration in seconds (3600–43200).
    pub fn session_duration(&mut self, field: &str, value: u32) -> &mut Self {
        if !SESSION_DURATION.contains(&value) {
            self.error(
                field,
                format!("{value} s is outside 3600-43200 s"),
                "Choose between 3600 (1 hour) and 43200 (12 hours).",
            );
        }
        self
    }

    /// The role trust policy quota (2048–4096).
    pub fn trust_policy_quota(&mut self, field: &str, value: usize) -> &mut Self {
        if !(DEFAULT_TRUST_POLICY_QUOTA..=MAX_TRUST_POLICY_QUOTA).contains(&value) {
            self.error(
                field,
                format!("{value} is outside 2048-4096"),
                "Use 2048 (the default) or the value Service Quotas shows for \"Role trust policy length\".",
            );
        }
        self
    }

    /// An Octopus slug (as it appears in subjects).
    pub fn slug(&mut self, field: &str, value: &str) -> &mut Self {
        if value.is_empty() {
            return self.error(
                field,
                "is empty",
                "Use the slug Octopus shows for the item.",
            );
        }
        if let Err(e) = crate::subject::check_value(crate::subject::SubjectKey::Space, value) {
            let problem = e.to_string().replace("the space value", "the value");
            return self.error(
                field,
                problem,
                "Use the slug Octopus shows for the item (lower-case letters, digits, '-').",
            );
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            self.warn(field, format!("'{value}' is not a typical Octopus slug (lower-case letters, digits, '-'); subjects are case-sensitive"));
        }
        self
    }

    /// A non-blank name of at most `max` characters.
    pub fn name(&mut self, field: &str, value: &str, max: usize) -> &mut Self {
        if value.trim().is_empty() {
            self.error(field, "is empty", "Enter a name.");
        } else {
            self.length(field, value, max);
        }
        self
    }

    /// At most `max` characters.
    pub fn length(&mut self, field: &str, value: &str, max: usize) -> &mut Self {
        let len = value.chars().count();
        if len > max {
            self.error(
                field,
                format!("is {len} characters long, more than {max}"),
                format!("Shorten it to {max} characters."),
            );
        }
        self
    }

    /// A federated credential name.
    pub fn credential_name(&mut self, field: &str, value: &str) -> &mut Self {
        if !is_valid_credential_name(value) {
            self.error(
                field,
                format!("'{value}' is not a valid federated credential name"),
                "Use 3-120 letters, digits, '-' or '_', starting with a letter or digit.",
            );
        }
        self
    }

    /// A count against a limit (e.g. credentials per app).
    pub fn limit(&mut self, field: &str, count: usize, max: usize, fix: &str) -> &mut Self {
        if count > max {
            self.error(field, format!("needs {count}, the limit is {max}"), fix);
        }
        self
    }
}

/// Input of the AWS setup screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsSetupInput {
    /// Octopus issuer (from discovery).
    pub issuer: String,
    /// AWS account id.
    pub account_id: String,
    /// Role name.
    pub role_name: String,
    /// Role max session duration (= Octopus `SessionDuration`).
    pub session_duration: u32,
    /// Trust policy quota, if raised.
    pub trust_policy_quota: Option<usize>,
    /// Octopus account name.
    pub account_name: String,
    /// The Octopus account's AWS region (default: the AWS profile's,
    /// [`crate::accounts::account_region`]).
    pub region: String,
}

/// Checks every AWS setup field at once.
pub fn validate_aws_setup(input: &AwsSetupInput) -> Result<Vec<FieldWarning>, Problem> {
    let mut v = Validator::new();
    v.issuer("issuer", &input.issuer);
    if let Some(host) = input
        .issuer
        .strip_prefix("https://")
        .and_then(|r| r.split('/').next())
        && host.contains(':')
    {
        v.error(
            "issuer",
            "contains a port; IAM OIDC providers must use port 443",
            "Serve Octopus's OIDC documents on https port 443.",
        );
    }
    v.aws_account_id("account_id", &input.account_id)
        .role_name("role_name", &input.role_name)
        .session_duration("session_duration", input.session_duration)
        .name("account_name", &input.account_name, 200)
        .required_aws_region("region", &input.region);
    if let Some(q) = input.trust_policy_quota {
        v.trust_policy_quota("trust_policy_quota", q);
    }
    v.finish()
}

/// Input of the Azure setup screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureSetupInput {
    /// Octopus issuer (from discovery).
    pub issuer: String,
    /// Entra tenant id.
    pub tenant_id: String,
    /// Subscription id.
    pub subscription_id: String,
    /// App registration display name.
    pub app_display_name: String,
    /// Audience (empty = default).
    pub audience: String,
    /// Octopus account name.
    pub account_name: String,
}

/// Checks every Azure setup field at once.
pub fn validate_azure_setup(input: &AzureSetupInput) -> Result<Vec<FieldWarning>, Problem> {
    let mut v = Validator::new();
    v.issuer("issuer", &input.issuer)
        .guid("tenant_id", &input.tenant_id)
        .guid("subscription_id", &input.subscription_id)
        .name("app_display_name", &input.app_display_name, 120)
        .length("audience", &input.audience, MAX_FIELD_CHARS)
        .name("account_name", &input.account_name, 200);
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields `v` found errors in, in order.
    pub(super) fn failing_fields(v: &Validator) -> Vec<&str> {
        v.errors().iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn all_errors_at_once() {
        let p = validate_aws_setup(&AwsSetupInput {
            issuer: "http://octopus.local?x=1".into(),
            account_id: "1234".into(),
            role_name: "bad name".into(),
            session_duration: 100,
            trust_policy_quota: Some(9000),
            account_name: " ".into(),
            region: String::new(),
        })
        .unwrap_err();
        let fields: Vec<&str> = p.field_errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "issuer",
                "account_id",
                "role_name",
                "session_duration",
                "account_name",
                "region",
                "trust_policy_quota"
            ]
        );
    }

    #[test]
    fn trailing_slash_is_a_warning() {
        let w = validate_azure_setup(&AzureSetupInput {
            issuer: "https://example.octopus.app/".into(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            subscription_id: "00000000-0000-0000-0000-000000000000".into(),
            app_display_name: "octopus".into(),
            audience: String::new(),
            account_name: "Azure".into(),
        })
        .unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].field, "issuer");
    }

    #[test]
    fn region_is_required_and_checked() {
        let mut v = Validator::new();
        v.required_aws_region("empty", " ")
            .required_aws_region("bad", "US-East-1")
            .required_aws_region("ok", "us-east-1")
            .required_aws_region("gov", "us-gov-west-1");
        assert_eq!(failing_fields(&v), ["empty", "bad"]);
        assert!(v.errors()[0].fix.contains("us-east-1"));
        assert_eq!(
            crate::accounts::account_region("", Some("eu-west-1")),
            "eu-west-1"
        );
        assert_eq!(
            crate::accounts::account_region("ap-south-1", Some("eu-west-1")),
            "ap-south-1"
        );
        assert_eq!(crate::accounts::account_region(" ", None), "");
    }

    #[test]
    fn field_checks() {
        let mut v = Validator::new();
        v.guid("g", "not-a-guid")
            .role_arn("r", "arn:aws:iam::111122223333:oidc-provider/x")
            .role_arn("ok", "arn:aws:iam::111122223333:role/path/octopus")
            .slug("s", "a:b")
            .credential_name("c", "-x")
            .limit("fic", 21, 20, "Split across apps.");
        assert_eq!(failing_fields(&v), ["g", "r", "s", "c", "fic"]);
    }
}

// ---- Reusable checks added for setup files (engine) -------------------------------------

/// What kind of secret a value looks like, if it looks like one: an Octopus API key
/// (`API-…`), an AWS access key id (`AKIA…`/`ASIA…`) or secret access key, an Azure client
/// secret, a private key, a JWT, a GitHub or GitLab token. Used wherever a secret must never
/// be typed (setup files, names, URLs); it errs on the side of "looks like a secret" only for
/// shapes that ordinary names and URLs do not have.
pub fn looks_like_secret(value: &str) -> Option<&'static str> {
    let v = value.trim();
    let run_after = |prefix: &str, ok: fn(u8) -> bool, min: usize| {
        v.match_indices(prefix).any(|(i, _)| {
            v.as_bytes()[i + prefix.len()..]
                .iter()
                .take_while(|b| ok(**b))
                .count()
                >= min
        })
    };
    fn upper_alnum(b: u8) -> bool {
        b.is_ascii_uppercase() || b.is_ascii_digit()
    }
    fn token_char(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'_'
    }
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    if run_after("API-", upper_alnum, 16) {
        return Some("an Octopus API key");
    }
    if run_after("AKIA", upper_alnum, 16) || run_after("ASIA", upper_alnum, 16) {
        return Some("an AWS access key id");
    }
    for prefix in ["ghp_", "gho_", "ghs_", "ghu_", "ghr_", "github_pat_"] {
        if run_after(prefix, token_char, 20) {
            return Some("a GitHub token");
        }
    }
    if run_after("glpat-", |b| token_char(b) || b == b'-', 20) {
        return Some("a GitLab token");
    }
    if looks_like_jwt(v) {
        return Some("a token (JWT)");
    }
    if looks_like_azure_client_secret(v) {
        return Some("an Azure client secret");
    }
    if looks_like_aws_secret_key(v) {
        return Some("an AWS secret access key");
    }
    None
}

fn looks_like_jwt(v: &str) -> bool {
    v.split(|c: char| c.is_whitespace() || c == '"' || c == '=')
        .any(|word| {
            let parts: Vec<&str> = word.split('.').collect();
            parts.len() == 3
                && parts[0].starts_with("eyJ")
                && parts[..2].iter().all(|p| p.len() >= 8)
                && parts.iter().all(|p| {
                    p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
        })
}

/// Shannon entropy in bits per character.
fn entropy(v: &str) -> f64 {
    let mut counts = std::collections::BTreeMap::new();
    for c in v.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = v.chars().count() as f64;
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

fn mixed_classes(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_uppercase())
        && v.bytes().any(|b| b.is_ascii_lowercase())
        && v.bytes().any(|b| b.is_ascii_digit())
}

/// Entra client secrets: 34-40 characters of `[A-Za-z0-9~._-]` with the `~` of the current
/// format (`abc8Q~…`) and mixed classes.
fn looks_like_azure_client_secret(v: &str) -> bool {
    (34..=44).contains(&v.len())
        && v.contains('~')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"~._-".contains(&b))
        && mixed_classes(v)
        && entropy(v) > 4.0
}

/// AWS secret access keys: exactly 40 characters of base64 (`[A-Za-z0-9/+]`), mixed classes,
/// high entropy (names of that length read like words and score lower).
fn looks_like_aws_secret_key(v: &str) -> bool {
    v.len() == 40
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && mixed_classes(v)
        && entropy(v) > 4.3
}

impl Validator {
    /// An error when the value looks like a secret: secrets never belong in this field.
    pub fn no_secret(&mut self, field: &str, value: &str) -> &mut Self {
        if let Some(kind) = looks_like_secret(value) {
            self.error(
                field,
                format!("looks like {kind}; secrets are never stored here"),
                "Remove it. API keys live in the OS keychain (`octo-oidc login`) or OCTOPUS_API_KEY; cloud credentials come from the cloud's own sign-in.",
            );
        }
        self
    }

    /// An AWS region code such as `eu-west-1` or `us-gov-west-1`.
    pub fn aws_region(&mut self, field: &str, value: &str) -> &mut Self {
        let parts: Vec<&str> = value.split('-').collect();
        let ok = parts.len() >= 3
            && parts[0].len() == 2
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            && parts[parts.len() - 1].parse::<u8>().is_ok_and(|n| n > 0);
        if !ok {
            self.error(
                field,
                format!("'{value}' is not an AWS region code"),
                "Use a region code such as eu-west-1 or us-east-1.",
            );
        }
        self
    }

    /// An IAM managed policy ARN: `arn:<partition>:iam::aws:policy/…` (AWS managed) or
    /// `arn:<partition>:iam::<12 digits>:policy/[path/]name` (customer managed).
    pub fn policy_arn(&mut self, field: &str, value: &str) -> &mut Self {
        let ok = crate::aws::iam_arn_parts(value).is_some_and(|(account, resource)| {
            (account == "aws" || crate::aws::is_account_id(account))
                && resource.strip_prefix("policy/").is_some_and(|n| {
                    let name = n.rsplit('/').next().unwrap_or_default();
                    (1..=128).contains(&name.len())
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
                })
        });
        if !ok {
            self.error(
                field,
                format!("'{value}' is not an IAM managed policy ARN"),
                "Use arn:aws:iam::aws:policy/NAME (AWS managed) or arn:aws:iam::<account>:policy/NAME.",
            );
        }
        self
    }

    /// An Azure resource group name: 1-90 of letters, digits, `_`, `-`, `.`, `(`, `)`, not
    /// ending with `.`.
    pub fn resource_group(&mut self, field: &str, value: &str) -> &mut Self {
        let ok = (1..=90).contains(&value.chars().count())
            && value
                .chars()
                .all(|c| c.is_alphanumeric() || "_-.()".contains(c))
            && !value.ends_with('.');
        if !ok {
            self.error(
                field,
                format!("'{value}' is not a valid resource group name"),
                "Use 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending with '.'.",
            );
        }
        self
    }
}

#[cfg(test)]
mod setup_file_check_tests {
    use super::tests::failing_fields;
    use super::*;

    #[test]
    fn secrets_are_recognized_and_names_are_not() {
        for (value, kind) in [
            ("API-ABCDEFGHIJKLMNOPQRSTUVWXYZ12", "an Octopus API key"),
            ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
            (
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "an AWS secret access key",
            ),
            (
                "Zx18Q~aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456",
                "an Azure client secret",
            ),
            ("-----BEGIN RSA PRIVATE KEY-----\nMII", "a private key"),
            (
                "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
                "a token (JWT)",
            ),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "a GitHub token"),
        ] {
            assert_eq!(looks_like_secret(value), Some(kind), "{value}");
        }
        for value in [
            "octopus-shop-prod",
            "OctopusDeployProductionRoleForShopWebApp",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "https://octopus.example.com/app#/Spaces-1",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "API-keys are kept elsewhere",
            "repo:acme/shop:ref:refs/heads/main",
        ] {
            assert_eq!(looks_like_secret(value), None, "{value}");
        }
    }

    #[test]
    fn regions_policies_and_groups() {
        let mut v = Validator::new();
        v.aws_region("ok1", "eu-west-1")
            .aws_region("ok2", "us-gov-west-1")
            .aws_region("bad1", "europe")
            .aws_region("bad2", "eu-west")
            .policy_arn("ok3", "arn:aws:iam::aws:policy/ReadOnlyAccess")
            .policy_arn("ok4", "arn:aws:iam::111122223333:policy/team/deploy")
            .policy_arn("bad3", "arn:aws:iam::111122223333:role/x")
            .resource_group("ok5", "rg-shop(prod)")
            .resource_group("bad4", "rg.");
        assert_eq!(failing_fields(&v), ["bad1", "bad2", "bad3", "bad4"]);
    }
}
