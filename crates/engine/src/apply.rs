//! Apply: walks an [`Observation`]'s plan through the ports, in dependency order, with
//! independent steps run concurrently: a step starts as soon as the steps it depends on are
//! done (`FuturesUnordered`; e.g. an Azure app's service principal and all its credentials
//! together, and the role assignment as soon as the service principal is done, not after
//! the credentials). A step's wave is its depth in the dependency order.
//!
//! Each acting step: journal `intent` → the port's idempotent `ensure_*` / `delete_*` (for a
//! `create` step, the port's `create_*`: the same contract, without looking again for what
//! observe has just found absent) → journal `done` / `deleted` ([`crate::journal`]), with
//! a [`ProgressEvent::Step`] when it starts and when it ends (retries are reported by the
//! clients through the same sink). The intents of the steps that become ready together are
//! appended with one [`Journal::append_all`] before any of them calls, and so are the
//! records closing the steps that have finished by the time one is closed (one sync each
//! instead of one per step); a step whose record could not be appended is failed, before its
//! call or after it.
//! `unchanged` steps send nothing; their ids come from the observed state. Cancellation is
//! checked before any step starts; a failed step stops the apply (steps already running
//! finish and are journaled, no new one starts), leaving a journal a rerun resumes from.
//!
//! Propagation: a step starts only when the steps it depends on are done (the provider
//! before the role, the service principal before its role assignment; the account, which
//! needs only ids known earlier, beside the role or the service principal); the clients
//! retry the clouds' propagation errors (`PrincipalNotFound`, a provider or role not yet
//! visible) inside the port call with the core's one loop (`retry::run`, propagation
//! policy, per-call deadline), so the engine adds no loop of its own. A fault that outlasts
//! the deadline surfaces as the step's `timeout` problem with the journal left resumable.
//! Cancellation: anything that is a [`Cancellation`], e.g. the core's `CancelToken` (the same
//! token the clients honour inside their calls).
//!
//! Ownership: what the setup creates carries its mark (AWS tags from the desired specs,
//! Entra notes + tags through [`ApplicationSpec::marked`], the Octopus account's description,
//! the service account's display name). A plan with conflicts is refused before any call.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use octo_oidc_core::Problem;
use octo_oidc_core::azure::role_assignment;
use octo_oidc_core::error::ErrorCode;
use octo_oidc_core::events::{ProgressEvent, ProgressSink, StepStatus};
use octo_oidc_core::ports::{
    ApplicationSpec, Applied, AzureRbac, EntraApplication, EntraApps, FederatedCredential,
    GcpPolicyTarget, GoogleCloud, Iam, Octopus, RoleAssignment, ServicePrincipal,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::desired::{DesiredResource, ResourceKind};
use crate::journal::{Journal, JournalRecord, Outcome, Phase, entries};
use crate::observe::{Observation, PortSet};
use crate::plan::{Action, PlanStep};

/// Whether the user asked to stop; checked between steps.
pub trait Cancellation: Send + Sync {
    /// Whether to stop before the next step.
    fn is_cancelled(&self) -> bool;
}

impl Cancellation for AtomicBool {
    fn is_cancelled(&self) -> bool {
        self.load(Ordering::SeqCst)
    }
}

impl Cancellation for octo_oidc_core::retry::CancelToken {
    fn is_cancelled(&self) -> bool {
        octo_oidc_core::retry::CancelToken::is_cancelled(self)
    }
}

/// Never cancelled.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotCancelled;

impl Cancellation for NotCancelled {
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum StepResult {
    /// Nothing to do.
    Unchanged,
    /// The remote change was made; `ids` as journaled.
    Done {
        /// Ids, ARNs, names.
        ids: BTreeMap<String, String>,
    },
    /// The step failed.
    Failed {
        /// The port's problem (code, message, hint).
        problem: Problem,
    },
    /// Not run (cancelled, or an earlier step failed).
    NotRun,
}

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// Its index in the plan.
    pub index: usize,
    /// Kind.
    pub kind: ResourceKind,
    /// Name.
    pub name: String,
    /// What the plan said.
    pub action: Action,
    /// The wave it ran in (steps of one wave run concurrently); 0 = not run.
    pub wave: usize,
    /// How it ended.
    #[serde(flatten)]
    pub result: StepResult,
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// The setup.
    pub setup: String,
    /// Every step, in plan order.
    pub steps: Vec<StepReport>,
    /// Why it stopped early, if it did (the first failure, or `cancelled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
    /// The account ids, role ARN, client ids and service account ids the setup now has.
    pub outputs: BTreeMap<String, String>,
}

impl ApplyReport {
    /// The report of an apply that did not start (every step `not_run`), stopped by
    /// `problem` (e.g. the preflight's refusal).
    pub fn not_started(observation: &Observation, problem: Option<Problem>) -> ApplyReport {
        let plan = &observation.plan;
        ApplyReport {
            setup: plan.setup.clone(),
            steps: plan
                .steps
                .iter()
                .enumerate()
                .map(|(index, s)| StepReport {
                    index,
                    kind: s.kind,
                    name: s.name.clone(),
                    action: s.action,
                    wave: 0,
                    result: StepResult::NotRun,
                })
                .collect(),
            problem,
            outputs: BTreeMap::new(),
        }
    }

    /// Whether every step ran to its end.
    pub fn is_complete(&self) -> bool {
        self.problem.is_none()
    }
}

/// Ids learned from the observed state and from earlier steps.
#[derive(Debug, Clone, Default)]
struct Known {
    apps: BTreeMap<String, EntraApplication>,
    service_principals: BTreeMap<String, ServicePrincipal>,
    service_account_id: Option<String>,
}

/// What a finished step adds to [`Known`].
enum Learned {
    Nothing,
    App(String, EntraApplication),
    ServicePrincipal(String, ServicePrincipal),
    ServiceAccount(String),
}

/// Applies the plan of `observation`. Refuses a plan with conflicts (nothing is sent).
pub async fn apply<P: PortSet>(
    observation: &Observation,
    ports: P,
    journal: &dyn Journal,
    events: &dyn ProgressSink,
    cancel: &dyn Cancellation,
) -> ApplyReport {
    let plan = &observation.plan;
    let mut report = ApplyReport::not_started(observation, None);
    if plan.has_conflicts() {
        let names: Vec<String> = plan
            .steps
            .iter()
            .filter(|s| s.action == Action::Conflict)
            .map(|s| {
                format!(
                    "{} '{}': {}",
                    s.kind.as_str(),
                    s.name,
                    s.reason.as_deref().unwrap_or("")
                )
            })
            .collect();
        report.problem = Some(
            Problem::new(
                ErrorCode::Conflict,
                format!(
                    "the plan has conflicts; nothing was changed: {}",
                    names.join("; ")
                ),
            )
            .with_hint("Resolve each conflict as its reason says, then plan again."),
        );
        return report;
    }
    let mut known = Known::default();
    for app in &observation.observed.apps {
        known
            .apps
            .insert(app.unique_name.clone(), app.application.clone());
        if let Some(sp) = &app.service_principal {
            known
                .service_principals
                .insert(app.unique_name.clone(), sp.clone());
        }
    }
    known.service_account_id = observation
        .observed
        .service_account
        .as_ref()
        .map(|s| s.id.clone());
    // Preflight: the Google identity holds every permission the plan's changes use.
    if let Some(project) = &observation.facts.gcp_project
        && plan.has_changes()
        && let Err(problem) = crate::google::preflight(plan, &project.project_id, ports.gcp()).await
    {
        report.problem = Some(problem);
        return report;
    }
    // A change cut short by a crash (intent without done) whose resource now exists as the
    // setup wants it: record what exists, so the journal matches live state again.
    if let Err(problem) = close_interrupted(observation, journal) {
        report.problem = Some(problem);
        return report;
    }

    // Each step starts as soon as the steps it depends on are done (not when a whole wave
    // of them is): its wave number is its depth in the dependency order. The intents of the
    // steps that become ready together are journaled in one append before any of them calls.
    let mut finished: BTreeSet<usize> = BTreeSet::new();
    let mut started: BTreeSet<usize> = BTreeSet::new();
    let mut running = FuturesUnordered::new();
    loop {
        if report.problem.is_none() {
            let ready: Vec<usize> = (0..plan.steps.len())
                .filter(|i| !started.contains(i))
                .filter(|i| {
                    plan.steps[*i]
                        .depends_on
                        .iter()
                        .all(|d| finished.contains(d))
                })
                .collect();
            if !ready.is_empty() && cancel.is_cancelled() {
                report.problem = Some(
                    Problem::new(
                        ErrorCode::Cancelled,
                        "the apply was cancelled between steps",
                    )
                    .with_hint(
                        "Run apply again to finish: it resumes from the journal and what exists.",
                    ),
                );
            } else if !ready.is_empty() {
                for &i in &ready {
                    started.insert(i);
                    report.steps[i].wave = 1 + plan.steps[i]
                        .depends_on
                        .iter()
                        .map(|d| report.steps[*d].wave)
                        .max()
                        .unwrap_or(0);
                }
                let acting: Vec<usize> = ready
                    .iter()
                    .copied()
                    .filter(|i| acts(&plan.steps[*i]))
                    .collect();
                for &i in &acting {
                    emit(events, i, &plan.steps[i], StepStatus::Started, None);
                }
                let intents: Vec<JournalRecord> = acting
                    .iter()
                    .map(|&i| intent(&plan.steps[i], &plan.setup))
                    .collect();
                let mut written = journal.append_all(&intents).into_iter();
                for i in ready {
                    // A step whose intent could not be journaled does not call anything.
                    if acts(&plan.steps[i])
                        && let Some(Err(problem)) = written.next()
                    {
                        fail(&mut report, events, i, &plan.steps[i], problem);
                        continue;
                    }
                    let known = known.clone();
                    running.push(async move {
                        let outcome = run_step(observation, i, &known, ports).await;
                        (i, outcome)
                    });
                }
            }
        }
        let Some(first) = running.next().await else {
            break;
        };
        // Every step that has finished by now is closed with one append.
        let mut batch = vec![first];
        while let Some(Some(next)) = running.next().now_or_never() {
            batch.push(next);
        }
        let closing: Vec<JournalRecord> = batch
            .iter()
            .filter_map(|(_, outcome)| match outcome {
                Ok(Some((record, _))) => Some(record.clone()),
                _ => None,
            })
            .collect();
        let mut written = journal.append_all(&closing).into_iter();
        for (i, outcome) in batch {
            let step = &plan.steps[i];
            match outcome {
                Ok(None) => {
                    emit(events, i, step, StepStatus::Done, step.id.clone());
                    report.steps[i].result = StepResult::Unchanged;
                    finished.insert(i);
                }
                Ok(Some((record, learned))) => match written.next().unwrap_or(Ok(())) {
                    Ok(()) => {
                        match learned {
                            Learned::Nothing => {}
                            Learned::App(name, app) => {
                                known.apps.insert(name, app);
                            }
                            Learned::ServicePrincipal(name, sp) => {
                                known.service_principals.insert(name, sp);
                            }
                            Learned::ServiceAccount(id) => known.service_account_id = Some(id),
                        }
                        for (k, v) in &record.ids {
                            report
                                .outputs
                                .insert(format!("{}.{k}", step.kind.as_str()), v.clone());
                        }
                        emit(
                            events,
                            i,
                            step,
                            StepStatus::Done,
                            record.ids.values().next().cloned(),
                        );
                        report.steps[i].result = StepResult::Done { ids: record.ids };
                        finished.insert(i);
                    }
                    // The change was made but not journaled: a rerun finds it by name.
                    Err(problem) => fail(&mut report, events, i, step, problem),
                },
                Err(problem) => fail(&mut report, events, i, step, problem),
            }
        }
    }
    report
}

/// Step `i` failed: the first failure stops the apply (steps already running finish, no new
/// one starts).
fn fail(
    report: &mut ApplyReport,
    events: &dyn ProgressSink,
    i: usize,
    step: &PlanStep,
    problem: Problem,
) {
    emit(
        events,
        i,
        step,
        StepStatus::Failed,
        Some(problem.message.clone()),
    );
    report.problem.get_or_insert_with(|| problem.clone());
    report.steps[i].result = StepResult::Failed { problem };
}

/// Whether a step changes something (and so is journaled).
fn acts(step: &PlanStep) -> bool {
    !matches!(step.action, Action::Unchanged | Action::Conflict)
}

/// The record a step journals before its call.
fn intent(step: &PlanStep, setup: &str) -> JournalRecord {
    let phase = match step.action {
        Action::Delete => Phase::DeleteIntent,
        _ => Phase::Intent,
    };
    JournalRecord::for_step(setup, phase, step)
}

fn close_interrupted(observation: &Observation, journal: &dyn Journal) -> Result<(), Problem> {
    let folded = entries(&journal.records()?);
    for step in &observation.plan.steps {
        let Some(entry) = folded.iter().find(|e| e.is_for(step)) else {
            continue;
        };
        let ours = step.action == Action::Unchanged && step.reason.is_none();
        if let (Phase::Intent, true, Some(id)) = (entry.last, ours, &step.id) {
            journal.append(
                &JournalRecord::for_step(&observation.plan.setup, Phase::Done, step)
                    .outcome(Outcome::Created)
                    .id("id", id),
            )?;
        }
    }
    Ok(())
}

fn emit(
    events: &dyn ProgressSink,
    index: usize,
    step: &PlanStep,
    status: StepStatus,
    detail: Option<String>,
) {
    events.emit(ProgressEvent::Step {
        index,
        resource: step.kind.as_str().to_string(),
        name: step.name.clone(),
        action: step.action.as_str().to_string(),
        status,
        detail,
    });
}

fn desired_for<'a>(
    observation: &'a Observation,
    step: &PlanStep,
) -> Result<&'a DesiredResource, Problem> {
    observation
        .desired
        .resources
        .iter()
        .find(|r| {
            r.kind() == step.kind
                && r.name() == step.name
                && match (app_of_resource(r), step.app()) {
                    (Some(ours), Some(wanted)) => ours == wanted,
                    _ => true,
                }
        })
        .ok_or_else(|| {
            Problem::new(
                ErrorCode::Internal,
                format!("no desired {} named '{}'", step.kind.as_str(), step.name),
            )
        })
}

/// The app registration a resource belongs to. With `split_apps` several apps have
/// resources of the same kind and name (each app's role assignment is "ROLE on SCOPE"), so a
/// step finds its desired resource by its app too.
fn app_of_resource(resource: &DesiredResource) -> Option<&str> {
    match resource {
        DesiredResource::ServicePrincipal { app }
        | DesiredResource::FederatedCredential { app, .. }
        | DesiredResource::RoleAssignment { app, .. } => Some(app),
        _ => None,
    }
}

fn outcome_of<T>(applied: &Applied<T>) -> Outcome {
    match applied {
        Applied::Created(_) => Outcome::Created,
        _ => Outcome::Updated,
    }
}

/// What a step that teaches later steps nothing returns: its outcome and the ids to journal.
fn reported<'a, T>(
    applied: &Applied<T>,
    ids: Vec<(&'a str, String)>,
) -> (Outcome, Vec<(&'a str, String)>, Learned) {
    (outcome_of(applied), ids, Learned::Nothing)
}

/// A policy change reports `updated` even when it adds a binding: a planned create that
/// changed the policy is journaled as created (teardown removes what the setup added).
fn binding_outcome<T>(step: &PlanStep, applied: &Applied<T>) -> Outcome {
    match (step.action, applied.changed()) {
        (Action::Create, true) => Outcome::Created,
        _ => outcome_of(applied),
    }
}

/// Runs one step's call (nothing for unchanged and conflicting steps); the record that
/// closes it (`done`, `deleted`) is journaled by the caller, with those of the steps that
/// finished with it.
async fn run_step<P: PortSet>(
    observation: &Observation,
    index: usize,
    known: &Known,
    ports: P,
) -> Result<Option<(JournalRecord, Learned)>, Problem> {
    let step = &observation.plan.steps[index];
    if !acts(step) {
        return Ok(None);
    }
    act(observation, step, known, ports).await.map(Some)
}

async fn act<P: PortSet>(
    observation: &Observation,
    step: &PlanStep,
    known: &Known,
    ports: P,
) -> Result<(JournalRecord, Learned), Problem> {
    let setup = observation.plan.setup.as_str();
    let record = |phase| JournalRecord::for_step(setup, phase, step);
    if step.action == Action::Delete {
        match step.kind {
            ResourceKind::FederatedCredential => {
                let app = app_of(known, step)?;
                ports
                    .entra()
                    .delete_federated_credential(&app.object_id, &step.name)
                    .await?;
            }
            ResourceKind::RoleAssignment => {
                let assignment: RoleAssignment = serde_json::from_value(step.details.clone())
                    .map_err(|e| Problem::new(ErrorCode::Internal, e.to_string()))?;
                ports.rbac().delete_role_assignment(&assignment).await?;
            }
            ResourceKind::ProjectRoleBinding => {
                let (project, change) = crate::google::project_role_change(&step.details, true)
                    .ok_or_else(|| missing("project role binding", &step.name))?;
                ports
                    .gcp()
                    .change_policy(&GcpPolicyTarget::Project(project), &change)
                    .await?;
            }
            other => {
                return Err(Problem::new(
                    ErrorCode::Internal,
                    format!("apply does not delete {}", other.as_str()),
                ));
            }
        }
        return Ok((record(Phase::Deleted), Learned::Nothing));
    }
    let desired = desired_for(observation, step)?;
    let space_id = observation.facts.space.id.as_str();
    // Observe has just looked this resource up and found it absent: the port may create it
    // without looking again (it falls back to its `ensure_*` if it exists after all).
    let create = step.action == Action::Create;
    let (outcome, ids, learned): (Outcome, Vec<(&str, String)>, Learned) = match desired {
        DesiredResource::OidcProvider { spec, .. } => {
            let applied = match create {
                true => ports.iam().create_oidc_provider(spec).await?,
                false => ports.iam().ensure_oidc_provider(spec).await?,
            };
            reported(&applied, vec![("arn", applied.value().arn.clone())])
        }
        DesiredResource::IamRole { spec, .. } => {
            let applied = match create {
                true => ports.iam().create_role(spec).await?,
                false => ports.iam().ensure_role(spec).await?,
            };
            reported(&applied, vec![("arn", applied.value().arn.clone())])
        }
        DesiredResource::AppRegistration {
            unique_name,
            display_name,
            ..
        } => {
            let spec = ApplicationSpec::named(unique_name, display_name).marked(setup);
            let applied = match create {
                true => ports.entra().create_application(&spec).await?,
                false => ports.entra().ensure_application(&spec).await?,
            };
            let outcome = outcome_of(&applied);
            let app = applied.into_inner();
            (
                outcome,
                vec![
                    ("object_id", app.object_id.clone()),
                    ("app_id", app.app_id.clone()),
                ],
                Learned::App(unique_name.clone(), app),
            )
        }
        DesiredResource::ServicePrincipal { app } => {
            let application = known
                .apps
                .get(app)
                .ok_or_else(|| missing("app registration", app))?;
            let applied = match create {
                true => {
                    ports
                        .entra()
                        .create_service_principal(&application.app_id)
                        .await?
                }
                false => {
                    ports
                        .entra()
                        .ensure_service_principal(&application.app_id)
                        .await?
                }
            };
            let outcome = outcome_of(&applied);
            let sp = applied.into_inner();
            (
                outcome,
                vec![("object_id", sp.object_id.clone())],
                Learned::ServicePrincipal(app.clone(), sp),
            )
        }
        DesiredResource::FederatedCredential { app, credential } => {
            let application = known
                .apps
                .get(app)
                .ok_or_else(|| missing("app registration", app))?;
            let applied: Applied<FederatedCredential> = match create {
                true => {
                    ports
                        .entra()
                        .create_federated_credential(&application.object_id, credential)
                        .await?
                }
                false => {
                    ports
                        .entra()
                        .ensure_federated_credential(&application.object_id, credential)
                        .await?
                }
            };
            reported(
                &applied,
                vec![
                    ("app_object_id", application.object_id.clone()),
                    ("name", applied.value().name.clone()),
                ],
            )
        }
        DesiredResource::RoleAssignment {
            app,
            scope,
            role_definition_id,
            ..
        } => {
            let sp = known
                .service_principals
                .get(app)
                .ok_or_else(|| missing("service principal", app))?;
            let def = role_definition_id
                .as_deref()
                .ok_or_else(|| missing("role definition", scope))?;
            let wanted = role_assignment(scope, def, &sp.object_id);
            let applied = match create {
                true => ports.rbac().create_role_assignment(&wanted).await?,
                false => ports.rbac().ensure_role_assignment(&wanted).await?,
            };
            reported(
                &applied,
                vec![
                    ("name", applied.value().name.clone()),
                    ("scope", applied.value().scope.clone()),
                ],
            )
        }
        DesiredResource::OctopusAccount {
            body, client_id_of, ..
        } => {
            let mut body: Value = body.clone();
            if let (Some(app), Some(o)) = (client_id_of, body.as_object_mut()) {
                let application = known
                    .apps
                    .get(app)
                    .ok_or_else(|| missing("app registration", app))?;
                o.insert("ClientId".into(), json!(application.app_id));
            }
            let applied = match create {
                true => ports.octopus().create_account(space_id, &body).await?,
                false => ports.octopus().ensure_account(space_id, &body).await?,
            };
            reported(&applied, vec![("id", applied.value().id.clone())])
        }
        DesiredResource::ServiceAccount {
            username,
            display_name,
        } => {
            let applied = ports
                .octopus()
                .ensure_service_account(username, display_name)
                .await?;
            let outcome = outcome_of(&applied);
            let sa = applied.into_inner();
            (
                outcome,
                vec![("id", sa.id.clone())],
                Learned::ServiceAccount(sa.id),
            )
        }
        DesiredResource::OidcIdentity {
            spec,
            service_account,
        } => {
            let sa = known
                .service_account_id
                .as_deref()
                .ok_or_else(|| missing("service account", service_account))?;
            let applied = ports.octopus().ensure_oidc_identity(sa, spec).await?;
            reported(
                &applied,
                vec![
                    ("identity_id", applied.value().identity_id.clone()),
                    ("external_id", applied.value().external_id.clone()),
                ],
            )
        }
        DesiredResource::WorkloadIdentityPool { spec } => {
            let applied = ports.gcp().ensure_pool(spec).await?;
            reported(&applied, vec![("name", applied.value().name.clone())])
        }
        DesiredResource::WorkloadIdentityProvider { spec, .. } => {
            let applied = ports.gcp().ensure_provider(spec).await?;
            reported(
                &applied,
                vec![
                    ("name", applied.value().name.clone()),
                    ("audience", spec.provider.default_audience()),
                ],
            )
        }
        DesiredResource::GcpServiceAccount { email, spec } => {
            let spec = spec
                .as_ref()
                .ok_or_else(|| missing("service account", email))?;
            let applied = ports.gcp().ensure_service_account(spec).await?;
            reported(
                &applied,
                vec![
                    ("email", applied.value().email.clone()),
                    ("unique_id", applied.value().unique_id.clone()),
                ],
            )
        }
        DesiredResource::WorkloadIdentityBinding {
            service_account,
            role,
            members,
            pool,
        } => {
            let change = crate::google::binding_change(
                role,
                members,
                pool,
                &observation.observed.gcp.service_account_bindings,
            );
            let target = GcpPolicyTarget::ServiceAccount(service_account.clone());
            let applied = ports.gcp().change_policy(&target, &change).await?;
            (
                binding_outcome(step, &applied),
                vec![("service_account", service_account.clone())],
                Learned::Nothing,
            )
        }
        DesiredResource::ProjectRoleBinding {
            project,
            role,
            member,
        } => {
            let change = octo_oidc_core::ports::GcpPolicyChange {
                add: BTreeMap::from([(role.clone(), vec![member.clone()])]),
                ..Default::default()
            };
            let target = GcpPolicyTarget::Project(project.clone());
            let applied = ports.gcp().change_policy(&target, &change).await?;
            (
                binding_outcome(step, &applied),
                vec![("role", role.clone()), ("member", member.clone())],
                Learned::Nothing,
            )
        }
        DesiredResource::TeamMembership {
            team,
            service_account,
        } => {
            let sa = known
                .service_account_id
                .as_deref()
                .ok_or_else(|| missing("service account", service_account))?;
            let team_id = step.id.as_deref().ok_or_else(|| missing("team", team))?;
            let applied = ports.octopus().add_team_member(team_id, sa).await?;
            reported(
                &applied,
                vec![
                    ("team_id", team_id.to_string()),
                    ("user_id", sa.to_string()),
                ],
            )
        }
    };
    let mut done = record(Phase::Done).outcome(outcome);
    for (k, v) in &ids {
        done = done.id(k, v);
    }
    Ok((done, learned))
}

fn app_of<'a>(known: &'a Known, step: &PlanStep) -> Result<&'a EntraApplication, Problem> {
    let app = step.app().unwrap_or_default();
    known
        .apps
        .get(app)
        .ok_or_else(|| missing("app registration", app))
}

fn missing(what: &str, name: &str) -> Problem {
    Problem::new(
        ErrorCode::Internal,
        format!("the {what} '{name}' is neither observed nor created by an earlier step"),
    )
}
