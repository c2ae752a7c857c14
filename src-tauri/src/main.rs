#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]
fn main() {
    octo_oidc_wizard::run()
}
