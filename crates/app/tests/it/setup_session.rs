//! The window's setup use cases on the session, in the built-in Sandbox: the engine's plan of
//! a draft, apply with progress events, a second plan with no changes, verify, the setup file
//! saved and opened again, teardown, and cancellation.

use std::sync::{Arc, Mutex};

use octo_oidc_app::run_report::{ApplyOutcome, ResourceView, RunEvent};
use octo_oidc_app::setup_draft::{self, DraftTarget, SetupDraft};
use octo_oidc_app::setup_session::SetupSource;
use octo_oidc_core::ErrorCode;
use octo_oidc_core::events::{ProgressEvent, ProgressSink};

use crate::support::{connected_to_sandbox, session_with_env, test_service};

fn aws_draft(project: &str) -> SetupDraft {
    SetupDraft {
        name: "wizard-aws".into(),
        target: DraftTarget::Aws,
        space: "Default".into(),
        account_name: "Wizard AWS (OIDC)".into(),
        scope: setup_draft::DraftScope {
            projects: vec![project.into()],
            environments: vec!["*".into()],
            ..Default::default()
        },
        subject_keys: setup_draft::DraftSubjectKeys {
            deployment: Some(vec![
                "space".into(),
                "project".into(),
                "runbook".into(),
                "tenant".into(),
                "environment".into(),
            ]),
            ..Default::default()
        },
        aws: setup_draft::DraftAws {
            role_name: "octopus-wizard".into(),
            region: "eu-west-1".into(),
            session_duration: Some(3600),
            managed_policies: vec![],
            profile: String::new(),
        },
        azure: Default::default(),
        github: Default::default(),
        gcp: Default::default(),
    }
}

/// The draft as the window sends it.
fn draft_source(draft: SetupDraft) -> SetupSource {
    SetupSource::Draft {
        draft: Box::new(draft),
    }
}

/// A session with a data folder of its own (returned, to remove), connected to its started
/// Sandbox (whose summary is returned).
async fn sandbox_session(
    tag: &str,
) -> (
    std::path::PathBuf,
    Arc<octo_oidc_app::Session>,
    octo_oidc_app::SandboxSummary,
) {
    let data = std::env::temp_dir().join(format!("{}-{tag}", test_service()));
    let session = Arc::new(session_with_env(
        &test_service(),
        &[("OCTO_OIDC_DATA_DIR", data.display().to_string())],
    ));
    let sandbox = connected_to_sandbox(&session).await;
    (data, session, sandbox)
}

/// One project of the demo space (all of them would not fit IAM's trust-policy quota).
async fn first_project(session: &octo_oidc_app::Session) -> String {
    let choices = session.scope_choices("Default", false).await.unwrap();
    choices.projects[0].slug.clone()
}

/// Keeps every event as the window's channel would carry it.
#[derive(Default)]
struct Events(Mutex<Vec<RunEvent>>);

impl ProgressSink for Events {
    fn emit(&self, event: ProgressEvent) {
        self.0.lock().unwrap().push(RunEvent::from(event));
    }
}

/// Applies `source` (events dropped) and returns the outcome.
async fn apply(
    session: &octo_oidc_app::Session,
    source: &SetupSource,
    ignore_preflight: bool,
) -> ApplyOutcome {
    session
        .apply_setup(source, ignore_preflight, Arc::new(Events::default()))
        .await
        .unwrap()
}

/// The resource of this kind an apply reports.
fn resource<'a>(applied: &'a ApplyOutcome, kind: &str) -> &'a ResourceView {
    applied
        .resources
        .iter()
        .find(|r| r.kind == kind)
        .unwrap_or_else(|| panic!("no {kind}: {applied:#?}"))
}

#[tokio::test]
async fn a_draft_is_planned_applied_verified_saved_reopened_and_torn_down() {
    let (data, session, _) = sandbox_session("data").await;
    let project = first_project(&session).await;
    let source = draft_source(aws_draft(&project));

    let plan = session.plan_setup(&source).await.unwrap();
    assert!(plan.has_changes && !plan.has_conflicts, "{plan:#?}");
    let kinds: Vec<&str> = plan.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["oidc_provider", "iam_role", "octopus_account"]);
    assert!(plan.steps.iter().all(|s| s.action == "create"));
    assert!(plan.setup_file.contains("role_name = \"octopus-wizard\""));
    assert!(
        !plan.setup_file.contains("url ="),
        "a sandbox file names no port"
    );

    let events = Arc::new(Events::default());
    let applied = session
        .apply_setup(&source, false, events.clone())
        .await
        .unwrap();
    assert!(applied.complete, "{applied:#?}");
    assert!(applied.journal.starts_with(&data.display().to_string()));
    let steps: Vec<(u32, String)> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            RunEvent::Step { index, status, .. } => Some((*index, status.clone())),
            _ => None,
        })
        .collect();
    for index in 0..3 {
        assert!(steps.contains(&(index, "started".into())), "{steps:?}");
        assert!(steps.contains(&(index, "done".into())), "{steps:?}");
    }
    let role = resource(&applied, "iam_role");
    assert!(
        role.id
            .as_deref()
            .is_some_and(|id| id.ends_with(":role/octopus-wizard"))
    );
    assert!(
        role.link
            .as_deref()
            .is_some_and(|l| l.contains("console.aws.amazon.com"))
    );
    let account = resource(&applied, "octopus_account");
    assert!(
        account
            .link
            .as_deref()
            .is_some_and(|l| l.contains("/app#/Spaces-1/infrastructure/accounts/Accounts-")),
        "{account:?}"
    );

    let again = session.plan_setup(&source).await.unwrap();
    assert!(!again.has_changes, "{again:#?}");
    assert_eq!(again.counts.unchanged, 3);

    let verified = session.verify_setup(&source).await.unwrap();
    assert!(verified.passed, "{verified:#?}");
    assert!(
        verified
            .checks
            .iter()
            .any(|c| c.area == "account_test" && c.passed && !c.log.is_empty()),
        "{verified:#?}"
    );

    let path = data.join("saved").join("wizard-aws.toml");
    let saved = session
        .save_setup_file(&aws_draft(&project), &path.display().to_string())
        .unwrap();
    assert_eq!(
        saved.command,
        format!(
            "octo-oidc apply --yes --sandbox sandbox.env {}",
            path.display()
        )
    );
    let opened = session.open_setup_file(&saved.path).unwrap();
    assert_eq!(
        (opened.name.as_str(), opened.target.as_str()),
        ("wizard-aws", "aws")
    );
    let file = SetupSource::File { path: opened.path };
    let rerun = session.plan_setup(&file).await.unwrap();
    assert!(!rerun.has_changes, "{rerun:#?}");

    let torn = session
        .teardown_setup(&file, Arc::new(Events::default()))
        .await
        .unwrap();
    assert!(torn.complete, "{torn:#?}");
    assert_eq!(
        torn.items.iter().filter(|i| i.result == "deleted").count(),
        3,
        "{torn:#?}"
    );
    let after = session.plan_setup(&file).await.unwrap();
    assert_eq!(after.counts.create, 3, "{after:#?}");

    assert!(!session.cancel_run(), "nothing runs now");
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn a_cancelled_apply_stops_before_its_next_step_and_a_rerun_resumes() {
    let (data, session, _) = sandbox_session("cancel-data").await;
    let mut draft = aws_draft(&first_project(&session).await);
    draft.name = "wizard-cancel".into();
    draft.aws.role_name = "octopus-cancel".into();
    let source = draft_source(draft);
    // Cancel as soon as the first step starts: the engine stops after that wave.
    let cancelling = session.clone();
    let sink = Arc::new(move |event: ProgressEvent| {
        if matches!(event, ProgressEvent::Step { .. }) {
            cancelling.cancel_run();
        }
    });
    let applied = session.apply_setup(&source, false, sink).await.unwrap();
    assert!(applied.cancelled && !applied.complete, "{applied:#?}");
    let failure = applied.failure.as_ref().unwrap();
    assert_eq!(failure.code, ErrorCode::Cancelled);
    assert!(
        applied.steps.iter().any(|s| s.result == "not_run"),
        "{applied:#?}"
    );

    let resumed = apply(&session, &source, false).await;
    assert!(resumed.complete, "{resumed:#?}");
    assert!(
        resumed.steps.iter().any(|s| s.result == "done"),
        "the rerun made the rest: {resumed:#?}"
    );
    let _ = std::fs::remove_dir_all(&data);
}

fn gcp_draft(project: &str, gcp_project: &str) -> SetupDraft {
    SetupDraft {
        name: "wizard-gcp".into(),
        target: DraftTarget::Gcp,
        gcp: setup_draft::DraftGcp {
            project: gcp_project.into(),
            roles: vec!["roles/storage.objectViewer".into()],
            token_lifetime: Some(3600),
            ..Default::default()
        },
        account_name: "Wizard GCP (OIDC)".into(),
        ..aws_draft(project)
    }
}

#[tokio::test]
async fn a_google_cloud_draft_is_previewed_planned_applied_and_verified_in_the_sandbox() {
    let (data, session, sandbox) = sandbox_session("gcp-data").await;
    let gcp_project = sandbox
        .gcp_project_id
        .clone()
        .expect("the sandbox runs Google");
    let project = first_project(&session).await;
    let draft = gcp_draft(&project, &gcp_project);

    let preview = session.preview_setup(&draft).await.unwrap();
    let gcp = preview.gcp.as_ref().expect("a Google trust preview");
    assert!(gcp.project_number_known, "{gcp:#?}");
    assert!(
        gcp.attribute_condition.starts_with("assertion.sub in ["),
        "{gcp:#?}"
    );
    assert!(gcp.audience.starts_with("//iam.googleapis.com/projects/"));
    assert!(
        gcp.attribute_mapping
            .iter()
            .any(|m| m.attribute == "google.subject"),
        "{gcp:#?}"
    );
    assert!(
        gcp.bindings
            .iter()
            .any(|b| b.role == "roles/iam.workloadIdentityUser"
                && b.members.iter().all(|m| m.starts_with("principal://"))),
        "{gcp:#?}"
    );
    assert!(
        gcp.bindings
            .iter()
            .any(|b| b.role == "roles/storage.objectViewer"),
        "{gcp:#?}"
    );
    assert!(
        gcp.service_account_email
            .ends_with(&format!("@{gcp_project}.iam.gserviceaccount.com")),
        "{gcp:#?}"
    );

    let source = draft_source(draft);
    let plan = session.plan_setup(&source).await.unwrap();
    assert!(plan.has_changes && !plan.has_conflicts, "{plan:#?}");
    let applied = apply(&session, &source, false).await;
    assert!(applied.complete, "{applied:#?}");
    let account = resource(&applied, "gcp_service_account");
    assert_eq!(account.name, gcp.service_account_email);
    // The Google Cloud console's pages, built in the app layer.
    let link = |kind: &str| {
        resource(&applied, kind)
            .link
            .clone()
            .unwrap_or_else(|| panic!("no {kind} link: {applied:#?}"))
    };
    let console = "https://console.cloud.google.com/iam-admin";
    let project_query = format!("?project={gcp_project}");
    assert!(
        link("workload_identity_pool")
            .starts_with(&format!("{console}/workload-identity-pools/pool/"))
    );
    assert!(link("workload_identity_provider").contains("/provider/"));
    assert!(
        link("gcp_service_account").starts_with(&format!("{console}/serviceaccounts/details/"))
    );
    assert_eq!(
        link("project_role_binding"),
        format!("{console}/iam{project_query}")
    );
    for kind in [
        "workload_identity_pool",
        "workload_identity_provider",
        "gcp_service_account",
    ] {
        assert!(
            link(kind).ends_with(&project_query),
            "{kind}: {}",
            link(kind)
        );
    }

    let again = session.plan_setup(&source).await.unwrap();
    assert!(!again.has_changes, "{again:#?}");
    let verified = session.verify_setup(&source).await.unwrap();
    assert!(verified.passed, "{verified:#?}");
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn the_plan_carries_the_preflight_and_apply_stops_on_a_gap_unless_the_user_proceeds() {
    use octo_oidc_app::run_report::PermissionStatus;

    let (data, session, sandbox) = sandbox_session("preflight-data").await;
    let project = first_project(&session).await;
    let source = draft_source(aws_draft(&project));

    // Everything granted: the permissions are listed, nothing blocks.
    let plan = session.plan_setup(&source).await.unwrap();
    let preflight = &plan.preflight;
    assert!(
        !preflight.blocks_apply && preflight.refusal.is_none(),
        "{preflight:#?}"
    );
    assert!(
        preflight
            .permissions
            .iter()
            .any(|p| p.permission == "iam:CreateRole" && p.status == PermissionStatus::Granted),
        "{preflight:#?}"
    );

    // The Sandbox's Octopus withholds AccountCreate: a blocking gap, named with who grants it.
    let withheld = format!(
        "{}/_sandbox/octopus/withheld-permissions/AccountCreate",
        sandbox.octopus_url
    );
    let r = reqwest::Client::new().put(&withheld).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let plan = session.plan_setup(&source).await.unwrap();
    let preflight = &plan.preflight;
    assert!(preflight.blocks_apply, "{preflight:#?}");
    let gap = preflight
        .permissions
        .iter()
        .find(|p| p.status == PermissionStatus::Missing)
        .expect("a missing permission");
    assert_eq!(gap.permission, "AccountCreate");
    assert_eq!(gap.service, "Octopus");
    assert!(gap.blocking);
    assert!(
        gap.needed_for.iter().any(|s| s.contains("octopus_account")),
        "{gap:#?}"
    );
    assert!(
        gap.who_can_grant.as_deref().is_some_and(|w| !w.is_empty()),
        "{gap:#?}"
    );
    assert!(
        preflight
            .refusal
            .as_deref()
            .is_some_and(|r| r.contains("AccountCreate")),
        "{preflight:#?}"
    );
    assert!(plan.text.contains("AccountCreate"), "the text keeps it too");

    // Apply refuses before any change...
    let refused = apply(&session, &source, false).await;
    assert!(!refused.complete, "{refused:#?}");
    assert_eq!(
        refused.failure.as_ref().map(|f| f.code),
        Some(ErrorCode::PermissionDenied),
        "{refused:#?}"
    );
    assert!(
        refused.steps.iter().all(|s| s.result == "not_run"),
        "{refused:#?}"
    );
    // ...and starts when the user proceeds anyway (the account step then fails on the gap).
    let tried = apply(&session, &source, true).await;
    assert!(
        tried.steps.iter().any(|s| s.result == "done"),
        "the cloud steps ran: {tried:#?}"
    );
    assert!(!tried.complete, "{tried:#?}");
    let _ = std::fs::remove_dir_all(&data);
}
