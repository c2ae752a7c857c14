//! What the faces show of a setup's plan, apply, verify and teardown: the engine's reports
//! turned into plain, serializable views (strings and numbers, no engine types), plus the
//! progress events as the desktop's channel carries them.
//!
//! Also here, once: the links to where a resource lives (Azure portal, AWS console, Octopus
//! pages) and the `octo-oidc` command that repeats a setup without the window.
//!
//! Deliberately absent: any decision (the engine decided; this only renames and flattens) and
//! any secret (reports and events carry names, ids and messages written without secrets).

use octo_oidc_core::events::ProgressEvent;
use octo_oidc_core::{ErrorCode, Problem};
use octo_oidc_engine::apply::{ApplyReport, StepResult};
use octo_oidc_engine::desired::ResourceKind;
use octo_oidc_engine::plan::Plan;
use octo_oidc_engine::teardown::{TeardownReport, TeardownResult};
use octo_oidc_engine::verify::{VerifyReport, VerifyVerdict, explain};
use serde::Serialize;

/// A count, index or duration as every view carries it: a `u32`, saturating (the UI's
/// numbers are JavaScript's, and none of these come near it).
pub(crate) fn count(n: impl TryInto<u32>) -> u32 {
    n.try_into().unwrap_or(u32::MAX)
}

/// A failure as a screen shows it: what happened, why, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct FailureView {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong.
    pub message: String,
    /// Why, when the service's error is a known one.
    pub cause: Option<String>,
    /// What to do.
    pub fix: Option<String>,
}

impl From<&Problem> for FailureView {
    fn from(problem: &Problem) -> Self {
        let explained = explain(&problem.message);
        FailureView {
            code: problem.code,
            message: problem.message.clone(),
            cause: explained.as_ref().map(|(cause, _)| cause.clone()),
            fix: explained
                .map(|(_, fix)| fix)
                .or_else(|| problem.hint.clone()),
        }
    }
}

/// One changed field of an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ChangeView {
    /// The field.
    pub field: String,
    /// What it is now (JSON).
    pub from: String,
    /// What it will be (JSON).
    pub to: String,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PlanStepView {
    /// Its index in the plan (progress events name it).
    pub index: u32,
    /// `create`, `update`, `unchanged`, `delete`, `conflict`.
    pub action: String,
    /// The resource kind (`iam_role`, …).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its remote id when it exists.
    pub id: Option<String>,
    /// Why (conflicts, shared resources).
    pub reason: Option<String>,
    /// Every changed field of an update.
    pub changes: Vec<ChangeView>,
}

/// How many steps of each action a plan has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PlanCounts {
    /// Creates.
    pub create: u32,
    /// Updates.
    pub update: u32,
    /// Unchanged.
    pub unchanged: u32,
    /// Deletes.
    pub delete: u32,
    /// Conflicts (apply refuses the plan while there is one).
    pub conflict: u32,
}

/// The engine's plan of a setup against what exists now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    /// The setup's name.
    pub setup: String,
    /// `aws`, `azure` or `github`.
    pub target: String,
    /// The space id.
    pub space: String,
    /// Counts per action.
    pub counts: PlanCounts,
    /// Whether applying would change anything.
    pub has_changes: bool,
    /// Whether apply would refuse it.
    pub has_conflicts: bool,
    /// Every step, in dependency order.
    pub steps: Vec<PlanStepView>,
    /// The setup file (no secret).
    pub setup_file: String,
    /// What preflight found: every permission apply needs, and the issuer's problems.
    pub preflight: PreflightView,
    /// The plan as the CLI prints it, with the preflight's findings.
    pub text: String,
}

/// What the service said about one permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PermissionStatus {
    /// Granted.
    Granted,
    /// Not granted: apply's step would be refused.
    Missing,
    /// The service could not be asked (apply may still fail).
    Unknown,
}

/// One permission the plan's changes need, and whether the caller has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PermissionView {
    /// The service that decides (`AWS IAM`, `Microsoft Entra ID`, `Azure RBAC`, `Octopus`).
    pub service: String,
    /// The permission, i.e. the action (`iam:CreateRole`, `AccountCreate`, …).
    pub permission: String,
    /// What it is on (an ARN, an ARM scope, a space).
    pub resource: String,
    /// The caller asked about.
    pub caller: String,
    /// The plan steps that need it (`create iam_role 'x'`).
    pub needed_for: Vec<String>,
    /// Whether lacking it stops apply (false: a warning).
    pub blocking: bool,
    /// Granted, missing or unknown.
    pub status: PermissionStatus,
    /// The service's answer (what granted it, why it is missing, why it could not be asked).
    pub detail: Option<String>,
    /// Who can grant it (missing and unknown permissions).
    pub who_can_grant: Option<String>,
}

/// What preflight found before anything is changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PreflightView {
    /// Whether apply refuses to start (a blocking permission missing, or a blocking issuer
    /// problem) unless the user proceeds anyway (the CLI's `--ignore-preflight`).
    pub blocks_apply: bool,
    /// Why apply would not start, as apply says it (`None` when it would start).
    pub refusal: Option<String>,
    /// Every permission checked, in the order apply needs them.
    pub permissions: Vec<PermissionView>,
    /// The issuer checks that failed.
    pub issuer_problems: Vec<CheckView>,
}

fn service_name(service: octo_oidc_engine::preflight::Service) -> &'static str {
    use octo_oidc_engine::preflight::Service;
    match service {
        Service::Aws => "AWS IAM",
        Service::Entra => "Microsoft Entra ID",
        Service::AzureRbac => "Azure RBAC",
        Service::Octopus => "Octopus",
    }
}

/// The preflight as a view.
pub fn preflight_view(preflight: &octo_oidc_engine::preflight::Preflight) -> PreflightView {
    use octo_oidc_engine::preflight::Outcome;
    PreflightView {
        blocks_apply: preflight.blocks_apply(),
        refusal: octo_oidc_engine::preflight::refusal(preflight).map(|p| p.message),
        permissions: preflight
            .permissions
            .iter()
            .map(|c| {
                let (status, detail) = match &c.outcome {
                    Outcome::Granted { by } => (PermissionStatus::Granted, by.clone()),
                    Outcome::Missing { detail } => {
                        (PermissionStatus::Missing, Some(detail.clone()))
                    }
                    Outcome::Unknown { reason } => {
                        (PermissionStatus::Unknown, Some(reason.clone()))
                    }
                };
                PermissionView {
                    service: service_name(c.needed.service).into(),
                    permission: c.needed.permission.clone(),
                    resource: c.needed.resource.clone(),
                    caller: c.caller.clone(),
                    needed_for: c.needed.needed_for.clone(),
                    blocking: c.needed.blocking,
                    status,
                    detail,
                    who_can_grant: c.who_can_grant.clone(),
                }
            })
            .collect(),
        issuer_problems: preflight
            .issuer
            .iter()
            .filter(|c| !c.passed)
            .map(CheckView::from)
            .collect(),
    }
}

/// A plan's steps as views, in dependency order (the plan screen's and the preview's).
pub fn plan_steps(plan: &Plan) -> Vec<PlanStepView> {
    plan.steps
        .iter()
        .enumerate()
        .map(|(index, step)| PlanStepView {
            index: count(index),
            action: step.action.as_str().to_string(),
            kind: step.kind.as_str().to_string(),
            name: step.name.clone(),
            id: step.id.clone(),
            reason: step.reason.clone(),
            changes: step
                .changes
                .iter()
                .map(|c| ChangeView {
                    field: c.field.clone(),
                    from: c.from.to_string(),
                    to: c.to.to_string(),
                })
                .collect(),
        })
        .collect()
}

/// The plan as a view (its text followed by the preflight's findings).
pub fn plan_view(
    plan: &Plan,
    preflight: &octo_oidc_engine::preflight::Preflight,
    setup_file: String,
) -> PlanView {
    let s = &plan.summary;
    PlanView {
        setup: plan.setup.clone(),
        target: plan.target.as_str().to_string(),
        space: plan.space.clone(),
        counts: PlanCounts {
            create: count(s.create),
            update: count(s.update),
            unchanged: count(s.unchanged),
            delete: count(s.delete),
            conflict: count(s.conflict),
        },
        has_changes: plan.has_changes(),
        has_conflicts: plan.has_conflicts(),
        steps: plan_steps(plan),
        setup_file,
        preflight: preflight_view(preflight),
        text: format!(
            "{}{}",
            octo_oidc_engine::render::plan_text(plan),
            octo_oidc_engine::render::preflight_text(preflight)
        ),
    }
}

/// One progress event of a running apply or teardown, as the desktop's channel carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunEvent {
    /// A plan step started, finished or failed.
    Step {
        /// The step's index in the plan.
        index: u32,
        /// The resource kind.
        resource: String,
        /// The resource's name.
        name: String,
        /// `create`, `update`, `delete`.
        action: String,
        /// `started`, `done`, `failed`.
        status: String,
        /// For `failed`: the error; for `done`: the id.
        detail: Option<String>,
    },
    /// A remote call failed transiently and is retried after a wait.
    Retrying {
        /// The service (`iam`, `graph`, `octopus`, …).
        service: String,
        /// The operation.
        operation: String,
        /// 1 for the first retry.
        attempt: u32,
        /// The wait before the next attempt, in milliseconds.
        #[serde(rename = "waitMs")]
        wait_ms: u32,
        /// Why (the failed attempt's message).
        reason: String,
    },
    /// A remote task changed state or logged a line.
    Task {
        /// The task id.
        #[serde(rename = "taskId")]
        task_id: String,
        /// Its state.
        state: String,
        /// A new log line.
        message: Option<String>,
    },
    /// A status line.
    Info {
        /// The message.
        message: String,
    },
}

impl From<ProgressEvent> for RunEvent {
    fn from(event: ProgressEvent) -> Self {
        match event {
            ProgressEvent::Step {
                index,
                resource,
                name,
                action,
                status,
                detail,
            } => RunEvent::Step {
                index: count(index),
                resource,
                name,
                action,
                status: status.as_str().to_string(),
                detail,
            },
            ProgressEvent::Retrying {
                service,
                operation,
                attempt,
                wait_ms,
                reason,
                ..
            } => RunEvent::Retrying {
                service,
                operation,
                attempt,
                wait_ms: count(wait_ms),
                reason,
            },
            ProgressEvent::TaskProgress {
                task_id,
                state,
                message,
            } => RunEvent::Task {
                task_id,
                state,
                message,
            },
            ProgressEvent::Info { message } => RunEvent::Info { message },
        }
    }
}

/// One id, ARN or name a resource has, with where to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ResourceView {
    /// The resource kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its id or ARN, when known.
    pub id: Option<String>,
    /// Where to see it (Azure portal, AWS console, Octopus), when there is such a page.
    pub link: Option<String>,
}

/// Where the consoles show a resource.
#[derive(Debug, Clone)]
pub struct ConsoleLinks {
    /// The Octopus Server's root URL.
    pub octopus_url: String,
    /// The space id.
    pub space_id: String,
    /// The Google Cloud project id (Google Cloud setups; the console's `?project=`).
    pub gcp_project_id: Option<String>,
}

/// The Google Cloud console.
const GCP_CONSOLE: &str = "https://console.cloud.google.com";

/// `projects/N/locations/global/workloadIdentityPools/POOL[/providers/PROVIDER]` → the pool
/// id and the provider id, if any.
fn pool_and_provider(name: &str) -> Option<(&str, Option<&str>)> {
    let rest = name.split("/workloadIdentityPools/").nth(1)?;
    match rest.split_once("/providers/") {
        Some((pool, provider)) => Some((pool, Some(provider))),
        None => Some((rest, None)),
    }
}

/// A path segment or query value as the console's URLs need it.
fn url_part(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl ConsoleLinks {
    /// The page of one resource, if it has one (`id`: its remote id, when known).
    pub fn link(&self, kind: ResourceKind, name: &str, id: Option<&str>) -> Option<String> {
        let octopus = self.octopus_url.trim_end_matches('/');
        match kind {
            ResourceKind::OctopusAccount => Some(format!(
                "{octopus}/app#/{}/infrastructure/accounts/{}",
                self.space_id, id?
            )),
            ResourceKind::ServiceAccount => {
                Some(format!("{octopus}/app#/configuration/users/{}", id?))
            }
            ResourceKind::IamRole => {
                id.map(|_| format!("https://console.aws.amazon.com/iam/home#/roles/details/{name}"))
            }
            ResourceKind::OidcProvider => Some(format!(
                "https://console.aws.amazon.com/iam/home#/identity_providers/details/OPENID/{}",
                id?.replace('/', "%2F").replace(':', "%3A")
            )),
            ResourceKind::AppRegistration => Some(format!(
                "https://portal.azure.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/{}",
                id?
            )),
            ResourceKind::WorkloadIdentityPool | ResourceKind::WorkloadIdentityProvider => {
                let project = url_part(self.gcp_project_id.as_deref()?);
                match pool_and_provider(name)? {
                    (pool, None) => Some(format!(
                        "{GCP_CONSOLE}/iam-admin/workload-identity-pools/pool/{}?project={project}",
                        url_part(pool)
                    )),
                    (pool, Some(provider)) => Some(format!(
                        "{GCP_CONSOLE}/iam-admin/workload-identity-pools/pool/{}/provider/{}?project={project}",
                        url_part(pool),
                        url_part(provider)
                    )),
                }
            }
            // By its unique id when known, else its email.
            ResourceKind::GcpServiceAccount => Some(format!(
                "{GCP_CONSOLE}/iam-admin/serviceaccounts/details/{}?project={}",
                url_part(id.unwrap_or(name)),
                url_part(self.gcp_project_id.as_deref()?)
            )),
            ResourceKind::ProjectRoleBinding => Some(format!(
                "{GCP_CONSOLE}/iam-admin/iam?project={}",
                url_part(self.gcp_project_id.as_deref()?)
            )),
            _ => None,
        }
    }
}

/// How one step of an apply ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct StepOutcome {
    /// Its index in the plan.
    pub index: u32,
    /// The resource kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// What the plan said.
    pub action: String,
    /// `unchanged`, `done`, `failed`, `not_run`.
    pub result: String,
    /// For failures.
    pub failure: Option<FailureView>,
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ApplyOutcome {
    /// Whether every step ran to its end.
    pub complete: bool,
    /// Whether it was cancelled.
    pub cancelled: bool,
    /// Why it stopped early.
    pub failure: Option<FailureView>,
    /// Every step.
    pub steps: Vec<StepOutcome>,
    /// What exists now, as far as this run knows (ids from the run or from observe).
    pub resources: Vec<ResourceView>,
    /// The pipeline's sign-in snippet (CI targets).
    pub snippet: Option<String>,
    /// Where the journal is (a rerun resumes from it).
    pub journal: String,
}

/// The apply report as a view; `plan` is the plan it ran.
pub fn apply_outcome(
    plan: &Plan,
    report: &ApplyReport,
    snippet: Option<String>,
    journal: String,
    links: &ConsoleLinks,
) -> ApplyOutcome {
    let resources = plan
        .steps
        .iter()
        .zip(&report.steps)
        .map(|(step, ran)| {
            let id = match &ran.result {
                StepResult::Done { ids } => ["arn", "id", "app_id", "external_id", "name"]
                    .iter()
                    .find_map(|k| ids.get(*k).cloned())
                    .or_else(|| step.id.clone()),
                _ => step.id.clone(),
            };
            // An app registration's page is by client id, a service account's by unique id.
            let id = match (&ran.result, step.kind) {
                (StepResult::Done { ids }, ResourceKind::AppRegistration) => {
                    ids.get("app_id").cloned().or(id)
                }
                (StepResult::Done { ids }, ResourceKind::GcpServiceAccount) => {
                    ids.get("unique_id").cloned().or(id)
                }
                _ => id,
            };
            ResourceView {
                kind: step.kind.as_str().to_string(),
                name: step.name.clone(),
                link: links.link(step.kind, &step.name, id.as_deref()),
                id,
            }
        })
        .collect();
    ApplyOutcome {
        complete: report.is_complete(),
        cancelled: report
            .problem
            .as_ref()
            .is_some_and(|p| p.code == ErrorCode::Cancelled),
        failure: report.problem.as_ref().map(FailureView::from),
        steps: report
            .steps
            .iter()
            .map(|s| {
                let (result, failure) = match &s.result {
                    StepResult::Unchanged => ("unchanged", None),
                    StepResult::Done { .. } => ("done", None),
                    StepResult::Failed { problem } => ("failed", Some(FailureView::from(problem))),
                    StepResult::NotRun => ("not_run", None),
                };
                StepOutcome {
                    index: count(s.index),
                    kind: s.kind.as_str().to_string(),
                    name: s.name.clone(),
                    action: s.action.as_str().to_string(),
                    result: result.to_string(),
                    failure,
                }
            })
            .collect(),
        resources,
        snippet,
        journal,
    }
}

/// A token's claim beside what the cloud trusts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ComparisonView {
    /// `iss`, `sub` or `aud`.
    pub claim: String,
    /// The token's value.
    pub token: String,
    /// The closest trusted value.
    pub trusted: String,
    /// Where they first differ (characters); `None` = equal.
    pub first_difference: Option<u32>,
}

/// One verify check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct CheckView {
    /// `issuer`, `cloud`, `simulation`, `account_test`, `token_trade`.
    pub area: String,
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Whether a failure is a problem (false: a warning).
    pub blocking: bool,
    /// What was found.
    pub message: String,
    /// Why, for failures.
    pub cause: Option<String>,
    /// What to do, for failures.
    pub fix: Option<String>,
    /// The differing claim.
    pub comparison: Option<ComparisonView>,
    /// A remote log (the account test's).
    pub log: Vec<String>,
}

/// What verify found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct VerifyView {
    /// The setup.
    pub setup: String,
    /// Every blocking check passed.
    pub passed: bool,
    /// Every check, in order.
    pub checks: Vec<CheckView>,
}

/// The verify report as a view.
pub fn verify_view(report: &VerifyReport) -> VerifyView {
    VerifyView {
        setup: report.setup.clone(),
        passed: report.verdict == VerifyVerdict::Passed,
        checks: report.checks.iter().map(CheckView::from).collect(),
    }
}

impl From<&octo_oidc_engine::verify::Check> for CheckView {
    fn from(c: &octo_oidc_engine::verify::Check) -> Self {
        CheckView {
            area: serde_json::to_value(c.area)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            name: c.name.clone(),
            passed: c.passed,
            blocking: c.blocking,
            message: c.message.clone(),
            cause: c.cause.clone(),
            fix: c.fix.clone(),
            comparison: c.comparison.as_ref().map(|k| ComparisonView {
                claim: k.claim.clone(),
                token: k.token.clone(),
                trusted: k.trusted.clone(),
                first_difference: k.first_difference.map(count),
            }),
            log: c.log.clone(),
        }
    }
}

/// One resource teardown considered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TeardownItemView {
    /// The resource kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The app registration it lives in (Azure `split_apps`: kind + name + app identify one).
    pub app: Option<String>,
    /// Its id.
    pub id: String,
    /// `deleted`, `left`, `failed`, `not_run`.
    pub result: String,
    /// Why it was left, or why the delete failed.
    pub reason: Option<String>,
}

/// What a teardown did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TeardownOutcome {
    /// Whether it ran to its end.
    pub complete: bool,
    /// Why it stopped early.
    pub failure: Option<FailureView>,
    /// Every resource considered, in the order handled.
    pub items: Vec<TeardownItemView>,
}

/// The teardown report as a view.
pub fn teardown_outcome(report: &TeardownReport) -> TeardownOutcome {
    TeardownOutcome {
        complete: report.problem.is_none(),
        failure: report.problem.as_ref().map(FailureView::from),
        items: report
            .items
            .iter()
            .map(|i| {
                let (result, reason) = match &i.result {
                    TeardownResult::Deleted => ("deleted", None),
                    TeardownResult::Left { reason } => ("left", Some(reason.clone())),
                    TeardownResult::Failed { problem } => ("failed", Some(problem.message.clone())),
                    TeardownResult::NotRun => ("not_run", None),
                };
                TeardownItemView {
                    kind: i.kind.as_str().to_string(),
                    name: i.name.clone(),
                    app: i.app.clone(),
                    id: i.id.clone(),
                    result: result.to_string(),
                    reason,
                }
            })
            .collect(),
    }
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The `octo-oidc` command that repeats a setup without the window (`sandbox_env`: the env
/// file of `octo-oidc sandbox --env-file`, for a sandbox setup).
pub fn repeat_command(setup_path: &str, sandbox_env: Option<&str>) -> String {
    let sandbox = sandbox_env.map_or(String::new(), |p| format!(" --sandbox {}", shell_word(p)));
    format!("octo-oidc apply --yes{sandbox} {}", shell_word(setup_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_what_a_shell_would_split() {
        assert_eq!(
            repeat_command("/home/me/shop.toml", None),
            "octo-oidc apply --yes /home/me/shop.toml"
        );
        assert_eq!(
            repeat_command("/tmp/my setup.toml", Some("sandbox.env")),
            "octo-oidc apply --yes --sandbox sandbox.env '/tmp/my setup.toml'"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }

    #[test]
    fn retry_events_keep_reason_and_wait() {
        let event = RunEvent::from(ProgressEvent::Retrying {
            service: "iam".into(),
            operation: "CreateRole".into(),
            attempt: 1,
            wait_ms: 500,
            code: ErrorCode::RateLimited,
            reason: "Rate exceeded".into(),
        });
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "retrying");
        assert_eq!(json["waitMs"], 500);
        assert_eq!(json["reason"], "Rate exceeded");
    }

    #[test]
    fn links_point_at_the_consoles() {
        let links = ConsoleLinks {
            octopus_url: "https://octopus.example.com/".into(),
            space_id: "Spaces-1".into(),
            gcp_project_id: None,
        };
        assert_eq!(
            links
                .link(ResourceKind::OctopusAccount, "x", Some("Accounts-3"))
                .as_deref(),
            Some("https://octopus.example.com/app#/Spaces-1/infrastructure/accounts/Accounts-3")
        );
        assert!(
            links
                .link(
                    ResourceKind::IamRole,
                    "octopus-shop",
                    Some("arn:aws:iam::1:role/octopus-shop")
                )
                .is_some_and(|l| l.ends_with("/roles/details/octopus-shop"))
        );
        assert_eq!(
            links.link(ResourceKind::FederatedCredential, "c", Some("i")),
            None
        );
        assert_eq!(
            links.link(ResourceKind::OctopusAccount, "x", None),
            None,
            "no id, no page"
        );
        // No Google Cloud project known: no Google Cloud link.
        assert_eq!(
            links.link(ResourceKind::ProjectRoleBinding, "b", None),
            None
        );
    }

    #[test]
    fn google_cloud_links_name_the_pool_provider_service_account_and_iam_page() {
        let links = ConsoleLinks {
            octopus_url: "https://octopus.example.com".into(),
            space_id: "Spaces-1".into(),
            gcp_project_id: Some("shop-prod".into()),
        };
        let pool = "projects/123456789012/locations/global/workloadIdentityPools/octo-shop";
        assert_eq!(
            links
                .link(ResourceKind::WorkloadIdentityPool, pool, Some(pool))
                .as_deref(),
            Some(
                "https://console.cloud.google.com/iam-admin/workload-identity-pools/pool/octo-shop?project=shop-prod"
            )
        );
        let provider = format!("{pool}/providers/octopus");
        assert_eq!(
            links
                .link(
                    ResourceKind::WorkloadIdentityProvider,
                    &provider,
                    Some(&provider)
                )
                .as_deref(),
            Some(
                "https://console.cloud.google.com/iam-admin/workload-identity-pools/pool/octo-shop/provider/octopus?project=shop-prod"
            )
        );
        let email = "octo-shop@shop-prod.iam.gserviceaccount.com";
        assert_eq!(
            links
                .link(
                    ResourceKind::GcpServiceAccount,
                    email,
                    Some("112233445566778899001")
                )
                .as_deref(),
            Some(
                "https://console.cloud.google.com/iam-admin/serviceaccounts/details/112233445566778899001?project=shop-prod"
            )
        );
        assert_eq!(
            links
                .link(ResourceKind::GcpServiceAccount, email, None)
                .as_deref(),
            Some(
                "https://console.cloud.google.com/iam-admin/serviceaccounts/details/octo-shop%40shop-prod.iam.gserviceaccount.com?project=shop-prod"
            )
        );
        assert_eq!(
            links
                .link(
                    ResourceKind::ProjectRoleBinding,
                    "roles/storage.objectViewer on shop-prod",
                    None
                )
                .as_deref(),
            Some("https://console.cloud.google.com/iam-admin/iam?project=shop-prod")
        );
        assert_eq!(
            links.link(ResourceKind::WorkloadIdentityBinding, "b", Some("i")),
            None
        );
        assert_eq!(
            links.link(
                ResourceKind::WorkloadIdentityPool,
                "not-a-resource-name",
                None
            ),
            None
        );
    }

    #[test]
    fn teardown_items_keep_the_app_registration_they_live_in() {
        use octo_oidc_engine::teardown::TeardownItem;
        let in_app = |app: &str| TeardownItem {
            kind: ResourceKind::FederatedCredential,
            name: "octopus-production".to_string(),
            app: Some(app.to_string()),
            id: format!("{app}-credential"),
            result: TeardownResult::Left {
                reason: "not created by this setup".to_string(),
            },
            note: None,
        };
        let report = TeardownReport {
            setup: "shop-azure".to_string(),
            items: vec![in_app("octo-oidc-shop-1"), in_app("octo-oidc-shop-2")],
            problem: None,
        };
        let outcome = teardown_outcome(&report);
        let apps: Vec<_> = outcome.items.iter().map(|i| i.app.as_deref()).collect();
        assert_eq!(apps, [Some("octo-oidc-shop-1"), Some("octo-oidc-shop-2")]);
        assert_eq!(outcome.items[0].result, "left");
    }
}
