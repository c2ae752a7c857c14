//! Teardown against the fakes: after apply it leaves nothing of ours, leaves pre-existing
//! unrelated resources alone, and says what it left and why.

use std::collections::BTreeMap;

use octo_oidc_core::ports::{
    ApplicationSpec, AzureRbac, EntraApps, Iam, Octopus, OidcProviderSpec, RoleSpec, ServiceAccount,
};
use octo_oidc_engine::teardown::TeardownResult;

use crate::support::{AWS, AZURE, GITHUB, ISSUER, World, setup};

fn unrelated_role() -> RoleSpec {
    RoleSpec {
        name: "someone-elses-role".into(),
        trust_policy: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
        max_session_duration: 3600,
        description: None,
        managed_policy_arns: vec![],
        inline_policies: BTreeMap::new(),
        tags: BTreeMap::new(),
    }
}

#[tokio::test]
async fn teardown_removes_ours_and_leaves_the_rest() {
    for (name, text) in [("aws", AWS), ("azure", AZURE), ("github", GITHUB)] {
        let world = World::new();
        world.iam.add_role(&unrelated_role());
        world
            .entra
            .add_application(&ApplicationSpec::named("someone-else", "Someone else"));
        let s = setup(text);
        assert!(world.apply(&s).await.is_complete(), "{name}");
        let report = world.teardown(&s).await;
        assert!(report.problem.is_none(), "{name}: {report:#?}");
        assert!(
            report
                .items
                .iter()
                .all(|i| i.result == TeardownResult::Deleted),
            "{name}: {report:#?}"
        );
        assert_eq!(
            world
                .iam
                .roles()
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["someone-elses-role"],
            "{name}"
        );
        assert!(world.iam.providers().is_empty(), "{name}");
        assert_eq!(world.entra.applications().len(), 1, "{name}");
        assert!(world.rbac.assignments().is_empty(), "{name}");
        assert!(world.octopus.accounts("Spaces-1").is_empty(), "{name}");
        assert!(github_shop(&world).await.is_none(), "{name}");
        let again = world.teardown(&s).await;
        assert!(
            again.items.is_empty(),
            "{name}: a second teardown finds nothing: {again:#?}"
        );
    }
}

#[tokio::test]
async fn a_provider_that_existed_before_is_left_with_the_reason() {
    let world = World::new();
    world
        .iam
        .ensure_oidc_provider(&OidcProviderSpec {
            url: ISSUER.into(),
            client_ids: vec!["octopus.example.com".into()],
            thumbprints: vec![],
            tags: BTreeMap::new(),
        })
        .await
        .unwrap();
    let s = setup(AWS);
    assert!(world.apply(&s).await.is_complete());
    let report = world.teardown(&s).await;
    let left = report.left();
    assert_eq!(left.len(), 1, "{report:#?}");
    assert!(left[0].1.contains("existed before"), "{}", left[0].1);
    assert_eq!(world.iam.providers().len(), 1);
    assert!(world.iam.roles().is_empty());
}

#[tokio::test]
async fn a_reused_service_account_and_a_foreign_credential_are_left() {
    let world = World::new();
    world
        .octopus
        .ensure_service_account("github-shop", "GitHub shop (by hand)")
        .await
        .unwrap();
    let s = setup(GITHUB);
    assert!(world.apply(&s).await.is_complete());
    let report = world.teardown(&s).await;
    assert_eq!(report.left().len(), 1, "{report:#?}");
    let sa = github_shop(&world)
        .await
        .expect("the service account made by hand is kept");
    assert!(
        world
            .octopus
            .list_oidc_identities(&sa.id)
            .await
            .unwrap()
            .identities
            .is_empty()
    );

    let (world, s) = World::applied(AZURE).await;
    let app = world.entra.applications()[0].clone();
    let foreign = octo_oidc_core::ports::FederatedCredential {
        name: "gitlab-main".into(),
        issuer: "https://gitlab.example.com".into(),
        subject: "project_path:acme/shop:ref_type:branch:ref:main".into(),
        audiences: vec!["api://AzureADTokenExchange".into()],
        description: None,
    };
    world
        .entra
        .ensure_federated_credential(&app.object_id, &foreign)
        .await
        .unwrap();
    let report = world.teardown(&s).await;
    let left: Vec<&str> = report.left().iter().map(|(i, _)| i.name.as_str()).collect();
    assert!(left.contains(&"gitlab-main"), "{report:#?}");
    assert_eq!(
        world.entra.applications().len(),
        1,
        "the app holding a foreign credential stays"
    );
    assert!(world.rbac.assignments().is_empty());
    assert!(world.octopus.accounts("Spaces-1").is_empty());
}

#[tokio::test]
async fn status_shows_what_exists_and_an_interrupted_change() {
    use octo_oidc_engine::journal::Phase;
    use octo_oidc_engine::plan::Action;
    use octo_oidc_engine::teardown::status;

    let world = World::new();
    let s = setup(AWS);
    // Appends: the provider's intent and done, the role's and the account's intents (made
    // ready together, journaled together), then the role's "done" (5): the role exists, the
    // journal says intent.
    world.journal.fail_at_append(5);
    assert!(world.apply(&s).await.problem.is_some());
    let o = world.observe(&s).await;
    let st = status(&o, &world.journal).unwrap();
    let role = st.iter().find(|i| i.name == "octopus-shop").unwrap();
    assert!(role.exists && role.interrupted, "{role:#?}");
    assert_eq!(role.journal, Some(Phase::Intent));
    let account = st
        .iter()
        .find(|i| i.name == "AWS production (OIDC)")
        .unwrap();
    // The account ran beside the role (same wave) and was made.
    assert!(
        account.exists
            && account.action == Action::Unchanged
            && account.journal == Some(Phase::Done),
        "{account:#?}"
    );
    assert!(world.apply(&s).await.is_complete());
    let st = status(&world.observe(&s).await, &world.journal).unwrap();
    assert!(
        st.iter()
            .all(|i| i.exists && !i.interrupted && i.journal == Some(Phase::Done)),
        "{st:#?}"
    );
    assert!(world.teardown(&s).await.problem.is_none());
    let st = status(&world.observe(&s).await, &world.journal).unwrap();
    assert!(
        st.iter()
            .all(|i| !i.exists && i.journal == Some(Phase::Deleted)),
        "{st:#?}"
    );
}

/// The Octopus service account `github-shop`, if it exists.
async fn github_shop(world: &World) -> Option<ServiceAccount> {
    world
        .octopus
        .find_service_account("github-shop")
        .await
        .unwrap()
}

/// `split_apps`: two app registrations whose role assignments share kind and name, and (made
/// by hand here) a credential of the same name in each. Status and teardown tell each one by
/// its app: the journal entry of one app's resource is never read as the other's, and each
/// credential is deleted from its own app.
#[tokio::test]
async fn split_apps_resources_are_told_apart_by_their_app() {
    use octo_oidc_core::ports::FederatedCredential;
    use octo_oidc_engine::desired::ResourceKind;
    use octo_oidc_engine::journal::{Journal, JournalRecord, Phase, entries};

    let (world, s) = crate::support::split_apps();
    assert!(world.apply(&s).await.is_complete());
    let mut apps = world.entra.applications();
    apps.sort_by(|a, b| a.unique_name.cmp(&b.unique_name));
    let [first, second] = &apps[..] else {
        panic!("two app registrations: {apps:#?}")
    };
    let (first_name, second_name) = (
        first.unique_name.clone().unwrap(),
        second.unique_name.clone().unwrap(),
    );
    // The first app's first credential's name, on the second app with a subject the setup
    // does not want there (a stale credential of ours in that app).
    let shared = world
        .entra
        .list_federated_credentials(&first.object_id)
        .await
        .unwrap()
        .remove(0);
    world
        .entra
        .ensure_federated_credential(
            &second.object_id,
            &FederatedCredential {
                subject: "space:default:project:gone:environment:gone".into(),
                ..shared.clone()
            },
        )
        .await
        .unwrap();
    // A teardown of the second app's role assignment cut short before its delete call.
    let o = world.observe(&s).await;
    let assignment = o
        .plan
        .steps
        .iter()
        .find(|st| st.kind == ResourceKind::RoleAssignment && st.app() == Some(&second_name))
        .unwrap()
        .clone();
    world
        .journal
        .append(&JournalRecord::for_step(
            "shop-azure",
            Phase::DeleteIntent,
            &assignment,
        ))
        .unwrap();

    let status = octo_oidc_engine::teardown::status(&o, &world.journal).unwrap();
    let azure = [
        ResourceKind::AppRegistration,
        ResourceKind::ServicePrincipal,
        ResourceKind::FederatedCredential,
        ResourceKind::RoleAssignment,
    ];
    for i in status.iter().filter(|i| azure.contains(&i.kind)) {
        assert!(
            i.app == Some(first_name.clone()) || i.app == Some(second_name.clone()),
            "{i:#?}"
        );
    }
    let named = |kind: ResourceKind, name: &str, app: &str| {
        let found: Vec<_> = status
            .iter()
            .filter(|i| i.kind == kind && i.name == name && i.app.as_deref() == Some(app))
            .collect();
        assert_eq!(found.len(), 1, "{kind:?} {name} in {app}: {status:#?}");
        found[0].clone()
    };
    let in_first = named(ResourceKind::FederatedCredential, &shared.name, &first_name);
    assert_eq!(
        (in_first.action, in_first.journal),
        (octo_oidc_engine::plan::Action::Unchanged, Some(Phase::Done))
    );
    let in_second = named(
        ResourceKind::FederatedCredential,
        &shared.name,
        &second_name,
    );
    assert_eq!(
        (in_second.action, in_second.journal),
        (octo_oidc_engine::plan::Action::Delete, None),
        "the journal never touched the second app's credential"
    );
    assert!(named(ResourceKind::RoleAssignment, &assignment.name, &second_name).interrupted);
    assert!(!named(ResourceKind::RoleAssignment, &assignment.name, &first_name).interrupted);

    // Teardown, with the second app's assignment already gone (its delete went through
    // before the crash) and a credential of another issuer keeping each app in place, so
    // what is left on each app can be read afterwards.
    world
        .rbac
        .delete_role_assignment(
            &world
                .rbac
                .assignments()
                .into_iter()
                .find(|a| {
                    o.observed.apps.iter().any(|app| {
                        app.unique_name == second_name
                            && app.service_principal.as_ref().is_some_and(|sp| {
                                sp.object_id.eq_ignore_ascii_case(&a.principal_id)
                            })
                    })
                })
                .unwrap(),
        )
        .await
        .unwrap();
    // (The first app is full: one of its other credentials makes room.)
    let other = world
        .entra
        .list_federated_credentials(&first.object_id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name != shared.name)
        .unwrap();
    world
        .entra
        .delete_federated_credential(&first.object_id, &other.name)
        .await
        .unwrap();
    for app in [first, second] {
        world
            .entra
            .ensure_federated_credential(
                &app.object_id,
                &FederatedCredential {
                    name: "someone-elses".into(),
                    issuer: "https://ci.example.com".into(),
                    subject: "anything".into(),
                    ..shared.clone()
                },
            )
            .await
            .unwrap();
    }
    let report = world.teardown(&s).await;
    assert!(report.problem.is_none(), "{report:#?}");
    for app in [&first_name, &second_name] {
        let item = report
            .items
            .iter()
            .find(|i| {
                i.kind == ResourceKind::FederatedCredential
                    && i.name == shared.name
                    && i.app.as_deref() == Some(app.as_str())
            })
            .unwrap_or_else(|| panic!("{} in {app}: {report:#?}", shared.name));
        assert_eq!(item.result, TeardownResult::Deleted, "{item:#?}");
    }
    for app in [first, second] {
        let left: Vec<String> = world
            .entra
            .list_federated_credentials(&app.object_id)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(left, ["someone-elses"], "{:?}", app.unique_name);
    }
    let second_assignment = entries(&world.journal.records().unwrap())
        .into_iter()
        .find(|e| e.is_for(&assignment))
        .unwrap();
    assert_eq!(
        second_assignment.last,
        Phase::Deleted,
        "the second app's cut-short delete is recorded done, not taken for the first app's"
    );
}
