// The setup being filled in (the generated `SetupDraft`), its starting values per target, and
// which form fields each screen shows — so a screen shows, and is blocked by, exactly its own
// field errors from the app layer. Pure; no rule of its own (the app layer validates).
import { FORM_FIELDS, type FieldError, type FormField, type SetupDraft, type UiError } from '../ipc/client';
import type { Target } from './flow';

const ACCOUNT_NAMES: Readonly<Record<Target, string>> = {
  aws: 'AWS (OIDC)',
  azure: 'Azure (OIDC)',
  github: '',
  gcp: 'Google Cloud (OIDC)',
};

/** A fresh draft for a target, with the names a first-time user can keep. */
export function initialDraft(target: Target): SetupDraft {
  return {
    name: `octopus-${target}`,
    target,
    space: '',
    accountName: ACCOUNT_NAMES[target],
    scope: { projects: [], environments: [], tenants: [], runbooks: [], healthCheckTargets: [] },
    subjectKeys: { deployment: null, healthCheck: null, accountTest: null },
    aws: { roleName: 'octopus-deploy', region: 'us-east-1', sessionDuration: 3600, managedPolicies: [], profile: '' },
    azure: { tenantId: '', subscriptionId: '', resourceGroup: '', role: 'Contributor', credentialStrategy: null },
    github: { repository: '', filter: 'branch:main', serviceAccount: 'github-actions', team: '', issuer: '', subject: '', ci: '' },
    gcp: { project: '', pool: '', provider: '', serviceAccount: '', roles: [], tokenLifetime: 3600, credentialsFile: '' },
  };
}

const F = FORM_FIELDS;

/** The fields the "Connect the cloud" screen shows, per target. */
export function cloudFields(target: Target): readonly FormField[] {
  switch (target) {
    case 'aws':
      return [F.name, F.accountName, F.awsRoleName, F.awsRegion, F.awsSessionDuration, F.awsManagedPolicies, F.awsProfile];
    case 'azure':
      return [F.name, F.accountName, F.azureTenantId, F.azureSubscriptionId, F.azureResourceGroup, F.azureRole];
    case 'github':
      return [F.name, F.githubIssuer, F.githubRepository, F.githubFilter, F.githubSubject, F.githubServiceAccount, F.githubTeam, F.githubCi];
    case 'gcp':
      return [
        F.name,
        F.accountName,
        F.gcpProject,
        F.gcpPool,
        F.gcpProvider,
        F.gcpServiceAccount,
        F.gcpRoles,
        F.gcpTokenLifetime,
        F.gcpCredentialsFile,
      ];
  }
}

/** The fields the Scope screen shows. */
export const SCOPE_FIELDS: readonly FormField[] = [
  F.octopusSpace,
  F.scopeProjects,
  F.scopeEnvironments,
  F.scopeTenants,
  F.scopeRunbooks,
  F.scopeHealthCheckTargets,
  F.subjectKeysDeployment,
  F.subjectKeysHealthCheck,
  F.subjectKeysAccountTest,
];

/** The field errors of `error` that belong to `fields`. */
export function errorsOn(error: UiError | null, fields: readonly FormField[]): FieldError[] {
  if (error === null) return [];
  const shown: readonly string[] = fields;
  return error.fieldErrors.filter((fieldError) => shown.includes(fieldError.field));
}

/** Why a screen with these field errors cannot continue (the first one, in the core's words). */
export function reasonFrom(errors: readonly FieldError[], labels: Partial<Record<FormField, string>>): string | null {
  const first = errors[0];
  if (first === undefined) return null;
  const label = labels[first.field as FormField] ?? first.field;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `${label}: ${first.problem}${more}`;
}

/** A GitHub filter split into its kind and value (`branch:main` → branch, main). */
export type FilterKind = 'branch' | 'tag' | 'environment' | 'pull_request' | 'subject';

export function splitFilter(filter: string): { kind: FilterKind; value: string } {
  if (filter === 'pull_request') return { kind: 'pull_request', value: '' };
  const colon = filter.indexOf(':');
  const kind = filter.slice(0, colon);
  const value = colon < 0 ? '' : filter.slice(colon + 1);
  if (kind === 'branch' || kind === 'tag' || kind === 'environment' || kind === 'subject') return { kind, value };
  return { kind: 'branch', value: filter };
}

export function joinFilter(kind: FilterKind, value: string): string {
  return kind === 'pull_request' ? 'pull_request' : `${kind}:${value}`;
}

/** Where CI tokens come from: GitHub.com, GitHub Enterprise Server, another issuer, or (in
 *  Sandbox mode) the Sandbox's own GitHub Actions-style issuer. */
export type CiIssuerKind = 'sandbox' | 'github' | 'ghes' | 'gitlab' | 'buildkite' | 'teamcity' | 'custom';

export interface CiIssuerChoice {
  readonly kind: CiIssuerKind;
  readonly label: string;
  /** The setup file's `ci` (which snippet); empty: inferred from the issuer. */
  readonly ci: string;
  /** The fixed issuer, or null when the user types it (a host or a URL). */
  readonly issuer: string | null;
}

/** The issuers the setup file allows, in the order the screen offers them. */
export const CI_ISSUERS: readonly CiIssuerChoice[] = [
  { kind: 'github', label: 'GitHub Actions on GitHub.com', ci: '', issuer: '' },
  { kind: 'ghes', label: 'GitHub Actions on GitHub Enterprise Server', ci: 'github', issuer: null },
  { kind: 'gitlab', label: 'GitLab.com CI/CD', ci: 'gitlab', issuer: 'https://gitlab.com' },
  { kind: 'buildkite', label: 'Buildkite', ci: 'buildkite', issuer: 'https://agent.buildkite.com' },
  { kind: 'teamcity', label: 'TeamCity (OctopusDeploy OIDC plugin)', ci: 'teamcity', issuer: null },
  { kind: 'custom', label: 'Another https issuer', ci: 'other', issuer: null },
];

/** The Sandbox's GitHub Actions-style issuer, offered (and chosen first) in Sandbox mode only:
 *  its URL is the running Sandbox's (`SandboxSummary.githubIssuer`), its runs are GitHub's. */
export const SANDBOX_CI_ISSUER: CiIssuerChoice = {
  kind: 'sandbox',
  label: 'The Sandbox’s GitHub Actions issuer',
  ci: 'github',
  issuer: null,
};

/** The choices the screen offers: the Sandbox's issuer first in Sandbox mode, then the rest. */
export function ciIssuerChoices(sandbox: boolean): readonly CiIssuerChoice[] {
  return sandbox ? [SANDBOX_CI_ISSUER, ...CI_ISSUERS] : CI_ISSUERS;
}

/** The issuer URL a choice stands for: GitHub Enterprise Server's is `https://HOST/_services/token`
 *  (`typed` is the host), TeamCity's, a custom one and the Sandbox's (`typed` is the Sandbox's
 *  issuer) are URLs as given, GitHub.com's is empty (the setup file's default). */
export function issuerUrl(kind: CiIssuerKind, typed: string): string {
  const fixed = CI_ISSUERS.find((choice) => choice.kind === kind)?.issuer ?? null;
  if (fixed !== null) return fixed;
  const value = typed.trim();
  if (kind === 'ghes') return `https://${value.replace(/^https?:\/\//, '').replace(/\/+$/, '')}/_services/token`;
  return value;
}

/** The choice (and GHES host) a saved issuer and `ci` stand for. In Sandbox mode an unset issuer
 *  is the Sandbox's, and so is a GitHub (`ci`) issuer that is neither GitHub.com's nor a GHES one. */
export function ciIssuerFor(issuer: string, ci = '', sandbox = false): { kind: CiIssuerKind; host: string } {
  const value = issuer.trim();
  const ghes = /^https:\/\/([^/]+)\/_services\/token$/.exec(value);
  const githubCom = value === 'https://token.actions.githubusercontent.com';
  if (sandbox && (value === '' || (ci === 'github' && ghes === null && !githubCom))) return { kind: 'sandbox', host: '' };
  if (value === '' || githubCom) return { kind: 'github', host: '' };
  if (ghes !== null) return { kind: 'ghes', host: ghes[1] ?? '' };
  const fixed = CI_ISSUERS.find((choice) => choice.issuer === value);
  if (fixed !== undefined) return { kind: fixed.kind, host: '' };
  return { kind: ci === 'teamcity' ? 'teamcity' : 'custom', host: '' };
}
