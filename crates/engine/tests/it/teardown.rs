//! Teardown against the fakes: after apply it leaves nothing of ours, leaves pre-existing
//! unrelated resources alone, and says what it left and why.

use std::collections::BTreeMap;

use octo_oidc_core::ports::{
    ApplicationSpec, EntraApps, Iam, Octopus, OidcProviderSpec, RoleSpec, ServiceAccount,
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
