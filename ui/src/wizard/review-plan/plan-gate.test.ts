import { describe, expect, it } from 'vitest';
import type { PermissionView, PlanView } from '../../ipc/client';
import { planBlockReason, preflightFindings } from './plan-gate';

function permission(overrides: Partial<PermissionView>): PermissionView {
  return {
    service: 'Octopus',
    permission: 'AccountCreate',
    resource: 'Spaces-1 (Default)',
    caller: 'admin',
    neededFor: ["create octopus_account 'Azure (OIDC)'"],
    blocking: true,
    status: 'granted',
    detail: null,
    whoCanGrant: null,
    ...overrides,
  };
}

function plan(permissions: PermissionView[], blocksApply: boolean, hasConflicts = false): PlanView {
  return {
    setup: 'shop',
    target: 'azure',
    space: 'Spaces-1',
    counts: { create: 1, update: 0, unchanged: 0, delete: 0, conflict: hasConflicts ? 1 : 0 },
    hasChanges: true,
    hasConflicts,
    steps: [],
    setupFile: '',
    preflight: { blocksApply, refusal: blocksApply ? 'preflight found what apply would fail on' : null, permissions, issuerProblems: [] },
    text: '',
  };
}

describe('the plan gate', () => {
  const missing = permission({ status: 'missing', detail: 'not granted', whoCanGrant: 'A space manager' });
  const unknown = permission({ permission: 'iam:CreateRole', service: 'AWS IAM', status: 'unknown', blocking: true });
  const granted = permission({ permission: 'TaskCreate' });

  it('lists what is not granted, missing before unknown', () => {
    expect(preflightFindings(plan([unknown, granted, missing], true)).map((p) => p.status)).toEqual(['missing', 'unknown']);
    expect(preflightFindings(plan([granted], false))).toEqual([]);
  });

  it('blocks Apply on the engine\'s verdict with the reason, until the user proceeds anyway', () => {
    const blocked = plan([missing, granted], true);
    expect(planBlockReason(blocked, false)).toBe(
      'Preflight found 1 missing permission: apply would fail. Have them granted, or choose to proceed anyway.',
    );
    expect(planBlockReason(blocked, true)).toBeNull();
    // The engine decides: an unknown or a missing non-blocking permission alone does not block.
    expect(planBlockReason(plan([unknown, permission({ status: 'missing', blocking: false })], false), false)).toBeNull();
  });

  it('never lets a conflict through, whatever the preflight', () => {
    expect(planBlockReason(plan([], false, true), true)).toMatch(/conflicts/);
  });
});
