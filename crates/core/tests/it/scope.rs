//! Subjects and AWS subject patterns of narrow and wide selections over the reference
//! inventory.

use octo_oidc_core::scope::{Scope, ScopeSelection, Selection, SubjectKeyConfig};
use octo_oidc_core::subject::Context;

use crate::specs::{inventory, only};

fn scope(selection: ScopeSelection) -> Scope {
    Scope {
        inventory: inventory("aws-prod", "web", "dev"),
        selection,
        keys: SubjectKeyConfig::default(),
    }
}

#[test]
fn subjects_of_a_narrow_scope() {
    let s = scope(ScopeSelection {
        contexts: vec![Context::Deployment],
        projects: only(&["Projects-1"]),
        runbooks: Selection::All,
        environments: only(&["Environments-2"]),
        tenants: Selection::All,
        untenanted: true,
        targets: Selection::All,
    });
    let subjects: Vec<String> = s
        .subjects()
        .unwrap()
        .into_iter()
        .map(|s| s.subject)
        .collect();
    assert_eq!(
        subjects,
        vec![
            "space:default:account:aws-prod",
            "space:default:project:web:environment:production",
            "space:default:project:web:tenant:acme:environment:production",
        ]
    );
}

#[test]
fn aws_patterns_use_star_only_where_safe() {
    // All environments, untenanted only: `environment:*` is last, safe.
    let mut sel = ScopeSelection {
        contexts: vec![Context::Deployment],
        projects: only(&["Projects-1"]),
        runbooks: Selection::All,
        environments: Selection::All,
        tenants: only(&[]),
        untenanted: true,
        targets: Selection::All,
    };
    let s = scope(sel.clone());
    assert_eq!(
        s.compile().unwrap().aws_subject_patterns(),
        vec![
            "space:default:account:aws-prod",
            "space:default:project:web:environment:*"
        ]
    );
    // All projects, untenanted only: `project:*` followed by an absent tenant part would
    // admit tenanted subjects, so projects are listed.
    sel.projects = Selection::All;
    sel.environments = only(&["Environments-1"]);
    let s = scope(sel);
    assert_eq!(
        s.compile().unwrap().aws_subject_patterns(),
        vec![
            "space:default:account:aws-prod",
            "space:default:project:api:environment:dev",
            "space:default:project:web:environment:dev",
        ]
    );
}
