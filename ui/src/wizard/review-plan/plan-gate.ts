// Whether the reviewed plan may go on to Apply, from the engine's typed findings only: conflicts
// (apply refuses them) and the preflight's `blocksApply` (the engine decided it), which the user
// may explicitly proceed past, as the CLI's --ignore-preflight does. No rule is made here.
import type { PermissionView, PlanView } from '../../ipc/client';

/** The permissions the screen lists: every one not granted (missing first, then unknown). */
export function preflightFindings(plan: PlanView): PermissionView[] {
  const order = { missing: 0, unknown: 1, granted: 2 } as const;
  return plan.preflight.permissions
    .filter((permission) => permission.status !== 'granted')
    .sort((a, b) => order[a.status] - order[b.status]);
}

/** Why Continue (to Apply) is disabled, or null when the plan may be applied. */
export function planBlockReason(plan: PlanView, proceedDespitePreflight: boolean): string | null {
  if (plan.hasConflicts) return 'The plan has conflicts: resolve them (see each one) before applying.';
  if (plan.preflight.blocksApply && !proceedDespitePreflight) {
    const missing = plan.preflight.permissions.filter((p) => p.status === 'missing' && p.blocking).length;
    const issuer = plan.preflight.issuerProblems.filter((c) => c.blocking).length;
    const parts = [
      missing > 0 ? `${missing} missing ${missing === 1 ? 'permission' : 'permissions'}` : null,
      issuer > 0 ? `${issuer} issuer ${issuer === 1 ? 'problem' : 'problems'}` : null,
    ].filter((part) => part !== null);
    return `Preflight found ${parts.join(' and ')}: apply would fail. Have them granted, or choose to proceed anyway.`;
  }
  return null;
}
