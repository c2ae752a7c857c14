//! Apply against the testkit's fakes, per target: plan → apply → a second plan has no
//! changes and a second apply makes no state-changing call → tamper → the plan names it →
//! apply repairs it.

use octo_oidc_core::ports::{EntraApps, Iam, Octopus};
use octo_oidc_engine::desired::ResourceKind;
use octo_oidc_engine::plan::Action;

use crate::support::{AWS, AZURE, GITHUB, World, desired_role, setup, step, steps_doing};

#[tokio::test]
async fn every_target_converges_and_a_second_apply_changes_nothing() {
    for (name, text, expected) in [
        (
            "aws",
            AWS,
            &["ensure_oidc_provider", "ensure_role", "ensure_account"][..],
        ),
        (
            "azure",
            AZURE,
            &[
                "ensure_application",
                "ensure_service_principal",
                "ensure_federated_credential",
                "ensure_role_assignment",
                "ensure_account",
            ],
        ),
        (
            "github",
            GITHUB,
            &["ensure_service_account", "ensure_oidc_identity"],
        ),
    ] {
        let world = World::new();
        let s = setup(text);
        let first = world.observe(&s).await;
        assert!(first.plan.has_changes(), "{name}: the first plan creates");
        let report = world.apply(&s).await;
        assert!(report.is_complete(), "{name}: {:#?}", report.problem);
        let changed: Vec<String> = world.changes();
        for op in expected {
            assert!(
                changed.iter().any(|c| c.starts_with(op)),
                "{name}: no {op} in {changed:?}"
            );
        }
        let second = world.observe(&s).await;
        let pending: Vec<_> = second
            .plan
            .steps
            .iter()
            .filter(|st| st.action != Action::Unchanged)
            .collect();
        assert!(pending.is_empty(), "{name}: second plan {pending:#?}");
        world.clear_logs();
        let again = world.apply(&s).await;
        assert!(again.is_complete());
        assert_eq!(
            world.changes(),
            Vec::<String>::new(),
            "{name}: the second apply changed state"
        );
    }
}

#[tokio::test]
async fn azure_client_id_reaches_the_account_and_resources_carry_the_mark() {
    let (world, _) = World::applied(AZURE).await;
    let apps = world.entra.applications();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].tags, ["octo-oidc:setup=shop-azure"]);
    assert_eq!(apps[0].notes.as_deref(), Some("octo-oidc:setup=shop-azure"));
    let account = &world.octopus.accounts("Spaces-1")[0];
    assert_eq!(account.body["ClientId"], apps[0].app_id.as_str());
    assert!(
        account.body["Description"]
            .as_str()
            .unwrap()
            .ends_with("octo-oidc:setup=shop-azure")
    );
    let sp = world
        .entra
        .find_service_principal(&apps[0].app_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(world.rbac.assignments()[0].principal_id, sp.object_id);
}

#[tokio::test]
async fn aws_resources_are_tagged_and_the_account_names_the_role() {
    let (world, _) = World::applied(AWS).await;
    let role = world.iam.find_role("octopus-shop").await.unwrap().unwrap();
    assert_eq!(
        role.tags.get("octo-oidc:setup").map(String::as_str),
        Some("shop-aws")
    );
    let provider = &world.iam.providers()[0];
    assert_eq!(
        provider.tags.get("octo-oidc:setup").map(String::as_str),
        Some("shop-aws")
    );
    assert_eq!(
        world.octopus.accounts("Spaces-1")[0].body["RoleArn"],
        role.arn.as_str()
    );
}

#[tokio::test]
async fn a_widened_trust_policy_is_planned_as_an_update_and_repaired() {
    let (world, s) = World::applied(AWS).await;
    world.drop_sub_conditions(&s).await;
    let tampered = world.observe(&s).await;
    let step = step(&tampered, "iam_role");
    assert_eq!(step.action, Action::Update, "{step:#?}");
    assert!(
        step.changes.iter().any(|c| c.field.contains(":sub")),
        "{:#?}",
        step.changes
    );
    assert!(world.apply(&s).await.is_complete());
    assert!(!world.observe(&s).await.plan.has_changes());
    let role = world.iam.find_role("octopus-shop").await.unwrap().unwrap();
    assert!(role.trust_policy.contains(":sub"));
}

#[tokio::test]
async fn a_deleted_credential_is_planned_and_recreated() {
    let (world, s) = World::applied(AZURE).await;
    let before = world.credentials().await;
    let gone = world.delete_credential(&before[0].subject).await;
    let tampered = world.observe(&s).await;
    let creates = steps_doing(&tampered, Action::Create);
    assert_eq!(creates.len(), 1, "{creates:#?}");
    assert_eq!(creates[0].name, gone.name);
    world.clear_logs();
    assert!(world.apply(&s).await.is_complete());
    let changes = world.changes();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(
        changes[0].starts_with("ensure_federated_credential"),
        "{changes:?}"
    );
    let after = world.credentials().await;
    assert_eq!(after.len(), before.len());
}

#[tokio::test]
async fn a_conflicting_role_is_refused_before_any_call() {
    let world = World::new();
    let s = setup(AWS);
    let o = world.observe(&s).await;
    let mut foreign = desired_role(&o);
    foreign.tags.clear();
    world.iam.add_role(&foreign);
    world.clear_logs();
    let report = world.apply(&s).await;
    assert_eq!(
        report.problem.as_ref().map(|p| p.code),
        Some(octo_oidc_core::ErrorCode::Conflict)
    );
    assert_eq!(world.changes(), Vec::<String>::new());
    assert!(
        world
            .octopus
            .find_account("Spaces-1", "AWS production (OIDC)")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_narrowed_scope_deletes_the_credentials_it_no_longer_needs() {
    let world = World::new();
    assert!(world.apply(&setup(AZURE)).await.is_complete());
    let before = world.credentials().await;
    let narrowed = setup(&AZURE.replace(r#"["staging", "production"]"#, r#"["production"]"#));
    let o = world.observe(&narrowed).await;
    let deletes = steps_doing(&o, Action::Delete);
    assert!(!deletes.is_empty(), "{:#?}", o.plan.steps);
    assert!(
        deletes
            .iter()
            .all(|d| d.kind == ResourceKind::FederatedCredential)
    );
    let report = world.apply(&narrowed).await;
    assert!(report.is_complete(), "{:#?}", report.problem);
    let after = world.credentials().await;
    assert_eq!(after.len(), before.len() - deletes.len());
    assert!(
        after.iter().all(|c| !c.subject.contains("staging")),
        "{after:#?}"
    );
    assert!(!world.observe(&narrowed).await.plan.has_changes());
}
