//! `github.team`: the service account joins the named team (found by name among the space's
//! and the system teams); a rerun changes nothing; teardown removes only a membership this
//! setup added; a missing team is a conflict that sends nothing.

use octo_oidc_engine::plan::Action;
use octo_oidc_engine::teardown::TeardownResult;

use crate::support::{GITHUB, World, item, setup, step};

fn with_team(team: &str) -> String {
    format!("{GITHUB}team = \"{team}\"\n")
}

#[tokio::test]
async fn apply_adds_the_service_account_to_the_team_once_and_teardown_removes_it() {
    let w = World::new();
    let other = w.octopus.add_team(Some("Spaces-2"), "Deployers", &[]);
    let team = w
        .octopus
        .add_team(Some("Spaces-1"), "Deployers", &["Users-99"]);
    let s = setup(&with_team("deployers"));
    let o = w.observe(&s).await;
    let step = step(&o, "team_membership");
    assert_eq!(step.action, Action::Create);
    assert_eq!(
        step.id.as_deref(),
        Some(team.as_str()),
        "the space's team, not {other}'s"
    );
    let report = w.apply(&s).await;
    assert!(report.is_complete(), "{:?}", report.problem);
    let sa = report.outputs["service_account.id"].clone();
    let members = |id: &str| {
        w.octopus
            .teams()
            .into_iter()
            .find(|t| t.id == id)
            .unwrap()
            .member_user_ids
    };
    assert_eq!(members(&team), ["Users-99".to_string(), sa.clone()]);
    assert!(members(&other).is_empty());

    w.clear_logs();
    let again = w.observe(&s).await;
    assert!(!again.plan.has_changes(), "{:#?}", again.plan.steps);
    let report = w.apply(&s).await;
    assert!(report.is_complete());
    assert_eq!(w.changes(), Vec::<String>::new());

    let down = w.teardown(&s).await;
    assert!(down.problem.is_none(), "{:?}", down.problem);
    let membership = item(&down, "team_membership");
    assert_eq!(membership.result, TeardownResult::Deleted);
    assert_eq!(members(&team), ["Users-99".to_string()]);
}

#[tokio::test]
async fn a_membership_that_existed_before_is_left_by_teardown() {
    let w = World::new();
    let s = setup(&with_team("Octopus Deployers"));
    // The service account and its membership exist before the setup.
    let team = w.octopus.add_team(None, "Octopus Deployers", &[]);
    let plain = setup(GITHUB);
    assert!(w.apply(&plain).await.is_complete());
    let sa = w.observe(&plain).await.observed.service_account.unwrap().id;
    // Someone added it to the team by hand; this setup's journal never did.
    let fresh = World {
        journal: octo_oidc_engine::journal::MemoryJournal::default(),
        ..w.clone()
    };
    octo_oidc_core::ports::Octopus::add_team_member(&fresh.octopus, &team, &sa)
        .await
        .unwrap();
    let o = fresh.observe(&s).await;
    let step = step(&o, "team_membership");
    assert_eq!(step.action, Action::Unchanged);
    let down = fresh.teardown(&s).await;
    let membership = item(&down, "team_membership");
    assert!(
        matches!(&membership.result, TeardownResult::Left { reason } if reason.contains("existed before")),
        "{membership:?}"
    );
    assert!(
        fresh
            .octopus
            .teams()
            .iter()
            .any(|t| t.id == team && t.member_user_ids.contains(&sa))
    );
}

#[tokio::test]
async fn a_team_that_does_not_exist_is_a_conflict_and_apply_sends_nothing() {
    let w = World::new();
    let s = setup(&with_team("Nobody"));
    let o = w.observe(&s).await;
    assert!(o.plan.has_conflicts());
    let report = w.apply(&s).await;
    assert!(report.problem.is_some());
    assert_eq!(w.changes(), Vec::<String>::new());
}
