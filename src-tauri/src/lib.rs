//! The Octopus OIDC Wizard desktop app (being built; see the foundation issue).
pub fn run() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("error while running the Octopus OIDC Wizard");
}
