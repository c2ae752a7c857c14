//! The IAM role trust policy: parsed from JSON in every form IAM accepts, and evaluated for
//! `sts:AssumeRoleWithWebIdentity` the way IAM does.
//!
//! Parsing accepts: `Statement` as an object or an array; `Action`/`NotAction`, principal
//! lists and condition values as a string or an array (booleans and numbers are read as
//! strings, as IAM does); `Principal` as `"*"` or a map (`Federated`, `AWS`, `Service`,
//! `CanonicalUser`); `NotPrincipal`; `Effect` `Allow`/`Deny`. Errors read like IAM's
//! `MalformedPolicyDocument` messages.
//!
//! Evaluation: an explicit `Deny` wins; otherwise an `Allow` whose principal, action and
//! every condition match is needed. Condition operators are AND'd, condition keys within one
//! operator are AND'd, the values of one key are OR'd (negated operators: the value must
//! match none of them). Condition keys are case-insensitive, values case-sensitive except the
//! `IgnoreCase` operators. Supported operators: `StringEquals`, `StringNotEquals`,
//! `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`,
//! `Null`, each with `...IfExists` and the `ForAnyValue:` / `ForAllValues:` prefixes (web
//! identity keys are single-valued: a missing key is the empty set).
//!
//! Deliberately absent: policy variables (`${...}`), ARN/numeric/date/IP/Bool operators (they
//! parse, and a condition using them never matches, which is the safe side for an Allow and
//! is reported in the reason), `Resource` (a trust policy must not have one), and
//! multi-valued request keys.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::wildcard;

/// The action web-identity federation asks for.
pub const WEB_IDENTITY_ACTION: &str = "sts:AssumeRoleWithWebIdentity";

/// A trust policy that IAM would reject, with IAM's `MalformedPolicyDocument`-style message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// The message, e.g. `Has prohibited field Resource`.
    pub message: String,
}

impl PolicyError {
    /// The IAM error code this corresponds to.
    pub const CODE: &'static str = "MalformedPolicyDocument";

    fn new(message: impl Into<String>) -> Self {
        PolicyError {
            message: message.into(),
        }
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants when everything matches.
    Allow,
    /// Refuses when everything matches; wins over any `Allow`.
    Deny,
}

/// `Principal` or `NotPrincipal` of a statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals {
    /// `"*"` or `{"AWS":"*"}`: everyone.
    pub any: bool,
    /// `Federated` entries (OIDC provider ARNs, SAML providers, `cognito-identity.amazonaws.com`...).
    pub federated: Vec<String>,
    /// Other principal types (`AWS`, `Service`, `CanonicalUser`) by type; never match a web identity.
    pub other: BTreeMap<String, Vec<String>>,
}

impl Principals {
    fn contains_federated(&self, arn: &str) -> bool {
        self.any || self.federated.iter().any(|f| f == arn)
    }
}

/// Which principals a statement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    /// `Principal`: the statement applies to these.
    Principal(Principals),
    /// `NotPrincipal`: the statement applies to everyone except these.
    NotPrincipal(Principals),
}

/// `Action` or `NotAction` patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSpec {
    /// The statement covers these actions (wildcards allowed, case-insensitive).
    Action(Vec<String>),
    /// The statement covers every action except these.
    NotAction(Vec<String>),
}

impl ActionSpec {
    /// Whether the statement covers `action` (IAM action names are case-insensitive).
    pub fn covers(&self, action: &str) -> bool {
        let action = action.to_ascii_lowercase();
        let any = |list: &[String]| {
            list.iter()
                .any(|p| wildcard::matches(&p.to_ascii_lowercase(), &action))
        };
        match self {
            ActionSpec::Action(list) => any(list),
            ActionSpec::NotAction(list) => !any(list),
        }
    }
}

/// The string comparison at the heart of a condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionTest {
    /// `StringEquals`.
    StringEquals,
    /// `StringNotEquals`.
    StringNotEquals,
    /// `StringEqualsIgnoreCase`.
    StringEqualsIgnoreCase,
    /// `StringNotEqualsIgnoreCase`.
    StringNotEqualsIgnoreCase,
    /// `StringLike` (`*`, `?`).
    StringLike,
    /// `StringNotLike`.
    StringNotLike,
    /// `Null`: `"true"` = the key is absent, `"false"` = present.
    Null,
    /// Any operator this evaluator does not implement: never matches.
    Unsupported,
}

impl ConditionTest {
    fn negated(self) -> bool {
        matches!(
            self,
            ConditionTest::StringNotEquals
                | ConditionTest::StringNotEqualsIgnoreCase
                | ConditionTest::StringNotLike
        )
    }

    /// The positive comparison of one policy value with the request value.
    fn compare(self, policy_value: &str, request_value: &str) -> bool {
        match self {
            ConditionTest::StringEquals | ConditionTest::StringNotEquals => {
                policy_value == request_value
            }
            ConditionTest::StringEqualsIgnoreCase | ConditionTest::StringNotEqualsIgnoreCase => {
                policy_value.eq_ignore_ascii_case(request_value)
                    || (!policy_value.is_ascii()
                        && policy_value.to_lowercase() == request_value.to_lowercase())
            }
            ConditionTest::StringLike | ConditionTest::StringNotLike => {
                wildcard::matches(policy_value, request_value)
            }
            ConditionTest::Null | ConditionTest::Unsupported => false,
        }
    }
}

/// `ForAnyValue:` / `ForAllValues:` set qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// No prefix: single-valued semantics.
    Single,
    /// `ForAnyValue:`: some request value matches (false for an absent key).
    ForAnyValue,
    /// `ForAllValues:`: every request value matches (true for an absent key).
    ForAllValues,
}

/// A parsed condition operator such as `ForAnyValue:StringLikeIfExists`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionOperator {
    /// The operator exactly as written.
    pub name: String,
    /// Set qualifier.
    pub qualifier: SetQualifier,
    /// The comparison.
    pub test: ConditionTest,
    /// `...IfExists`: an absent key satisfies the condition.
    pub if_exists: bool,
}

impl ConditionOperator {
    /// Parses an operator name; unknown names parse as [`ConditionTest::Unsupported`].
    pub fn parse(name: &str) -> ConditionOperator {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else {
            (SetQualifier::Single, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (rest, false),
        };
        let test = match base {
            "StringEquals" => ConditionTest::StringEquals,
            "StringNotEquals" => ConditionTest::StringNotEquals,
            "StringEqualsIgnoreCase" => ConditionTest::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => ConditionTest::StringNotEqualsIgnoreCase,
            "StringLike" => ConditionTest::StringLike,
            "StringNotLike" => ConditionTest::StringNotLike,
            "Null" if !if_exists => ConditionTest::Null,
            _ => ConditionTest::Unsupported,
        };
        ConditionOperator {
            name: name.to_string(),
            qualifier,
            test,
            if_exists,
        }
    }

    /// Evaluates against the request's value of the key (`None` = absent).
    pub fn evaluate(&self, values: &[String], request: Option<&str>) -> bool {
        self.evaluate_by(values, request, |v| {
            values.iter().any(|p| self.test.compare(p, v))
        })
    }

    /// [`Self::evaluate`] with `any_match(v)` = "some policy value matches the request value".
    fn evaluate_by(
        &self,
        values: &[String],
        request: Option<&str>,
        any_match: impl Fn(&str) -> bool,
    ) -> bool {
        if self.test == ConditionTest::Unsupported {
            return false;
        }
        if self.test == ConditionTest::Null {
            let absent = request.is_none();
            return values
                .iter()
                .any(|v| (v == "true" && absent) || (v == "false" && !absent));
        }
        let Some(v) = request else {
            if self.if_exists {
                return true;
            }
            return match self.qualifier {
                SetQualifier::ForAllValues => true,
                SetQualifier::ForAnyValue => false,
                // AWS: a missing key fails positive operators and satisfies negated ones.
                SetQualifier::Single => self.test.negated(),
            };
        };
        let any = any_match(v);
        if self.test.negated() { !any } else { any }
    }
}

/// One condition: operator, key, and the values it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator.
    pub operator: ConditionOperator,
    /// The condition key as written (matched case-insensitively), e.g. `example.octopus.app:sub`.
    pub key: String,
    /// The values (OR'd).
    pub values: Vec<String>,
    /// Per value: byte length of the literal text before the first wildcard.
    literal_prefix: Vec<usize>,
}

impl Condition {
    /// Builds a condition (precomputes the literal prefixes of `StringLike` patterns).
    pub fn new(operator: ConditionOperator, key: String, values: Vec<String>) -> Condition {
        let literal_prefix = values
            .iter()
            .map(|v| v.find(['*', '?']).unwrap_or(v.len()))
            .collect();
        Condition {
            operator,
            key,
            values,
            literal_prefix,
        }
    }

    /// Evaluates the condition against the request's value of its key (`None` = absent).
    pub fn evaluate(&self, request: Option<&str>) -> bool {
        match self.operator.test {
            ConditionTest::StringLike | ConditionTest::StringNotLike => {
                self.operator.evaluate_by(&self.values, request, |v| {
                    self.values
                        .iter()
                        .zip(&self.literal_prefix)
                        .any(|(p, &n)| like_with_prefix(p, n, v))
                })
            }
            _ => self.operator.evaluate(&self.values, request),
        }
    }
}

/// `StringLike` with the literal prefix (`n` bytes, up to the first wildcard) compared first.
fn like_with_prefix(pattern: &str, n: usize, value: &str) -> bool {
    let (p, v) = (pattern.as_bytes(), value.as_bytes());
    if v.len() < n || p[..n] != v[..n] {
        return false;
    }
    if n == p.len() {
        return v.len() == n;
    }
    // `pattern[n]` is an ASCII wildcard and `value[..n]` equals `pattern[..n]`, so both
    // slices start on a character boundary.
    wildcard::matches(&pattern[n..], &value[n..])
}

/// One statement of a trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `Sid`, if any.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// `Principal` / `NotPrincipal`.
    pub principal: PrincipalSpec,
    /// `Action` / `NotAction`.
    pub action: ActionSpec,
    /// Every condition (AND'd).
    pub conditions: Vec<Condition>,
    /// Precomputed: whether `action` covers `sts:AssumeRoleWithWebIdentity`.
    covers_web_identity: bool,
}

impl Statement {
    fn principal_matches(&self, federated_arn: &str) -> bool {
        match &self.principal {
            PrincipalSpec::Principal(p) => p.contains_federated(federated_arn),
            PrincipalSpec::NotPrincipal(p) => !p.contains_federated(federated_arn),
        }
    }

    fn label(&self, index: usize) -> String {
        match &self.sid {
            Some(sid) => format!("statement {index} ({sid})"),
            None => format!("statement {index}"),
        }
    }

    /// Whether the statement applies; `Err` says why not.
    fn applies<'c>(
        &self,
        federated_arn: &str,
        lookup: &impl Fn(&str) -> Option<&'c str>,
    ) -> Result<(), String> {
        if !self.principal_matches(federated_arn) {
            return Err(format!("principal does not include {federated_arn}"));
        }
        if !self.covers_web_identity {
            return Err(format!("action does not cover {WEB_IDENTITY_ACTION}"));
        }
        for c in &self.conditions {
            let request = lookup(&c.key);
            if !c.evaluate(request) {
                let got = match request {
                    Some(v) => format!("'{v}'"),
                    None => "absent".to_string(),
                };
                let note = if c.operator.test == ConditionTest::Unsupported {
                    " (operator not supported by this evaluator, treated as not matching)"
                } else {
                    ""
                };
                return Err(format!(
                    "condition {} on {} {:?} not satisfied by {got}{note}",
                    c.operator.name, c.key, c.values
                ));
            }
        }
        Ok(())
    }

    fn applies_fast<'c>(
        &self,
        federated_arn: &str,
        lookup: &impl Fn(&str) -> Option<&'c str>,
    ) -> bool {
        self.covers_web_identity
            && self.principal_matches(federated_arn)
            && self.conditions.iter().all(|c| c.evaluate(lookup(&c.key)))
    }
}

/// IAM's answer to one `AssumeRoleWithWebIdentity` request against the trust policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrustDecision {
    /// Whether the trust policy lets the token in.
    pub allowed: bool,
    /// Which statement decided, or why none allowed.
    pub reason: String,
}

/// A role trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    /// `Version` (`2012-10-17` or `2008-10-17`), if given.
    pub version: Option<String>,
    /// `Id`, if given.
    pub id: Option<String>,
    /// The statements, in order.
    pub statements: Vec<Statement>,
}

/// An optional string member of a policy object (`Sid`, `Id`): absent is `None`, anything
/// but a string is IAM's syntax error.
fn optional_string(
    map: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<String>, PolicyError> {
    match map.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PolicyError::new(format!(
            "Syntax errors in policy: {field} must be a string"
        ))),
    }
}

fn strings(field: &str, v: &Value) -> Result<Vec<String>, PolicyError> {
    fn one(field: &str, v: &Value) -> Result<String, PolicyError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(PolicyError::new(format!(
                "Syntax errors in policy: {field} must be a string or an array of strings"
            ))),
        }
    }
    match v {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(PolicyError::new(format!(
                    "Syntax errors in policy: {field} must not be empty"
                )));
            }
            items.iter().map(|i| one(field, i)).collect()
        }
        other => Ok(vec![one(field, other)?]),
    }
}

fn parse_principals(field: &str, v: &Value) -> Result<Principals, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(Principals {
            any: true,
            ..Default::default()
        }),
        Value::Object(map) => {
            let mut p = Principals::default();
            if map.is_empty() {
                return Err(PolicyError::new(format!(
                    "Invalid principal in policy: {field} is empty"
                )));
            }
            for (kind, value) in map {
                let list = strings(&format!("{field}.{kind}"), value)?;
                match kind.as_str() {
                    "Federated" => {
                        for f in &list {
                            if f.is_empty() {
                                return Err(PolicyError::new(
                                    "Federated principals must be valid domain names or SAML metadata ARNs",
                                ));
                            }
                        }
                        p.federated.extend(list);
                    }
                    "AWS" | "Service" | "CanonicalUser" => {
                        if kind == "AWS" && list.iter().any(|a| a == "*") {
                            p.any = true;
                        }
                        p.other.entry(kind.clone()).or_default().extend(list);
                    }
                    _ => {
                        return Err(PolicyError::new(format!(
                            "Invalid principal in policy: \"{kind}\":{value}"
                        )));
                    }
                }
            }
            Ok(p)
        }
        other => Err(PolicyError::new(format!(
            "Invalid principal in policy: {other}"
        ))),
    }
}

fn parse_statement(index: usize, v: &Value) -> Result<Statement, PolicyError> {
    let Value::Object(map) = v else {
        return Err(PolicyError::new(
            "Syntax errors in policy: a statement must be an object",
        ));
    };
    for key in map.keys() {
        match key.as_str() {
            "Sid" | "Effect" | "Principal" | "NotPrincipal" | "Action" | "NotAction"
            | "Condition" => {}
            "Resource" | "NotResource" => {
                return Err(PolicyError::new(format!("Has prohibited field {key}")));
            }
            other => return Err(PolicyError::new(format!("Unknown field {other}"))),
        }
    }
    let sid = optional_string(map, "Sid")?;
    let effect = match map.get("Effect") {
        None => return Err(PolicyError::new("Missing required field Effect")),
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(other) => {
            let shown = other
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| other.to_string());
            return Err(PolicyError::new(format!("Invalid effect: {shown}")));
        }
    };
    let principal = match (map.get("Principal"), map.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(PolicyError::new(
                "Syntax errors in policy: a statement cannot have both Principal and NotPrincipal",
            ));
        }
        (Some(p), None) => PrincipalSpec::Principal(parse_principals("Principal", p)?),
        (None, Some(p)) => PrincipalSpec::NotPrincipal(parse_principals("NotPrincipal", p)?),
        (None, None) => return Err(PolicyError::new("Missing required field Principal")),
    };
    let action = match (map.get("Action"), map.get("NotAction")) {
        (Some(_), Some(_)) => {
            return Err(PolicyError::new(
                "Syntax errors in policy: a statement cannot have both Action and NotAction",
            ));
        }
        (Some(a), None) => ActionSpec::Action(strings("Action", a)?),
        (None, Some(a)) => ActionSpec::NotAction(strings("NotAction", a)?),
        (None, None) => return Err(PolicyError::new("Missing required field Action")),
    };
    let mut conditions = Vec::new();
    match map.get("Condition") {
        None => {}
        Some(Value::Object(ops)) => {
            for (op, body) in ops {
                let Value::Object(keys) = body else {
                    return Err(PolicyError::new(format!(
                        "Syntax errors in policy: Condition {op} must map condition keys to values"
                    )));
                };
                let operator = ConditionOperator::parse(op);
                for (key, values) in keys {
                    conditions.push(Condition::new(
                        operator.clone(),
                        key.clone(),
                        strings(&format!("Condition.{op}.{key}"), values)?,
                    ));
                }
            }
        }
        Some(_) => {
            return Err(PolicyError::new(format!(
                "Syntax errors in policy: Condition of statement {index} must be an object"
            )));
        }
    }
    let covers_web_identity = action.covers(WEB_IDENTITY_ACTION);
    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        conditions,
        covers_web_identity,
    })
}

impl TrustPolicy {
    /// Parses a trust policy document (minified or not; URL-decode `GetRole` output first).
    pub fn parse(json: &str) -> Result<TrustPolicy, PolicyError> {
        let doc: Value =
            serde_json::from_str(json).map_err(|_| PolicyError::new("Syntax errors in policy."))?;
        let Value::Object(map) = doc else {
            return Err(PolicyError::new(
                "Syntax errors in policy: the document must be a JSON object",
            ));
        };
        for key in map.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(PolicyError::new(format!("Unknown field {key}")));
            }
        }
        let version = match map.get("Version") {
            None => None,
            Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => Some(v.clone()),
            Some(_) => return Err(PolicyError::new("The policy failed legacy parsing")),
        };
        let id = optional_string(&map, "Id")?;
        let statements = match map.get("Statement") {
            None => return Err(PolicyError::new("Missing required field Statement")),
            Some(Value::Array(items)) => {
                if items.is_empty() {
                    return Err(PolicyError::new(
                        "Syntax errors in policy: Statement must not be empty",
                    ));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, s)| parse_statement(i, s))
                    .collect::<Result<Vec<_>, _>>()?
            }
            Some(single @ Value::Object(_)) => vec![parse_statement(0, single)?],
            Some(_) => {
                return Err(PolicyError::new(
                    "Syntax errors in policy: Statement must be an object or an array",
                ));
            }
        };
        Ok(TrustPolicy {
            version,
            id,
            statements,
        })
    }

    /// Decides an `AssumeRoleWithWebIdentity` by the OIDC provider `federated_principal_arn`,
    /// with the request's condition keys (e.g. `example.octopus.app:sub`,
    /// `example.octopus.app:aud`; looked up case-insensitively).
    pub fn evaluate_web_identity(
        &self,
        federated_principal_arn: &str,
        context: &BTreeMap<String, String>,
    ) -> TrustDecision {
        let lookup = |key: &str| -> Option<&str> {
            context
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        self.evaluate_with(federated_principal_arn, &lookup)
    }

    /// [`Self::evaluate_web_identity`] over any key lookup.
    pub fn evaluate_with<'c>(
        &self,
        federated_principal_arn: &str,
        lookup: &impl Fn(&str) -> Option<&'c str>,
    ) -> TrustDecision {
        let mut allowed_by: Option<String> = None;
        let mut misses: Vec<String> = Vec::new();
        for (i, s) in self.statements.iter().enumerate() {
            match (s.effect, s.applies(federated_principal_arn, lookup)) {
                (Effect::Deny, Ok(())) => {
                    return TrustDecision {
                        allowed: false,
                        reason: format!("explicitly denied by {}", s.label(i)),
                    };
                }
                (Effect::Allow, Ok(())) => {
                    if allowed_by.is_none() {
                        allowed_by = Some(s.label(i));
                    }
                }
                (Effect::Allow, Err(why)) => misses.push(format!("{}: {why}", s.label(i))),
                (Effect::Deny, Err(_)) => {}
            }
        }
        match allowed_by {
            Some(label) => TrustDecision {
                allowed: true,
                reason: format!("allowed by {label}"),
            },
            None if misses.is_empty() => TrustDecision {
                allowed: false,
                reason: "no Allow statement in the trust policy (implicit deny)".into(),
            },
            None => TrustDecision {
                allowed: false,
                reason: format!(
                    "no statement allows it (implicit deny): {}",
                    misses.join("; ")
                ),
            },
        }
    }

    /// Specialises the policy for one principal and fixed values of every condition key except
    /// `variable_key` (e.g. fixed `aud`, varying `sub`): statements that cannot apply are
    /// dropped, and only the conditions on `variable_key` remain to be checked per value.
    pub fn specialize<'c>(
        &self,
        federated_principal_arn: &str,
        variable_key: &str,
        fixed: &impl Fn(&str) -> Option<&'c str>,
    ) -> SpecializedPolicy<'_> {
        let statements = self
            .statements
            .iter()
            .filter(|s| {
                s.covers_web_identity
                    && s.principal_matches(federated_principal_arn)
                    && s.conditions
                        .iter()
                        .filter(|c| !c.key.eq_ignore_ascii_case(variable_key))
                        .all(|c| c.evaluate(fixed(&c.key)))
            })
            .map(|s| {
                (
                    s.effect,
                    s.conditions
                        .iter()
                        .filter(|c| c.key.eq_ignore_ascii_case(variable_key))
                        .collect(),
                )
            })
            .collect();
        SpecializedPolicy { statements }
    }

    /// The same decision as [`Self::evaluate_with`] without building a reason (no allocation;
    /// the simulator's hot path).
    pub fn allows<'c>(
        &self,
        federated_principal_arn: &str,
        lookup: &impl Fn(&str) -> Option<&'c str>,
    ) -> bool {
        let mut allowed = false;
        for s in &self.statements {
            if s.applies_fast(federated_principal_arn, lookup) {
                match s.effect {
                    Effect::Deny => return false,
                    Effect::Allow => allowed = true,
                }
            }
        }
        allowed
    }
}

/// A trust policy specialised by [`TrustPolicy::specialize`]: decides one varying key's value.
#[derive(Debug, Clone)]
pub struct SpecializedPolicy<'a> {
    statements: Vec<(Effect, Vec<&'a Condition>)>,
}

impl SpecializedPolicy<'_> {
    /// The decision for this value of the variable key (explicit deny wins).
    pub fn allows(&self, value: &str) -> bool {
        let mut allowed = false;
        for (effect, conditions) in &self.statements {
            if conditions.iter().all(|c| c.evaluate(Some(value))) {
                match effect {
                    Effect::Deny => return false,
                    Effect::Allow => allowed = true,
                }
            }
        }
        allowed
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:iam::111122223333:oidc-provider/example.octopus.app";

    fn ctx(sub: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("example.octopus.app:sub".to_string(), sub.to_string()),
            (
                "example.octopus.app:aud".to_string(),
                "example.octopus.app".to_string(),
            ),
        ])
    }

    const REFERENCE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/example.octopus.app"},
      "Action":"sts:AssumeRoleWithWebIdentity",
      "Condition":{
        "StringEquals":{"example.octopus.app:aud":"example.octopus.app"},
        "StringLike":{"example.octopus.app:sub":[
          "space:default:project:my-project:*",
          "space:default:account:my-aws-account"]}}}]}"#;

    #[test]
    fn reference_policy_allows_pattern_and_account_test() {
        let p = TrustPolicy::parse(REFERENCE).unwrap();
        assert!(
            p.evaluate_web_identity(
                ARN,
                &ctx("space:default:project:my-project:environment:dev")
            )
            .allowed
        );
        assert!(
            p.evaluate_web_identity(ARN, &ctx("space:default:account:my-aws-account"))
                .allowed
        );
        let d = p.evaluate_web_identity(ARN, &ctx("space:default:project:other:environment:dev"));
        assert!(!d.allowed);
        assert!(d.reason.contains("StringLike"), "{}", d.reason);
        // Case-sensitive values.
        assert!(
            !p.evaluate_web_identity(ARN, &ctx("space:Default:account:my-aws-account"))
                .allowed
        );
        // Wrong provider.
        let other = "arn:aws:iam::111122223333:oidc-provider/other.octopus.app";
        assert!(
            !p.evaluate_web_identity(other, &ctx("space:default:account:my-aws-account"))
                .allowed
        );
    }

    #[test]
    fn aud_condition_is_anded_with_sub() {
        let p = TrustPolicy::parse(REFERENCE).unwrap();
        let mut c = ctx("space:default:account:my-aws-account");
        c.insert("example.octopus.app:aud".into(), "sts.amazonaws.com".into());
        assert!(!p.evaluate_web_identity(ARN, &c).allowed);
    }

    #[test]
    fn condition_keys_are_case_insensitive() {
        let p = TrustPolicy::parse(REFERENCE).unwrap();
        let c = BTreeMap::from([
            (
                "Example.Octopus.App:SUB".to_string(),
                "space:default:account:my-aws-account".to_string(),
            ),
            (
                "example.octopus.app:Aud".to_string(),
                "example.octopus.app".to_string(),
            ),
        ]);
        assert!(p.evaluate_web_identity(ARN, &c).allowed);
    }

    #[test]
    fn accepts_every_shape_iam_accepts() {
        let single = r#"{"Statement":{"Effect":"Allow","Principal":{"Federated":["arn:aws:iam::111122223333:oidc-provider/example.octopus.app"]},
            "Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],
            "Condition":{"StringEquals":{"example.octopus.app:sub":"space:default:account:a"}}}}"#;
        let p = TrustPolicy::parse(single).unwrap();
        assert!(
            p.evaluate_web_identity(ARN, &ctx("space:default:account:a"))
                .allowed
        );
        for action in [
            "sts:*",
            "*",
            "STS:assumerolewithwebidentity",
            "sts:AssumeRole*",
        ] {
            let doc = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{ARN}"}},"Action":"{action}"}}]}}"#
            );
            let p = TrustPolicy::parse(&doc).unwrap();
            assert!(p.evaluate_web_identity(ARN, &ctx("x")).allowed, "{action}");
        }
        let doc = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{ARN}"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        assert!(
            !TrustPolicy::parse(&doc)
                .unwrap()
                .evaluate_web_identity(ARN, &ctx("x"))
                .allowed
        );
        let doc = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{ARN}"}},"NotAction":"sts:AssumeRole"}}]}}"#
        );
        assert!(
            TrustPolicy::parse(&doc)
                .unwrap()
                .evaluate_web_identity(ARN, &ctx("x"))
                .allowed
        );
        let doc = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        assert!(
            TrustPolicy::parse(doc)
                .unwrap()
                .evaluate_web_identity(ARN, &ctx("x"))
                .allowed
        );
    }

    #[test]
    fn explicit_deny_wins() {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Principal":{{"Federated":"{ARN}"}},"Action":"sts:AssumeRoleWithWebIdentity",
              "Condition":{{"StringLike":{{"example.octopus.app:sub":"space:default:*"}}}}}},
            {{"Sid":"NoProd","Effect":"Deny","Principal":{{"Federated":"{ARN}"}},"Action":"sts:*",
              "Condition":{{"StringLike":{{"example.octopus.app:sub":"*:environment:production*"}}}}}}]}}"#
        );
        let p = TrustPolicy::parse(&doc).unwrap();
        assert!(
            p.evaluate_web_identity(ARN, &ctx("space:default:project:a:environment:dev"))
                .allowed
        );
        let d =
            p.evaluate_web_identity(ARN, &ctx("space:default:project:a:environment:production"));
        assert!(!d.allowed);
        assert_eq!(d.reason, "explicitly denied by statement 1 (NoProd)");
    }

    fn op(name: &str, values: &[&str], request: Option<&str>) -> bool {
        let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        ConditionOperator::parse(name).evaluate(&values, request)
    }

    #[test]
    fn operator_semantics() {
        assert!(op("StringEquals", &["a", "b"], Some("b")));
        assert!(!op("StringEquals", &["a", "b"], None));
        assert!(op("StringNotEquals", &["a", "b"], Some("c")));
        assert!(!op("StringNotEquals", &["a", "b"], Some("a")));
        assert!(op("StringNotEquals", &["a"], None));
        assert!(op("StringEqualsIgnoreCase", &["Space:A"], Some("space:a")));
        assert!(!op(
            "StringNotEqualsIgnoreCase",
            &["Space:A"],
            Some("space:a")
        ));
        assert!(op("StringLike", &["x", "space:*"], Some("space:a:b")));
        assert!(!op("StringLike", &["space:?"], Some("space:ab")));
        assert!(op("StringNotLike", &["prod*"], Some("dev")));
        assert!(!op("StringNotLike", &["prod*"], Some("production")));
        assert!(op("StringLikeIfExists", &["a"], None));
        assert!(!op("StringLikeIfExists", &["a"], Some("b")));
        assert!(op("ForAllValues:StringEquals", &["a"], None));
        assert!(!op("ForAnyValue:StringEquals", &["a"], None));
        assert!(op("ForAnyValue:StringLike", &["a*"], Some("ab")));
        assert!(!op("ForAllValues:StringEquals", &["a"], Some("b")));
        assert!(op("Null", &["true"], None));
        assert!(!op("Null", &["true"], Some("x")));
        assert!(op("Null", &["false"], Some("x")));
        assert!(!op("ArnLike", &["*"], Some("x")));
        assert!(!op("NumericEquals", &["1"], Some("1")));
    }

    #[test]
    fn malformed_documents_get_iam_messages() {
        let cases = [
            ("{not json", "Syntax errors in policy."),
            (
                r#"{"Version":"2012-10-17"}"#,
                "Missing required field Statement",
            ),
            (
                r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"sts:*"}]}"#,
                "Invalid effect: Maybe",
            ),
            (
                r#"{"Statement":[{"Principal":"*","Action":"sts:*"}]}"#,
                "Missing required field Effect",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"sts:*"}]}"#,
                "Missing required field Principal",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*"}]}"#,
                "Missing required field Action",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*","Resource":"*"}]}"#,
                "Has prohibited field Resource",
            ),
            (
                r#"{"Version":"2020-01-01","Statement":[]}"#,
                "The policy failed legacy parsing",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":{"Federated":""},"Action":"sts:*"}]}"#,
                "Federated principals must be valid domain names or SAML metadata ARNs",
            ),
        ];
        for (doc, msg) in cases {
            assert_eq!(TrustPolicy::parse(doc).unwrap_err().message, msg, "{doc}");
        }
    }

    #[test]
    fn fast_path_agrees_with_reasoned_path() {
        let p = TrustPolicy::parse(REFERENCE).unwrap();
        for sub in [
            "space:default:account:my-aws-account",
            "space:default:project:my-project:x",
            "nope",
        ] {
            let c = ctx(sub);
            let lookup = |k: &str| {
                c.iter()
                    .find(|(ck, _)| ck.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v.as_str())
            };
            assert_eq!(
                p.allows(ARN, &lookup),
                p.evaluate_web_identity(ARN, &c).allowed,
                "{sub}"
            );
            let aud = |k: &str| (k == "example.octopus.app:aud").then_some("example.octopus.app");
            let special = p.specialize(ARN, "example.octopus.app:sub", &aud);
            assert_eq!(
                special.allows(sub),
                p.evaluate_web_identity(ARN, &c).allowed,
                "{sub}"
            );
        }
    }
}
