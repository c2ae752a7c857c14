//! Verify against the fakes: passes after apply; names the tampering (a dropped `sub`
//! condition, a deleted credential) in the cloud checks and the simulator's matrix; the
//! issuer rules; the account test's failure explained from its log; token trades in scope
//! and near misses outside it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use octo_oidc_core::Secret;
use octo_oidc_core::ports::{PortResult, TaskResult};
use octo_oidc_core::simulate::TokenClaims;
use octo_oidc_engine::desired::DesiredResource;
use octo_oidc_engine::observe::Observation;
use octo_oidc_engine::verify::{
    Area, Check, IssuerFacts, NoTokens, TokenSource, VerifyOptions, VerifyReport, VerifyVerdict,
    verify,
};
use serde_json::json;

use crate::support::{AWS, AZURE, GITHUB, ISSUER, World, setup};

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

/// Applies `s`, observes it again and verifies with token trades.
pub(crate) async fn apply_and_verify_trading(
    world: &World,
    s: &octo_oidc_engine::setup_file::Setup,
) -> (Observation, VerifyReport) {
    assert!(world.apply(s).await.is_complete());
    let o = world.observe(s).await;
    let r = run_trading(world, &o).await;
    (o, r)
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
    for (area, says) in [
        ("Cloud iam_role", ":sub"),
        ("Simulation", "accepted but outside the scope"),
        ("TokenTrade", "outside the scope but accepted"),
    ] {
        assert!(
            p.iter().any(|m| m.starts_with(area) && m.contains(says)),
            "{area}: {says}: {p:#?}"
        );
    }
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

fn trade_results(r: &VerifyReport) -> Vec<(String, bool, String)> {
    r.checks
        .iter()
        .filter(|c| c.area == Area::TokenTrade)
        .map(|c| (c.name.clone(), c.passed, c.message.clone()))
        .collect()
}

/// Changes the subject of the setup's OIDC identity behind the setup's back.
async fn set_identity_subject(world: &World, o: &Observation, subject: &str) {
    use octo_oidc_core::ports::Octopus;
    let sa = o.observed.service_account.as_ref().unwrap();
    let mut spec = o
        .desired
        .resources
        .iter()
        .find_map(|r| match r {
            DesiredResource::OidcIdentity { spec, .. } => Some(spec.clone()),
            _ => None,
        })
        .unwrap();
    spec.subject = subject.to_string();
    world
        .octopus
        .ensure_oidc_identity(&sa.id, &spec)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_github_trust_is_traded_in_the_filter_and_refused_for_near_misses() {
    let world = World::new();
    let s = setup(GITHUB);
    let (o, r) = apply_and_verify_trading(&world, &s).await;
    let options = VerifyOptions {
        token_trades: true,
        ..VerifyOptions::default()
    };
    assert_eq!(r.verdict, VerifyVerdict::Passed, "{:#?}", problems(&r));
    let got = trade_results(&r);
    let subjects: Vec<&str> = got
        .iter()
        .map(|(n, _, _)| n.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "repo:acme/shop:ref:refs/heads/main",
            "repo:acme/shop:ref:refs/heads/develop",
            "repo:acme/shop-fork:ref:refs/heads/main",
            "repo:acme/shop:pull_request",
        ],
        "{got:#?}"
    );
    assert_eq!(got[0].2, "in scope: accepted", "{got:#?}");
    assert!(
        got[1..]
            .iter()
            .all(|(_, passed, m)| *passed && m.starts_with("outside the scope: rejected")),
        "{got:#?}"
    );

    // The identity now trusts another branch: the in-scope run is refused, its sub marked.
    set_identity_subject(&world, &o, "repo:acme/shop:ref:refs/heads/mainline").await;
    let o = world.observe(&s).await;
    let r = run(&world, &o, options).await;
    assert_eq!(r.verdict, VerifyVerdict::ProblemsFound);
    let refused = r
        .problems()
        .into_iter()
        .find(|c| c.area == Area::TokenTrade)
        .unwrap_or_else(|| panic!("{:#?}", r.problems()));
    assert!(
        refused
            .name
            .starts_with("repo:acme/shop:ref:refs/heads/main "),
        "{refused:#?}"
    );
    assert!(
        refused.message.starts_with("in scope but rejected"),
        "{refused:#?}"
    );
    let cmp = refused.comparison.as_ref().unwrap();
    assert_eq!(cmp.claim, "sub");
    assert_eq!(cmp.trusted, "repo:acme/shop:ref:refs/heads/mainline");
    assert_eq!(
        cmp.first_difference,
        Some("repo:acme/shop:ref:refs/heads/main".len())
    );
    assert!(
        refused.cause.as_deref().unwrap().contains("subject"),
        "{refused:#?}"
    );

    // A widened identity accepts the near misses of its own repository.
    set_identity_subject(&world, &o, "repo:acme/shop:*").await;
    let o = world.observe(&s).await;
    let r = run(&world, &o, options).await;
    let wide: Vec<String> = r
        .problems()
        .into_iter()
        .filter(|c| c.area == Area::TokenTrade)
        .map(|c| format!("{}: {}", c.name, c.message))
        .collect();
    assert_eq!(wide.len(), 2, "{wide:#?}");
    assert!(
        wide.iter()
            .all(|w| w.contains("outside the scope but accepted")
                && w.starts_with("repo:acme/shop:")),
        "{wide:#?}"
    );
}

#[tokio::test]
async fn another_ci_issuers_subject_is_traded_exactly_and_one_character_off() {
    let world = World::new();
    let s = setup(
        r#"
version = 1
name = "shop-teamcity"
target = "github"
[octopus]
url = "https://octopus.example.com"
space = "Default"
[github]
issuer = "https://teamcity.example.com"
subject = "project:Shop:build_type:Shop_Deploy*"
service_account = "teamcity-shop"
"#,
    );
    let (_, r) = apply_and_verify_trading(&world, &s).await;
    assert_eq!(r.verdict, VerifyVerdict::Passed, "{:#?}", problems(&r));
    let got = trade_results(&r);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].2, "in scope: accepted", "{got:#?}");
    assert!(
        got[1].2.starts_with("outside the scope: rejected"),
        "{got:#?}"
    );
}
