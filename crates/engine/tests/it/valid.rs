//! Valid setup files: every `valid/*.toml` and every example in `docs/setup-file.md` parses
//! and validates, and writing a file back round-trips.

use octo_oidc_engine::setup_file::{
    CiSystem, CredentialStrategy, SlugSelection, TargetSpec, parse_setup, write_setup,
};

use crate::toml_files;

#[test]
fn every_valid_example_parses_and_round_trips() {
    let files = toml_files("valid");
    assert!(files.len() >= 4);
    for (name, text) in &files {
        let parsed = parse_setup(text).unwrap_or_else(|p| panic!("{name}: {p:#?}"));
        let written = write_setup(&parsed.setup.file);
        let again = parse_setup(&written)
            .unwrap_or_else(|p| panic!("{name} written back: {p:#?}\n{written}"));
        assert_eq!(again.setup, parsed.setup, "{name}: round trip");
    }
}

#[test]
fn docs_examples_parse() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/setup-file.md"
    ))
    .unwrap();
    let blocks: Vec<&str> = doc
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(
        blocks.len() >= 4,
        "docs/setup-file.md has {} toml examples",
        blocks.len()
    );
    for b in blocks {
        parse_setup(b).unwrap_or_else(|p| panic!("docs example fails: {p:#?}\n{b}"));
    }
}

#[test]
fn typed_values_follow_the_file() {
    let files = toml_files("valid");
    let get = |n: &str| {
        parse_setup(&files.iter().find(|(f, _)| f == n).unwrap().1)
            .unwrap()
            .setup
    };
    let aws = get("aws");
    assert_eq!(
        aws.octopus_url.as_deref(),
        Some("https://octopus.example.com")
    );
    let TargetSpec::Aws(a) = &aws.spec else {
        panic!("aws")
    };
    assert_eq!(
        a.scope.projects,
        SlugSelection::Only(vec!["web".into(), "api".into()])
    );
    assert!(a.scope.untenanted);
    assert_eq!(a.session_duration, 3600);
    let TargetSpec::Aws(m) = &get("aws-minimal").spec else {
        panic!("aws")
    };
    assert_eq!(m.scope.projects, SlugSelection::All);
    let TargetSpec::Azure(z) = &get("azure").spec else {
        panic!("azure")
    };
    assert_eq!(
        z.assignment_scope(),
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-shop"
    );
    assert_eq!(z.credential_strategy, CredentialStrategy::OneApp);
    let TargetSpec::Ci(g) = &get("github").spec else {
        panic!("github")
    };
    assert_eq!(g.subject, "repo:acme/shop:ref:refs/heads/main");
    assert_eq!(g.ci, CiSystem::Github);
    let TargetSpec::Ci(l) = &get("gitlab").spec else {
        panic!("gitlab")
    };
    assert_eq!(l.ci, CiSystem::Gitlab);
    assert_eq!(l.issuer, "https://gitlab.com");
}

#[test]
fn warnings_do_not_block() {
    let text = toml_files("valid")
        .into_iter()
        .find(|(n, _)| n == "aws")
        .unwrap()
        .1;
    let many: Vec<String> = (0..12)
        .map(|i| format!("\"arn:aws:iam::aws:policy/P{i}\""))
        .collect();
    let text = text.replace(
        "managed_policies = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]",
        &format!("managed_policies = [{}]", many.join(", ")),
    );
    let parsed = parse_setup(&text).unwrap();
    assert_eq!(parsed.warnings.len(), 1);
    assert_eq!(parsed.warnings[0].field, "aws.managed_policies");
}
