// Unit tests of "Verify an existing account"'s flow state machine.
import { describe, expect, it } from 'vitest';
import {
  accountBlockedReason,
  accountCanContinue,
  accountSteps,
  asWizard,
  fromWizard,
  pickReason,
  reduceAccount,
  startAccountFlow,
  type AccountFlowAction,
  type AccountFlowState,
  type PickedAccount,
} from './account-flow';

const AWS: PickedAccount = {
  space: 'Spaces-1',
  id: 'Accounts-1',
  name: 'AWS prod (OIDC)',
  accountType: 'AmazonWebServicesOidcAccount',
  typeLabel: 'AWS OIDC',
  gcpServiceAccount: '',
  awsProfile: '',
  azureSignIn: null,
  awsSignIn: null,
};
const GCP: PickedAccount = { ...AWS, id: 'Accounts-2', accountType: 'GoogleCloudOidcAccount', typeLabel: 'Google Cloud OIDC' };

function run(state: AccountFlowState, ...actions: AccountFlowAction[]): AccountFlowState | null {
  let current: AccountFlowState | null = state;
  for (const action of actions) {
    if (current === null) return null;
    current = reduceAccount(current, action);
  }
  return current;
}

function must(state: AccountFlowState | null): AccountFlowState {
  if (state === null) throw new Error('the flow ended');
  return state;
}

describe('verify an existing account', () => {
  it('starts on Connect with Welcome done and Continue waiting for the connection', () => {
    const state = startAccountFlow('sandbox');
    expect(state.screen).toBe('connect-octopus');
    expect(accountBlockedReason(state)).toBe('Connect to Octopus to continue.');
    expect(accountCanContinue(state)).toBe(false);
    expect(accountSteps(state).map((s) => [s.label, s.status])).toEqual([
      ['Welcome', 'done'],
      ['Start the Sandbox', 'current'],
      ['Pick the account', 'upcoming'],
      ['Verify', 'upcoming'],
    ]);
    expect(accountSteps(startAccountFlow('real'))[1]?.label).toBe('Connect Octopus');
  });

  it('walks connect → pick → verify, and Back from Connect leaves the flow', () => {
    const start = startAccountFlow('sandbox');
    const connected = must(run(start, { type: 'block', screen: 'connect-octopus', reason: null }, { type: 'continue' }));
    expect(connected.screen).toBe('pick-account');
    expect(accountCanContinue(connected)).toBe(false);
    const picked = must(run(connected, { type: 'pick', account: AWS }));
    expect(accountCanContinue(picked)).toBe(true);
    const verifying = must(run(picked, { type: 'continue' }));
    expect(verifying.screen).toBe('verify');
    expect(accountCanContinue(verifying)).toBe(false);
    expect(asWizard(verifying)).toMatchObject({ screen: 'verify', target: 'aws', mode: 'sandbox' });
    expect(must(run(verifying, { type: 'back' })).screen).toBe('pick-account');
    expect(run(start, { type: 'back' })).toBeNull();
    expect(run(verifying, { type: 'go-to', screen: 'welcome' })).toBeNull();
  });

  it('a Google Cloud account needs the service account its steps impersonate', () => {
    expect(pickReason(GCP)).toMatch(/service account/);
    expect(pickReason({ ...GCP, gcpServiceAccount: 'octo@shop.iam.gserviceaccount.com' })).toBeNull();
    expect(pickReason(null)).toBe('Pick an OIDC account to continue.');
  });

  it('losing the connection or changing the pick makes the later screens incomplete', () => {
    const verifying = must(
      run(
        startAccountFlow('real'),
        { type: 'block', screen: 'connect-octopus', reason: null },
        { type: 'continue' },
        { type: 'pick', account: AWS },
        { type: 'continue' },
      ),
    );
    const lost = must(run(verifying, { type: 'go-to', screen: 'connect-octopus' }, { type: 'block', screen: 'connect-octopus', reason: 'Connect to Octopus to continue.' }));
    expect(lost.blocks['pick-account']).toBe('Pick an OIDC account to continue.');
    expect(lost.reached).toBe('connect-octopus');
    expect(must(run(lost, { type: 'go-to', screen: 'verify' })).screen).toBe('connect-octopus');
    const unpicked = must(run(verifying, { type: 'back' }, { type: 'pick', account: null }));
    expect(accountCanContinue(unpicked)).toBe(false);
  });

  it('takes only Connect\'s blocks from the reused screens', () => {
    expect(fromWizard({ type: 'block', screen: 'connect-octopus', reason: null })).toEqual({ type: 'block', screen: 'connect-octopus', reason: null });
    expect(fromWizard({ type: 'block', screen: 'verify', reason: 'Verify is running.' })).toBeNull();
    expect(fromWizard({ type: 'continue' })).toBeNull();
  });
});
