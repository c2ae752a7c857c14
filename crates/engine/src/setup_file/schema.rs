//! The JSON Schema of the setup file, generated from [`super::types`] (`schemars`) and
//! committed as `docs/setup-file.schema.json`; a test fails when the committed copy is stale.
//! The structural check walks files against this same schema.

use octo_oidc_core::SubjectKey;
use schemars::{Schema, SchemaGenerator, json_schema};

use super::types::SetupFile;

/// The schema's `$id`.
pub const SCHEMA_ID: &str = "https://octo-oidc.dev/schemas/setup-file-v1.json";

/// The setup file's JSON Schema (draft 2020-12), pretty-printed with a trailing newline:
/// exactly the content of `docs/setup-file.schema.json`.
pub fn setup_file_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&setup_file_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The setup file's JSON Schema as a value.
pub fn setup_file_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(SetupFile).to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), SCHEMA_ID.into());
    }
    schema
}

/// An optional list of subject keys: the strings of [`SubjectKey::ALL`].
pub(crate) fn subject_key_list(_: &mut SchemaGenerator) -> Schema {
    let keys: Vec<&str> = SubjectKey::ALL.iter().map(|k| k.as_str()).collect();
    json_schema!({
        "type": ["array", "null"],
        "items": { "type": "string", "enum": keys },
        "uniqueItems": true
    })
}
