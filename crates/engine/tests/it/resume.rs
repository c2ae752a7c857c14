//! Crash and resume: the apply is stopped at every journal boundary (the n-th append fails,
//! as a crash or a full disk would), at a port failure, by a fault outlasting its deadline
//! and by cancellation; a rerun converges with no duplicates and the journal matches the
//! fakes' state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use octo_oidc_core::events::{ProgressEvent, StepStatus};
use octo_oidc_core::{ErrorCode, Problem};
use octo_oidc_engine::apply::{NotCancelled, StepResult, apply};
use octo_oidc_engine::journal::{Phase, entries};
use octo_oidc_engine::plan::Action;
use octo_oidc_engine::teardown::status;

use crate::support::{AWS, AZURE, GITHUB, World, setup, step_named};

#[tokio::test]
async fn a_crash_at_every_journal_boundary_resumes_without_duplicates() {
    for (name, text) in [("aws", AWS), ("azure", AZURE), ("github", GITHUB)] {
        let clean = World::new();
        let s = setup(text);
        assert!(clean.apply(&s).await.is_complete());
        let boundaries = clean.journal.all().len();
        assert!(boundaries >= 4, "{name}: {boundaries}");
        for n in 1..=boundaries {
            let world = World::new();
            world.journal.fail_at_append(n);
            let cut = world.apply(&s).await;
            assert!(
                cut.problem.is_some(),
                "{name}@{n}: the apply was not stopped"
            );
            let o = world
                .rerun_converges(&s, &clean, &format!("{name}@{n}"))
                .await;
            let st = status(&o, &world.journal).unwrap();
            assert!(
                st.iter().all(|i| i.exists && !i.interrupted),
                "{name}@{n}: {st:#?}"
            );
        }
    }
}

#[tokio::test]
async fn an_entra_app_created_but_not_journaled_is_found_by_its_unique_name() {
    let world = World::new();
    let s = setup(AZURE);
    world.journal.fail_at_append(2); // the app's "done"
    let cut = world.apply(&s).await;
    assert!(cut.problem.is_some());
    assert_eq!(world.entra.applications().len(), 1);
    assert!(entries(&world.journal.all())[0].interrupted());
    assert!(world.apply(&s).await.is_complete());
    assert_eq!(world.entra.applications().len(), 1);
    let app_entry = entries(&world.journal.all()).into_iter().next().unwrap();
    assert_eq!(app_entry.last, Phase::Done);
    assert_eq!(
        app_entry.ids.get("id"),
        Some(&world.entra.applications()[0].object_id)
    );
}

#[tokio::test]
async fn a_fault_outlasting_the_deadline_fails_clearly_and_leaves_a_resumable_journal() {
    let world = World::new();
    let s = setup(AWS);
    world.iam.fail_always(
        "ensure_role",
        Problem::new(
            ErrorCode::Timeout,
            "iam CreateRole did not finish within its deadline of 300 s",
        ),
    );
    let report = world.apply(&s).await;
    let problem = report.problem.clone().unwrap();
    assert_eq!(problem.code, ErrorCode::Timeout);
    let role = step_named(&report, "octopus-shop");
    assert!(
        matches!(role.result, StepResult::Failed { .. }),
        "{role:#?}"
    );
    let account = step_named(&report, "AWS production (OIDC)");
    // The account runs beside the role (it needs only the role's ARN) and is made.
    assert!(
        matches!(account.result, StepResult::Done { .. }),
        "{account:#?}"
    );
    let e = entries(&world.journal.all());
    assert!(
        e.iter()
            .any(|e| e.name == "octopus-shop" && e.interrupted()),
        "{e:#?}"
    );
    world.iam.heal();
    assert!(world.apply(&s).await.is_complete());
    assert!(!world.observe(&s).await.plan.has_changes());
}

#[tokio::test]
async fn cancellation_stops_between_steps_and_a_rerun_finishes() {
    let world = World::new();
    let s = setup(AZURE);
    let o = world.observe(&s).await;
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let sink = move |e: ProgressEvent| {
        if let ProgressEvent::Step {
            status: StepStatus::Done,
            ..
        } = e
        {
            flag.store(true, Ordering::SeqCst);
        }
    };
    let report = apply(&o, world.ports(), &world.journal, &sink, cancel.as_ref()).await;
    assert_eq!(
        report.problem.as_ref().map(|p| p.code),
        Some(ErrorCode::Cancelled)
    );
    let ran: Vec<_> = report
        .steps
        .iter()
        .filter(|st| st.result != StepResult::NotRun)
        .collect();
    assert_eq!(ran.len(), 1, "only the first wave (the app) ran: {ran:#?}");
    assert!(world.octopus.accounts("Spaces-1").is_empty());
    let o = world.observe(&s).await;
    assert!(o.plan.steps.iter().any(|st| st.action == Action::Unchanged));
    let report = apply(
        &o,
        world.ports(),
        &world.journal,
        &|_: ProgressEvent| {},
        &NotCancelled,
    )
    .await;
    assert!(report.is_complete());
    assert_eq!(world.entra.applications().len(), 1);
}

#[tokio::test]
async fn independent_steps_run_in_one_wave_with_an_event_each() {
    let world = World::new();
    let s = setup(AZURE);
    let o = world.observe(&s).await;
    let events = octo_oidc_testkit::RecordingProgress::new();
    let report = apply(&o, world.ports(), &world.journal, &events, &NotCancelled).await;
    assert!(report.is_complete());
    let steps: Vec<(String, StepStatus)> = events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            ProgressEvent::Step {
                resource, status, ..
            } => Some((resource, status)),
            _ => None,
        })
        .collect();
    let acting = o.plan.steps.len();
    assert_eq!(
        steps
            .iter()
            .filter(|(_, st)| *st == StepStatus::Started)
            .count(),
        acting
    );
    assert_eq!(
        steps
            .iter()
            .filter(|(_, st)| *st == StepStatus::Done)
            .count(),
        acting
    );
    // The service principal, every credential and the account (it needs only the app's
    // client id) run in one wave, after the app's, and the role assignment after them.
    let wave = |kind: &str| -> Vec<usize> {
        report
            .steps
            .iter()
            .filter(|st| st.kind.as_str() == kind)
            .map(|st| st.wave)
            .collect()
    };
    assert_eq!(wave("app_registration"), [1]);
    assert_eq!(wave("service_principal"), [2]);
    assert!(
        wave("federated_credential").iter().all(|w| *w == 2),
        "{:?}",
        wave("federated_credential")
    );
    assert_eq!(wave("role_assignment"), [3]);
    assert_eq!(wave("octopus_account"), [2]);
}

#[tokio::test]
async fn a_failure_at_every_mutating_call_resumes_without_duplicates() {
    let failing: &[(&str, &str, &[&str])] = &[
        (
            "aws",
            AWS,
            &[
                "iam:ensure_oidc_provider",
                "iam:ensure_role",
                "octopus:ensure_account",
            ],
        ),
        (
            "azure",
            AZURE,
            &[
                "entra:ensure_application",
                "entra:ensure_service_principal",
                "entra:ensure_federated_credential",
                "rbac:ensure_role_assignment",
                "octopus:ensure_account",
            ],
        ),
        (
            "github",
            GITHUB,
            &[
                "octopus:ensure_service_account",
                "octopus:ensure_oidc_identity",
            ],
        ),
    ];
    for (name, text, operations) in failing {
        let s = setup(text);
        let clean = World::new();
        assert!(clean.apply(&s).await.is_complete());
        for op in *operations {
            let world = World::new();
            let (port, operation) = op.split_once(':').unwrap();
            let problem = Problem::new(
                ErrorCode::RemoteUnavailable,
                format!("{operation} failed (injected)"),
            );
            match port {
                "iam" => world.iam.fail_next(operation, problem),
                "entra" => world.entra.fail_next(operation, problem),
                "rbac" => world.rbac.fail_next(operation, problem),
                _ => world.octopus.fail_next(operation, problem),
            }
            let cut = world.apply(&s).await;
            let p = cut
                .problem
                .unwrap_or_else(|| panic!("{name}/{op}: not stopped"));
            assert!(p.message.contains("injected"), "{name}/{op}: {p:#?}");
            world
                .rerun_converges(&s, &clean, &format!("{name}/{op}"))
                .await;
        }
    }
}

#[tokio::test]
async fn a_teardown_cut_at_every_journal_boundary_finishes_on_rerun() {
    for (name, text) in [("aws", AWS), ("azure", AZURE), ("github", GITHUB)] {
        let s = setup(text);
        let probe = World::new();
        assert!(probe.apply(&s).await.is_complete());
        let before = probe.journal.all().len();
        assert!(probe.teardown(&s).await.problem.is_none());
        let boundaries = probe.journal.all().len() - before;
        assert!(boundaries >= 2, "{name}");
        for n in 1..=boundaries {
            let world = World::new();
            assert!(world.apply(&s).await.is_complete());
            world.journal.fail_at_append(n);
            let cut = world.teardown(&s).await;
            assert!(cut.problem.is_some(), "{name}@{n}: not stopped");
            let rerun = world.teardown(&s).await;
            assert!(rerun.problem.is_none(), "{name}@{n}: {:#?}", rerun.problem);
            let counts = world.inventory_counts();
            assert!(counts.values().all(|c| *c == 0), "{name}@{n}: {counts:?}");
            for e in entries(&world.journal.all()) {
                assert_eq!(e.last, Phase::Deleted, "{name}@{n}: {e:#?}");
            }
        }
    }
}

/// A split-apps setup: two app registrations, each with its service principal, credentials
/// and role assignment.
fn split_apps() -> octo_oidc_engine::setup_file::Setup {
    crate::support::setup(
        &crate::support::AZURE
            .replace(
                "environments = [\"staging\", \"production\"]",
                "environments = [\"*\"]",
            )
            .replace(
                "role = \"Contributor\"",
                "role = \"Contributor\"\ncredential_strategy = \"split_apps\"",
            ),
    )
}

#[tokio::test]
async fn split_apps_journal_every_resource_under_its_own_identity() {
    use std::collections::BTreeMap;
    let world = crate::support::World::new();
    // 2 projects × 12 environments: more than one app's 20 credentials.
    let mut inventory = crate::support::inventory();
    for i in 4..=12 {
        inventory
            .environments
            .push(octo_oidc_core::ports::OctopusResource {
                id: format!("Environments-{i}"),
                name: format!("env-{i}"),
                slug: format!("env-{i}"),
            });
    }
    world.octopus.set_inventory("Spaces-1", inventory);
    let s = split_apps();
    let o = world.observe(&s).await;
    let apps = o
        .plan
        .steps
        .iter()
        .filter(|st| st.kind == octo_oidc_engine::desired::ResourceKind::AppRegistration)
        .count();
    assert_eq!(apps, 2, "{:#?}", o.plan.steps);
    // Kind and name alone do not tell the two apps' role assignments apart.
    let mut names: Vec<(String, &str)> = o
        .plan
        .steps
        .iter()
        .map(|st| (format!("{:?}", st.kind), st.name.as_str()))
        .collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert!(
        names.len() < before,
        "the scenario has steps sharing kind and name"
    );
    assert!(world.apply(&s).await.is_complete());
    let records = octo_oidc_engine::journal::Journal::records(&world.journal).unwrap();
    let mut done: BTreeMap<String, usize> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.phase == octo_oidc_engine::journal::Phase::Done)
    {
        *done
            .entry(serde_json::to_string(&(&r.kind, &r.name, &r.app)).unwrap())
            .or_default() += 1;
    }
    let twice: Vec<_> = done.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "records that do not identify one resource: {twice:#?}"
    );
    let entries = octo_oidc_engine::journal::entries(&records);
    assert_eq!(
        entries.len(),
        o.plan.steps.len(),
        "one journal entry per plan step"
    );
}
