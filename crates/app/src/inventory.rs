//! A space's inventory for scope selection: the space named by id (`Spaces-N`), slug or name,
//! then everything scope selection needs in it (environments, project groups, projects,
//! tenants, runbooks), loaded by the connected Octopus client.

use octo_oidc_core::{ErrorCode, Problem};
use octo_oidc_octopus::inventory::SpaceSummary;

/// The space `wanted` names: an exact id, else a slug or name (case-insensitive).
pub fn resolve_space<'a>(
    spaces: &'a [SpaceSummary],
    wanted: &str,
) -> Result<&'a SpaceSummary, Problem> {
    let wanted = wanted.trim();
    spaces
        .iter()
        .find(|space| space.id.eq_ignore_ascii_case(wanted))
        .or_else(|| {
            spaces.iter().find(|space| {
                space.slug.eq_ignore_ascii_case(wanted) || space.name.eq_ignore_ascii_case(wanted)
            })
        })
        .ok_or_else(|| {
            let visible: Vec<&str> = spaces.iter().map(|space| space.name.as_str()).collect();
            Problem::new(
                ErrorCode::NotFound,
                format!("No space '{wanted}' is visible to the signed-in user."),
            )
            .with_hint(if visible.is_empty() {
                "The user sees no space; ask an Octopus administrator for access.".to_string()
            } else {
                format!("Use one of: {}.", visible.join(", "))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(id: &str, name: &str, slug: &str) -> SpaceSummary {
        SpaceSummary {
            id: id.into(),
            name: name.into(),
            slug: slug.into(),
            is_default: false,
        }
    }

    #[test]
    fn a_space_is_found_by_id_slug_or_name() {
        let spaces = [
            space("Spaces-1", "Default", "default"),
            space("Spaces-2", "Ops Team", "ops-team"),
        ];
        for (wanted, id) in [
            ("Spaces-2", "Spaces-2"),
            ("spaces-1", "Spaces-1"),
            ("ops-team", "Spaces-2"),
            ("Ops Team", "Spaces-2"),
            (" default ", "Spaces-1"),
        ] {
            assert_eq!(
                resolve_space(&spaces, wanted).expect(wanted).id,
                id,
                "{wanted}"
            );
        }
        let missing = resolve_space(&spaces, "Spaces-9").expect_err("no such space");
        assert_eq!(missing.code, ErrorCode::NotFound);
        assert!(
            missing
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("Ops Team")),
            "{missing:?}"
        );
    }
}
