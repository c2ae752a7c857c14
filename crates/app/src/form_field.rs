//! The ids of the desktop forms' inputs: a closed set, so the Rust validation and the Svelte
//! screens name fields the same way (the TypeScript union `FormField` and the constant
//! `FORM_FIELDS` are generated from this enum).
//!
//! On the wire a [`FieldError`](octo_oidc_core::error::FieldError)'s `field` stays a string
//! path (setup files report paths like `aws.role_name` or `scope.projects[1]`); a form's own
//! errors always carry one of these ids.

use serde::{Deserialize, Serialize};

/// One input of a desktop form. The serialized form is the field id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum FormField {
    /// Connect to Octopus: the server URL.
    #[serde(rename = "octopus.server_url")]
    OctopusServerUrl,
    /// Connect to Octopus: the API key.
    #[serde(rename = "octopus.api_key")]
    OctopusApiKey,
}

impl FormField {
    /// Every form field.
    pub const ALL: [FormField; 2] = [FormField::OctopusServerUrl, FormField::OctopusApiKey];

    /// The field id, exactly as serialized (e.g. `octopus.server_url`).
    pub fn id(self) -> &'static str {
        match self {
            FormField::OctopusServerUrl => "octopus.server_url",
            FormField::OctopusApiKey => "octopus.api_key",
        }
    }

    /// The name the UI uses for the field in `FORM_FIELDS` (`octopus.server_url` →
    /// `octopusServerUrl`).
    pub fn key(self) -> String {
        let mut key = String::new();
        for (index, word) in self.id().split(['.', '_']).enumerate() {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                if index == 0 {
                    key.push(first);
                } else {
                    key.extend(first.to_uppercase());
                }
                key.push_str(chars.as_str());
            }
        }
        key
    }

    /// `{key: id}` for every field: the generated `FORM_FIELDS` constant of the UI.
    pub fn by_key() -> std::collections::BTreeMap<String, FormField> {
        FormField::ALL
            .into_iter()
            .map(|field| (field.key(), field))
            .collect()
    }
}

impl std::fmt::Display for FormField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_serialized_form_and_keys_are_camel_case() {
        for field in FormField::ALL {
            let json = serde_json::to_value(field).expect("serializes");
            assert_eq!(json, serde_json::json!(field.id()), "{field:?}");
        }
        assert_eq!(FormField::OctopusServerUrl.key(), "octopusServerUrl");
        assert_eq!(FormField::OctopusApiKey.key(), "octopusApiKey");
        assert_eq!(
            FormField::by_key().len(),
            FormField::ALL.len(),
            "keys collide"
        );
    }
}
