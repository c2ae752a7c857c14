//! "Connect the cloud": Azure and AWS sign-in and the pickers' lists against the in-process
//! Sandbox (its Entra/ARM and IAM/STS), plus the checks that refuse bad input before any call.

use octo_oidc_app::cloud_connect::{AwsSignIn, AzureSignIn};
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_testkit::assert_problem;

use crate::support::session;

fn no_browser(_: &str) -> Result<(), String> {
    Err("no browser in this test".into())
}

fn fields(problem: &octo_oidc_core::Problem) -> Vec<&str> {
    problem
        .field_errors
        .iter()
        .map(|e| e.field.as_str())
        .collect()
}

#[tokio::test]
async fn the_sandbox_fills_every_picker_from_its_live_services() {
    let session = session();
    session.start_sandbox().await.expect("starts");
    session.connect_sandbox_octopus().await.expect("connects");

    // Azure: the Sandbox's automation app, whatever was typed.
    let azure = session
        .sign_in_azure(
            AzureSignIn::ServicePrincipal {
                tenant_id: String::new(),
                client_id: String::new(),
                client_secret: Secret::new(String::new()),
            },
            no_browser,
        )
        .await
        .expect("signs in");
    assert!(azure.sandbox);
    assert_eq!(azure.method, "servicePrincipal");
    let tenant = azure.tenants.first().expect("a tenant").value.clone();
    assert_eq!(tenant.len(), 36, "{azure:?}");
    let subscriptions = session.azure_subscriptions(&tenant).await.expect("lists");
    let subscription = subscriptions.first().expect("a subscription").value.clone();
    assert!(
        subscriptions
            .windows(2)
            .all(|w| w[0].label.to_lowercase() <= w[1].label.to_lowercase()),
        "sorted by name: {subscriptions:?}"
    );
    let groups = session
        .azure_resource_groups(&tenant, &subscription)
        .await
        .expect("lists");
    assert!(
        groups
            .iter()
            .all(|g| !g.value.is_empty() && g.value == g.label)
    );
    let roles = session
        .azure_roles(&tenant, &subscription)
        .await
        .expect("lists");
    let names: Vec<&str> = roles.iter().map(|r| r.value.as_str()).collect();
    for expected in ["Contributor", "Owner", "Reader"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    assert!(
        roles.iter().any(|r| !r.detail.is_empty()),
        "descriptions shown"
    );

    // AWS: the Sandbox's account and its managed policies.
    let account = session
        .connect_aws(
            AwsSignIn::Profile {
                name: String::new(),
            },
            "eu-west-1",
        )
        .await
        .expect("connects");
    assert!(account.sandbox);
    assert_eq!(account.account_id.len(), 12, "{account:?}");
    assert!(account.arn.contains(&account.account_id), "{account:?}");
    let policies = session.aws_policies().await.expect("lists");
    let read_only = policies
        .iter()
        .find(|p| p.value == "arn:aws:iam::aws:policy/ReadOnlyAccess")
        .expect("ReadOnlyAccess listed");
    assert_eq!(read_only.label, "ReadOnlyAccess");
    assert_eq!(read_only.detail, "AWS managed");
    assert!(
        policies
            .iter()
            .any(|p| p.value == "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
        "paths kept"
    );
    assert!(
        policies.windows(2).all(|w| w[0].label <= w[1].label),
        "sorted"
    );
    assert_eq!(
        session.aws_profiles().await.expect("lists"),
        vec![],
        "no profiles in the Sandbox"
    );

    // Octopus: service accounts and teams for the CI issuer screen.
    let accounts = session.octopus_service_accounts().await.expect("lists");
    assert!(accounts.iter().all(|a| !a.value.is_empty()), "{accounts:?}");
    let teams = session.octopus_teams("Spaces-1").await.expect("lists");
    assert!(!teams.is_empty(), "{teams:?}");
    assert_eq!(
        session.octopus_teams("").await.expect("the default space"),
        teams,
        "no space yet: the default space"
    );

    // Stopping the Sandbox signs the pickers out of its clouds.
    assert!(session.stop_sandbox().await.unwrap());
    let gone = session.azure_subscriptions(&tenant).await.unwrap_err();
    assert!(gone.message.contains("not signed in"), "{gone:?}");
    let gone = session.aws_policies().await.unwrap_err();
    assert!(gone.message.contains("not signed in"), "{gone:?}");
}

#[tokio::test]
async fn bad_sign_in_input_is_refused_with_every_field_before_any_call() {
    let session = session();
    let azure = session
        .sign_in_azure(
            AzureSignIn::ServicePrincipal {
                tenant_id: "contoso".into(),
                client_id: "app".into(),
                client_secret: Secret::new("  ".to_string()),
            },
            no_browser,
        )
        .await
        .unwrap_err();
    assert_eq!(azure.code, ErrorCode::InvalidInput);
    assert_eq!(
        fields(&azure),
        [
            "azure.tenant_id",
            "azure.sign_in.client_id",
            "azure.sign_in.client_secret"
        ]
    );
    assert!(
        azure.field_errors[0].problem.contains("not a GUID"),
        "{azure:?}"
    );

    let aws = session
        .connect_aws(
            AwsSignIn::AccessKey {
                access_key_id: " ".into(),
                secret_access_key: Secret::new(String::new()),
                session_token: None,
            },
            "us-east-1",
        )
        .await
        .unwrap_err();
    assert_eq!(
        fields(&aws),
        ["aws.sign_in.access_key_id", "aws.sign_in.secret_access_key"]
    );
    let region = session
        .connect_aws(
            AwsSignIn::Profile {
                name: "prod".into(),
            },
            "Europe",
        )
        .await
        .unwrap_err();
    assert_eq!(fields(&region), ["aws.region"]);
    assert!(
        !format!("{aws:?}{azure:?}").contains("secret-value"),
        "no secret in problems"
    );

    let not_signed_in = session
        .azure_roles(
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "11111111-2222-3333-4444-555555555555",
        )
        .await
        .unwrap_err();
    assert_problem(
        &not_signed_in,
        ErrorCode::InvalidInput,
        "not signed in to Azure",
    );
    let no_octopus = session.octopus_service_accounts().await.unwrap_err();
    assert!(
        no_octopus.message.contains("No Octopus Server"),
        "{no_octopus:?}"
    );
}
