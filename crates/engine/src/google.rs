//! The Google Cloud target (`target = "gcp"`) in the engine's layers, in one place: its
//! desired resources (pool, provider from the core's [`plan_trust`], service account,
//! `roles/iam.workloadIdentityUser` binding, project roles, the `GoogleCloudOidcAccount`
//! body), its plan steps against the observed state (ownership by the description's mark,
//! soft-deleted pools and providers, bindings compared member by member), the allow-policy
//! changes apply and teardown send, the permissions the preflight asks `testIamPermissions`
//! for, and the trust verify simulates with the core's CEL evaluator.
//!
//! The layer modules ([`crate::desired`], [`crate::plan`], [`crate::apply`],
//! [`crate::teardown`], [`crate::verify`]) call into here for the Google kinds and keep their
//! shared mechanisms (journal, waves, events, conflicts, drift checks) for every target.
//!
//! Ownership: a pool, provider or service account is this setup's when its description
//! carries `octo-oidc:setup=<name>`. Binding members have no marks: the pool's principals
//! (`principal://…/workloadIdentityPools/<pool>/…`) are ours when the pool is, and the
//! service account's project roles are ours when the account is (or the journal shows the
//! setup added them to an account it reuses).

use std::collections::{BTreeMap, BTreeSet};

use octo_oidc_core::Problem;
use octo_oidc_core::error::{ErrorCode, FieldError};
use octo_oidc_core::gcp::{
    GcpError, GcpTrust, GcpTrustInput, GoogleCloudOidcAccount, LIFETIME_EXTENSION_POLICY,
    MAX_UNEXTENDED_LIFETIME_SECS, OCTOPUS_CLAIM_PREFIX, ProviderRef, WORKLOAD_IDENTITY_USER,
    google_cloud_oidc_account_body, plan_trust,
};
use octo_oidc_core::ports::{
    GcpBinding, GcpLifecycle, GcpOidcTrust, GcpPolicyChange, GcpPoolSpec, GcpProviderSpec,
    GcpServiceAccountSpec, GoogleCloud,
};
use octo_oidc_core::scope::Scope;
use octo_oidc_core::subject::SubjectKey;
use serde_json::{Value, json};

use crate::desired::{
    DesiredResource, DesiredState, ResourceKind, SpaceFacts, common, internal, resolve_scope,
    scope_problem, slugify,
};
use crate::observed::ObservedGcp;
use crate::ownership::{self, Owner};
use crate::plan::{Action, FieldChange, Plan, PlanStep, change, json_changes, sorted, step};
use crate::setup_file::{GcpSetup, Setup};

/// The display name of the pool and provider (Google allows 32 characters).
pub const DISPLAY_NAME: &str = "Octopus Deploy";

/// The member a project role binding names.
pub fn service_account_member(email: &str) -> String {
    format!("serviceAccount:{email}")
}

/// The plan's name of a project role binding.
pub fn project_binding_name(project: &str, role: &str) -> String {
    format!("{role} on projects/{project}")
}

fn service_account_display_name(setup: &str) -> String {
    format!("Octopus Deploy ({setup})")
}

/// The Google Cloud desired resources of `gcp`.
pub(crate) fn desired(
    setup: &Setup,
    gcp: &GcpSetup,
    facts: &SpaceFacts,
    state: &mut DesiredState,
) -> Result<(), Problem> {
    let project = facts
        .gcp_project
        .as_ref()
        .ok_or_else(|| internal("the Google Cloud project was not observed before planning"))?;
    let slug = slugify(&gcp.scope.account_name);
    let scope = resolve_scope(&gcp.scope, facts, &slug)?;
    let provider = ProviderRef {
        project_number: project.project_number.clone(),
        pool_id: gcp.pool.clone(),
        provider_id: gcp.provider.clone(),
    };
    let trust = plan_trust(
        &GcpTrustInput {
            provider: provider.clone(),
            issuer: facts.server.issuer.clone(),
            allowed_audiences: gcp.allowed_audiences.clone(),
        },
        &scope,
    )
    .map_err(trust_problem)?;
    let description = ownership::gcp_description(&setup.name);
    let email = gcp.service_account_email(&project.project_id);
    let spec = (!gcp.service_account.contains('@')).then(|| GcpServiceAccountSpec {
        project: project.project_id.clone(),
        account_id: gcp.service_account.clone(),
        display_name: service_account_display_name(&setup.name),
        description: description.clone(),
    });
    let body = google_cloud_oidc_account_body(
        &GoogleCloudOidcAccount {
            common: common(setup, &gcp.scope.account_name, &slug, facts),
            audience: trust.audience.clone(),
            token_lifetime_secs: gcp.token_lifetime,
            custom_claims: Vec::new(),
        },
        &scope,
    )
    .map_err(scope_problem)?;
    state.resources = vec![
        DesiredResource::WorkloadIdentityPool {
            spec: GcpPoolSpec {
                project_number: provider.project_number.clone(),
                pool_id: provider.pool_id.clone(),
                display_name: DISPLAY_NAME.into(),
                description: description.clone(),
            },
        },
        DesiredResource::WorkloadIdentityProvider {
            spec: GcpProviderSpec {
                provider: provider.clone(),
                display_name: DISPLAY_NAME.into(),
                description,
                trust: GcpOidcTrust {
                    issuer_uri: trust.issuer_uri.clone(),
                    allowed_audiences: trust.allowed_audiences.clone(),
                    jwks_json: None,
                    attribute_mapping: trust.attribute_mapping.iter().cloned().collect(),
                    attribute_condition: Some(trust.attribute_condition.clone()),
                },
            },
            subjects: trust.subjects.clone(),
        },
        DesiredResource::GcpServiceAccount {
            email: email.clone(),
            spec,
        },
        DesiredResource::WorkloadIdentityBinding {
            service_account: email.clone(),
            role: WORKLOAD_IDENTITY_USER.into(),
            members: trust.binding.members.clone(),
            pool: provider.pool_name(),
        },
    ];
    for role in &gcp.roles {
        state.resources.push(DesiredResource::ProjectRoleBinding {
            project: project.project_id.clone(),
            role: role.clone(),
            member: service_account_member(&email),
        });
    }
    state.resources.push(DesiredResource::OctopusAccount {
        name: gcp.scope.account_name.clone(),
        slug,
        body,
        client_id_of: None,
        subjects: trust.subjects,
    });
    Ok(())
}

fn trust_problem(e: GcpError) -> Problem {
    let limit = |field: &str, problem: String, fix: &str| Problem {
        code: ErrorCode::LimitExceeded,
        message: problem.clone(),
        hint: Some(fix.to_string()),
        field_errors: vec![FieldError {
            field: field.into(),
            problem,
            fix: fix.into(),
        }],
    };
    match e {
        GcpError::Scope(s) => scope_problem(s),
        GcpError::EmptyScope => Problem::invalid_input(vec![FieldError {
            field: "scope".into(),
            problem: e.to_string(),
            fix: "List projects and environments, runbooks or health_check_targets.".into(),
        }]),
        GcpError::ConditionTooLong { .. } => limit(
            "subject_keys.deployment",
            e.to_string(),
            "Narrow the scope, or use coarser deployment subject keys (e.g. [\"space\", \"project\"]) so fewer subjects are listed.",
        ),
        GcpError::SubjectTooLong { .. } => limit(
            "account.name",
            e.to_string(),
            "Shorten the account name (its slug is part of the mapped subject).",
        ),
    }
}

fn owner_of<'a>(description: &'a str, setup: &str) -> Owner<'a> {
    ownership::owner(ownership::setup_of_gcp_description(description), setup)
}

fn lifecycle_name(l: &GcpLifecycle) -> &'static str {
    match l {
        GcpLifecycle::Active => "active",
        GcpLifecycle::SoftDeleted { .. } => "deleted",
    }
}

fn soft_deleted_until(l: &GcpLifecycle) -> Option<String> {
    match l {
        GcpLifecycle::Active => None,
        GcpLifecycle::SoftDeleted { expire_time } => {
            Some(expire_time.clone().unwrap_or_else(|| "30 days".into()))
        }
    }
}

/// The step of a pool or provider of ours: `changes` decide update or unchanged; a
/// soft-deleted one says that apply undeletes it.
fn ours(step: PlanStep, lifecycle: &GcpLifecycle, changes: Vec<FieldChange>) -> PlanStep {
    let step = match soft_deleted_until(lifecycle) {
        Some(until) => step.reason(format!(
            "soft-deleted (Google purges it {until}); apply undeletes it"
        )),
        None => step,
    };
    step.changes(changes)
}

/// The pool's and provider's shared comparisons (state, disabled, display name,
/// description).
fn common_changes(
    lifecycle: &GcpLifecycle,
    disabled: bool,
    display_name: &str,
    description: &str,
    want_display: &str,
    want_description: &str,
) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    if *lifecycle != GcpLifecycle::Active {
        changes.push(change("state", lifecycle_name(lifecycle), "active"));
    }
    if disabled {
        changes.push(change("disabled", true, false));
    }
    differs(&mut changes, "display_name", display_name, want_display);
    differs(&mut changes, "description", description, want_description);
    changes
}

/// Adds the change of `field` from `observed` to `desired` when they differ.
fn differs<T: PartialEq + serde::Serialize + ?Sized>(
    changes: &mut Vec<FieldChange>,
    field: &str,
    observed: &T,
    desired: &T,
) {
    if observed != desired {
        changes.push(change(field, observed, desired));
    }
}

fn not_ours(what: &str, field: &str, owner: Owner<'_>, lifecycle: &GcpLifecycle) -> String {
    let who = match owner {
        Owner::OtherSetup(o) => format!("belongs to setup '{o}'"),
        _ => {
            "was not created by this setup (its description lacks the octo-oidc:setup mark)".into()
        }
    };
    match soft_deleted_until(lifecycle) {
        Some(until) => format!(
            "a soft-deleted {what} with this id exists and {who}; Google keeps the id until it is purged ({until}): choose another {field}, or undelete it yourself"
        ),
        None => format!("a {what} with this id exists and {who}; choose another {field}"),
    }
}

/// The members of `role` in `bindings`.
pub fn members_of<'a>(bindings: &'a [GcpBinding], role: &str) -> BTreeSet<&'a str> {
    bindings
        .iter()
        .filter(|b| b.role == role)
        .flat_map(|b| b.members.iter().map(String::as_str))
        .collect()
}

/// Whether `member` is a principal of the pool `pool` (its resource name).
fn of_pool(member: &str, pool: &str) -> bool {
    [
        "principal://iam.googleapis.com/",
        "principalSet://iam.googleapis.com/",
    ]
    .iter()
    .any(|p| {
        member
            .strip_prefix(p)
            .and_then(|rest| rest.strip_prefix(pool))
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The change that brings the service account's `role` to exactly `members` among the
/// pool's principals (others' members are left alone).
pub fn binding_change(
    role: &str,
    members: &[String],
    pool: &str,
    bindings: &[GcpBinding],
) -> GcpPolicyChange {
    let have = members_of(bindings, role);
    let add: Vec<String> = members
        .iter()
        .filter(|m| !have.contains(m.as_str()))
        .cloned()
        .collect();
    let remove: Vec<String> = have
        .iter()
        .filter(|m| of_pool(m, pool) && !members.iter().any(|w| w == *m))
        .map(|m| m.to_string())
        .collect();
    let mut change = GcpPolicyChange::default();
    if !add.is_empty() {
        change.add.insert(role.to_string(), add);
    }
    if !remove.is_empty() {
        change.remove.insert(role.to_string(), remove);
    }
    change
}

/// The plan step(s) of one Google Cloud desired resource.
pub(crate) fn plan_steps(
    desired: &DesiredState,
    resource: &DesiredResource,
    observed: &ObservedGcp,
    d: Value,
    steps: &mut Vec<PlanStep>,
) {
    let setup = desired.setup.as_str();
    let kind = resource.kind();
    let name = resource.name();
    match resource {
        DesiredResource::WorkloadIdentityPool { spec } => steps.push(match &observed.pool {
            None => step(Action::Create, kind, name, d),
            Some(p) => match owner_of(&p.description, setup) {
                Owner::This => ours(
                    step(Action::Unchanged, kind, name, d).id(&p.name),
                    &p.lifecycle,
                    common_changes(
                        &p.lifecycle,
                        p.disabled,
                        &p.display_name,
                        &p.description,
                        &spec.display_name,
                        &spec.description,
                    ),
                ),
                other => step(Action::Conflict, kind, name, d)
                    .id(&p.name)
                    .reason(not_ours("pool", "gcp.pool", other, &p.lifecycle)),
            },
        }),
        DesiredResource::WorkloadIdentityProvider { spec, .. } => {
            steps.push(match &observed.provider {
                None => step(Action::Create, kind, name, d),
                Some(p) => match owner_of(&p.description, setup) {
                    Owner::This => {
                        let mut changes = common_changes(
                            &p.lifecycle,
                            p.disabled,
                            &p.display_name,
                            &p.description,
                            &spec.display_name,
                            &spec.description,
                        );
                        let (have, want) = (&p.trust, &spec.trust);
                        differs(
                            &mut changes,
                            "issuer_uri",
                            &have.issuer_uri,
                            &want.issuer_uri,
                        );
                        differs(
                            &mut changes,
                            "allowed_audiences",
                            &have.allowed_audiences,
                            &want.allowed_audiences,
                        );
                        differs(&mut changes, "jwks_json", &have.jwks_json, &want.jwks_json);
                        json_changes(
                            "attribute_mapping",
                            &json!(have.attribute_mapping),
                            &json!(want.attribute_mapping),
                            &mut changes,
                        );
                        differs(
                            &mut changes,
                            "attribute_condition",
                            &have.attribute_condition,
                            &want.attribute_condition,
                        );
                        ours(
                            step(Action::Unchanged, kind, name, d).id(&p.name),
                            &p.lifecycle,
                            changes,
                        )
                    }
                    other => step(Action::Conflict, kind, name, d)
                        .id(&p.name)
                        .reason(not_ours("provider", "gcp.provider", other, &p.lifecycle)),
                },
            })
        }
        DesiredResource::GcpServiceAccount { spec, .. } => {
            steps.push(match (&observed.service_account, spec) {
                (None, Some(_)) => step(Action::Create, kind, name, d),
                (None, None) => step(Action::Conflict, kind, name, d).reason(
                    "no service account with this email exists; create it, or give gcp.service_account as an account id to let the setup create it",
                ),
                (Some(sa), spec) => match (owner_of(&sa.description, setup), spec) {
                    (Owner::This, Some(spec)) => {
                        let mut changes = Vec::new();
                        differs(&mut changes, "display_name", &sa.display_name, &spec.display_name);
                        differs(&mut changes, "description", &sa.description, &spec.description);
                        step(Action::Unchanged, kind, name, d)
                            .id(&sa.unique_id)
                            .changes(changes)
                    }
                    (Owner::This, None) => step(Action::Unchanged, kind, name, d).id(&sa.unique_id),
                    _ => step(Action::Unchanged, kind, name, d)
                        .id(&sa.unique_id)
                        .reason("exists and was not created by this setup: reused, teardown leaves it"),
                },
            });
            if observed
                .service_account
                .as_ref()
                .is_some_and(|sa| owner_of(&sa.description, setup) == Owner::This)
            {
                stale_project_roles(desired, observed, steps);
            }
        }
        DesiredResource::WorkloadIdentityBinding {
            role,
            members,
            pool,
            ..
        } => {
            let s = step(Action::Unchanged, kind, name, d);
            steps.push(match &observed.service_account {
                None => s.action(Action::Create),
                Some(_) => {
                    let have = members_of(&observed.service_account_bindings, role);
                    let ours: Vec<String> = have
                        .iter()
                        .filter(|m| of_pool(m, pool))
                        .map(|m| m.to_string())
                        .collect();
                    let c = binding_change(role, members, pool, &observed.service_account_bindings);
                    let s = match c.add.is_empty() && c.remove.is_empty() {
                        true => s,
                        false => s.changes(vec![change("members", &ours, sorted(members))]),
                    };
                    match ours.is_empty() && s.action == Action::Update {
                        true => s.action(Action::Create),
                        false => s,
                    }
                }
            });
        }
        DesiredResource::ProjectRoleBinding { role, member, .. } => {
            let bound = members_of(&observed.project_bindings, role).contains(member.as_str());
            steps.push(match bound {
                true => step(Action::Unchanged, kind, name, d),
                false => step(Action::Create, kind, name, d),
            });
        }
        _ => {}
    }
}

/// Project roles the service account holds that the setup no longer lists (the account is
/// this setup's): deleted.
fn stale_project_roles(desired: &DesiredState, observed: &ObservedGcp, steps: &mut Vec<PlanStep>) {
    let Some(sa) = &observed.service_account else {
        return;
    };
    let member = service_account_member(&sa.email);
    let wanted: BTreeSet<&str> = desired
        .resources
        .iter()
        .filter_map(|r| match r {
            DesiredResource::ProjectRoleBinding { role, .. } => Some(role.as_str()),
            _ => None,
        })
        .collect();
    let Some(project) = sa
        .email
        .split_once('@')
        .and_then(|(_, d)| d.strip_suffix(".iam.gserviceaccount.com"))
    else {
        return;
    };
    for b in &observed.project_bindings {
        if b.members.contains(&member) && !wanted.contains(b.role.as_str()) {
            steps.push(
                step(
                    Action::Delete,
                    ResourceKind::ProjectRoleBinding,
                    project_binding_name(project, &b.role),
                    json!({"project": project, "role": b.role, "member": member}),
                )
                .reason("the setup no longer grants this role to its service account"),
            );
        }
    }
}

/// The permissions `testIamPermissions` is asked for before the plan's changes.
pub fn required_permissions(plan: &Plan) -> Vec<String> {
    let mut out = BTreeSet::new();
    for s in &plan.steps {
        let undelete = s.changes.iter().any(|c| c.field == "state");
        let list: &[&str] = match (s.kind, s.action) {
            (_, Action::Unchanged | Action::Conflict) => &[],
            (ResourceKind::WorkloadIdentityPool, Action::Create) => {
                &["iam.workloadIdentityPools.create"]
            }
            (ResourceKind::WorkloadIdentityPool, _) if undelete => &[
                "iam.workloadIdentityPools.undelete",
                "iam.workloadIdentityPools.update",
            ],
            (ResourceKind::WorkloadIdentityPool, _) => &["iam.workloadIdentityPools.update"],
            (ResourceKind::WorkloadIdentityProvider, Action::Create) => {
                &["iam.workloadIdentityPoolProviders.create"]
            }
            (ResourceKind::WorkloadIdentityProvider, _) if undelete => &[
                "iam.workloadIdentityPoolProviders.undelete",
                "iam.workloadIdentityPoolProviders.update",
            ],
            (ResourceKind::WorkloadIdentityProvider, _) => {
                &["iam.workloadIdentityPoolProviders.update"]
            }
            (ResourceKind::GcpServiceAccount, Action::Create) => &["iam.serviceAccounts.create"],
            (ResourceKind::GcpServiceAccount, _) => &["iam.serviceAccounts.update"],
            (ResourceKind::WorkloadIdentityBinding, _) => &[
                "iam.serviceAccounts.getIamPolicy",
                "iam.serviceAccounts.setIamPolicy",
            ],
            (ResourceKind::ProjectRoleBinding, _) => &[
                "resourcemanager.projects.getIamPolicy",
                "resourcemanager.projects.setIamPolicy",
            ],
            _ => &[],
        };
        out.extend(list.iter().map(|p| p.to_string()));
    }
    out.into_iter().collect()
}

/// The preflight: every permission the plan's Google Cloud changes use, checked with
/// `testIamPermissions` on the project; the missing ones are named with who can grant them.
pub async fn preflight<G: GoogleCloud>(plan: &Plan, project: &str, gcp: &G) -> Result<(), Problem> {
    let wanted = required_permissions(plan);
    if wanted.is_empty() {
        return Ok(());
    }
    let granted = gcp.granted_permissions(project, &wanted).await?;
    let missing: Vec<&String> = wanted.iter().filter(|p| !granted.contains(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
    Err(Problem::new(
        ErrorCode::PermissionDenied,
        format!(
            "the signed-in Google identity lacks {} on project {project}; nothing was changed",
            list.join(", ")
        ),
    )
    .with_hint(
        "Ask a project owner (roles/owner, or roles/resourcemanager.projectIamAdmin) to grant you roles/iam.workloadIdentityPoolAdmin, roles/iam.serviceAccountAdmin and roles/resourcemanager.projectIamAdmin, or sign in with an identity that has them.",
    ))
}

/// The trust that exists now, as the simulator evaluates it (`None` when there is no
/// provider yet).
pub fn existing_trust(provider: &ProviderRef, observed: &ObservedGcp) -> Option<GcpTrust> {
    let p = observed.provider.as_ref()?;
    if p.lifecycle != GcpLifecycle::Active || p.disabled {
        return None;
    }
    Some(GcpTrust {
        provider: provider.clone(),
        issuer_uri: p.trust.issuer_uri.clone(),
        allowed_audiences: p.trust.allowed_audiences.clone(),
        attribute_mapping: p
            .trust
            .attribute_mapping
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        attribute_condition: p.trust.attribute_condition.clone(),
        service_account_members: members_of(
            &observed.service_account_bindings,
            WORKLOAD_IDENTITY_USER,
        )
        .into_iter()
        .map(str::to_string)
        .collect(),
    })
}

/// The claims of one run's token as Octopus writes them: `iss`, `aud`, `sub` and the
/// single-value claims the mapping reads.
pub fn run_claims(iss: &str, aud: &str, sub: &str, scope: &Scope) -> Value {
    let claim = |k: SubjectKey| format!("{OCTOPUS_CLAIM_PREFIX}{}", k.claim_name());
    json!({
        "iss": iss,
        "aud": aud,
        "sub": sub,
        claim(SubjectKey::Space): scope.inventory.space.slug,
        claim(SubjectKey::Account): scope.inventory.account.slug,
    })
}

/// The non-blocking remarks on a lifetime over an hour.
pub fn lifetime_warning(lifetime: u32) -> Option<String> {
    (lifetime > MAX_UNEXTENDED_LIFETIME_SECS).then(|| {
        format!(
            "the token lifetime {lifetime} s is over {MAX_UNEXTENDED_LIFETIME_SECS} s: generateAccessToken refuses it unless the organization policy constraints/{LIFETIME_EXTENSION_POLICY} lists the service account"
        )
    })
}

/// The provider reference of a gcp setup's desired state.
pub fn provider_of(desired: &DesiredState) -> Option<&ProviderRef> {
    desired.resources.iter().find_map(|r| match r {
        DesiredResource::WorkloadIdentityProvider { spec, .. } => Some(&spec.provider),
        _ => None,
    })
}

/// The service account email of a gcp setup's desired state.
pub fn service_account_of(desired: &DesiredState) -> Option<&str> {
    desired.resources.iter().find_map(|r| match r {
        DesiredResource::GcpServiceAccount { email, .. } => Some(email.as_str()),
        _ => None,
    })
}

/// The policy change of a project role binding step (`add` for creates, `remove` for
/// deletes), from the step's details.
pub fn project_role_change(details: &Value, remove: bool) -> Option<(String, GcpPolicyChange)> {
    let project = details.get("project")?.as_str()?.to_string();
    let role = details.get("role")?.as_str()?.to_string();
    let member = details.get("member")?.as_str()?.to_string();
    let entry = BTreeMap::from([(role, vec![member])]);
    let change = match remove {
        true => GcpPolicyChange {
            remove: entry,
            ..Default::default()
        },
        false => GcpPolicyChange {
            add: entry,
            ..Default::default()
        },
    };
    Some((project, change))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_pools_principals_are_removed() {
        let pool = "projects/1/locations/global/workloadIdentityPools/octo";
        let ours = format!("principal://iam.googleapis.com/{pool}/subject/a");
        let stale = format!("principal://iam.googleapis.com/{pool}/subject/b");
        let other_pool = "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/octo2/subject/b";
        let bindings = vec![GcpBinding {
            role: WORKLOAD_IDENTITY_USER.into(),
            members: vec![
                stale.clone(),
                other_pool.into(),
                "user:x@example.com".into(),
            ],
        }];
        let c = binding_change(
            WORKLOAD_IDENTITY_USER,
            std::slice::from_ref(&ours),
            pool,
            &bindings,
        );
        assert_eq!(c.add[WORKLOAD_IDENTITY_USER], vec![ours]);
        assert_eq!(c.remove[WORKLOAD_IDENTITY_USER], vec![stale]);
    }
}
