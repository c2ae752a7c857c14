// Unit tests of the wizard's flow state machine.
import { describe, expect, it } from 'vitest';
import { INITIAL_STATE, TARGETS, canContinue, reduce, steps, targetOption, type WizardState } from './flow';

describe('the choose screen', () => {
  it('starts on choose with nothing chosen and real mode', () => {
    expect(INITIAL_STATE).toEqual({ screen: 'choose', target: null, mode: 'real' });
    expect(canContinue(INITIAL_STATE)).toBe(false);
  });

  it('offers exactly Azure, AWS and GitHub Actions', () => {
    expect(TARGETS.map((t) => t.title)).toEqual(['Azure', 'AWS', 'GitHub Actions']);
    expect(targetOption('github').direction).toBe('GitHub Actions → Octopus');
  });

  it('does not continue before a target is chosen', () => {
    expect(reduce(INITIAL_STATE, { type: 'continue' })).toBe(INITIAL_STATE);
  });

  it('continues to Connect Octopus in real mode', () => {
    const chosen = reduce(INITIAL_STATE, { type: 'choose-target', target: 'aws' });
    expect(canContinue(chosen)).toBe(true);
    expect(reduce(chosen, { type: 'continue' })).toEqual({ screen: 'connect-octopus', target: 'aws', mode: 'real' });
  });

  it('continues to the Sandbox introduction in sandbox mode', () => {
    let state = reduce(INITIAL_STATE, { type: 'choose-mode', mode: 'sandbox' });
    state = reduce(state, { type: 'choose-target', target: 'azure' });
    expect(reduce(state, { type: 'continue' }).screen).toBe('sandbox-intro');
  });
});

describe('later screens', () => {
  const connect: WizardState = { screen: 'connect-octopus', target: 'github', mode: 'real' };

  it('go back to choose, keeping the choices', () => {
    expect(reduce(connect, { type: 'back' })).toEqual({ ...connect, screen: 'choose' });
    expect(reduce(INITIAL_STATE, { type: 'back' })).toBe(INITIAL_STATE);
  });

  it('ignore choices made outside the choose screen', () => {
    expect(reduce(connect, { type: 'choose-target', target: 'azure' })).toBe(connect);
    expect(reduce(connect, { type: 'choose-mode', mode: 'sandbox' })).toBe(connect);
  });

  it('end the flow in this build', () => {
    expect(canContinue(connect)).toBe(false);
    expect(reduce(connect, { type: 'continue' })).toBe(connect);
  });
});

describe('the step indicator', () => {
  it('lists the real-mode steps with the cloud step named for the target', () => {
    const state: WizardState = { screen: 'choose', target: 'azure', mode: 'real' };
    expect(steps(state).map((s) => s.label)).toEqual([
      'What to set up',
      'Connect Octopus',
      'Sign in to Azure',
      'Review plan',
      'Apply & verify',
    ]);
    expect(steps(state).map((s) => s.status)).toEqual(['current', 'upcoming', 'upcoming', 'upcoming', 'upcoming']);
  });

  it('marks the first step done on the second screen', () => {
    const state: WizardState = { screen: 'sandbox-intro', target: 'aws', mode: 'sandbox' };
    expect(steps(state)).toEqual([
      { label: 'What to set up', status: 'done' },
      { label: 'Start the Sandbox', status: 'current' },
      { label: 'Review plan', status: 'upcoming' },
      { label: 'Apply & verify', status: 'upcoming' },
    ]);
  });
});
