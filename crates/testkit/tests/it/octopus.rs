use octo_oidc_core::ports::{Applied, Octopus, OidcIdentitySpec};
use octo_oidc_core::{ErrorCode, Problem, Secret};
use octo_oidc_testkit::{FakeOctopus, TestKey};
use serde_json::json;

use crate::code;

fn aws_account(role: &str) -> serde_json::Value {
    json!({"Name": "AWS prod", "AccountType": "AmazonWebServicesOidcAccount", "RoleArn": role,
           "Description": "octo-oidc:setup=shop", "SessionDuration": 3600})
}

#[tokio::test]
async fn accounts_are_created_once_updated_where_they_differ_and_deleted_idempotently() {
    let octopus = FakeOctopus::new();
    let created = octopus
        .ensure_account("Spaces-1", &aws_account("arn:aws:iam::1:role/a"))
        .await
        .unwrap();
    let Applied::Created(account) = created else {
        panic!("expected Created, got {created:?}")
    };
    assert!(account.id.starts_with("Accounts-"));
    assert_eq!(account.slug, "aws-prod");
    // Same fields (the duration as the server's string form): nothing changes.
    let mut same = aws_account("arn:aws:iam::1:role/a");
    same["SessionDuration"] = json!("3600");
    assert!(matches!(
        octopus.ensure_account("Spaces-1", &same).await.unwrap(),
        Applied::Unchanged(ref a) if a.id == account.id
    ));
    let updated = octopus
        .ensure_account("Spaces-1", &aws_account("arn:aws:iam::1:role/b"))
        .await
        .unwrap();
    assert!(
        matches!(updated, Applied::Updated(ref a) if a.body["RoleArn"] == "arn:aws:iam::1:role/b")
    );
    let found = octopus
        .find_account("Spaces-1", "AWS prod")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.body["Description"], "octo-oidc:setup=shop");
    let mut other_type = aws_account("x");
    other_type["AccountType"] = json!("AzureOidc");
    assert_eq!(
        code(octopus.ensure_account("Spaces-1", &other_type).await),
        ErrorCode::Conflict
    );
    assert_eq!(
        code(octopus.ensure_account("Spaces-9", &aws_account("x")).await),
        ErrorCode::NotFound
    );

    octopus
        .delete_account("Spaces-1", &account.id)
        .await
        .unwrap();
    octopus
        .delete_account("Spaces-1", &account.id)
        .await
        .unwrap();
    assert!(
        octopus
            .find_account("Spaces-1", "AWS prod")
            .await
            .unwrap()
            .is_none()
    );
    let deletes: Vec<bool> = octopus
        .log()
        .calls()
        .into_iter()
        .filter(|c| c.operation == "delete_account")
        .map(|c| c.changed)
        .collect();
    assert_eq!(
        deletes,
        [true, false],
        "only the first delete removed something"
    );
}

#[tokio::test]
async fn the_account_test_runs_only_for_existing_accounts_and_reports_the_configured_result() {
    let octopus = FakeOctopus::new();
    let account = octopus
        .ensure_account("Spaces-1", &aws_account("arn"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        octopus
            .test_account("Spaces-1", &account.id)
            .await
            .unwrap()
            .succeeded
    );
    octopus.set_account_test_result(octo_oidc_core::ports::TaskResult {
        task_id: String::new(),
        state: "Failed".into(),
        succeeded: false,
        error_message: Some("InvalidIdentityToken".into()),
        log: vec![],
    });
    let failed = octopus.test_account("Spaces-1", &account.id).await.unwrap();
    assert_eq!((failed.succeeded, failed.state.as_str()), (false, "Failed"));
    assert!(failed.task_id.starts_with("ServerTasks-"));
    assert_eq!(
        code(octopus.test_account("Spaces-1", "Accounts-999").await),
        ErrorCode::NotFound
    );
}

fn github_identity(subject: &str) -> OidcIdentitySpec {
    OidcIdentitySpec {
        name: "GitHub main".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
        subject: subject.into(),
        audience: None,
    }
}

#[tokio::test]
async fn service_accounts_and_identities_converge_and_a_person_is_a_conflict() {
    let octopus = FakeOctopus::new();
    let person = octopus.add_person("admin");
    assert_eq!(
        code(octopus.ensure_service_account("Admin", "x").await),
        ErrorCode::Conflict
    );
    let found = octopus
        .find_service_account("admin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id.as_str(), found.is_service),
        (person.as_str(), false)
    );

    let sa = octopus
        .ensure_service_account("github-shop", "GitHub shop (octo-oidc:setup=shop)")
        .await
        .unwrap();
    assert!(matches!(sa, Applied::Created(_)));
    let sa = sa.into_inner();
    assert!(matches!(
        octopus.ensure_service_account("github-shop", "renamed").await.unwrap(),
        Applied::Unchanged(ref s) if s.id == sa.id && s.display_name.contains("setup=shop")
    ));

    let spec = github_identity("repo:acme/shop:ref:refs/heads/main");
    let ids = octopus.ensure_oidc_identity(&sa.id, &spec).await.unwrap();
    assert!(matches!(ids, Applied::Created(_)));
    let ids = ids.into_inner();
    assert!(
        !octopus
            .ensure_oidc_identity(&sa.id, &spec)
            .await
            .unwrap()
            .changed()
    );
    let widened = github_identity("repo:acme/shop:ref:refs/heads/*");
    assert_eq!(
        octopus
            .ensure_oidc_identity(&sa.id, &widened)
            .await
            .unwrap(),
        Applied::Updated(ids.clone())
    );
    let listed = octopus.list_oidc_identities(&sa.id).await.unwrap();
    assert_eq!(listed.external_id, ids.external_id);
    assert_eq!(listed.identities.len(), 1);
    assert_eq!(listed.identities[0].spec, widened);

    octopus
        .delete_oidc_identity(&sa.id, &ids.identity_id)
        .await
        .unwrap();
    octopus
        .delete_oidc_identity(&sa.id, &ids.identity_id)
        .await
        .unwrap();
    assert!(
        octopus
            .list_oidc_identities(&sa.id)
            .await
            .unwrap()
            .identities
            .is_empty()
    );
    octopus.delete_service_account(&sa.id).await.unwrap();
    octopus.delete_service_account(&sa.id).await.unwrap();
    assert!(
        octopus
            .find_service_account("github-shop")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        code(octopus.list_oidc_identities(&sa.id).await),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn the_token_exchange_accepts_exactly_what_an_identity_trusts() {
    let octopus = FakeOctopus::new();
    let sa = octopus
        .ensure_service_account("gh", "gh")
        .await
        .unwrap()
        .into_inner();
    let ids = octopus
        .ensure_oidc_identity(&sa.id, &github_identity("repo:acme/shop:ref:refs/heads/*"))
        .await
        .unwrap()
        .into_inner();
    let key = TestKey::generate();
    let token = |sub: &str, aud: &str| {
        Secret::new(key.mint(
            jsonwebtoken::Algorithm::RS256,
            &json!({"iss": "https://token.actions.githubusercontent.com", "sub": sub, "aud": aud}),
        ))
    };
    let exchanged = octopus
        .exchange_id_token(
            &ids.external_id,
            &token("repo:acme/shop:ref:refs/heads/main", &ids.external_id),
        )
        .await
        .unwrap();
    assert!(!exchanged.access_token.is_blank());
    for (sub, aud) in [
        ("repo:acme/shop:pull_request", ids.external_id.as_str()),
        ("repo:acme/shop:ref:refs/heads/main", "another-audience"),
        (
            "repo:Acme/shop:ref:refs/heads/main",
            ids.external_id.as_str(),
        ),
    ] {
        assert_eq!(
            code(
                octopus
                    .exchange_id_token(&ids.external_id, &token(sub, aud))
                    .await
            ),
            ErrorCode::TrustRejected,
            "{sub} / {aud}"
        );
    }
    assert_eq!(
        code(
            octopus
                .exchange_id_token(&ids.external_id, &Secret::new("not-a-jwt"))
                .await
        ),
        ErrorCode::TrustRejected
    );
}

#[tokio::test]
async fn injected_failures_fire_per_operation_and_are_logged() {
    let octopus = FakeOctopus::new();
    octopus.fail_next(
        "ensure_service_account",
        Problem::new(ErrorCode::RemoteUnavailable, "503"),
    );
    assert_eq!(
        code(octopus.ensure_service_account("a", "a").await),
        ErrorCode::RemoteUnavailable
    );
    assert!(
        octopus
            .ensure_service_account("a", "a")
            .await
            .unwrap()
            .changed()
    );
    octopus.fail_always("server_info", Problem::new(ErrorCode::Timeout, "slow"));
    assert_eq!(code(octopus.server_info().await), ErrorCode::Timeout);
    assert_eq!(code(octopus.server_info().await), ErrorCode::Timeout);
    octopus.heal();
    assert_eq!(octopus.server_info().await.unwrap().version, "2025.4.0");
    let calls = octopus.log().calls();
    assert_eq!(calls.iter().filter(|c| c.failed).count(), 3);
    assert_eq!(octopus.log().changes().len(), 1);
}

#[test]
#[should_panic(expected = "has no operation `ensure_acount`")]
fn a_misspelled_operation_is_refused() {
    FakeOctopus::new().fail_next("ensure_acount", Problem::new(ErrorCode::Internal, "x"));
}

#[tokio::test]
async fn the_inventory_carries_deployment_targets_and_unknown_spaces_are_not_found() {
    let octopus = FakeOctopus::new();
    let target = octo_oidc_core::ports::OctopusResource {
        id: "Machines-1".into(),
        name: "Web 1".into(),
        slug: "web-1".into(),
    };
    octopus.set_inventory(
        "Spaces-2",
        octo_oidc_core::ports::SpaceInventory {
            deployment_targets: vec![target.clone()],
            ..Default::default()
        },
    );
    assert_eq!(
        octopus
            .inventory("Spaces-2")
            .await
            .unwrap()
            .deployment_targets,
        [target]
    );
    assert_eq!(
        code(octopus.inventory("Spaces-3").await),
        ErrorCode::NotFound
    );
}
