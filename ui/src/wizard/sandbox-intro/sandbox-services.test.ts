// Unit tests of what the Sandbox screen lists per flow.
import { describe, expect, it } from 'vitest';
import type { SandboxSummary } from '../../ipc/client';
import { sandboxEndpoints, sandboxStandIns } from './sandbox-services';

const RUNNING: SandboxSummary = {
  profile: 'demo',
  octopusUrl: 'http://127.0.0.1:1',
  octopusIssuer: 'https://octopus.sandbox.localhost',
  githubIssuer: 'https://127.0.0.1:2',
  azureAuthority: 'https://127.0.0.1:3',
  graphUrl: 'https://127.0.0.1:4',
  armUrl: 'https://127.0.0.1:5',
  awsEndpointUrl: 'http://127.0.0.1:6',
  gcpUrl: 'https://127.0.0.1:7',
  gcpProjectId: 'octopus-sandbox',
};

describe('the Sandbox screen of "Verify an existing account"', () => {
  it('before an account is picked lists the Octopus accounts and every cloud, no GitHub stand-in', () => {
    const listed = sandboxStandIns(null, 'verify-account');
    expect(listed[0]).toMatch(/OIDC accounts to verify/);
    expect(listed.join('\n')).toMatch(/AWS IAM/);
    expect(listed.join('\n')).toMatch(/Entra ID/);
    expect(listed.join('\n')).toMatch(/Google IAM/);
    expect(listed.join('\n')).not.toMatch(/GitHub/);
    const ids = sandboxEndpoints(null, 'verify-account', RUNNING).map((e) => e.id);
    expect(ids).toEqual(['octopus', 'issuer', 'aws', 'entra', 'graph', 'arm', 'gcp']);
  });

  it('with an account picked lists its cloud only', () => {
    expect(sandboxStandIns('aws', 'verify-account')).toEqual([
      'Octopus Server (OIDC issuer, the OIDC accounts to verify, their account test)',
      'AWS IAM (OIDC providers, roles)',
      'AWS STS (AssumeRoleWithWebIdentity)',
    ]);
    expect(sandboxEndpoints('gcp', 'verify-account', RUNNING).map((e) => e.id)).toEqual(['octopus', 'issuer', 'gcp']);
  });
});

describe('the Sandbox screen of a setup', () => {
  it('lists its target’s services', () => {
    expect(sandboxStandIns('github', 'setup')).toEqual([
      'Octopus Server (service accounts, OIDC identities)',
      'A GitHub Actions token issuer',
    ]);
    expect(sandboxEndpoints('github', 'setup', RUNNING).map((e) => e.id)).toEqual(['octopus', 'issuer', 'github']);
    expect(sandboxStandIns('azure', 'setup')).toHaveLength(3);
    expect(sandboxEndpoints('azure', 'setup', RUNNING).map((e) => e.id)).toEqual(['octopus', 'issuer', 'entra', 'graph', 'arm']);
  });

  it('leaves out a service that is not running', () => {
    expect(sandboxEndpoints('aws', 'setup', { ...RUNNING, awsEndpointUrl: null }).map((e) => e.id)).toEqual(['octopus', 'issuer']);
  });
});
