//! [`FakeIam`]: the [`Iam`] port in memory — OIDC providers by URL (ARNs assigned, tags
//! written on create only, client ids added, thumbprints replaced), roles by name (ARNs
//! assigned, tags on create, trust policy compared as JSON, managed policies attached,
//! inline policies put; policies the spec does not name are kept), and
//! `AssumeRoleWithWebIdentity` judged by the role's trust policy.
//!
//! The trust check understands what trust policies for OIDC use: `Allow` statements for
//! `sts:AssumeRoleWithWebIdentity` whose `Federated` principal is an existing provider for
//! the token's issuer, with `StringEquals` / `StringLike` conditions on `<provider>:aud` and
//! `<provider>:sub` (any listed value may match). Any other condition operator or key makes
//! the statement not match, so the fake denies rather than guesses.

use std::sync::{Arc, Mutex};

use octo_oidc_core::ports::{
    Applied, AssumedRole, Iam, IamRole, OidcProvider, OidcProviderSpec, PortResult, RoleSpec,
};
use octo_oidc_core::{ErrorCode, Problem, Secret};
use serde_json::Value;

use super::{Recorder, audiences, claims, matches_pattern, remove_where, strings, updated_if};

const OPERATIONS: &[&str] = &[
    "simulate_principal_policy",
    "caller_identity",
    "find_oidc_provider",
    "ensure_oidc_provider",
    "delete_oidc_provider",
    "find_role",
    "ensure_role",
    "delete_role",
    "assume_role_with_web_identity",
    "roles_trusting_provider",
];

#[derive(Debug)]
struct State {
    account: String,
    providers: Vec<OidcProvider>,
    roles: Vec<IamRole>,
    /// Actions `simulate_principal_policy` answers `implicitDeny` for (lower case).
    denied_actions: std::collections::BTreeSet<String>,
}

super::recorded_fake!(
    /// The IAM/STS port in memory.
    FakeIam
);

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn denied(why: &str) -> Problem {
    Problem::new(
        ErrorCode::PermissionDenied,
        format!("AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity ({why})"),
    )
}

fn invalid_token(why: &str) -> Problem {
    Problem::new(
        ErrorCode::TrustRejected,
        format!("InvalidIdentityToken: {why}"),
    )
}

/// Whether one trust-policy statement lets a token with these claims in through `provider`.
fn statement_allows(statement: &Value, provider: &OidcProvider, claims: &Value) -> bool {
    let key = provider.url.trim_start_matches("https://");
    let federated = strings(&statement["Principal"]["Federated"]);
    let actions = strings(&statement["Action"]);
    if statement["Effect"] != "Allow"
        || !federated.contains(&provider.arn)
        || !actions
            .iter()
            .any(|a| a == "sts:AssumeRoleWithWebIdentity" || a == "sts:*")
    {
        return false;
    }
    let claim = |name: &str| -> Vec<String> {
        match name {
            "aud" => audiences(claims),
            "sub" => strings(&claims["sub"]),
            _ => Vec::new(),
        }
    };
    let Some(conditions) = statement["Condition"].as_object() else {
        return true;
    };
    conditions.iter().all(|(operator, tests)| {
        let Some(tests) = tests.as_object() else {
            return false;
        };
        tests.iter().all(|(condition_key, wanted)| {
            let Some(name) = condition_key.strip_prefix(&format!("{key}:")) else {
                return false;
            };
            let actual = claim(name);
            let wanted = strings(wanted);
            match operator.as_str() {
                "StringEquals" => actual.iter().any(|a| wanted.contains(a)),
                "StringLike" => actual
                    .iter()
                    .any(|a| wanted.iter().any(|w| matches_pattern(w, a))),
                _ => false,
            }
        })
    })
}

impl FakeIam {
    /// Account `123456789012`, no providers or roles.
    pub fn new() -> FakeIam {
        FakeIam {
            state: Arc::new(Mutex::new(State {
                account: "123456789012".into(),
                providers: Vec::new(),
                roles: Vec::new(),
                denied_actions: Default::default(),
            })),
            recorder: Recorder::new("FakeIam", OPERATIONS),
        }
    }

    /// The account id ARNs are made in.
    pub fn account(&self) -> String {
        self.state.lock().unwrap().account.clone()
    }

    /// Adds a role someone else made (untagged unless the spec says otherwise).
    pub fn add_role(&self, spec: &RoleSpec) -> IamRole {
        let mut state = self.state.lock().unwrap();
        let role = IamRole {
            arn: format!("arn:aws:iam::{}:role/{}", state.account, spec.name),
            name: spec.name.clone(),
            trust_policy: spec.trust_policy.clone(),
            max_session_duration: spec.max_session_duration,
            description: spec.description.clone(),
            tags: spec.tags.clone(),
            managed_policy_arns: spec.managed_policy_arns.clone(),
            inline_policies: spec.inline_policies.clone(),
        };
        state.roles.push(role.clone());
        role
    }

    /// Every role, in creation order.
    pub fn roles(&self) -> Vec<IamRole> {
        self.state.lock().unwrap().roles.clone()
    }

    /// Every provider, in creation order.
    pub fn providers(&self) -> Vec<OidcProvider> {
        self.state.lock().unwrap().providers.clone()
    }

    fn apply_provider(&self, spec: &OidcProviderSpec) -> PortResult<(Applied<OidcProvider>, bool)> {
        let Some(key) = spec.url.strip_prefix("https://").filter(|k| !k.is_empty()) else {
            return Err(Problem::new(
                ErrorCode::InvalidInput,
                format!("'{}' does not start with https://", spec.url),
            ));
        };
        let mut state = self.state.lock().unwrap();
        let account = state.account.clone();
        match state.providers.iter_mut().find(|p| p.url == spec.url) {
            None => {
                let provider = OidcProvider {
                    arn: format!("arn:aws:iam::{account}:oidc-provider/{key}"),
                    url: spec.url.clone(),
                    client_ids: spec.client_ids.clone(),
                    thumbprints: spec.thumbprints.clone(),
                    tags: spec.tags.clone(),
                };
                state.providers.push(provider.clone());
                Ok((Applied::Created(provider), true))
            }
            Some(existing) => {
                let mut changed = false;
                for id in &spec.client_ids {
                    if !existing.client_ids.contains(id) {
                        existing.client_ids.push(id.clone());
                        changed = true;
                    }
                }
                if !spec.thumbprints.is_empty() && spec.thumbprints != existing.thumbprints {
                    existing.thumbprints = spec.thumbprints.clone();
                    changed = true;
                }
                Ok(updated_if(changed, existing.clone()))
            }
        }
    }

    fn apply_role(&self, spec: &RoleSpec) -> PortResult<(Applied<IamRole>, bool)> {
        if serde_json::from_str::<Value>(&spec.trust_policy).is_err() {
            return Err(Problem::new(
                ErrorCode::InvalidInput,
                "MalformedPolicyDocument: the trust policy is not JSON",
            ));
        }
        if !(3600..=43_200).contains(&spec.max_session_duration) {
            return Err(Problem::new(
                ErrorCode::InvalidInput,
                "MaxSessionDuration must be between 3600 and 43200 seconds",
            ));
        }
        let existing = {
            let state = self.state.lock().unwrap();
            state.roles.iter().any(|r| r.name == spec.name)
        };
        if !existing {
            return Ok((Applied::Created(self.add_role(spec)), true));
        }
        let mut state = self.state.lock().unwrap();
        let role = state
            .roles
            .iter_mut()
            .find(|r| r.name == spec.name)
            .expect("checked above");
        let mut changed = false;
        if !same_json(&role.trust_policy, &spec.trust_policy) {
            role.trust_policy = spec.trust_policy.clone();
            changed = true;
        }
        if role.max_session_duration != spec.max_session_duration {
            role.max_session_duration = spec.max_session_duration;
            changed = true;
        }
        for arn in &spec.managed_policy_arns {
            if !role.managed_policy_arns.contains(arn) {
                role.managed_policy_arns.push(arn.clone());
                changed = true;
            }
        }
        for (name, document) in &spec.inline_policies {
            if !role
                .inline_policies
                .get(name)
                .is_some_and(|d| same_json(d, document))
            {
                role.inline_policies.insert(name.clone(), document.clone());
                changed = true;
            }
        }
        Ok(updated_if(changed, role.clone()))
    }

    fn assume(
        &self,
        role_arn: &str,
        token: &Secret,
        session_name: &str,
    ) -> PortResult<AssumedRole> {
        let claims =
            claims(token.expose()).ok_or_else(|| invalid_token("the token is not a JWT"))?;
        if claims["exp"]
            .as_u64()
            .is_some_and(|exp| exp <= crate::issuer::now())
        {
            return Err(Problem::new(
                ErrorCode::TrustRejected,
                "ExpiredTokenException: the token has expired",
            ));
        }
        let issuer = claims["iss"].as_str().unwrap_or_default();
        let state = self.state.lock().unwrap();
        let provider = state
            .providers
            .iter()
            .find(|p| p.url == issuer)
            .ok_or_else(|| {
                invalid_token(&format!(
                    "no OpenIDConnect provider found for issuer {issuer}"
                ))
            })?;
        if !audiences(&claims)
            .iter()
            .any(|a| provider.client_ids.contains(a))
        {
            return Err(invalid_token("Incorrect token audience"));
        }
        let role = state
            .roles
            .iter()
            .find(|r| r.arn == role_arn)
            .ok_or_else(|| denied("no such role"))?;
        let policy: Value = serde_json::from_str(&role.trust_policy).unwrap_or(Value::Null);
        let statements = match &policy["Statement"] {
            Value::Array(s) => s.clone(),
            Value::Object(_) => vec![policy["Statement"].clone()],
            _ => Vec::new(),
        };
        if !statements
            .iter()
            .any(|s| statement_allows(s, provider, &claims))
        {
            return Err(denied("the trust policy does not allow this token"));
        }
        Ok(AssumedRole {
            assumed_role_arn: format!(
                "arn:aws:sts::{}:assumed-role/{}/{session_name}",
                state.account, role.name
            ),
            subject: claims["sub"].as_str().map(str::to_string),
            audience: audiences(&claims).into_iter().next(),
        })
    }
}

impl FakeIam {
    /// Makes `simulate_principal_policy` answer `implicitDeny` for `action` (e.g.
    /// `iam:CreateRole`); every other action is allowed.
    pub fn deny_action(&self, action: &str) {
        self.state
            .lock()
            .unwrap()
            .denied_actions
            .insert(action.to_ascii_lowercase());
    }
}

impl Iam for FakeIam {
    async fn simulate_principal_policy(
        &self,
        principal_arn: &str,
        requests: &[(String, String)],
    ) -> PortResult<Vec<octo_oidc_core::preflight::IamDecision>> {
        self.recorder
            .read("simulate_principal_policy", principal_arn, || {
                let denied = &self.state.lock().unwrap().denied_actions;
                requests
                    .iter()
                    .map(
                        |(action, resource)| octo_oidc_core::preflight::IamDecision {
                            action: action.clone(),
                            resource: resource.clone(),
                            decision: match denied.contains(&action.to_ascii_lowercase()) {
                                true => "implicitDeny".into(),
                                false => "allowed".into(),
                            },
                        },
                    )
                    .collect()
            })
    }
    async fn caller_identity(&self) -> PortResult<(String, String)> {
        self.recorder.read("caller_identity", "", || {
            let account = self.account();
            let arn = format!("arn:aws:iam::{account}:user/octo-oidc-test");
            (account, arn)
        })
    }

    async fn find_oidc_provider(&self, url: &str) -> PortResult<Option<OidcProvider>> {
        self.recorder.read("find_oidc_provider", url, || {
            self.providers().into_iter().find(|p| p.url == url)
        })
    }

    async fn ensure_oidc_provider(
        &self,
        spec: &OidcProviderSpec,
    ) -> PortResult<Applied<OidcProvider>> {
        self.recorder.call("ensure_oidc_provider", &spec.url, || {
            self.apply_provider(spec)
        })
    }

    async fn delete_oidc_provider(&self, arn: &str) -> PortResult<()> {
        self.recorder.call("delete_oidc_provider", arn, || {
            let providers = &mut self.state.lock().unwrap().providers;
            Ok(((), remove_where(providers, |p| p.arn == arn)))
        })
    }

    async fn find_role(&self, name: &str) -> PortResult<Option<IamRole>> {
        self.recorder.read("find_role", name, || {
            self.roles().into_iter().find(|r| r.name == name)
        })
    }

    async fn ensure_role(&self, spec: &RoleSpec) -> PortResult<Applied<IamRole>> {
        self.recorder
            .call("ensure_role", &spec.name, || self.apply_role(spec))
    }

    async fn delete_role(&self, name: &str) -> PortResult<()> {
        self.recorder.call("delete_role", name, || {
            let roles = &mut self.state.lock().unwrap().roles;
            Ok(((), remove_where(roles, |r| r.name == name)))
        })
    }

    async fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        token: &Secret,
        session_name: &str,
    ) -> PortResult<AssumedRole> {
        self.recorder
            .call("assume_role_with_web_identity", role_arn, || {
                self.assume(role_arn, token, session_name)
                    .map(|a| (a, false))
            })
    }

    async fn roles_trusting_provider(&self, provider_arn: &str) -> PortResult<Vec<String>> {
        self.recorder
            .read("roles_trusting_provider", provider_arn, || {
                let trusts = |role: &&IamRole| {
                    serde_json::from_str::<Value>(&role.trust_policy).is_ok_and(|p| {
                        let statements = match &p["Statement"] {
                            Value::Array(a) => a.clone(),
                            other => vec![other.clone()],
                        };
                        statements.iter().any(|s| {
                            strings(&s["Principal"]["Federated"])
                                .iter()
                                .any(|f| f == provider_arn)
                        })
                    })
                };
                let state = self.state.lock().unwrap();
                state
                    .roles
                    .iter()
                    .filter(trusts)
                    .map(|r| r.name.clone())
                    .collect()
            })
    }
}
