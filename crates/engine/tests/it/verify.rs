//! Verify against the fakes: passes after apply; names the tampering (a dropped `sub`
//! condition, a deleted credential) in the cloud checks and the simulator's matrix; the
//! issuer rules; the account test's failure explained from its log; token trades in scope
//! and near misses outside it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use octo_oidc_core::Secret;
use octo_oidc_core::ports::{PortResult, TaskResult};
use octo_oidc_core::simulate::TokenClaims;
use octo_oidc_engine::observe::Observation;
use octo_oidc_engine::verify::{
    Area, Check, IssuerFacts, NoTokens, TokenSource, VerifyOptions, VerifyReport, VerifyVerdict,
    verify,
};
use serde_json::json;

use crate::support::{AWS, AZURE, GITHUB, ISSUER, World};

pub(crate) fn good_issuer() -> IssuerFacts {
    IssuerFacts {
        issuer: ISSUER.into(),
        is_https: true,
        has_trailing_slash: false,
        usable_keys: 1,
        not_public: None,
    }
}

/// Unsigned JWTs with exactly the claims asked for (the fakes read claims, not signatures).
pub(crate) struct Minted;

impl TokenSource for Minted {
    async fn token(&self, c: &TokenClaims) -> PortResult<Secret> {
        let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        Ok(Secret::new(format!(
            "{}.{}.sig",
            part(json!({"alg": "PS256", "typ": "JWT"})),
            part(json!({"iss": c.iss, "sub": c.sub, "aud": c.aud, "exp": 4_102_444_800u64}))
        )))
    }
}

pub(crate) async fn run(world: &World, o: &Observation, options: VerifyOptions) -> VerifyReport {
    if options.token_trades {
        verify(o, Some(&good_issuer()), options, world.ports(), &Minted).await
    } else {
        verify(o, Some(&good_issuer()), options, world.ports(), &NoTokens).await
    }
}

/// [`run`] with token trades (the minted tokens), as `octo-oidc verify` runs it.
pub(crate) async fn run_trading(world: &World, o: &Observation) -> VerifyReport {
    let options = VerifyOptions {
        token_trades: true,
        ..VerifyOptions::default()
    };
    run(world, o, options).await
}

/// Asserts that `r` passed, listing its problems (after `context`) if not.
pub(crate) fn assert_passed(r: &VerifyReport, context: &str) {
    assert_eq!(
        r.verdict,
        VerifyVerdict::Passed,
        "{context}: {:#?}",
        problems(r)
    );
}

/// The token-trade checks of `r`.
pub(crate) fn trades(r: &VerifyReport) -> Vec<&Check> {
    r.checks
        .iter()
        .filter(|c| c.area == Area::TokenTrade)
        .collect()
}

pub(crate) fn problems(r: &VerifyReport) -> Vec<String> {
    r.problems()
        .iter()
        .map(|c| format!("{:?} {}: {}", c.area, c.name, c.message))
        .collect()
}

#[tokio::test]
async fn verify_passes_after_apply_for_every_target() {
    for (name, text) in [("aws", AWS), ("azure", AZURE), ("github", GITHUB)] {
        let (world, s) = World::applied(text).await;
        let o = world.observe(&s).await;
        let r = run_trading(&world, &o).await;
        assert_passed(&r, name);
        assert!(
            r.checks.iter().any(|c| c.area == Area::Cloud && c.passed),
            "{name}"
        );
        if name != "github" {
            assert!(
                r.checks
                    .iter()
                    .any(|c| c.area == Area::Simulation && c.passed),
                "{name}"
            );
            assert!(
                r.checks
                    .iter()
                    .any(|c| c.area == Area::AccountTest && c.passed),
                "{name}"
            );
        }
        if name != "azure" {
            let trades = trades(&r);
            assert!(
                trades
                    .iter()
                    .any(|c| c.message.contains("in scope: accepted")),
                "{name}: {trades:#?}"
            );
            assert!(
                trades
                    .iter()
                    .any(|c| c.message.contains("outside the scope: rejected")),
                "{name}: {trades:#?}"
            );
        }
    }
}

#[tokio::test]
async fn a_dropped_sub_condition_is_drift_and_over_permission() {
    let (world, s) = World::applied(AWS).await;
    world.drop_sub_conditions(&s).await;
    let o = world.observe(&s).await;
    let r = run_trading(&world, &o).await;
    assert_eq!(r.verdict, VerifyVerdict::ProblemsFound);
    let p = problems(&r);
    assert!(
        p.iter()
            .any(|m| m.starts_with("Cloud iam_role") && m.contains(":sub")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|m| m.starts_with("Simulation") && m.contains("accepted but outside the scope")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|m| m.starts_with("TokenTrade") && m.contains("outside the scope but accepted")),
        "{p:#?}"
    );
    // apply repairs it and verify passes again
    assert!(world.apply(&s).await.is_complete());
    let o = world.observe(&s).await;
    assert_eq!(
        run(&world, &o, VerifyOptions::default()).await.verdict,
        VerifyVerdict::Passed
    );
}

#[tokio::test]
async fn a_deleted_credential_is_missing_and_under_permission_with_the_difference_marked() {
    let (world, s) = World::applied(AZURE).await;
    let gone = world.delete_credential("production").await;
    let o = world.observe(&s).await;
    let r = run(&world, &o, VerifyOptions::default()).await;
    assert_eq!(r.verdict, VerifyVerdict::ProblemsFound);
    let p = problems(&r);
    assert!(
        p.iter()
            .any(|m| m.contains("federated_credential") && m.contains("is missing")),
        "{p:#?}"
    );
    let under = r
        .problems()
        .into_iter()
        .find(|c| c.area == Area::Simulation && c.message.contains(&gone.subject))
        .unwrap();
    assert!(under.message.contains("AADSTS700213"), "{}", under.message);
    assert!(under.cause.as_deref().unwrap().contains("subject"));
    let cmp = under.comparison.as_ref().unwrap();
    assert_eq!(cmp.token, gone.subject);
    let at = cmp.first_difference.unwrap();
    assert_ne!(cmp.token.chars().nth(at), cmp.trusted.chars().nth(at));
    assert_eq!(&cmp.token[..at], &cmp.trusted[..at]);
}

#[tokio::test]
async fn issuer_rules_block_for_real_clouds_and_warn_for_the_sandbox() {
    let (world, s) = World::applied(AWS).await;
    let o = world.observe(&s).await;
    let local = IssuerFacts {
        not_public: Some("loopback address".into()),
        has_trailing_slash: true,
        ..good_issuer()
    };
    let real = verify(
        &o,
        Some(&local),
        VerifyOptions::default(),
        world.ports(),
        &NoTokens,
    )
    .await;
    assert_eq!(real.verdict, VerifyVerdict::ProblemsFound);
    assert!(
        problems(&real).iter().any(|m| m.contains("loopback")),
        "{:#?}",
        problems(&real)
    );
    let sandbox = verify(
        &o,
        Some(&local),
        VerifyOptions {
            real_cloud: false,
            ..VerifyOptions::default()
        },
        world.ports(),
        &NoTokens,
    )
    .await;
    assert_passed(&sandbox, "");
    assert!(
        sandbox
            .checks
            .iter()
            .any(|c| c.name == "trailing slash" && !c.passed && !c.blocking)
    );
    let renamed = IssuerFacts {
        issuer: format!("{ISSUER}/"),
        is_https: true,
        ..good_issuer()
    };
    let r = verify(
        &o,
        Some(&renamed),
        VerifyOptions::default(),
        world.ports(),
        &NoTokens,
    )
    .await;
    let c = r
        .problems()
        .into_iter()
        .find(|c| c.name == "verbatim")
        .unwrap();
    assert_eq!(
        c.comparison.as_ref().unwrap().first_difference,
        Some(ISSUER.len())
    );
}

#[tokio::test]
async fn a_failed_account_test_is_explained_from_its_log() {
    let (world, s) = World::applied(AZURE).await;
    world.octopus.set_account_test_result(TaskResult {
        task_id: "ServerTasks-9".into(),
        state: "Failed".into(),
        succeeded: false,
        error_message: Some("The account test failed".into()),
        log: vec![
            "Requesting a token".into(),
            "AADSTS700211: No matching federated identity record found for presented assertion issuer".into(),
        ],
    });
    let o = world.observe(&s).await;
    let r = run(&world, &o, VerifyOptions::default()).await;
    let c = r
        .problems()
        .into_iter()
        .find(|c| c.area == Area::AccountTest)
        .unwrap();
    assert!(c.cause.as_deref().unwrap().contains("issuer"), "{c:#?}");
    assert_eq!(c.log.len(), 2);
}

#[tokio::test]
async fn an_azure_trade_of_a_deleted_credentials_subject_is_refused_with_aadsts700213() {
    let (world, s) = World::applied(AZURE).await;
    let o = world.observe(&s).await;
    let r = run_trading(&world, &o).await;
    let trades = trades(&r);
    assert!(trades.len() >= 3, "{trades:#?}");
    assert!(trades.iter().all(|c| c.passed), "{trades:#?}");
    let gone = world.delete_credential(":environment:production").await;
    let o = world.observe(&s).await;
    let r = run_trading(&world, &o).await;
    let refused = r
        .problems()
        .into_iter()
        .find(|c| c.area == Area::TokenTrade && c.name == gone.subject)
        .unwrap_or_else(|| panic!("gone {gone:?}: {:#?}", r.problems()));
    assert!(
        refused.message.contains("AADSTS700213"),
        "{}",
        refused.message
    );
    assert!(refused.cause.as_deref().unwrap().contains("subject"));
    let cmp = refused.comparison.as_ref().unwrap();
    assert_eq!(cmp.claim, "sub");
    assert_eq!(cmp.token, gone.subject);
    assert!(cmp.first_difference.is_some());
}
