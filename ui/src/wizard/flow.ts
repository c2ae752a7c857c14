// The wizard's flow as a pure state machine: which of the nine screens is shown, what has been
// chosen, which screens are reachable, and why Next is disabled. No DOM, no IPC: screens
// dispatch actions (including `block`, the reason their own Next is disabled, or null once
// they are complete) and render the state; `flow.test.ts` covers every transition.
//
// Going back keeps everything (the setup being filled in lives beside this state, in
// App.svelte, and is never reset by navigation); changing what is set up, or where, makes the
// screens after the choice incomplete again.

/** What the user sets up trust for. */
export type Target = 'azure' | 'aws' | 'github' | 'gcp';

/** Real Octopus and cloud accounts, or the built-in local Sandbox. */
export type Mode = 'real' | 'sandbox';

/** The nine screens, in order. */
export const SCREENS = [
  'welcome',
  'connect-octopus',
  'connect-cloud',
  'scope',
  'trust-preview',
  'review-plan',
  'apply',
  'verify',
  'done',
] as const;

export type Screen = (typeof SCREENS)[number];

/** Why a screen's Next is disabled (`null`: it may continue). */
export type Blocks = Readonly<Record<Screen, string | null>>;

export interface WizardState {
  readonly screen: Screen;
  readonly target: Target | null;
  readonly mode: Mode;
  /** The furthest screen reached (the step list lets the user jump back to any up to it). */
  readonly reached: Screen;
  readonly blocks: Blocks;
  /** Long work (apply, teardown) is running: navigation waits for it. */
  readonly busy: boolean;
}

export type WizardAction =
  | { readonly type: 'choose-target'; readonly target: Target }
  | { readonly type: 'choose-mode'; readonly mode: Mode }
  | { readonly type: 'continue' }
  | { readonly type: 'back' }
  | { readonly type: 'go-to'; readonly screen: Screen }
  | { readonly type: 'block'; readonly screen: Screen; readonly reason: string | null }
  | { readonly type: 'busy'; readonly busy: boolean }
  | { readonly type: 'open-setup'; readonly target: Target; readonly screen: OpenScreen }
  | { readonly type: 'start-over' };

/** Where a saved setup file opens: its plan (to repeat it), its verify, or Done (teardown). */
export type OpenScreen = 'review-plan' | 'verify' | 'done';

export interface TargetOption {
  readonly id: Target;
  readonly title: string;
  readonly direction: string;
  readonly summary: string;
}

/** The four things the wizard sets up, in the order the first screen shows them. */
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
  {
    id: 'gcp',
    title: 'Google Cloud',
    direction: 'Octopus → Google Cloud',
    summary:
      'Octopus impersonates a service account with no JSON key: a workload identity pool and provider trust tokens issued by your Octopus Server.',
  },
];

/** Why each screen starts out unable to continue. */
export const INITIAL_BLOCKS: Blocks = {
  welcome: 'Choose what to set up to continue.',
  'connect-octopus': 'Connect to Octopus to continue.',
  'connect-cloud': 'Fill in the settings to continue.',
  scope: 'Choose what may use the trust to continue.',
  'trust-preview': 'Waiting for the trust preview.',
  'review-plan': 'Waiting for the plan.',
  apply: 'Apply the plan to continue.',
  verify: 'Waiting for verify.',
  done: 'This is the last step.',
};

export const INITIAL_STATE: WizardState = {
  screen: 'welcome',
  target: null,
  mode: 'real',
  reached: 'welcome',
  blocks: INITIAL_BLOCKS,
  busy: false,
};

/** The position of a screen in the flow. */
export function indexOf(screen: Screen): number {
  return SCREENS.indexOf(screen);
}

/** Why Next is disabled on the current screen, or null when it may continue. */
export function blockedReason(state: WizardState): string | null {
  return state.blocks[state.screen];
}

/** Whether the current screen has what it needs to move on. */
export function canContinue(state: WizardState): boolean {
  return blockedReason(state) === null && indexOf(state.screen) < SCREENS.length - 1;
}

/** Every screen from `from` on is incomplete again (their own reasons come back). */
function resetFrom(blocks: Blocks, from: Screen): Blocks {
  const start = indexOf(from);
  const next: Record<Screen, string | null> = { ...blocks };
  for (const screen of SCREENS.slice(start)) next[screen] = INITIAL_BLOCKS[screen];
  return next;
}

function earlier(a: Screen, b: Screen): Screen {
  return indexOf(a) <= indexOf(b) ? a : b;
}

/** The next state after an action; actions that do not apply leave the state unchanged. */
export function reduce(state: WizardState, action: WizardAction): WizardState {
  if (state.busy && action.type !== 'busy' && action.type !== 'block') return state;
  switch (action.type) {
    case 'busy':
      return state.busy === action.busy ? state : { ...state, busy: action.busy };
    case 'open-setup': {
      if (state.screen !== 'welcome') return state;
      // Everything before the chosen screen came from the file: complete.
      const blocks: Record<Screen, string | null> = { ...INITIAL_BLOCKS };
      for (const screen of SCREENS.slice(0, indexOf(action.screen))) blocks[screen] = null;
      return { ...state, target: action.target, screen: action.screen, reached: action.screen, blocks };
    }
    case 'start-over':
      return { ...INITIAL_STATE, mode: state.mode };
    case 'choose-target': {
      if (state.screen !== 'welcome' || state.target === action.target) return state;
      const blocks = resetFrom({ ...state.blocks, welcome: null }, 'connect-cloud');
      return { ...state, target: action.target, blocks, reached: earlier(state.reached, 'connect-octopus') };
    }
    case 'choose-mode': {
      if (state.screen !== 'welcome' || state.mode === action.mode) return state;
      const blocks = resetFrom(state.blocks, 'connect-octopus');
      return { ...state, mode: action.mode, blocks, reached: 'welcome' };
    }
    case 'continue': {
      if (!canContinue(state)) return state;
      const screen = SCREENS[indexOf(state.screen) + 1] ?? state.screen;
      const reached = indexOf(screen) > indexOf(state.reached) ? screen : state.reached;
      return { ...state, screen, reached };
    }
    case 'back': {
      const index = indexOf(state.screen);
      return index === 0 ? state : { ...state, screen: SCREENS[index - 1] ?? state.screen };
    }
    case 'go-to': {
      if (!isReachable(state, action.screen) || action.screen === state.screen) return state;
      return { ...state, screen: action.screen };
    }
    case 'block': {
      if (state.blocks[action.screen] === action.reason) return state;
      let blocks: Blocks = { ...state.blocks, [action.screen]: action.reason };
      let reached = state.reached;
      // A screen that became incomplete makes the later ones incomplete too.
      if (action.reason !== null) {
        const next = SCREENS[indexOf(action.screen) + 1];
        if (next !== undefined) {
          blocks = { ...resetFrom(blocks, next), [action.screen]: action.reason };
          reached = earlier(reached, next);
        }
      }
      return { ...state, blocks, reached };
    }
  }
}

/** Whether the step list may jump to `screen`: any screen up to the furthest reached whose
 *  predecessors are all complete. */
export function isReachable(state: WizardState, screen: Screen): boolean {
  const target = indexOf(screen);
  if (target > indexOf(state.reached)) return false;
  return SCREENS.slice(0, target).every((before) => state.blocks[before] === null);
}

export interface Step {
  readonly screen: Screen;
  readonly label: string;
  readonly status: 'done' | 'current' | 'upcoming';
  readonly reachable: boolean;
}

function cloudStepLabel(target: Target | null): string {
  switch (target) {
    case 'azure':
      return 'Connect Azure';
    case 'aws':
      return 'Connect AWS';
    case 'github':
      return 'Repository & service account';
    case 'gcp':
      return 'Connect Google Cloud';
    case null:
      return 'Connect the cloud';
  }
}

/** The label of each screen in the step list. */
export function stepLabel(screen: Screen, state: Pick<WizardState, 'target' | 'mode'>): string {
  switch (screen) {
    case 'welcome':
      return 'Welcome';
    case 'connect-octopus':
      return state.mode === 'sandbox' ? 'Start the Sandbox' : 'Connect Octopus';
    case 'connect-cloud':
      return cloudStepLabel(state.target);
    case 'scope':
      return state.target === 'github' ? 'Space' : 'Scope';
    case 'trust-preview':
      return 'Trust preview';
    case 'review-plan':
      return 'Review the plan';
    case 'apply':
      return 'Apply';
    case 'verify':
      return 'Verify';
    case 'done':
      return 'Done';
  }
}

/** The nine steps for the current choices, for the step list at the side. */
export function steps(state: WizardState): Step[] {
  const current = indexOf(state.screen);
  return SCREENS.map((screen, index) => ({
    screen,
    label: stepLabel(screen, state),
    status: index === current ? 'current' : index < current || (index <= indexOf(state.reached) && state.blocks[screen] === null) ? 'done' : 'upcoming',
    reachable: isReachable(state, screen),
  }));
}

/** The option for a target (every `Target` has exactly one). */
export function targetOption(target: Target): TargetOption {
  const option = TARGETS.find((candidate) => candidate.id === target);
  if (option === undefined) throw new Error(`unknown target ${target}`);
  return option;
}
