//! A face's own cloud sign-in is what its setups run as: the window's browser sign-in to
//! Azure (not the automation app the Sandbox's env names), and an AWS connection handed to a
//! run (not the run's own key) unless the setup names another profile. Each is told apart by
//! what the Sandbox lets that identity do, as the preflight reports it.

use std::sync::Arc;

use octo_oidc_app::sandbox_env::SandboxEnv;
use octo_oidc_app::setup_draft::{self, DraftAzure, DraftTarget, SetupDraft};
use octo_oidc_app::setup_run::{SetupRun, SignedInClouds};
use octo_oidc_app::setup_session::SetupSource;
use octo_oidc_aws::connect::{AwsConnection, ConnectOptions, CredentialSource};
use octo_oidc_core::events::{ProgressEvent, ProgressSink};
use octo_oidc_core::{ErrorCode, Secret};
use octo_oidc_engine::preflight::{Outcome, Preflight};
use octo_oidc_sandbox::entra::{
    DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID, DEFAULT_USER, LIMITED_USER,
};

use crate::sign_in_page::{session_with_address_file, sign_in_as, temp_path};
use crate::support::connected_to_sandbox;

struct NoEvents;

impl ProgressSink for NoEvents {
    fn emit(&self, _: ProgressEvent) {}
}

fn azure_draft(project: &str) -> SetupDraft {
    SetupDraft {
        name: "signed-in-azure".into(),
        target: DraftTarget::Azure,
        space: "Default".into(),
        account_name: "Signed-in Azure (OIDC)".into(),
        scope: setup_draft::DraftScope {
            projects: vec![project.into()],
            environments: vec!["*".into()],
            ..Default::default()
        },
        // With the runbook key, runbook runs do not present the deployments' subjects.
        subject_keys: setup_draft::DraftSubjectKeys {
            deployment: Some(
                ["space", "project", "runbook", "tenant", "environment"]
                    .map(String::from)
                    .to_vec(),
            ),
            ..Default::default()
        },
        aws: Default::default(),
        azure: DraftAzure {
            tenant_id: DEFAULT_TENANT_ID.into(),
            subscription_id: DEFAULT_SUBSCRIPTION_ID.into(),
            resource_group: String::new(),
            role: "Contributor".into(),
            credential_strategy: None,
        },
        github: Default::default(),
        gcp: Default::default(),
    }
}

#[tokio::test]
async fn the_windows_setups_run_as_the_azure_user_it_signed_in_with() {
    let data = temp_path("signed-in-azure-data");
    let (file, session) = session_with_address_file(
        "signed-in-azure-url",
        &[("OCTO_OIDC_DATA_DIR", data.display().to_string())],
    );
    let started = connected_to_sandbox(&session).await;
    let choices = session.scope_choices("Default", false).await.unwrap();
    let source = SetupSource::Draft {
        draft: Box::new(azure_draft(&choices.projects[0].slug)),
    };

    // Without a sign-in the Sandbox's automation app (an Owner) plans it: nothing missing.
    let plan = session.plan_setup(&source).await.unwrap();
    assert!(!plan.preflight.blocks_apply, "{:#?}", plan.preflight);

    // Signed in as the demo user with no Azure role: the plan is that user's, and ARM
    // refuses them the subscription's role definitions before anything is changed.
    let limited = sign_in_as(&session, &file, &started, LIMITED_USER).await;
    assert_eq!(limited.signed_in_as.as_deref(), Some(LIMITED_USER));
    let refused = session.plan_setup(&source).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::PermissionDenied, "{refused:#?}");
    assert!(refused.message.contains(LIMITED_USER), "{refused:#?}");
    assert!(
        refused.hint.as_deref().is_some_and(|h| h.contains("Owner")),
        "{refused:#?}"
    );

    // Signed in again as the administrator: granted, and the setup applies as them.
    sign_in_as(&session, &file, &started, DEFAULT_USER).await;
    let plan = session.plan_setup(&source).await.unwrap();
    assert!(!plan.preflight.blocks_apply, "{:#?}", plan.preflight);
    let applied = session
        .apply_setup(&source, false, Arc::new(NoEvents))
        .await
        .unwrap();
    assert!(applied.complete, "{applied:#?}");
    let verified = session.verify_setup(&source).await.unwrap();
    assert!(verified.passed, "{verified:#?}");

    // "Verify an existing account" of the window reads Azure as the sign-in too (reports
    // failing here: an account serves every project, the setup trusts one).
    let request = octo_oidc_app::existing_account::AccountRequest {
        account: "Signed-in Azure (OIDC)".into(),
        ..Default::default()
    };
    let report = session.verify_account(&request).await.unwrap();
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.message.contains("in the scope but rejected")),
        "{report:#?}"
    );
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_dir_all(&data);
}

/// An AWS setup in the Sandbox's default space, `profile` under `[aws]` when given.
fn aws_setup_file(profile: Option<&str>) -> std::path::PathBuf {
    let profile = profile.map_or(String::new(), |p| format!("profile = \"{p}\"\n"));
    let text = format!(
        r#"version = 1
name = "signed-in-aws"
target = "aws"

[octopus]
space = "Default"

[scope]
projects = ["customer-portal"]
environments = ["production"]

[account]
name = "Signed-in AWS (OIDC)"

[aws]
role_name = "octopus-signed-in"
region = "eu-west-1"
{profile}"#
    );
    let path = temp_path("signed-in-aws.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The preflight's answer for `iam:CreateRole`: whether it is granted, and to whom.
fn create_role(preflight: &Preflight) -> (bool, String) {
    let check = preflight
        .permissions
        .iter()
        .find(|p| p.needed.permission == "iam:CreateRole")
        .unwrap_or_else(|| panic!("{preflight:#?}"));
    (
        matches!(check.outcome, Outcome::Granted { .. }),
        check.caller.clone(),
    )
}

#[tokio::test]
async fn a_run_uses_the_aws_connection_it_is_handed_unless_the_setup_names_another_profile() {
    let served = octo_oidc_app::sandbox::serve(Default::default())
        .await
        .unwrap();
    let vars = served.env_vars();
    let var = |name: &str| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("the sandbox names {name}"))
    };
    // The Sandbox's read-only IAM user, connected as "Connect the cloud" would connect it.
    let mut options = ConnectOptions::new(CredentialSource::AccessKey {
        access_key_id: var("AWS_READONLY_ACCESS_KEY_ID"),
        secret_access_key: Secret::new(var("AWS_SECRET_ACCESS_KEY")),
        session_token: None,
    })
    .with_endpoint(var("AWS_ENDPOINT_URL"));
    options.region = Some("us-east-1".into());
    let read_only = AwsConnection::connect(options).await.unwrap();
    assert_eq!(read_only.profile(), None, "typed keys are no profile");

    let data = temp_path("signed-in-aws-data");
    let data_dir = data.display().to_string();
    let run = SetupRun::sandbox(SandboxEnv::in_process(vars.clone(), served.ca_pem())).with_env(
        Arc::new(move |name| (name == "OCTO_OIDC_DATA_DIR").then(|| data_dir.clone())),
    );
    let handed = run.clone().with_signed_in(SignedInClouds {
        aws: Some(read_only),
        azure: None,
    });

    // The run's own key (the Sandbox's administrator) may create the role.
    let plain = aws_setup_file(None);
    let prepared = run.prepare(&run.load(&plain).unwrap()).await.unwrap();
    let (granted, caller) = create_role(&prepared.preflight);
    assert!(granted, "{caller}");
    assert!(!caller.contains("sandbox-readonly"), "{caller}");

    // Handed the read-only connection, the same setup is planned as that user (in the
    // setup's region, eu-west-1, though it connected in us-east-1): not granted.
    let prepared = handed.prepare(&handed.load(&plain).unwrap()).await.unwrap();
    let (granted, caller) = create_role(&prepared.preflight);
    assert!(!granted, "{caller}");
    assert!(caller.ends_with(":user/sandbox-readonly"), "{caller}");
    assert!(!prepared.preflight.blocking_gaps().is_empty());

    // A setup naming a profile the connection is not made with: the run's own credentials.
    let named = aws_setup_file(Some("prod"));
    let prepared = handed.prepare(&handed.load(&named).unwrap()).await.unwrap();
    let (granted, caller) = create_role(&prepared.preflight);
    assert!(granted, "{caller}");

    for path in [plain, named] {
        let _ = std::fs::remove_file(path);
    }
    let _ = std::fs::remove_dir_all(&data);
    served.shutdown().await.unwrap();
}
