// What each resource kind of the engine is called on screen (the plan, apply, done).
export const KIND_LABELS: Readonly<Record<string, string>> = {
  oidc_provider: 'IAM OIDC provider',
  iam_role: 'IAM role',
  app_registration: 'App registration',
  service_principal: 'Service principal',
  federated_credential: 'Federated credential',
  role_assignment: 'Role assignment',
  octopus_account: 'Octopus account',
  service_account: 'Service account',
  oidc_identity: 'OIDC identity',
  team_membership: 'Team membership',
  workload_identity_pool: 'Workload identity pool',
  workload_identity_provider: 'Workload identity provider',
  gcp_service_account: 'Google service account',
  workload_identity_binding: 'Workload Identity User binding',
  project_role_binding: 'Project role binding',
};

/** A kind's label, or the kind itself. */
export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}
