//! The sandbox judges the core, so it must not decide with the core's code: every path into
//! `octo_oidc_core` in `crates/sandbox/src` must name one of the plain data types below, and
//! none of the core's decision functions may be called there.

use std::path::{Path, PathBuf};

/// What the sandbox may take from the core: data, secrets and the error shape.
const ALLOWED: [&str; 5] = [
    "Secret",
    "Problem",
    "ErrorCode",
    "subject::Context",
    "subject::SubjectValues",
];

/// Decision methods of the allowed types (and the core functions a re-export could hide).
const FORBIDDEN_CALLS: [&str; 12] = [
    ".allowed_keys(",
    ".default_keys(",
    ".recommended_keys(",
    ".type_value(",
    ".account_field(",
    ".parts(",
    ".claim_name(",
    "octopus_subject_matches",
    "string_like(",
    "evaluate_web_identity",
    "TrustPolicy",
    "TrustConfig",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The use tree after `octo_oidc_core::`, up to where the path ends.
fn use_tree(rest: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            c if c.is_alphanumeric() || c == '_' || c == ':' || c == '*' => {}
            ',' | ' ' | '\n' if depth > 0 => {}
            _ => return &rest[..i],
        }
    }
    rest
}

/// Expands `a::{b, c::{d}}` into `a::b`, `a::c::d`.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    match tree.find('{') {
        None => out.push(format!("{prefix}{tree}")),
        Some(open) => {
            let head = &tree[..open];
            let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in body.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&format!("{prefix}{head}"), &body[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            if !body[start..].trim().is_empty() {
                expand(&format!("{prefix}{head}"), &body[start..], out);
            }
        }
    }
}

fn core_paths(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in source.match_indices("octo_oidc_core") {
        let rest = &source[at + "octo_oidc_core".len()..];
        match rest.strip_prefix("::") {
            Some(rest) => expand("", use_tree(rest), &mut out),
            // `use octo_oidc_core as core;`, `octo_oidc_core;` or similar: no item named.
            None => out.push(format!("octo_oidc_core{}", &rest[..rest.len().min(20)])),
        }
    }
    out
}

fn allowed(path: &str) -> bool {
    ALLOWED
        .iter()
        .any(|a| path == *a || path.strip_prefix(a).is_some_and(|r| r.starts_with("::")))
}

#[test]
fn the_sandbox_uses_only_the_cores_data_types() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found the sandbox sources in {src:?}");
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for path in core_paths(&text) {
            if !allowed(&path) {
                offences.push(format!("{}: octo_oidc_core::{path}", file.display()));
            }
        }
        for call in FORBIDDEN_CALLS {
            if text.contains(call) {
                offences.push(format!("{}: calls {call}", file.display()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "the sandbox must judge with its own rules, not the core's:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_scanner_sees_what_it_must_refuse() {
    let sample = "use octo_oidc_core::subject::{Context, SubjectKey, build_subject};\n\
                  use octo_oidc_core::{Secret, aws::{TrustPolicy}};\n\
                  let p = octo_oidc_core::Problem::new(code, m);\n\
                  use octo_oidc_core as core;";
    let paths = core_paths(sample);
    assert_eq!(
        paths,
        [
            "subject::Context",
            "subject::SubjectKey",
            "subject::build_subject",
            "Secret",
            "aws::TrustPolicy",
            "Problem::new",
            "octo_oidc_core as core;",
        ]
    );
    let refused: Vec<&String> = paths.iter().filter(|p| !allowed(p)).collect();
    assert_eq!(
        refused,
        [
            "subject::SubjectKey",
            "subject::build_subject",
            "aws::TrustPolicy",
            "octo_oidc_core as core;"
        ]
    );
}
