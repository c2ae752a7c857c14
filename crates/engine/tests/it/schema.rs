//! The committed JSON Schema (`docs/setup-file.schema.json`) is exactly what the types
//! generate; regenerate with `UPDATE_SCHEMA=1 cargo test -p octo-oidc-engine --test it schema`.

use octo_oidc_engine::setup_file::schema::setup_file_schema_json;

#[test]
fn committed_schema_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/setup-file.schema.json"
    );
    let generated = setup_file_schema_json();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/setup-file.schema.json is stale; run UPDATE_SCHEMA=1 cargo test -p octo-oidc-engine --test it schema"
    );
}
