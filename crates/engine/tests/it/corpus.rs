//! The bad-input corpus: every `corpus/*.toml` is a broken setup file whose header lines
//! `# expect: FIELD | FIX FRAGMENT` name every field error it must produce (exactly those
//! fields, each with a fix containing the fragment).

use octo_oidc_core::ErrorCode;
use octo_oidc_engine::setup_file::parse_setup;

use crate::toml_files;

fn expectations(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|l| {
            let (field, fix) = l.split_once(" | ").expect("FIELD | FIX");
            (field.trim().to_string(), fix.trim().to_string())
        })
        .collect()
}

#[test]
fn every_broken_file_names_its_fields_and_fixes() {
    let files = toml_files("corpus");
    assert!(files.len() >= 40, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    for (name, text) in &files {
        let expected = expectations(text);
        assert!(!expected.is_empty(), "{name}: no `# expect:` line");
        let problem = match parse_setup(text) {
            Ok(_) => {
                failures.push(format!("{name}: parsed without errors"));
                continue;
            }
            Err(p) => p,
        };
        assert_eq!(problem.code, ErrorCode::InvalidInput, "{name}");
        let mut got: Vec<&str> = problem
            .field_errors
            .iter()
            .map(|e| e.field.as_str())
            .collect();
        got.sort();
        let mut want: Vec<&str> = expected.iter().map(|(f, _)| f.as_str()).collect();
        want.sort();
        if got != want {
            failures.push(format!(
                "{name}: fields {got:?}, expected {want:?}\n    {:#?}",
                problem.field_errors
            ));
            continue;
        }
        for (field, fragment) in &expected {
            let e = problem
                .field_errors
                .iter()
                .find(|e| &e.field == field)
                .unwrap();
            let text = format!("{} / {}", e.problem, e.fix).to_lowercase();
            if !text.contains(&fragment.to_lowercase()) {
                failures.push(format!(
                    "{name}: {field}: '{}' / '{}' lacks '{fragment}'",
                    e.problem, e.fix
                ));
            }
            assert!(!e.fix.is_empty(), "{name}: {field} has no fix");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn no_error_message_repeats_a_secret() {
    for (name, text) in toml_files("corpus")
        .iter()
        .filter(|(n, _)| n.starts_with("secret-"))
    {
        let problem = parse_setup(text).unwrap_err();
        let json = serde_json::to_string(&problem).unwrap();
        for secret in [
            "ABCDEFGHIJKLMNOPQRSTUVWX",
            "AKIAIOSFODNN7EXAMPLE",
            "bPxRfiCYEXAMPLEKEY",
            "Q~aBcDeF",
            "hunter2",
            "MIIEvQIB",
            "eyJhbGci",
            "ghp_abc",
        ] {
            assert!(
                !json.contains(secret),
                "{name}: the error repeats '{secret}': {json}"
            );
        }
    }
}
