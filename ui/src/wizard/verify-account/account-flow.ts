// "Verify an existing account" (QA's flow from Welcome) as a pure state machine: Welcome →
// Connect Octopus (or start the Sandbox) → pick the space and an OIDC account → Verify. No DOM,
// no IPC; `account-flow.test.ts` covers it. The Connect and Verify screens of the setup flow
// are reused: `asWizard` is the `WizardState` they read, and `fromWizard` turns the actions they
// dispatch (their `block`s) into this flow's.

import type { AwsAccount, AzureConnection } from '../../ipc/client';
import { INITIAL_STATE, type Mode, type Target, type WizardAction, type WizardState } from '../flow';

/** The four screens, in order (Welcome is left when the flow starts). */
export const ACCOUNT_SCREENS = ['welcome', 'connect-octopus', 'pick-account', 'verify'] as const;

export type AccountScreen = (typeof ACCOUNT_SCREENS)[number];

/** The account to verify, as picked. */
export interface PickedAccount {
  /** The space's id. */
  readonly space: string;
  /** `Accounts-N`. */
  readonly id: string;
  readonly name: string;
  /** `AccountType`. */
  readonly accountType: string;
  /** `AWS OIDC`, `Azure OIDC`, `Google Cloud OIDC`. */
  readonly typeLabel: string;
  /** Google Cloud: the service account the account's steps impersonate. */
  readonly gcpServiceAccount: string;
  /** AWS: the shared-config profile to sign in with; empty = the connection made on the
   *  screen (typed keys), else the exported keys. */
  readonly awsProfile: string;
  /** The cloud sign-in made on the screen, as the app layer reported it (null: none): shown
   *  again when coming back, and a new one is verified afresh (verify reads the cloud as that
   *  identity). */
  readonly azureSignIn: AzureConnection | null;
  readonly awsSignIn: AwsAccount | null;
}

export interface AccountFlowState {
  readonly screen: AccountScreen;
  readonly mode: Mode;
  readonly reached: AccountScreen;
  readonly blocks: Readonly<Record<AccountScreen, string | null>>;
  readonly account: PickedAccount | null;
}

export type AccountFlowAction =
  | { readonly type: 'continue' }
  | { readonly type: 'back' }
  | { readonly type: 'go-to'; readonly screen: AccountScreen }
  | { readonly type: 'block'; readonly screen: AccountScreen; readonly reason: string | null }
  | { readonly type: 'pick'; readonly account: PickedAccount | null };

export const ACCOUNT_BLOCKS: Readonly<Record<AccountScreen, string | null>> = {
  welcome: null,
  'connect-octopus': 'Connect to Octopus to continue.',
  'pick-account': 'Pick an OIDC account to continue.',
  verify: 'This is the last step.',
};

/** The flow as "Verify an existing account" starts it from Welcome. */
export function startAccountFlow(mode: Mode): AccountFlowState {
  return { screen: 'connect-octopus', mode, reached: 'connect-octopus', blocks: ACCOUNT_BLOCKS, account: null };
}

function indexOf(screen: AccountScreen): number {
  return ACCOUNT_SCREENS.indexOf(screen);
}

/** The setup target an account type verifies against, or null for a type verify cannot check. */
export function accountTarget(accountType: string): Target | null {
  switch (accountType) {
    case 'AmazonWebServicesOidcAccount':
      return 'aws';
    case 'AzureOidc':
      return 'azure';
    case 'GoogleCloudOidcAccount':
      return 'gcp';
    default:
      return null;
  }
}

/** Why the picked account cannot be verified yet (null: it can). */
export function pickReason(account: PickedAccount | null): string | null {
  if (account === null) return ACCOUNT_BLOCKS['pick-account'];
  if (accountTarget(account.accountType) === 'gcp' && !account.gcpServiceAccount.includes('@'))
    return 'Give the service account its steps impersonate (Octopus keeps it on the step, not on the account).';
  return null;
}

/** Every screen after `screen` incomplete again. */
function resetAfter(blocks: Readonly<Record<AccountScreen, string | null>>, screen: AccountScreen): Record<AccountScreen, string | null> {
  const next: Record<AccountScreen, string | null> = { ...blocks };
  for (const later of ACCOUNT_SCREENS.slice(indexOf(screen) + 1)) next[later] = ACCOUNT_BLOCKS[later];
  return next;
}

/** The next state; `null` = Back from the first screen: the flow ends and Welcome shows again. */
export function reduceAccount(state: AccountFlowState, action: AccountFlowAction): AccountFlowState | null {
  switch (action.type) {
    case 'continue': {
      const next = ACCOUNT_SCREENS[indexOf(state.screen) + 1];
      if (state.blocks[state.screen] !== null || next === undefined) return state;
      return { ...state, screen: next, reached: indexOf(next) > indexOf(state.reached) ? next : state.reached };
    }
    case 'back': {
      if (state.screen === 'connect-octopus') return null;
      return { ...state, screen: ACCOUNT_SCREENS[indexOf(state.screen) - 1] ?? state.screen };
    }
    case 'go-to': {
      if (action.screen === 'welcome') return null;
      if (!isReachable(state, action.screen)) return state;
      return { ...state, screen: action.screen };
    }
    case 'block': {
      if (state.blocks[action.screen] === action.reason) return state;
      const blocks = action.reason === null ? { ...state.blocks } : resetAfter(state.blocks, action.screen);
      blocks[action.screen] = action.reason;
      const reached = action.reason !== null && indexOf(state.reached) > indexOf(action.screen) ? action.screen : state.reached;
      return { ...state, blocks, reached };
    }
    case 'pick': {
      const blocks = resetAfter(state.blocks, 'pick-account');
      blocks['pick-account'] = pickReason(action.account);
      return { ...state, account: action.account, blocks, reached: state.screen === 'pick-account' ? 'pick-account' : state.reached };
    }
  }
}

/** Whether the step list may jump to `screen`. */
export function isReachable(state: AccountFlowState, screen: AccountScreen): boolean {
  if (indexOf(screen) > indexOf(state.reached)) return false;
  return ACCOUNT_SCREENS.slice(0, indexOf(screen)).every((before) => state.blocks[before] === null);
}

export interface AccountStep {
  readonly screen: AccountScreen;
  readonly label: string;
  readonly status: 'done' | 'current' | 'upcoming';
  readonly reachable: boolean;
}

/** The step list at the side. */
export function accountSteps(state: AccountFlowState): AccountStep[] {
  const labels: Record<AccountScreen, string> = {
    welcome: 'Welcome',
    'connect-octopus': state.mode === 'sandbox' ? 'Start the Sandbox' : 'Connect Octopus',
    'pick-account': 'Pick the account',
    verify: 'Verify',
  };
  const current = indexOf(state.screen);
  return ACCOUNT_SCREENS.map((screen, index) => ({
    screen,
    label: labels[screen],
    status: index === current ? 'current' : index < current || state.blocks[screen] === null ? 'done' : 'upcoming',
    reachable: screen === 'welcome' || isReachable(state, screen),
  }));
}

/** Why Continue is disabled now (null: it may continue). */
export function accountBlockedReason(state: AccountFlowState): string | null {
  return state.blocks[state.screen];
}

/** Whether Continue moves on. */
export function accountCanContinue(state: AccountFlowState): boolean {
  return accountBlockedReason(state) === null && state.screen !== 'verify';
}

/** The setup flow's state the reused Connect and Verify screens read. */
export function asWizard(state: AccountFlowState): WizardState {
  const target = state.account === null ? null : accountTarget(state.account.accountType);
  return { ...INITIAL_STATE, mode: state.mode, target, screen: state.screen === 'verify' ? 'verify' : 'connect-octopus' };
}

/** A reused screen's action as this flow's: Connect's `block` counts; Verify is the last
 *  screen here, so what it says about its own Continue does not. */
export function fromWizard(action: WizardAction): AccountFlowAction | null {
  if (action.type === 'block' && action.screen === 'connect-octopus')
    return { type: 'block', screen: 'connect-octopus', reason: action.reason };
  return null;
}
