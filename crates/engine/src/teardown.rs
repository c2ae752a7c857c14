//! Teardown and status.
//!
//! [`teardown`] removes exactly what this setup created, confirmed against live state and
//! the ownership marks (never the journal alone), in reverse dependency order: role
//! assignment → credentials → app registration (its service principal goes with it);
//! IAM role (policies detached by the port) → OIDC provider, only if ours and no other role
//! trusts it; the service account's team membership, only if this setup's journal added
//! it; OIDC identity → service account, only if ours and it has no other identity;
//! project roles → workload identity binding → provider → pool (only if ours; Google keeps
//! both soft-deleted for 30 days, which the report says) → service account (only if ours);
//! then the Octopus account. Everything it leaves is listed with the reason. Each delete is
//! journaled (`delete_intent` → `deleted`) and reported as a step event.
//!
//! [`status`] says what exists now for a setup: each planned resource with whether it
//! exists, and the journal's last word on it (an interrupted change shows as such).

use futures::future::BoxFuture;
use octo_oidc_core::Problem;
use octo_oidc_core::events::{ProgressEvent, ProgressSink, StepStatus};
use octo_oidc_core::ports::{
    AzureRbac, EntraApps, GcpLifecycle, GcpPolicyChange, GcpPolicyTarget, GcpRemoval, GoogleCloud,
    Iam, Octopus,
};
use serde::Serialize;
use serde_json::Value;

use crate::apply::Cancellation;
use crate::desired::{ResourceKind, identity_name};
use crate::journal::{Journal, JournalEntry, JournalRecord, Phase, app_of as journal_app, entries};
use crate::observe::{Observation, PortSet};
use crate::ownership::{self, Owner};
use crate::plan::Action;

/// What teardown decided for one resource and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeardownItem {
    /// Kind.
    pub kind: ResourceKind,
    /// Name.
    pub name: String,
    /// The app registration (unique name) an Azure resource lives in: with `split_apps`
    /// several apps hold credentials and role assignments, so kind + name + app identify one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Its remote id.
    pub id: String,
    /// Deleted, left (with why), or failed.
    #[serde(flatten)]
    pub result: TeardownResult,
    /// What else the user should know (e.g. a pool Google keeps soft-deleted for 30 days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How one resource ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum TeardownResult {
    /// Deleted.
    Deleted,
    /// Left in place.
    Left {
        /// Why.
        reason: String,
    },
    /// The delete failed (teardown stops; rerun it).
    Failed {
        /// The port's problem.
        problem: Problem,
    },
    /// Not reached (cancelled or an earlier failure).
    NotRun,
}

/// What a teardown did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeardownReport {
    /// The setup.
    pub setup: String,
    /// Every resource considered, in the order handled.
    pub items: Vec<TeardownItem>,
    /// Why it stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

impl TeardownReport {
    /// What was left, with reasons.
    pub fn left(&self) -> Vec<(&TeardownItem, &str)> {
        self.items
            .iter()
            .filter_map(|i| match &i.result {
                TeardownResult::Left { reason } => Some((i, reason.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// A delete call; its `Some(note)` is shown with the item (e.g. Google's soft delete).
type Delete<'f> = BoxFuture<'f, Result<Option<String>, Problem>>;

/// A delete call with nothing to add.
fn plain<'f>(
    call: impl std::future::Future<Output = Result<(), Problem>> + Send + 'f,
) -> Delete<'f> {
    Box::pin(async move { call.await.map(|()| None) })
}

/// The note of a Google delete: soft-deleted resources stay for 30 days.
fn soft_delete_note(what: &str, removal: &GcpRemoval) -> Option<String> {
    let until = match removal {
        GcpRemoval::SoftDeleted { expire_time } => expire_time.clone(),
        GcpRemoval::AlreadyGone {
            lifecycle: Some(GcpLifecycle::SoftDeleted { expire_time }),
        } => expire_time.clone(),
        _ => return None,
    };
    Some(format!(
        "Google keeps the {what} soft-deleted for 30 days{}; its id cannot be reused until then unless it is undeleted (apply of this setup undeletes it)",
        until.map(|t| format!(" (until {t})")).unwrap_or_default()
    ))
}

/// A decided item: delete with this call, or leave with a reason.
enum Decision<'f> {
    Delete(Delete<'f>),
    Leave(String),
}

/// Tears down what `observation` shows this setup created.
pub async fn teardown<P: PortSet>(
    observation: &Observation,
    ports: P,
    journal: &dyn Journal,
    events: &dyn ProgressSink,
    cancel: &dyn Cancellation,
) -> TeardownReport {
    let setup = observation.plan.setup.as_str();
    let observed = &observation.observed;
    let issuer = observation.facts.server.issuer.as_str();
    let space_id = observation.facts.space.id.clone();
    let mut report = TeardownReport {
        setup: setup.to_string(),
        items: Vec::new(),
        problem: None,
    };
    let mut stopped = false;
    let mut index = 0usize;
    // The app registration whose resources are being handled (journaled with them).
    let mut in_app: Option<String>;
    macro_rules! handle {
        ($kind:expr, $name:expr, $id:expr, $decision:expr) => {{
            let (kind, name, id): (ResourceKind, String, String) =
                ($kind, $name.to_string(), $id.to_string());
            let mut note = None;
            let result = if stopped {
                TeardownResult::NotRun
            } else if cancel.is_cancelled() {
                stopped = true;
                report.problem = Some(Problem::new(
                    octo_oidc_core::ErrorCode::Cancelled,
                    "the teardown was cancelled between steps; run it again to finish",
                ));
                TeardownResult::NotRun
            } else {
                match $decision {
                    Decision::Leave(reason) => TeardownResult::Left { reason },
                    Decision::Delete(call) => {
                        let event = |status, detail| {
                            events.emit(ProgressEvent::Step {
                                index,
                                resource: kind.as_str().to_string(),
                                name: name.clone(),
                                action: "delete".into(),
                                status,
                                detail,
                            })
                        };
                        event(StepStatus::Started, None);
                        let run = async {
                            journal.append(
                                &JournalRecord::new(setup, Phase::DeleteIntent, kind, &name)
                                    .in_app(in_app.as_deref()),
                            )?;
                            let said = call.await?;
                            journal.append(
                                &JournalRecord::new(setup, Phase::Deleted, kind, &name)
                                    .in_app(in_app.as_deref())
                                    .id("id", &id),
                            )?;
                            Ok::<_, Problem>(said)
                        };
                        match run.await {
                            Ok(said) => {
                                note = said;
                                event(StepStatus::Done, Some(id.clone()));
                                TeardownResult::Deleted
                            }
                            Err(problem) => {
                                event(StepStatus::Failed, Some(problem.message.clone()));
                                stopped = true;
                                report.problem = Some(problem.clone());
                                TeardownResult::Failed { problem }
                            }
                        }
                    }
                }
            };
            index += 1;
            let deleted = result == TeardownResult::Deleted;
            report.items.push(TeardownItem {
                kind,
                name,
                app: in_app.clone(),
                id,
                result,
                note,
            });
            deleted
        }};
    }

    // Azure: per app, role assignments → credentials → the app (with its SP).
    for app in &observed.apps {
        in_app = Some(app.unique_name.clone());
        let ours =
            ownership::owner(ownership::setup_of_entra_tags(&app.tags), setup) == Owner::This;
        let object_id = app.application.object_id.clone();
        if !ours {
            handle!(
                ResourceKind::AppRegistration,
                app.application.display_name,
                object_id,
                Decision::Leave("not created by this setup (no octo-oidc:setup mark)".into())
            );
            continue;
        }
        if let Some(sp) = &app.service_principal {
            for a in observed
                .role_assignments
                .iter()
                .filter(|a| a.principal_id.eq_ignore_ascii_case(&sp.object_id))
            {
                let a2 = a.clone();
                handle!(
                    ResourceKind::RoleAssignment,
                    assignment_name(observation, &app.unique_name, a),
                    a.name,
                    Decision::Delete(plain(async move {
                        ports.rbac().delete_role_assignment(&a2).await
                    }))
                );
            }
        }
        let mut foreign = Vec::new();
        for c in &app.federated_credentials {
            if c.issuer == issuer {
                let (obj, name) = (object_id.clone(), c.name.clone());
                handle!(
                    ResourceKind::FederatedCredential,
                    c.name,
                    c.name,
                    Decision::Delete(plain(async move {
                        ports.entra().delete_federated_credential(&obj, &name).await
                    }))
                );
            } else {
                foreign.push(c.name.clone());
                handle!(
                    ResourceKind::FederatedCredential,
                    c.name,
                    c.name,
                    Decision::Leave(format!(
                        "trusts another issuer ({}); not created by this setup",
                        c.issuer
                    ))
                );
            }
        }
        let decision = match foreign.is_empty() {
            true => {
                let obj = object_id.clone();
                Decision::Delete(plain(async move {
                    ports.entra().delete_application(&obj).await
                }))
            }
            false => Decision::Leave(format!(
                "it still holds credentials this setup did not create ({}); delete them first or delete the app in the Entra portal",
                foreign.join(", ")
            )),
        };
        let app_deleted = handle!(
            ResourceKind::AppRegistration,
            app.application.display_name,
            object_id,
            decision
        );
        if app_deleted && app.service_principal.is_some() {
            // The service principal went with its app.
            let record = JournalRecord::new(
                setup,
                Phase::Deleted,
                ResourceKind::ServicePrincipal,
                &app.unique_name,
            )
            .in_app(Some(&app.unique_name));
            if let Err(problem) = journal.append(&record) {
                stopped = true;
                report.problem = Some(problem);
            }
        }
    }
    in_app = None;

    // AWS: role → provider.
    let mut our_role_deleted = None;
    if let Some(role) = &observed.iam_role {
        let decision = match ownership::owner(ownership::setup_of_aws_tags(&role.tags), setup) {
            Owner::This => {
                let name = role.name.clone();
                Decision::Delete(plain(async move { ports.iam().delete_role(&name).await }))
            }
            _ => Decision::Leave(format!(
                "no {}={setup} tag: not created by this setup",
                ownership::AWS_TAG_KEY
            )),
        };
        if handle!(ResourceKind::IamRole, role.name, role.arn, decision) {
            our_role_deleted = Some(role.name.clone());
        }
    }
    if let Some(p) = &observed.oidc_provider {
        let decision = match ownership::owner(ownership::setup_of_aws_tags(&p.tags), setup) {
            Owner::This if !stopped => match ports.iam().roles_trusting_provider(&p.arn).await {
                Err(problem) => Decision::Leave(format!(
                    "could not check which roles trust it ({}); delete it by hand when no role uses it",
                    problem.message
                )),
                Ok(roles) => {
                    let others: Vec<String> = roles
                        .into_iter()
                        .filter(|r| Some(r) != our_role_deleted.as_ref())
                        .collect();
                    if others.is_empty() {
                        let arn = p.arn.clone();
                        Decision::Delete(plain(async move {
                            ports.iam().delete_oidc_provider(&arn).await
                        }))
                    } else {
                        Decision::Leave(format!(
                            "other roles still trust it: {}",
                            others.join(", ")
                        ))
                    }
                }
            },
            Owner::This => Decision::Leave("not reached".into()),
            Owner::OtherSetup(o) => {
                Decision::Leave(format!("created by setup '{o}', which still uses it"))
            }
            Owner::Foreign => {
                Decision::Leave("existed before this setup (not tagged by it)".into())
            }
        };
        handle!(ResourceKind::OidcProvider, p.url, p.arn, decision);
    }

    // CI: team membership (only one this setup added, as its journal says) → identity →
    // service account.
    if let (Some(sa), Some(team)) = (&observed.service_account, &observed.team)
        && team.member_user_ids.contains(&sa.id)
    {
        let name = observation
            .plan
            .steps
            .iter()
            .find(|s| s.kind == ResourceKind::TeamMembership)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| format!("{} in {}", sa.username, team.name));
        let added_by_us = journal
            .records()
            .map(|r| entries(&r))
            .unwrap_or_default()
            .iter()
            .any(|e| {
                e.kind == ResourceKind::TeamMembership && e.name == name && e.created_by_setup
            });
        let decision = match added_by_us {
            true => {
                let (team_id, user_id) = (team.id.clone(), sa.id.clone());
                Decision::Delete(Box::pin(async move {
                    ports
                        .octopus()
                        .remove_team_member(&team_id, &user_id)
                        .await
                        .map(|_| None)
                }))
            }
            false => Decision::Leave(
                "the membership existed before this setup (its journal did not add it)".into(),
            ),
        };
        handle!(ResourceKind::TeamMembership, name, team.id, decision);
    }
    if let Some(sa) = &observed.service_account {
        let ours_name = identity_name(setup);
        let mut others = Vec::new();
        for i in &observed.oidc_identities {
            if i.spec.name == ours_name {
                let (sa_id, id) = (sa.id.clone(), i.id.clone());
                handle!(
                    ResourceKind::OidcIdentity,
                    i.spec.name,
                    i.id,
                    Decision::Delete(plain(async move {
                        ports.octopus().delete_oidc_identity(&sa_id, &id).await
                    }))
                );
            } else {
                others.push(i.spec.name.clone());
            }
        }
        let decision = if sa.created_by.as_deref() != Some(setup) {
            Decision::Leave("existed before this setup (reused, not created by it)".into())
        } else if !others.is_empty() {
            Decision::Leave(format!(
                "it has OIDC identities this setup did not create: {}",
                others.join(", ")
            ))
        } else {
            let id = sa.id.clone();
            Decision::Delete(plain(async move {
                ports.octopus().delete_service_account(&id).await
            }))
        };
        handle!(ResourceKind::ServiceAccount, sa.username, sa.id, decision);
    }

    // Google Cloud: project roles → workload identity binding → provider → pool → service
    // account.
    let gcp = &observed.gcp;
    let folded = journal.records().map(|r| entries(&r)).unwrap_or_default();
    let added_by_us = |kind: ResourceKind, name: &str| {
        folded
            .iter()
            .any(|e| e.kind == kind && e.name == name && e.created_by_setup)
    };
    let marked = |description: &str| {
        ownership::owner(ownership::setup_of_gcp_description(description), setup) == Owner::This
    };
    if let Some(sa) = &gcp.service_account {
        let sa_ours = marked(&sa.description);
        let member = crate::google::service_account_member(&sa.email);
        let project = observation
            .facts
            .gcp_project
            .as_ref()
            .map(|p| p.project_id.clone())
            .unwrap_or_default();
        for b in gcp
            .project_bindings
            .iter()
            .filter(|b| b.members.contains(&member))
        {
            let name = crate::google::project_binding_name(&project, &b.role);
            let decision = if sa_ours || added_by_us(ResourceKind::ProjectRoleBinding, &name) {
                let change = GcpPolicyChange {
                    remove: [(b.role.clone(), vec![member.clone()])].into(),
                    ..Default::default()
                };
                let target = GcpPolicyTarget::Project(project.clone());
                Decision::Delete(Box::pin(async move {
                    ports
                        .gcp()
                        .change_policy(&target, &change)
                        .await
                        .map(|_| None)
                }))
            } else {
                Decision::Leave(
                    "the service account is not this setup's and the journal does not show that the setup granted this role".into(),
                )
            };
            handle!(ResourceKind::ProjectRoleBinding, name, b.role, decision);
        }
    }
    let pool_ours = gcp.pool.as_ref().is_some_and(|p| marked(&p.description));
    for r in &observation.desired.resources {
        let crate::desired::DesiredResource::WorkloadIdentityBinding {
            service_account,
            role,
            pool,
            ..
        } = r
        else {
            continue;
        };
        let change = crate::google::binding_change(role, &[], pool, &gcp.service_account_bindings);
        if change.remove.is_empty() {
            continue;
        }
        let decision = if pool_ours || added_by_us(r.kind(), &r.name()) {
            let target = GcpPolicyTarget::ServiceAccount(service_account.clone());
            Decision::Delete(Box::pin(async move {
                ports
                    .gcp()
                    .change_policy(&target, &change)
                    .await
                    .map(|_| None)
            }))
        } else {
            Decision::Leave("the pool is not this setup's, so neither are its principals".into())
        };
        handle!(r.kind(), r.name(), service_account, decision);
    }
    let provider_ref = crate::google::provider_of(&observation.desired);
    if let (Some(p), Some(provider)) = (&gcp.provider, provider_ref) {
        let decision = match (marked(&p.description), &p.lifecycle) {
            (false, _) => Decision::Leave(
                "not created by this setup (no octo-oidc:setup mark in its description)".into(),
            ),
            (true, GcpLifecycle::SoftDeleted { .. }) => {
                Decision::Leave("already soft-deleted".into())
            }
            (true, GcpLifecycle::Active) => {
                let provider = provider.clone();
                Decision::Delete(Box::pin(async move {
                    let removal = ports.gcp().delete_provider(&provider).await?;
                    Ok(soft_delete_note("provider", &removal))
                }))
            }
        };
        handle!(
            ResourceKind::WorkloadIdentityProvider,
            p.name,
            p.name,
            decision
        );
    }
    if let (Some(p), Some(provider)) = (&gcp.pool, provider_ref) {
        let decision = match (pool_ours, &p.lifecycle) {
            (false, _) => Decision::Leave(
                "not created by this setup (no octo-oidc:setup mark in its description)".into(),
            ),
            (true, GcpLifecycle::SoftDeleted { expire_time }) => Decision::Leave(format!(
                "already soft-deleted; Google purges it 30 days after its deletion{}",
                expire_time
                    .as_ref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            )),
            (true, GcpLifecycle::Active) => {
                let (number, pool) = (provider.project_number.clone(), provider.pool_id.clone());
                Decision::Delete(Box::pin(async move {
                    let removal = ports.gcp().delete_pool(&number, &pool).await?;
                    Ok(soft_delete_note("pool", &removal))
                }))
            }
        };
        handle!(ResourceKind::WorkloadIdentityPool, p.name, p.name, decision);
    }
    if let Some(sa) = &gcp.service_account {
        let decision = match marked(&sa.description) {
            true => {
                let email = sa.email.clone();
                Decision::Delete(Box::pin(async move {
                    ports
                        .gcp()
                        .delete_service_account(&email)
                        .await
                        .map(|_| None)
                }))
            }
            false => {
                Decision::Leave("existed before this setup (reused, not created by it)".into())
            }
        };
        handle!(
            ResourceKind::GcpServiceAccount,
            sa.email,
            sa.unique_id,
            decision
        );
    }

    // Octopus accounts.
    for a in &observed.octopus_accounts {
        let name = a
            .body
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let description = a
            .body
            .get("Description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let decision = match ownership::owner(ownership::setup_of_description(description), setup) {
            Owner::This => {
                let (space, id) = (space_id.clone(), a.id.clone());
                Decision::Delete(plain(async move {
                    ports.octopus().delete_account(&space, &id).await
                }))
            }
            _ => Decision::Leave(
                "its description does not carry this setup's mark: not created by it".into(),
            ),
        };
        handle!(ResourceKind::OctopusAccount, name, a.id, decision);
    }
    // A delete cut short whose resource is gone now: record it, so the journal matches live
    // state (what still exists was handled above).
    if !stopped {
        let folded = journal.records().map(|r| entries(&r)).unwrap_or_default();
        // A service principal cannot outlive its app: when the app is gone, so is it.
        let orphan_sp = |e: &JournalEntry| {
            e.kind == ResourceKind::ServicePrincipal
                && e.last != Phase::Deleted
                && !observed.apps.iter().any(|a| a.unique_name == e.name)
        };
        let handled = |e: &JournalEntry| {
            report
                .items
                .iter()
                .any(|i| i.kind == e.kind && i.name == e.name && i.app == e.app)
        };
        let gone: Vec<&JournalEntry> = folded
            .iter()
            .filter(|e| (e.last == Phase::DeleteIntent || orphan_sp(e)) && !handled(e))
            .collect();
        for e in gone {
            let record =
                JournalRecord::new(setup, Phase::Deleted, e.kind, &e.name).in_app(e.app.as_deref());
            if let Err(problem) = journal.append(&record) {
                report.problem = Some(problem);
                break;
            }
        }
    }
    report
}

/// The plan's name of an assignment (`<role> on <scope>`), so its journal entry matches.
fn assignment_name(
    observation: &Observation,
    app: &str,
    a: &octo_oidc_core::ports::RoleAssignment,
) -> String {
    observation
        .desired
        .resources
        .iter()
        .find(|r| matches!(r, crate::desired::DesiredResource::RoleAssignment { app: x, scope, .. } if x == app && scope.eq_ignore_ascii_case(&a.scope)))
        .map(crate::desired::DesiredResource::name)
        .unwrap_or_else(|| {
            format!(
                "role {} on {}",
                a.role_definition_id.rsplit('/').next().unwrap_or_default(),
                a.scope
            )
        })
}

/// One resource's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusItem {
    /// Kind.
    pub kind: ResourceKind,
    /// Name.
    pub name: String,
    /// The app registration (unique name) an Azure resource lives in (kind + name + app
    /// identify one resource; `split_apps` has several apps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Whether it exists now.
    pub exists: bool,
    /// Its remote id, if it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What apply would do (`unchanged` = in place as the setup wants it).
    pub action: Action,
    /// The journal's last phase for it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<Phase>,
    /// Whether the journal shows a change that was cut short.
    pub interrupted: bool,
    /// Notes (shared, conflicts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What exists now for a setup, from live state and the journal.
pub fn status(
    observation: &Observation,
    journal: &dyn Journal,
) -> Result<Vec<StatusItem>, Problem> {
    let folded: Vec<JournalEntry> = entries(&journal.records()?);
    let mut items: Vec<StatusItem> = observation
        .plan
        .steps
        .iter()
        .map(|s| {
            let e = folded.iter().find(|e| e.is_for(s));
            StatusItem {
                kind: s.kind,
                name: s.name.clone(),
                app: journal_app(s).map(str::to_string),
                exists: s.action != Action::Create,
                id: s.id.clone().filter(|_| s.action != Action::Create),
                action: s.action,
                journal: e.map(|e| e.last),
                interrupted: e.is_some_and(JournalEntry::interrupted),
                note: s.reason.clone(),
            }
        })
        .collect();
    for e in &folded {
        let listed = items
            .iter()
            .any(|i| i.kind == e.kind && i.name == e.name && i.app == e.app);
        if !listed && e.last != Phase::Deleted {
            items.push(StatusItem {
                kind: e.kind,
                name: e.name.clone(),
                app: e.app.clone(),
                exists: false,
                id: e.ids.values().next().cloned(),
                action: Action::Unchanged,
                journal: Some(e.last),
                interrupted: e.interrupted(),
                note: Some("in the journal but no longer in the setup's plan".into()),
            });
        }
    }
    Ok(items)
}
