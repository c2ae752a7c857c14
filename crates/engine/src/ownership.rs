//! What marks a remote resource as created by a setup, in one place, over the core's
//! [`SETUP_TAG`] / [`setup_mark`]: the AWS tag `octo-oidc:setup = <name>`, the Entra app
//! registration's tag and notes `octo-oidc:setup=<name>`, the marker `octo-oidc:setup=<name>`
//! at the end of an Octopus account's description and in a service account's display name,
//! and in the description of a Google Cloud pool, provider and service account.
//! Drift detection, the plan's conflicts and teardown read these, so they do not depend on
//! the journal alone.

use std::collections::BTreeMap;

use octo_oidc_core::ports::{SETUP_TAG, marked_setup, setup_mark};

/// The AWS tag key (roles and OIDC providers).
pub const AWS_TAG_KEY: &str = SETUP_TAG;
/// The prefix of the Entra app registration tag (the core's mark: `octo-oidc:setup=`).
pub const ENTRA_TAG_PREFIX: &str = "octo-oidc:setup=";
/// The marker's prefix inside an Octopus description.
pub const DESCRIPTION_MARKER: &str = "octo-oidc:setup=";

/// The tags a setup's AWS resources carry.
pub fn aws_tags(setup: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(AWS_TAG_KEY.to_string(), setup.to_string())])
}

/// The setup an AWS resource's tags name, if any.
pub fn setup_of_aws_tags(tags: &BTreeMap<String, String>) -> Option<&str> {
    tags.get(AWS_TAG_KEY).map(String::as_str)
}

/// The tag (and notes) a setup's Entra app registration carries.
pub fn entra_tag(setup: &str) -> String {
    setup_mark(setup)
}

/// The setup an Entra app registration's tags name, if any.
pub fn setup_of_entra_tags(tags: &[String]) -> Option<&str> {
    tags.iter().find_map(|t| marked_setup(t))
}

/// The display name of a service account the setup creates (Octopus users have no
/// description, so the mark goes here).
pub fn service_account_display_name(username: &str, setup: &str) -> String {
    format!("{username} ({})", setup_mark(setup))
}

/// The setup a service account's display name names, if any.
pub fn setup_of_display_name(display_name: &str) -> Option<&str> {
    marked_setup(display_name)
}

/// The description of an Octopus object the setup creates (accounts), ending with the marker.
pub fn octopus_description(setup: &str) -> String {
    format!(
        "Managed by octo-oidc; changes outside the setup file are undone by `octo-oidc apply`. {DESCRIPTION_MARKER}{setup}"
    )
}

/// The setup an Octopus description names, if any (the last marker wins).
pub fn setup_of_description(description: &str) -> Option<&str> {
    let (_, rest) = description.rsplit_once(DESCRIPTION_MARKER)?;
    let name = rest.split_whitespace().next().unwrap_or_default();
    (!name.is_empty()).then_some(name)
}

/// The description of a Google Cloud pool, provider or service account the setup creates
/// (≤ 256 characters), ending with the marker.
pub fn gcp_description(setup: &str) -> String {
    format!("Managed by octo-oidc. {}", setup_mark(setup))
}

/// The setup a Google Cloud description names, if any.
pub fn setup_of_gcp_description(description: &str) -> Option<&str> {
    marked_setup(description)
}

/// Who a resource belongs to, relative to one setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    /// This setup.
    This,
    /// Another setup, by name.
    OtherSetup(&'a str),
    /// Nobody we know (created outside octo-oidc).
    Foreign,
}

/// Classifies a marker against `setup`.
pub fn owner<'a>(marker: Option<&'a str>, setup: &str) -> Owner<'a> {
    match marker {
        Some(m) if m == setup => Owner::This,
        Some(m) => Owner::OtherSetup(m),
        None => Owner::Foreign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        assert_eq!(setup_of_aws_tags(&aws_tags("shop")), Some("shop"));
        assert_eq!(setup_of_entra_tags(&[entra_tag("shop")]), Some("shop"));
        assert_eq!(
            setup_of_description(&octopus_description("shop-aws")),
            Some("shop-aws")
        );
        assert_eq!(setup_of_description("made by hand"), None);
        assert_eq!(
            setup_of_display_name(&service_account_display_name("gh", "shop")),
            Some("shop")
        );
        assert_eq!(entra_tag("shop"), "octo-oidc:setup=shop");
        assert_eq!(
            setup_of_gcp_description(&gcp_description("shop-gcp")),
            Some("shop-gcp")
        );
        assert!(gcp_description(&"a".repeat(40)).len() <= 256);
        assert_eq!(owner(Some("a"), "a"), Owner::This);
        assert_eq!(owner(Some("b"), "a"), Owner::OtherSetup("b"));
        assert_eq!(owner(None, "a"), Owner::Foreign);
    }
}
