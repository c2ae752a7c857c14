//! `octo-oidc`: the command-line face of the Octopus OIDC Wizard.
fn main() {}
