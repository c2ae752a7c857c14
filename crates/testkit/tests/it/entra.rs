use octo_oidc_core::ErrorCode;
use octo_oidc_core::ports::{ApplicationSpec, Applied, EntraApps, FederatedCredential};
use octo_oidc_testkit::FakeEntraApps;

use crate::code;

async fn credential_count(entra: &FakeEntraApps, app_object_id: &str) -> usize {
    entra
        .list_federated_credentials(app_object_id)
        .await
        .unwrap()
        .len()
}

fn credential(name: &str, subject: &str) -> FederatedCredential {
    FederatedCredential {
        name: name.into(),
        issuer: "https://octopus.example.test".into(),
        subject: subject.into(),
        audiences: vec!["api://AzureADTokenExchange".into()],
        description: Some("octo-oidc:setup=shop".into()),
    }
}

#[tokio::test]
async fn applications_are_upserted_by_unique_name_and_marked_on_create_only() {
    let entra = FakeEntraApps::new();
    let spec = ApplicationSpec::named("octo-oidc-shop", "Shop").marked("shop");
    let created = entra.ensure_application(&spec).await.unwrap();
    let Applied::Created(app) = created else {
        panic!("expected Created, got {created:?}")
    };
    assert_ne!(app.object_id, app.app_id);
    assert_eq!(app.notes.as_deref(), Some("octo-oidc:setup=shop"));
    assert_eq!(app.tags, ["octo-oidc:setup=shop"]);
    assert_eq!(
        entra.ensure_application(&spec).await.unwrap(),
        Applied::Unchanged(app.clone())
    );
    let renamed = ApplicationSpec::named("octo-oidc-shop", "Shop (prod)").marked("other");
    let updated = entra
        .ensure_application(&renamed)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.display_name, "Shop (prod)");
    assert_eq!(updated.notes, app.notes, "an existing app keeps its notes");
    assert_eq!(
        entra.find_application("octo-oidc-shop").await.unwrap(),
        Some(updated)
    );
    assert_eq!(entra.find_application("nope").await.unwrap(), None);
    assert_eq!(entra.log().changes().len(), 2);

    // A foreign app with our unique name is found as it is, unmarked.
    let foreign = entra.add_application(&ApplicationSpec::named("hand-made", "Hand made"));
    let found = entra.find_application("hand-made").await.unwrap().unwrap();
    assert_eq!((found.notes, found.tags.len()), (None, 0));
    assert_eq!(found.object_id, foreign.object_id);
}

#[tokio::test]
async fn service_principals_belong_to_an_app_and_go_with_it() {
    let entra = FakeEntraApps::new();
    assert_eq!(
        code(entra.ensure_service_principal("no-such-app").await),
        ErrorCode::NotFound
    );
    let app = entra
        .ensure_application(&ApplicationSpec::named("u", "d"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        entra.find_service_principal(&app.app_id).await.unwrap(),
        None
    );
    let sp = entra.ensure_service_principal(&app.app_id).await.unwrap();
    assert!(matches!(sp, Applied::Created(_)));
    let sp = sp.into_inner();
    assert_eq!(
        entra.ensure_service_principal(&app.app_id).await.unwrap(),
        Applied::Unchanged(sp.clone())
    );
    assert_eq!(
        entra.find_service_principal(&app.app_id).await.unwrap(),
        Some(sp)
    );
    entra.delete_application(&app.object_id).await.unwrap();
    entra.delete_application(&app.object_id).await.unwrap();
    assert_eq!(
        entra.find_service_principal(&app.app_id).await.unwrap(),
        None
    );
    assert_eq!(entra.find_application("u").await.unwrap(), None);
}

#[tokio::test]
async fn federated_credentials_follow_entras_rules() {
    let entra = FakeEntraApps::new();
    let app = entra
        .ensure_application(&ApplicationSpec::named("u", "d"))
        .await
        .unwrap()
        .into_inner();
    let prod = credential("prod", "space:default:environment:production");
    assert!(matches!(
        entra
            .ensure_federated_credential(&app.object_id, &prod)
            .await
            .unwrap(),
        Applied::Created(_)
    ));
    assert!(
        !entra
            .ensure_federated_credential(&app.object_id, &prod)
            .await
            .unwrap()
            .changed()
    );
    let edited = FederatedCredential {
        description: None,
        ..prod.clone()
    };
    assert_eq!(
        entra
            .ensure_federated_credential(&app.object_id, &edited)
            .await
            .unwrap(),
        Applied::Updated(edited.clone())
    );
    // The same issuer + subject under another name.
    assert_eq!(
        code(
            entra
                .ensure_federated_credential(&app.object_id, &credential("copy", &prod.subject))
                .await
        ),
        ErrorCode::Conflict
    );
    for i in 1..20 {
        entra
            .ensure_federated_credential(
                &app.object_id,
                &credential(&format!("c{i}"), &format!("s{i}")),
            )
            .await
            .unwrap();
    }
    assert_eq!(credential_count(&entra, &app.object_id).await, 20);
    assert_eq!(
        code(
            entra
                .ensure_federated_credential(&app.object_id, &credential("c21", "s21"))
                .await
        ),
        ErrorCode::LimitExceeded
    );
    // Deleting twice: the second finds nothing and still succeeds.
    for _ in 0..2 {
        entra
            .delete_federated_credential(&app.object_id, "prod")
            .await
            .unwrap();
    }
    assert_eq!(credential_count(&entra, &app.object_id).await, 19);
    assert_eq!(
        code(entra.list_federated_credentials("missing").await),
        ErrorCode::NotFound
    );
}
