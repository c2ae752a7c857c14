//! The plan: the desired state compared with the observed state, one step per resource —
//! `create`, `update` (with a field diff), `unchanged`, `delete` (ours, no longer wanted) or
//! `conflict` (exists but is not this setup's, or drifted outside what the setup manages) —
//! in dependency order, each with the steps it depends on. Pure: nothing is read or changed.
//!
//! Ownership is read from the marks in [`crate::ownership`]; a resource without this setup's
//! mark is never updated or deleted. Two kinds are shared by design and reused rather than
//! claimed: the IAM OIDC provider (one per issuer and account) and an existing service
//! account.
//!
//! Deliberately absent: applying ([`crate::apply`] walks these steps through the ports) and
//! rendering ([`crate::render`]).

use std::collections::BTreeSet;

use octo_oidc_core::azure::role_assignment;
use octo_oidc_core::ports::{FederatedCredential, OctopusAccount, RoleAssignment};
use serde::Serialize;
use serde_json::{Value, json};

use crate::ci_snippet::ci_snippet;
use crate::desired::{AzureLayout, DesiredResource, DesiredState, ResourceKind};
use crate::observed::{ObservedApp, ObservedState};
use crate::ownership::{self, Owner};
use crate::setup_file::Target;

/// Shown for values that exist only once an earlier step has run.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The resource does not exist and will be created.
    Create,
    /// The resource is ours and differs; `changes` lists how.
    Update,
    /// The resource matches; nothing is sent.
    Unchanged,
    /// The resource is ours and no longer wanted.
    Delete,
    /// The resource exists but is not this setup's, or drifted outside the setup: nothing is
    /// done to it, and `reason` says what the user must decide.
    Conflict,
}

impl Action {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Delete => "delete",
            Action::Conflict => "conflict",
        }
    }
}

/// One changed field of an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The field (e.g. `trust_policy.Statement[0].Condition.StringLike.host:sub`).
    pub field: String,
    /// What it is now.
    pub from: Value,
    /// What it will be.
    pub to: Value,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanStep {
    /// What happens.
    pub action: Action,
    /// The kind of resource.
    pub kind: ResourceKind,
    /// Its name.
    pub name: String,
    /// Its remote id (ARN, object id, `Accounts-N`) when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// For updates: every changed field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// Why (conflicts, reuse of shared resources, deletes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Indexes of the steps that must be done first.
    pub depends_on: Vec<usize>,
    /// The desired resource (or, for deletes, what is deleted).
    pub details: Value,
    /// The app registration this step belongs to (Azure), for dependencies.
    #[serde(skip)]
    group: Option<String>,
}

/// Counts per action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// Creates.
    pub create: usize,
    /// Updates.
    pub update: usize,
    /// Unchanged.
    pub unchanged: usize,
    /// Deletes.
    pub delete: usize,
    /// Conflicts.
    pub conflict: usize,
}

/// The whole plan of one setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The setup's name.
    pub setup: String,
    /// Its target.
    pub target: Target,
    /// The space's name.
    pub space: String,
    /// Counts per action.
    pub summary: PlanSummary,
    /// Steps in dependency order.
    pub steps: Vec<PlanStep>,
    /// Azure: how the credentials were laid out when over the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureLayout>,
    /// CI targets: the snippet the pipeline needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

impl Plan {
    /// Whether applying would change anything.
    pub fn has_changes(&self) -> bool {
        self.summary.create + self.summary.update + self.summary.delete > 0
    }

    /// Whether a conflict needs the user's decision before applying.
    pub fn has_conflicts(&self) -> bool {
        self.summary.conflict > 0
    }
}

pub(crate) fn step(
    action: Action,
    kind: ResourceKind,
    name: impl Into<String>,
    details: Value,
) -> PlanStep {
    PlanStep {
        action,
        kind,
        name: name.into(),
        id: None,
        changes: Vec::new(),
        reason: None,
        depends_on: Vec::new(),
        details,
        group: None,
    }
}

impl PlanStep {
    /// The unique name of the app registration this step belongs to (Azure).
    pub fn app(&self) -> Option<&str> {
        self.group.as_deref()
    }

    pub(crate) fn action(mut self, action: Action) -> Self {
        self.action = action;
        self
    }
    pub(crate) fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
    pub(crate) fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    fn group(mut self, app: &str) -> Self {
        self.group = Some(app.to_string());
        self
    }
    pub(crate) fn changes(mut self, changes: Vec<FieldChange>) -> Self {
        self.action = if changes.is_empty() {
            Action::Unchanged
        } else {
            Action::Update
        };
        self.changes = changes;
        self
    }
}

fn details(resource: &DesiredResource) -> Value {
    let mut v = serde_json::to_value(resource).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("kind");
    }
    v
}

pub(crate) fn change(field: &str, from: impl Serialize, to: impl Serialize) -> FieldChange {
    FieldChange {
        field: field.to_string(),
        from: serde_json::to_value(from).unwrap_or(Value::Null),
        to: serde_json::to_value(to).unwrap_or(Value::Null),
    }
}

/// Every leaf where two JSON documents differ, as field changes under `prefix` (objects are
/// compared key by key, arrays of equal length element by element, others as wholes).
pub fn json_changes(prefix: &str, from: &Value, to: &Value, out: &mut Vec<FieldChange>) {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let null = Value::Null;
                json_changes(
                    &format!("{prefix}.{k}"),
                    a.get(k).unwrap_or(&null),
                    b.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b))
            if a.len() == b.len() && a.iter().any(|x| x.is_object()) =>
        {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_changes(&format!("{prefix}[{i}]"), x, y, out);
            }
        }
        (a, b) if a != b => out.push(FieldChange {
            field: prefix.to_string(),
            from: a.clone(),
            to: b.clone(),
        }),
        _ => {}
    }
}

pub(crate) fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// Computes the plan of `desired` against `observed`.
pub fn plan(desired: &DesiredState, observed: &ObservedState) -> Plan {
    let setup = desired.setup.as_str();
    let mut steps = Vec::new();
    let mut blocked_apps: BTreeSet<String> = BTreeSet::new();
    for resource in &desired.resources {
        let d = details(resource);
        let kind = resource.kind();
        let name = resource.name();
        match resource {
            DesiredResource::OidcProvider { arn, spec } => steps.push(match &observed.oidc_provider {
                None => step(Action::Create, kind, name, d),
                Some(p) => {
                    let mut changes = Vec::new();
                    let missing: Vec<&String> = spec.client_ids.iter().filter(|c| !p.client_ids.contains(c)).collect();
                    if !missing.is_empty() {
                        let mut to = p.client_ids.clone();
                        to.extend(missing.into_iter().cloned());
                        changes.push(change("client_ids", &p.client_ids, to));
                    }
                    let s = step(Action::Unchanged, kind, name, d).id(&p.arn).changes(changes);
                    match ownership::owner(ownership::setup_of_aws_tags(&p.tags), setup) {
                        Owner::This => s,
                        Owner::OtherSetup(o) => s.reason(format!("shared with setup '{o}' (one provider per issuer): reused, teardown leaves it")),
                        Owner::Foreign => s.reason(format!("exists ({arn}) and was not created by this setup: reused, teardown leaves it")),
                    }
                }
            }),
            DesiredResource::IamRole { spec, .. } => steps.push(match &observed.iam_role {
                None => step(Action::Create, kind, name, d),
                Some(r) => match ownership::owner(ownership::setup_of_aws_tags(&r.tags), setup) {
                    Owner::This => {
                        let mut changes = Vec::new();
                        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.to_string()));
                        json_changes("trust_policy", &parse(&r.trust_policy), &parse(&spec.trust_policy), &mut changes);
                        if r.max_session_duration != spec.max_session_duration {
                            changes.push(change("max_session_duration", r.max_session_duration, spec.max_session_duration));
                        }
                        if r.description != spec.description {
                            changes.push(change("description", &r.description, &spec.description));
                        }
                        if sorted(&r.managed_policy_arns) != sorted(&spec.managed_policy_arns) {
                            changes.push(change("managed_policy_arns", sorted(&r.managed_policy_arns), sorted(&spec.managed_policy_arns)));
                        }
                        step(Action::Unchanged, kind, name, d).id(&r.arn).changes(changes)
                    }
                    Owner::OtherSetup(o) => step(Action::Conflict, kind, name, d).id(&r.arn).reason(format!("belongs to setup '{o}'; choose another aws.role_name")),
                    Owner::Foreign => step(Action::Conflict, kind, name, d).id(&r.arn).reason(format!(
                        "exists and was not created by this setup (no {} tag); choose another aws.role_name, or tag the role {}={setup} to let this setup manage it",
                        ownership::AWS_TAG_KEY,
                        ownership::AWS_TAG_KEY
                    )),
                },
            }),
            DesiredResource::AppRegistration { unique_name, display_name, .. } => {
                let observed_app = find_app(observed, unique_name);
                steps.push(match observed_app {
                    None => step(Action::Create, kind, name, d).group(unique_name),
                    Some(app) => match ownership::owner(ownership::setup_of_entra_tags(&app.tags), setup) {
                        Owner::This => {
                            let mut changes = Vec::new();
                            if &app.application.display_name != display_name {
                                changes.push(change("display_name", &app.application.display_name, display_name));
                            }
                            step(Action::Unchanged, kind, name, d).id(&app.application.object_id).group(unique_name).changes(changes)
                        }
                        other => {
                            blocked_apps.insert(unique_name.clone());
                            let who = match other {
                                Owner::OtherSetup(o) => format!("belongs to setup '{o}'"),
                                _ => format!("has no {}{setup} tag", ownership::ENTRA_TAG_PREFIX),
                            };
                            step(Action::Conflict, kind, name, d)
                                .id(&app.application.object_id)
                                .group(unique_name)
                                .reason(format!("an app registration with unique name '{unique_name}' exists and {who}; its service principal, credentials and role assignment are not planned. Rename the setup, or delete the app registration"))
                        }
                    },
                });
                if let Some(app) = observed_app.filter(|_| !blocked_apps.contains(unique_name)) {
                    stale_credentials(desired, app, &mut steps);
                }
            }
            DesiredResource::ServicePrincipal { app } => {
                if blocked_apps.contains(app) {
                    continue;
                }
                steps.push(match find_app(observed, app).and_then(|a| a.service_principal.as_ref()) {
                    None => step(Action::Create, kind, name, d).group(app),
                    Some(sp) => step(Action::Unchanged, kind, name, d).id(&sp.object_id).group(app),
                });
            }
            DesiredResource::FederatedCredential { app, credential } => {
                if blocked_apps.contains(app) {
                    continue;
                }
                let existing = find_app(observed, app).map(|a| a.federated_credentials.as_slice()).unwrap_or_default();
                steps.push(credential_step(credential, existing, d).group(app));
            }
            DesiredResource::RoleAssignment { app, scope, role_definition_id, .. } => {
                if blocked_apps.contains(app) {
                    continue;
                }
                let principal = find_app(observed, app).and_then(|a| a.service_principal.as_ref()).map(|sp| sp.object_id.clone());
                steps.push(match (principal, role_definition_id) {
                    (Some(principal), Some(def)) => {
                        let wanted = role_assignment(scope, def, &principal);
                        match observed.role_assignments.iter().find(|a| same_assignment(a, &wanted)) {
                            Some(a) => step(Action::Unchanged, kind, name, d).id(&a.name),
                            None => step(Action::Create, kind, name, d).id(&wanted.name),
                        }
                    }
                    _ => step(Action::Create, kind, name, d).reason(format!("name {KNOWN_AFTER_APPLY}: derived from the service principal's id")),
                }.group(app));
                stale_assignments(desired, observed, app, &mut steps);
            }
            DesiredResource::OctopusAccount { name: account_name, body, client_id_of, .. } => {
                let client_id = client_id_of.as_ref().map(|app| {
                    find_app(observed, app).map_or(KNOWN_AFTER_APPLY.to_string(), |a| a.application.app_id.clone())
                });
                let mut body = body.clone();
                if let (Some(id), Some(o)) = (&client_id, body.as_object_mut()) {
                    o.insert("ClientId".into(), json!(id));
                }
                let mut d = d;
                if let Some(o) = d.as_object_mut() {
                    o.insert("body".into(), body.clone());
                }
                let mut s = match observed.octopus_accounts.iter().find(|a| account_name_of(a) == Some(account_name.as_str())) {
                    None => step(Action::Create, kind, name, d),
                    Some(a) => account_step(setup, a, &body, d),
                };
                s.group = client_id_of.clone();
                steps.push(s);
            }
            DesiredResource::ServiceAccount { .. } => steps.push(match &observed.service_account {
                None => step(Action::Create, kind, name, d),
                Some(sa) if sa.created_by.as_deref() == Some(setup) => step(Action::Unchanged, kind, name, d).id(&sa.id),
                Some(sa) => step(Action::Unchanged, kind, name, d).id(&sa.id).reason("exists and was not created by this setup: reused, teardown leaves it"),
            }),
            DesiredResource::OidcIdentity { spec, .. } => steps.push(match observed.oidc_identities.iter().find(|i| i.spec.name == spec.name) {
                None => step(Action::Create, kind, name, d),
                Some(i) => {
                    let mut changes = Vec::new();
                    if i.spec.issuer != spec.issuer {
                        changes.push(change("issuer", &i.spec.issuer, &spec.issuer));
                    }
                    if i.spec.subject != spec.subject {
                        changes.push(change("subject", &i.spec.subject, &spec.subject));
                    }
                    if i.spec.audience != spec.audience {
                        changes.push(change("audience", &i.spec.audience, &spec.audience));
                    }
                    step(Action::Unchanged, kind, name, d).id(&i.id).changes(changes)
                }
            }),
            DesiredResource::WorkloadIdentityPool { .. }
            | DesiredResource::WorkloadIdentityProvider { .. }
            | DesiredResource::GcpServiceAccount { .. }
            | DesiredResource::WorkloadIdentityBinding { .. }
            | DesiredResource::ProjectRoleBinding { .. } => {
                crate::google::plan_steps(desired, resource, &observed.gcp, d, &mut steps)
            }
            DesiredResource::TeamMembership { team, .. } => steps.push(match &observed.team {
                None => step(Action::Conflict, kind, name, d).reason(format!(
                    "the team '{team}' does not exist in Octopus; create it with the permissions the pipeline needs, or remove github.team"
                )),
                Some(t) => match &observed.service_account {
                    Some(sa) if t.member_user_ids.contains(&sa.id) => step(Action::Unchanged, kind, name, d).id(&t.id),
                    _ => step(Action::Create, kind, name, d).id(&t.id),
                },
            }),
        }
    }
    link(&mut steps);
    let mut summary = PlanSummary::default();
    for s in &steps {
        match s.action {
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::Unchanged => summary.unchanged += 1,
            Action::Delete => summary.delete += 1,
            Action::Conflict => summary.conflict += 1,
        }
    }
    let snippet = desired.ci.as_ref().map(|ci| {
        let id = observed
            .service_account
            .as_ref()
            .and_then(|s| s.external_id.clone())
            .unwrap_or_else(|| KNOWN_AFTER_APPLY.to_string());
        ci_snippet(ci.ci, &ci.server_url, &id)
    });
    Plan {
        setup: desired.setup.clone(),
        target: desired.target,
        space: desired.space.name.clone(),
        summary,
        steps,
        azure: desired.azure.clone(),
        snippet,
    }
}

fn find_app<'a>(observed: &'a ObservedState, unique_name: &str) -> Option<&'a ObservedApp> {
    observed.apps.iter().find(|a| a.unique_name == unique_name)
}

fn account_name_of(a: &OctopusAccount) -> Option<&str> {
    a.body.get("Name").and_then(Value::as_str)
}

fn same_assignment(a: &RoleAssignment, b: &RoleAssignment) -> bool {
    a.scope
        .trim_end_matches('/')
        .eq_ignore_ascii_case(b.scope.trim_end_matches('/'))
        && a.role_definition_id
            .eq_ignore_ascii_case(&b.role_definition_id)
        && a.principal_id.eq_ignore_ascii_case(&b.principal_id)
}

fn credential_step(
    wanted: &FederatedCredential,
    existing: &[FederatedCredential],
    d: Value,
) -> PlanStep {
    let kind = ResourceKind::FederatedCredential;
    if let Some(c) = existing
        .iter()
        .find(|c| c.issuer == wanted.issuer && c.subject == wanted.subject)
    {
        let s = step(Action::Unchanged, kind, &wanted.name, d).id(&c.name);
        if c.name != wanted.name {
            return s.reason(format!(
                "the subject is already trusted by credential '{}'",
                c.name
            ));
        }
        let mut changes = Vec::new();
        if c.audiences != wanted.audiences {
            changes.push(change("audiences", &c.audiences, &wanted.audiences));
        }
        if c.description != wanted.description {
            changes.push(change("description", &c.description, &wanted.description));
        }
        return s.changes(changes);
    }
    match existing.iter().find(|c| c.name == wanted.name) {
        Some(c) => {
            let mut changes = Vec::new();
            for (field, from, to) in [
                ("issuer", &c.issuer, &wanted.issuer),
                ("subject", &c.subject, &wanted.subject),
            ] {
                if from != to {
                    changes.push(change(field, from, to));
                }
            }
            if c.audiences != wanted.audiences {
                changes.push(change("audiences", &c.audiences, &wanted.audiences));
            }
            step(Action::Unchanged, kind, &wanted.name, d)
                .id(&c.name)
                .changes(changes)
        }
        None => step(Action::Create, kind, &wanted.name, d),
    }
}

/// Credentials on our app that the setup no longer wants: ours (our issuer) are deleted
/// first (so the new ones fit the limit); others were added outside the setup: conflicts.
fn stale_credentials(desired: &DesiredState, app: &ObservedApp, steps: &mut Vec<PlanStep>) {
    let wanted: Vec<&FederatedCredential> = desired
        .resources
        .iter()
        .filter_map(|r| match r {
            DesiredResource::FederatedCredential { app: a, credential }
                if *a == app.unique_name =>
            {
                Some(credential)
            }
            _ => None,
        })
        .collect();
    let issuer = wanted.first().map(|c| c.issuer.as_str());
    for c in &app.federated_credentials {
        let kept = wanted
            .iter()
            .any(|w| (w.issuer == c.issuer && w.subject == c.subject) || w.name == c.name);
        if kept {
            continue;
        }
        let d = serde_json::to_value(c).unwrap_or(Value::Null);
        let s = if Some(c.issuer.as_str()) == issuer {
            step(
                Action::Delete,
                ResourceKind::FederatedCredential,
                &c.name,
                d,
            )
            .reason("its subject is no longer in the scope")
        } else {
            step(Action::Conflict, ResourceKind::FederatedCredential, &c.name, d).reason(format!(
                "trusts another issuer ({}) and was added outside the setup; remove it in the Entra portal or keep it by hand (it counts against the limit of 20)",
                c.issuer
            ))
        };
        steps.push(s.id(&c.name).group(&app.unique_name));
    }
}

/// Role assignments of our service principal that the setup no longer wants.
fn stale_assignments(
    desired: &DesiredState,
    observed: &ObservedState,
    app: &str,
    steps: &mut Vec<PlanStep>,
) {
    let Some(principal) = find_app(observed, app).and_then(|a| a.service_principal.as_ref()) else {
        return;
    };
    let wanted: Vec<RoleAssignment> = desired
        .resources
        .iter()
        .filter_map(|r| match r {
            DesiredResource::RoleAssignment {
                app: a,
                scope,
                role_definition_id: Some(def),
                ..
            } if a == app => Some(role_assignment(scope, def, &principal.object_id)),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return;
    }
    for a in observed
        .role_assignments
        .iter()
        .filter(|a| a.principal_id.eq_ignore_ascii_case(&principal.object_id))
    {
        if !wanted.iter().any(|w| same_assignment(a, w)) {
            let d = serde_json::to_value(a).unwrap_or(Value::Null);
            let role = a.role_definition_id.rsplit('/').next().unwrap_or_default();
            steps.push(
                step(
                    Action::Delete,
                    ResourceKind::RoleAssignment,
                    format!("role {role} on {}", a.scope),
                    d,
                )
                .id(&a.name)
                .group(app)
                .reason("the setup no longer assigns this role at this scope"),
            );
        }
    }
}

fn normalized(key: &str, v: &Value) -> Value {
    match v {
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let mut s: Vec<String> = items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            if key != "Audience" {
                s.sort();
            }
            json!(s)
        }
        Value::Number(n) => json!(n.to_string()),
        other => other.clone(),
    }
}

fn account_step(setup: &str, existing: &OctopusAccount, body: &Value, d: Value) -> PlanStep {
    let kind = ResourceKind::OctopusAccount;
    let name = account_name_of(existing).unwrap_or_default().to_string();
    let description = existing
        .body
        .get("Description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let s = step(Action::Conflict, kind, &name, d).id(&existing.id);
    match ownership::owner(ownership::setup_of_description(description), setup) {
        Owner::This => {}
        Owner::OtherSetup(o) => {
            return s.reason(format!(
                "belongs to setup '{o}'; choose another [account] name"
            ));
        }
        Owner::Foreign => {
            return s.reason(format!(
                "an account with this name exists and was not created by this setup (its description lacks {}{setup}); choose another [account] name, or delete that account",
                ownership::DESCRIPTION_MARKER
            ));
        }
    }
    let wanted_type = body.get("AccountType");
    let actual_type = existing.body.get("AccountType");
    if wanted_type != actual_type {
        return s.reason(format!(
            "is a {} account, the setup needs {}; it was changed outside the setup: delete it or rename [account] name",
            actual_type.and_then(Value::as_str).unwrap_or("?"),
            wanted_type.and_then(Value::as_str).unwrap_or("?")
        ));
    }
    let mut changes = Vec::new();
    if let Some(fields) = body.as_object() {
        for (k, want) in fields {
            let have = existing.body.get(k).unwrap_or(&Value::Null);
            let (h, w) = (normalized(k, have), normalized(k, want));
            if h != w && !(have.is_null() && want.as_str() == Some("")) {
                changes.push(FieldChange {
                    field: k.clone(),
                    from: have.clone(),
                    to: want.clone(),
                });
            }
        }
    }
    s.changes(changes)
}

/// Fills `depends_on`: provider → role and account (AWS); app → service principal,
/// credentials and account, service principal → role assignment (Azure, per app); service
/// account → identity, team membership (CI); pool → provider, pool + service account →
/// workload identity binding, service account → project roles, provider + binding → account
/// (Google Cloud). Deletes of stale credentials come before the app's creates.
fn link(steps: &mut [PlanStep]) {
    use ResourceKind::*;
    let index = |steps: &[PlanStep], kind: ResourceKind, group: &Option<String>| -> Vec<usize> {
        steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.kind == kind
                    && (group.is_none() || &s.group == group)
                    && s.action != Action::Delete
            })
            .map(|(i, _)| i)
            .collect()
    };
    for i in 0..steps.len() {
        let group = steps[i].group.clone();
        let deps: Vec<usize> = match steps[i].kind {
            OidcProvider | AppRegistration | ServiceAccount => Vec::new(),
            IamRole => index(steps, OidcProvider, &None),
            ServicePrincipal => index(steps, AppRegistration, &group),
            FederatedCredential if steps[i].action == Action::Create => {
                let mut d = index(steps, AppRegistration, &group);
                d.extend(
                    steps
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| {
                            s.kind == FederatedCredential
                                && s.action == Action::Delete
                                && s.group == group
                        })
                        .map(|(j, _)| j),
                );
                d
            }
            FederatedCredential => index(steps, AppRegistration, &group),
            RoleAssignment => index(steps, ServicePrincipal, &group),
            // The account needs only ids known before: the app's client id (Azure), the role
            // ARN, which the account id and role name give (AWS). So it goes beside the
            // service principal, or beside the role (after the provider it trusts); Google
            // Cloud's after its provider and binding.
            OctopusAccount => match &group {
                Some(_) => index(steps, AppRegistration, &group),
                None => {
                    let mut d = index(steps, OidcProvider, &None);
                    d.extend(index(steps, WorkloadIdentityProvider, &None));
                    d.extend(index(steps, WorkloadIdentityBinding, &None));
                    d
                }
            },
            OidcIdentity | TeamMembership => index(steps, ServiceAccount, &None),
            WorkloadIdentityPool | GcpServiceAccount => Vec::new(),
            WorkloadIdentityProvider => index(steps, WorkloadIdentityPool, &None),
            WorkloadIdentityBinding => {
                let mut d = index(steps, WorkloadIdentityPool, &None);
                d.extend(index(steps, GcpServiceAccount, &None));
                d
            }
            ProjectRoleBinding => index(steps, GcpServiceAccount, &None),
        };
        steps[i].depends_on = deps.into_iter().filter(|&d| d != i).collect();
    }
}
