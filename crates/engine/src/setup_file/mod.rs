//! Setup files: the TOML contract users keep (issue 10), parsed into typed values and
//! validated with every field error at once.
//!
//! [`parse_setup`] runs, in order: TOML syntax; the secret check over every value and key
//! (no secret is ever read from a setup file); the structural check against the generated
//! JSON Schema ([`structure`], [`schema`]); the meaning check ([`validate`]). All errors come
//! back as one `invalid_input` [`Problem`] with field paths as written (`aws.role_name`,
//! `scope.projects[1]`) and a fix each. [`write_setup`] writes a file back (for `init` and the
//! wizard's save); parsing what it wrote gives the same [`SetupFile`].

pub mod schema;
pub mod server_url;
pub mod structure;
pub mod types;
pub mod validate;

use std::collections::BTreeSet;

use octo_oidc_core::Problem;
use octo_oidc_core::error::FieldError;
use octo_oidc_core::validate::{FieldWarning, Validator, looks_like_secret};

use structure::FieldPath;
pub use types::*;
pub use validate::{
    AwsSetup, AzureSetup, CiSetup, CloudScope, GcpSetup, Setup, SlugSelection, TargetSpec,
};

/// A setup file that parsed and validated, with its non-blocking warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSetup {
    /// The validated setup.
    pub setup: Setup,
    /// Remarks that do not block (e.g. more than 10 managed policies).
    pub warnings: Vec<FieldWarning>,
}

/// Key names that only ever hold secrets; such a key is an error wherever it appears.
const SECRET_KEY_NAMES: [&str; 14] = [
    "api_key",
    "apikey",
    "octopus_api_key",
    "client_secret",
    "secret",
    "password",
    "token",
    "access_token",
    "id_token",
    "access_key",
    "access_key_id",
    "secret_access_key",
    "aws_secret_access_key",
    "private_key",
];

const SECRET_FIX: &str = "Remove it: no secret is ever stored in a setup file. The Octopus API key lives in the OS keychain (`octo-oidc login`) or OCTOPUS_API_KEY; cloud credentials come from the cloud's own sign-in (AWS profile, Azure sign-in).";

/// The field used for errors that belong to no key (TOML syntax).
pub const FILE_FIELD: &str = "(file)";

fn syntax_problem(text: &str, e: &toml::de::Error) -> Problem {
    let (line, col) = e
        .span()
        .map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, col)
        })
        .unwrap_or((1, 1));
    Problem::invalid_input(vec![FieldError {
        field: FILE_FIELD.to_string(),
        problem: format!(
            "is not valid TOML at line {line}, column {col}: {}",
            e.message()
        ),
        fix: format!("Fix the TOML syntax at line {line}; see docs/setup-file.md for an example."),
    }])
}

fn secrets(
    table: &mut toml::Table,
    path: &FieldPath,
    errors: &mut Vec<FieldError>,
    removed: &mut BTreeSet<String>,
) {
    let keys: Vec<String> = table.keys().cloned().collect();
    for key in keys {
        let child = path.key(&key);
        let normalized = key.to_ascii_lowercase().replace('-', "_");
        let by_name = SECRET_KEY_NAMES.contains(&normalized.as_str());
        let found = match table.get_mut(&key) {
            Some(toml::Value::Table(t)) => {
                secrets(t, &child, errors, removed);
                None
            }
            Some(toml::Value::Array(items)) => {
                items.iter().enumerate().find_map(|(i, item)| match item {
                    toml::Value::String(s) => looks_like_secret(s).map(|k| (child.index(i), k)),
                    _ => None,
                })
            }
            Some(toml::Value::String(s)) => looks_like_secret(s).map(|k| (child.clone(), k)),
            _ => None,
        };
        if let Some((at, kind)) = found {
            errors.push(FieldError {
                field: at.to_string(),
                problem: format!("looks like {kind}; secrets are never stored in a setup file"),
                fix: SECRET_FIX.to_string(),
            });
        } else if by_name {
            errors.push(FieldError {
                field: child.to_string(),
                problem: format!(
                    "'{key}' would hold a secret; secrets are never stored in a setup file"
                ),
                fix: SECRET_FIX.to_string(),
            });
        } else {
            continue;
        }
        table.remove(&key);
        removed.insert(child.to_string());
    }
}

fn skipped(field: &str, removed: &BTreeSet<String>) -> bool {
    removed.iter().any(|r| {
        field == r
            || field
                .strip_prefix(r.as_str())
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

/// Parses and validates a setup file's text.
pub fn parse_setup(text: &str) -> Result<ParsedSetup, Problem> {
    let mut table: toml::Table = text.parse().map_err(|e| syntax_problem(text, &e))?;
    let mut errors = Vec::new();
    let mut removed = BTreeSet::new();
    secrets(&mut table, &FieldPath::root(), &mut errors, &mut removed);
    let schema = schema::setup_file_schema();
    let report = structure::check(&schema, &mut table);
    errors.extend(report.errors);
    removed.extend(report.removed);
    structure::fill_required(&schema, &mut table, Target::Gcp.as_str());
    if removed.contains("target") {
        table.insert("target".into(), Target::Gcp.as_str().into());
    }
    let file: SetupFile = match toml::Value::Table(table).try_into() {
        Ok(f) => f,
        Err(e) => {
            if errors.is_empty() {
                errors.push(FieldError {
                    field: FILE_FIELD.into(),
                    problem: format!("cannot be read: {}", e.message()),
                    fix: "Compare it with the examples in docs/setup-file.md.".into(),
                });
            }
            return Err(Problem::invalid_input(errors));
        }
    };
    let mut v = Validator::new();
    let setup = validate::check(&file, &removed, &mut v);
    let (semantic, warnings) = match v.finish() {
        Ok(w) => (Vec::new(), w),
        Err(p) => (p.field_errors, Vec::new()),
    };
    errors.extend(
        semantic
            .into_iter()
            .filter(|e| !skipped(&e.field, &removed)),
    );
    let warnings: Vec<FieldWarning> = warnings
        .into_iter()
        .filter(|w| !skipped(&w.field, &removed))
        .collect();
    match setup {
        Some(setup) if errors.is_empty() => Ok(ParsedSetup { setup, warnings }),
        _ if errors.is_empty() => Err(Problem::invalid_input(vec![FieldError {
            field: FILE_FIELD.into(),
            problem: "is incomplete".into(),
            fix: "Compare it with the examples in docs/setup-file.md.".into(),
        }])),
        _ => Err(Problem::invalid_input(errors)),
    }
}

/// The header written above every setup file.
pub const FILE_HEADER: &str = "# octo-oidc setup file: docs/setup-file.md documents every field.\n# No secret belongs here: the Octopus API key comes from the OS keychain or OCTOPUS_API_KEY.\n\n";

/// Writes a setup file (for `octo-oidc init` and the wizard's save); [`parse_setup`] of the
/// result gives back the same [`SetupFile`].
pub fn write_setup(file: &SetupFile) -> String {
    let body = toml::to_string(file).unwrap_or_default();
    format!("{FILE_HEADER}{body}")
}
