//! Tauri codegen for the bare window (its `tauri.conf.json` and the embedded `dist/`).
fn main() {
    tauri_build::build();
}
