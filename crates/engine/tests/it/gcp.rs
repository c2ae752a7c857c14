//! The Google Cloud target against the test kit's fakes: apply creates pool, provider,
//! service account, bindings and account and a rerun sends nothing; a loosened condition and
//! a dropped binding member are drift that apply repairs; the preflight refuses before any
//! write; a pool of someone else is a conflict; teardown removes only ours (a reused service
//! account and its pre-existing roles stay) and reports the soft-deleted pool, which the next
//! apply undeletes; verify passes, simulates the CEL condition and trades tokens.

use octo_oidc_core::ErrorCode;
use octo_oidc_core::gcp::{ProviderRef, WORKLOAD_IDENTITY_USER};
use octo_oidc_core::ports::{GcpLifecycle, GcpPolicyTarget};
use octo_oidc_engine::plan::Action;
use octo_oidc_engine::teardown::TeardownResult;
use octo_oidc_engine::verify::{Area, VerifyVerdict};
use octo_oidc_testkit::FakeGoogleCloud;
use octo_oidc_testkit::assert_problem;

use crate::support::{GCP, World, setup, step};
use crate::verify::{assert_passed, problems, run_trading, trades};

const EMAIL: &str = "octo-shop-gcp@octopus-sandbox.iam.gserviceaccount.com";

fn provider(world: &World) -> ProviderRef {
    ProviderRef {
        project_number: world.gcp.project_info().project_number,
        pool_id: "octo-shop-gcp".into(),
        provider_id: "octopus".into(),
    }
}

fn actions(o: &octo_oidc_engine::observe::Observation) -> Vec<(String, String)> {
    o.plan
        .steps
        .iter()
        .map(|s| (s.action.as_str().to_string(), s.kind.as_str().to_string()))
        .collect()
}

#[tokio::test]
async fn apply_creates_everything_and_a_rerun_sends_nothing() {
    let world = World::new();
    let s = setup(GCP);
    let o = world.observe(&s).await;
    let kinds: Vec<String> = actions(&o)
        .into_iter()
        .map(|(a, k)| format!("{a} {k}"))
        .collect();
    assert_eq!(
        kinds,
        [
            "create workload_identity_pool",
            "create workload_identity_provider",
            "create gcp_service_account",
            "create workload_identity_binding",
            "create project_role_binding",
            "create project_role_binding",
            "create octopus_account",
        ]
    );
    let report = world.apply(&s).await;
    assert!(report.is_complete(), "{:?}", report.problem);
    // Waves: pool and service account first, the account last.
    let wave = |kind: &str| {
        report
            .steps
            .iter()
            .find(|r| r.kind.as_str() == kind)
            .unwrap()
            .wave
    };
    assert_eq!(wave("workload_identity_pool"), 1);
    assert_eq!(wave("gcp_service_account"), 1);
    assert_eq!(wave("workload_identity_provider"), 2);
    assert_eq!(wave("workload_identity_binding"), 2);
    assert_eq!(wave("octopus_account"), 3);

    let pool = &world.gcp.pools()[0];
    assert!(pool.description.contains("octo-oidc:setup=shop-gcp"));
    let p = &world.gcp.providers()[0];
    assert_eq!(p.trust.issuer_uri, crate::support::ISSUER);
    let condition = p.trust.attribute_condition.clone().unwrap();
    assert!(condition.starts_with("assertion.sub in ["), "{condition}");
    assert!(condition.contains("'space:default:project:web:environment:production'"));
    let members = world
        .gcp
        .bindings(&GcpPolicyTarget::ServiceAccount(EMAIL.into()));
    assert_eq!(members[0].role, WORKLOAD_IDENTITY_USER);
    assert!(members[0].members.iter().all(|m| m.starts_with(&format!(
        "principal://iam.googleapis.com/{}/subject/",
        provider(&world).pool_name()
    ))));
    let project = world
        .gcp
        .bindings(&GcpPolicyTarget::Project("octopus-sandbox".into()));
    assert_eq!(project.len(), 2);
    let account = &world.octopus.accounts("Spaces-1")[0];
    assert_eq!(account.body["AccountType"], "GoogleCloudOidcAccount");
    assert_eq!(
        account.body["Audience"],
        provider(&world).default_audience()
    );
    assert_eq!(account.body["TokenLifetimeSeconds"], "3600");

    let again = world.observe(&s).await;
    assert!(!again.plan.has_changes(), "{:#?}", again.plan.steps);
    world.clear_logs();
    let rerun = world.apply(&s).await;
    assert!(rerun.is_complete());
    assert_eq!(world.changes(), Vec::<String>::new());
}

#[tokio::test]
async fn a_loosened_condition_and_a_dropped_member_are_drift_that_apply_repairs() {
    let (world, s) = World::applied(GCP).await;
    world.gcp.set_condition(
        &provider(&world),
        Some("assertion.sub.startsWith('space:')"),
    );
    let sa = GcpPolicyTarget::ServiceAccount(EMAIL.into());
    let member = world.gcp.bindings(&sa)[0].members[0].clone();
    let stranger = "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/octo-shop-gcp/subject/space:default:project:web:environment:dev";
    world
        .gcp
        .seed_binding(&sa, WORKLOAD_IDENTITY_USER, stranger);
    {
        use octo_oidc_core::ports::{GcpPolicyChange, GoogleCloud};
        let change = GcpPolicyChange {
            remove: [(WORKLOAD_IDENTITY_USER.to_string(), vec![member.clone()])].into(),
            ..Default::default()
        };
        world.gcp.change_policy(&sa, &change).await.unwrap();
    }
    let o = world.observe(&s).await;
    let provider_step = step(&o, "workload_identity_provider");
    assert_eq!(provider_step.action, Action::Update);
    assert_eq!(provider_step.changes[0].field, "attribute_condition");
    let binding = step(&o, "workload_identity_binding");
    assert_eq!(binding.action, Action::Update);

    let report = run_trading(&world, &o).await;
    assert_eq!(report.verdict, VerifyVerdict::ProblemsFound);
    let found = problems(&report).join("\n");
    assert!(found.contains("drifted: attribute_condition"), "{found}");
    assert!(
        found.contains("space:default:project:web:environment:dev: accepted but outside the scope"),
        "the stranger passes the loosened condition and the binding: {found}"
    );
    assert!(found.contains("in the scope but rejected"), "{found}");

    assert!(world.apply(&s).await.is_complete());
    let members = &world.gcp.bindings(&sa)[0].members;
    assert!(members.contains(&member) && !members.iter().any(|m| m == stranger));
    let fixed = world.observe(&s).await;
    assert!(!fixed.plan.has_changes(), "{:#?}", fixed.plan.steps);
    let report = run_trading(&world, &fixed).await;
    assert_passed(&report, "");
}

#[tokio::test]
async fn verify_trades_tokens_in_scope_and_explains_googles_refusals() {
    let (world, s) = World::applied(GCP).await;
    let o = world.observe(&s).await;
    let report = run_trading(&world, &o).await;
    assert_passed(&report, "");
    let trades = trades(&report);
    assert!(trades.iter().any(|c| c.message == "in scope: accepted"));
    let refused: Vec<_> = trades
        .iter()
        .filter(|c| c.message.starts_with("outside the scope: rejected"))
        .collect();
    assert!(!refused.is_empty());
    assert!(
        refused
            .iter()
            .any(|c| c.message.contains("rejected by the attribute condition")),
        "{refused:#?}"
    );
    let sim = report
        .checks
        .iter()
        .find(|c| c.area == Area::Simulation)
        .unwrap();
    assert!(
        sim.passed && sim.message.contains("CEL condition"),
        "{sim:?}"
    );

    // The condition now names another subject: in-scope trades fail with Google's code, the
    // cause, and the token's `sub` beside what the condition trusts.
    world.gcp.set_condition(
        &provider(&world),
        Some("assertion.sub in ['space:default:project:web:environment:productio']"),
    );
    let o = world.observe(&s).await;
    let report = run_trading(&world, &o).await;
    let failed = report
        .checks
        .iter()
        .find(|c| {
            c.area == Area::TokenTrade
                && !c.passed
                && c.name == "space:default:project:web:environment:production"
        })
        .unwrap_or_else(|| panic!("{:#?}", report.checks));
    assert!(failed.message.contains("unauthorized_client"), "{failed:?}");
    assert!(
        failed
            .cause
            .as_deref()
            .unwrap()
            .contains("attributeCondition")
    );
    let cmp = failed.comparison.as_ref().unwrap();
    assert_eq!(cmp.claim, "sub");
    assert_eq!(
        cmp.trusted,
        "space:default:project:web:environment:productio"
    );
    assert_eq!(cmp.first_difference, Some(47));
}

#[tokio::test]
async fn the_preflight_names_missing_permissions_before_any_write() {
    let world = World::new();
    world.gcp.deny_permissions(&[
        "iam.workloadIdentityPools.create",
        "resourcemanager.projects.setIamPolicy",
    ]);
    let s = setup(GCP);
    world.clear_logs();
    let report = world.apply(&s).await;
    let problem = report.problem.expect("refused");
    assert_problem(
        &problem,
        ErrorCode::PermissionDenied,
        "iam.workloadIdentityPools.create",
    );
    assert!(
        problem
            .message
            .contains("resourcemanager.projects.setIamPolicy"),
        "{}",
        problem.message
    );
    assert!(
        problem
            .hint
            .unwrap()
            .contains("roles/iam.workloadIdentityPoolAdmin")
    );
    assert_eq!(world.changes(), Vec::<String>::new());
    assert!(world.gcp.pools().is_empty());
}

#[tokio::test]
async fn a_pool_of_someone_else_is_a_conflict_and_nothing_is_sent() {
    let world = World::new();
    let other = setup(&GCP.replace("name = \"shop-gcp\"", "name = \"other\"").replace(
        "project = \"octopus-sandbox\"",
        "project = \"octopus-sandbox\"\npool = \"octo-shop-gcp\"\nservice_account = \"other-sa\"",
    ).replace("Google production (OIDC)", "Other (OIDC)"));
    assert!(world.apply(&other).await.is_complete());
    let s = setup(GCP);
    let o = world.observe(&s).await;
    let pool = &o.plan.steps[0];
    assert_eq!(pool.action, Action::Conflict);
    assert!(
        pool.reason
            .as_deref()
            .unwrap()
            .contains("belongs to setup 'other'")
    );
    world.clear_logs();
    let report = world.apply(&s).await;
    assert_eq!(report.problem.unwrap().code, ErrorCode::Conflict);
    assert_eq!(world.changes(), Vec::<String>::new());
}

#[tokio::test]
async fn teardown_leaves_what_it_did_not_create_and_reports_the_soft_deleted_pool() {
    let world = World::new();
    // A service account made by hand, with a role of its own: reused, never removed.
    world.gcp.seed_service_account(EMAIL, "made by hand");
    let project = GcpPolicyTarget::Project("octopus-sandbox".into());
    world
        .gcp
        .seed_binding(&project, "roles/viewer", &format!("serviceAccount:{EMAIL}"));
    let s = setup(GCP);
    let o = world.observe(&s).await;
    let sa_step = step(&o, "gcp_service_account");
    assert_eq!(sa_step.action, Action::Unchanged);
    assert!(sa_step.reason.as_deref().unwrap().contains("reused"));
    assert!(
        !o.plan.steps.iter().any(|st| st.action == Action::Delete),
        "a reused account's own roles are not the setup's to remove"
    );
    assert!(world.apply(&s).await.is_complete());

    let report = world.teardown(&s).await;
    assert!(report.problem.is_none(), "{:?}", report.problem);
    let item = |kind: &str| {
        report
            .items
            .iter()
            .filter(|i| i.kind.as_str() == kind)
            .collect::<Vec<_>>()
    };
    let pool = item("workload_identity_pool");
    assert_eq!(pool[0].result, TeardownResult::Deleted);
    assert!(
        pool[0]
            .note
            .as_deref()
            .unwrap()
            .contains("soft-deleted for 30 days"),
        "{:?}",
        pool[0].note
    );
    assert!(matches!(
        item("gcp_service_account")[0].result,
        TeardownResult::Left { .. }
    ));
    let roles = item("project_role_binding");
    assert_eq!(roles.len(), 3);
    let viewer = roles.iter().find(|r| r.id == "roles/viewer").unwrap();
    assert!(matches!(viewer.result, TeardownResult::Left { .. }));
    assert!(
        roles
            .iter()
            .filter(|r| r.id != "roles/viewer")
            .all(|r| r.result == TeardownResult::Deleted)
    );
    let left = world.gcp.bindings(&project);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].role, "roles/viewer");
    assert!(
        world
            .gcp
            .bindings(&GcpPolicyTarget::ServiceAccount(EMAIL.into()))
            .is_empty(),
        "the pool's principals are gone from the reused account"
    );
    assert_eq!(world.gcp.service_accounts().len(), 1);
    assert!(world.octopus.accounts("Spaces-1").is_empty());
    assert!(
        world
            .gcp
            .providers()
            .iter()
            .all(|p| matches!(p.lifecycle, GcpLifecycle::SoftDeleted { .. }))
    );

    // The same setup again: the soft-deleted pool and provider are undeleted, not recreated.
    let o = world.observe(&s).await;
    let pool_step = &o.plan.steps[0];
    assert_eq!(pool_step.action, Action::Update);
    assert_eq!(pool_step.changes[0].field, "state");
    assert!(pool_step.reason.as_deref().unwrap().contains("undeletes"));
    assert!(world.apply(&s).await.is_complete());
    assert_eq!(world.gcp.pools().len(), 1);
    assert_eq!(world.gcp.pools()[0].lifecycle, GcpLifecycle::Active);
    assert!(!world.observe(&s).await.plan.has_changes());
}

#[test]
fn the_fake_starts_with_one_project() {
    let fake = FakeGoogleCloud::default();
    assert_eq!(fake.project_info().project_id, "octopus-sandbox");
}
