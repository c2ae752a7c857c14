//! Role trust policies as IAM and STS treat them: the grammar IAM checks on `CreateRole` /
//! `UpdateAssumeRolePolicy`, and the decision STS makes for one `AssumeRoleWithWebIdentity`.
//!
//! Written from AWS's documents, independently of the core (which this sandbox judges):
//! IAM User Guide "IAM JSON policy elements" (`Effect`, `Principal`, `Action`, `Condition`),
//! "Condition operators", "Conditions with multiple context keys or values", "Policy
//! evaluation logic", and aws-api.md §2.1. What it implements:
//! - An explicit `Deny` that applies wins; otherwise an applying `Allow` is needed (implicit
//!   deny). A statement applies when its `Principal` (`"*"`, `{"AWS":"*"}` or a `Federated`
//!   entry equal to the provider ARN; `NotPrincipal` inverts), its `Action` (case-insensitive,
//!   `*`/`?` wildcards; `NotAction` inverts) and every condition hold.
//! - Conditions: operators are AND'd, keys within one operator are AND'd, the values of one
//!   key are OR'd (for negated operators: NOR). Condition key names are case-insensitive,
//!   values case-sensitive (except `...IgnoreCase`). Operators: `StringEquals`,
//!   `StringNotEquals`, `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`, `StringLike`,
//!   `StringNotLike` (wildcards from [`crate::wildcard`]), `Null`, each with `...IfExists`
//!   and `ForAnyValue:` / `ForAllValues:`.
//! - A key missing from the request: positive operators are false, negated ones true,
//!   `...IfExists` true, `ForAllValues:` true ("returns true if there are no keys in the
//!   request"), `ForAnyValue:` false. Web-identity keys (`<provider>:sub`, `:aud`, `:amr`) hold
//!   one value each, so the set qualifiers test that one value.
//!
//! Deliberately absent: policy variables, and the numeric, date, IP, ARN and Bool operators
//! (a condition using one is never satisfied, so it neither grants nor denies).

use std::collections::BTreeMap;

use serde_json::Value;

use super::wire::AwsError;
use crate::wildcard;

/// The action `AssumeRoleWithWebIdentity` asks for.
const WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";

/// STS's answer for one request, with the reason (logged, never sent: STS says only
/// `AccessDenied`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustDecision {
    /// Whether the role may be assumed.
    pub allowed: bool,
    /// Which statement decided, or why none did.
    pub reason: String,
}

#[derive(Debug)]
struct Statement {
    deny: bool,
    /// `NotPrincipal` instead of `Principal`.
    not_principal: bool,
    everyone: bool,
    federated: Vec<String>,
    /// `NotAction` instead of `Action`.
    not_action: bool,
    actions: Vec<String>,
    conditions: Vec<Condition>,
}

#[derive(Debug)]
struct Condition {
    operator: String,
    key: String,
    values: Vec<String>,
}

fn malformed(message: impl Into<String>) -> AwsError {
    AwsError::malformed_policy(message.into())
}

/// A string or a non-empty array of strings (booleans and numbers count as their text).
fn string_list(value: &Value) -> Result<Vec<String>, AwsError> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(malformed("Syntax errors in policy.")),
    };
    match value {
        Value::Array(items) if items.is_empty() => Err(malformed("Syntax errors in policy.")),
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

fn parse_principal(value: &Value, statement: &mut Statement) -> Result<(), AwsError> {
    match value {
        Value::String(s) if s == "*" => statement.everyone = true,
        Value::Object(kinds) if !kinds.is_empty() => {
            for (kind, entries) in kinds {
                let entries = string_list(entries)?;
                match kind.as_str() {
                    "Federated" => {
                        if entries.iter().any(String::is_empty) {
                            return Err(malformed(
                                "Federated principals must be valid domain names or SAML metadata ARNs",
                            ));
                        }
                        statement.federated.extend(entries);
                    }
                    "AWS" => statement.everyone |= entries.iter().any(|e| e == "*"),
                    "Service" | "CanonicalUser" => {}
                    _ => {
                        return Err(malformed(format!(
                            "Invalid principal in policy: \"{kind}\":{value}"
                        )));
                    }
                }
            }
        }
        other => {
            return Err(malformed(format!("Invalid principal in policy: {other}")));
        }
    }
    Ok(())
}

fn parse_statement(value: &Value) -> Result<Statement, AwsError> {
    let Value::Object(fields) = value else {
        return Err(malformed("Syntax errors in policy."));
    };
    for name in fields.keys() {
        match name.as_str() {
            "Sid" | "Effect" | "Principal" | "NotPrincipal" | "Action" | "NotAction"
            | "Condition" => {}
            "Resource" | "NotResource" => {
                return Err(malformed(format!("Has prohibited field {name}")));
            }
            other => return Err(malformed(format!("Unknown field {other}"))),
        }
    }
    if fields.get("Sid").is_some_and(|s| !s.is_string()) {
        return Err(malformed("Syntax errors in policy."));
    }
    let deny = match fields.get("Effect") {
        None => return Err(malformed("Missing required field Effect")),
        Some(Value::String(e)) if e == "Allow" => false,
        Some(Value::String(e)) if e == "Deny" => true,
        Some(Value::String(e)) => return Err(malformed(format!("Invalid effect: {e}"))),
        Some(other) => return Err(malformed(format!("Invalid effect: {other}"))),
    };
    let mut statement = Statement {
        deny,
        not_principal: false,
        everyone: false,
        federated: Vec::new(),
        not_action: false,
        actions: Vec::new(),
        conditions: Vec::new(),
    };
    match (fields.get("Principal"), fields.get("NotPrincipal")) {
        (Some(p), None) => parse_principal(p, &mut statement)?,
        (None, Some(p)) => {
            statement.not_principal = true;
            parse_principal(p, &mut statement)?;
        }
        (Some(_), Some(_)) => return Err(malformed("Syntax errors in policy.")),
        (None, None) => return Err(malformed("Missing required field Principal")),
    }
    match (fields.get("Action"), fields.get("NotAction")) {
        (Some(a), None) => statement.actions = string_list(a)?,
        (None, Some(a)) => {
            statement.not_action = true;
            statement.actions = string_list(a)?;
        }
        (Some(_), Some(_)) => return Err(malformed("Syntax errors in policy.")),
        (None, None) => return Err(malformed("Missing required field Action")),
    }
    match fields.get("Condition") {
        None => {}
        Some(Value::Object(operators)) => {
            for (operator, keys) in operators {
                let Value::Object(keys) = keys else {
                    return Err(malformed("Syntax errors in policy."));
                };
                for (key, values) in keys {
                    statement.conditions.push(Condition {
                        operator: operator.clone(),
                        key: key.clone(),
                        values: string_list(values)?,
                    });
                }
            }
        }
        Some(_) => return Err(malformed("Syntax errors in policy.")),
    }
    Ok(statement)
}

fn parse(document: &str) -> Result<Vec<Statement>, AwsError> {
    let Ok(Value::Object(top)) = serde_json::from_str::<Value>(document) else {
        return Err(malformed("Syntax errors in policy."));
    };
    for name in top.keys() {
        if !matches!(name.as_str(), "Version" | "Id" | "Statement") {
            return Err(malformed(format!("Unknown field {name}")));
        }
    }
    match top.get("Version") {
        None => {}
        Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
        Some(_) => return Err(malformed("The policy failed legacy parsing")),
    }
    if top.get("Id").is_some_and(|i| !i.is_string()) {
        return Err(malformed("Syntax errors in policy."));
    }
    match top.get("Statement") {
        None => Err(malformed("Missing required field Statement")),
        Some(Value::Array(items)) if !items.is_empty() => {
            items.iter().map(parse_statement).collect()
        }
        Some(single @ Value::Object(_)) => Ok(vec![parse_statement(single)?]),
        Some(_) => Err(malformed("Syntax errors in policy.")),
    }
}

/// Validates a trust policy as IAM does on CreateRole / UpdateAssumeRolePolicy and returns
/// the OIDC provider ARNs its `Federated` principals name (IAM checks that they exist).
pub fn validate(document: &str) -> Result<Vec<String>, AwsError> {
    let statements = parse(document)?;
    let mut providers = Vec::new();
    for statement in &statements {
        if !statement.not_action {
            let sts_only = statement.actions.iter().all(|a| {
                let a = a.to_ascii_lowercase();
                a == "*" || a.starts_with("sts:")
            });
            if !sts_only {
                return Err(malformed(
                    "AssumeRole policy may only specify STS AssumeRole actions.",
                ));
            }
        }
        for arn in &statement.federated {
            if arn.contains(":oidc-provider/") {
                if !providers.contains(arn) {
                    providers.push(arn.clone());
                }
            } else if arn.starts_with("arn:") && !arn.contains(":saml-provider/") {
                return Err(malformed(
                    "Federated principals must be valid domain names or SAML metadata ARNs",
                ));
            }
        }
    }
    Ok(providers)
}

/// How one condition operator compares.
struct Operator<'a> {
    /// `ForAnyValue:` (`Some(true)`), `ForAllValues:` (`Some(false)`), or neither.
    for_any: Option<bool>,
    if_exists: bool,
    base: &'a str,
}

impl<'a> Operator<'a> {
    fn parse(name: &'a str) -> Operator<'a> {
        let (for_any, rest) = match name.split_once(':') {
            Some(("ForAnyValue", rest)) => (Some(true), rest),
            Some(("ForAllValues", rest)) => (Some(false), rest),
            _ => (None, name),
        };
        match rest.strip_suffix("IfExists") {
            Some(base) => Operator {
                for_any,
                if_exists: true,
                base,
            },
            None => Operator {
                for_any,
                if_exists: false,
                base: rest,
            },
        }
    }

    /// `Some(negated)` for the string operators, `None` for the unsupported ones.
    fn negated(&self) -> Option<bool> {
        match self.base {
            "StringEquals" | "StringEqualsIgnoreCase" | "StringLike" => Some(false),
            "StringNotEquals" | "StringNotEqualsIgnoreCase" | "StringNotLike" => Some(true),
            _ => None,
        }
    }

    fn one_matches(&self, policy: &str, request: &str) -> bool {
        match self.base {
            "StringEquals" | "StringNotEquals" => policy == request,
            "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => {
                policy.to_lowercase() == request.to_lowercase()
            }
            "StringLike" | "StringNotLike" => wildcard::matches(policy, request),
            _ => false,
        }
    }
}

impl Condition {
    fn holds(&self, request: Option<&str>) -> bool {
        let operator = Operator::parse(&self.operator);
        if operator.base == "Null" {
            if operator.if_exists {
                return false;
            }
            // `Null: true` = the key is absent, `false` = present.
            let absent = request.is_none();
            return self
                .values
                .iter()
                .any(|v| (v == "true" && absent) || (v == "false" && !absent));
        }
        let Some(negated) = operator.negated() else {
            return false;
        };
        let Some(value) = request else {
            return operator.if_exists
                || match operator.for_any {
                    Some(for_any) => !for_any,
                    None => negated,
                };
        };
        let any = self.values.iter().any(|p| operator.one_matches(p, value));
        any != negated
    }
}

impl Statement {
    fn principal_includes(&self, provider_arn: &str) -> bool {
        let named = self.everyone || self.federated.iter().any(|f| f == provider_arn);
        named != self.not_principal
    }

    fn action_covers(&self, action: &str) -> bool {
        let action = action.to_ascii_lowercase();
        let listed = self
            .actions
            .iter()
            .any(|a| wildcard::matches(&a.to_ascii_lowercase(), &action));
        listed != self.not_action
    }

    /// `Ok` when the statement applies to the request, else why not.
    fn applies(
        &self,
        provider_arn: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        if !self.principal_includes(provider_arn) {
            return Err(format!("the principal does not name {provider_arn}"));
        }
        if !self.action_covers(WEB_IDENTITY) {
            return Err(format!("the action does not cover {WEB_IDENTITY}"));
        }
        for condition in &self.conditions {
            let request = context
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&condition.key))
                .map(|(_, v)| v.as_str());
            if !condition.holds(request) {
                return Err(format!(
                    "{} {} {:?} does not hold for {request:?}",
                    condition.operator, condition.key, condition.values
                ));
            }
        }
        Ok(())
    }
}

/// STS's decision on one AssumeRoleWithWebIdentity: the role's trust policy evaluated for
/// the provider ARN with the request's condition keys (`<host[/path]>:sub|aud|amr`).
pub fn decide(
    document: &str,
    provider_arn: &str,
    context: &BTreeMap<String, String>,
) -> TrustDecision {
    let statements = match parse(document) {
        Ok(s) => s,
        Err(error) => {
            return TrustDecision {
                allowed: false,
                reason: format!("the stored trust policy does not parse: {}", error.message),
            };
        }
    };
    let mut allowed_by = None;
    let mut misses = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        match statement.applies(provider_arn, context) {
            Ok(()) if statement.deny => {
                return TrustDecision {
                    allowed: false,
                    reason: format!("explicitly denied by statement {index}"),
                };
            }
            Ok(()) => {
                allowed_by.get_or_insert(index);
            }
            Err(why) => misses.push(format!("statement {index}: {why}")),
        }
    }
    match allowed_by {
        Some(index) => TrustDecision {
            allowed: true,
            reason: format!("allowed by statement {index}"),
        },
        None => TrustDecision {
            allowed: false,
            reason: format!("implicit deny: {}", misses.join("; ")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/a.example";

    fn context(sub: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("a.example:sub".to_string(), sub.to_string()),
            ("a.example:aud".to_string(), "a.example".to_string()),
        ])
    }

    #[test]
    fn collects_oidc_principals_and_rejects_bad_json() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/a.example"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        assert_eq!(validate(doc).expect("valid"), vec![ARN.to_string()]);
        let err = validate("{not json").expect_err("invalid");
        assert_eq!(err.code, "MalformedPolicyDocument");
        let err = validate(&doc.replace("Allow", "Maybe")).expect_err("bad effect");
        assert_eq!(err.message, "Invalid effect: Maybe");
        let err = validate(&doc.replace("sts:AssumeRoleWithWebIdentity", "s3:GetObject"))
            .expect_err("non-STS action");
        assert_eq!(
            err.message,
            "AssumeRole policy may only specify STS AssumeRole actions."
        );
        let err = validate(&doc.replace(r#""Action""#, r#""Resource":"*","Action""#))
            .expect_err("resource");
        assert_eq!(err.message, "Has prohibited field Resource");
    }

    #[test]
    fn the_documented_example_and_explicit_deny() {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{ARN}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"a.example:aud":"a.example"}},"StringLike":{{"a.example:sub":["space:default:project:web:*","space:default:account:aws"]}}}}}},
            {{"Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{{"StringLike":{{"A.EXAMPLE:SUB":"*:environment:prod"}}}}}}]}}"#
        );
        assert!(decide(&doc, ARN, &context("space:default:account:aws")).allowed);
        assert!(
            decide(
                &doc,
                ARN,
                &context("space:default:project:web:environment:dev")
            )
            .allowed
        );
        assert!(
            !decide(
                &doc,
                ARN,
                &context("space:default:project:web:environment:prod")
            )
            .allowed
        );
        assert!(!decide(&doc, ARN, &context("space:default:account:AWS")).allowed);
        assert!(
            !decide(
                &doc,
                "arn:aws:iam::123456789012:oidc-provider/b",
                &context("space:default:account:aws")
            )
            .allowed
        );
    }

    #[test]
    fn missing_keys_follow_the_documented_rules() {
        let with = |operator: &str| {
            format!(
                r#"{{"Statement":{{"Effect":"Allow","Principal":{{"Federated":"{ARN}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"{operator}":{{"a.example:amr":"x"}}}}}}}}"#
            )
        };
        let expected = [
            ("StringEquals", false),
            ("StringNotEquals", true),
            ("StringLike", false),
            ("StringNotLike", true),
            ("StringEqualsIfExists", true),
            ("ForAllValues:StringEquals", true),
            ("ForAnyValue:StringEquals", false),
            ("NumericEquals", false),
        ];
        for (operator, allowed) in expected {
            assert_eq!(
                decide(&with(operator), ARN, &context("s")).allowed,
                allowed,
                "{operator}"
            );
        }
    }
}
