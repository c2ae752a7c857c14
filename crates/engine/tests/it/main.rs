//! Integration tests of the engine: one binary, one module per area.
#![allow(clippy::unwrap_used)]

mod apply;
mod architecture;
mod corpus;
mod gcp;
mod plan;
mod preflight;
mod resume;
mod schema;
mod support;
mod teams;
mod teardown;
mod tenants;
mod valid;
mod verify;

use std::path::{Path, PathBuf};

/// A folder under `tests/it/`.
pub fn it_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it")
        .join(sub)
}

/// The `*.toml` files of a folder, sorted, with their names.
pub fn toml_files(sub: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(it_dir(sub))
        .expect("folder exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("readable"))
        })
        .collect();
    files.sort();
    files
}
