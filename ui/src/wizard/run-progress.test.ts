// The live progress of an apply, folded from the engine's events.
import { describe, expect, it } from 'vitest';
import type { PlanView, RunEvent } from '../ipc/client';
import { onEvent, startProgress, waitText, withResults } from './run-progress';

const plan: PlanView = {
  setup: 'shop',
  target: 'aws',
  space: 'Spaces-1',
  counts: { create: 2, update: 0, unchanged: 1, delete: 0, conflict: 0 },
  hasChanges: true,
  hasConflicts: false,
  steps: [
    { index: 0, action: 'unchanged', kind: 'oidc_provider', name: 'octopus', id: 'arn:p', reason: null, changes: [] },
    { index: 1, action: 'create', kind: 'iam_role', name: 'octopus-shop', id: null, reason: null, changes: [] },
    { index: 2, action: 'create', kind: 'octopus_account', name: 'AWS', id: null, reason: null, changes: [] },
  ],
  setupFile: '',
  preflight: { blocksApply: false, refusal: null, permissions: [], issuerProblems: [] },
  text: '',
};

const step = (index: number, status: string, detail: string | null = null): RunEvent => ({
  kind: 'step',
  index,
  resource: plan.steps[index]?.kind ?? 'x',
  name: plan.steps[index]?.name ?? 'x',
  action: 'create',
  status,
  detail,
});

describe('run progress', () => {
  it('starts with the changes waiting and the rest unchanged', () => {
    expect(startProgress(plan).steps.map((s) => s.status)).toEqual(['unchanged', 'waiting', 'waiting']);
  });

  it('follows started → retrying → done and a failure, keeping the retry reason and wait', () => {
    let progress = startProgress(plan);
    progress = onEvent(progress, step(1, 'started'));
    expect(progress.steps[1]?.status).toBe('running');
    progress = onEvent(progress, {
      kind: 'retrying',
      service: 'iam',
      operation: 'CreateRole',
      attempt: 1,
      waitMs: 1500,
      reason: 'Rate exceeded',
    });
    expect(progress.steps[1]?.retry).toBe('CreateRole: retrying in 1.5 s (attempt 1): Rate exceeded');
    expect(progress.steps[2]?.retry).toBeNull();
    progress = onEvent(progress, step(1, 'done', 'arn:aws:iam::1:role/octopus-shop'));
    expect(progress.steps[1]).toMatchObject({ status: 'done', detail: 'arn:aws:iam::1:role/octopus-shop' });
    progress = onEvent(progress, step(2, 'started'));
    progress = onEvent(progress, step(2, 'failed', 'ServiceFailure'));
    expect(progress.steps.map((s) => s.status)).toEqual(['unchanged', 'done', 'failed']);
    expect(progress.log).toHaveLength(5);
    expect(progress.log[1]).toMatch(/^iam CreateRole: retrying/);
  });

  it('adds steps it did not plan (teardown) and logs tasks and info lines', () => {
    let progress = onEvent({ steps: [], log: [] }, { kind: 'step', index: 7, resource: 'iam_role', name: 'r', action: 'delete', status: 'done', detail: null });
    expect(progress.steps).toEqual([
      { index: 7, kind: 'iam_role', name: 'r', action: 'delete', status: 'done', detail: null, retry: null },
    ]);
    progress = onEvent(progress, { kind: 'task', taskId: 'ServerTasks-1', state: 'Executing', message: 'Testing' });
    progress = onEvent(progress, { kind: 'info', message: 'hello' });
    expect(progress.log.slice(1)).toEqual(['ServerTasks-1 Executing: Testing', 'hello']);
  });

  it('ends as the engine reports: a step not run waits again, a failure shows its error', () => {
    let progress = onEvent(startProgress(plan), step(1, 'started'));
    progress = withResults(progress, {
      complete: false,
      cancelled: false,
      failure: { code: 'permission_denied', message: 'HTTP 403', cause: null, fix: 'ask' },
      steps: [
        { index: 0, kind: 'oidc_provider', name: 'octopus', action: 'unchanged', result: 'unchanged', failure: null },
        { index: 1, kind: 'iam_role', name: 'octopus-shop', action: 'create', result: 'failed', failure: { code: 'permission_denied', message: 'HTTP 403', cause: null, fix: 'ask' } },
        { index: 2, kind: 'octopus_account', name: 'AWS', action: 'create', result: 'not_run', failure: null },
      ],
      resources: [],
      snippet: null,
      journal: '/j',
    });
    expect(progress.steps.map((s) => [s.status, s.detail])).toEqual([
      ['unchanged', null],
      ['failed', 'HTTP 403'],
      ['waiting', null],
    ]);
  });

  it('says waits in words', () => {
    expect(waitText(800)).toBe('800 ms');
    expect(waitText(2000)).toBe('2.0 s');
  });
});
