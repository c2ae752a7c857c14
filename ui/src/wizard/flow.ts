// The wizard's flow as a pure state machine: which screen is shown, what has been chosen,
// and which steps the step indicator lists. No DOM, no IPC: screens dispatch actions and render
// the state; `flow.test.ts` covers every transition.

/** What the user sets up trust for. */
export type Target = 'azure' | 'aws' | 'github';

/** Real Octopus and cloud accounts, or the built-in local Sandbox. */
export type Mode = 'real' | 'sandbox';

/** The screens that exist in this build. */
export type Screen = 'choose' | 'connect-octopus' | 'sandbox-intro';

export interface WizardState {
  readonly screen: Screen;
  readonly target: Target | null;
  readonly mode: Mode;
}

export type WizardAction =
  | { readonly type: 'choose-target'; readonly target: Target }
  | { readonly type: 'choose-mode'; readonly mode: Mode }
  | { readonly type: 'continue' }
  | { readonly type: 'back' };

export interface TargetOption {
  readonly id: Target;
  readonly title: string;
  readonly direction: string;
  readonly summary: string;
}

/** The three things the wizard sets up, in the order the first screen shows them. */
export const TARGETS: readonly TargetOption[] = [
  {
    id: 'azure',
    title: 'Azure',
    direction: 'Octopus → Azure',
    summary:
      'Octopus deploys to Azure with no client secret: an Entra ID app registration trusts tokens issued by your Octopus Server.',
  },
  {
    id: 'aws',
    title: 'AWS',
    direction: 'Octopus → AWS',
    summary:
      'Octopus assumes an IAM role through STS: an IAM OIDC identity provider for your Octopus Server and a role that trusts it.',
  },
  {
    id: 'github',
    title: 'GitHub Actions',
    direction: 'GitHub Actions → Octopus',
    summary:
      'Workflows sign in to Octopus with an OIDC identity on a service account, instead of an API key stored in GitHub.',
  },
];

export const INITIAL_STATE: WizardState = { screen: 'choose', target: null, mode: 'real' };

/** Whether the current screen has what it needs to move on. */
export function canContinue(state: WizardState): boolean {
  switch (state.screen) {
    case 'choose':
      return state.target !== null;
    case 'connect-octopus':
    case 'sandbox-intro':
      // The following screens are not in this build; these screens end the flow for now.
      return false;
  }
}

/** The next state after an action; actions that do not apply leave the state unchanged. */
export function reduce(state: WizardState, action: WizardAction): WizardState {
  switch (action.type) {
    case 'choose-target':
      return state.screen === 'choose' ? { ...state, target: action.target } : state;
    case 'choose-mode':
      return state.screen === 'choose' ? { ...state, mode: action.mode } : state;
    case 'continue':
      if (!canContinue(state)) return state;
      return { ...state, screen: state.mode === 'real' ? 'connect-octopus' : 'sandbox-intro' };
    case 'back':
      return state.screen === 'choose' ? state : { ...state, screen: 'choose' };
  }
}

export interface Step {
  readonly label: string;
  readonly status: 'done' | 'current' | 'upcoming';
}

function cloudStepLabel(target: Target | null): string {
  switch (target) {
    case 'azure':
      return 'Sign in to Azure';
    case 'aws':
      return 'Connect AWS';
    case 'github':
      return 'Choose repository';
    case null:
      return 'Connect the other side';
  }
}

/** The steps of the whole setup for the current choices, for the step indicator. */
export function steps(state: WizardState): Step[] {
  const labels =
    state.mode === 'real'
      ? ['What to set up', 'Connect Octopus', cloudStepLabel(state.target), 'Review plan', 'Apply & verify']
      : ['What to set up', 'Start the Sandbox', 'Review plan', 'Apply & verify'];
  const current = state.screen === 'choose' ? 0 : 1;
  return labels.map((label, index) => ({
    label,
    status: index < current ? 'done' : index === current ? 'current' : 'upcoming',
  }));
}

/** The option for a target (every `Target` has exactly one). */
export function targetOption(target: Target): TargetOption {
  const option = TARGETS.find((candidate) => candidate.id === target);
  if (option === undefined) throw new Error(`unknown target ${target}`);
  return option;
}
