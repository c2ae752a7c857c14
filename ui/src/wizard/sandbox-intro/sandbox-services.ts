// What the built-in Sandbox screen lists: the stand-ins it runs and their endpoints, for the
// flow it is shown in. A setup shows its target's services; "Verify an existing account" shows
// the Octopus Server with the accounts to verify and the clouds an OIDC account can point at
// (AWS, Azure, Google Cloud: the account's own once it is picked) — never GitHub's issuer,
// which no Octopus account trusts.

import type { SandboxSummary } from '../../ipc/client';
import type { Target } from '../flow';

/** Which flow the Sandbox screen is a step of. */
export type SandboxPurpose = 'setup' | 'verify-account';

/** One listening service. */
export interface SandboxEndpoint {
  readonly id: string;
  readonly label: string;
  readonly url: string;
}

type Cloud = 'azure' | 'aws' | 'gcp';
const CLOUDS: readonly Cloud[] = ['aws', 'azure', 'gcp'];

const CLOUD_STAND_INS: Record<Cloud, readonly string[]> = {
  azure: ['Entra ID and Microsoft Graph (app registrations)', 'Azure Resource Manager (role assignments)'],
  aws: ['AWS IAM (OIDC providers, roles)', 'AWS STS (AssumeRoleWithWebIdentity)'],
  gcp: ['Google IAM (workload identity pools, service accounts)', 'Google STS and IAM Credentials (token exchange)'],
};

/** The clouds shown: the target's, or for an account not picked yet every cloud an OIDC
 *  account can point at; none for GitHub Actions. */
function clouds(target: Target | null, purpose: SandboxPurpose): readonly Cloud[] {
  if (target === null || target === 'github') return purpose === 'verify-account' ? CLOUDS : [];
  return [target];
}

/** The stand-ins the Sandbox runs for this flow. */
export function sandboxStandIns(target: Target | null, purpose: SandboxPurpose): string[] {
  if (purpose === 'setup' && target === 'github')
    return ['Octopus Server (service accounts, OIDC identities)', 'A GitHub Actions token issuer'];
  const octopus =
    purpose === 'verify-account'
      ? 'Octopus Server (OIDC issuer, the OIDC accounts to verify, their account test)'
      : 'Octopus Server (OIDC issuer, accounts)';
  return [octopus, ...clouds(target, purpose).flatMap((cloud) => CLOUD_STAND_INS[cloud])];
}

/** The running Sandbox's endpoints this flow uses (services not running are left out). */
export function sandboxEndpoints(target: Target | null, purpose: SandboxPurpose, running: SandboxSummary): SandboxEndpoint[] {
  const cloudEndpoints: Record<Cloud, { id: string; label: string; url: string | null }[]> = {
    azure: [
      { id: 'entra', label: 'Entra ID authority', url: running.azureAuthority },
      { id: 'graph', label: 'Microsoft Graph', url: running.graphUrl },
      { id: 'arm', label: 'Azure Resource Manager', url: running.armUrl },
    ],
    aws: [{ id: 'aws', label: 'AWS IAM and STS', url: running.awsEndpointUrl }],
    gcp: [{ id: 'gcp', label: `Google Cloud APIs (project ${running.gcpProjectId ?? '?'})`, url: running.gcpUrl }],
  };
  const github =
    purpose === 'setup' && target === 'github'
      ? [{ id: 'github', label: 'GitHub Actions token issuer', url: running.githubIssuer }]
      : [];
  return [
    { id: 'octopus', label: 'Octopus Server', url: running.octopusUrl },
    { id: 'issuer', label: 'Octopus OIDC issuer', url: running.octopusIssuer },
    ...clouds(target, purpose).flatMap((cloud) => cloudEndpoints[cloud]),
    ...github,
  ].filter((endpoint): endpoint is SandboxEndpoint => endpoint.url !== null);
}
