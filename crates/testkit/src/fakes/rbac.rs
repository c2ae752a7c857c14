//! [`FakeAzureRbac`]: the [`AzureRbac`] port in memory — the built-in role definitions
//! (Owner, Contributor, Reader; more can be added) and role assignments by scope and name,
//! with ARM's rules: the same name for another grant is a conflict, the same grant under
//! another name counts as existing (`RoleAssignmentExists`).

use std::sync::{Arc, Mutex};

use octo_oidc_core::ports::{Applied, AzureRbac, PortResult, RoleAssignment};

use super::{Recorder, conflict, not_found, remove_where};

const OPERATIONS: &[&str] = &[
    "caller_permissions",
    "role_definition_id",
    "find_role_assignment",
    "ensure_role_assignment",
    "delete_role_assignment",
];

#[derive(Debug)]
struct State {
    roles: Vec<(String, String)>,
    assignments: Vec<RoleAssignment>,
    /// What `caller_permissions` answers (None: Owner's `*`).
    caller_permissions: Option<Vec<octo_oidc_core::preflight::RbacPermission>>,
}

super::recorded_fake!(
    /// The Azure RBAC port in memory.
    FakeAzureRbac
);

fn same_scope(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Whether `assignment` is the one named `name` at `scope` (ARM compares both without case).
fn is_named(assignment: &RoleAssignment, scope: &str, name: &str) -> bool {
    assignment.name.eq_ignore_ascii_case(name) && same_scope(&assignment.scope, scope)
}

fn role_guid(role_definition_id: &str) -> String {
    role_definition_id
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn same_grant(a: &RoleAssignment, b: &RoleAssignment) -> bool {
    same_scope(&a.scope, &b.scope)
        && role_guid(&a.role_definition_id) == role_guid(&b.role_definition_id)
        && a.principal_id.eq_ignore_ascii_case(&b.principal_id)
}

impl FakeAzureRbac {
    /// Owner, Contributor and Reader with their real GUIDs; no assignments.
    pub fn new() -> FakeAzureRbac {
        let roles = [
            ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
            ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
            ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        ]
        .map(|(n, g)| (n.to_string(), g.to_string()))
        .to_vec();
        FakeAzureRbac {
            state: Arc::new(Mutex::new(State {
                roles,
                assignments: Vec::new(),
                caller_permissions: None,
            })),
            recorder: Recorder::new("FakeAzureRbac", OPERATIONS),
        }
    }

    /// Adds a (custom) role definition.
    pub fn add_role(&self, role_name: &str, guid: &str) {
        let mut state = self.state.lock().unwrap();
        state.roles.push((role_name.to_string(), guid.to_string()));
    }

    /// Every assignment, in creation order.
    pub fn assignments(&self) -> Vec<RoleAssignment> {
        self.state.lock().unwrap().assignments.clone()
    }
}

impl FakeAzureRbac {
    /// What `caller_permissions` answers at every scope (default: Owner's `*`).
    pub fn set_caller_permissions(
        &self,
        permissions: Vec<octo_oidc_core::preflight::RbacPermission>,
    ) {
        self.state.lock().unwrap().caller_permissions = Some(permissions);
    }
}

impl AzureRbac for FakeAzureRbac {
    async fn caller_permissions(
        &self,
        scope: &str,
    ) -> PortResult<Vec<octo_oidc_core::preflight::RbacPermission>> {
        self.recorder.read("caller_permissions", scope, || {
            let permissions = self.state.lock().unwrap().caller_permissions.clone();
            permissions.unwrap_or_else(|| {
                vec![octo_oidc_core::preflight::RbacPermission {
                    actions: vec!["*".into()],
                    not_actions: Vec::new(),
                }]
            })
        })
    }
    async fn role_definition_id(&self, scope: &str, role_name: &str) -> PortResult<String> {
        self.recorder.call("role_definition_id", role_name, || {
            let subscription: String = scope
                .trim_start_matches('/')
                .split('/')
                .take(2)
                .collect::<Vec<_>>()
                .join("/");
            let state = self.state.lock().unwrap();
            let (_, guid) = state
                .roles
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(role_name))
                .ok_or_else(|| not_found(format!("no role named '{role_name}' at {scope}")))?;
            let id =
                format!("/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}");
            Ok((id, false))
        })
    }

    async fn find_role_assignment(
        &self,
        scope: &str,
        name: &str,
    ) -> PortResult<Option<RoleAssignment>> {
        self.recorder.read("find_role_assignment", name, || {
            let state = self.state.lock().unwrap();
            state
                .assignments
                .iter()
                .find(|a| is_named(a, scope, name))
                .cloned()
        })
    }

    async fn ensure_role_assignment(
        &self,
        assignment: &RoleAssignment,
    ) -> PortResult<Applied<RoleAssignment>> {
        self.recorder
            .call("ensure_role_assignment", &assignment.name, || {
                let mut state = self.state.lock().unwrap();
                let named = state
                    .assignments
                    .iter()
                    .find(|a| is_named(a, &assignment.scope, &assignment.name));
                match named {
                    Some(existing) if same_grant(existing, assignment) => {
                        Ok((Applied::Unchanged(existing.clone()), false))
                    }
                    Some(existing) => Err(conflict(format!(
                        "the role assignment '{}' exists for another principal or role ({} / {})",
                        existing.name, existing.principal_id, existing.role_definition_id
                    ))),
                    None => match state.assignments.iter().find(|a| same_grant(a, assignment)) {
                        Some(same) => Ok((Applied::Unchanged(same.clone()), false)),
                        None => {
                            state.assignments.push(assignment.clone());
                            Ok((Applied::Created(assignment.clone()), true))
                        }
                    },
                }
            })
    }

    async fn delete_role_assignment(&self, assignment: &RoleAssignment) -> PortResult<()> {
        self.recorder
            .call("delete_role_assignment", &assignment.name, || {
                let assignments = &mut self.state.lock().unwrap().assignments;
                let doomed = |a: &RoleAssignment| is_named(a, &assignment.scope, &assignment.name);
                Ok(((), remove_where(assignments, doomed)))
            })
    }
}
