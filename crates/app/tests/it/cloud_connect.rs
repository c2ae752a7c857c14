//! "Connect the cloud": Azure and AWS sign-in and the pickers' lists against the in-process
//! Sandbox (its Entra/ARM and IAM/STS), plus the checks that refuse bad input before any call.

use octo_oidc_app::cloud_connect::{AwsSignIn, AzureSignIn};
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_testkit::assert_problem;

use crate::sign_in_page::{
    land, read_address, sandbox_browser, session_with_address_file, start_browser_sign_in,
    submit_sign_in,
};
use crate::support::{connected_to_sandbox, session};

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
    connected_to_sandbox(&session).await;

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
    // The Sandbox's custom roles are listed beside the built-in ones, marked as custom.
    let custom = roles
        .iter()
        .find(|r| r.value == "Octopus Web App Deployer")
        .unwrap_or_else(|| panic!("the custom role is listed: {roles:#?} in {subscription}"));
    assert!(custom.detail.starts_with("Custom role · "), "{custom:?}");

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

#[tokio::test]
async fn the_browser_sign_in_goes_through_the_sandbox_authorize_page_via_the_address_file() {
    use octo_oidc_sandbox::entra::DEFAULT_USER;

    let (file, session) = session_with_address_file("sign-in-url", &[]);
    let started = connected_to_sandbox(&session).await;

    let signing_in = start_browser_sign_in(&session);
    // The address arrives in the file, 0600.
    let address = read_address(&file).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let authority = started
        .azure_authority
        .clone()
        .expect("the Sandbox's Entra");
    assert!(address.starts_with(&authority), "{address}");
    assert!(address.contains("code_challenge_method=S256"), "{address}");
    assert!(address.contains("state="), "{address}");
    assert!(!address.contains("code_verifier"), "{address}");

    // The stand-in browser: the page (trusting the CA the Sandbox serves), the form, the
    // redirect to the app's loopback listener.
    let browser = sandbox_browser(&started).await;
    let location = submit_sign_in(&browser, &started, &address, DEFAULT_USER).await;
    assert!(location.starts_with("http://localhost:"), "{location}");
    // A redirect with another state is not this sign-in's: ignored, the listener waits on.
    let forged = with_forged_state(&location);
    let _ = browser
        .get(forged.replace("localhost", "127.0.0.1"))
        .send()
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !signing_in.is_finished(),
        "a forged state must not finish the sign-in"
    );
    land(&browser, &location).await;

    let connection = signing_in.await.unwrap().expect("signed in");
    assert_eq!(connection.method, "browser");
    assert!(connection.sandbox);
    assert_eq!(connection.signed_in_as.as_deref(), Some(DEFAULT_USER));
    assert!(!connection.tenants.is_empty(), "{connection:?}");
    let _ = std::fs::remove_file(&file);
}

/// The redirect with its `state` changed (the code kept).
fn with_forged_state(location: &str) -> String {
    let (base, query) = location.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("state", _)) => "state=forged".to_string(),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

#[tokio::test]
async fn the_address_file_is_ignored_outside_the_sandbox() {
    let (file, session) = session_with_address_file("real-sign-in-url", &[]);
    let (opened, mut was_opened) = tokio::sync::mpsc::unbounded_channel::<String>();
    let signing_in = tokio::spawn({
        let session = session.clone();
        async move {
            session
                .sign_in_azure(AzureSignIn::Browser, move |url: &str| {
                    opened.send(url.to_string()).unwrap();
                    Ok(())
                })
                .await
        }
    });
    let url = tokio::time::timeout(std::time::Duration::from_secs(10), was_opened.recv())
        .await
        .expect("the face's opener is called")
        .unwrap();
    signing_in.abort();
    assert!(
        url.starts_with("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?"),
        "{url}"
    );
    assert!(!file.exists(), "nothing written for the real Azure");
}
