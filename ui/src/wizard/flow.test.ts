// Unit tests of the wizard's flow state machine.
import { describe, expect, it } from 'vitest';
import {
  INITIAL_STATE,
  SCREENS,
  TARGETS,
  blockedReason,
  canContinue,
  isReachable,
  reduce,
  steps,
  targetOption,
  type WizardAction,
  type WizardState,
} from './flow';

function run(state: WizardState, ...actions: WizardAction[]): WizardState {
  return actions.reduce(reduce, state);
}

/** AWS in the Sandbox, walked to the trust preview with every screen complete. */
function toTrustPreview(): WizardState {
  return run(
    INITIAL_STATE,
    { type: 'choose-mode', mode: 'sandbox' },
    { type: 'choose-target', target: 'aws' },
    { type: 'continue' },
    { type: 'block', screen: 'connect-octopus', reason: null },
    { type: 'continue' },
    { type: 'block', screen: 'connect-cloud', reason: null },
    { type: 'continue' },
    { type: 'block', screen: 'scope', reason: null },
    { type: 'continue' },
  );
}

describe('the welcome screen', () => {
  it('starts on welcome with nothing chosen, real mode, and the reason Next is disabled', () => {
    expect(INITIAL_STATE.screen).toBe('welcome');
    expect(INITIAL_STATE.target).toBeNull();
    expect(INITIAL_STATE.mode).toBe('real');
    expect(canContinue(INITIAL_STATE)).toBe(false);
    expect(blockedReason(INITIAL_STATE)).toMatch(/Choose what to set up/);
  });

  it('offers exactly Azure, AWS, GitHub Actions and Google Cloud', () => {
    expect(TARGETS.map((t) => t.title)).toEqual(['Azure', 'AWS', 'GitHub Actions', 'Google Cloud']);
    expect(targetOption('gcp').direction).toBe('Octopus → Google Cloud');
    expect(targetOption('github').direction).toBe('GitHub Actions → Octopus');
  });

  it('does not continue before a target is chosen', () => {
    expect(reduce(INITIAL_STATE, { type: 'continue' })).toBe(INITIAL_STATE);
  });

  it('continues to Connect Octopus once a target is chosen', () => {
    const chosen = reduce(INITIAL_STATE, { type: 'choose-target', target: 'aws' });
    expect(canContinue(chosen)).toBe(true);
    const next = reduce(chosen, { type: 'continue' });
    expect(next.screen).toBe('connect-octopus');
    expect(next.reached).toBe('connect-octopus');
  });

  it('ignores choices made off the welcome screen', () => {
    const connect = run(INITIAL_STATE, { type: 'choose-target', target: 'aws' }, { type: 'continue' });
    expect(reduce(connect, { type: 'choose-target', target: 'azure' })).toBe(connect);
    expect(reduce(connect, { type: 'choose-mode', mode: 'sandbox' })).toBe(connect);
  });
});

describe('moving through the nine screens', () => {
  it('has the nine screens in order', () => {
    expect(SCREENS).toEqual([
      'welcome',
      'connect-octopus',
      'connect-cloud',
      'scope',
      'trust-preview',
      'review-plan',
      'apply',
      'verify',
      'done',
    ]);
  });

  it('keeps Next disabled with the screen’s reason until the screen says it is complete', () => {
    const connect = run(INITIAL_STATE, { type: 'choose-target', target: 'azure' }, { type: 'continue' });
    expect(blockedReason(connect)).toMatch(/Connect to Octopus/);
    expect(reduce(connect, { type: 'continue' })).toBe(connect);
    const typed = reduce(connect, { type: 'block', screen: 'connect-octopus', reason: 'The API key is missing.' });
    expect(blockedReason(typed)).toBe('The API key is missing.');
    const ok = reduce(typed, { type: 'block', screen: 'connect-octopus', reason: null });
    expect(reduce(ok, { type: 'continue' }).screen).toBe('connect-cloud');
  });

  it('walks to the trust preview and on to the plan review, which waits for the engine\'s plan', () => {
    const preview = toTrustPreview();
    expect(preview.screen).toBe('trust-preview');
    const review = run(preview, { type: 'block', screen: 'trust-preview', reason: null }, { type: 'continue' });
    expect(review.screen).toBe('review-plan');
    expect(canContinue(review)).toBe(false);
    expect(blockedReason(review)).toMatch(/Waiting for the plan/);
  });

  it('goes back one screen at a time and keeps what was complete', () => {
    const preview = toTrustPreview();
    const scope = reduce(preview, { type: 'back' });
    expect(scope.screen).toBe('scope');
    expect(scope.blocks['connect-cloud']).toBeNull();
    expect(scope.reached).toBe('trust-preview');
    expect(canContinue(scope)).toBe(true);
    expect(reduce(scope, { type: 'continue' }).screen).toBe('trust-preview');
    const welcome = run(scope, { type: 'back' }, { type: 'back' }, { type: 'back' });
    expect(welcome.screen).toBe('welcome');
    expect(reduce(welcome, { type: 'back' })).toBe(welcome);
    expect(welcome.target).toBe('aws');
    expect(welcome.mode).toBe('sandbox');
  });

  it('lets the step list jump back, and forward only up to the furthest complete screen', () => {
    const preview = toTrustPreview();
    expect(isReachable(preview, 'connect-octopus')).toBe(true);
    expect(isReachable(preview, 'review-plan')).toBe(false);
    const cloud = reduce(preview, { type: 'go-to', screen: 'connect-cloud' });
    expect(cloud.screen).toBe('connect-cloud');
    expect(reduce(cloud, { type: 'go-to', screen: 'trust-preview' }).screen).toBe('trust-preview');
    expect(reduce(cloud, { type: 'go-to', screen: 'done' })).toBe(cloud);
  });

  it('makes later screens incomplete again when an earlier one becomes incomplete', () => {
    const cloud = reduce(toTrustPreview(), { type: 'go-to', screen: 'connect-cloud' });
    const broken = reduce(cloud, { type: 'block', screen: 'connect-cloud', reason: 'The role name is invalid.' });
    expect(broken.blocks.scope).not.toBeNull();
    expect(broken.reached).toBe('scope');
    expect(isReachable(broken, 'trust-preview')).toBe(false);
  });

  it('changing the target resets the cloud screens; changing the mode resets the connection too', () => {
    const welcome = reduce(toTrustPreview(), { type: 'go-to', screen: 'welcome' });
    const azure = reduce(welcome, { type: 'choose-target', target: 'azure' });
    expect(azure.blocks['connect-octopus']).toBeNull();
    expect(azure.blocks['connect-cloud']).not.toBeNull();
    expect(azure.reached).toBe('connect-octopus');
    const real = reduce(welcome, { type: 'choose-mode', mode: 'real' });
    expect(real.blocks['connect-octopus']).not.toBeNull();
    expect(real.reached).toBe('welcome');
  });
});

describe('the step list', () => {
  it('lists the nine steps with the current one marked', () => {
    const list = steps(INITIAL_STATE);
    expect(list.map((s) => s.label)).toEqual([
      'Welcome',
      'Connect Octopus',
      'Connect the cloud',
      'Scope',
      'Trust preview',
      'Review the plan',
      'Apply',
      'Verify',
      'Done',
    ]);
    expect(list[0]?.status).toBe('current');
    expect(list.slice(1).every((s) => s.status === 'upcoming')).toBe(true);
  });

  it('names the steps for the chosen target and mode', () => {
    const aws = run(INITIAL_STATE, { type: 'choose-mode', mode: 'sandbox' }, { type: 'choose-target', target: 'aws' });
    expect(steps(aws).map((s) => s.label).slice(1, 3)).toEqual(['Start the Sandbox', 'Connect AWS']);
    const github = reduce(INITIAL_STATE, { type: 'choose-target', target: 'github' });
    expect(steps(github)[2]?.label).toBe('Repository & service account');
  });

  it('marks the screens before the current one as done', () => {
    const list = steps(toTrustPreview());
    expect(list.map((s) => s.status).slice(0, 6)).toEqual(['done', 'done', 'done', 'done', 'current', 'upcoming']);
  });
});

describe('apply, verify and done', () => {
  function toDone(): WizardState {
    return run(
      toTrustPreview(),
      { type: 'block', screen: 'trust-preview', reason: null },
      { type: 'continue' },
      { type: 'block', screen: 'review-plan', reason: null },
      { type: 'continue' },
      { type: 'block', screen: 'apply', reason: null },
      { type: 'continue' },
      { type: 'block', screen: 'verify', reason: null },
      { type: 'continue' },
    );
  }

  it('waits for the plan, then for apply, then for verify', () => {
    const plan = run(toTrustPreview(), { type: 'block', screen: 'trust-preview', reason: null }, { type: 'continue' });
    expect(plan.screen).toBe('review-plan');
    expect(blockedReason(plan)).toMatch(/plan/);
    const apply = run(plan, { type: 'block', screen: 'review-plan', reason: null }, { type: 'continue' });
    expect(apply.screen).toBe('apply');
    expect(canContinue(apply)).toBe(false);
    expect(blockedReason(apply)).toMatch(/Apply/);
    expect(toDone().screen).toBe('done');
    expect(canContinue(toDone())).toBe(false);
  });

  it('keeps the window on its screen while apply runs, but lets the screen report', () => {
    const applying = run(
      toTrustPreview(),
      { type: 'block', screen: 'trust-preview', reason: null },
      { type: 'continue' },
      { type: 'block', screen: 'review-plan', reason: null },
      { type: 'continue' },
      { type: 'busy', busy: true },
    );
    expect(applying.busy).toBe(true);
    for (const action of [{ type: 'back' }, { type: 'go-to', screen: 'scope' }, { type: 'start-over' }] as const) {
      expect(reduce(applying, action)).toBe(applying);
    }
    const applied = run(applying, { type: 'block', screen: 'apply', reason: null });
    expect(reduce(applied, { type: 'continue' })).toBe(applied);
    const free = run(applied, { type: 'busy', busy: false }, { type: 'continue' });
    expect(free.screen).toBe('verify');
  });

  it('a new plan after going back makes apply and verify incomplete again', () => {
    const back = run(toDone(), { type: 'go-to', screen: 'review-plan' }, { type: 'block', screen: 'review-plan', reason: 'Waiting for the plan.' });
    expect(back.blocks.apply).not.toBeNull();
    expect(back.blocks.verify).not.toBeNull();
    expect(isReachable(back, 'done')).toBe(false);
  });

  it('opens a saved setup on its plan, its verify or Done, with the screens before complete', () => {
    for (const screen of ['review-plan', 'verify', 'done'] as const) {
      const opened = reduce({ ...INITIAL_STATE, mode: 'sandbox' }, { type: 'open-setup', target: 'github', screen });
      expect(opened.screen).toBe(screen);
      expect(opened.target).toBe('github');
      expect(opened.mode).toBe('sandbox');
      for (const before of SCREENS.slice(0, SCREENS.indexOf(screen))) expect(opened.blocks[before]).toBeNull();
      expect(isReachable(opened, 'welcome')).toBe(true);
    }
    // Only from the welcome screen.
    const later = toTrustPreview();
    expect(reduce(later, { type: 'open-setup', target: 'aws', screen: 'verify' })).toBe(later);
  });

  it('starts over on the welcome screen, keeping real or Sandbox', () => {
    const again = reduce(toDone(), { type: 'start-over' });
    expect(again).toEqual({ ...INITIAL_STATE, mode: 'sandbox' });
  });
});
