//! Google Cloud: snapshots of the trust spec and account body for the reference scope, and
//! properties over generated scopes — the CEL condition (evaluated by the `cel` crate) admits
//! exactly the scope's subjects, refuses every run outside it and near-miss subjects, and the
//! long-subject fallback keeps `google.subject` within 127 bytes.

use std::collections::BTreeSet;

use octo_oidc_core::accounts::AccountCommon;
use octo_oidc_core::gcp::{
    GcpError, GcpStep, GcpTrustInput, GoogleCloudOidcAccount, MAX_SUBJECT_BYTES, ProviderRef,
    SubjectMapping, google_cloud_oidc_account_body, plan_trust,
};
use octo_oidc_core::scope::{CompiledScope, RunRef, Scope};
use octo_oidc_core::subject::SubjectKey;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::properties::{build, case};
use crate::specs::reference_scope;

const ISSUER: &str = "https://example.octopus.app/";

fn input() -> GcpTrustInput {
    GcpTrustInput {
        provider: ProviderRef {
            project_number: "123456789012".into(),
            pool_id: "octopus".into(),
            provider_id: "octopus-prod".into(),
        },
        issuer: ISSUER.into(),
        allowed_audiences: Vec::new(),
    }
}

/// The claims Octopus puts in the token of a run: `iss`, `aud`, `sub` and one
/// `https://octopus.com/claims/<key>` per context value.
fn claims_of(compiled: &CompiledScope<'_>, run: &RunRef, aud: &str) -> Value {
    let mut sub = String::new();
    compiled.write_run_subject(run, &mut sub);
    claims(&sub, compiled, run, aud)
}

fn claims(sub: &str, compiled: &CompiledScope<'_>, run: &RunRef, aud: &str) -> Value {
    let mut m = Map::new();
    m.insert("iss".into(), json!(ISSUER));
    m.insert("aud".into(), json!(aud));
    m.insert("sub".into(), json!(sub));
    let parts = compiled.parts(run);
    for key in SubjectKey::ALL {
        if let Some(v) = parts.value(run.context, key) {
            m.insert(
                format!("https://octopus.com/claims/{}", key.claim_name()),
                json!(v),
            );
        }
    }
    Value::Object(m)
}

#[test]
fn gcp_trust_for_the_reference_scope() {
    let spec = plan_trust(&input(), &reference_scope()).unwrap();
    assert_eq!(spec.subject_mapping, SubjectMapping::Sub);
    insta::assert_json_snapshot!(spec);
    insta::assert_json_snapshot!("gcp_provider_body", spec.provider_body());
}

#[test]
fn google_cloud_account_body_for_the_reference_scope() {
    let spec = plan_trust(&input(), &reference_scope()).unwrap();
    let body = google_cloud_oidc_account_body(
        &GoogleCloudOidcAccount {
            common: AccountCommon {
                name: "Google Cloud prod".into(),
                description: "Set up by the Octopus OIDC Wizard".into(),
                space_id: "Spaces-1".into(),
                slug: Some("cloud-prod".into()),
            },
            audience: spec.audience.clone(),
            token_lifetime_secs: 3600,
            custom_claims: Vec::new(),
        },
        &reference_scope(),
    )
    .unwrap();
    assert_eq!(body["TokenLifetimeSeconds"], json!("3600"));
    assert_eq!(body["Audience"], json!(input().provider.default_audience()));
    insta::assert_json_snapshot!(body);
}

#[test]
fn reference_scope_runs_are_admitted_exactly() {
    let scope = reference_scope();
    let spec = plan_trust(&input(), &scope).unwrap();
    let trust = spec.trust();
    let compiled = scope.compile().unwrap();
    let intended: BTreeSet<String> = spec.subjects.iter().cloned().collect();
    let aud = spec.audience.clone();
    let mut accepted = BTreeSet::new();
    let mut refused = 0;
    compiled.for_each_run(|run| {
        let c = claims_of(&compiled, run, &aud);
        let v = trust.evaluate(&c);
        let sub = c["sub"].as_str().unwrap().to_string();
        assert_eq!(v.accepted, intended.contains(&sub), "{sub}: {}", v.reason);
        if v.accepted {
            accepted.insert(sub);
        } else {
            assert_eq!(v.step, Some(GcpStep::Condition));
            assert_eq!(v.error.as_deref(), Some("unauthorized_client"));
            refused += 1;
        }
    });
    assert_eq!(accepted, intended);
    assert!(
        refused > 0,
        "the reference space has runs outside the scope"
    );
}

#[test]
fn wrong_issuer_audience_and_missing_binding_are_refused() {
    let scope = reference_scope();
    let spec = plan_trust(&input(), &scope).unwrap();
    let compiled = scope.compile().unwrap();
    let mut run = None;
    compiled.for_each_run(|r| {
        if run.is_none() && compiled.is_intended(r) {
            run = Some(*r);
        }
    });
    let run = run.unwrap();
    let good = claims_of(&compiled, &run, &spec.audience);
    assert!(spec.trust().evaluate(&good).accepted);

    let mut c = good.clone();
    c["iss"] = json!("https://example.octopus.app");
    assert_eq!(spec.trust().evaluate(&c).step, Some(GcpStep::Issuer));

    // The project ID instead of the NUMBER is a different audience.
    let mut c = good.clone();
    c["aud"] = json!(
        "//iam.googleapis.com/projects/my-project/locations/global/workloadIdentityPools/octopus/providers/octopus-prod"
    );
    assert_eq!(spec.trust().evaluate(&c).step, Some(GcpStep::Audience));
    let mut c = good.clone();
    c["aud"] = json!(format!("https:{}", spec.audience));
    assert!(spec.trust().evaluate(&c).accepted);

    let mut trust = spec.trust();
    trust.service_account_members.clear();
    let v = trust.evaluate(&good);
    assert_eq!(v.step, Some(GcpStep::Binding));
    assert_eq!(v.error.as_deref(), Some("PERMISSION_DENIED"));

    // A loosened condition is caught by nothing but the binding.
    let mut trust = spec.trust();
    trust.attribute_condition = None;
    let mut c = good.clone();
    c["sub"] = json!("space:default:project:other:environment:production");
    assert_eq!(trust.evaluate(&c).step, Some(GcpStep::Binding));
}

#[test]
fn long_subjects_fall_back_to_space_and_account() {
    let mut scope = reference_scope();
    let long = "a".repeat(120);
    scope.inventory.environments[1].slug = long.clone();
    let spec = plan_trust(&input(), &scope).unwrap();
    assert_eq!(spec.subject_mapping, SubjectMapping::SpaceAccount);
    assert!(spec.subjects.iter().any(|s| s.len() > MAX_SUBJECT_BYTES));
    assert_eq!(
        spec.binding.members,
        vec![input().provider.principal("default:cloud-prod")]
    );
    let compiled = scope.compile().unwrap();
    let intended: BTreeSet<String> = spec.subjects.iter().cloned().collect();
    compiled.for_each_run(|run| {
        let c = claims_of(&compiled, run, &spec.audience);
        let v = spec.trust().evaluate(&c);
        let sub = c["sub"].as_str().unwrap();
        assert_eq!(v.accepted, intended.contains(sub), "{sub}: {}", v.reason);
        if v.accepted {
            assert_eq!(v.google_subject.as_deref(), Some("default:cloud-prod"));
        }
    });
    // With `assertion.sub` as the subject, Google would refuse those tokens at the mapping.
    let mut trust = spec.trust();
    trust.attribute_mapping[0].1 = "assertion.sub".into();
    let mut refused_by_mapping = false;
    compiled.for_each_run(|run| {
        let c = claims_of(&compiled, run, &spec.audience);
        if c["sub"].as_str().unwrap().len() > MAX_SUBJECT_BYTES {
            assert_eq!(trust.evaluate(&c).step, Some(GcpStep::Mapping));
            refused_by_mapping = true;
        }
    });
    assert!(refused_by_mapping);
}

#[test]
fn limits_are_errors() {
    let mut scope = reference_scope();
    scope.inventory.account.slug = "b".repeat(130);
    scope.inventory.environments[1].slug = "a".repeat(120);
    assert!(matches!(
        plan_trust(&input(), &scope),
        Err(GcpError::SubjectTooLong { .. })
    ));
    let mut scope = reference_scope();
    for (i, e) in scope.inventory.environments.iter_mut().enumerate() {
        e.slug = format!("{}{i}", "e".repeat(60));
    }
    scope.selection.environments = octo_oidc_core::scope::Selection::All;
    scope.inventory.targets = (0..60)
        .map(|i| octo_oidc_core::ports::OctopusResource {
            id: format!("Machines-{i}"),
            name: format!("m{i}"),
            slug: format!("{}-{i}", "machine".repeat(6)),
        })
        .collect();
    scope.selection.targets = octo_oidc_core::scope::Selection::All;
    assert!(matches!(
        plan_trust(&input(), &scope),
        Err(GcpError::ConditionTooLong { .. })
    ));
}

/// Subjects that differ from `s` by one small edit.
fn near_misses(s: &str) -> Vec<String> {
    let mut out = vec![
        format!("{s}x"),
        format!("{s}:"),
        s[..s.len() - 1].to_string(),
        format!("x{s}"),
        s.to_uppercase(),
        format!(" {s}"),
        s.replacen(':', "::", 1),
    ];
    if let Some(i) = s.rfind(':') {
        out.push(s[..i].to_string());
    }
    out.retain(|m| m != s);
    out
}

fn check_exact(scope: &Scope, later: &Scope) -> Result<(), TestCaseError> {
    let spec = match plan_trust(&input(), scope) {
        Ok(spec) => spec,
        Err(GcpError::EmptyScope) => return Ok(()),
        Err(e) => return Err(TestCaseError::fail(e.to_string())),
    };
    // The whole trust, and the condition alone (the binding opened to the whole pool), must
    // each admit exactly the scope: the binding is a second fence, not the only one.
    let full = spec.trust();
    let mut open = spec.trust();
    open.service_account_members = vec![format!(
        "principalSet://iam.googleapis.com/{}/*",
        spec.provider.pool_name()
    )];
    for trust in [&full, &open] {
        check_trust(scope, later, &spec, trust)?;
    }
    Ok(())
}

fn check_trust(
    scope: &Scope,
    later: &Scope,
    spec: &octo_oidc_core::gcp::GcpTrustSpec,
    trust: &octo_oidc_core::gcp::GcpTrust,
) -> Result<(), TestCaseError> {
    let trust = trust.compile().unwrap();
    let intended: BTreeSet<String> = spec.subjects.iter().cloned().collect();
    let today = scope.compile().unwrap();
    prop_assert_eq!(
        &today
            .subjects()
            .into_iter()
            .map(|s| s.subject)
            .collect::<BTreeSet<_>>(),
        &intended
    );
    // Over today's space plus items created later: admitted exactly when the subject is one of
    // today's scope.
    let compiled = later.compile().unwrap();
    let mut failure = None;
    compiled.for_each_run(|run| {
        if failure.is_some() {
            return;
        }
        let c = claims_of(&compiled, run, &spec.audience);
        let sub = c["sub"].as_str().unwrap().to_string();
        let v = trust.evaluate(&c);
        if v.accepted != intended.contains(&sub) {
            failure = Some(format!("{sub}: accepted={} ({})", v.accepted, v.reason));
            return;
        }
        if v.accepted {
            for miss in near_misses(&sub) {
                if intended.contains(&miss) {
                    continue;
                }
                let v = trust.evaluate(&claims(&miss, &compiled, run, &spec.audience));
                if v.accepted {
                    failure = Some(format!("near miss {miss} of {sub} accepted"));
                    return;
                }
            }
        }
    });
    if let Some(f) = failure {
        return Err(TestCaseError::fail(f));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn gcp_condition_admits_exactly_the_scope(c in case()) {
        check_exact(&build(&c, false), &build(&c, true))?;
    }
}
