use octo_oidc_core::ErrorCode;
use octo_oidc_core::ports::{Applied, AzureRbac, RoleAssignment};
use octo_oidc_testkit::FakeAzureRbac;

use crate::code;

const SCOPE: &str = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-shop";

#[tokio::test]
async fn role_assignments_are_found_ensured_once_and_deleted_idempotently() {
    let rbac = FakeAzureRbac::new();
    let role = rbac.role_definition_id(SCOPE, "contributor").await.unwrap();
    assert_eq!(
        role,
        "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
    );
    assert_eq!(
        code(rbac.role_definition_id(SCOPE, "Wizard").await),
        ErrorCode::NotFound
    );
    let assignment = RoleAssignment {
        scope: SCOPE.into(),
        role_definition_id: role.clone(),
        principal_id: "sp-1".into(),
        name: "aaaaaaaa-0000-5000-8000-000000000001".into(),
    };
    assert_eq!(
        rbac.find_role_assignment(SCOPE, &assignment.name)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        rbac.ensure_role_assignment(&assignment).await.unwrap(),
        Applied::Created(assignment.clone())
    );
    assert!(
        !rbac
            .ensure_role_assignment(&assignment)
            .await
            .unwrap()
            .changed()
    );
    assert_eq!(
        rbac.find_role_assignment(&format!("{SCOPE}/"), &assignment.name)
            .await
            .unwrap(),
        Some(assignment.clone())
    );
    // The same grant under another name exists already (ARM's RoleAssignmentExists).
    let renamed = RoleAssignment {
        name: "bbbb".into(),
        ..assignment.clone()
    };
    assert_eq!(
        rbac.ensure_role_assignment(&renamed).await.unwrap(),
        Applied::Unchanged(assignment.clone())
    );
    // Our name for another principal is a conflict.
    let other = RoleAssignment {
        principal_id: "sp-2".into(),
        ..assignment.clone()
    };
    assert_eq!(
        code(rbac.ensure_role_assignment(&other).await),
        ErrorCode::Conflict
    );
    rbac.delete_role_assignment(&assignment).await.unwrap();
    rbac.delete_role_assignment(&assignment).await.unwrap();
    assert!(rbac.assignments().is_empty());
    assert_eq!(rbac.log().changes().len(), 2);
}
