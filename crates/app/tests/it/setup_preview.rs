//! The wizard's setup draft: checked with the setup-file rules (field errors on form field
//! ids), and previewed over the sandbox's space (scope choices, exact subjects, trust, matrix,
//! plan).

use octo_oidc_app::setup_draft::{self, DraftTarget, SetupDraft};
use octo_oidc_app::{FormField, setup_draft::DraftAzure};
use octo_oidc_core::ErrorCode;

use crate::support::{connected_to_sandbox, session};

fn draft(target: DraftTarget) -> SetupDraft {
    SetupDraft {
        name: "shop".into(),
        target,
        space: "Default".into(),
        account_name: "Shop (OIDC)".into(),
        scope: setup_draft::DraftScope {
            projects: vec!["*".into()],
            environments: vec!["*".into()],
            ..Default::default()
        },
        subject_keys: Default::default(),
        aws: setup_draft::DraftAws {
            role_name: "octopus-shop".into(),
            region: "eu-west-1".into(),
            session_duration: Some(3600),
            managed_policies: vec![],
            profile: String::new(),
        },
        azure: DraftAzure {
            tenant_id: "11111111-2222-3333-4444-555555555555".into(),
            subscription_id: "66666666-7777-8888-9999-000000000000".into(),
            resource_group: String::new(),
            role: "Contributor".into(),
            credential_strategy: None,
        },
        github: Default::default(),
        gcp: Default::default(),
    }
}

#[test]
fn every_field_error_comes_back_named_by_its_form_field() {
    let mut bad = draft(DraftTarget::Aws);
    bad.name = "Not A Name".into();
    bad.aws.role_name = "bad role!".into();
    bad.aws.session_duration = Some(12);
    bad.aws.managed_policies = vec![
        "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        "not-an-arn".into(),
    ];
    let problem = setup_draft::validate(&bad).expect_err("invalid");
    assert_eq!(problem.code, ErrorCode::InvalidInput);
    let fields: Vec<Option<FormField>> = problem
        .field_errors
        .iter()
        .map(|e| FormField::of_path(&e.field))
        .collect();
    for wanted in [
        FormField::SetupName,
        FormField::AwsRoleName,
        FormField::AwsSessionDuration,
        FormField::AwsManagedPolicies,
    ] {
        assert!(fields.contains(&Some(wanted)), "{wanted}: {problem:#?}");
    }
    let policy = problem
        .field_errors
        .iter()
        .find(|e| e.field == FormField::AwsManagedPolicies.id())
        .expect("policy error");
    assert!(policy.problem.starts_with("item 2: "), "{policy:?}");
    assert!(setup_draft::validate(&draft(DraftTarget::Aws)).is_ok());
}

#[tokio::test]
async fn the_preview_shows_exact_subjects_the_trust_and_the_plan() {
    let session = session();
    connected_to_sandbox(&session).await;
    let choices = session
        .scope_choices("Default", false)
        .await
        .expect("choices");
    assert!(!choices.projects.is_empty() && !choices.environments.is_empty());

    // Azure over the limit: the count against 20 and the core's alternatives, no trust yet.
    let over = session
        .preview_setup(&draft(DraftTarget::Azure))
        .await
        .expect("azure preview");
    let blocked = over.trust_blocked.as_ref().expect("over the limit");
    assert_eq!(blocked.code, ErrorCode::LimitExceeded, "{blocked:?}");
    let counted = over.azure.as_ref().expect("the count");
    assert!(counted.credentials_needed > 20, "{counted:?}");
    assert!(
        counted
            .alternatives
            .iter()
            .any(|a| a.kind == "coarser_keys" && a.fits),
        "{counted:?}"
    );

    // Choosing coarser keys: the credentials the engine plans fit, and the matrix agrees.
    let mut coarser = draft(DraftTarget::Azure);
    coarser.azure.credential_strategy = Some(setup_draft::DraftCredentialStrategy::CoarserKeys);
    let azure = session
        .preview_setup(&coarser)
        .await
        .expect("azure preview");
    assert!(azure.trust_blocked.is_none(), "{azure:#?}");
    assert!(!azure.subjects.is_empty());
    let credentials = azure.azure.as_ref().expect("azure side");
    assert_eq!(credentials.limit, 20);
    assert!(credentials.credentials.len() <= 20, "{credentials:?}");
    let matrix = azure.matrix.as_ref().expect("matrix");
    // Every intended run is trusted; dropping the tenant key also trusts the tenanted runs the
    // scope left out, and the matrix says so.
    assert_eq!(matrix.under_permission, 0, "{matrix:#?}");
    assert!(matrix.over_permission > 0, "{matrix:#?}");
    assert!(
        matrix
            .rows
            .first()
            .is_some_and(|r| r.finding == "over_permission"),
        "differences come first"
    );
    assert!(matrix.accepted >= 1);
    assert!(
        azure.plan.iter().all(|s| s.action == "create"),
        "{:#?}",
        azure.plan
    );
    assert!(azure.plan.iter().any(|s| s.kind == "federated_credential"));

    // AWS over the whole space: the trust policy would pass IAM's size quota, and the preview
    // says so (or, where the issuer has a port, that IAM refuses it); the subjects are there.
    let aws = session
        .preview_setup(&draft(DraftTarget::Aws))
        .await
        .expect("aws preview");
    assert_eq!(
        aws.subjects, over.subjects,
        "the same scope, the same subjects"
    );
    let blocked = aws.trust_blocked.as_ref().expect("too big for one policy");
    assert!(
        [ErrorCode::LimitExceeded, ErrorCode::IssuerInvalid].contains(&blocked.code),
        "{blocked:?}"
    );

    // One project: the policy, its size within the quota, and the plan.
    let mut narrow = draft(DraftTarget::Aws);
    narrow.scope.projects = vec![choices.projects[0].slug.clone()];
    let aws = session.preview_setup(&narrow).await.expect("aws preview");
    match (&aws.aws, &aws.trust_blocked) {
        (Some(policy), None) => {
            assert!(policy.policy_size <= policy.quota, "{policy:?}");
            assert!(
                policy
                    .trust_policy
                    .contains("sts:AssumeRoleWithWebIdentity")
            );
            assert!(policy.account_id_known, "the sandbox's account id");
            assert_eq!(aws.matrix.as_ref().map(|m| m.under_permission), Some(0));
            assert!(
                aws.plan.iter().any(|s| s.kind == "iam_role"),
                "{:#?}",
                aws.plan
            );
        }
        (None, Some(blocked)) => {
            assert_eq!(blocked.code, ErrorCode::IssuerInvalid, "{blocked:?}");
            assert!(blocked.message.contains("port"), "{blocked:?}");
        }
        other => panic!("neither a policy nor a reason: {other:?}"),
    }

    // An unknown slug is a field error on the scope's field, with "did you mean".
    let mut unknown = draft(DraftTarget::Aws);
    unknown.scope.projects = vec!["no-such-project".into()];
    let problem = session.preview_setup(&unknown).await.expect_err("unknown");
    assert_eq!(problem.code, ErrorCode::InvalidInput);
    assert!(
        problem
            .field_errors
            .iter()
            .any(|e| e.field == FormField::ScopeProjects.id()),
        "{problem:#?}"
    );
}
