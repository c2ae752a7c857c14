//! Preflight against the testkit's fakes: what each plan needs, denials named with who can
//! grant them, unknowns as warnings, the issuer checks, and apply's refusal.

use octo_oidc_core::ErrorCode;
use octo_oidc_core::preflight::{AppCreationRights, RbacPermission};
use octo_oidc_engine::observe::Observation;
use octo_oidc_engine::preflight::{
    HostReads, Outcome, PermissionCheck, Preflight, Service, needed_permissions,
    observe_with_preflight, preflight, refusal,
};
use octo_oidc_engine::render::{preflight_json, preflight_text};
use octo_oidc_engine::verify::IssuerFacts;
use octo_oidc_testkit::assert_problem;

use crate::support::{AWS, AZURE, GITHUB, ISSUER, World, setup};

fn issuer(not_public: Option<&str>) -> IssuerFacts {
    IssuerFacts {
        issuer: ISSUER.into(),
        is_https: true,
        has_trailing_slash: false,
        usable_keys: 1,
        not_public: not_public.map(str::to_string),
    }
}

/// The plan of `text` in `w` and its preflight, against a real cloud with no issuer facts.
async fn preflight_of(w: &World, text: &str) -> (Observation, Preflight) {
    let o = w.observe(&setup(text)).await;
    let p = preflight(&o, None, true, w.ports()).await;
    (o, p)
}

/// The blocking gaps of `p`, asserting there is exactly one, for `permission`.
fn one_gap<'a>(p: &'a Preflight, permission: &str) -> Vec<&'a PermissionCheck> {
    let gaps = p.blocking_gaps();
    assert_eq!(gaps.len(), 1, "{}", preflight_text(p));
    assert_eq!(gaps[0].needed.permission, permission);
    gaps
}

#[tokio::test]
async fn an_aws_plan_needs_the_iam_actions_of_its_steps_on_their_arns() {
    let w = World::new();
    let o = w.observe(&setup(AWS)).await;
    let needed = needed_permissions(&o);
    let aws: Vec<(&str, &str)> = needed
        .iter()
        .filter(|n| n.service == Service::Aws)
        .map(|n| (n.permission.as_str(), n.resource.as_str()))
        .collect();
    let role = "arn:aws:iam::123456789012:role/octopus-shop";
    let provider = "arn:aws:iam::123456789012:oidc-provider/octopus.example.com";
    assert_eq!(
        aws,
        [
            ("iam:CreateOpenIDConnectProvider", provider),
            ("iam:TagOpenIDConnectProvider", provider),
            ("iam:CreateRole", role),
            ("iam:TagRole", role),
            ("iam:AttachRolePolicy", role),
        ]
    );
    let octopus: Vec<(&str, bool)> = needed
        .iter()
        .filter(|n| n.service == Service::Octopus)
        .map(|n| (n.permission.as_str(), n.blocking))
        .collect();
    assert_eq!(octopus, [("AccountCreate", true), ("TaskCreate", false)]);
}

#[tokio::test]
async fn everything_granted_passes_and_a_second_plan_needs_only_the_account_test() {
    let w = World::new();
    let s = setup(AWS);
    let o = w.observe(&s).await;
    let p = preflight(&o, Some(&issuer(None)), true, w.ports()).await;
    assert!(!p.blocks_apply(), "{}", preflight_text(&p));
    assert!(
        p.permissions
            .iter()
            .all(|c| matches!(c.outcome, Outcome::Granted { .. })),
        "{p:#?}"
    );
    assert_eq!(w.changes(), Vec::<String>::new(), "preflight only reads");
    let report = w.apply(&s).await;
    assert!(report.is_complete(), "{:?}", report.problem);
    let again = w.observe(&s).await;
    let needed = needed_permissions(&again);
    assert_eq!(needed.len(), 1, "{needed:#?}");
    assert_eq!(needed[0].permission, "TaskCreate");
}

#[tokio::test]
async fn an_iam_denial_blocks_apply_naming_the_action_and_who_grants_it() {
    let w = World::new();
    w.iam.deny_action("iam:CreateRole");
    let (_, p) = preflight_of(&w, AWS).await;
    let gaps = one_gap(&p, "iam:CreateRole");
    assert_eq!(
        gaps[0].caller,
        "arn:aws:iam::123456789012:user/octo-oidc-test"
    );
    assert_eq!(
        gaps[0].outcome,
        Outcome::Missing {
            detail: "implicitDeny".into()
        }
    );
    let who = gaps[0].who_can_grant.as_deref().unwrap();
    assert!(
        who.contains("IAM administrator of AWS account 123456789012"),
        "{who}"
    );
    let problem = refusal(&p).expect("refused");
    assert_problem(&problem, ErrorCode::PermissionDenied, "iam:CreateRole");
    let text = preflight_text(&p);
    assert!(text.contains("✗ missing: iam:CreateRole"), "{text}");
    assert!(text.contains("who can grant it:"), "{text}");
    assert_eq!(preflight_json(&p)["blocks_apply"], true);
}

#[tokio::test]
async fn a_simulator_that_cannot_be_asked_is_unknown_not_a_block() {
    let w = World::new();
    w.iam.fail_always(
        "simulate_principal_policy",
        octo_oidc_core::Problem::new(ErrorCode::PermissionDenied, "AccessDenied"),
    );
    let (_, p) = preflight_of(&w, AWS).await;
    assert!(!p.blocks_apply());
    assert!(
        p.permissions
            .iter()
            .filter(|c| c.needed.service == Service::Aws)
            .all(|c| matches!(&c.outcome, Outcome::Unknown { reason } if reason.contains("SimulatePrincipalPolicy"))),
        "{p:#?}"
    );
}

/// An IAM endpoint without `SimulatePrincipalPolicy` (moto; the port's `UnsupportedVersion`):
/// every AWS permission "could not be checked", naming nobody to grant it, and apply is not
/// blocked.
#[tokio::test]
async fn an_iam_endpoint_without_the_simulator_could_not_be_checked() {
    let w = World::new();
    w.iam.fail_always(
        "simulate_principal_policy",
        octo_oidc_core::Problem::new(
            ErrorCode::UnsupportedVersion,
            "the IAM endpoint does not implement SimulatePrincipalPolicy (HTTP 500 without an AWS error code)",
        ),
    );
    let (_, p) = preflight_of(&w, AWS).await;
    assert!(!p.blocks_apply());
    let aws: Vec<_> = p
        .permissions
        .iter()
        .filter(|c| c.needed.service == Service::Aws)
        .collect();
    assert!(!aws.is_empty());
    for c in &aws {
        assert_eq!(
            c.outcome,
            Outcome::Unknown {
                reason: octo_oidc_engine::preflight::SIMULATION_UNIMPLEMENTED.into()
            },
            "{c:#?}"
        );
        assert_eq!(c.who_can_grant, None, "{c:#?}");
    }
    let text = preflight_text(&p);
    assert!(
        text.contains(
            "could not be checked (the IAM endpoint does not implement SimulatePrincipalPolicy)"
        ) && !text.contains("who can grant it: an IAM administrator"),
        "{text}"
    );
}

#[tokio::test]
async fn azure_needs_app_creation_and_role_assignment_write_at_the_scope() {
    let w = World::new();
    w.rbac.set_caller_permissions(vec![RbacPermission {
        actions: vec!["*".into()],
        not_actions: vec![
            "Microsoft.Authorization/*/Write".into(),
            "Microsoft.Authorization/*/Delete".into(),
        ],
    }]);
    w.entra.set_app_creation_rights(AppCreationRights {
        caller: "dev@contoso.example".into(),
        app_only: false,
        directory_roles: vec![],
        app_roles: vec![],
        users_may_create_apps: Some(false),
    });
    let (o, p) = preflight_of(&w, AZURE).await;
    let gaps: Vec<(&str, &str)> = p
        .blocking_gaps()
        .iter()
        .map(|c| (c.needed.permission.as_str(), c.needed.resource.as_str()))
        .collect();
    assert_eq!(
        gaps,
        [
            ("microsoft.directory/applications/create", "directory"),
            (
                "Microsoft.Authorization/roleAssignments/write",
                "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-shop"
            ),
        ],
        "{}",
        preflight_text(&p)
    );
    let rbac = &p.blocking_gaps()[1];
    assert!(
        rbac.who_can_grant
            .as_deref()
            .unwrap()
            .contains("User Access Administrator"),
        "{rbac:?}"
    );
    // A directory role that creates applications, and Owner: nothing missing.
    w.entra.set_app_creation_rights(AppCreationRights {
        caller: "dev@contoso.example".into(),
        directory_roles: vec!["Application Developer".into()],
        ..Default::default()
    });
    w.rbac.set_caller_permissions(vec![RbacPermission {
        actions: vec!["*".into()],
        not_actions: vec![],
    }]);
    let p = preflight(&o, None, true, w.ports()).await;
    assert!(!p.blocks_apply(), "{}", preflight_text(&p));
}

#[tokio::test]
async fn github_needs_user_edit_and_a_missing_one_names_an_octopus_administrator() {
    let w = World::new();
    w.octopus.withhold_permission("UserEdit");
    let (_, p) = preflight_of(&w, GITHUB).await;
    let gaps = one_gap(&p, "UserEdit");
    assert_eq!(gaps[0].needed.resource, "system");
    assert_eq!(
        gaps[0].needed.needed_for.len(),
        2,
        "service account and identity"
    );
    assert!(
        gaps[0]
            .who_can_grant
            .as_deref()
            .unwrap()
            .contains("Octopus administrator"),
    );
}

#[tokio::test]
async fn a_non_public_issuer_blocks_for_real_clouds_only() {
    let w = World::new();
    let o = w.observe(&setup(AWS)).await;
    let facts = issuer(Some("loopback address"));
    let real = preflight(&o, Some(&facts), true, w.ports()).await;
    assert!(real.blocks_apply());
    assert_eq!(real.blocking_issuer_problems().len(), 1);
    assert!(refusal(&real).unwrap().message.contains("issuer:"));
    let sandbox = preflight(&o, Some(&facts), false, w.ports()).await;
    assert!(!sandbox.blocks_apply(), "{}", preflight_text(&sandbox));
    assert!(preflight_text(&sandbox).contains("! issuer:"));
}

#[tokio::test]
async fn asked_beside_observe_it_decides_as_after_it_with_one_simulation() {
    for (name, text) in [("aws", AWS), ("azure", AZURE), ("github", GITHUB)] {
        let w = World::new();
        w.iam.deny_action("iam:CreateRole");
        w.octopus.withhold_permission("AccountCreate");
        w.octopus.withhold_permission("UserEdit");
        let s = setup(text);
        let o = w.observe(&s).await;
        let after = preflight(&o, Some(&issuer(None)), true, w.ports()).await;
        w.iam.log().clear();
        let host = HostReads {
            space: async { Ok("Spaces-1".to_string()) },
            signed_in: async { Ok(()) },
            issuer: async { Some(issuer(None)) },
        };
        let (beside_o, beside) = observe_with_preflight(&s, host, ISSUER, true, w.ports())
            .await
            .unwrap_or_else(|p| panic!("{name}: {p:#?}"));
        assert_eq!(beside_o.plan, o.plan, "{name}");
        assert_eq!(beside, after, "{name}: {}", preflight_text(&beside));
        assert!(beside.blocks_apply(), "{name}: {}", preflight_text(&beside));
        let simulations = w
            .iam
            .log()
            .operations()
            .iter()
            .filter(|op| *op == "simulate_principal_policy")
            .count();
        assert_eq!(simulations, usize::from(name == "aws"), "{name}");
    }
}
